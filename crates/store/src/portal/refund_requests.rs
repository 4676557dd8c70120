//! Refunds asked for in the staff console. One at or under the city's
//! threshold is issued at once; one above waits here until someone else
//! with the supervisor's power approves it. The decision is a single
//! conditional UPDATE, so two approvers racing cannot both win and the
//! requester's own id can never be the approver's.

use crate::audit_log::append_in;
use crate::rows::{column, int, opt_column, opt_int, read};
use crate::{Store, StoreError, from_micros, to_micros};
use civicpay_audit::NewEntry;
use civicpay_core::staff::{RefundExposure, RefundLimits, needs_approval};
use civicpay_core::{Currency, Money, RefundRequestId, StaffId, TenantId};
use jiff::Timestamp;
use sqlx::any::AnyRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundRequestStatus {
    Pending,
    Approved,
    Rejected,
    Issued,
    Failed,
}

impl RefundRequestStatus {
    pub fn code(self) -> &'static str {
        match self {
            RefundRequestStatus::Pending => "pending",
            RefundRequestStatus::Approved => "approved",
            RefundRequestStatus::Rejected => "rejected",
            RefundRequestStatus::Issued => "issued",
            RefundRequestStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Self, String> {
        [
            RefundRequestStatus::Pending,
            RefundRequestStatus::Approved,
            RefundRequestStatus::Rejected,
            RefundRequestStatus::Issued,
            RefundRequestStatus::Failed,
        ]
        .into_iter()
        .find(|x| x.code() == s)
        .ok_or_else(|| format!("unknown refund request status {s:?}"))
    }
}

#[derive(Debug, Clone)]
pub struct RefundRequest {
    pub id: RefundRequestId,
    pub pay_payment_id: String,
    pub amount: Money,
    pub reason: String,
    pub status: RefundRequestStatus,
    pub requested_by: StaffId,
    pub requested_at: Timestamp,
    pub decided_by: Option<StaffId>,
    pub pay_refund_id: Option<String>,
    pub failure: Option<String>,
}

const COLUMNS: &str = "id, pay_payment_id, amount, currency, reason, status, requested_by, \
     requested_at, decided_by, pay_refund_id, failure";

/// A `refund_requests` row as stored.
#[derive(sqlx::FromRow)]
struct RefundRequestRow {
    id: String,
    pay_payment_id: String,
    amount: i64,
    currency: String,
    reason: String,
    status: String,
    requested_by: String,
    requested_at: i64,
    decided_by: Option<String>,
    pay_refund_id: Option<String>,
    failure: Option<String>,
}

impl TryFrom<RefundRequestRow> for RefundRequest {
    type Error = StoreError;

    fn try_from(row: RefundRequestRow) -> Result<RefundRequest, StoreError> {
        let currency = column("currency", &row.currency, Currency::parse)?;
        Ok(RefundRequest {
            id: column("id", &row.id, RefundRequestId::parse)?,
            pay_payment_id: row.pay_payment_id,
            amount: Money::from_minor(row.amount, currency),
            reason: row.reason,
            status: column("status", &row.status, RefundRequestStatus::parse)?,
            requested_by: column("requested_by", &row.requested_by, StaffId::parse)?,
            requested_at: from_micros(row.requested_at)?,
            decided_by: opt_column("decided_by", row.decided_by.as_deref(), StaffId::parse)?,
            pay_refund_id: row.pay_refund_id,
            failure: row.failure,
        })
    }
}

fn from_row(row: &AnyRow) -> Result<RefundRequest, StoreError> {
    read::<RefundRequestRow, RefundRequest>(row)
}

/// What a new request says.
pub struct NewRefundRequest<'a> {
    pub pay_payment_id: &'a str,
    pub amount: Money,
    pub reason: &'a str,
    pub requested_by: &'a StaffId,
    /// What pay says is already refunded on the payment.
    pub refunded_before: Money,
    /// When the city's day began, for the requester's daily total.
    pub day_began: Timestamp,
}

