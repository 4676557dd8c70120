//! Cities on this deployment.

use crate::audit_log::append_in;
use crate::rows::{column, json_column, opt_column, read, to_json};
use crate::{Store, StoreError, to_micros};
use civicpay_audit::{Action, ChainId, NewEntry};
use civicpay_core::{
    AccentColour, Branding, Currency, Language, LogoDigest, Tenant, TenantId, TenantSlug,
    TimeZoneName, WebhookUrl,
};

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
    suspended_at: Option<i64>,
    accent_colour: Option<String>,
    logo_digest: Option<String>,
    languages: Option<String>,
    back_office_webhook: Option<String>,
    processor: Option<String>,
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
            languages: match row.languages.as_deref() {
                Some(languages) => json_column("languages", languages)?,
                None => Language::ALL.to_vec(),
            },
            contact: json_column("contact", &row.contact)?,
            fees: row
                .fees
                .as_deref()
                .map(|fees| json_column("fees", fees))
                .transpose()?,
            return_origins: json_column("return_origins", &row.return_origins)?,
            back_office: opt_column(
                "back_office_webhook",
                row.back_office_webhook.as_deref(),
                WebhookUrl::parse,
            )?,
            processor: row
                .processor
                .as_deref()
                .map(|p| json_column("processor", p))
                .transpose()?,
            suspended: row.suspended_at.is_some(),
            branding: Branding {
                accent: opt_column(
                    "accent_colour",
                    row.accent_colour.as_deref(),
                    AccentColour::parse,
                )?,
                logo: opt_column("logo_digest", row.logo_digest.as_deref(), LogoDigest::parse)?,
            },
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
            "INSERT INTO tenants (id, slug, name, currency, time_zone, default_language, contact, fees, return_origins, created_at, languages, back_office_webhook, processor)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
        .bind(to_json(&tenant.languages)?)
        .bind(tenant.back_office.as_ref().map(WebhookUrl::as_str))
        .bind(tenant.processor.as_ref().map(to_json).transpose()?)
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
            "SELECT id, slug, name, currency, time_zone, default_language, contact, fees, return_origins, suspended_at,
                    accent_colour, logo_digest, languages, back_office_webhook, processor
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
            "SELECT id, slug, name, currency, time_zone, default_language, contact, fees, return_origins, suspended_at,
                    accent_colour, logo_digest, languages, back_office_webhook, processor
             FROM tenants WHERE id = $1",
        )
        .bind(id.as_str())
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(read::<TenantRow, Tenant>)
        .transpose()
    }

    /// Changes whom residents contact, with its audit entry, in one
    /// transaction.
    pub async fn set_tenant_contact(
        &self,
        tenant_id: &TenantId,
        contact: &civicpay_core::Contact,
        audit: NewEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE tenants SET contact = $2 WHERE id = $1")
            .bind(tenant_id.as_str())
            .bind(to_json(contact)?)
            .execute(&mut *tx)
            .await?;
        append_in(&mut tx, self.backend(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets the language residents read the city in first and those they
    /// may choose, with the audit entry.
    pub async fn set_tenant_languages(
        &self,
        tenant_id: &TenantId,
        default: Language,
        languages: &[Language],
        audit: NewEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE tenants SET default_language = $2, languages = $3 WHERE id = $1")
            .bind(tenant_id.as_str())
            .bind(default.code())
            .bind(to_json(&languages)?)
            .execute(&mut *tx)
            .await?;
        append_in(&mut tx, self.backend(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets (or clears) the city's accent colour, with its audit entry.
    pub async fn set_tenant_accent(
        &self,
        tenant_id: &TenantId,
        accent: Option<&AccentColour>,
        audit: NewEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE tenants SET accent_colour = $2 WHERE id = $1")
            .bind(tenant_id.as_str())
            .bind(accent.map(AccentColour::as_str))
            .execute(&mut *tx)
            .await?;
        append_in(&mut tx, self.backend(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces (or removes) the city's logo: the PNG and the digest its
    /// pages link by change together, with the audit entry.
    pub async fn set_tenant_logo(
        &self,
        tenant_id: &TenantId,
        logo: Option<(&LogoDigest, &[u8])>,
        audit: NewEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM tenant_logos WHERE tenant_id = $1")
            .bind(tenant_id.as_str())
            .execute(&mut *tx)
            .await?;
        if let Some((digest, png)) = logo {
            sqlx::query(
                "INSERT INTO tenant_logos (tenant_id, digest, png, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(tenant_id.as_str())
            .bind(digest.as_str())
            .bind(png)
            .bind(to_micros(jiff::Timestamp::now()))
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE tenants SET logo_digest = $2 WHERE id = $1")
            .bind(tenant_id.as_str())
            .bind(logo.map(|(digest, _)| digest.as_str()))
            .execute(&mut *tx)
            .await?;
        append_in(&mut tx, self.backend(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The city's logo as served: its digest and PNG bytes.
    pub async fn tenant_logo(
        &self,
        tenant_id: &TenantId,
    ) -> Result<Option<(LogoDigest, Vec<u8>)>, StoreError> {
        let row: Option<(String, Vec<u8>)> =
            sqlx::query_as("SELECT digest, png FROM tenant_logos WHERE tenant_id = $1")
                .bind(tenant_id.as_str())
                .fetch_optional(self.pool())
                .await?;
        row.map(|(digest, png)| Ok((column("digest", &digest, LogoDigest::parse)?, png)))
            .transpose()
    }

    /// Pauses (or resumes) a city's payments, as the platform's act in
    /// its audit chain; false when the city already was so, and nothing
    /// is written.
    pub async fn set_tenant_suspended(
        &self,
        tenant: &Tenant,
        suspended: bool,
        actor: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let query = if suspended {
            sqlx::query(
                "UPDATE tenants SET suspended_at = $2 WHERE id = $1 AND suspended_at IS NULL",
            )
            .bind(tenant.id.as_str())
            .bind(to_micros(jiff::Timestamp::now()))
        } else {
            sqlx::query(
                "UPDATE tenants SET suspended_at = NULL WHERE id = $1 AND suspended_at IS NOT NULL",
            )
            .bind(tenant.id.as_str())
        };
        let changed = query.execute(&mut *tx).await?.rows_affected() > 0;
        if changed {
            let action = if suspended {
                Action::TenantSuspended
            } else {
                Action::TenantResumed
            };
            let entry = NewEntry::new(
                ChainId::Platform,
                actor,
                action,
                format!("city:{}", tenant.slug),
                serde_json::json!({ "tenant_id": tenant.id.as_str() }),
            );
            append_in(&mut tx, self.backend(), entry).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Platform listing: every city on the deployment, for the home page and
    /// for operators. Holds no city's private data.
    pub async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        sqlx::query(
            "SELECT id, slug, name, currency, time_zone, default_language, contact, fees, return_origins, suspended_at,
                    accent_colour, logo_digest, languages, back_office_webhook, processor
             FROM tenants ORDER BY slug",
        )
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(read::<TenantRow, Tenant>)
        .collect()
    }
}
