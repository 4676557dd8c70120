//! Refunds, with the refundable balance checked and reserved under the
//! payment's row lock: concurrent refunds can never add up to more than
//! was captured (and the schema's CHECK says so again).

use super::PayStore;
use crate::rows::{int, parsed, text};
use crate::{StoreError, from_micros, to_micros};
use civicpay_core::fee::ChargedFee;
use civicpay_core::{Currency, Money, PaymentId, RefundId, TenantId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub id: RefundId,
    pub payment_id: PaymentId,
    pub amount: Money,
    pub status: String,
    pub created_at: jiff::Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundRefusal {
    PaymentNotFound,
    NotCaptured,
    /// More than what is left to refund; says how much is left.
    ExceedsRefundable {
        available: i64,
    },
    /// The idempotency key names a refund of another amount or payment.
    KeyReused,
}

fn refund_from_row(row: &sqlx::any::AnyRow, currency: Currency) -> Result<Refund, StoreError> {
    Ok(Refund {
        id: parsed(row, "id", RefundId::parse)?,
        payment_id: parsed(row, "payment_id", PaymentId::parse)?,
        amount: Money::from_minor(int(row, "amount")?, currency),
        status: text(row, "status")?,
        created_at: from_micros(int(row, "created_at")?)?,
    })
}

impl PayStore {
    /// Reserves a refund of `amount` on a captured payment. The caller then
    /// asks the acquirer and finishes it with [`PayStore::finish_refund`].
    pub async fn reserve_refund(
        &self,
        tenant_id: &TenantId,
        payment_id: &PaymentId,
        amount: i64,
        idempotency_key: Option<&str>,
    ) -> Result<Result<Refund, RefundRefusal>, StoreError> {
        let now = to_micros(jiff::Timestamp::now());
        let mut tx = self.db.begin_write().await?;
        let lock = for_update!(
            self.db.backend(),
            "SELECT status, currency, captured_amount, refunded_amount, fee_amount, fee_gl_code, fee_refundable
             FROM payments WHERE tenant_id = $1 AND id = $2"
        );
        let Some(payment) = sqlx::query(lock)
            .bind(tenant_id.as_str())
            .bind(payment_id.as_str())
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(Err(RefundRefusal::PaymentNotFound));
        };
        let currency = parsed(&payment, "currency", Currency::parse)?;
        if let Some(key) = idempotency_key {
            let earlier = sqlx::query(
                "SELECT id, payment_id, amount, status, created_at FROM refunds WHERE tenant_id = $1 AND idempotency_key = $2",
            )
            .bind(tenant_id.as_str())
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = earlier {
                let refund = refund_from_row(&row, currency)?;
                tx.rollback().await?;
                if refund.payment_id != *payment_id || refund.amount.minor() != amount {
                    return Ok(Err(RefundRefusal::KeyReused));
                }
                return Ok(Ok(refund));
            }
        }
        if text(&payment, "status")? != "success" {
            return Ok(Err(RefundRefusal::NotCaptured));
        }
        // A fee the city keeps is not refundable.
        let fee = super::ledger::charged_fee(&payment, currency)?;
        let captured = Money::from_minor(int(&payment, "captured_amount")?, currency);
        let available = ChargedFee::refundable_of(fee.as_ref(), captured).minor()
            - int(&payment, "refunded_amount")?;
        if amount <= 0 || amount > available {
            return Ok(Err(RefundRefusal::ExceedsRefundable { available }));
        }
        let refund = Refund {
            id: RefundId::generate(),
            payment_id: payment_id.clone(),
            amount: Money::from_minor(amount, currency),
            status: "submitted".into(),
            created_at: from_micros(now)?,
        };
        sqlx::query("UPDATE payments SET refunded_amount = refunded_amount + $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id.as_str())
            .bind(payment_id.as_str())
            .bind(amount)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO refunds (id, tenant_id, payment_id, amount, status, idempotency_key, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 'submitted', $5, $6, $6)",
        )
        .bind(refund.id.as_str())
        .bind(tenant_id.as_str())
        .bind(payment_id.as_str())
        .bind(amount)
        .bind(idempotency_key)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        super::money_trail::refund_event(
            &mut tx,
            self.db.backend(),
            tenant_id,
            refund.id.as_str(),
            payment_id.as_str(),
            amount,
            "submitted",
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(refund))
    }

    /// Records the acquirer's answer; a failed refund gives its reserved
    /// amount back. Only a `submitted` refund changes.
    pub async fn finish_refund(
        &self,
        tenant_id: &TenantId,
        refund_id: &RefundId,
        succeeded: bool,
    ) -> Result<(), StoreError> {
        let now = to_micros(jiff::Timestamp::now());
        let mut tx = self.db.begin_write().await?;
        let status = if succeeded { "success" } else { "error" };
        let updated = sqlx::query("UPDATE refunds SET status = $3, updated_at = $4, recovery_claimed_until = NULL, attention_reason = NULL, attention_at = NULL
             WHERE tenant_id = $1 AND id = $2 AND status = 'submitted'")
            .bind(tenant_id.as_str())
            .bind(refund_id.as_str())
            .bind(status)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if updated == 1 {
            let row = sqlx::query(
                "SELECT payment_id, amount FROM refunds WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant_id.as_str())
            .bind(refund_id.as_str())
            .fetch_one(&mut *tx)
            .await?;
            super::money_trail::refund_event(
                &mut tx,
                self.db.backend(),
                tenant_id,
                refund_id.as_str(),
                &text(&row, "payment_id")?,
                int(&row, "amount")?,
                status,
            )
            .await?;
        }
        if updated == 1 && succeeded {
            let row = sqlx::query(
                "SELECT r.payment_id, r.amount, p.currency, p.allocations, p.captured_amount,
                        p.fee_amount, p.fee_gl_code, p.fee_refundable
                 FROM refunds r
                 JOIN payments p ON p.id = r.payment_id AND p.tenant_id = r.tenant_id
                 WHERE r.tenant_id = $1 AND r.id = $2",
            )
            .bind(tenant_id.as_str())
            .bind(refund_id.as_str())
            .fetch_one(&mut *tx)
            .await?;
            let amount = Money::from_minor(
                int(&row, "amount")?,
                parsed(&row, "currency", Currency::parse)?,
            );
            let weights = super::ledger::allocation_weights(&text(&row, "allocations")?, amount);
            let captured = Money::from_minor(int(&row, "captured_amount")?, amount.currency());
            let fee = super::ledger::charged_fee(&row, amount.currency())?;
            let entry = civicpay_core::payment::JournalEntry::refund(
                amount,
                fee.as_ref()
                    .map(|f| (&f.gl_code, f.share_of_refund(amount, captured))),
                &weights,
            )
            .map_err(|e| StoreError::corrupt("ledger entry", e))?;
            let payment_id = parsed(&row, "payment_id", PaymentId::parse)?;
            super::ledger::write_entry(
                &mut tx,
                self.db.backend(),
                tenant_id,
                &payment_id,
                Some(refund_id.as_str()),
                &entry,
            )
            .await?;
        }
        if updated == 1 && !succeeded {
            sqlx::query(
                "UPDATE payments SET refunded_amount = refunded_amount - (SELECT amount FROM refunds WHERE tenant_id = $1 AND id = $2), updated_at = $3
                 WHERE tenant_id = $1 AND id = (SELECT payment_id FROM refunds WHERE tenant_id = $1 AND id = $2)",
            )
            .bind(tenant_id.as_str())
            .bind(refund_id.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn refunds(
        &self,
        tenant_id: &TenantId,
        payment_id: &PaymentId,
    ) -> Result<Vec<Refund>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, r.payment_id, r.amount, r.status, r.created_at, p.currency
             FROM refunds r JOIN payments p ON p.id = r.payment_id AND p.tenant_id = r.tenant_id
             WHERE r.tenant_id = $1 AND r.payment_id = $2 ORDER BY r.created_at, r.id",
        )
        .bind(tenant_id.as_str())
        .bind(payment_id.as_str())
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let currency = parsed(r, "currency", Currency::parse)?;
                refund_from_row(r, currency)
            })
            .collect()
    }
}
