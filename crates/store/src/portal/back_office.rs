//! Notices to a city's back office: queued in the transaction that credits
//! a bill (so a credit is never without its notice, nor a notice without
//! its credit), then delivered by the jobs runner until the back office
//! takes each one. Delivery is at least once; the notice id is the same on
//! every attempt.

use crate::portal::bill_types::BillTypeRow;
use crate::portal::bills::BillRow;
use crate::rows::{int, json_column, read, text};
use crate::{Store, StoreError, from_micros, to_micros};
use civicpay_core::back_office::PaymentCredited;
use civicpay_core::fee::FeePolicy;
use civicpay_core::{Bill, BillType, Money, TenantId};
use jiff::Timestamp;
use sqlx::Row;

/// A notice waiting for its back office.
#[derive(Debug, Clone)]
pub struct BackOfficeNotice {
    pub id: String,
    pub event: String,
    /// The JSON sent, byte for byte the same on each attempt.
    pub body: String,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    pub created_at: Timestamp,
    /// Why the last attempt failed, if one did.
    pub last_error: Option<String>,
}

/// Queues the `payment.credited` notice for a bill payment just credited,
/// on the crediting transaction, if the city has a back office to tell.
pub(crate) async fn queue_payment_credited(
    tx: &mut sqlx::AnyConnection,
    tenant_id: &TenantId,
    bill_payment_id: &str,
    payment: (Money, Money),
    now: i64,
) -> Result<(), StoreError> {
    let city = sqlx::query("SELECT slug, fees, back_office_webhook FROM tenants WHERE id = $1")
        .bind(tenant_id.as_str())
        .fetch_one(&mut *tx)
        .await?;
    let webhook: Option<String> = city.try_get("back_office_webhook")?;
    if webhook.is_none() {
        return Ok(());
    }
    let fees: Option<String> = city.try_get("fees")?;
    let fees: Option<FeePolicy> = fees
        .as_deref()
        .map(|f| json_column("fees", f))
        .transpose()?;
    let bill: Bill = read::<BillRow, Bill>(
        &sqlx::query(
            "SELECT b.id, b.tenant_id, b.bill_type_id, b.external_id, b.reference, b.verification_key,
                    b.payer_name, b.postal_address, b.email, b.line_items, b.currency, b.amount_due,
                    b.amount_paid, b.due_date, b.created_at, b.updated_at,
                    CAST(CASE WHEN b.cancelled THEN 1 ELSE 0 END AS BIGINT) AS cancelled
             FROM bills b JOIN bill_payments p ON p.tenant_id = b.tenant_id AND p.bill_id = b.id
             WHERE b.tenant_id = $1 AND p.id = $2",
        )
        .bind(tenant_id.as_str())
        .bind(bill_payment_id)
        .fetch_one(&mut *tx)
        .await?,
    )?;
    let bill_type: BillType = read::<BillTypeRow, BillType>(
        &sqlx::query(
            "SELECT id, tenant_id, slug, kind, name, reference_label, verification, gl_code, fees, partial, active
             FROM bill_types WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id.as_str())
        .bind(bill.bill_type_id.as_str())
        .fetch_one(&mut *tx)
        .await?,
    )?;
    let pay_payment_id: Option<String> = sqlx::query_scalar(
        "SELECT pay_payment_id FROM bill_payments WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant_id.as_str())
    .bind(bill_payment_id)
    .fetch_one(&mut *tx)
    .await?;
    let (credited, fee) = payment;
    let id = uuid::Uuid::now_v7().to_string();
    let notice = PaymentCredited::new(
        id.clone(),
        &text(&city, "slug")?,
        &bill,
        &bill_type,
        pay_payment_id.as_deref().unwrap_or(bill_payment_id),
        credited,
        fee,
        fees.as_ref().map(|f| f.gl_code.as_str()),
        from_micros(now)?,
    );
    let body =
        serde_json::to_string(&notice).map_err(|e| StoreError::corrupt("back-office notice", e))?;
    sqlx::query(
        "INSERT INTO back_office_notices (id, tenant_id, event, body, created_at, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(&id)
    .bind(tenant_id.as_str())
    .bind(PaymentCredited::EVENT)
    .bind(&body)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

impl Store {
    /// A city's notices due for an attempt, oldest first.
    pub async fn due_back_office_notices(
        &self,
        tenant_id: &TenantId,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<BackOfficeNotice>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, event, body, attempts, next_attempt_at, created_at, last_error FROM back_office_notices
             WHERE tenant_id = $1 AND delivered_at IS NULL AND next_attempt_at <= $2
             ORDER BY created_at, id LIMIT $3",
        )
        .bind(tenant_id.as_str())
        .bind(to_micros(now))
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(notice_from_row).collect()
    }

    /// The city's notices not yet taken, oldest first (the first 500):
    /// what staff look at when a back office has been away.
    pub async fn undelivered_back_office_notices(
        &self,
        tenant_id: &TenantId,
    ) -> Result<Vec<BackOfficeNotice>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, event, body, attempts, next_attempt_at, created_at, last_error FROM back_office_notices
             WHERE tenant_id = $1 AND delivered_at IS NULL ORDER BY created_at, id LIMIT 500",
        )
        .bind(tenant_id.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(notice_from_row).collect()
    }

    /// Takes a due notice for one attempt: it is not due again until
    /// `lease_until`, so two runners do not send it at once. False if
    /// another runner took it first.
    pub async fn claim_back_office_notice(
        &self,
        tenant_id: &TenantId,
        notice: &BackOfficeNotice,
        lease_until: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE back_office_notices SET next_attempt_at = $4, attempts = attempts + 1
             WHERE tenant_id = $1 AND id = $2 AND next_attempt_at = $3 AND delivered_at IS NULL",
        )
        .bind(tenant_id.as_str())
        .bind(&notice.id)
        .bind(to_micros(notice.next_attempt_at))
        .bind(to_micros(lease_until))
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records what became of an attempt: taken, or refused with why and
    /// when to try again.
    pub async fn finish_back_office_attempt(
        &self,
        tenant_id: &TenantId,
        id: &str,
        outcome: Result<Timestamp, (String, Timestamp)>,
    ) -> Result<(), StoreError> {
        let query = match &outcome {
            Ok(at) => sqlx::query(
                "UPDATE back_office_notices SET delivered_at = $3, last_error = NULL
                 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant_id.as_str())
            .bind(id)
            .bind(to_micros(*at)),
            Err((error, retry_at)) => sqlx::query(
                "UPDATE back_office_notices SET last_error = $3, next_attempt_at = $4
                 WHERE tenant_id = $1 AND id = $2 AND delivered_at IS NULL",
            )
            .bind(tenant_id.as_str())
            .bind(id)
            .bind(error.clone())
            .bind(to_micros(*retry_at)),
        };
        query.execute(self.writer()).await?;
        Ok(())
    }
}

fn notice_from_row(row: &sqlx::any::AnyRow) -> Result<BackOfficeNotice, StoreError> {
    Ok(BackOfficeNotice {
        id: text(row, "id")?,
        event: text(row, "event")?,
        body: text(row, "body")?,
        attempts: u32::try_from(int(row, "attempts")?).unwrap_or(u32::MAX),
        next_attempt_at: from_micros(int(row, "next_attempt_at")?)?,
        created_at: from_micros(int(row, "created_at")?)?,
        last_error: row.try_get("last_error")?,
    })
}
