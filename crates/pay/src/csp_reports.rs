//! `POST /csp-reports`: browsers report Content-Security-Policy violations
//! on pay's pages here, in the `report-uri` or the Reporting API format.
//! Each is stored; one about a card page raises an alarm (error log and a
//! signed webhook to the city's systems, which put it in the audit log and
//! tell the security contact): on a page that runs no script, a blocked
//! script is the strongest sign of a skimmer.

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

/// Reports one client address may send per window before being refused.
const REPORTS_PER_ADDRESS: u32 = 30;

/// The city and payment of a card page's address (`/card/{city}/{payment}`).
fn card_page_of(document_uri: &str) -> Option<(civicpay_core::TenantId, String)> {
    let path = url::Url::parse(document_uri).ok()?.path().to_owned();
    let mut parts = path.strip_prefix("/card/")?.split('/');
    let tenant = civicpay_core::TenantId::parse(parts.next()?).ok()?;
    let payment = parts.next().unwrap_or_default().to_owned();
    Some((tenant, payment))
}

pub(crate) async fn receive(
    State(state): State<PayState>,
    crate::card_page::Peer(peer): crate::card_page::Peer,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<StatusCode, PayError> {
    let client = civicpay_web::ClientIp::resolve(peer, &headers, &state.config.trusted_proxies);
    if let civicpay_store::rate_limits::RateDecision::Limited { .. } = state
        .store
        .rate_limit_hit(
            &format!("csp-report:{}", client.limit_key()),
            REPORTS_PER_ADDRESS,
            std::time::Duration::from_secs(600),
            jiff::Timestamp::now(),
        )
        .await?
    {
        return Ok(StatusCode::TOO_MANY_REQUESTS);
    }
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
        if let Some((tenant, payment)) = card_page_of(&stored.document_uri)
            && state.store.merchant(&tenant).await?.is_some()
        {
            tracing::error!(
                city = %tenant,
                directive = %stored.violated_directive,
                blocked = %stored.blocked_uri,
                "CSP ALARM: a browser blocked something on a card page"
            );
            state
                .store
                .enqueue_alarm(
                    &tenant,
                    &payment,
                    "integrity.csp_violation",
                    serde_json::json!({
                        "document_uri": stored.document_uri,
                        "violated_directive": stored.violated_directive,
                        "blocked_uri": stored.blocked_uri,
                        "received_at": stored.received_at.to_string(),
                    }),
                )
                .await?;
        }
    }
    Ok(StatusCode::NO_CONTENT)
}
