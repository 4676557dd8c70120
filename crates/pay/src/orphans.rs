//! The orphan sweep: reconciliation's look at the acquirer's side. Every
//! authorisation the acquirer holds for today and yesterday must be
//! accounted for by a payment of ours (a success with that attempt, or one
//! still being settled). Anything else — a late approval after we gave up,
//! an attempt we recorded as declined, a reference we never made — is
//! voided, or refunded if it was captured, and written to the city's money
//! trail.

use crate::PayState;
use crate::reconcile::{Sweep, parse_reference};
use civicpay_core::Money;
use civicpay_core::payment::{Payment, PaymentStatus, Waiting};
use civicpay_gateway::{AcquirerRecord, Connector, StatusInquiry};
use civicpay_store::StoreError;

/// Whether our records explain the acquirer's.
fn accounted_for(payment: Option<&Payment>, attempt: i64) -> bool {
    let Some(payment) = payment else {
        return false;
    };
    if payment.attempts != attempt {
        return false;
    }
    payment.status == PaymentStatus::Success || Waiting::of_payment(payment.status).is_some()
}

pub(crate) async fn sweep(
    state: &PayState,
    now: jiff::Timestamp,
    sweep: Sweep,
) -> Result<usize, StoreError> {
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let mut settled = 0;
    for connector in state.connectors_in_use().await? {
        for day in [today.yesterday().unwrap_or(today), today] {
            let records = match connector.authorisations_on(day).await {
                Ok(records) => records,
                Err(e) => {
                    tracing::warn!(%day, error = %e, "cannot read the acquirer's records; orphans not swept");
                    continue;
                }
            };
            for record in records {
                if settle(state, connector.as_ref(), &record, now, sweep).await? {
                    settled += 1;
                }
            }
        }
    }
    Ok(settled)
}

/// Voids or refunds one record if nothing of ours accounts for it.
async fn settle(
    state: &PayState,
    connector: &dyn Connector,
    record: &AcquirerRecord,
    now: jiff::Timestamp,
    sweep: Sweep,
) -> Result<bool, StoreError> {
    let Some((payment_id, attempt)) = parse_reference(&record.reference) else {
        return Ok(false);
    };
    let (void, amount) = match &record.inquiry {
        StatusInquiry::Approved { amount, .. } => (true, *amount),
        StatusInquiry::Captured {
            captured, refunded, ..
        } if captured > refunded => (false, captured - refunded),
        _ => return Ok(false),
    };
    let payment = state.store.payment_for_acquirer_record(&payment_id).await?;
    if accounted_for(payment.as_ref(), attempt) {
        return Ok(false);
    }
    // A payment changed moments ago may still have its own request in
    // flight; its next state will say what the record means.
    if let Some(p) = &payment
        && now.duration_since(p.updated_at) < crate::reconcile::signed(sweep.settle_after)
    {
        return Ok(false);
    }
    let (what, done) = if void {
        ("voided", connector.void(&record.reference).await)
    } else {
        let currency = payment
            .as_ref()
            .map_or(civicpay_core::Currency::Usd, |p| p.amount.currency());
        (
            "refunded",
            connector
                .refund(
                    &record.reference,
                    &format!("orphan-{}", record.reference),
                    Money::from_minor(amount, currency),
                )
                .await,
        )
    };
    if let Err(e) = done {
        tracing::warn!(reference = %record.reference, error = %e, "could not settle an orphan authorisation; will try again");
        return Ok(false);
    }
    match &payment {
        Some(p) => {
            tracing::warn!(reference = %record.reference, what, amount, "an authorisation no payment accounts for was settled at the acquirer");
            state
                .store
                .record_orphan_settled(
                    &p.tenant_id,
                    &record.reference,
                    what,
                    amount,
                    p.amount.currency().code(),
                )
                .await?;
        }
        None => {
            tracing::error!(reference = %record.reference, what, amount, "an authorisation with no payment of ours at all was settled at the acquirer");
        }
    }
    Ok(true)
}
