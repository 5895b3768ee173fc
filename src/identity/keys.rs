//! The provider's signing keys ([RFC 7517]).
//!
//! Each key of the set is parsed on its own, so that one key this broker
//! cannot use (an encryption key, a curve such as secp256k1 or X25519, an
//! unknown type, an HMAC secret) is skipped and never takes the whole set
//! down with it.
//!
//! [RFC 7517]: https://www.rfc-editor.org/rfc/rfc7517

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

/// One usable verification key and the algorithms it may verify.
pub struct Key {
    pub kid: Option<String>,
    pub algorithms: Vec<Algorithm>,
    pub key: DecodingKey,
}

/// The usable keys of one fetched set.
#[derive(Default)]
pub struct KeySet {
    pub keys: Vec<Key>,
    /// How many keys of the document were skipped, for the log.
    pub skipped: usize,
}

#[derive(Deserialize)]
struct Document {
    keys: Vec<serde_json::Value>,
}

impl KeySet {
    /// Parses a JWK Set, keeping the keys that verify one of `allowed`.
    ///
    /// # Errors
    /// The document is not a JSON object with a `keys` array.
    pub fn parse(json: &[u8], allowed: &[Algorithm]) -> Result<Self, serde_json::Error> {
        let document: Document = serde_json::from_slice(json)?;
        let total = document.keys.len();
        let keys: Vec<Key> = document
            .keys
            .into_iter()
            .filter_map(|value| usable(value, allowed))
            .collect();
        Ok(Self {
            skipped: total - keys.len(),
            keys,
        })
    }

    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// The keys that may verify a token signed with `alg` and naming
    /// `kid`; a token without `kid` may be tried against every compatible
    /// key.
    pub fn candidates<'a>(
        &'a self,
        kid: Option<&'a str>,
        alg: Algorithm,
    ) -> impl Iterator<Item = &'a Key> + 'a {
        self.keys.iter().filter(move |key| {
            key.algorithms.contains(&alg) && (kid.is_none() || key.kid.as_deref() == kid)
        })
    }
}

fn usable(value: serde_json::Value, allowed: &[Algorithm]) -> Option<Key> {
    let jwk: Jwk = serde_json::from_value(value).ok()?;
    if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
        return None;
    }
    let algorithms: Vec<Algorithm> = key_algorithms(&jwk)?
        .into_iter()
        .filter(|alg| allowed.contains(alg))
        .collect();
    if algorithms.is_empty() {
        return None;
    }
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    Some(Key {
        kid: jwk.common.key_id.clone(),
        algorithms,
        key,
    })
}

/// The algorithms a key may verify: its own `alg` when it names one that
/// fits its type, else every algorithm of its type (many providers, Entra
/// ID among them, publish keys without `alg`). HMAC and unknown types give
/// none.
fn key_algorithms(jwk: &Jwk) -> Option<Vec<Algorithm>> {
    let by_type = type_algorithms(&jwk.algorithm)?;
    match jwk.common.key_algorithm {
        None => Some(by_type),
        Some(named) => {
            let alg = Algorithm::try_from(named).ok()?;
            by_type.contains(&alg).then(|| vec![alg])
        }
    }
}

fn type_algorithms(params: &AlgorithmParameters) -> Option<Vec<Algorithm>> {
    use Algorithm::*;
    match params {
        AlgorithmParameters::RSA(_) => Some(vec![RS256, RS384, RS512, PS256, PS384, PS512]),
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Some(vec![ES256]),
            EllipticCurve::P384 => Some(vec![ES384]),
            _ => None,
        },
        AlgorithmParameters::OctetKeyPair(okp) => {
            (okp.curve == EllipticCurve::Ed25519).then(|| vec![EdDSA])
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::Algorithm::*;

    // A real 2048-bit RSA public key (modulus and exponent only).
    const N: &str = "u1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0_IzW7yWR7QkrmBL7jTKEn5u-qKhbwKfBstIs-bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW_VDL5AaWTg0nLVkjRo9z-40RQzuVaE8AkAFmxZzow3x-VJYKdjykkJ0iT9wCS0DRTXu269V264Vf_3jvredZiKRkgwlL9xNAwxXFg0x_XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC-9aGVd-Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmw";

    fn rsa(kid: &str, extra: &str) -> String {
        format!(r#"{{"kty":"RSA","kid":"{kid}","n":"{N}","e":"AQAB"{extra}}}"#)
    }

    fn parse(keys: &[String]) -> KeySet {
        let json = format!(r#"{{"keys":[{}]}}"#, keys.join(","));
        KeySet::parse(json.as_bytes(), &[RS256, ES256]).unwrap()
    }

    #[test]
    fn unusable_keys_are_skipped_one_by_one() {
        let set = parse(&[
            rsa("sig", r#","use":"sig","alg":"RS256""#),
            rsa("enc", r#","use":"enc","alg":"RSA-OAEP""#),
            r#"{"kty":"EC","kid":"k1","crv":"secp256k1","x":"AA","y":"AA"}"#.into(),
            r#"{"kty":"OKP","kid":"x","crv":"X25519","x":"AA"}"#.into(),
            r#"{"kty":"oct","kid":"h","k":"c2VjcmV0","alg":"HS256"}"#.into(),
            r#"{"kty":"WEIRD","kid":"w"}"#.into(),
            r#"not even an object"#.replace("not even an object", "42"),
        ]);
        let kids: Vec<_> = set.keys.iter().map(|k| k.kid.clone()).collect();
        assert_eq!(kids, vec![Some("sig".to_owned())]);
        assert_eq!(set.skipped, 6);
    }

    #[test]
    fn a_key_without_alg_verifies_the_allowed_algorithms_of_its_type() {
        let set = parse(&[rsa("a", "")]);
        assert_eq!(set.keys[0].algorithms, vec![RS256]);
    }

    #[test]
    fn a_key_whose_alg_does_not_fit_its_type_is_skipped() {
        let set = parse(&[rsa("a", r#","alg":"ES256""#)]);
        assert!(set.keys.is_empty());
    }

    #[test]
    fn candidates_match_kid_and_algorithm() {
        let set = parse(&[rsa("a", ""), rsa("b", r#","alg":"RS256""#)]);
        assert_eq!(set.candidates(Some("b"), RS256).count(), 1);
        assert_eq!(set.candidates(None, RS256).count(), 2);
        assert_eq!(set.candidates(None, ES256).count(), 0);
        assert_eq!(set.candidates(Some("zz"), RS256).count(), 0);
    }

    #[test]
    fn a_document_without_keys_is_an_error() {
        assert!(KeySet::parse(b"{}", &[RS256]).is_err());
        assert!(KeySet::parse(b"[]", &[RS256]).is_err());
    }
}
