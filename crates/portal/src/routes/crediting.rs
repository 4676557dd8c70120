//! Crediting a bill with a finished payment, from whichever signal arrives
//! first (the resident's return or pay's webhook), and sending the receipt
//! e-mail exactly when the credit is applied.

use crate::AppState;
use crate::error::PortalError;
use crate::receipt_mail::Receipt;
use civicpay_core::{Language, Money, Tenant};
use civicpay_store::bill_payments::PayOutcome;
use civicpay_web::Translator;
use serde_json::Value;

/// What pay says about a payment, read from its JSON (API or webhook).
pub(crate) fn outcome_of(payment: &Value) -> PayOutcome {
    let text_at = |pointer: &str| {
        payment
            .pointer(pointer)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    PayOutcome {
        status: text_at("/state/status")
            .or_else(|| text_at("/status"))
            .unwrap_or_default(),
        captured: payment
            .get("captured_amount")
            .and_then(Value::as_i64)
            .unwrap_or(0),
        card_brand: text_at("/card/brand"),
        card_last4: text_at("/card/last4"),
        email: text_at("/email"),
    }
}

pub(crate) use civicpay_core::export::card_brand_name as brand_name;

/// Records the outcome; if this call credited the bill, e-mails a receipt
/// to the address the resident gave (or the bill's). Mail trouble is
/// logged, never a failed request: the payment stands either way.
pub(crate) async fn credit(
    state: &AppState,
    tenant: &Tenant,
    local_id: &str,
    payment: &Value,
) -> Result<bool, PortalError> {
    let outcome = outcome_of(payment);
    let applied = state
        .store
        .record_pay_outcome(&tenant.id, local_id, &outcome)
        .await?;
    let Some(mail) = &state.config.mail else {
        return Ok(applied);
    };
    if !applied {
        return Ok(false);
    }
    let Some(record) = state.store.bill_payment(&tenant.id, local_id).await? else {
        return Ok(applied);
    };
    let Some(bill) = state.store.bill(&tenant.id, &record.bill_id).await? else {
        return Ok(applied);
    };
    let to = payment
        .get("email")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| bill.email.clone());
    let Some(to) = to else {
        return Ok(applied);
    };
    let language = payment
        .get("language")
        .and_then(Value::as_str)
        .and_then(|l| Language::parse(l).ok())
        .unwrap_or(tenant.default_language);
    let t = Translator::new(language);
    let paid_at = jiff::Timestamp::now().to_zoned(tenant.time_zone.time_zone());
    let receipt = Receipt {
        city: tenant.name.get(language).to_owned(),
        bill_reference: bill.reference.to_string(),
        amount: Money::from_minor(outcome.captured, record.amount.currency()).format(language),
        card: outcome
            .card_last4
            .as_ref()
            .map(|last4| format!("{} •••• {last4}", brand_name(outcome.card_brand.as_deref()))),
        paid_at: format!(
            "{} {}",
            t.date(paid_at.date()),
            paid_at.strftime("%H:%M %Z")
        ),
        payment_id: record.pay_payment_id.clone().unwrap_or_default(),
        contact: t.args(
            "receipt-contact",
            &[
                ("name", &tenant.contact.name),
                ("phone", &tenant.contact.phone),
                ("email", &tenant.contact.email),
            ],
        ),
    };
    if let Err(e) = mail.send_receipt(&t, &to, &receipt).await {
        tracing::warn!(city = %tenant.slug, error = %e, "receipt e-mail not sent");
    }
    Ok(applied)
}
