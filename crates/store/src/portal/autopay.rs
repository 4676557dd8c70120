//! Autopay: residents' standing instructions and the runs that carry them
//! out. A run is one row per bill (its primary key), so a bill is taken on
//! by autopay at most once; runners claim pending runs with `FOR UPDATE
//! SKIP LOCKED` on PostgreSQL, and on SQLite (one instance only) inside
//! the single writer's `BEGIN IMMEDIATE`.

use crate::audit_log::append_in;
use crate::rows::{column, read, text};
use crate::{Store, StoreError, from_micros, to_micros};
use civicpay_audit::NewEntry;
use civicpay_core::resident::AutopayRule;
use civicpay_core::{BillId, BillReference, BillTypeId, Currency, Money, ResidentId, TenantId};
use jiff::Timestamp;
use jiff::civil::Date;

#[derive(Debug, Clone)]
pub struct AutopayEnrolment {
    pub resident_id: ResidentId,
    pub bill_type_id: BillTypeId,
    pub reference_key: String,
    /// Pay's token for the saved card; the card itself never reaches the
    /// portal.
    pub card_token: String,
    /// What the resident is shown: brand, last four, expiry.
    pub card_label: String,
    pub cap: Money,
    /// The part of each bill to pay; `None`: the whole balance.
    pub part: Option<Money>,
    pub start_date: Date,
}

impl AutopayEnrolment {
    pub fn rule(&self) -> AutopayRule {
        AutopayRule {
            cap: self.cap,
            part: self.part,
        }
    }
}

/// An `autopay_enrolments` row as stored.
#[derive(sqlx::FromRow)]
struct EnrolmentRow {
    resident_id: String,
    bill_type_id: String,
    reference_key: String,
    card_token: String,
    card_label: String,
    cap: i64,
    part: Option<i64>,
    currency: String,
    start_date: String,
}

impl TryFrom<EnrolmentRow> for AutopayEnrolment {
    type Error = StoreError;

    fn try_from(row: EnrolmentRow) -> Result<AutopayEnrolment, StoreError> {
        let currency = column("currency", &row.currency, Currency::parse)?;
        Ok(AutopayEnrolment {
            resident_id: column("resident_id", &row.resident_id, ResidentId::parse)?,
            bill_type_id: column("bill_type_id", &row.bill_type_id, BillTypeId::parse)?,
            reference_key: row.reference_key,
            card_token: row.card_token,
            card_label: row.card_label,
            cap: Money::from_minor(row.cap, currency),
            part: row.part.map(|part| Money::from_minor(part, currency)),
            start_date: column("start_date", &row.start_date, |s: &str| s.parse::<Date>())?,
        })
    }
}

/// What a new or changed enrolment sets.
pub struct NewEnrolment<'a> {
    pub resident_id: &'a ResidentId,
    pub bill_type_id: &'a BillTypeId,
    pub reference: &'a BillReference,
    pub card_token: &'a str,
    pub card_label: &'a str,
    pub cap: Money,
    pub part: Option<Money>,
    pub start_date: Date,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Pending,
    Claimed,
    Paid,
    Failed,
    /// Nothing was charged: over the cap, or nothing left to pay.
    Skipped,
}

impl RunStatus {
    pub fn code(self) -> &'static str {
        match self {
            RunStatus::Pending => "pending",
            RunStatus::Claimed => "claimed",
            RunStatus::Paid => "paid",
            RunStatus::Failed => "failed",
            RunStatus::Skipped => "skipped",
        }
    }

    fn parse(s: &str) -> Result<RunStatus, String> {
        match s {
            "pending" => Ok(RunStatus::Pending),
            "claimed" => Ok(RunStatus::Claimed),
            "paid" => Ok(RunStatus::Paid),
            "failed" => Ok(RunStatus::Failed),
            "skipped" => Ok(RunStatus::Skipped),
            other => Err(format!("unknown autopay run status {other:?}")),
        }
    }
}

/// A bill a runner has claimed and must now settle.
#[derive(Debug, Clone)]
pub struct AutopayRun {
    pub bill_id: BillId,
    pub resident_id: ResidentId,
    pub status: RunStatus,
    /// The portal's payment record, once made: a runner that takes over a
    /// stale claim reuses it, and with it pay's idempotency key.
    pub bill_payment_id: Option<String>,
}

/// An `autopay_runs` row as stored (the columns a claim reads).
#[derive(sqlx::FromRow)]
struct RunRow {
    bill_id: String,
    resident_id: String,
    status: String,
    bill_payment_id: Option<String>,
}

impl TryFrom<RunRow> for AutopayRun {
    type Error = StoreError;

