//! Background jobs that leave no money unexplained. Reconciliation asks
//! the acquirer about every payment and refund that waits on it (lost
//! answers, timeouts, crashes at any point) and does what the recovery
//! table in `core` says; it then walks the acquirer's own records for the
//! day and voids or refunds any authorisation no successful payment
//! accounts for. Expiry closes payments that were never submitted.
//!
//! Each row is claimed before anything is sent, so two instances never act
//! on it at once; a claim lapses, so a crashed instance's rows are taken
//! over.

use crate::PayState;
use civicpay_core::payment::{
    AcquirerAnswer, Facts, PaymentEvent, PaymentStatus, Recovery, Waiting, recover,
};
use civicpay_core::{Money, PaymentId};
use civicpay_gateway::{GatewayError, RefundInquiry, StatusInquiry};
use civicpay_store::StoreError;
use civicpay_store::pay::{AwaitingOutcome, PaymentChange, RefundAwaitingOutcome, TransitionError};
use std::time::Duration;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReconcileReport {
    pub checked: usize,
    pub succeeded: usize,
    pub declined: usize,
    pub failed: usize,
    pub cancelled: usize,
    /// Still unknown (the acquirer could not be asked, or may still answer).
    pub pending: usize,
    /// Flagged for a person (the alarm goes out once per row).
    pub attention: usize,
    pub refunds_checked: usize,
    pub refunds_settled: usize,
    /// Authorisations at the acquirer that no payment accounts for, voided
    /// or refunded.
    pub orphans: usize,
    pub expired: usize,
}

/// How long an acquirer may take before "no record" means "never arrived".
pub const NOT_FOUND_GRACE: Duration = Duration::from_secs(300);
/// How long a row may stay unsettled before a person is told.
pub const ALARM_AFTER: Duration = Duration::from_secs(3600);

/// The times a sweep works with.
#[derive(Debug, Clone, Copy)]
pub struct Sweep {
    /// Leave rows younger than this alone: their own request may still be
    /// in flight.
    pub settle_after: Duration,
    pub not_found_grace: Duration,
    pub alarm_after: Duration,
    /// How long one sweep holds a row: longer than its acquirer calls can
    /// take, short enough that a crashed instance's rows are soon taken over.
    pub claim_for: Duration,
    /// Also walk the acquirer's records for the day (a whole day's report:
    /// done less often than the sweep of our own waiting rows).
    pub orphans: bool,
}

impl Sweep {
    /// What the recovery table needs to know besides the answer, for a row
    /// waiting since `since`.
    fn facts(&self, amount: Money, since: jiff::Timestamp, now: jiff::Timestamp) -> Facts {
        let waited = now.duration_since(since);
        Facts {
            amount,
            past_grace: waited >= signed(self.not_found_grace),
            past_deadline: waited >= signed(self.alarm_after),
        }
    }
}

/// One sweep with the default alarm deadline.
pub async fn run_once(
    state: &PayState,
    settle_after: Duration,
    not_found_grace: Duration,
) -> Result<ReconcileReport, StoreError> {
    run(
        state,
        Sweep {
            settle_after,
            not_found_grace,
            alarm_after: ALARM_AFTER.max(not_found_grace),
            claim_for: Duration::from_secs(120),
            orphans: true,
        },
    )
    .await
}

pub(crate) fn signed(d: Duration) -> jiff::SignedDuration {
    jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX)
}

