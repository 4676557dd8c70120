//! What every HTTP connector needs from the network: one client with the
//! timeout, a body that is wiped once sent, and the difference between a
//! request that never left and one whose answer was lost.

use crate::GatewayError;
use bytes::Bytes;
use std::time::Duration;
use zeroize::Zeroize;

/// Why a call has no answer. The difference decides an authorisation's
/// fate: a request that never left is a failure, one that may have
/// reached the processor is unknown until an inquiry says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Trouble {
    NotSent(String),
    NoAnswer(String),
}

impl Trouble {
    pub(crate) fn of(e: &reqwest::Error) -> Trouble {
        // reqwest's messages name the URL; keep ours short and stable.
        if e.is_connect() {
            Trouble::NotSent("could not connect".into())
        } else if e.is_timeout() {
            Trouble::NoAnswer("timed out".into())
        } else {
            Trouble::NoAnswer("the connection broke before the answer".into())
        }
    }

    pub(crate) fn detail(&self) -> &str {
        match self {
            Trouble::NotSent(d) | Trouble::NoAnswer(d) => d,
        }
    }
}

impl From<Trouble> for GatewayError {
    fn from(t: Trouble) -> GatewayError {
        GatewayError::Unavailable(t.detail().to_owned())
    }
}

pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, GatewayError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(|e| GatewayError::Unavailable(e.to_string()))
}

/// A request body that may hold a card number: shared with the HTTP
/// client without a copy, and zeroed when dropped if the client has let
/// go of it (it has, once the answer is read).
pub(crate) struct WipedBody(Option<Bytes>);

impl WipedBody {
    pub(crate) fn json(value: &impl serde::Serialize) -> Result<WipedBody, GatewayError> {
        serde_json::to_vec(value)
            .map(|v| WipedBody(Some(Bytes::from(v))))
            .map_err(|e| GatewayError::Protocol(e.to_string()))
    }

    pub(crate) fn bytes(bytes: Vec<u8>) -> WipedBody {
        WipedBody(Some(Bytes::from(bytes)))
    }

    pub(crate) fn body(&self) -> reqwest::Body {
        reqwest::Body::from(self.0.clone().unwrap_or_default())
    }
}

impl Drop for WipedBody {
    fn drop(&mut self) {
        if let Some(bytes) = self.0.take()
            && let Ok(mut owned) = bytes.try_into_mut()
        {
            owned.as_mut().zeroize();
        }
    }
}

/// The status and whole body of an answer.
pub(crate) async fn read(
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<(reqwest::StatusCode, Bytes), Trouble> {
    let response = sent.map_err(|e| Trouble::of(&e))?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| Trouble::of(&e))?;
    Ok((status, body))
}

/// When an id of ours was made: a UUIDv7's first 48 bits are its
/// millisecond timestamp. Inquiries search the processor's records from
/// then, not from the beginning of time.
pub(crate) fn made_at(id: &str) -> Option<jiff::Timestamp> {
    let uuid = uuid::Uuid::try_parse(id.get(..36)?).ok()?;
    let (seconds, nanos) = uuid.get_timestamp()?.to_unix();
    jiff::Timestamp::new(i64::try_from(seconds).ok()?, i32::try_from(nanos).ok()?).ok()
}

/// A short key derived from our reference, for fields shorter than it.
pub(crate) fn short_key(purpose: &str, reference: &str, length: usize) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(purpose.as_bytes())
        .chain_update(b":")
        .chain_update(reference.as_bytes())
        .finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex.chars().take(length).collect()
}

/// A UUID-shaped key (36 characters) derived from our reference: the
/// same attempt always sends the same idempotency key, so a retry after a
/// restart is still the same request.
pub(crate) fn derived_uuid(purpose: &str, reference: &str) -> String {
    let hex = short_key(purpose, reference, 32);
    let part = |from: usize, to: usize| hex.get(from..to).unwrap_or_default().to_owned();
    format!(
        "{}-{}-{}-{}-{}",
        part(0, 8),
        part(8, 12),
        part(12, 16),
        part(16, 20),
        part(20, 32)
    )
}

/// Decimal text (`42.5`, `"42.50"`) to minor units, exactly.
pub(crate) fn decimal_to_minor(value: &serde_json::Value) -> Option<i64> {
    let text = match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    if fraction.len() > 2 || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
    whole.checked_mul(100)?.checked_add(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_become_minor_units_exactly() {
        assert_eq!(decimal_to_minor(&serde_json::json!("42.50")), Some(4250));
        assert_eq!(decimal_to_minor(&serde_json::json!(42.5)), Some(4250));
        assert_eq!(decimal_to_minor(&serde_json::json!(7)), Some(700));
        assert_eq!(decimal_to_minor(&serde_json::json!("1.005")), None);
    }

    #[test]
    fn a_uuidv7_says_when_it_was_made() {
        let id = uuid::Uuid::now_v7().to_string();
        let made = made_at(&format!("{id}.2"));
        let now = jiff::Timestamp::now();
        assert!(made.is_some_and(|m| now.duration_since(m).as_secs() < 5));
        assert_eq!(made_at("not-an-id"), None);
    }

    #[test]
    fn derived_keys_are_stable_distinct_and_the_right_length() {
        let a = derived_uuid("payment", "x.1");
        assert_eq!(a, derived_uuid("payment", "x.1"));
        assert_ne!(a, derived_uuid("payment", "x.2"));
        assert_ne!(a, derived_uuid("cancel", "x.1"));
        assert_eq!(a.len(), 36);
        assert_eq!(short_key("invoice", "x.1", 20).len(), 20);
    }
}
