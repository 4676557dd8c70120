//! Webhook endpoints, the delivery queue and its attempts.

use super::PayStore;
use crate::rows::{int, parsed, text};
use crate::{StoreError, from_micros, to_micros};
use civicpay_core::TenantId;

#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub id: String,
    pub tenant_id: TenantId,
    pub event_type: String,
    pub payload: String,
    pub attempts: i64,
    pub url: String,
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub id: String,
    pub payment_id: String,
    pub event_type: String,
    pub status: String,
    pub attempts: i64,
    pub created_at: jiff::Timestamp,
}

/// Attempts after which a delivery is given up (about a day of back-off).
pub const MAX_WEBHOOK_ATTEMPTS: i64 = 12;

impl PayStore {
    pub async fn set_webhook_endpoint(
        &self,
        tenant_id: &TenantId,
        url: &str,
        secret: &str,
    ) -> Result<(), StoreError> {
        set_webhook_endpoint_on(self.db.writer(), tenant_id, url, secret).await
    }

    /// Deliveries due now, oldest first. Any number of deliverers may run
    /// this: each delivery is sent only by the one that claims it
    /// ([`PayStore::claim_webhook`]).
    pub async fn due_webhooks(
        &self,
        now: jiff::Timestamp,
        limit: i64,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        sqlx::query(
            "SELECT d.id, d.tenant_id, d.event_type, d.payload, d.attempts, e.url, e.secret
             FROM webhook_deliveries d JOIN webhook_endpoints e ON e.tenant_id = d.tenant_id
             WHERE d.status = 'pending' AND d.next_attempt_at <= $1
             ORDER BY d.next_attempt_at LIMIT $2",
        )
        .bind(to_micros(now))
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(DueDelivery {
                id: text(r, "id")?,
                tenant_id: parsed(r, "tenant_id", TenantId::parse)?,
                event_type: text(r, "event_type")?,
                payload: text(r, "payload")?,
                attempts: int(r, "attempts")?,
                url: text(r, "url")?,
                secret: text(r, "secret")?,
            })
        })
        .collect()
    }

    /// Records one attempt; on failure schedules the next with exponential
    /// back-off, or gives up after [`MAX_WEBHOOK_ATTEMPTS`].
    pub async fn record_webhook_attempt(
        &self,
        delivery: &DueDelivery,
        status_code: Option<u16>,
        error: Option<&str>,
        delivered: bool,
    ) -> Result<(), StoreError> {
        let now = jiff::Timestamp::now();
        let attempt = delivery.attempts + 1;
        let backoff_secs = 10_i64.saturating_mul(1 << attempt.clamp(0, 13)).min(3600);
        let status = if delivered {
            "delivered"
        } else if attempt >= MAX_WEBHOOK_ATTEMPTS {
            "failed"
        } else {
            "pending"
        };
        let mut tx = self.db.begin_write().await?;
        sqlx::query("INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error) VALUES ($1, $2, $3, $4, $5)")
            .bind(delivery.id.as_str())
            .bind(attempt)
            .bind(to_micros(now))
            .bind(status_code.map(i64::from))
            .bind(error)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE webhook_deliveries SET status = $2, attempts = $3, next_attempt_at = $4,
                 delivered_at = CASE WHEN $2 = 'delivered' THEN $5 ELSE delivered_at END
             WHERE id = $1 AND attempts = $6",
        )
        .bind(delivery.id.as_str())
        .bind(status)
        .bind(attempt)
        .bind(to_micros(now) + backoff_secs * 1_000_000)
        .bind(to_micros(now))
        .bind(delivery.attempts)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Claims a due delivery for one attempt until `until`: exactly one of
    /// several deliverers gets `true`. If it dies before recording the
    /// attempt, the delivery is due again at `until`.
    pub async fn claim_webhook(
        &self,
        delivery: &DueDelivery,
        now: jiff::Timestamp,
        until: jiff::Timestamp,
    ) -> Result<bool, StoreError> {
        let claimed = sqlx::query(
            "UPDATE webhook_deliveries SET next_attempt_at = $4
             WHERE id = $1 AND status = 'pending' AND attempts = $2 AND next_attempt_at <= $3",
        )
        .bind(delivery.id.as_str())
        .bind(delivery.attempts)
        .bind(to_micros(now))
        .bind(to_micros(until))
        .execute(self.db.writer())
        .await?
        .rows_affected();
        Ok(claimed == 1)
    }

    /// Puts a delivery back in the queue, now (the CLI's `redeliver`).
    pub async fn redeliver_webhook(&self, id: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $2 WHERE id = $1",
        )
        .bind(id)
        .bind(to_micros(jiff::Timestamp::now()))
        .execute(self.db.writer())
        .await?
        .rows_affected()
            == 1)
    }

    pub async fn webhook_deliveries(
        &self,
        tenant_id: &TenantId,
        payment_id: &str,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        sqlx::query(
            "SELECT id, payment_id, event_type, status, attempts, created_at FROM webhook_deliveries
             WHERE tenant_id = $1 AND payment_id = $2 ORDER BY created_at",
        )
        .bind(tenant_id.as_str())
        .bind(payment_id)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(DeliveryRecord {
                id: text(r, "id")?,
                payment_id: text(r, "payment_id")?,
                event_type: text(r, "event_type")?,
                status: text(r, "status")?,
                attempts: int(r, "attempts")?,
                created_at: from_micros(int(r, "created_at")?)?,
            })
        })
        .collect()
    }
}

pub(super) async fn set_webhook_endpoint_on<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    tenant_id: &TenantId,
    url: &str,
    secret: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO webhook_endpoints (tenant_id, url, secret, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id) DO UPDATE SET url = excluded.url, secret = excluded.secret, updated_at = excluded.updated_at",
    )
    .bind(tenant_id.as_str())
    .bind(url)
    .bind(secret)
    .bind(to_micros(jiff::Timestamp::now()))
    .execute(db)
    .await?;
    Ok(())
}
