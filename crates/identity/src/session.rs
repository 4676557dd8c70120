use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;

/// A session's bearer secret: 256 random bits, sent only in the cookie.
/// The database keeps its SHA-256, so a copy of the database signs nobody in.
pub struct SessionToken(String);

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(redacted)")
    }
}

impl SessionToken {
    pub fn generate() -> SessionToken {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        SessionToken(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A token from a cookie; anything that is not 43 base64url characters
    /// is not one of ours.
    pub fn from_cookie(value: &str) -> Option<SessionToken> {
        (value.len() == 43
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| SessionToken(value.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn stored_hash(&self) -> String {
        hex_sha256(self.0.as_bytes())
    }
}

pub(crate) fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_fresh_and_only_ours_parse() {
        let a = SessionToken::generate();
        let b = SessionToken::generate();
        assert_ne!(a.expose(), b.expose());
        assert_ne!(a.stored_hash(), a.expose());
        assert!(SessionToken::from_cookie(a.expose()).is_some());
        assert!(SessionToken::from_cookie("short").is_none());
        assert!(SessionToken::from_cookie(&format!("{}!", &a.expose()[..42])).is_none());
    }
}
