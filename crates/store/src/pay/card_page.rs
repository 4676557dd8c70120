//! The one-time link to the card page and the browser session it starts.

use super::PayStore;
use super::payments::payment_from_row;
use crate::rows::parsed;
use crate::{StoreError, to_micros};
use civicpay_core::payment::Payment;
use civicpay_core::{PaymentId, TenantId};

/// Why a card-page link did not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    Unknown,
    AlreadyUsed,
    Expired,
}

impl PayStore {
    /// Spends the one-time link: marks it used and binds the payment to the
    /// browser session whose hash is given. Looked up by the link's hash
    /// alone (a 256-bit secret), like an API key.
    pub async fn open_card_link(
        &self,
        token_hash: &str,
        session_hash: &str,
        now: jiff::Timestamp,
    ) -> Result<Result<(TenantId, PaymentId), LinkRefusal>, StoreError> {
        let opened = sqlx::query(
            "UPDATE payments SET next_token_used_at = $3, card_session_hash = $2
             WHERE next_token_hash = $1 AND next_token_used_at IS NULL AND expires_at > $3
             RETURNING tenant_id, id",
        )
        .bind(token_hash)
        .bind(session_hash)
        .bind(to_micros(now))
        .fetch_optional(self.db.writer())
        .await?;
        if let Some(row) = opened {
            return Ok(Ok((
                parsed(&row, "tenant_id", TenantId::parse)?,
                parsed(&row, "id", PaymentId::parse)?,
            )));
        }
        let known = sqlx::query(
            "SELECT next_token_used_at, expires_at FROM payments WHERE next_token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(self.db.pool())
        .await?;
        Ok(Err(match known {
            None => LinkRefusal::Unknown,
            Some(row) if row_used(&row)? => LinkRefusal::AlreadyUsed,
            Some(_) => LinkRefusal::Expired,
        }))
    }

    /// The payment, if this browser session is the one its link opened.
    pub async fn payment_for_card_session(
        &self,
        tenant_id: &TenantId,
        id: &PaymentId,
        session_hash: &str,
    ) -> Result<Option<Payment>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            super::payments::payment_columns!(),
            "
             FROM payments WHERE tenant_id = $1 AND id = $2 AND card_session_hash = $3"
        ))
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .bind(session_hash)
        .fetch_optional(self.db.pool())
        .await?
        .as_ref()
        .map(payment_from_row)
        .transpose()
    }
}

fn row_used(row: &sqlx::any::AnyRow) -> Result<bool, StoreError> {
    use sqlx::Row;
    Ok(row
        .try_get::<Option<i64>, _>("next_token_used_at")?
        .is_some())
}