impl Store {
    /// Records a request and decides, in the same transaction, whether it
    /// needs a second person: the city's limits are compared with everything
    /// refunded or waiting on this payment and with what the requester put
    /// through alone today, so parallel or split requests cannot slip under
    /// them. Returns the request's id and its status (`Approved` to issue
    /// now, `Pending` to wait); `audit` learns whether it waits.
    pub async fn create_refund_request(
        &self,
        tenant: &TenantId,
        request: NewRefundRequest<'_>,
        audit: impl FnOnce(&RefundRequestId, bool) -> NewEntry,
    ) -> Result<(RefundRequestId, RefundRequestStatus), StoreError> {
        let id = RefundRequestId::generate();
        let mut tx = self.begin_write().await?;
        // One city's requests are decided one at a time.
        let limits = sqlx::query(for_update!(
            self.backend,
            "SELECT refund_approval_threshold, refund_daily_limit_per_staff FROM tenants WHERE id = $1"
        ))
        .bind(tenant.as_str())
        .fetch_one(&mut *tx)
        .await?;
        let limits = limits_from_row(&limits)?;
        let waiting = sqlx::query(
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS total FROM refund_requests \
             WHERE tenant_id = $1 AND pay_payment_id = $2 AND status IN ('pending', 'approved')",
        )
        .bind(tenant.as_str())
        .bind(request.pay_payment_id)
        .fetch_one(&mut *tx)
        .await?;
        let alone_today = sqlx::query(
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS total FROM refund_requests \
             WHERE tenant_id = $1 AND requested_by = $2 AND requested_at >= $3 \
               AND status IN ('approved', 'issued') AND decided_by IS NULL",
        )
        .bind(tenant.as_str())
        .bind(request.requested_by.as_str())
        .bind(to_micros(request.day_began))
        .fetch_one(&mut *tx)
        .await?;
        let waits = needs_approval(
            RefundExposure {
                amount: request.amount.minor(),
                on_payment_before: request
                    .refunded_before
                    .minor()
                    .saturating_add(int(&waiting, "total")?),
                by_requester_today_before: int(&alone_today, "total")?,
            },
            limits,
        );
        let status = if waits {
            RefundRequestStatus::Pending
        } else {
            RefundRequestStatus::Approved
        };
        sqlx::query(
            "INSERT INTO refund_requests (id, tenant_id, pay_payment_id, amount, currency, reason, status, requested_by, requested_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id.as_str())
        .bind(tenant.as_str())
        .bind(request.pay_payment_id)
        .bind(request.amount.minor())
        .bind(request.amount.currency().code())
        .bind(request.reason)
        .bind(status.code())
        .bind(request.requested_by.as_str())
        .bind(to_micros(Timestamp::now()))
        .execute(&mut *tx)
        .await?;
        append_in(&mut tx, self.backend, audit(&id, waits)).await?;
        tx.commit().await?;
        Ok((id, status))
    }

    pub async fn refund_request(
        &self,
        tenant: &TenantId,
        id: &RefundRequestId,
    ) -> Result<Option<RefundRequest>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM refund_requests WHERE tenant_id = $1 AND id = $2"
        )))
        .bind(tenant.as_str())
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Requests for one payment, or (with `payment = None`) all pending ones.
    pub async fn refund_requests(
        &self,
        tenant: &TenantId,
        payment: Option<&str>,
    ) -> Result<Vec<RefundRequest>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM refund_requests \
             WHERE tenant_id = $1 AND (($2 = '' AND status = 'pending') OR pay_payment_id = $2) \
             ORDER BY requested_at"
        )))
        .bind(tenant.as_str())
        .bind(payment.unwrap_or(""))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Approves or rejects a pending request by someone other than its
    /// requester; false if it was not pending or the approver asked for it.
    pub async fn decide_refund_request(
        &self,
        tenant: &TenantId,
        id: &RefundRequestId,
        decided_by: &StaffId,
        approve: bool,
        audit: NewEntry,
    ) -> Result<bool, StoreError> {
        let status = if approve {
            RefundRequestStatus::Approved
        } else {
            RefundRequestStatus::Rejected
        };
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE refund_requests SET status = $4, decided_by = $3, decided_at = $5 \
             WHERE tenant_id = $1 AND id = $2 AND status = 'pending' AND requested_by <> $3",
        )
        .bind(tenant.as_str())
        .bind(id.as_str())
        .bind(decided_by.as_str())
        .bind(status.code())
        .bind(to_micros(Timestamp::now()))
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Ok(false);
        }
        append_in(&mut tx, self.backend, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records what pay answered for an approved request.
    pub async fn finish_refund_request(
        &self,
        tenant: &TenantId,
        id: &RefundRequestId,
        outcome: Result<&str, &str>,
        audit: NewEntry,
    ) -> Result<(), StoreError> {
        let (status, refund_id, failure) = match outcome {
            Ok(refund) => (RefundRequestStatus::Issued, Some(refund), None),
            Err(why) => (RefundRequestStatus::Failed, None, Some(why)),
        };
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE refund_requests SET status = $3, pay_refund_id = $4, failure = $5 \
             WHERE tenant_id = $1 AND id = $2 AND status = 'approved'",
        )
        .bind(tenant.as_str())
        .bind(id.as_str())
        .bind(status.code())
        .bind(refund_id)
        .bind(failure)
        .execute(&mut *tx)
        .await?;
        append_in(&mut tx, self.backend, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn refund_limits(&self, tenant: &TenantId) -> Result<RefundLimits, StoreError> {
        let row = sqlx::query(
            "SELECT refund_approval_threshold, refund_daily_limit_per_staff FROM tenants WHERE id = $1",
        )
        .bind(tenant.as_str())
        .fetch_one(&self.pool)
        .await?;
        limits_from_row(&row)
    }

    pub async fn set_refund_limits(
        &self,
        tenant: &TenantId,
        limits: RefundLimits,
        audit: NewEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE tenants SET refund_approval_threshold = $2, refund_daily_limit_per_staff = $3 WHERE id = $1",
        )
        .bind(tenant.as_str())
        .bind(limits.threshold)
        .bind(limits.per_staff_daily)
        .execute(&mut *tx)
        .await?;
        append_in(&mut tx, self.backend, audit).await?;
        tx.commit().await?;
        Ok(())
    }
}

fn limits_from_row(row: &AnyRow) -> Result<RefundLimits, StoreError> {
    Ok(RefundLimits {
        threshold: int(row, "refund_approval_threshold")?,
        per_staff_daily: opt_int(row, "refund_daily_limit_per_staff")?,
    })
}
