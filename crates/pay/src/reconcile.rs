//! Background jobs that leave no payment unknown: reconciliation asks the
//! acquirer about every payment whose outcome we never heard (timeouts,
//! crashes), and expiry closes payments that were never submitted.

use crate::PayState;
use civicpay_core::payment::{PaymentEvent, PaymentStatus};
use civicpay_gateway::StatusInquiry;
use civicpay_store::StoreError;
use civicpay_store::pay::{AwaitingOutcome, PaymentChange, TransitionError};
use std::time::Duration;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReconcileReport {
    pub checked: usize,
    pub succeeded: usize,
    pub declined: usize,
    pub failed: usize,
    /// Still unknown (the acquirer could not be asked, or may still answer).
    pub pending: usize,
    pub expired: usize,
}

/// How long an acquirer may take before "no record" means "never arrived".
pub const NOT_FOUND_GRACE: Duration = Duration::from_secs(300);

pub async fn run_once(
    state: &PayState,
    settle_after: Duration,
    not_found_grace: Duration,
) -> Result<ReconcileReport, StoreError> {
    let now = jiff::Timestamp::now();
    let mut report = ReconcileReport::default();
    let cutoff = now - jiff::SignedDuration::try_from(settle_after).unwrap_or_default();
    for item in state.store.payments_awaiting_outcome(cutoff, 500).await? {
        report.checked += 1;
        match settle(state, &item, now, not_found_grace).await {
            Ok(Some(PaymentStatus::Success)) => report.succeeded += 1,
            Ok(Some(PaymentStatus::Declined)) => report.declined += 1,
            Ok(Some(_)) => report.failed += 1,
            Ok(None) => report.pending += 1,
            Err(e) => {
                tracing::warn!(payment = %item.payment_id, error = %e, "reconciliation could not settle a payment");
                report.pending += 1;
            }
        }
    }
    for (tenant_id, payment_id) in state.store.payments_past_expiry(now, 500).await? {
        match state
            .store
            .transition(
                &tenant_id,
                &payment_id,
                PaymentEvent::Expired,
                "expired unpaid",
                PaymentChange::default(),
            )
            .await
        {
            Ok(_) => report.expired += 1,
            Err(TransitionError::Store(e)) => return Err(e),
            Err(_) => {}
        }
    }
    Ok(report)
}

async fn step(
    state: &PayState,
    item: &AwaitingOutcome,
    event: PaymentEvent,
    change: PaymentChange,
) -> Result<PaymentStatus, TransitionError> {
    state
        .store
        .transition(
            &item.tenant_id,
            &item.payment_id,
            event,
            "reconciliation",
            change,
        )
        .await
        .map(|p| p.status)
}

/// Asks the acquirer about the payment's last attempt and records the
/// answer. `None`: nothing can be concluded yet.
async fn settle(
    state: &PayState,
    item: &AwaitingOutcome,
    now: jiff::Timestamp,
    grace: Duration,
) -> Result<Option<PaymentStatus>, TransitionError> {
    let reference = format!("{}.{}", item.payment_id, item.attempts);
    let answer = match state.connector.status(&reference).await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::warn!(payment = %item.payment_id, error = %e, "status inquiry failed");
            return Ok(None);
        }
    };
    let status = match answer {
        StatusInquiry::Captured {
            captured,
            authorisation_code,
            ..
        } => {
            step(
                state,
                item,
                PaymentEvent::Authorised,
                PaymentChange {
                    authorisation_code: Some(authorisation_code),
                    ..PaymentChange::default()
                },
            )
            .await?;
            step(
                state,
                item,
                PaymentEvent::Captured,
                PaymentChange {
                    captured: Some(captured),
                    ..PaymentChange::default()
                },
            )
            .await?
        }
        StatusInquiry::Approved {
            amount,
            authorisation_code,
        } => {
            step(
                state,
                item,
                PaymentEvent::Authorised,
                PaymentChange {
                    authorisation_code: Some(authorisation_code),
                    ..PaymentChange::default()
                },
            )
            .await?;
            let payment = state
                .store
                .payment(&item.tenant_id, &item.payment_id)
                .await?
                .ok_or(TransitionError::NotFound)?;
            match state.connector.capture(&reference, payment.amount).await {
                Ok(()) => {
                    step(
                        state,
                        item,
                        PaymentEvent::Captured,
                        PaymentChange {
                            captured: Some(amount),
                            ..PaymentChange::default()
                        },
                    )
                    .await?
                }
                Err(e) => {
                    tracing::warn!(payment = %item.payment_id, error = %e, "capture after reconciliation failed; will retry");
                    PaymentStatus::Authorised
                }
            }
        }
        StatusInquiry::Declined { reason } => {
            step(
                state,
                item,
                PaymentEvent::Declined,
                PaymentChange {
                    failure_code: Some(reason),
                    ..PaymentChange::default()
                },
            )
            .await?
        }
        StatusInquiry::Voided => {
            step(
                state,
                item,
                PaymentEvent::Failed,
                PaymentChange {
                    failure_code: Some("voided".into()),
                    ..PaymentChange::default()
                },
            )
            .await?
        }
        StatusInquiry::NotFound => {
            let waited = now.duration_since(item.submitted_at);
            if waited < jiff::SignedDuration::try_from(grace).unwrap_or_default() {
                return Ok(None);
            }
            step(
                state,
                item,
                PaymentEvent::Failed,
                PaymentChange {
                    failure_code: Some("not_received_by_acquirer".into()),
                    ..PaymentChange::default()
                },
            )
            .await?
        }
    };
    Ok(Some(status))
}
