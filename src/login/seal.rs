//! Sealing cookie values with the `cookie` crate's private jar
//! (AES-256-GCM, the cookie's name bound as associated data, so a value
//! sealed for one cookie cannot be replayed as another).

use crate::config::Secret;
use base64::Engine;
use cookie::{Cookie, CookieJar, Key};

/// The current key, which seals, then older keys still accepted for
/// opening during a rotation.
pub struct Sealer {
    keys: Vec<Key>,
}

/// An opened value, and whether it was sealed under an older key (then
/// it should be sealed again under the current one).
pub struct Opened {
    pub value: String,
    pub stale_key: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no session cookie key is configured")]
    Missing,
    #[error("session cookie key {0} is not usable: {1}")]
    Unusable(usize, String),
}

impl Sealer {
    /// Builds keys from the configured base64 secrets (already checked to
    /// decode to at least 64 bytes).
    ///
    /// # Errors
    /// No key, or a key the cookie crate refuses.
    pub fn new(secrets: &[Secret]) -> Result<Self, KeyError> {
        let engine = base64::engine::general_purpose::STANDARD;
        let mut keys = Vec::with_capacity(secrets.len());
        for (i, secret) in secrets.iter().enumerate() {
            let bytes = engine
                .decode(secret.expose())
                .map_err(|e| KeyError::Unusable(i + 1, e.to_string()))?;
            // `Key::try_from` refuses short keys where `Key::from` would
            // panic.
            let key = Key::try_from(bytes.as_slice())
                .map_err(|e| KeyError::Unusable(i + 1, e.to_string()))?;
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(KeyError::Missing);
        }
        Ok(Self { keys })
    }

    /// Seals `value` for the cookie `name` under the current key.
    pub fn seal(&self, name: &str, value: &str) -> String {
        let mut jar = CookieJar::new();
        jar.private_mut(&self.keys[0])
            .add(Cookie::new(name.to_owned(), value.to_owned()));
        jar.get(name)
            .map(|c| c.value().to_owned())
            .unwrap_or_default()
    }

    /// Opens a sealed value of the cookie `name`, trying the current key
    /// first, then each older one. A tampered or foreign value gives `None`.
    pub fn open(&self, name: &str, sealed: &str) -> Option<Opened> {
        self.keys.iter().enumerate().find_map(|(i, key)| {
            let mut jar = CookieJar::new();
            jar.add_original(Cookie::new(name.to_owned(), sealed.to_owned()));
            let cookie = jar.private(key).get(name)?;
            Some(Opened {
                value: cookie.value().to_owned(),
                stale_key: i > 0,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(byte: u8) -> Secret {
        let engine = base64::engine::general_purpose::STANDARD;
        Secret::new(engine.encode([byte; 64]))
    }

    #[test]
    fn sealed_values_open_only_under_their_name_and_keys() {
        let sealer = Sealer::new(&[secret(1)]).unwrap();
        let sealed = sealer.seal("sb_session", "hello");
        assert_ne!(sealed, "hello");
        assert_eq!(sealer.open("sb_session", &sealed).unwrap().value, "hello");
        assert!(sealer.open("sb_other", &sealed).is_none());
        let mut tampered = sealed.clone().into_bytes();
        tampered[5] ^= 1;
        let tampered = String::from_utf8_lossy(&tampered).into_owned();
        assert!(sealer.open("sb_session", &tampered).is_none());
        let stranger = Sealer::new(&[secret(2)]).unwrap();
        assert!(stranger.open("sb_session", &sealed).is_none());
    }

    #[test]
    fn older_keys_open_and_say_so() {
        let old = Sealer::new(&[secret(1)]).unwrap();
        let sealed = old.seal("sb_session", "v");
        let rotated = Sealer::new(&[secret(2), secret(1)]).unwrap();
        let opened = rotated.open("sb_session", &sealed).unwrap();
        assert_eq!((opened.value.as_str(), opened.stale_key), ("v", true));
        let fresh = rotated.seal("sb_session", "v");
        assert!(!rotated.open("sb_session", &fresh).unwrap().stale_key);
    }
}
