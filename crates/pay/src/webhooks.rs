//! Delivers queued webhooks, signed, with back-off; every attempt is kept.

use crate::PayState;
use civicpay_store::StoreError;
use civicpay_web::webhook_signature::{HEADER, sign};
use std::time::Duration;

/// Sends every delivery that is due; returns how many were delivered.
pub async fn deliver_due(state: &PayState, client: &reqwest::Client) -> Result<usize, StoreError> {
    let now = jiff::Timestamp::now();
    let mut delivered = 0;
    for delivery in state.store.due_webhooks(now, 100).await? {
        // Another instance may be sending it: only the claimer does.
        let until = now + jiff::SignedDuration::from_secs(30);
        if !state.store.claim_webhook(&delivery, now, until).await? {
            continue;
        }
        let signature = sign(
            &delivery.secret,
            now.as_second(),
            delivery.payload.as_bytes(),
        );
        let sent = client
            .post(&delivery.url)
            .header("content-type", "application/json")
            .header(HEADER, signature)
            .header("civicpay-event", delivery.event_type.as_str())
            .body(delivery.payload.clone())
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        let (code, error, ok) = match sent {
            Ok(response) => {
                let status = response.status();
                (
                    Some(status.as_u16()),
                    (!status.is_success()).then(|| format!("answered {status}")),
                    status.is_success(),
                )
            }
            Err(e) => (
                None,
                Some(if e.is_timeout() {
                    "timed out".to_owned()
                } else {
                    "could not connect".to_owned()
                }),
                false,
            ),
        };
        if !ok {
            tracing::warn!(delivery = %delivery.id, error = error.as_deref().unwrap_or_default(), "webhook not delivered; will retry");
        }
        state
            .store
            .record_webhook_attempt(&delivery, code, error.as_deref(), ok)
            .await?;
        delivered += usize::from(ok);
    }
    Ok(delivered)
}
