//! Applying a city file (`civicpay city apply`): the city and its bill
//! types created or brought in line with the file in one transaction. A new
//! city is one entry in the platform's audit chain (making cities is the
//! platform's act); each field a later file changes is an entry in the
//! city's own chain, with what it was and what it became.

use super::bill_types::upsert_bill_type_on;
use super::tenants::insert_tenant_on;
use crate::audit_log::append_in;
use crate::rows::to_json;
use crate::{Store, StoreError};
use civicpay_audit::{Action, ChainId, NewEntry};
use civicpay_core::city_file::{Change, CityFile};
use civicpay_core::{BillType, Tenant, TenantId, WebhookUrl};

/// What applying a file did.
#[derive(Debug, Clone)]
pub struct Applied {
    pub tenant: Tenant,
    /// True when the file made a new city.
    pub created: bool,
    /// Empty when the stored city already said what the file says.
    pub changes: Vec<Change>,
}

impl Store {
    /// What applying `file` would change, without changing anything.
    pub async fn city_file_changes(&self, file: &CityFile) -> Result<Vec<Change>, StoreError> {
        let (tenant, types) = self.stored_city(file).await?;
        refuse_currency_change(file, tenant.as_ref())?;
        Ok(file.changes(tenant.as_ref().map(|t| (t, types.as_slice()))))
    }

    /// Creates the city `file` declares, or brings the stored one in line
    /// with it. Applying the same file again changes nothing and writes
    /// nothing. Bill types the file leaves out are kept: they may have
    /// bills and payments.
    pub async fn apply_city(&self, file: &CityFile, actor: &str) -> Result<Applied, StoreError> {
        let (stored, types) = self.stored_city(file).await?;
        refuse_currency_change(file, stored.as_ref())?;
        let changes = file.changes(stored.as_ref().map(|t| (t, types.as_slice())));
        let created = stored.is_none();
        let tenant = match stored {
            Some(stored) => Tenant {
                suspended: stored.suspended,
                branding: stored.branding,
                ..file.tenant(stored.id)
            },
            None => file.tenant(TenantId::generate()),
        };
        if changes.is_empty() {
            return Ok(Applied {
                tenant,
                created,
                changes,
            });
        }
        let mut tx = self.begin_write().await?;
        if created {
            insert_tenant_on(&mut *tx, &tenant).await?;
        } else {
            sqlx::query(
                "UPDATE tenants SET name = $2, time_zone = $3, default_language = $4, contact = $5, fees = $6,
                 return_origins = $7, languages = $8, back_office_webhook = $9, processor = $10
                 WHERE id = $1",
            )
            .bind(tenant.id.as_str())
            .bind(to_json(&tenant.name)?)
            .bind(tenant.time_zone.as_str())
            .bind(tenant.default_language.code())
            .bind(to_json(&tenant.contact)?)
            .bind(tenant.fees.as_ref().map(to_json).transpose()?)
            .bind(to_json(&tenant.return_origins)?)
            .bind(to_json(&tenant.languages)?)
            .bind(tenant.back_office.as_ref().map(WebhookUrl::as_str))
            .bind(tenant.processor.as_ref().map(to_json).transpose()?)
            .execute(&mut *tx)
            .await?;
        }
        for (position, entry) in file.bill_types.iter().enumerate() {
            let bill_type = entry.bill_type(&tenant.id);
            upsert_bill_type_on(&mut *tx, &bill_type, i64::try_from(position).unwrap_or(0)).await?;
        }
        if created {
            let entry = NewEntry::new(
                ChainId::Platform,
                actor,
                Action::TenantCreated,
                format!("city:{}", tenant.slug),
                serde_json::json!({ "from": "city file", "tenant_id": tenant.id.as_str() }),
            );
            append_in(&mut tx, self.backend(), entry).await?;
        }
        let chain = ChainId::Tenant(tenant.id.clone());
        for change in changes.iter().filter(|_| !created) {
            let action = if change.path.starts_with("bill_type.") {
                Action::BillTypeChanged
            } else {
                Action::SettingChanged
            };
            let entry = NewEntry::new(
                chain.clone(),
                actor,
                action,
                format!("city:{}", tenant.slug),
                serde_json::json!({
                    "field": change.path,
                    "before": change.before,
                    "after": change.after,
                }),
            );
            append_in(&mut tx, self.backend(), entry).await?;
        }
        tx.commit().await?;
        Ok(Applied {
            tenant,
            created,
            changes,
        })
    }

    async fn stored_city(
        &self,
        file: &CityFile,
    ) -> Result<(Option<Tenant>, Vec<BillType>), StoreError> {
        let tenant = self.tenant_by_slug(&file.slug).await?;
        let types = match &tenant {
            Some(t) => self.bill_types(&t.id).await?,
            None => Vec::new(),
        };
        Ok((tenant, types))
    }
}

/// A city's bills and payments are in its currency; a file cannot change it.
fn refuse_currency_change(file: &CityFile, stored: Option<&Tenant>) -> Result<(), StoreError> {
    match stored {
        Some(t) if t.currency != file.currency => Err(StoreError::Refused(format!(
            "currency: city {:?} takes {}; its bills and payments are in it, so it cannot become {}",
            t.slug.as_str(),
            t.currency.code(),
            file.currency.code()
        ))),
        _ => Ok(()),
    }
}
