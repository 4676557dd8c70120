//! Card fingerprints: the same card gives the same fingerprint, for velocity
//! limits and "saved card" matching, without the number. Keyed (HMAC), never
//! a plain hash: a card number has so little entropy that a plain hash is
//! reversed by trying every number.

use crate::CardNumber;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct FingerprintKey([u8; 32]);

impl FingerprintKey {
    pub fn new(key: [u8; 32]) -> Self {
        Self(key)
    }

    pub fn fingerprint(&self, card: &CardNumber) -> CardFingerprint {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            return CardFingerprint(String::new());
        };
        mac.update(b"civicpay-card-fingerprint:");
        mac.update(card.expose_digits().as_bytes());
        let digest = mac.finalize().into_bytes();
        CardFingerprint(digest.iter().map(|b| format!("{b:02x}")).collect())
    }
}

impl fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FingerprintKey(…)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CardFingerprint(String);

impl CardFingerprint {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn fingerprints_are_stable_keyed_and_reveal_nothing() {
        let key = FingerprintKey::new([3; 32]);
        let a = CardNumber::parse("4242 4242 4242 4242").unwrap();
        let b = CardNumber::parse("4242424242424242").unwrap();
        let c = CardNumber::parse("5555555555554444").unwrap();
        assert_eq!(key.fingerprint(&a), key.fingerprint(&b));
        assert_ne!(key.fingerprint(&a), key.fingerprint(&c));
        assert_ne!(
            FingerprintKey::new([4; 32]).fingerprint(&a),
            key.fingerprint(&a)
        );
        assert!(!key.fingerprint(&a).as_str().contains("4242"));
        assert_eq!(key.fingerprint(&a).as_str().len(), 64);
        assert!(!format!("{key:?}").contains('3'));
    }
}
