//! Cities as the pay service knows them, and their pay API keys.

use super::PayStore;
use crate::api_keys::{ApiKeySecret, key_hash, new_key};
use crate::rows::{int, parsed, text};
use crate::{StoreError, to_micros};
use civicpay_core::{Currency, TenantId, TenantSlug};
use sqlx::{Any, Executor};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merchant {
    pub tenant_id: TenantId,
    pub slug: TenantSlug,
    pub name: String,
    pub currency: Currency,
    /// Origins (`https://city.example`) a payment's return URL may lead to.
    pub return_origins: Vec<String>,
    /// Paused by the platform: no new payment, while captures, refunds and
    /// reads go on.
    pub suspended: bool,
}

const PAY_KEY_PREFIX: &str = "cpay_";
/// How a platform key begins (`civicpay_web::service_key::platform_pay_key`).
pub const PLATFORM_KEY_PREFIX: &str = "cpplat_";

impl PayStore {
    /// Registers a city with the pay service, or refreshes its name and
    /// allowed return origins.
    pub async fn upsert_merchant(&self, merchant: &Merchant) -> Result<(), StoreError> {
        upsert_merchant_on(self.db.writer(), merchant).await
    }

    /// Registers a city whole, as the platform describes it: the merchant,
    /// the portal's key and the webhook endpoint stand or fall together.
    /// Sending the same registration again changes nothing.
    pub async fn register_merchant(
        &self,
        merchant: &Merchant,
        portal_key: &str,
        webhook_url: &str,
        webhook_secret: &str,
        processor: Option<&civicpay_core::Processor>,
    ) -> Result<(), StoreError> {
        let mut tx = self.db.begin_write().await?;
        upsert_merchant_on(&mut *tx, merchant).await?;
        super::processors::set_processor_on(&mut *tx, &merchant.tenant_id, processor).await?;
        ensure_pay_api_key_on(&mut *tx, &merchant.tenant_id, portal_key, "portal").await?;
        super::webhooks::set_webhook_endpoint_on(
            &mut *tx,
            &merchant.tenant_id,
            webhook_url,
            webhook_secret,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Keeps the platform's key (a hash of it), once.
    pub async fn ensure_platform_key(&self, key: &str, label: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO platform_keys (key_hash, label, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (key_hash) DO NOTHING",
        )
        .bind(key_hash(key))
        .bind(label)
        .bind(to_micros(jiff::Timestamp::now()))
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    pub async fn is_platform_key(&self, key: &str) -> Result<bool, StoreError> {
        if !key.starts_with(PLATFORM_KEY_PREFIX) || key.len() > 100 {
            return Ok(false);
        }
        let found: Option<String> =
            sqlx::query_scalar("SELECT label FROM platform_keys WHERE key_hash = $1")
                .bind(key_hash(key))
                .fetch_optional(self.db.pool())
                .await?;
        Ok(found.is_some())
    }

    pub async fn merchant(&self, tenant_id: &TenantId) -> Result<Option<Merchant>, StoreError> {
        let row = sqlx::query(
            "SELECT tenant_id, slug, name, currency, return_origins, suspended FROM merchants WHERE tenant_id = $1",
        )
        .bind(tenant_id.as_str())
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|r| {
            Ok(Merchant {
                tenant_id: parsed(&r, "tenant_id", TenantId::parse)?,
                slug: parsed(&r, "slug", TenantSlug::parse)?,
                name: text(&r, "name")?,
                currency: parsed(&r, "currency", Currency::parse)?,
                return_origins: text(&r, "return_origins")?
                    .lines()
                    .map(str::to_owned)
                    .collect(),
                suspended: int(&r, "suspended")? != 0,
            })
        })
        .transpose()
    }

    pub async fn create_pay_api_key(
        &self,
        tenant_id: &TenantId,
        label: &str,
    ) -> Result<ApiKeySecret, StoreError> {
        let key = new_key(PAY_KEY_PREFIX);
        sqlx::query(
            "INSERT INTO pay_api_keys (id, tenant_id, key_hash, label, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(tenant_id.as_str())
        .bind(key_hash(&key))
        .bind(label)
        .bind(to_micros(jiff::Timestamp::now()))
        .execute(self.db.writer())
        .await?;
        Ok(ApiKeySecret(key))
    }

    /// Registers a key chosen elsewhere (the portal's derived key), once.
    pub async fn ensure_pay_api_key(
        &self,
        tenant_id: &TenantId,
        key: &str,
        label: &str,
    ) -> Result<(), StoreError> {
        ensure_pay_api_key_on(self.db.writer(), tenant_id, key, label).await
    }

    pub async fn merchant_for_api_key(&self, key: &str) -> Result<Option<Merchant>, StoreError> {
        if !key.starts_with(PAY_KEY_PREFIX) || key.len() > 100 {
            return Ok(None);
        }
        let tenant: Option<String> = sqlx::query_scalar(
            "SELECT tenant_id FROM pay_api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        )
        .bind(key_hash(key))
        .fetch_optional(self.db.pool())
        .await?;
        match tenant {
            Some(t) => {
                let id = TenantId::parse(&t)
                    .map_err(|e| StoreError::corrupt("pay_api_keys.tenant_id", e))?;
                self.merchant(&id).await
            }
            None => Ok(None),
        }
    }
}

async fn upsert_merchant_on<'c>(
    db: impl Executor<'c, Database = Any>,
    merchant: &Merchant,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO merchants (tenant_id, slug, name, currency, return_origins, suspended, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (tenant_id) DO UPDATE SET slug = excluded.slug, name = excluded.name,
             return_origins = excluded.return_origins, suspended = excluded.suspended",
    )
    .bind(merchant.tenant_id.as_str())
    .bind(merchant.slug.as_str())
    .bind(merchant.name.as_str())
    .bind(merchant.currency.code())
    .bind(merchant.return_origins.join("\n"))
    .bind(i64::from(merchant.suspended))
    .bind(to_micros(jiff::Timestamp::now()))
    .execute(db)
    .await?;
    Ok(())
}

async fn ensure_pay_api_key_on<'c>(
    db: impl Executor<'c, Database = Any>,
    tenant_id: &TenantId,
    key: &str,
    label: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO pay_api_keys (id, tenant_id, key_hash, label, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (key_hash) DO NOTHING",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(tenant_id.as_str())
    .bind(key_hash(key))
    .bind(label)
    .bind(to_micros(jiff::Timestamp::now()))
    .execute(db)
    .await?;
    Ok(())
}
