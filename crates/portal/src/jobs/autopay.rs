//! Autopay: on a bill's due date, pay its balance with the resident's
//! saved card through the same path as any payment (channel `autopay`).
//!
//! Exactly once: each bill gets one run row (its primary key), runs are
//! claimed so two instances never take the same one, and the portal's
//! payment record is saved on the run before pay is asked, so a runner
//! that takes over a stale claim asks pay again under the same
//! idempotency key and pay charges once.

use super::JobReport;
use crate::AppState;
use crate::account::mail::ResidentMail;
use crate::error::PortalError;
use crate::routes::resident::{StartPayment, start_bill_payment};
use civicpay_audit::{Action, ChainId, NewEntry};
use civicpay_core::payment::{Channel, PaymentStatus};
use civicpay_core::resident::{AutopayDecision, autopay_decision, resumed_autopay_decision};
use civicpay_core::{Bill, Money, Tenant};
use civicpay_store::portal::autopay::{AutopayEnrolment, AutopayRun, RunStatus};
use civicpay_store::portal::bill_payments::BillPayment;
use civicpay_store::portal::residents::Resident;
use civicpay_web::Translator;
use serde_json::json;

/// A claim older than this with no outcome is taken up again: long enough
/// for any pay request to have ended (its client gives up after 15 s).
const STALE_AFTER: jiff::SignedDuration = jiff::SignedDuration::from_mins(10);

pub(super) async fn run(
    state: &AppState,
    tenant: &Tenant,
    today: jiff::civil::Date,
    runner: &str,
    report: &mut JobReport,
) -> Result<(), PortalError> {
    report.scheduled += state.store.schedule_autopay(&tenant.id, today).await?;
    let stale_before = jiff::Timestamp::now()
        .checked_sub(STALE_AFTER)
        .map_err(|_| PortalError::Internal("clock out of range"))?;
    let mut seen = std::collections::HashSet::new();
    while let Some(run) = state
        .store
        .claim_autopay_run(&tenant.id, runner, stale_before)
        .await?
    {
        // A run left unsettled in this pass is not retried until it is
        // stale; this guards against looping on it if the clock jumps.
        if !seen.insert(run.bill_id.clone()) {
            break;
        }
        settle(state, tenant, &run, report).await?;
    }
    Ok(())
}

fn note(tenant: &Tenant, bill: &Bill, status: RunStatus, details: serde_json::Value) -> NewEntry {
    NewEntry::new(
        ChainId::Tenant(tenant.id.clone()),
        "system:autopay",
        Action::AutopayCharged,
        format!("bill:{}", bill.id),
        json!({ "status": status.code(), "details": details }),
    )
}

async fn finish(
    state: &AppState,
    tenant: &Tenant,
    bill: &Bill,
    status: RunStatus,
    detail: &str,
    details: serde_json::Value,
) -> Result<(), PortalError> {
    state
        .store
        .finish_autopay_run(
            &tenant.id,
            &bill.id,
            status,
            detail,
            note(tenant, bill, status, details),
        )
        .await?;
    Ok(())
}

async fn settle(
    state: &AppState,
    tenant: &Tenant,
    run: &AutopayRun,
    report: &mut JobReport,
) -> Result<(), PortalError> {
    let Some(bill) = state.store.bill(&tenant.id, &run.bill_id).await? else {
        return Ok(());
    };
    let enrolment = state.store.autopay_for_bill(&tenant.id, &bill.id).await?;
    let resident = state.store.resident(&tenant.id, &run.resident_id).await?;
    let (Some(enrolment), Some(resident)) = (enrolment, resident) else {
        report.skipped += 1;
        return finish(
            state,
            tenant,
            &bill,
            RunStatus::Skipped,
            "autopay was turned off",
            json!({}),
        )
        .await;
    };
    let earlier = match &run.bill_payment_id {
        Some(id) => state.store.bill_payment(&tenant.id, id).await?,
        None => None,
    };
    let decision = match &earlier {
        Some(earlier) => resumed_autopay_decision(earlier.amount, enrolment.cap),
        None => {
            let partial = state
                .store
                .bill_types(&tenant.id)
                .await?
                .into_iter()
                .find(|t| t.id == bill.bill_type_id)
                .and_then(|t| t.partial);
            autopay_decision(&bill, partial.as_ref(), enrolment.rule())
        }
    };
    let t = Translator::new(resident.language);
    match decision {
        AutopayDecision::NothingToPay => {
            report.skipped += 1;
            finish(
                state,
                tenant,
                &bill,
                RunStatus::Skipped,
                "nothing to pay",
                json!({}),
            )
            .await
        }
        AutopayDecision::OverCap { balance, cap } => {
            report.skipped += 1;
            finish(
                state,
                tenant,
                &bill,
                RunStatus::Skipped,
                "over the resident's cap",
                json!({ "balance": balance.minor(), "cap": cap.minor() }),
            )
            .await?;
            let body = t.args(
                "mail-autopay-over-cap-body",
                &[
                    ("reference", bill.reference.as_str()),
                    ("amount", &balance.format(t.language())),
                    ("cap", &cap.format(t.language())),
                ],
            );
            tell(
                state,
                tenant,
                &resident,
                &t,
                "mail-autopay-failed-subject",
                body,
                report,
            )
            .await;
            Ok(())
        }
        AutopayDecision::Pay(amount) => {
            let charge_of = Charge {
                bill: &bill,
                enrolment: &enrolment,
                resident: &resident,
                amount,
                earlier: earlier.as_ref(),
            };
            charge(state, tenant, charge_of, report).await
        }
    }
}

