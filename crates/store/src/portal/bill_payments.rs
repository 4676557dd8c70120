//! The portal's record of payments it started for bills. Holds the pay
//! service's payment id, status, card brand and last four digits: never
//! card data.

use crate::rows::{column, parsed, read};
use crate::{Store, StoreError, from_micros, to_micros};
use civicpay_core::payment::PaymentStatus;
use civicpay_core::{BillId, BillReference, BillTypeId, Currency, Money, ResidentId, TenantId};
use civicpay_pay_api::PaymentOutcome;
use sqlx::any::AnyRow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillPayment {
    pub id: String,
    pub tenant_id: TenantId,
    pub bill_id: BillId,
    pub pay_payment_id: Option<String>,
    pub amount: Money,
    pub status: String,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    /// When the payment was credited to the bill, once.
    pub applied_at: Option<jiff::Timestamp>,
    pub created_at: jiff::Timestamp,
    pub updated_at: jiff::Timestamp,
}

/// A `bill_payments` row as stored.
#[derive(sqlx::FromRow)]
struct BillPaymentRow {
    id: String,
    tenant_id: String,
    bill_id: String,
    pay_payment_id: Option<String>,
    amount: i64,
    currency: String,
    status: String,
    card_brand: Option<String>,
    card_last4: Option<String>,
    applied_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<BillPaymentRow> for BillPayment {
    type Error = StoreError;

    fn try_from(row: BillPaymentRow) -> Result<BillPayment, StoreError> {
        let currency = column("currency", &row.currency, Currency::parse)?;
        Ok(BillPayment {
            id: row.id,
            tenant_id: column("tenant_id", &row.tenant_id, TenantId::parse)?,
            bill_id: column("bill_id", &row.bill_id, BillId::parse)?,
            pay_payment_id: row.pay_payment_id,
            amount: Money::from_minor(row.amount, currency),
            status: row.status,
            card_brand: row.card_brand,
            card_last4: row.card_last4,
            applied_at: row.applied_at.map(from_micros).transpose()?,
            created_at: from_micros(row.created_at)?,
            updated_at: from_micros(row.updated_at)?,
        })
    }
}

fn bill_payment_from_row(row: &AnyRow) -> Result<BillPayment, StoreError> {
    read::<BillPaymentRow, BillPayment>(row)
}

/// A payment in a resident's history, with what it paid.
#[derive(Debug, Clone)]
pub struct ResidentPayment {
    pub payment: BillPayment,
    pub bill_type_id: BillTypeId,
    pub reference: BillReference,
}

impl Store {
    pub async fn create_bill_payment(
        &self,
        tenant_id: &TenantId,
        bill_id: &BillId,
        amount: Money,
        resident: Option<&ResidentId>,
    ) -> Result<String, StoreError> {
        let id = uuid::Uuid::now_v7().to_string();
        let now = to_micros(jiff::Timestamp::now());
        sqlx::query(
            "INSERT INTO bill_payments (id, tenant_id, bill_id, amount, currency, status, resident_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, 'creating', $7, $6, $6)",
        )
        .bind(id.as_str())
        .bind(tenant_id.as_str())
        .bind(bill_id.as_str())
        .bind(amount.minor())
        .bind(amount.currency().code())
        .bind(now)
        .bind(resident.map(ResidentId::as_str))
        .execute(self.writer())
        .await?;
        Ok(id)
    }

    pub async fn attach_pay_payment(
        &self,
        tenant_id: &TenantId,
        id: &str,
        pay_payment_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE bill_payments SET pay_payment_id = $3, status = 'created', updated_at = $4
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id.as_str())
        .bind(id)
        .bind(pay_payment_id)
        .bind(to_micros(jiff::Timestamp::now()))
        .execute(self.writer())
        .await?;
        Ok(())
    }

