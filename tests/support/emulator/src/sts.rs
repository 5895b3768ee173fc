//! STS `AssumeRole` over the AWS query protocol: a form-encoded `POST /`
//! signed for service `sts`, answered in XML. The request is validated as
//! STS does, every role is taken to exist with a one-hour maximum session,
//! and the issued credentials are remembered, so that SageMaker calls
//! signed with them are accepted until they expire. Every request with a
//! good signature is logged for `/_emulator/sts-calls`, without secrets.
//!
//! See <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html>.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use rand::Rng;
use serde_json::{Value, json};

use crate::sts_rules::{self, Input, StsError};
use crate::{App, api, sigv4, state};

/// The longest session the emulated roles allow, in seconds.
const MAX_SESSION: u64 = 3600;

const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// A session handed out by `AssumeRole`.
pub struct Session {
    pub secret_access_key: String,
    pub session_token: String,
    pub role_arn: String,
    pub source_identity: Option<String>,
    pub tags: Vec<(String, String)>,
    pub expires_at: SystemTime,
}

/// Answers one STS request.
pub fn handle(app: &Arc<App>, parts: &Parts, body: &[u8]) -> Response {
    let outcome = serve(app, parts, body);
    let (status, xml) = match outcome {
        Ok(xml) => (StatusCode::OK, xml),
        Err(error) => (error.status, error_xml(&error)),
    };
    let mut response = (status, xml).into_response();
    let xml_type = HeaderValue::from_static("text/xml");
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, xml_type);
    response
}

fn serve(app: &App, parts: &Parts, body: &[u8]) -> Result<String, StsError> {
    let find = |key: &str| app.keys_for(key);
    let now = SystemTime::now();
    let caller = sigv4::verify(&find, "sts", parts, body, now).map_err(StsError::from)?;
    let fields: BTreeMap<String, String> = form_urlencoded::parse(body).into_owned().collect();

    let input = sts_rules::check(&fields, MAX_SESSION);
    let outcome = input.and_then(|input| assume(app, &input));
    let record = call_record(&fields, &caller.access_key_id, &outcome);
    state::log_call(&mut app.store().sts_calls, record);
    outcome.map(|(_, xml)| xml)
}

/// Issues a session, unless a denial is queued.
fn assume(app: &App, input: &Input) -> Result<(String, String), StsError> {
    let mut store = app.store();
    if store.faults.sts_deny_next > 0 {
        store.faults.sts_deny_next -= 1;
        return Err(StsError::access_denied(&input.role_arn));
    }
    let access_key_id = format!("ASIA{}", random_text(16, UPPER));
    let duration = Duration::from_secs(input.duration_seconds);
    let session = Session {
        secret_access_key: random_text(40, MIXED),
        session_token: random_text(96, MIXED),
        role_arn: input.role_arn.clone(),
        source_identity: input.source_identity.clone(),
        tags: input.tags.clone(),
        expires_at: SystemTime::now() + duration,
    };
    let xml = success_xml(&access_key_id, &session, input);
    store.sessions.insert(access_key_id.clone(), session);
    Ok((access_key_id, xml))
}

const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const MIXED: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn random_text(length: usize, alphabet: &[u8]) -> String {
    let mut rng = rand::rng();
    (0..length)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect()
}

fn success_xml(access_key_id: &str, session: &Session, input: &Input) -> String {
    let (account, role_name) = sts_rules::role_parts(&input.role_arn);
    let name = escape(&input.session_name);
    let expiration = humantime::format_rfc3339_seconds(session.expires_at);
    let source = (session.source_identity.as_deref())
        .map(|s| format!("<SourceIdentity>{}</SourceIdentity>", escape(s)))
        .unwrap_or_default();
    format!(
        "<AssumeRoleResponse xmlns=\"{NAMESPACE}\"><AssumeRoleResult>\
         <Credentials><AccessKeyId>{access_key_id}</AccessKeyId>\
         <SecretAccessKey>{secret}</SecretAccessKey>\
         <SessionToken>{token}</SessionToken>\
         <Expiration>{expiration}</Expiration></Credentials>\
         <AssumedRoleUser><AssumedRoleId>AROAEMULATOR{id}:{name}</AssumedRoleId>\
         <Arn>arn:aws:sts::{account}:assumed-role/{role}/{name}</Arn>\
         </AssumedRoleUser>{source}</AssumeRoleResult>\
         <ResponseMetadata><RequestId>{request_id}</RequestId>\
         </ResponseMetadata></AssumeRoleResponse>",
        secret = session.secret_access_key,
        token = session.session_token,
        id = random_text(9, UPPER),
        role = escape(role_name),
        request_id = api::request_id(),
    )
}

fn error_xml(error: &StsError) -> String {
    let kind = if error.status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    };
    format!(
        "<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>{kind}</Type>\
         <Code>{code}</Code><Message>{message}</Message></Error>\
         <RequestId>{request_id}</RequestId></ErrorResponse>",
        code = error.code,
        message = escape(&error.message),
        request_id = api::request_id(),
    )
}

/// Text for XML element content.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One entry of the STS call log, read leniently from the form so that
/// refused requests are logged too. No secret is part of it.
fn call_record(
    fields: &BTreeMap<String, String>,
    caller: &str,
    outcome: &Result<(String, String), StsError>,
) -> Value {
    let field = |name: &str| fields.get(name).map_or(Value::Null, |v| json!(v));
    let tags: Vec<Value> = (sts_rules::tags(fields).iter())
        .map(|(key, value)| json!({ "key": key, "value": value }))
        .collect();
    let (result, issued) = match outcome {
        Ok((issued, _)) => ("ok", json!(issued)),
        Err(error) => (error.code, Value::Null),
    };
    json!({
        "action": field("Action"),
        "role_arn": field("RoleArn"),
        "role_session_name": field("RoleSessionName"),
        "source_identity": field("SourceIdentity"),
        "duration_seconds": field("DurationSeconds"),
        "tags": tags,
        "caller_access_key_id": caller,
        "issued_access_key_id": issued,
        "outcome": result,
    })
}
