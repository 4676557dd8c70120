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
use civicpay_store::bill_import::{ImportFormat, ImportOptions, ImportReport, Location};
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