    fn try_from(row: RunRow) -> Result<AutopayRun, StoreError> {
        Ok(AutopayRun {
            bill_id: column("bill_id", &row.bill_id, BillId::parse)?,
            resident_id: column("resident_id", &row.resident_id, ResidentId::parse)?,
            status: column("status", &row.status, RunStatus::parse)?,
            bill_payment_id: row.bill_payment_id,
        })
    }
}

impl Store {
    /// Sets up or changes autopay on a bill account. An account has one
    /// instruction: if another member of the household holds it, this is
    /// refused as `AlreadyExists`.
    pub async fn enrol_autopay(
        &self,
        tenant_id: &TenantId,
        enrolment: NewEnrolment<'_>,
        audit: NewEntry,
    ) -> Result<(), StoreError> {
        let now = to_micros(Timestamp::now());
        let mut tx = self.begin_write().await?;
        let written = sqlx::query(
            "INSERT INTO autopay_enrolments (tenant_id, resident_id, bill_type_id, reference_key, card_token, \
                 card_label, cap, part, currency, start_date, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
             ON CONFLICT (tenant_id, bill_type_id, reference_key) DO UPDATE SET \
                 card_token = excluded.card_token, card_label = excluded.card_label, cap = excluded.cap, \
                 part = excluded.part, currency = excluded.currency, updated_at = excluded.updated_at \
             WHERE autopay_enrolments.resident_id = excluded.resident_id",
        )
        .bind(tenant_id.as_str())
        .bind(enrolment.resident_id.as_str())
        .bind(enrolment.bill_type_id.as_str())
        .bind(enrolment.reference.canonical())
        .bind(enrolment.card_token)
        .bind(enrolment.card_label)
        .bind(enrolment.cap.minor())
        .bind(enrolment.part.map(Money::minor))
        .bind(enrolment.cap.currency().code())
        .bind(enrolment.start_date.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if written.rows_affected() != 1 {
            return Err(StoreError::AlreadyExists(
                "autopay on this account, set up by another member of the household".into(),
            ));
        }
        append_in(&mut tx, self.backend, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends a resident's autopay on an account; false if there was none.
    pub async fn cancel_autopay(
        &self,
        tenant_id: &TenantId,
        resident: &ResidentId,
        bill_type_id: &BillTypeId,
        reference: &BillReference,
        audit: NewEntry,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let removed = sqlx::query(
            "DELETE FROM autopay_enrolments \
             WHERE tenant_id = $1 AND resident_id = $2 AND bill_type_id = $3 AND reference_key = $4",
        )
        .bind(tenant_id.as_str())
        .bind(resident.as_str())
        .bind(bill_type_id.as_str())
        .bind(reference.canonical())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if removed == 1 {
            append_in(&mut tx, self.backend, audit).await?;
        }
        tx.commit().await?;
        Ok(removed == 1)
    }

    /// Every autopay instruction on the accounts this resident linked
    /// (theirs or a household member's).
    pub async fn autopay_for_links(
        &self,
        tenant_id: &TenantId,
        resident: &ResidentId,
    ) -> Result<Vec<AutopayEnrolment>, StoreError> {
        let rows = sqlx::query(
            "SELECT e.resident_id, e.bill_type_id, e.reference_key, e.card_token, e.card_label, e.cap, \
                    e.part, e.currency, e.start_date \
             FROM autopay_enrolments e JOIN resident_links l ON l.tenant_id = e.tenant_id \
                 AND l.bill_type_id = e.bill_type_id AND l.reference_key = e.reference_key \
             WHERE e.tenant_id = $1 AND l.resident_id = $2",
        )
        .bind(tenant_id.as_str())
        .bind(resident.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(read::<EnrolmentRow, _>).collect()
    }

    /// The instruction on the account a bill belongs to, if any.
    pub async fn autopay_for_bill(
        &self,
        tenant_id: &TenantId,
        bill_id: &BillId,
    ) -> Result<Option<AutopayEnrolment>, StoreError> {
        let row = sqlx::query(
            "SELECT e.resident_id, e.bill_type_id, e.reference_key, e.card_token, e.card_label, e.cap, \
                    e.part, e.currency, e.start_date \
             FROM autopay_enrolments e JOIN bills b ON b.tenant_id = e.tenant_id \
                 AND b.bill_type_id = e.bill_type_id AND b.reference_key = e.reference_key \
             WHERE e.tenant_id = $1 AND b.id = $2",
        )
        .bind(tenant_id.as_str())
        .bind(bill_id.as_str())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(read::<EnrolmentRow, _>).transpose()
    }

    /// Adds a pending run for every open bill of an enrolled account that
    /// is due on or before `today` (the city's date) and not before the
    /// enrolment began. A bill already taken on is left alone. Returns how
    /// many runs were added.
    pub async fn schedule_autopay(
        &self,
        tenant_id: &TenantId,
        today: Date,
    ) -> Result<u64, StoreError> {
        let now = to_micros(Timestamp::now());
        let added = sqlx::query(
            "INSERT INTO autopay_runs (bill_id, tenant_id, resident_id, status, created_at, updated_at) \
             SELECT b.id, b.tenant_id, e.resident_id, 'pending', $3, $3 \
             FROM bills b JOIN autopay_enrolments e ON e.tenant_id = b.tenant_id \
                 AND e.bill_type_id = b.bill_type_id AND e.reference_key = b.reference_key \
             WHERE b.tenant_id = $1 AND b.due_date <= $2 AND b.due_date >= e.start_date \
               AND NOT b.cancelled AND b.amount_paid < b.amount_due \
             ON CONFLICT (bill_id) DO NOTHING",
        )
        .bind(tenant_id.as_str())
        .bind(today.to_string())
        .bind(now)
        .execute(self.writer())
        .await?;
        Ok(added.rows_affected())
    }

    /// Claims one run of this city for `runner`: a pending one, or one
    /// whose runner claimed it before `stale_before` and never finished.
    /// Two runners never get the same run.
    pub async fn claim_autopay_run(
        &self,
        tenant_id: &TenantId,
        runner: &str,
        stale_before: Timestamp,
    ) -> Result<Option<AutopayRun>, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(for_update!(
            self.backend,
            "SELECT bill_id FROM autopay_runs \
             WHERE tenant_id = $1 AND (status = 'pending' OR (status = 'claimed' AND claimed_at < $2)) \
             ORDER BY created_at, bill_id LIMIT 1",
            " FOR UPDATE SKIP LOCKED"
        ))
        .bind(tenant_id.as_str())
        .bind(to_micros(stale_before))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.commit().await?;
            return Ok(None);
        };
        let bill_id = text(&row, "bill_id")?;
        let now = to_micros(Timestamp::now());
        let claimed = sqlx::query(
            "UPDATE autopay_runs SET status = 'claimed', claimed_by = $3, claimed_at = $4, updated_at = $4 \
             WHERE tenant_id = $1 AND bill_id = $2 \
             RETURNING bill_id, resident_id, status, bill_payment_id",
        )
        .bind(tenant_id.as_str())
        .bind(bill_id.as_str())
        .bind(runner)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let run: AutopayRun = read::<RunRow, _>(&claimed)?;
        tx.commit().await?;
        Ok(Some(run))
    }

    /// Remembers the payment record a claimed run made, before pay is
    /// asked to charge, so a retry charges under the same key.
    pub async fn set_autopay_payment(
        &self,
        tenant_id: &TenantId,
        bill_id: &BillId,
        bill_payment_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE autopay_runs SET bill_payment_id = $3, updated_at = $4 \
             WHERE tenant_id = $1 AND bill_id = $2",
        )
        .bind(tenant_id.as_str())
        .bind(bill_id.as_str())
        .bind(bill_payment_id)
        .bind(to_micros(Timestamp::now()))
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Settles a claimed run, with a note of what happened; writes the
    /// audit entry in the same transaction.
    pub async fn finish_autopay_run(
        &self,
        tenant_id: &TenantId,
        bill_id: &BillId,
        status: RunStatus,
        detail: &str,
        audit: NewEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE autopay_runs SET status = $3, detail = $4, updated_at = $5 \
             WHERE tenant_id = $1 AND bill_id = $2",
        )
        .bind(tenant_id.as_str())
        .bind(bill_id.as_str())
        .bind(status.code())
        .bind(detail)
        .bind(to_micros(Timestamp::now()))
        .execute(&mut *tx)
        .await?;
        append_in(&mut tx, self.backend, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A bill's autopay run, if it had one.
    pub async fn autopay_run(
        &self,
        tenant_id: &TenantId,
        bill_id: &BillId,
    ) -> Result<Option<(AutopayRun, Option<Timestamp>)>, StoreError> {
        let row = sqlx::query(
            "SELECT bill_id, resident_id, status, bill_payment_id, claimed_at FROM autopay_runs \
             WHERE tenant_id = $1 AND bill_id = $2",
        )
        .bind(tenant_id.as_str())
        .bind(bill_id.as_str())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref()
            .map(|r| {
                use sqlx::Row;
                let claimed_at = r
                    .try_get::<Option<i64>, _>("claimed_at")?
                    .map(from_micros)
                    .transpose()?;
                Ok((read::<RunRow, AutopayRun>(r)?, claimed_at))
            })
            .transpose()
    }
}
