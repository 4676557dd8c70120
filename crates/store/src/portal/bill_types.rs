//! A city's kinds of bill.

use crate::audit_log::append_in;
use crate::rows::{column, json_column, read, to_json};
use crate::{Store, StoreError};
use civicpay_audit::NewEntry;
use civicpay_core::{
    BillKind, BillType, BillTypeId, BillTypeSlug, GlCode, ReferenceLabel, TenantId,
    VerificationKind,
};

/// A `bill_types` row as stored.
#[derive(sqlx::FromRow)]
pub(crate) struct BillTypeRow {
    id: String,
    tenant_id: String,
    slug: String,
    kind: String,
    name: String,
    reference_label: String,
    verification: String,
    gl_code: String,
    fees: String,
    partial: Option<String>,
    active: i64,
}

impl TryFrom<BillTypeRow> for BillType {
    type Error = StoreError;

    fn try_from(row: BillTypeRow) -> Result<BillType, StoreError> {
        Ok(BillType {
            id: column("id", &row.id, BillTypeId::parse)?,
            tenant_id: column("tenant_id", &row.tenant_id, TenantId::parse)?,
            slug: column("slug", &row.slug, BillTypeSlug::parse)?,
            kind: column("kind", &row.kind, BillKind::parse)?,
            name: json_column("name", &row.name)?,
            reference_label: column(
                "reference_label",
                &row.reference_label,
                ReferenceLabel::parse,
            )?,
            verification: column("verification", &row.verification, VerificationKind::parse)?,
            gl_code: column("gl_code", &row.gl_code, GlCode::parse)?,
            fees: json_column("fees", &row.fees)?,
            partial: row
                .partial
                .as_deref()
                .map(|p| json_column("partial", p))
                .transpose()?,
            active: row.active != 0,
        })
    }
}

/// Creates the bill type, or updates the one with the same slug in the same
/// city, on `db` (a pool or a transaction). Returns the stored id.
pub(crate) async fn upsert_bill_type_on<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    bill_type: &BillType,
    position: i64,
) -> Result<BillTypeId, StoreError> {
    let id: String = sqlx::query_scalar(
            "INSERT INTO bill_types (id, tenant_id, slug, kind, name, reference_label, verification, gl_code, fees, partial, position, active)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (tenant_id, slug) DO UPDATE SET
                 kind = excluded.kind, name = excluded.name,
                 reference_label = excluded.reference_label,
                 verification = excluded.verification,
                 gl_code = excluded.gl_code, fees = excluded.fees,
                 partial = excluded.partial,
                 position = excluded.position, active = excluded.active
             RETURNING id",
        )
        .bind(bill_type.id.as_str())
        .bind(bill_type.tenant_id.as_str())
        .bind(bill_type.slug.as_str())
        .bind(bill_type.kind.code())
        .bind(to_json(&bill_type.name)?)
        .bind(bill_type.reference_label.code())
        .bind(bill_type.verification.code())
        .bind(bill_type.gl_code.as_str())
        .bind(to_json(&bill_type.fees)?)
        .bind(bill_type.partial.as_ref().map(to_json).transpose()?)
        .bind(position)
        .bind(i64::from(bill_type.active))
        .fetch_one(db)
        .await?;
    BillTypeId::parse(&id).map_err(|e| StoreError::corrupt("bill_types.id", e))
}

impl Store {
    /// Creates the bill type, or updates the one with the same slug in the
    /// same city. Returns the stored id.
    pub async fn upsert_bill_type(
        &self,
        bill_type: &BillType,
        position: i64,
    ) -> Result<BillTypeId, StoreError> {
        upsert_bill_type_on(self.writer(), bill_type, position).await
    }

    /// Changes what a city administrator may change of a bill type (its
    /// names, reference label, verification, GL code, part payments and
    /// whether residents are offered it), with the audit entries, in one
    /// transaction. Its kind, fees and place stay the city file's.
    pub async fn update_bill_type(
        &self,
        bill_type: &BillType,
        audit: Vec<NewEntry>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE bill_types SET name = $3, reference_label = $4, verification = $5, gl_code = $6,
                 partial = $7, active = $8
             WHERE id = $1 AND tenant_id = $2",
        )
        .bind(bill_type.id.as_str())
        .bind(bill_type.tenant_id.as_str())
        .bind(to_json(&bill_type.name)?)
        .bind(bill_type.reference_label.code())
        .bind(bill_type.verification.code())
        .bind(bill_type.gl_code.as_str())
        .bind(bill_type.partial.as_ref().map(to_json).transpose()?)
        .bind(i64::from(bill_type.active))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound(format!(
                "bill type {:?}",
                bill_type.slug.as_str()
            )));
        }
        for entry in audit {
            append_in(&mut tx, self.backend(), entry).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn bill_types(&self, tenant_id: &TenantId) -> Result<Vec<BillType>, StoreError> {
        sqlx::query(
            "SELECT id, tenant_id, slug, kind, name, reference_label, verification, gl_code, fees, partial, active
             FROM bill_types WHERE tenant_id = $1 ORDER BY position, slug",
        )
        .bind(tenant_id.as_str())
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(read::<BillTypeRow, BillType>)
        .collect()
    }

    pub async fn bill_type_by_slug(
        &self,
        tenant_id: &TenantId,
        slug: &BillTypeSlug,
    ) -> Result<Option<BillType>, StoreError> {
        sqlx::query(
            "SELECT id, tenant_id, slug, kind, name, reference_label, verification, gl_code, fees, partial, active
             FROM bill_types WHERE tenant_id = $1 AND slug = $2",
        )
        .bind(tenant_id.as_str())
        .bind(slug.as_str())
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(read::<BillTypeRow, BillType>)
        .transpose()
    }
}
