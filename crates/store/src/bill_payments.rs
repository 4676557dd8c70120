//! The portal's record of payments it started for bills. Holds the pay
//! service's payment id, status, card brand and last four digits: never
//! card data.

use crate::rows::{int, opt_text, parsed, text};
use crate::{Store, StoreError, from_micros, to_micros};
use civicpay_core::{BillId, Currency, Money, TenantId};

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

/// What the pay service said about a payment.
#[derive(Debug, Clone)]
pub struct PayOutcome {
    pub status: String,
    pub captured: i64,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
}

impl Store {
    pub async fn create_bill_payment(
        &self,
        tenant_id: &TenantId,
        bill_id: &BillId,
        amount: Money,
    ) -> Result<String, StoreError> {
        let id = uuid::Uuid::now_v7().to_string();
        let now = to_micros(jiff::Timestamp::now());
        sqlx::query(
            "INSERT INTO bill_payments (id, tenant_id, bill_id, amount, currency, status, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, 'creating', $6, $6)",
        )
        .bind(id.as_str())
        .bind(tenant_id.as_str())
        .bind(bill_id.as_str())
        .bind(amount.minor())
        .bind(amount.currency().code())
        .bind(now)
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
        row.map(|r| {
            let currency = parsed(&r, "currency", Currency::parse)?;
            Ok(BillPayment {
                id: text(&r, "id")?,
                tenant_id: parsed(&r, "tenant_id", TenantId::parse)?,
                bill_id: parsed(&r, "bill_id", BillId::parse)?,
                pay_payment_id: opt_text(&r, "pay_payment_id")?,
                amount: Money::from_minor(int(&r, "amount")?, currency),
                status: text(&r, "status")?,
                card_brand: opt_text(&r, "card_brand")?,
                card_last4: opt_text(&r, "card_last4")?,
                applied_at: {
                    use sqlx::Row;
                    r.try_get::<Option<i64>, _>("applied_at")?
                        .map(from_micros)
                        .transpose()?
                },
                created_at: from_micros(int(&r, "created_at")?)?,
                updated_at: from_micros(int(&r, "updated_at")?)?,
            })
        })
        .transpose()
    }

    /// Records what pay said; a first `success` adds the captured amount to
    /// the bill in the same transaction. Returns true if this call applied
    /// it. Calling again (a second return, a webhook) applies nothing more.
    pub async fn record_pay_outcome(
        &self,
        tenant_id: &TenantId,
        id: &str,
        outcome: &PayOutcome,
    ) -> Result<bool, StoreError> {
        let now = to_micros(jiff::Timestamp::now());
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE bill_payments SET status = $3, card_brand = COALESCE($4, card_brand),
                 card_last4 = COALESCE($5, card_last4), updated_at = $6
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id.as_str())
        .bind(id)
        .bind(outcome.status.as_str())
        .bind(outcome.card_brand.as_deref())
        .bind(outcome.card_last4.as_deref())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let mut applied = false;
        if outcome.status == "success" && outcome.captured > 0 {
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
                .bind(outcome.captured)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                applied = true;
            }
        }
        tx.commit().await?;
        Ok(applied)
    }
}
