//! Crediting a bill with a finished payment, from whichever signal arrives
//! first (the resident's return or pay's webhook), and sending the receipt
//! e-mail exactly when the credit is applied.

use crate::AppState;
use crate::error::PortalError;
use crate::receipt_mail::Receipt;
use civicpay_core::Tenant;
use civicpay_pay_api::{CardSummary, PaymentOutcome};
use civicpay_web::Translator;

pub(crate) use civicpay_core::export::card_brand_name as brand_name;

/// "Visa •••• 4242", as receipts and pages name a card.
pub(crate) fn card_text(card: &CardSummary) -> String {
    format!("{} •••• {}", brand_name(card.brand.as_deref()), card.last4)
}

/// Records the outcome; if this call credited the bill, e-mails a receipt
/// to the address the resident gave (or the bill's). Mail trouble is
/// logged, never a failed request: the payment stands either way.
pub(crate) async fn credit(
    state: &AppState,
    tenant: &Tenant,
    local_id: &str,
    outcome: &PaymentOutcome,
) -> Result<bool, PortalError> {
    let applied = state
        .store
        .record_pay_outcome(&tenant.id, local_id, outcome)
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
    let to = outcome.email.clone().or_else(|| bill.email.clone());
    let Some(to) = to else {
        return Ok(applied);
    };
    let language = outcome.language.unwrap_or(tenant.default_language);
    let t = Translator::new(language);
    let paid_at = jiff::Timestamp::now().to_zoned(tenant.time_zone.time_zone());
    let receipt = Receipt {
        city: tenant.name.get(language).to_owned(),
        bill_reference: bill.reference.to_string(),
        amount: outcome.captured.format(language),
        fee: t.fee_breakdown(outcome.captured, outcome.fee),
        card: outcome.card.as_ref().map(card_text),
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