pub async fn run(state: &PayState, sweep: Sweep) -> Result<ReconcileReport, StoreError> {
    let now = jiff::Timestamp::now();
    let mut report = ReconcileReport::default();
    let cutoff = now - signed(sweep.settle_after);
    for item in state
        .store
        .payments_awaiting_outcome(cutoff, now, 500)
        .await?
    {
        if !state
            .store
            .claim_payment_for_recovery(
                &item.tenant_id,
                &item.payment_id,
                now,
                now + signed(sweep.claim_for),
            )
            .await?
        {
            continue;
        }
        report.checked += 1;
        let settled = settle_payment(state, &item, now, sweep).await;
        match &settled {
            Ok(Settled::Status(PaymentStatus::Success)) => report.succeeded += 1,
            Ok(Settled::Status(PaymentStatus::Declined)) => report.declined += 1,
            Ok(Settled::Status(PaymentStatus::Cancelled)) => report.cancelled += 1,
            Ok(Settled::Status(_)) => report.failed += 1,
            Ok(Settled::Pending) => report.pending += 1,
            Ok(Settled::Attention) => report.attention += 1,
            Err(e) => {
                tracing::warn!(payment = %item.payment_id, error = %e, "reconciliation could not settle a payment");
                report.pending += 1;
            }
        }
        // A settled row's transition cleared the claim; one left waiting is
        // freed for the next sweep at once.
        if !matches!(settled, Ok(Settled::Status(_))) {
            state
                .store
                .release_payment_claim(&item.tenant_id, &item.payment_id)
                .await?;
        }
    }
    for item in state
        .store
        .refunds_awaiting_outcome(cutoff, now, 500)
        .await?
    {
        if !state
            .store
            .claim_refund_for_recovery(
                &item.tenant_id,
                &item.refund_id,
                now,
                now + signed(sweep.claim_for),
            )
            .await?
        {
            continue;
        }
        report.refunds_checked += 1;
        let settled = settle_refund(state, &item, now, sweep).await;
        match &settled {
            Ok(Settled::Status(_)) => report.refunds_settled += 1,
            Ok(Settled::Attention) => report.attention += 1,
            Ok(Settled::Pending) => report.pending += 1,
            Err(e) => {
                tracing::warn!(refund = %item.refund_id, error = %e, "reconciliation could not settle a refund");
                report.pending += 1;
            }
        }
        if !matches!(settled, Ok(Settled::Status(_))) {
            state
                .store
                .release_refund_claim(&item.tenant_id, &item.refund_id)
                .await?;
        }
    }
    if sweep.orphans {
        report.orphans = crate::orphans::sweep(state, now, sweep).await?;
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

enum Settled {
    Status(PaymentStatus),
    Pending,
    Attention,
}

async fn step(
    state: &PayState,
    item: &AwaitingOutcome,
    event: PaymentEvent,
    change: PaymentChange,
) -> Result<Settled, TransitionError> {
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
        .map(|p| Settled::Status(p.status))
}

fn failure(code: &str) -> PaymentChange {
    PaymentChange {
        failure_code: Some(code.to_owned()),
        ..PaymentChange::default()
    }
}

/// Asks the acquirer about the payment's last attempt and does what the
/// recovery table says.
async fn settle_payment(
    state: &PayState,
    item: &AwaitingOutcome,
    now: jiff::Timestamp,
    sweep: Sweep,
) -> Result<Settled, TransitionError> {
    let Some(waiting) = Waiting::of_payment(item.status) else {
        return Ok(Settled::Pending);
    };
    let reference = civicpay_core::payment::acquirer_reference(&item.payment_id, item.attempts);
    let connector = state.connector(&item.tenant_id).await;
    let inquiry = connector.status(&reference).await;
    let answer = match &inquiry {
        Ok(found) => found.answer(item.amount.currency()),
        Err(e) => {
            tracing::warn!(payment = %item.payment_id, error = %e, "status inquiry failed");
            AcquirerAnswer::Error
        }
    };
    let authorisation_code = match &inquiry {
        Ok(
            StatusInquiry::Approved {
                authorisation_code, ..
            }
            | StatusInquiry::Captured {
                authorisation_code, ..
            },
        ) => Some(authorisation_code.clone()),
        _ => None,
    };
    let facts = sweep.facts(item.amount, item.submitted_at, now);
    let action = recover(waiting, answer, facts);
    tracing::info!(payment = %item.payment_id, waiting = waiting.code(), answer = answer.code(), ?action, "reconciliation");
    match action {
        Recovery::Wait => Ok(Settled::Pending),
        Recovery::Capture { amount } => {
            if waiting == Waiting::Submitted {
                step(
                    state,
                    item,
                    PaymentEvent::Authorised,
                    PaymentChange {
                        authorisation_code,
                        ..PaymentChange::default()
                    },
                )
                .await?;
            }
            match connector.capture(&reference, amount).await {
                Ok(()) => {
                    step(
                        state,
                        item,
                        PaymentEvent::Captured,
                        PaymentChange {
                            captured: Some(amount.minor()),
                            ..PaymentChange::default()
                        },
                    )
                    .await
                }
                Err(e) => {
                    // The capture may have landed: the next inquiry tells.
                    tracing::warn!(payment = %item.payment_id, error = %e, "capture during reconciliation unanswered; will ask again");
                    Ok(Settled::Pending)
                }
            }
        }
        Recovery::Void => match connector.void(&reference).await {
            Ok(()) => {
                step(
                    state,
                    item,
                    PaymentEvent::Cancelled,
                    PaymentChange::default(),
                )
                .await
            }
            Err(e) => {
                tracing::warn!(payment = %item.payment_id, error = %e, "void during reconciliation unanswered; will ask again");
                Ok(Settled::Pending)
            }
        },
        Recovery::RecordCaptured { captured } => {
            let event = if waiting == Waiting::Submitted {
                PaymentEvent::AuthorisedAndCaptured
            } else {
                PaymentEvent::Captured
            };
            step(
                state,
                item,
                event,
                PaymentChange {
                    authorisation_code,
                    captured: Some(captured.minor()),
                    ..PaymentChange::default()
                },
            )
            .await
        }
        Recovery::RecordDeclined => {
            let reason = match &inquiry {
                Ok(StatusInquiry::Declined { reason }) if !reason.is_empty() => reason.clone(),
                _ => "do_not_honour".to_owned(),
            };
            step(state, item, PaymentEvent::Declined, failure(&reason)).await
        }
        Recovery::RecordVoided if waiting == Waiting::CancelRequested => {
            step(
                state,
                item,
                PaymentEvent::Cancelled,
                PaymentChange::default(),
            )
            .await
        }
        Recovery::RecordVoided => step(state, item, PaymentEvent::Failed, failure("voided")).await,
        Recovery::RecordNotReceived => {
            step(
                state,
                item,
                PaymentEvent::Failed,
                failure("not_received_by_acquirer"),
            )
            .await
        }
        Recovery::Alarm(reason) => {
            if item.attention.is_none() {
                tracing::error!(payment = %item.payment_id, reason = reason.code(), "PAYMENT NEEDS ATTENTION: reconciliation cannot settle it");
            }
            state
                .store
                .flag_payment_for_attention(&item.tenant_id, &item.payment_id, reason.code())
                .await?;
            Ok(Settled::Attention)
        }
        Recovery::RecordRefunded
        | Recovery::RecordRefundRefused
        | Recovery::ResendRefund { .. } => Ok(Settled::Pending),
    }
}

/// Asks the acquirer about a refund and does what the recovery table says.
async fn settle_refund(
    state: &PayState,
    item: &RefundAwaitingOutcome,
    now: jiff::Timestamp,
    sweep: Sweep,
) -> Result<Settled, StoreError> {
    let reference = civicpay_core::payment::acquirer_reference(&item.payment_id, item.attempts);
    let connector = state.connector(&item.tenant_id).await;
    let answer = match connector
        .refund_status(&reference, item.refund_id.as_str())
        .await
    {
        Ok(RefundInquiry::NotFound) => AcquirerAnswer::NotFound,
        Ok(RefundInquiry::Refunded { amount }) => AcquirerAnswer::Refunded {
            amount: Money::from_minor(amount, item.amount.currency()),
        },
        Err(e) => {
            tracing::warn!(refund = %item.refund_id, error = %e, "refund inquiry failed");
            AcquirerAnswer::Error
        }
    };
    let facts = sweep.facts(item.amount, item.submitted_at, now);
    let action = recover(Waiting::RefundSubmitted, answer, facts);
    tracing::info!(refund = %item.refund_id, answer = answer.code(), ?action, "reconciliation");
    let finish = |succeeded: bool| async move {
        state
            .store
            .finish_refund(&item.tenant_id, &item.refund_id, succeeded)
            .await
            .map(|()| Settled::Status(PaymentStatus::Success))
    };
    match action {
        Recovery::RecordRefunded => finish(true).await,
        Recovery::RecordRefundRefused => finish(false).await,
        Recovery::ResendRefund { amount } => {
            match connector
                .refund(&reference, item.refund_id.as_str(), amount)
                .await
            {
                Ok(()) => finish(true).await,
                Err(GatewayError::Refused(detail)) => {
                    tracing::warn!(refund = %item.refund_id, detail, "the acquirer refused the refund sent again");
                    finish(false).await
                }
                Err(e) => {
                    tracing::warn!(refund = %item.refund_id, error = %e, "refund sent again, unanswered; will ask again");
                    Ok(Settled::Pending)
                }
            }
        }
        Recovery::Alarm(reason) => {
            state
                .store
                .flag_refund_for_attention(
                    &item.tenant_id,
                    &item.refund_id,
                    &item.payment_id,
                    reason.code(),
                )
                .await?;
            Ok(Settled::Attention)
        }
        Recovery::Wait
        | Recovery::Capture { .. }
        | Recovery::Void
        | Recovery::RecordCaptured { .. }
        | Recovery::RecordDeclined
        | Recovery::RecordVoided
        | Recovery::RecordNotReceived => Ok(Settled::Pending),
    }
}

/// Our reference for an attempt, split: payment id and attempt number.
pub(crate) fn parse_reference(reference: &str) -> Option<(PaymentId, i64)> {
    let (id, attempt) = reference.rsplit_once('.')?;
    Some((PaymentId::parse(id).ok()?, attempt.parse().ok()?))
}
