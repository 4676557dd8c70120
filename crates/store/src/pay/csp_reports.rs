//! CSP violation reports about pay's pages. Not a city's data: a report is
//! about our page, whatever city's payment it showed.

use super::PayStore;
use crate::rows::{int, text};
use crate::{StoreError, from_micros, to_micros};
use civicpay_pay_api::{WebhookBody, WebhookEvent};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CspReport {
    pub received_at: jiff::Timestamp,
    pub document_uri: String,
    pub violated_directive: String,
    pub blocked_uri: String,
    pub report: String,
}

impl PayStore {
    pub async fn store_csp_report(&self, report: &CspReport) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO csp_reports (id, received_at, document_uri, violated_directive, blocked_uri, report)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(to_micros(report.received_at))
        .bind(report.document_uri.as_str())
        .bind(report.violated_directive.as_str())
        .bind(report.blocked_uri.as_str())
        .bind(report.report.as_str())
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    pub async fn csp_reports_since(
        &self,
        since: jiff::Timestamp,
    ) -> Result<Vec<CspReport>, StoreError> {
        sqlx::query(
            "SELECT received_at, document_uri, violated_directive, blocked_uri, report FROM csp_reports
             WHERE received_at >= $1 ORDER BY received_at",
        )
        .bind(to_micros(since))
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(CspReport {
                received_at: from_micros(int(r, "received_at")?)?,
                document_uri: text(r, "document_uri")?,
                violated_directive: text(r, "violated_directive")?,
                blocked_uri: text(r, "blocked_uri")?,
                report: text(r, "report")?,
            })
        })
        .collect()
    }

    /// Queues an alarm for a city's systems through its webhook endpoint
    /// (retried like payment webhooks). `payment_id` may be empty.
    pub async fn enqueue_alarm(
        &self,
        tenant_id: &civicpay_core::TenantId,
        payment_id: &str,
        body: WebhookBody,
    ) -> Result<(), StoreError> {
        let mut tx = self.db.begin_write().await?;
        queue_event(&mut tx, tenant_id, payment_id, body).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Queues an event for the city's webhook endpoint inside the caller's
/// transaction: the change and its report stand or fall together.
pub(super) async fn queue_event(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    tenant_id: &civicpay_core::TenantId,
    payment_id: &str,
    body: WebhookBody,
) -> Result<(), StoreError> {
    let now = jiff::Timestamp::now();
    let event = WebhookEvent {
        id: uuid::Uuid::now_v7().to_string(),
        created_at: now,
        body,
    };
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, tenant_id, payment_id, event_type, payload, status, attempts, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)",
    )
    .bind(event.id.as_str())
    .bind(tenant_id.as_str())
    .bind(payment_id)
    .bind(event.body.kind())
    .bind(crate::rows::to_json(&event)?)
    .bind(to_micros(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
