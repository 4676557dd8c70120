//! A city's kinds of bill.

use crate::rows::{json, parsed, to_json};
use crate::{Store, StoreError};
use civicpay_core::{
    BillKind, BillType, BillTypeId, BillTypeSlug, GlCode, ReferenceLabel, TenantId,
    VerificationKind,
};
use sqlx::any::AnyRow;

fn bill_type_from_row(row: &AnyRow) -> Result<BillType, StoreError> {
    Ok(BillType {
        id: parsed(row, "id", BillTypeId::parse)?,
        tenant_id: parsed(row, "tenant_id", TenantId::parse)?,
        slug: parsed(row, "slug", BillTypeSlug::parse)?,
        kind: parsed(row, "kind", BillKind::parse)?,
        name: json(row, "name")?,
        reference_label: parsed(row, "reference_label", ReferenceLabel::parse)?,
        verification: parsed(row, "verification", VerificationKind::parse)?,
        gl_code: parsed(row, "gl_code", GlCode::parse)?,
    })
}

impl Store {
    /// Creates the bill type, or updates the one with the same slug in the
    /// same city. Returns the stored id.
    pub async fn upsert_bill_type(
        &self,
        bill_type: &BillType,
        position: i64,
    ) -> Result<BillTypeId, StoreError> {
        let id: String = sqlx::query_scalar(
            "INSERT INTO bill_types (id, tenant_id, slug, kind, name, reference_label, verification, gl_code, position)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (tenant_id, slug) DO UPDATE SET
                 kind = excluded.kind, name = excluded.name,
                 reference_label = excluded.reference_label,
                 verification = excluded.verification,
                 gl_code = excluded.gl_code, position = excluded.position
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
        .bind(position)
        .fetch_one(self.writer())
        .await?;
        BillTypeId::parse(&id).map_err(|e| StoreError::corrupt("bill_types.id", e))
    }

    pub async fn bill_types(&self, tenant_id: &TenantId) -> Result<Vec<BillType>, StoreError> {
        sqlx::query(
            "SELECT id, tenant_id, slug, kind, name, reference_label, verification, gl_code
             FROM bill_types WHERE tenant_id = $1 ORDER BY position, slug",
        )
        .bind(tenant_id.as_str())
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(bill_type_from_row)
        .collect()
    }

    pub async fn bill_type_by_slug(
        &self,
        tenant_id: &TenantId,
        slug: &BillTypeSlug,
    ) -> Result<Option<BillType>, StoreError> {
        sqlx::query(
            "SELECT id, tenant_id, slug, kind, name, reference_label, verification, gl_code
             FROM bill_types WHERE tenant_id = $1 AND slug = $2",
        )
        .bind(tenant_id.as_str())
        .bind(slug.as_str())
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(bill_type_from_row)
        .transpose()
    }
}
