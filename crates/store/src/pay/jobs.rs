//! Work lists for the pay service's background jobs. These scan across
//! cities, as platform jobs do; each item names its city, and every change
//! made from it goes through the tenant-scoped functions.

use super::PayStore;
use crate::rows::{int, opt_text, parsed, text};
use crate::{StoreError, from_micros, to_micros};
use civicpay_core::payment::{Payment, PaymentStatus, Waiting};
use civicpay_core::{Currency, Money, PaymentId, RefundId, TenantId};
use civicpay_pay_api::{AttentionAlarm, WebhookBody};

/// A payment that waits on the acquirer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwaitingOutcome {
    pub tenant_id: TenantId,
    pub payment_id: PaymentId,
    pub status: PaymentStatus,
    pub amount: Money,
    pub attempts: i64,
    /// When it entered the state it waits in.
    pub submitted_at: jiff::Timestamp,
    /// Already flagged for a person (the alarm is raised once).
    pub attention: Option<String>,
}

/// A refund that waits on the acquirer, with its amount still reserved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundAwaitingOutcome {
    pub tenant_id: TenantId,
    pub refund_id: RefundId,
    pub payment_id: PaymentId,
    pub amount: Money,
    /// The payment's attempt number: the refund is against that
    /// authorisation at the acquirer.
    pub attempts: i64,
    pub submitted_at: jiff::Timestamp,
    pub attention: Option<String>,
}

/// Which rows a sweep looks at.
fn swept_states() -> [&'static str; 4] {
    Waiting::PAYMENT_STATES.map(PaymentStatus::code)
}

