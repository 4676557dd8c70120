//! The back office's API: `POST /api/v1/bills` with a JSON array of bill
//! records, authenticated by the city's API key.

use crate::AppState;
use crate::error::PortalError;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use civicpay_core::Tenant;
use civicpay_pay_api::{AttentionAlarm, CspAlarm, WebhookBody, WebhookEvent};
use civicpay_store::portal::bill_import::{ImportFormat, ImportOptions, ImportReport, Location};
use serde::Deserialize;
use serde_json::json;
use std::io::Cursor;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ImportParams {
    #[serde(default)]
    skip_invalid: bool,
}

async fn authenticated_tenant(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Tenant, PortalError> {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(PortalError::Unauthorized)?;
    let tenant_id = state
        .store
        .tenant_for_api_key(key)
        .await?
        .ok_or(PortalError::Unauthorized)?;
    state
        .store
        .tenant(&tenant_id)
        .await?
        .ok_or(PortalError::Unauthorized)
}

pub(crate) async fn import_bills(
    State(state): State<AppState>,
    Query(params): Query<ImportParams>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PortalError> {
    let tenant = authenticated_tenant(&state, &headers).await?;
    let body = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => PortalError::TooLarge {
            limit: state.config.api_body_limit,
        },
        _ => PortalError::BadRequest(e.body_text()),
    })?;
    let options = ImportOptions {
        skip_invalid: params.skip_invalid,
        ..ImportOptions::new(ImportFormat::Json)
    };
    let report = state
        .store
        .import_bills(&tenant, Cursor::new(body.to_vec()), options)
        .await?;
    let status = if report.written {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Json(report_json(&report))).into_response())
}

fn report_json(report: &ImportReport) -> serde_json::Value {
    let errors: Vec<serde_json::Value> = report
        .errors
        .iter()
        .map(|e| {
            let record = match e.location {
                Location::Record(n) | Location::Line(n) => Some(n),
                Location::Input => None,
            };
            json!({ "record": record, "field": e.field, "message": e.reason })
        })
        .collect();
    json!({
        "written": report.written,
        "records": report.records,
        "inserted": report.counts.inserted,
        "updated": report.counts.updated,
        "unchanged": report.counts.unchanged,
        "invalid": report.invalid,
        "errors": errors,
    })
}

