//! Per-city API keys for the back office. Only a SHA-256 of each key is
//! stored: the key is 256 random bits, so a fast hash is enough, and a
//! copied database yields no usable key.

use crate::{Store, StoreError, to_micros};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use civicpay_core::TenantId;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;

/// A key as shown once to the person who created it. Its `Debug` hides it.
pub struct ApiKeySecret(pub(crate) String);

impl ApiKeySecret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKeySecret(…)")
    }
}

const KEY_PREFIX: &str = "cpk_";

/// A new random 256-bit key with a prefix that says what it is for.
pub(crate) fn new_key(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

pub(crate) fn key_hash(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl Store {
    pub async fn create_api_key(
        &self,
        tenant_id: &TenantId,
        label: &str,
    ) -> Result<ApiKeySecret, StoreError> {
        let key = new_key(KEY_PREFIX);
        sqlx::query(
            "INSERT INTO api_keys (id, tenant_id, key_hash, label, created_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(tenant_id.as_str())
        .bind(key_hash(&key))
        .bind(label)
        .bind(to_micros(jiff::Timestamp::now()))
        .execute(self.writer())
        .await?;
        Ok(ApiKeySecret(key))
    }

    /// The city a presented key belongs to, if the key exists and is not
    /// revoked.
    pub async fn tenant_for_api_key(&self, key: &str) -> Result<Option<TenantId>, StoreError> {
        if !key.starts_with(KEY_PREFIX) || key.len() > 100 {
            return Ok(None);
        }
        let tenant: Option<String> = sqlx::query_scalar(
            "SELECT tenant_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        )
        .bind(key_hash(key))
        .fetch_optional(self.pool())
        .await?;
        tenant
            .map(|t| TenantId::parse(&t).map_err(|e| StoreError::corrupt("api_keys.tenant_id", e)))
            .transpose()
    }
}
