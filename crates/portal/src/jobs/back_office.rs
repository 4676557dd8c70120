//! Sends each city's queued back-office notices, signed with the city's
//! own key (`civicpay city webhook-secret`), the way pay signs its
//! webhooks: `Civicpay-Signature: t=…,v1=HMAC-SHA256("t.body")`. A notice
//! the back office does not take (no answer, or not 2xx) is tried again
//! with back-off until it does.

use super::JobReport;
use crate::AppState;
use crate::error::PortalError;
use civicpay_core::Tenant;
use civicpay_core::back_office::retry_after;
use civicpay_store::portal::back_office::BackOfficeNotice;
use civicpay_web::service_key::back_office_secret;
use civicpay_web::webhook_signature::{HEADER, sign};
use std::time::Duration;

/// Notices sent per city per pass; the rest wait for the next.
const BATCH: u32 = 100;

pub(super) async fn run(
    state: &AppState,
    tenant: &Tenant,
    report: &mut JobReport,
) -> Result<(), PortalError> {
    // Without pay there are no payments to tell of, and no shared key.
    let (Some(url), Some(link)) = (&tenant.back_office, &state.config.pay) else {
        return Ok(());
    };
    let secret = back_office_secret(&link.service_key, tenant.id.as_str());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|_| PortalError::Internal("could not build an HTTP client"))?;
    let now = jiff::Timestamp::now();
    for notice in state
        .store
        .due_back_office_notices(&tenant.id, now, BATCH)
        .await?
    {
        let lease = now + jiff::SignedDuration::from_secs(60);
        if !state
            .store
            .claim_back_office_notice(&tenant.id, &notice, lease)
            .await?
        {
            continue;
        }
        let outcome = match send(&http, url.as_str(), &secret, &notice).await {
            Ok(()) => {
                report.notices_sent += 1;
                Ok(jiff::Timestamp::now())
            }
            Err(problem) => {
                report.notices_failed += 1;
                tracing::warn!(city = %tenant.slug, notice = %notice.id, problem, "back-office notice not taken; will retry");
                Err((problem, now + retry_after(notice.attempts + 1)))
            }
        };
        state
            .store
            .finish_back_office_attempt(&tenant.id, &notice.id, outcome)
            .await?;
    }
    Ok(())
}

async fn send(
    http: &reqwest::Client,
    url: &str,
    secret: &str,
    notice: &BackOfficeNotice,
) -> Result<(), String> {
    let signature = sign(
        secret,
        jiff::Timestamp::now().as_second(),
        notice.body.as_bytes(),
    );
    let answer = http
        .post(url)
        .header("content-type", "application/json")
        .header(HEADER, signature)
        .header("civicpay-event", notice.event.as_str())
        .header("civicpay-notice", notice.id.as_str())
        .body(notice.body.clone())
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "the back office did not answer within 10 s".to_owned()
            } else {
                "could not connect to the back office".to_owned()
            }
        })?;
    if answer.status().is_success() {
        Ok(())
    } else {
        Err(format!("the back office answered {}", answer.status()))
    }
}