    pub async fn bill_payment(
        &self,
        tenant_id: &TenantId,
        id: &str,
    ) -> Result<Option<BillPayment>, StoreError> {
        let row = sqlx::query(
            "SELECT id, tenant_id, bill_id, pay_payment_id, amount, currency, status, card_brand, card_last4,
                    applied_at, created_at, updated_at
             FROM bill_payments WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id.as_str())
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(bill_payment_from_row).transpose()
    }

    /// Records what pay said; a first `success` adds the captured amount to
    /// the bill in the same transaction. Returns true if this call applied
    /// it. Calling again (a second return, a webhook) applies nothing more.
    pub async fn record_pay_outcome(
        &self,
        tenant_id: &TenantId,
        id: &str,
        outcome: &PaymentOutcome,
    ) -> Result<bool, StoreError> {
        let now = to_micros(jiff::Timestamp::now());
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE bill_payments SET status = $3, card_brand = COALESCE($4, card_brand),
                 card_last4 = COALESCE($5, card_last4), payer_email = COALESCE($7, payer_email),
                 updated_at = $6
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id.as_str())
        .bind(id)
        .bind(outcome.status.code())
        .bind(outcome.card.as_ref().and_then(|c| c.brand.as_deref()))
        .bind(outcome.card.as_ref().map(|c| c.last4.as_str()))
        .bind(now)
        .bind(outcome.email.as_deref().map(str::to_lowercase))
        .execute(&mut *tx)
        .await?;
        let mut applied = false;
        if outcome.status == PaymentStatus::Success && outcome.captured.minor() > 0 {
            let claimed = sqlx::query(
                "UPDATE bill_payments SET applied_at = $3 WHERE tenant_id = $1 AND id = $2 AND applied_at IS NULL",
            )
            .bind(tenant_id.as_str())
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed == 1 {
                sqlx::query(
                    "UPDATE bills SET amount_paid = amount_paid + $3, updated_at = $4
                     WHERE tenant_id = $1 AND id = (SELECT bill_id FROM bill_payments WHERE tenant_id = $1 AND id = $2)",
                )
                .bind(tenant_id.as_str())
                .bind(id)
                // The fee is the city's charge for the card, not the bill's.
                .bind((outcome.captured.minor() - outcome.fee.minor()).max(0))
                .bind(now)
                .execute(&mut *tx)
                .await?;
                crate::portal::back_office::queue_payment_credited(
                    &mut tx,
                    tenant_id,
                    id,
                    (
                        Money::from_minor(
                            (outcome.captured.minor() - outcome.fee.minor()).max(0),
                            outcome.captured.currency(),
                        ),
                        outcome.fee,
                    ),
                    now,
                )
                .await?;
                applied = true;
            }
        }
        tx.commit().await?;
        Ok(applied)
    }

    /// Every finished payment a resident made: signed in, or as a guest
    /// with `verified_email` (only ever an address the account proved).
    /// Newest first.
    pub async fn resident_payments(
        &self,
        tenant_id: &TenantId,
        resident: &ResidentId,
        verified_email: Option<&str>,
    ) -> Result<Vec<ResidentPayment>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.id, p.tenant_id, p.bill_id, p.pay_payment_id, p.amount, p.currency, p.status,
                    p.card_brand, p.card_last4, p.applied_at, p.created_at, p.updated_at,
                    b.bill_type_id, b.reference
             FROM bill_payments p JOIN bills b ON b.tenant_id = p.tenant_id AND b.id = p.bill_id
             WHERE p.tenant_id = $1 AND (p.resident_id = $2 OR p.payer_email = $3)
               AND p.status NOT IN ('creating', 'created')
             ORDER BY p.created_at DESC, p.id",
        )
        .bind(tenant_id.as_str())
        .bind(resident.as_str())
        .bind(verified_email.map(str::to_lowercase))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ResidentPayment {
                    payment: bill_payment_from_row(r)?,
                    bill_type_id: parsed(r, "bill_type_id", BillTypeId::parse)?,
                    reference: parsed(r, "reference", BillReference::parse)?,
                })
            })
            .collect()
    }
}
