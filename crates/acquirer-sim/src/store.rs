//! The simulator's own SQLite store: authorisations and refunds by our
//! payment id, as an acquirer's records would hold them.

use crate::cards::DeclineReason;
use crate::{AuthorisationView, AuthoriseRequest};
use civicpay_vault::CardNumber;
use rand::Rng;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};
use std::str::FromStr;

#[derive(Clone)]
pub(crate) struct SimStore {
    pool: SqlitePool,
}

#[derive(Debug, Clone)]
pub(crate) struct Authorisation {
    payment_id: String,
    status: String,
    amount: i64,
    currency: String,
    captured: i64,
    refunded: i64,
    last4: String,
    authorisation_code: Option<String>,
    decline_reason: Option<String>,
    /// When the acquirer recorded it, in UTC microseconds.
    created_at: i64,
}

impl Authorisation {
    pub(crate) fn new(request: &AuthoriseRequest, card: &CardNumber) -> Authorisation {
        Authorisation {
            payment_id: request.payment_id.to_string(),
            status: "pending".into(),
            amount: request.amount,
            currency: request.currency.to_string(),
            captured: 0,
            refunded: 0,
            last4: card.last4().to_owned(),
            authorisation_code: None,
            decline_reason: None,
            created_at: jiff::Timestamp::now().as_microsecond(),
        }
    }

    pub(crate) fn approve(&mut self, capture: bool) {
        self.authorisation_code = Some(format!("{:06}", rand::rng().random_range(0..1_000_000)));
        if capture {
            self.status = "captured".into();
            self.captured = self.amount;
        } else {
            self.status = "approved".into();
        }
    }

    pub(crate) fn decline(&mut self, reason: DeclineReason) {
        self.status = "declined".into();
        self.decline_reason = Some(reason.code().into());
    }

    pub(crate) fn view(&self) -> AuthorisationView {
        AuthorisationView {
            payment_id: self.payment_id.clone(),
            status: self.status.clone(),
            amount: self.amount,
            currency: self.currency.clone(),
            captured: self.captured,
            refunded: self.refunded,
            last4: self.last4.clone(),
            authorisation_code: self.authorisation_code.clone(),
            decline_reason: self.decline_reason.clone(),
        }
    }
}

