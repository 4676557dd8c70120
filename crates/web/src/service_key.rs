//! The key the portal uses on the pay API for a city, derived from a secret
//! the two services share: neither database has to hold the other's keys,
//! and pay stores only a hash of it, like any API key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub fn portal_pay_key(shared_secret: &[u8; 32], tenant_id: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(shared_secret) else {
        return String::new();
    };
    mac.update(b"civicpay-portal-pay-key:");
    mac.update(tenant_id.as_bytes());
    format!(
        "cpay_{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// The portal's platform key on pay: it registers cities and pauses them,
/// and opens no city's payments.
pub fn platform_pay_key(shared_secret: &[u8; 32]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(shared_secret) else {
        return String::new();
    };
    mac.update(b"civicpay-platform-pay-key");
    format!(
        "cpplat_{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// The secret pay signs a city's webhooks to the portal with.
pub fn portal_webhook_secret(shared_secret: &[u8; 32], tenant_id: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(shared_secret) else {
        return String::new();
    };
    mac.update(b"civicpay-portal-webhook-secret:");
    mac.update(tenant_id.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// The secret the portal signs a city's back-office notices with: the
/// city's IT sets it in their receiver (`civicpay city webhook-secret`).
pub fn back_office_secret(shared_secret: &[u8; 32], tenant_id: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(shared_secret) else {
        return String::new();
    };
    mac.update(b"civicpay-back-office-secret:");
    mac.update(tenant_id.as_bytes());
    format!(
        "cpbo_{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_by_city_and_by_secret() {
        let a = portal_pay_key(&[1; 32], "city-a");
        assert!(a.starts_with("cpay_") && a.len() > 40);
        assert_eq!(a, portal_pay_key(&[1; 32], "city-a"));
        assert_ne!(a, portal_pay_key(&[1; 32], "city-b"));
        assert_ne!(a, portal_pay_key(&[2; 32], "city-a"));
        let notices = back_office_secret(&[1; 32], "city-a");
        assert!(notices.starts_with("cpbo_"));
        assert_ne!(notices, back_office_secret(&[1; 32], "city-b"));
        assert_ne!(
            notices.trim_start_matches("cpbo_"),
            portal_webhook_secret(&[1; 32], "city-a"),
            "not the secret pay signs the portal's webhooks with"
        );
        let platform = platform_pay_key(&[1; 32]);
        assert!(platform.starts_with("cpplat_") && platform.len() > 40);
        assert_ne!(platform, platform_pay_key(&[2; 32]));
    }
}