impl PayStore {
    /// Payments in any state that waits on the acquirer
    /// ([`Waiting::PAYMENT_STATES`]), unchanged since `settled_before` and
    /// not claimed by another sweep at `now`, oldest first.
    pub async fn payments_awaiting_outcome(
        &self,
        settled_before: jiff::Timestamp,
        now: jiff::Timestamp,
        limit: i64,
    ) -> Result<Vec<AwaitingOutcome>, StoreError> {
        let [s1, s2, s3, s4] = swept_states();
        sqlx::query(
            "SELECT tenant_id, id, status, amount, currency, attempts, updated_at, attention_reason FROM payments
             WHERE status IN ($1, $2, $3, $4) AND updated_at < $5
               AND (recovery_claimed_until IS NULL OR recovery_claimed_until < $6)
             ORDER BY updated_at LIMIT $7",
        )
        .bind(s1)
        .bind(s2)
        .bind(s3)
        .bind(s4)
        .bind(to_micros(settled_before))
        .bind(to_micros(now))
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|r| {
            let currency = parsed(r, "currency", Currency::parse)?;
            Ok(AwaitingOutcome {
                tenant_id: parsed(r, "tenant_id", TenantId::parse)?,
                payment_id: parsed(r, "id", PaymentId::parse)?,
                status: parsed(r, "status", |s| {
                    PaymentStatus::parse(s).ok_or("unknown status")
                })?,
                amount: Money::from_minor(int(r, "amount")?, currency),
                attempts: int(r, "attempts")?,
                submitted_at: from_micros(int(r, "updated_at")?)?,
                attention: opt_text(r, "attention_reason")?,
            })
        })
        .collect()
    }

    /// Refunds sent to the acquirer whose answer we never recorded.
    pub async fn refunds_awaiting_outcome(
        &self,
        settled_before: jiff::Timestamp,
        now: jiff::Timestamp,
        limit: i64,
    ) -> Result<Vec<RefundAwaitingOutcome>, StoreError> {
        sqlx::query(
            "SELECT r.tenant_id, r.id, r.payment_id, r.amount, p.currency, p.attempts, r.updated_at, r.attention_reason
             FROM refunds r JOIN payments p ON p.id = r.payment_id AND p.tenant_id = r.tenant_id
             WHERE r.status = 'submitted' AND r.updated_at < $1
               AND (r.recovery_claimed_until IS NULL OR r.recovery_claimed_until < $2)
             ORDER BY r.updated_at LIMIT $3",
        )
        .bind(to_micros(settled_before))
        .bind(to_micros(now))
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|r| {
            let currency = parsed(r, "currency", Currency::parse)?;
            Ok(RefundAwaitingOutcome {
                tenant_id: parsed(r, "tenant_id", TenantId::parse)?,
                refund_id: parsed(r, "id", RefundId::parse)?,
                payment_id: parsed(r, "payment_id", PaymentId::parse)?,
                amount: Money::from_minor(int(r, "amount")?, currency),
                attempts: int(r, "attempts")?,
                submitted_at: from_micros(int(r, "updated_at")?)?,
                attention: opt_text(r, "attention_reason")?,
            })
        })
        .collect()
    }

    /// Claims a payment for one sweep until `until`. Exactly one of several
    /// concurrent claimers gets `true`; a claim that lapsed (its instance
    /// died) can be taken over.
    pub async fn claim_payment_for_recovery(
        &self,
        tenant_id: &TenantId,
        id: &PaymentId,
        now: jiff::Timestamp,
        until: jiff::Timestamp,
    ) -> Result<bool, StoreError> {
        let claimed = sqlx::query(
            "UPDATE payments SET recovery_claimed_until = $4
             WHERE tenant_id = $1 AND id = $2
               AND (recovery_claimed_until IS NULL OR recovery_claimed_until < $3)",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .bind(to_micros(now))
        .bind(to_micros(until))
        .execute(self.db.writer())
        .await?
        .rows_affected();
        Ok(claimed == 1)
    }

    /// As [`PayStore::claim_payment_for_recovery`], for a refund.
    pub async fn claim_refund_for_recovery(
        &self,
        tenant_id: &TenantId,
        id: &RefundId,
        now: jiff::Timestamp,
        until: jiff::Timestamp,
    ) -> Result<bool, StoreError> {
        let claimed = sqlx::query(
            "UPDATE refunds SET recovery_claimed_until = $4
             WHERE tenant_id = $1 AND id = $2
               AND (recovery_claimed_until IS NULL OR recovery_claimed_until < $3)",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .bind(to_micros(now))
        .bind(to_micros(until))
        .execute(self.db.writer())
        .await?
        .rows_affected();
        Ok(claimed == 1)
    }

    /// Ends this sweep's claim on a payment it left waiting.
    pub async fn release_payment_claim(
        &self,
        tenant_id: &TenantId,
        id: &PaymentId,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE payments SET recovery_claimed_until = NULL WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    /// Ends this sweep's claim on a refund it left waiting.
    pub async fn release_refund_claim(
        &self,
        tenant_id: &TenantId,
        id: &RefundId,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE refunds SET recovery_claimed_until = NULL WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    /// The payment an acquirer's record names, whichever city it is in:
    /// the orphan sweep starts from the acquirer's side, where only our
    /// reference is known.
    pub async fn payment_for_acquirer_record(
        &self,
        id: &PaymentId,
    ) -> Result<Option<Payment>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            super::payments::payment_columns!(),
            "
             FROM payments WHERE id = $1"
        ))
        .bind(id.as_str())
        .fetch_optional(self.db.pool())
        .await?
        .as_ref()
        .map(super::payments::payment_from_row)
        .transpose()
    }

    /// Flags a waiting payment for a person and queues the alarm to the
    /// city, once: `false` if it was already flagged.
    pub async fn flag_payment_for_attention(
        &self,
        tenant_id: &TenantId,
        id: &PaymentId,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let now = jiff::Timestamp::now();
        let mut tx = self.db.begin_write().await?;
        let flagged = sqlx::query(
            "UPDATE payments SET attention_reason = $3, attention_at = $4
             WHERE tenant_id = $1 AND id = $2 AND attention_reason IS NULL",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .bind(reason)
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if flagged == 1 {
            super::csp_reports::queue_event(
                &mut tx,
                tenant_id,
                id.as_str(),
                WebhookBody::NeedsAttention {
                    alarm: AttentionAlarm {
                        payment_id: id.clone(),
                        refund_id: None,
                        reason: reason.to_owned(),
                        at: now,
                    },
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(flagged == 1)
    }

    /// As [`PayStore::flag_payment_for_attention`], for a refund.
    pub async fn flag_refund_for_attention(
        &self,
        tenant_id: &TenantId,
        id: &RefundId,
        payment_id: &PaymentId,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let now = jiff::Timestamp::now();
        let mut tx = self.db.begin_write().await?;
        let flagged = sqlx::query(
            "UPDATE refunds SET attention_reason = $3, attention_at = $4
             WHERE tenant_id = $1 AND id = $2 AND attention_reason IS NULL",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .bind(reason)
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if flagged == 1 {
            super::csp_reports::queue_event(
                &mut tx,
                tenant_id,
                payment_id.as_str(),
                WebhookBody::NeedsAttention {
                    alarm: AttentionAlarm {
                        payment_id: payment_id.clone(),
                        refund_id: Some(id.clone()),
                        reason: reason.to_owned(),
                        at: now,
                    },
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(flagged == 1)
    }

    /// A city's payments and refunds that a person must look at: flagged
    /// by reconciliation and still not settled.
    pub async fn needing_attention(
        &self,
        tenant_id: &TenantId,
    ) -> Result<Vec<NeedsAttention>, StoreError> {
        sqlx::query(
            "SELECT id AS payment_id, CAST(NULL AS TEXT) AS refund_id, status, amount, currency, attention_reason, attention_at
             FROM payments WHERE tenant_id = $1 AND attention_reason IS NOT NULL
             UNION ALL
             SELECT r.payment_id, r.id, r.status, r.amount, p.currency, r.attention_reason, r.attention_at
             FROM refunds r JOIN payments p ON p.id = r.payment_id AND p.tenant_id = r.tenant_id
             WHERE r.tenant_id = $1 AND r.attention_reason IS NOT NULL
             ORDER BY attention_at",
        )
        .bind(tenant_id.as_str())
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|r| {
            let currency = parsed(r, "currency", Currency::parse)?;
            Ok(NeedsAttention {
                payment_id: parsed(r, "payment_id", PaymentId::parse)?,
                refund_id: opt_text(r, "refund_id")?
                    .map(|id| RefundId::parse(&id).map_err(|e| StoreError::corrupt("refund_id", e)))
                    .transpose()?,
                status: text(r, "status")?,
                amount: Money::from_minor(int(r, "amount")?, currency),
                reason: text(r, "attention_reason")?,
                since: from_micros(int(r, "attention_at")?)?,
            })
        })
        .collect()
    }

    /// Unfinished payments whose time is up and that never reached the
    /// acquirer (created or started).
    pub async fn payments_past_expiry(
        &self,
        now: jiff::Timestamp,
        limit: i64,
    ) -> Result<Vec<(TenantId, PaymentId)>, StoreError> {
        sqlx::query(
            "SELECT tenant_id, id FROM payments
             WHERE status IN ('created', 'started') AND expires_at < $1 ORDER BY expires_at LIMIT $2",
        )
        .bind(to_micros(now))
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|r| Ok((parsed(r, "tenant_id", TenantId::parse)?, parsed(r, "id", PaymentId::parse)?)))
        .collect()
    }
}

/// A payment or refund on the "needs attention" list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedsAttention {
    pub payment_id: PaymentId,
    pub refund_id: Option<RefundId>,
    pub status: String,
    pub amount: Money,
    pub reason: String,
    pub since: jiff::Timestamp,
}
