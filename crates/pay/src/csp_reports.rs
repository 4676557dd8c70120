//! `POST /csp-reports`: browsers report Content-Security-Policy violations
//! on the card page here. Each is stored and logged as a warning: on a page
//! that runs no script, any violation means something tried to.

use crate::PayState;
use crate::error::PayError;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use civicpay_store::pay::CspReport;
use serde_json::Value;

/// Reports larger than this are cut: they are evidence, not storage.
const MAX_REPORT: usize = 16 * 1024;

fn field(report: &Value, names: &[&str]) -> String {
    names
        .iter()
        .find_map(|n| report.get(*n).and_then(Value::as_str))
        .unwrap_or_default()
        .chars()
        .take(500)
        .collect()
}

pub(crate) async fn receive(
    State(state): State<PayState>,
    body: Bytes,
) -> Result<StatusCode, PayError> {
    let raw: Value = serde_json::from_slice(&body).map_err(|e| PayError::BadJson(e.to_string()))?;
    // `report-uri` sends {"csp-report": {...}}; the Reporting API sends
    // [{"type": "csp-violation", "body": {...}}, ...].
    let reports: Vec<Value> = match raw {
        Value::Object(ref o) if o.contains_key("csp-report") => {
            o.get("csp-report").cloned().into_iter().collect()
        }
        Value::Array(items) => items
            .into_iter()
            .filter_map(|i| i.get("body").cloned())
            .collect(),
        _ => return Err(PayError::BadJson("not a CSP report".into())),
    };
    for report in reports {
        let mut text = report.to_string();
        text.truncate(MAX_REPORT);
        let stored = CspReport {
            received_at: jiff::Timestamp::now(),
            document_uri: field(&report, &["document-uri", "documentURL"]),
            violated_directive: field(
                &report,
                &[
                    "violated-directive",
                    "effectiveDirective",
                    "effective-directive",
                ],
            ),
            blocked_uri: field(&report, &["blocked-uri", "blockedURL"]),
            report: text,
        };
        tracing::warn!(
            directive = %stored.violated_directive,
            blocked = %stored.blocked_uri,
            "content security policy violation reported on a pay page"
        );
        state.store.store_csp_report(&stored).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
