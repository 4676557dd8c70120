//! `POST /csp-reports`: browsers report Content-Security-Policy violations
//! on pay's pages here, in the `report-uri` or the Reporting API format.
//! Each is stored; one about a card page pay really served raises an alarm
//! (error log and a signed webhook to the city's systems, which put it in
//! the audit log and tell the security contact): on a page that runs no
//! script, a blocked script is the strongest sign of a skimmer. Reports
//! are anyone's to forge, so each counts against its sender's address, and
//! repeats of one page and directive are gathered into a few alarms with a
//! count.

use crate::PayState;
use crate::error::PayError;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use civicpay_store::pay::CspReport;
use civicpay_web::csp_report::Violation;

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
    let reports =
        civicpay_web::csp_report::parse(&body).map_err(|e| PayError::BadJson(e.to_string()))?;
    let now = jiff::Timestamp::now();
    for report in reports {
        // Each report counts against its sender, however many one body holds.
        if let civicpay_store::rate_limits::RateDecision::Limited { .. } = state
            .store
            .rate_limit_hit(
                &format!("csp-report:{}", client.limit_key()),
                REPORTS_PER_ADDRESS,
                WINDOW,
                now,
            )
            .await?
        {
            return Ok(StatusCode::TOO_MANY_REQUESTS);
        }
        receive_one(&state, report, now).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// How long reports of one document and directive are gathered into one
/// alarm, and the window of the per-address limit.
const WINDOW: std::time::Duration = std::time::Duration::from_secs(600);

/// The first report of a document and directive in a window raises an
/// alarm; after that only the 10th, 100th, 1,000th… do, each saying how
/// many arrived. A flood makes a handful of alarms, not one per report.
fn alarms_at(reports_in_window: i64) -> bool {
    let mut n = reports_in_window;
    while n >= 10 && n % 10 == 0 {
        n /= 10;
    }
    n == 1
}

async fn receive_one(
    state: &PayState,
    report: Violation,
    now: jiff::Timestamp,
) -> Result<(), PayError> {
    let stored = CspReport {
        received_at: now,
        document_uri: report.document_uri,
        violated_directive: report.violated_directive,
        blocked_uri: report.blocked_uri,
        report: report.report,
    };
    tracing::warn!(
        directive = %stored.violated_directive,
        blocked = %stored.blocked_uri,
        "content security policy violation reported on a pay page"
    );
    state.store.store_csp_report(&stored).await?;
    let Some((tenant, payment)) = card_page_of(&stored.document_uri) else {
        return Ok(());
    };
    // Only a page pay really served for this city can raise an alarm: a
    // report naming a payment that does not exist is kept, not alarmed.
    let Ok(payment_id) = civicpay_core::PaymentId::parse(&payment) else {
        return Ok(());
    };
    if state.store.payment(&tenant, &payment_id).await?.is_none() {
        return Ok(());
    }
    let seen = state
        .store
        .count_in_window(
            &format!("csp-alarm:{tenant}:{payment}:{}", stored.violated_directive),
            WINDOW,
            now,
        )
        .await?;
    if !alarms_at(seen) {
        return Ok(());
    }
    tracing::error!(
        city = %tenant,
        directive = %stored.violated_directive,
        blocked = %stored.blocked_uri,
        reports = seen,
        "CSP ALARM: a browser blocked something on a card page"
    );
    state
        .store
        .enqueue_alarm(
            &tenant,
            &payment,
            civicpay_pay_api::WebhookBody::CspViolation {
                alarm: civicpay_pay_api::CspAlarm {
                    document_uri: stored.document_uri,
                    violated_directive: stored.violated_directive,
                    blocked_uri: stored.blocked_uri,
                    received_at: stored.received_at,
                    reports_in_window: seen,
                },
            },
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::alarms_at;

    #[test]
    fn a_flood_alarms_at_the_first_report_and_each_power_of_ten() {
        let alarmed: Vec<i64> = (1..=10_000).filter(|n| alarms_at(*n)).collect();
        assert_eq!(alarmed, [1, 10, 100, 1_000, 10_000]);
        assert!(!alarms_at(0));
    }
}
