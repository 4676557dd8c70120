//! Fresh databases for tests: a temporary SQLite file always, and a new
//! PostgreSQL database when `CIVICPAY_TEST_POSTGRES_URL` names a server.
//! Each test gets its own, so tests run in parallel.

use crate::{Db, Store, StoreError};
use std::path::PathBuf;

pub const POSTGRES_URL_VAR: &str = "CIVICPAY_TEST_POSTGRES_URL";

pub struct TestDb {
    pub store: Store,
    url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    SqliteDir(PathBuf),
    PostgresDatabase { admin_url: String, name: String },
}

/// Which service's schema a test database carries.
#[derive(Debug, Clone, Copy)]
pub enum Schema {
    Portal,
    Pay,
}

async fn migrate(store: &Store, schema: Schema) -> Result<(), StoreError> {
    match schema {
        Schema::Portal => store.migrate().await,
        Schema::Pay => crate::pay::PayStore::over(Db::clone(store)).migrate().await,
    }
}

impl TestDb {
    pub async fn sqlite() -> Result<TestDb, StoreError> {
        TestDb::sqlite_with(Schema::Portal).await
    }

    pub async fn postgres() -> Result<Option<TestDb>, StoreError> {
        TestDb::postgres_with(Schema::Portal).await
    }

    /// The database's URL, for a process started by the test.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The pay service's store over this test database.
    pub fn pay_store(&self) -> crate::pay::PayStore {
        crate::pay::PayStore::over(Db::clone(&self.store))
    }

    pub async fn sqlite_with(schema: Schema) -> Result<TestDb, StoreError> {
        let dir =
            std::env::temp_dir().join(format!("civicpay-test-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::Read(e.to_string()))?;
        let url = format!("sqlite://{}?mode=rwc", dir.join("test.db").display());
        let store = Store::connect(&url).await?;
        migrate(&store, schema).await?;
        Ok(TestDb {
            store,
            url,
            cleanup: Cleanup::SqliteDir(dir),
        })
    }

    /// `None` when no PostgreSQL server is configured for tests.
    pub async fn postgres_with(schema: Schema) -> Result<Option<TestDb>, StoreError> {
        let Ok(admin_url) = std::env::var(POSTGRES_URL_VAR) else {
            return Ok(None);
        };
        let name = format!("civicpay_test_{}", uuid::Uuid::now_v7().simple());
        let admin = Store::connect(&admin_url).await?;
        // The name is ours (a UUID's hex), never input.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(admin.pool())
            .await?;
        admin.close().await;
        let url = with_database(&admin_url, &name);
        let store = Store::connect(&url).await?;
        migrate(&store, schema).await?;
        Ok(Some(TestDb {
            store,
            url,
            cleanup: Cleanup::PostgresDatabase { admin_url, name },
        }))
    }

    /// The path of the SQLite file's folder, for tests that scan what was
    /// written.
    pub fn sqlite_dir(&self) -> Option<&std::path::Path> {
        match &self.cleanup {
            Cleanup::SqliteDir(dir) => Some(dir),
            Cleanup::PostgresDatabase { .. } => None,
        }
    }

    /// Closes the store and removes the database.
    pub async fn finish(self) {
        self.store.close().await;
        match self.cleanup {
            Cleanup::SqliteDir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::PostgresDatabase { admin_url, name } => {
                if let Ok(admin) = Store::connect(&admin_url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(admin.pool())
                    .await;
                    admin.close().await;
                }
            }
        }
    }
}

/// Runs SQL behind the application's back, as someone holding the database
/// would: for tests that tamper with what the application wrote.
pub async fn execute_behind_the_back(store: &Db, sql: &str) -> Result<(), StoreError> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(store.writer())
        .await?;
    Ok(())
}

/// As [`execute_behind_the_back`], on pay's database.
pub async fn execute_behind_pays_back(
    store: &crate::pay::PayStore,
    sql: &str,
) -> Result<(), StoreError> {
    execute_behind_the_back(store, sql).await
}

/// Replaces the database name in a PostgreSQL URL.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base
        .get(scheme_end..)
        .and_then(|rest| rest.find('/'))
        .map_or(base.len(), |i| scheme_end + i);
    let authority = base.get(..authority_end).unwrap_or(base);
    match query {
        Some(q) => format!("{authority}/{database}?{q}"),
        None => format!("{authority}/{database}"),
    }
}

/// Runs a store test on SQLite and, when configured, on PostgreSQL:
/// `store_test!(name, |store| async move { ... })` makes `name::sqlite` and
/// `name::postgres`.
#[macro_export]
macro_rules! store_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::testing::TestDb::sqlite()
                    .await
                    .expect("sqlite test database");
                ($body)(db.store.clone()).await;
                db.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = $crate::testing::TestDb::postgres()
                    .await
                    .expect("postgres test database")
                else {
                    eprintln!(
                        "skipped: set {} to run this test on PostgreSQL",
                        $crate::testing::POSTGRES_URL_VAR
                    );
                    return;
                };
                ($body)(db.store.clone()).await;
                db.finish().await;
            }
        }
    };
}

/// Like [`store_test!`], for the pay service's store: the body gets a
/// [`crate::pay::PayStore`].
#[macro_export]
macro_rules! pay_store_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::testing::TestDb::sqlite_with($crate::testing::Schema::Pay)
                    .await
                    .expect("sqlite test database");
                ($body)(db.pay_store()).await;
                db.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = $crate::testing::TestDb::postgres_with($crate::testing::Schema::Pay)
                    .await
                    .expect("postgres test database")
                else {
                    eprintln!(
                        "skipped: set {} to run this test on PostgreSQL",
                        $crate::testing::POSTGRES_URL_VAR
                    );
                    return;
                };
                ($body)(db.pay_store()).await;
                db.finish().await;
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_replaced_in_urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "t2"),
            "postgres://u:p@h/t2?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "t3"), "postgres://h/t3");
    }
}
