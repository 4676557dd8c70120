//! A city's card processor account on pay's side: the settings the
//! platform registered, and the processor's secrets, sealed. This crate
//! only ever holds the sealed bytes; `pay` seals and opens them with the
//! city's key-encryption key.

use super::PayStore;
use crate::rows::text;
use crate::{StoreError, to_micros};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use civicpay_core::{Processor, TenantId};
use sqlx::{Any, Executor, Row};

/// A secret as stored: sealed under a key of its own, which the KEK
/// `kek_id` wraps.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret {
    pub kek_id: String,
    pub wrapped_key: Vec<u8>,
    pub sealed: Vec<u8>,
}

impl std::fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedSecret")
            .field("kek_id", &self.kek_id)
            .finish_non_exhaustive()
    }
}

fn decoded(row: &sqlx::any::AnyRow, column: &'static str) -> Result<Vec<u8>, StoreError> {
    STANDARD
        .decode(text(row, column)?)
        .map_err(|e| StoreError::corrupt(column, e.to_string()))
}

fn secret_from(row: &sqlx::any::AnyRow) -> Result<SealedSecret, StoreError> {
    Ok(SealedSecret {
        kek_id: text(row, "kek_id")?,
        wrapped_key: decoded(row, "wrapped_key")?,
        sealed: decoded(row, "sealed")?,
    })
}

pub(crate) async fn set_processor_on<'c>(
    db: impl Executor<'c, Database = Any>,
    tenant: &TenantId,
    processor: Option<&Processor>,
) -> Result<(), StoreError> {
    let json = processor
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::corrupt("processor", e.to_string()))?;
    sqlx::query("UPDATE merchants SET processor = $2 WHERE tenant_id = $1")
        .bind(tenant.as_str())
        .bind(json)
        .execute(db)
        .await?;
    Ok(())
}

impl PayStore {
    /// The city's processor account; `None`: the deployment's acquirer.
    pub async fn merchant_processor(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<Processor>, StoreError> {
        let json: Option<Option<String>> =
            sqlx::query_scalar("SELECT processor FROM merchants WHERE tenant_id = $1")
                .bind(tenant.as_str())
                .fetch_optional(self.db.pool())
                .await?;
        json.flatten()
            .map(|j| {
                serde_json::from_str(&j)
                    .map_err(|e| StoreError::corrupt("processor", e.to_string()))
            })
            .transpose()
    }

    /// The cities with a processor account of their own.
    pub async fn merchants_with_processor(&self) -> Result<Vec<TenantId>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT tenant_id FROM merchants WHERE processor IS NOT NULL ORDER BY tenant_id",
        )
        .fetch_all(self.db.pool())
        .await?;
        ids.iter()
            .map(|id| {
                TenantId::parse(id).map_err(|e| StoreError::corrupt("tenant_id", e.to_string()))
            })
            .collect()
    }

    /// Keeps a secret, replacing the one of that name (rotation is `set`
    /// again).
    pub async fn put_merchant_secret(
        &self,
        tenant: &TenantId,
        name: &str,
        secret: &SealedSecret,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO merchant_secrets (tenant_id, name, kek_id, wrapped_key, sealed, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (tenant_id, name) DO UPDATE SET kek_id = excluded.kek_id,
                 wrapped_key = excluded.wrapped_key, sealed = excluded.sealed,
                 updated_at = excluded.updated_at",
        )
        .bind(tenant.as_str())
        .bind(name)
        .bind(secret.kek_id.as_str())
        .bind(STANDARD.encode(&secret.wrapped_key))
        .bind(STANDARD.encode(&secret.sealed))
        .bind(to_micros(jiff::Timestamp::now()))
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    pub async fn merchant_secret(
        &self,
        tenant: &TenantId,
        name: &str,
    ) -> Result<Option<SealedSecret>, StoreError> {
        sqlx::query(
            "SELECT kek_id, wrapped_key, sealed FROM merchant_secrets
             WHERE tenant_id = $1 AND name = $2",
        )
        .bind(tenant.as_str())
        .bind(name)
        .fetch_optional(self.db.pool())
        .await?
        .as_ref()
        .map(secret_from)
        .transpose()
    }

    /// Every secret of the city, by name: what a key rotation re-wraps.
    pub async fn merchant_secrets(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<(String, SealedSecret)>, StoreError> {
        sqlx::query(
            "SELECT name, kek_id, wrapped_key, sealed FROM merchant_secrets
             WHERE tenant_id = $1 ORDER BY name",
        )
        .bind(tenant.as_str())
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|row| Ok((row.try_get::<String, _>("name")?, secret_from(row)?)))
        .collect()
    }

    /// Points a secret's key at a new KEK, if it is still under `old_kek`.
    pub async fn rewrap_merchant_secret(
        &self,
        tenant: &TenantId,
        name: &str,
        old_kek: &str,
        kek_id: &str,
        wrapped_key: &[u8],
    ) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE merchant_secrets SET kek_id = $4, wrapped_key = $5
             WHERE tenant_id = $1 AND name = $2 AND kek_id = $3",
        )
        .bind(tenant.as_str())
        .bind(name)
        .bind(old_kek)
        .bind(kek_id)
        .bind(STANDARD.encode(wrapped_key))
        .execute(self.db.writer())
        .await?;
        Ok(updated.rows_affected() == 1)
    }
}