/// One charge autopay is about to ask pay for.
struct Charge<'a> {
    bill: &'a Bill,
    enrolment: &'a AutopayEnrolment,
    resident: &'a Resident,
    amount: Money,
    /// The record a runner before this one made and sent.
    earlier: Option<&'a BillPayment>,
}

async fn charge(
    state: &AppState,
    tenant: &Tenant,
    charge: Charge<'_>,
    report: &mut JobReport,
) -> Result<(), PortalError> {
    let Charge {
        bill,
        enrolment,
        resident,
        amount,
        earlier,
    } = charge;
    let Some(link) = &state.config.pay else {
        report.unsettled += 1;
        return Ok(());
    };
    let made;
    let earlier = match earlier {
        Some(earlier) => earlier,
        None => {
            let id = state
                .store
                .create_bill_payment(&tenant.id, &bill.id, amount, Some(&resident.id))
                .await?;
            state
                .store
                .set_autopay_payment(&tenant.id, &bill.id, &id)
                .await?;
            made = state
                .store
                .bill_payment(&tenant.id, &id)
                .await?
                .ok_or(PortalError::Internal("a payment record vanished"))?;
            &made
        }
    };
    let return_path = |local: &str| format!("/{}/payments/{local}/return", tenant.slug);
    let started = start_bill_payment(
        state,
        link,
        tenant,
        bill,
        StartPayment {
            channel: Channel::Autopay,
            amount: None,
            language: resident.language,
            return_path: &return_path,
            started_by: Some("autopay"),
            resident: Some(&resident.id),
            saved_card: Some(&enrolment.card_token),
            earlier: Some(earlier),
        },
    )
    .await;
    let started = match started {
        Ok(started) => started,
        Err(PortalError::PayUnavailable) => {
            tracing::warn!(city = %tenant.slug, bill = %bill.id, "autopay: pay did not answer; will retry");
            report.unsettled += 1;
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let outcome = started.payment.outcome();
    state
        .store
        .record_pay_outcome(&tenant.id, &started.local_id, &outcome)
        .await?;
    let pay_id = started.payment.payment_id.to_string();
    let language = resident.language;
    let t = Translator::new(language);
    let finished = started.payment.state.finished;
    let args = |key: &str| {
        t.args(
            key,
            &[
                ("reference", bill.reference.as_str()),
                ("amount", &amount.format(language)),
                ("card", &enrolment.card_label),
                ("payment", &pay_id),
            ],
        )
    };
    match (outcome.status, finished) {
        (PaymentStatus::Success, _) => {
            report.paid += 1;
            finish(
                state,
                tenant,
                bill,
                RunStatus::Paid,
                &pay_id,
                json!({ "amount": amount.minor(), "payment": pay_id }),
            )
            .await?;
            let body = args("mail-autopay-paid-body");
            tell(
                state,
                tenant,
                resident,
                &t,
                "mail-autopay-paid-subject",
                body,
                report,
            )
            .await;
        }
        (_, true) => {
            report.failed += 1;
            finish(
                state,
                tenant,
                bill,
                RunStatus::Failed,
                outcome.status.code(),
                json!({ "amount": amount.minor(), "payment": pay_id }),
            )
            .await?;
            let body = args("mail-autopay-failed-body");
            tell(
                state,
                tenant,
                resident,
                &t,
                "mail-autopay-failed-subject",
                body,
                report,
            )
            .await;
        }
        // Still in flight at pay (a slow acquirer): pay settles it, and a
        // later pass asks again under the same key.
        _ => report.unsettled += 1,
    }
    Ok(())
}

async fn tell(
    state: &AppState,
    tenant: &Tenant,
    resident: &Resident,
    t: &Translator,
    subject_key: &str,
    body: String,
    report: &mut JobReport,
) {
    let Some(email) = &resident.email else {
        return;
    };
    let sent = ResidentMail::new(t.get(subject_key))
        .says(body)
        .says(t.get("mail-open-account"))
        .link(crate::account::public_link(
            state,
            &format!("{}/", crate::account::prefix(tenant)),
        ))
        .send(state, tenant, t, email)
        .await;
    if sent {
        report.emails += 1;
    }
}
