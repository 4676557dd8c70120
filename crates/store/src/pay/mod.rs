//! The pay service's own database (never the portal's): merchants (the
//! cities, as pay knows them), pay API keys, payments with their event
//! history, and idempotency records. No column holds card data beyond brand
//! and last four digits.

mod card_page;
mod csp_reports;
mod jobs;
mod merchants;
mod payments;
mod refunds;

pub use card_page::LinkRefusal;
pub use csp_reports::CspReport;
pub use jobs::AwaitingOutcome;
pub use merchants::Merchant;
pub use payments::{
    Created, IdempotencyRequest, NewPayment, PaymentChange, PaymentEventRecord, PaymentFilter,
    TransitionError,
};
pub use refunds::{Refund, RefundRefusal};

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
        migrator.run(self.store.pool()).await?;
        Ok(())
    }

    pub(crate) fn from_store(store: Store) -> PayStore {
        PayStore { store }
    }

    pub async fn close(&self) {
        self.store.close().await;
    }
}
