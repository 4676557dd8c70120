//! The pay service's own database (never the portal's): merchants (the
//! cities, as pay knows them), pay API keys, payments with their event
//! history, and idempotency records. No column holds card data beyond brand
//! and last four digits, except saved cards, which are only ever sealed.

mod ach;
mod card_attempts;
mod card_page;
mod csp_reports;
mod idempotency;
mod jobs;
mod ledger;
mod merchants;
mod money_trail;
mod payments;
mod processors;
mod refunds;
mod vault;
mod webhooks;

pub use ach::{AchEntry, AchFileRecord, NewAchEntry, StoredBankAccount};
pub use card_attempts::{CardAttempt, ScopeFilter, ScopedAttempt};
pub use card_page::LinkRefusal;
pub use csp_reports::CspReport;
pub use idempotency::{Claim, STALE_CLAIM};
pub use jobs::{AwaitingOutcome, NeedsAttention, RefundAwaitingOutcome};
pub use ledger::{GlCursor, GlDay, UNALLOCATED_GL};
pub use merchants::Merchant;
pub use payments::{
    Created, IdempotencyRequest, NewPayment, PaymentChange, PaymentEventRecord, PaymentFilter,
    TransitionError,
};
pub use processors::SealedSecret;
pub use refunds::{Refund, RefundRefusal};
pub use vault::{StoredCard, StoredDataKey};
pub use webhooks::{DeliveryRecord, DueDelivery, MAX_WEBHOOK_ATTEMPTS};

use crate::{Db, StoreError};

static PAY_SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/pay/sqlite");
static PAY_POSTGRES_MIGRATIONS: sqlx::migrate::Migrator =
    sqlx::migrate!("./migrations/pay/postgres");

#[derive(Clone, Debug)]
pub struct PayStore {
    db: Db,
}

impl PayStore {
    pub async fn connect(url: &str) -> Result<PayStore, StoreError> {
        Ok(PayStore {
            db: Db::connect(url).await?,
        })
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.db
            .run_migrations(&PAY_SQLITE_MIGRATIONS, &PAY_POSTGRES_MIGRATIONS)
            .await
    }

    #[cfg(feature = "testing")]
    pub(crate) fn over(db: Db) -> PayStore {
        PayStore { db }
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
        .fetch_one(self.db.pool())
        .await?)
    }
}

impl std::ops::Deref for PayStore {
    type Target = Db;

    fn deref(&self) -> &Db {
        &self.db
    }
}
