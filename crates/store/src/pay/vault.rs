//! Saved cards and the data keys that seal them, as opaque bytes: this
//! crate never sees a card number (the `pay` crate seals and opens them
//! with `civicpay-vault`), so the portal, which uses this crate, stays free
//! of card-handling code.

use super::PayStore;
use crate::rows::{int, text};
use crate::{StoreError, from_micros, to_micros};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use civicpay_core::TenantId;
use sqlx::any::AnyRow;

/// A city's data key as stored: wrapped by the KEK `kek_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDataKey {
    pub version: i64,
    pub kek_id: String,
    pub wrapped: Vec<u8>,
}

/// A saved card: the sealed number and what may be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCard {
    pub token: String,
    pub owner: String,
    pub key_version: i64,
    pub sealed: Vec<u8>,
    pub brand: String,
    pub last4: String,
    pub exp_month: i64,
    pub exp_year: i64,
    pub fingerprint: String,
    pub created_at: jiff::Timestamp,
}

fn bytes(row: &AnyRow, column: &'static str) -> Result<Vec<u8>, StoreError> {
    STANDARD
        .decode(text(row, column)?)
        .map_err(|e| StoreError::corrupt(column, e.to_string()))
}

fn data_key_from(row: &AnyRow) -> Result<StoredDataKey, StoreError> {
    Ok(StoredDataKey {
        version: int(row, "version")?,
        kek_id: text(row, "kek_id")?,
        wrapped: bytes(row, "wrapped")?,
    })
}

fn card_from(row: &AnyRow) -> Result<StoredCard, StoreError> {
    Ok(StoredCard {
        token: text(row, "token")?,
        owner: text(row, "owner")?,
        key_version: int(row, "key_version")?,
        sealed: bytes(row, "sealed")?,
        brand: text(row, "brand")?,
        last4: text(row, "last4")?,
        exp_month: int(row, "exp_month")?,
        exp_year: int(row, "exp_year")?,
        fingerprint: text(row, "fingerprint")?,
        created_at: from_micros(int(row, "created_at")?)?,
    })
}

impl PayStore {
    /// Every data key of the city, newest first.
    pub async fn data_keys(&self, tenant: &TenantId) -> Result<Vec<StoredDataKey>, StoreError> {
        sqlx::query(
            "SELECT version, kek_id, wrapped FROM vault_data_keys
             WHERE tenant_id = $1 ORDER BY version DESC",
        )
        .bind(tenant.as_str())
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(data_key_from)
        .collect()
    }

    pub async fn data_key(
        &self,
        tenant: &TenantId,
        version: i64,
    ) -> Result<Option<StoredDataKey>, StoreError> {
        sqlx::query(
            "SELECT version, kek_id, wrapped FROM vault_data_keys
             WHERE tenant_id = $1 AND version = $2",
        )
        .bind(tenant.as_str())
        .bind(version)
        .fetch_optional(self.db.pool())
        .await?
        .as_ref()
        .map(data_key_from)
        .transpose()
    }

