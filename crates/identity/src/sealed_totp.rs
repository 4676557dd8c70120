//! Authenticator secrets sealed for storage: AES-256-GCM under a key kept
//! outside the database (a file created on first run), bound to the account
//! it belongs to. A copy of the database alone then mints no codes, and a
//! sealed secret moved to another account does not open.

use crate::TotpSecret;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use rand::RngCore;
use std::fmt;
use zeroize::Zeroizing;

/// How a sealed secret begins in its column; anything else is not opened.
const PREFIX: &str = "sealed1:";
const NONCE_LEN: usize = 12;

#[derive(Clone)]
pub struct TotpKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for TotpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpKey(redacted)")
    }
}

impl TotpKey {
    pub fn new(bytes: [u8; 32]) -> TotpKey {
        TotpKey(Zeroizing::new(bytes))
    }

    /// A key for this process only (tests, and a portal built without one).
    pub fn generate() -> TotpKey {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        TotpKey::new(bytes)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(self.0.as_slice()))
    }

    /// The secret as stored for `account`.
    pub fn seal(&self, secret: &TotpSecret, account: &str) -> Option<String> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret.base32().as_bytes(),
                    aad: account.as_bytes(),
                },
            )
            .ok()?;
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        Some(format!("{PREFIX}{}", STANDARD_NO_PAD.encode(bytes)))
    }

    /// The secret `seal` stored for `account`; `None` for anything else
    /// (another account's, another key's, altered, or never sealed).
    pub fn open(&self, stored: &str, account: &str) -> Option<TotpSecret> {
        let bytes = STANDARD_NO_PAD.decode(stored.strip_prefix(PREFIX)?).ok()?;
        let (nonce, sealed) = bytes.split_at_checked(NONCE_LEN)?;
        let clear = Zeroizing::new(
            self.cipher()
                .decrypt(
                    Nonce::from_slice(nonce),
                    Payload {
                        msg: sealed,
                        aad: account.as_bytes(),
                    },
                )
                .ok()?,
        );
        TotpSecret::from_base32(std::str::from_utf8(&clear).ok()?)
    }

    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_for_its_account_and_key() {
        let key = TotpKey::generate();
        let secret = TotpSecret::generate();
        let stored = key.seal(&secret, "staff-1").unwrap();
        assert!(TotpKey::is_sealed(&stored));
        assert!(
            !stored.contains(secret.base32()),
            "the secret is not in the column"
        );
        assert_eq!(
            key.open(&stored, "staff-1").unwrap().base32(),
            secret.base32()
        );
        assert!(
            key.open(&stored, "staff-2").is_none(),
            "bound to its account"
        );
        assert!(TotpKey::generate().open(&stored, "staff-1").is_none());
        assert!(
            key.open(secret.base32(), "staff-1").is_none(),
            "clear is not opened"
        );
        let mut altered = stored.clone();
        altered.pop();
        altered.push(if stored.ends_with('A') { 'B' } else { 'A' });
        assert!(key.open(&altered, "staff-1").is_none());
        assert!(key.open("sealed1:", "staff-1").is_none());
    }
}
