//! Cities on this deployment.

use crate::rows::{column, json_column, read, to_json};
use crate::{Store, StoreError, to_micros};
use civicpay_core::{Currency, Language, Tenant, TenantId, TenantSlug, TimeZoneName};

/// A `tenants` row as stored.
#[derive(sqlx::FromRow)]
struct TenantRow {
    id: String,
    slug: String,
    name: String,
    currency: String,
    time_zone: String,
    default_language: String,
    contact: String,
    fees: Option<String>,
    return_origins: String,
}

impl TryFrom<TenantRow> for Tenant {
    type Error = StoreError;

    fn try_from(row: TenantRow) -> Result<Tenant, StoreError> {
        Ok(Tenant {
            id: column("id", &row.id, TenantId::parse)?,
            slug: column("slug", &row.slug, TenantSlug::parse)?,
            name: json_column("name", &row.name)?,
            currency: column("currency", &row.currency, Currency::parse)?,
            time_zone: column("time_zone", &row.time_zone, TimeZoneName::parse)?,
            default_language: column("default_language", &row.default_language, Language::parse)?,
            contact: json_column("contact", &row.contact)?,
            fees: row
                .fees
                .as_deref()
                .map(|fees| json_column("fees", fees))
                .transpose()?,
            return_origins: json_column("return_origins", &row.return_origins)?,
        })
    }
}

/// Inserts a new city on `db` (a pool or a transaction); a slug already
/// taken is `AlreadyExists`.
pub(crate) async fn insert_tenant_on<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    tenant: &Tenant,
) -> Result<(), StoreError> {
    let result = sqlx::query(
            "INSERT INTO tenants (id, slug, name, currency, time_zone, default_language, contact, fees, return_origins, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(tenant.id.as_str())
        .bind(tenant.slug.as_str())
        .bind(to_json(&tenant.name)?)
        .bind(tenant.currency.code())
        .bind(tenant.time_zone.as_str())
        .bind(tenant.default_language.code())
        .bind(to_json(&tenant.contact)?)
        .bind(tenant.fees.as_ref().map(to_json).transpose()?)
        .bind(to_json(&tenant.return_origins)?)
        .bind(to_micros(jiff::Timestamp::now()))
        .execute(db)
        .await;
    match result {
        Err(e) if StoreError::is_unique_violation(&e) => Err(StoreError::AlreadyExists(format!(
            "city {:?}",
            tenant.slug.as_str()
        ))),
        other => other.map(|_| ()).map_err(Into::into),
    }
}

impl Store {
    pub async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        insert_tenant_on(self.writer(), tenant).await
    }

    pub async fn tenant_by_slug(&self, slug: &TenantSlug) -> Result<Option<Tenant>, StoreError> {
        sqlx::query(
            "SELECT id, slug, name, currency, time_zone, default_language, contact, fees, return_origins
             FROM tenants WHERE slug = $1",
        )
        .bind(slug.as_str())
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(read::<TenantRow, Tenant>)
        .transpose()
    }

    pub async fn tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        sqlx::query(
            "SELECT id, slug, name, currency, time_zone, default_language, contact, fees, return_origins
             FROM tenants WHERE id = $1",
        )
        .bind(id.as_str())
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(read::<TenantRow, Tenant>)
        .transpose()
    }

    /// Platform listing: every city on the deployment, for the home page and
    /// for operators. Holds no city's private data.
    pub async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        sqlx::query(
            "SELECT id, slug, name, currency, time_zone, default_language, contact, fees, return_origins
             FROM tenants ORDER BY slug",
        )
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(read::<TenantRow, Tenant>)
        .collect()
    }
}
