//! Work lists for the pay service's background jobs. These scan across
//! cities, as platform jobs do; each item names its city, and every change
//! made from it goes through the tenant-scoped functions.

use super::PayStore;
use crate::rows::{int, parsed};
use crate::{StoreError, from_micros, to_micros};
use civicpay_core::{PaymentId, TenantId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwaitingOutcome {
    pub tenant_id: TenantId,
    pub payment_id: PaymentId,
    pub attempts: i64,
    pub submitted_at: jiff::Timestamp,
}

impl PayStore {
    /// Payments sent to the acquirer whose outcome we never heard, oldest
    /// first.
    pub async fn payments_awaiting_outcome(
        &self,
        submitted_before: jiff::Timestamp,
        limit: i64,
    ) -> Result<Vec<AwaitingOutcome>, StoreError> {
        sqlx::query(
            "SELECT tenant_id, id, attempts, updated_at FROM payments
             WHERE status = 'submitted' AND updated_at < $1 ORDER BY updated_at LIMIT $2",
        )
        .bind(to_micros(submitted_before))
        .bind(limit)
        .fetch_all(self.store.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(AwaitingOutcome {
                tenant_id: parsed(r, "tenant_id", TenantId::parse)?,
                payment_id: parsed(r, "id", PaymentId::parse)?,
                attempts: int(r, "attempts")?,
                submitted_at: from_micros(int(r, "updated_at")?)?,
            })
        })
        .collect()
    }

    /// Unfinished payments whose time is up and that never reached the
    /// acquirer (created or started).
    pub async fn payments_past_expiry(
        &self,
        now: jiff::Timestamp,
        limit: i64,
    ) -> Result<Vec<(TenantId, PaymentId)>, StoreError> {
        sqlx::query(
            "SELECT tenant_id, id FROM payments
             WHERE status IN ('created', 'started') AND expires_at < $1 ORDER BY expires_at LIMIT $2",
        )
        .bind(to_micros(now))
        .bind(limit)
        .fetch_all(self.store.pool())
        .await?
        .iter()
        .map(|r| Ok((parsed(r, "tenant_id", TenantId::parse)?, parsed(r, "id", PaymentId::parse)?)))
        .collect()
    }
}