impl SimStore {
    pub(crate) async fn open(data_dir: &std::path::Path) -> Result<SimStore, sqlx::Error> {
        std::fs::create_dir_all(data_dir).map_err(sqlx::Error::Io)?;
        let options = SqliteConnectOptions::from_str(&format!(
            "sqlite://{}",
            data_dir.join("acquirer-sim.db").display()
        ))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(std::time::Duration::from_secs(10));
        // One connection: writers queue in order rather than sleeping in
        // SQLite's busy handler, as in civicpay's own store.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS authorisations (
                 payment_id TEXT PRIMARY KEY,
                 status TEXT NOT NULL,
                 amount INTEGER NOT NULL,
                 currency TEXT NOT NULL,
                 captured INTEGER NOT NULL,
                 refunded INTEGER NOT NULL,
                 last4 TEXT NOT NULL,
                 authorisation_code TEXT,
                 decline_reason TEXT,
                 created_at INTEGER NOT NULL DEFAULT 0
             );
             CREATE TABLE IF NOT EXISTS refunds (
                 refund_id TEXT PRIMARY KEY,
                 payment_id TEXT NOT NULL REFERENCES authorisations (payment_id),
                 amount INTEGER NOT NULL
             );",
        )
        .execute(&pool)
        .await?;
        // Records made before the daily listing existed have no time.
        let columns: Vec<String> =
            sqlx::query_scalar("SELECT name FROM pragma_table_info('authorisations')")
                .fetch_all(&pool)
                .await?;
        if !columns.iter().any(|c| c == "created_at") {
            sqlx::query(
                "ALTER TABLE authorisations ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0",
            )
            .execute(&pool)
            .await?;
        }
        sqlx::query(
            "CREATE INDEX IF NOT EXISTS authorisations_by_time ON authorisations (created_at)",
        )
        .execute(&pool)
        .await?;
        Ok(SimStore { pool })
    }

    pub(crate) async fn get(&self, payment_id: &str) -> Result<Option<Authorisation>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT payment_id, status, amount, currency, captured, refunded, last4, authorisation_code, decline_reason, created_at
             FROM authorisations WHERE payment_id = $1",
        )
        .bind(payment_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(authorisation_from_row).transpose()
    }

    /// Every authorisation recorded on a UTC day, oldest first.
    pub(crate) async fn on_day(
        &self,
        day: jiff::civil::Date,
    ) -> Result<Vec<Authorisation>, sqlx::Error> {
        let start = day
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map_err(|e| sqlx::Error::Protocol(e.to_string()))?
            .timestamp();
        let end = start + jiff::SignedDuration::from_hours(24);
        sqlx::query(
            "SELECT payment_id, status, amount, currency, captured, refunded, last4, authorisation_code, decline_reason, created_at
             FROM authorisations WHERE created_at >= $1 AND created_at < $2 ORDER BY created_at",
        )
        .bind(start.as_microsecond())
        .bind(end.as_microsecond())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(authorisation_from_row)
        .collect()
    }

    pub(crate) async fn refund_amount(
        &self,
        payment_id: &str,
        refund_id: &str,
    ) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar("SELECT amount FROM refunds WHERE refund_id = $1 AND payment_id = $2")
            .bind(refund_id)
            .bind(payment_id)
            .fetch_optional(&self.pool)
            .await
    }

    /// First writer wins: a concurrent duplicate keeps the first record.
    pub(crate) async fn insert(&self, a: &Authorisation) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO authorisations (payment_id, status, amount, currency, captured, refunded, last4, authorisation_code, decline_reason, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (payment_id) DO NOTHING",
        )
        .bind(&a.payment_id)
        .bind(&a.status)
        .bind(a.amount)
        .bind(&a.currency)
        .bind(a.captured)
        .bind(a.refunded)
        .bind(&a.last4)
        .bind(&a.authorisation_code)
        .bind(&a.decline_reason)
        .bind(a.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn capture(
        &self,
        payment_id: &str,
        amount: i64,
    ) -> Result<Result<Authorisation, &'static str>, sqlx::Error> {
        let updated = sqlx::query(
            "UPDATE authorisations SET status = 'captured', captured = $2
             WHERE payment_id = $1 AND status = 'approved' AND $2 > 0 AND $2 <= amount",
        )
        .bind(payment_id)
        .bind(amount)
        .execute(&self.pool)
        .await?;
        self.after_update(
            payment_id,
            updated.rows_affected(),
            "only an approved authorisation can be captured, up to its amount",
        )
        .await
    }

    pub(crate) async fn void(
        &self,
        payment_id: &str,
    ) -> Result<Result<Authorisation, &'static str>, sqlx::Error> {
        let updated = sqlx::query("UPDATE authorisations SET status = 'voided' WHERE payment_id = $1 AND status = 'approved'")
            .bind(payment_id)
            .execute(&self.pool)
            .await?;
        self.after_update(
            payment_id,
            updated.rows_affected(),
            "only an approved, uncaptured authorisation can be voided",
        )
        .await
    }

    /// Idempotent by refund id; never refunds more than was captured.
    pub(crate) async fn refund(
        &self,
        payment_id: &str,
        refund_id: &str,
        amount: i64,
    ) -> Result<Result<Authorisation, &'static str>, sqlx::Error> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let known: Option<String> =
            sqlx::query_scalar("SELECT payment_id FROM refunds WHERE refund_id = $1")
                .bind(refund_id)
                .fetch_optional(&mut *tx)
                .await?;
        if known.is_none() {
            let updated = sqlx::query(
                "UPDATE authorisations SET refunded = refunded + $2
                 WHERE payment_id = $1 AND status = 'captured' AND $2 > 0 AND refunded + $2 <= captured",
            )
            .bind(payment_id)
            .bind(amount)
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() == 0 {
                return Ok(Err(
                    "refund exceeds what was captured, or the payment is not captured",
                ));
            }
            sqlx::query("INSERT INTO refunds (refund_id, payment_id, amount) VALUES ($1, $2, $3)")
                .bind(refund_id)
                .bind(payment_id)
                .bind(amount)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(self.get(payment_id).await?.ok_or("no such authorisation"))
    }

    async fn after_update(
        &self,
        payment_id: &str,
        rows: u64,
        refusal: &'static str,
    ) -> Result<Result<Authorisation, &'static str>, sqlx::Error> {
        if rows == 0 {
            return Ok(Err(refusal));
        }
        Ok(self.get(payment_id).await?.ok_or("no such authorisation"))
    }
}

fn authorisation_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<Authorisation, sqlx::Error> {
    Ok(Authorisation {
        payment_id: r.try_get("payment_id")?,
        status: r.try_get("status")?,
        amount: r.try_get("amount")?,
        currency: r.try_get("currency")?,
        captured: r.try_get("captured")?,
        refunded: r.try_get("refunded")?,
        last4: r.try_get("last4")?,
        authorisation_code: r.try_get("authorisation_code")?,
        decline_reason: r.try_get("decline_reason")?,
        created_at: r.try_get("created_at")?,
    })
}
