//! One-time link tokens and card-page sessions: random 256-bit values,
//! stored only as SHA-256 hashes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub(crate) fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The key that derives each payment's one-time card link from its id.
/// Derived from the form key (a file, never in the database), so a copy of
/// the database holds no link and the link can be answered again on an
/// idempotent replay without being stored.
#[derive(Clone)]
pub struct LinkKey([u8; 32]);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(…)")
    }
}

impl LinkKey {
    pub fn derive(form_key: &[u8; 32]) -> LinkKey {
        LinkKey(
            Sha256::new()
                .chain_update(b"civicpay-card-link-key:")
                .chain_update(form_key)
                .finalize()
                .into(),
        )
    }

    /// The one-time link token of a payment: HMAC-SHA256 of its id.
    pub fn token(&self, payment_id: &civicpay_core::PaymentId) -> String {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| <Hmac<Sha256> as Mac>::new(&Default::default()));
        mac.update(b"card-link:");
        mac.update(payment_id.as_str().as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

pub fn hash_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
