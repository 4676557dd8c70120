//! Idempotency keys for the API operations that do not create a row of
//! their own to hang the key on (cancel, capture): a request claims its
//! key, runs, and stores its response; a retry gets the stored response.
//! Creating a payment or a refund claims its key inside the transaction
//! that creates the row instead (`create_payment`, `reserve_refund`).

use super::PayStore;
use crate::rows::{int, text};
use crate::{StoreError, to_micros};
use civicpay_core::TenantId;
use std::time::Duration;

/// A claim left unfinished this long (its process died mid-request) may
/// be taken over by a retry.
pub const STALE_CLAIM: Duration = Duration::from_secs(60);

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This request holds the key: run it, then store its response.
    Claimed,
    /// The key's request finished: answer with its response.
    Finished { status_code: u16, body: String },
    /// The key's request is still running.
    InProgress,
    /// The key was used for a different request.
    KeyReused,
}

impl PayStore {
    /// Claims `key` for the request that hashes to `request_hash`.
    pub async fn claim_idempotency_key(
        &self,
        tenant_id: &TenantId,
        key: &str,
        request_hash: &str,
    ) -> Result<Claim, StoreError> {
        let now = jiff::Timestamp::now();
        let mut tx = self.db.begin_write().await?;
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (tenant_id, idem_key, request_hash, status_code, response_body, created_at)
             VALUES ($1, $2, $3, 0, '', $4) ON CONFLICT (tenant_id, idem_key) DO NOTHING",
        )
        .bind(tenant_id.as_str())
        .bind(key)
        .bind(request_hash)
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 1 {
            tx.commit().await?;
            return Ok(Claim::Claimed);
        }
        let row = sqlx::query(
            "SELECT request_hash, status_code, response_body, created_at FROM idempotency_keys
             WHERE tenant_id = $1 AND idem_key = $2",
        )
        .bind(tenant_id.as_str())
        .bind(key)
        .fetch_one(&mut *tx)
        .await?;
        if text(&row, "request_hash")? != request_hash {
            tx.rollback().await?;
            return Ok(Claim::KeyReused);
        }
        let status_code = int(&row, "status_code")?;
        if status_code != 0 {
            tx.rollback().await?;
            return Ok(Claim::Finished {
                status_code: u16::try_from(status_code).unwrap_or(500),
                body: text(&row, "response_body")?,
            });
        }
        let stale = now - STALE_CLAIM;
        let taken = sqlx::query(
            "UPDATE idempotency_keys SET created_at = $3
             WHERE tenant_id = $1 AND idem_key = $2 AND status_code = 0 AND created_at < $4",
        )
        .bind(tenant_id.as_str())
        .bind(key)
        .bind(to_micros(now))
        .bind(to_micros(stale))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(if taken == 1 {
            Claim::Claimed
        } else {
            Claim::InProgress
        })
    }

    /// Stores the response of the request that claimed `key`.
    pub async fn finish_idempotency_key(
        &self,
        tenant_id: &TenantId,
        key: &str,
        status_code: u16,
        body: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE idempotency_keys SET status_code = $3, response_body = $4
             WHERE tenant_id = $1 AND idem_key = $2",
        )
        .bind(tenant_id.as_str())
        .bind(key)
        .bind(i64::from(status_code))
        .bind(body)
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    /// Lets `key` go unanswered, so a retry runs again: for a request that
    /// failed on our side and decided nothing.
    pub async fn release_idempotency_key(
        &self,
        tenant_id: &TenantId,
        key: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND idem_key = $2 AND status_code = 0",
        )
        .bind(tenant_id.as_str())
        .bind(key)
        .execute(self.db.writer())
        .await?;
        Ok(())
    }
}