/// `POST /api/v1/pay-webhooks/{city}`: pay reports a finished payment. The
/// signature (a secret derived for this city) is checked before anything
/// is read; the bill is credited once, whether this or the resident's
/// return arrives first.
pub(crate) async fn pay_webhook(
    State(state): State<AppState>,
    axum::extract::Path(slug): axum::extract::Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, PortalError> {
    use civicpay_web::webhook_signature::{HEADER, verify};
    let slug = civicpay_core::TenantSlug::parse(&slug).map_err(|_| PortalError::NotFound)?;
    let tenant = state
        .store
        .tenant_by_slug(&slug)
        .await?
        .ok_or(PortalError::NotFound)?;
    let link = state.config.pay.as_ref().ok_or(PortalError::NotFound)?;
    let secret =
        civicpay_web::service_key::portal_webhook_secret(&link.service_key, tenant.id.as_str());
    let signature = headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or(PortalError::Unauthorized)?;
    verify(
        &secret,
        signature,
        &body,
        jiff::Timestamp::now().as_second(),
        300,
    )
    .map_err(|e| {
        tracing::warn!(city = %tenant.slug, error = %e, "webhook signature refused");
        PortalError::Unauthorized
    })?;
    let event: WebhookEvent = serde_json::from_slice(&body)
        .map_err(|e| PortalError::BadRequest(format!("webhook body is not an event: {e}")))?;
    let payment = match event.body {
        WebhookBody::CspViolation { alarm } => {
            record_csp_alarm(&state, &tenant, &alarm).await?;
            return Ok(StatusCode::OK);
        }
        WebhookBody::NeedsAttention { alarm } => {
            record_attention_alarm(&state, &tenant, &alarm).await?;
            return Ok(StatusCode::OK);
        }
        WebhookBody::PaymentSucceeded { payment }
        | WebhookBody::PaymentCancelled { payment }
        | WebhookBody::PaymentExpired { payment }
        | WebhookBody::PaymentFailed { payment } => payment,
        WebhookBody::Other => return Ok(StatusCode::OK),
    };
    let Some(local_id) = payment.bill_payment_id() else {
        // Not a payment the portal started (another city system's): fine.
        return Ok(StatusCode::OK);
    };
    let Some(record) = state.store.bill_payment(&tenant.id, local_id).await? else {
        return Ok(StatusCode::OK);
    };
    // Metadata is whatever the payment's creator wrote: the payment must be
    // the one this record started, or anyone holding the city's pay key
    // could have another bill credited.
    let reported = payment.payment_id.as_str();
    if let Some(ours) = record.pay_payment_id.as_deref()
        && ours != reported
    {
        tracing::warn!(city = %tenant.slug, bill_payment = local_id, reported, "webhook names a payment this bill payment did not start; not credited");
        return Ok(StatusCode::OK);
    }
    super::crediting::credit(&state, &tenant, local_id, &payment.outcome()).await?;
    Ok(StatusCode::OK)
}

/// An alarm from pay: into the city's audit log, then to its contact by
/// e-mail (mail trouble is logged; the audit entry stands either way).
async fn alarm_city(
    state: &AppState,
    tenant: &civicpay_core::Tenant,
    action: civicpay_audit::Action,
    target: String,
    alarm: &impl serde::Serialize,
    subject: String,
    body: String,
) -> Result<(), PortalError> {
    state
        .store
        .append_audit(civicpay_audit::NewEntry::new(
            civicpay_audit::ChainId::Tenant(tenant.id.clone()),
            "system:pay",
            action,
            target,
            serde_json::to_value(alarm).unwrap_or_default(),
        ))
        .await?;
    if let Some(mail) = &state.config.mail
        && let Err(e) = mail.send_text(&tenant.contact.email, &subject, &body).await
    {
        tracing::error!(error = %e, action = action.code(), "could not e-mail the alarm");
    }
    Ok(())
}

/// Reconciliation cannot settle a payment or refund: no money may sit
/// unexplained, so the city hears of it at once.
async fn record_attention_alarm(
    state: &AppState,
    tenant: &civicpay_core::Tenant,
    alarm: &AttentionAlarm,
) -> Result<(), PortalError> {
    tracing::error!(city = %tenant.slug, payment = %alarm.payment_id, reason = %alarm.reason, "PAYMENT NEEDS ATTENTION");
    let what = match &alarm.refund_id {
        None => format!("Payment {}", alarm.payment_id),
        Some(refund) => format!("Refund {refund} of payment {}", alarm.payment_id),
    };
    let body = format!(
        "{what} could not be settled with the card acquirer ({}).\n\n\
         The money is held as it stands; nothing will be charged or refunded again \
         automatically. Check the transaction with the acquirer, then settle it. \
         It is listed under \"Needs attention\" in the staff console.",
        alarm.reason,
    );
    alarm_city(
        state,
        tenant,
        civicpay_audit::Action::PaymentNeedsAttention,
        format!("payment:{}", alarm.payment_id),
        alarm,
        format!("Payment needs attention ({})", tenant.slug),
        body,
    )
    .await
}

/// A browser blocked something on one of the city's card pages.
async fn record_csp_alarm(
    state: &AppState,
    tenant: &civicpay_core::Tenant,
    alarm: &CspAlarm,
) -> Result<(), PortalError> {
    tracing::error!(city = %tenant.slug, blocked = %alarm.blocked_uri, "CSP ALARM on a card page");
    let body = format!(
        "A browser refused to load {} ({}) on a card page of {}:\n{}\n\n\
         The card page loads no script; something tried to add one. Treat this as a possible \
         skimming attack: run `civicpay monitor --once` and, if confirmed, `civicpay incident scope`.",
        alarm.blocked_uri, alarm.violated_directive, tenant.slug, alarm.document_uri,
    );
    alarm_city(
        state,
        tenant,
        civicpay_audit::Action::CspViolation,
        alarm.document_uri.clone(),
        alarm,
        format!(
            "SECURITY ALARM: blocked content on the card page ({})",
            tenant.slug
        ),
        body,
    )
    .await
}
