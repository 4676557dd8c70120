//! Database access for civicpay, on SQLite (the embedded default) and
//! PostgreSQL (for scale) through one code path.
//!
//! Why sqlx's `Any` driver rather than a trait with two implementations:
//! the SQL we need is the portable subset both databases share (`$n`
//! placeholders, BIGINT money and times, TEXT ids and JSON, `ON CONFLICT`,
//! `RETURNING`), so one function per query, with the SQL written out beside
//! it, is both shorter and impossible to let drift between backends. The few
//! places that need backend-specific SQL check [`Backend`] explicitly. The
//! price is that `Any` decodes only plain types (integers, text, booleans,
//! bytes), which is what the schema uses anyway.
//!
//! Every function that reads or writes a city's data takes its
//! [`civicpay_core::TenantId`]; the only cross-tenant reads are the platform
//! listings in [`tenants`].

pub mod api_keys;
pub mod audit_log;
pub mod bill_import;
pub mod bill_payments;
pub mod bill_types;
pub mod bills;
pub mod demo;
mod error;
pub mod pay;
pub mod rate_limits;
pub mod refund_requests;
mod rows;
pub mod staff;
pub mod tenants;
pub mod testing;

pub use error::StoreError;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Opens `url` (`sqlite://path` or `postgres://…`). Any other scheme is
    /// refused outright rather than guessed at.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        let options = AnyConnectOptions::from_str(url)?;
        let pool_options = match backend {
            // One writer at a time is SQLite's rule; a few readers beside it.
            Backend::Sqlite => AnyPoolOptions::new()
                .max_connections(8)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                        )
                        .await
                        .map(|_| ())
                    })
                }),
            Backend::Postgres => AnyPoolOptions::new().max_connections(16),
        };
        let pool = pool_options
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        Ok(Store { pool, backend })
    }

    /// Applies the migrations checked in for this backend.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A transaction that will write. On SQLite it takes the write lock at
    /// once (`BEGIN IMMEDIATE`), so a read-then-write cannot fail half-way
    /// with a busy snapshot.
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

/// For error messages: the scheme and host, never a password.
fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
            format!(
                "{scheme}://{}",
                host.split(['/', '?']).next().unwrap_or_default()
            )
        }
        None => "(not a URL)".to_owned(),
    }
}

/// Microseconds since the Unix epoch, the one time encoding in the schema.
pub(crate) fn to_micros(t: jiff::Timestamp) -> i64 {
    t.as_microsecond()
}

pub(crate) fn from_micros(us: i64) -> Result<jiff::Timestamp, StoreError> {
    jiff::Timestamp::from_microsecond(us).map_err(|e| StoreError::corrupt("timestamp", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_errors_hide_passwords() {
        assert_eq!(
            redact_url("postgres://app:hunter2@db.example:5432/civicpay"),
            "postgres://db.example:5432"
        );
        assert_eq!(redact_url("mysql"), "(not a URL)");
    }
}