    /// Adds version `key.version`; false if another process added it first.
    pub async fn insert_data_key(
        &self,
        tenant: &TenantId,
        key: &StoredDataKey,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO vault_data_keys (tenant_id, version, kek_id, wrapped, created_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant_id, version) DO NOTHING",
        )
        .bind(tenant.as_str())
        .bind(key.version)
        .bind(key.kek_id.as_str())
        .bind(STANDARD.encode(&key.wrapped))
        .bind(to_micros(jiff::Timestamp::now()))
        .execute(self.db.writer())
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Replaces a data key's wrapping (same key, new KEK), only if it is
    /// still wrapped by `old_kek`.
    pub async fn rewrap_data_key(
        &self,
        tenant: &TenantId,
        old_kek: &str,
        key: &StoredDataKey,
    ) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE vault_data_keys SET kek_id = $4, wrapped = $5
             WHERE tenant_id = $1 AND version = $2 AND kek_id = $3",
        )
        .bind(tenant.as_str())
        .bind(key.version)
        .bind(old_kek)
        .bind(key.kek_id.as_str())
        .bind(STANDARD.encode(&key.wrapped))
        .execute(self.db.writer())
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    /// Deletes a data key no card is sealed under; false if one still is.
    pub async fn retire_data_key(
        &self,
        tenant: &TenantId,
        version: i64,
    ) -> Result<bool, StoreError> {
        let deleted = sqlx::query(
            "DELETE FROM vault_data_keys
             WHERE tenant_id = $1 AND version = $2
               AND NOT EXISTS (SELECT 1 FROM vault_cards WHERE tenant_id = $1 AND key_version = $2)",
        )
        .bind(tenant.as_str())
        .bind(version)
        .execute(self.db.writer())
        .await?;
        Ok(deleted.rows_affected() == 1)
    }

    pub async fn insert_saved_card(
        &self,
        tenant: &TenantId,
        card: &StoredCard,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO vault_cards (token, tenant_id, owner, key_version, sealed, brand, last4,
                 exp_month, exp_year, fingerprint, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(card.token.as_str())
        .bind(tenant.as_str())
        .bind(card.owner.as_str())
        .bind(card.key_version)
        .bind(STANDARD.encode(&card.sealed))
        .bind(card.brand.as_str())
        .bind(card.last4.as_str())
        .bind(card.exp_month)
        .bind(card.exp_year)
        .bind(card.fingerprint.as_str())
        .bind(to_micros(card.created_at))
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    pub async fn saved_card(
        &self,
        tenant: &TenantId,
        token: &str,
    ) -> Result<Option<StoredCard>, StoreError> {
        sqlx::query(
            "SELECT token, owner, key_version, sealed, brand, last4, exp_month, exp_year,
                    fingerprint, created_at
             FROM vault_cards WHERE tenant_id = $1 AND token = $2",
        )
        .bind(tenant.as_str())
        .bind(token)
        .fetch_optional(self.db.pool())
        .await?
        .as_ref()
        .map(card_from)
        .transpose()
    }

    /// `owner`'s saved cards, oldest first.
    pub async fn saved_cards_of(
        &self,
        tenant: &TenantId,
        owner: &str,
    ) -> Result<Vec<StoredCard>, StoreError> {
        sqlx::query(
            "SELECT token, owner, key_version, sealed, brand, last4, exp_month, exp_year,
                    fingerprint, created_at
             FROM vault_cards WHERE tenant_id = $1 AND owner = $2
             ORDER BY created_at, token",
        )
        .bind(tenant.as_str())
        .bind(owner)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(card_from)
        .collect()
    }

    /// Up to `limit` cards sealed under a data key older than `version`.
    pub async fn cards_sealed_before(
        &self,
        tenant: &TenantId,
        version: i64,
        limit: i64,
    ) -> Result<Vec<StoredCard>, StoreError> {
        sqlx::query(
            "SELECT token, owner, key_version, sealed, brand, last4, exp_month, exp_year,
                    fingerprint, created_at
             FROM vault_cards WHERE tenant_id = $1 AND key_version < $2
             ORDER BY token LIMIT $3",
        )
        .bind(tenant.as_str())
        .bind(version)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(card_from)
        .collect()
    }

    /// Moves one card to a new data key, only if it is still sealed under
    /// `from_version` (a concurrent rotation or deletion wins).
    pub async fn reseal_card(
        &self,
        tenant: &TenantId,
        token: &str,
        from_version: i64,
        to_version: i64,
        sealed: &[u8],
    ) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE vault_cards SET key_version = $4, sealed = $5
             WHERE tenant_id = $1 AND token = $2 AND key_version = $3",
        )
        .bind(tenant.as_str())
        .bind(token)
        .bind(from_version)
        .bind(to_version)
        .bind(STANDARD.encode(sealed))
        .execute(self.db.writer())
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    /// Deletes a saved card of `owner`; false if there was none.
    pub async fn delete_saved_card(
        &self,
        tenant: &TenantId,
        owner: &str,
        token: &str,
    ) -> Result<bool, StoreError> {
        let deleted = sqlx::query(
            "DELETE FROM vault_cards WHERE tenant_id = $1 AND owner = $2 AND token = $3",
        )
        .bind(tenant.as_str())
        .bind(owner)
        .bind(token)
        .execute(self.db.writer())
        .await?;
        Ok(deleted.rows_affected() == 1)
    }
}
