//! The pay service's own database (never the portal's): merchants (the
//! cities, as pay knows them), pay API keys, payments with their event
//! history, and idempotency records. No column holds card data beyond brand
//! and last four digits, except saved cards, which are only ever sealed.

mod card_attempts;
mod card_page;
mod csp_reports;
mod jobs;
mod ledger;
mod merchants;
mod money_trail;
mod payments;
mod refunds;
mod vault;
mod webhooks;

pub use card_attempts::{CardAttempt, ScopeFilter, ScopedAttempt};
pub use card_page::LinkRefusal;
pub use csp_reports::CspReport;
pub use jobs::{AwaitingOutcome, NeedsAttention, RefundAwaitingOutcome};
pub use ledger::{GlDay, UNALLOCATED_GL};
pub use merchants::Merchant;
pub use payments::{
    Created, IdempotencyRequest, NewPayment, PaymentChange, PaymentEventRecord, PaymentFilter,
    TransitionError,
};
pub use refunds::{Refund, RefundRefusal};
pub use vault::{StoredCard, StoredDataKey};
pub use webhooks::{DeliveryRecord, DueDelivery, MAX_WEBHOOK_ATTEMPTS};

use crate::{Backend, Store, StoreError};

static PAY_SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/pay/sqlite");
static PAY_POSTGRES_MIGRATIONS: sqlx::migrate::Migrator =
    sqlx::migrate!("./migrations/pay/postgres");

#[derive(Clone, Debug)]
pub struct PayStore {
    store: Store,
}

impl PayStore {
    pub async fn connect(url: &str) -> Result<PayStore, StoreError> {
        let store = Store::connect(url).await?;
        Ok(PayStore { store })
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.store.backend() {
            Backend::Sqlite => &PAY_SQLITE_MIGRATIONS,
            Backend::Postgres => &PAY_POSTGRES_MIGRATIONS,
        };
        migrator.run(self.store.writer()).await?;
        Ok(())
    }

    #[cfg(feature = "testing")]
    pub(crate) fn from_store(store: Store) -> PayStore {
        PayStore { store }
    }

    pub fn backend(&self) -> Backend {
        self.store.backend()
    }

    #[cfg(feature = "testing")]
    pub(crate) fn inner(&self) -> &Store {
        &self.store
    }

    /// Counts an attempt against a velocity limit (see [`Store::rate_limit_hit`]).
    pub async fn rate_limit_hit(
        &self,
        bucket: &str,
        limit: u32,
        window: std::time::Duration,
        now: jiff::Timestamp,
    ) -> Result<crate::rate_limits::RateDecision, StoreError> {
        self.store.rate_limit_hit(bucket, limit, window, now).await
    }

    /// See [`Store::count_in_window`].
    pub async fn count_in_window(
        &self,
        bucket: &str,
        window: std::time::Duration,
        now: jiff::Timestamp,
    ) -> Result<i64, StoreError> {
        self.store.count_in_window(bucket, window, now).await
    }

    /// Drops velocity-limit windows that ended before `before`.
    pub async fn prune_rate_limits(&self, before: jiff::Timestamp) -> Result<u64, StoreError> {
        self.store.prune_rate_limits(before).await
    }

    /// Declined card attempts for a city since `since`, for alerting on card
    /// testing.
    pub async fn declines_since(
        &self,
        tenant_id: &civicpay_core::TenantId,
        since: jiff::Timestamp,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM payment_events
             WHERE tenant_id = $1 AND at >= $2 AND event IN ('declined', 'declined_retry_allowed')",
        )
        .bind(tenant_id.as_str())
        .bind(crate::to_micros(since))
        .fetch_one(self.store.pool())
        .await?)
    }

    pub async fn close(&self) {
        self.store.close().await;
    }
}
