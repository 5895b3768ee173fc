//! Checks the Signature Version 4 of each SageMaker or STS request by
//! signing the received request again with the secret of its access key
//! and comparing.
//!
//! Only the headers the client lists in `SignedHeaders` go into the second
//! signature, with the time of its `X-Amz-Date` and the region and service
//! of its credential scope, and the settings the AWS SDKs use for AWS JSON
//! services: the body's SHA-256 in the canonical request, no
//! `x-amz-content-sha256` header added, the session token signed.
//! See <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html>.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use http::request::Parts;
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// How far a request's `X-Amz-Date` may be from the emulator's clock.
const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// A set of credentials the emulator accepts: the configured one, or a
/// session handed out by STS.
#[derive(Clone)]
pub struct Keys {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    pub region: String,
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
struct Authorization {
    access_key_id: String,
    region: String,
    service: String,
    signed_headers: Vec<String>,
    signature: String,
}

/// Finds the keys of an access key id.
pub type Find<'a> = dyn Fn(&str) -> Option<Keys> + 'a;

/// Accepts the request only if it is signed for `service` with the keys
/// `find` knows for its access key id, and answers those keys.
///
/// # Errors
///
/// The error AWS answers for a missing, malformed, foreign or wrong
/// signature.
pub fn verify(
    find: &Find<'_>,
    service: &str,
    parts: &Parts,
    body: &[u8],
    now: SystemTime,
) -> Result<Keys, ApiError> {
    let auth = authorization(parts)?;
    let keys = find(&auth.access_key_id).ok_or(ApiError::UnrecognizedClient)?;
    check_identity(&keys, parts, &auth)?;
    check_scope(&keys, &auth, service)?;
    let time = request_time(parts, now)?;

    let expected = resign(&keys, parts, body, &auth, time)?;
    let same = expected.as_bytes().ct_eq(auth.signature.as_bytes());
    if bool::from(same) {
        Ok(keys)
    } else {
        Err(ApiError::signature_mismatch())
    }
}

fn authorization(parts: &Parts) -> Result<Authorization, ApiError> {
    let header = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .ok_or(ApiError::MissingAuthenticationToken)?;
    let incomplete = |why: &str| ApiError::IncompleteSignature(why.to_owned());
    let text = header
        .to_str()
        .map_err(|_| incomplete("Authorization header is not ASCII."))?;
    let rest = text
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or_else(|| incomplete("Unsupported signing algorithm."))?;
    parse_fields(rest).ok_or_else(|| {
        incomplete(
            "Authorization header requires 'Credential', 'SignedHeaders' \
             and 'Signature' parameters.",
        )
    })
}

fn parse_fields(fields: &str) -> Option<Authorization> {
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for field in fields.split(',').map(str::trim) {
        match field.split_once('=')? {
            ("Credential", v) => credential = Some(v),
            ("SignedHeaders", v) => signed = Some(v),
            ("Signature", v) => signature = Some(v),
            _ => return None,
        }
    }

    let scope: Vec<&str> = credential?.split('/').collect();
    let [access_key_id, _date, region, service, "aws4_request"] = scope[..] else {
        return None;
    };
    Some(Authorization {
        access_key_id: access_key_id.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
        signed_headers: signed?.split(';').map(str::to_owned).collect(),
        signature: signature?.to_owned(),
    })
}

fn check_identity(keys: &Keys, parts: &Parts, auth: &Authorization) -> Result<(), ApiError> {
    let received = parts
        .headers
        .get("x-amz-security-token")
        .map(http::HeaderValue::as_bytes);
    let expected = keys.session_token.as_deref().map(str::as_bytes);
    let token_ok = match (received, expected) {
        (Some(r), Some(e)) => bool::from(r.ct_eq(e)),
        (None, None) => true,
        _ => false,
    };

    let key_ok = auth.access_key_id == keys.access_key_id;
    if key_ok && token_ok {
        Ok(())
    } else {
        Err(ApiError::UnrecognizedClient)
    }
}

fn check_scope(keys: &Keys, auth: &Authorization, service: &str) -> Result<(), ApiError> {
    if auth.region != keys.region {
        return Err(ApiError::InvalidSignature(
            "Credential should be scoped to a valid region.".to_owned(),
        ));
    }
    if auth.service != service {
        return Err(ApiError::InvalidSignature(format!(
            "Credential should be scoped to correct service: '{service}'."
        )));
    }
    Ok(())
}

fn request_time(parts: &Parts, now: SystemTime) -> Result<SystemTime, ApiError> {
    let missing = || {
        ApiError::IncompleteSignature(
            "Authorization header requires an 'X-Amz-Date' header.".to_owned(),
        )
    };
    let text = parts.headers.get("x-amz-date").ok_or_else(missing)?;
    let text = text.to_str().map_err(|_| missing())?;
    let time = parse_amz_date(text).ok_or_else(missing)?;

    let skew = match now.duration_since(time) {
        Ok(behind) => behind,
        Err(ahead) => ahead.duration(),
    };
    if skew > MAX_SKEW {
        return Err(ApiError::InvalidSignature(format!(
            "Signature expired: {text} is more than 15 minutes away from \
             the server's time."
        )));
    }
    Ok(time)
}

/// Reads `YYYYMMDD'T'HHMMSS'Z'`, the form of `X-Amz-Date`.
fn parse_amz_date(text: &str) -> Option<SystemTime> {
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 16 && bytes[8] == b'T' && bytes[15] == b'Z';
    let digits = |from: usize, to: usize| -> Option<i64> {
        let part = text.get(from..to)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if !shape_ok {
        return None;
    }

    let (year, month, day) = (digits(0, 4)?, digits(4, 6)?, digits(6, 8)?);
    let (hour, minute, second) = (digits(9, 11)?, digits(11, 13)?, digits(13, 15)?);
    let in_range = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
        && second < 61;
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    let seconds = u64::try_from(seconds).ok().filter(|_| in_range)?;
    Some(UNIX_EPOCH + Duration::from_secs(seconds))
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn resign(
    keys: &Keys,
    parts: &Parts,
    body: &[u8],
    auth: &Authorization,
    time: SystemTime,
) -> Result<String, ApiError> {
    let headers = signed_header_values(parts, &auth.signed_headers)?;
    let uri = signable_uri(parts);
    let method = parts.method.as_str();
    let request = SignableRequest::new(method, uri, headers.into_iter(), SignableBody::Bytes(body))
        .map_err(|_| ApiError::signature_mismatch())?;

    let identity: Identity = Credentials::new(
        &keys.access_key_id,
        &keys.secret_access_key,
        keys.session_token.clone(),
        None,
        "sagemaker-emulator",
    )
    .into();
    // Only the client's signed headers are passed in, so none is dropped.
    let mut settings = SigningSettings::default();
    settings.excluded_headers = None;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&auth.region)
        .name(&auth.service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|_| ApiError::signature_mismatch())?
        .into();

    let output = sign(request, &params).map_err(|_| ApiError::signature_mismatch())?;
    Ok(output.signature().to_owned())
}

fn signed_header_values<'a>(
    parts: &'a Parts,
    names: &'a [String],
) -> Result<Vec<(&'a str, &'a str)>, ApiError> {
    let mut values = Vec::new();
    for name in names {
        for value in parts.headers.get_all(name.as_str()) {
            let value = value.to_str().map_err(|_| ApiError::signature_mismatch())?;
            values.push((name.as_str(), value));
        }
    }
    Ok(values)
}

/// An absolute URI, so that the signer never lacks an authority, even when
/// a client leaves `host` out of its signed headers.
fn signable_uri(parts: &Parts) -> String {
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| h.parse::<http::uri::Authority>().is_ok())
        .unwrap_or("localhost");
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    format!("http://{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_amz_dates() {
        let time = parse_amz_date("20150830T123600Z");
        let expected = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        assert_eq!(time, Some(expected));
        assert_eq!(parse_amz_date("20151330T123600Z"), None);
        assert_eq!(parse_amz_date("2015-08-30T12:36"), None);
        assert_eq!(parse_amz_date("+0150830T123600Z"), None);
    }
}
