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

/// `$sql` that locks the rows it reads until the transaction ends: with
/// ` FOR UPDATE` (or `$suffix`) on PostgreSQL; as it is on SQLite, where
/// `BEGIN IMMEDIATE` already holds the database's one write lock. The SQL
/// stays a literal, so it needs no `AssertSqlSafe`.
macro_rules! for_update {
    ($backend:expr, $sql:literal) => {
        for_update!($backend, $sql, " FOR UPDATE")
    };
    ($backend:expr, $sql:literal, $suffix:literal) => {
        match $backend {
            $crate::Backend::Postgres => concat!($sql, $suffix),
            $crate::Backend::Sqlite => $sql,
        }
    };
}

pub mod api_keys;
pub mod audit_log;
pub mod demo;
mod error;
pub mod pay;
pub mod portal;
pub mod rate_limits;
mod rows;
#[cfg(feature = "testing")]
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

/// A connection to one service's database: the pools and which backend.
/// Each service's store wraps one, so neither can run the other's queries;
/// what both schemas share (rate limits, the audit chain) is on `Db`.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    /// On SQLite, the one connection that writes: writers queue here in
    /// order instead of meeting SQLite's lock and sleeping in its busy
    /// handler (1, 2, 5, 10… ms), which is what made the tail latency
    /// under load. On PostgreSQL the same pool as `pool`.
    writer: AnyPool,
    pub(crate) backend: Backend,
}

/// The portal's database: cities, bills, residents, staff, its audit log.
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Opens `url` (`sqlite://path` or `postgres://…`). Any other scheme is
    /// refused outright rather than guessed at.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Ok(Store {
            db: Db::connect(url).await?,
        })
    }

    /// Applies the portal's migrations checked in for this backend.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.db
            .run_migrations(&SQLITE_MIGRATIONS, &POSTGRES_MIGRATIONS)
            .await
    }
}

impl std::ops::Deref for Store {
    type Target = Db;

    fn deref(&self) -> &Db {
        &self.db
    }
}

impl Db {
    pub async fn connect(url: &str) -> Result<Db, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        let options = AnyConnectOptions::from_str(url)?;
        let sqlite = |connections: u32| {
            AnyPoolOptions::new()
                .max_connections(connections)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                        )
                        .await
                        .map(|_| ())
                    })
                })
                .acquire_timeout(Duration::from_secs(30))
        };
        let (pool, writer) = match backend {
            // One writer at a time is SQLite's rule; readers beside it.
            Backend::Sqlite => {
                let writer = sqlite(1).connect_with(options.clone()).await?;
                (sqlite(8).connect_with(options).await?, writer)
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await?;
                (pool.clone(), pool)
            }
        };
        Ok(Db {
            pool,
            writer,
            backend,
        })
    }

    /// Applies the migrations of this backend from a service's pair.
    pub(crate) async fn run_migrations(
        &self,
        sqlite: &sqlx::migrate::Migrator,
        postgres: &sqlx::migrate::Migrator,
    ) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => sqlite,
            Backend::Postgres => postgres,
        };
        migrator.run(&self.writer).await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }

    /// A transaction that will write. On SQLite it takes the write lock at
    /// once (`BEGIN IMMEDIATE`), so a read-then-write cannot fail half-way
    /// with a busy snapshot.
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.writer.begin().await?,
        })
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// For a single statement that writes (outside `begin_write`).
    pub(crate) fn writer(&self) -> &AnyPool {
        &self.writer
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
