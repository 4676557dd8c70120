//! The resident's payments and their receipts, on screen and as PDF.
//! A payment is theirs if it was made while signed in, or as a guest with
//! the address this account has proved.

use super::views::{PaymentRow, PaymentsPage, ReceiptPage};
use super::{Frame, Signed};
use crate::AppState;
use crate::error::PortalError;
use crate::page::PageContext;
use crate::routes::crediting::brand_name;
use crate::views::Link;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use civicpay_core::{Money, Tenant};
use civicpay_store::portal::bill_payments::ResidentPayment;
use civicpay_web::Translator;

async fn payments_of(
    state: &AppState,
    signed: &Signed,
) -> Result<Vec<ResidentPayment>, PortalError> {
    Ok(state
        .store
        .resident_payments(
            &signed.tenant.id,
            &signed.resident.id,
            signed.resident.email.as_deref(),
        )
        .await?)
}

fn status_key(status: &str) -> &'static str {
    match status {
        "success" => "account-payment-status-success",
        "failed" | "declined" | "cancelled" | "expired" | "error" => {
            "account-payment-status-failed"
        }
        _ => "account-payment-status-other",
    }
}

/// When a payment was made, in the city's time zone, with the zone named.
fn paid_at(t: &Translator, tenant: &Tenant, payment: &ResidentPayment) -> String {
    let when = payment
        .payment
        .applied_at
        .unwrap_or(payment.payment.updated_at)
        .to_zoned(tenant.time_zone.time_zone());
    format!("{} {}", t.date(when.date()), when.strftime("%H:%M %Z"))
}

async fn bill_type_names(
    state: &AppState,
    tenant: &Tenant,
    t: &Translator,
) -> Result<Vec<(civicpay_core::BillTypeId, String)>, PortalError> {
    Ok(state
        .store
        .bill_types(&tenant.id)
        .await?
        .into_iter()
        .map(|b| (b.id, b.name.get(t.language()).to_owned()))
        .collect())
}

fn what(names: &[(civicpay_core::BillTypeId, String)], payment: &ResidentPayment) -> String {
    let name = names
        .iter()
        .find(|(id, _)| *id == payment.bill_type_id)
        .map(|(_, n)| n.as_str())
        .unwrap_or_default();
    format!("{name} {}", payment.reference)
}

pub(crate) async fn payments(
    State(state): State<AppState>,
    signed: Signed,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    let frame = Frame::new(
        &state,
        &ctx,
        &signed.tenant,
        "account-payments-title",
        Some(&signed),
        false,
    );
    let t = frame.t.clone();
    let names = bill_type_names(&state, &signed.tenant, &t).await?;
    let rows = payments_of(&state, &signed)
        .await?
        .iter()
        .map(|p| PaymentRow {
            date: paid_at(&t, &signed.tenant, p),
            what: what(&names, p),
            amount: p.payment.amount.format(t.language()),
            status: t.get(status_key(&p.payment.status)),
            receipt: (p.payment.applied_at.is_some()).then(|| Link {
                href: format!("{}/payments/{}", signed.prefix(), p.payment.id),
                label: t.arg("account-payments-view", "reference", p.reference.as_str()),
            }),
        })
        .collect();
    let page = PaymentsPage {
        layout: frame.layout,
        nav: frame.nav,
        flash: frame.flash,
        payments: rows,
    };
    Ok((frame.issued, page).into_response())
}

/// One of the resident's credited payments, or not found: another
/// person's payment id shows nothing.
async fn own_payment(
    state: &AppState,
    signed: &Signed,
    id: &str,
) -> Result<ResidentPayment, PortalError> {
    payments_of(state, signed)
        .await?
        .into_iter()
        .find(|p| p.payment.id == id && p.payment.applied_at.is_some())
        .ok_or(PortalError::NotFound)
}

/// The receipt's lines: reference, amount, fee, card, time, payment id.
fn receipt_rows(
    t: &Translator,
    tenant: &Tenant,
    names: &[(civicpay_core::BillTypeId, String)],
    payment: &ResidentPayment,
    bullet: &str,
) -> Vec<(String, String)> {
    let p = &payment.payment;
    let mut rows = vec![
        (t.get("receipt-reference"), what(names, payment)),
        (t.get("receipt-amount"), p.amount.format(t.language())),
        (
            t.get("account-receipt-fee"),
            Money::zero(p.amount.currency()).format(t.language()),
        ),
    ];
    if let Some(last4) = &p.card_last4 {
        rows.push((
            t.get("receipt-card"),
            format!("{} {bullet} {last4}", brand_name(p.card_brand.as_deref())),
        ));
    }
    rows.push((t.get("receipt-date"), paid_at(t, tenant, payment)));
    rows.push((
        t.get("receipt-payment-id"),
        p.pay_payment_id.clone().unwrap_or_default(),
    ));
    rows
}

fn contact(t: &Translator, tenant: &Tenant) -> String {
    t.args(
        "receipt-contact",
        &[
            ("name", &tenant.contact.name),
            ("phone", &tenant.contact.phone),
            ("email", &tenant.contact.email),
        ],
    )
}

pub(crate) async fn receipt(
    State(state): State<AppState>,
    signed: Signed,
    Path((_, id)): Path<(String, String)>,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    let payment = own_payment(&state, &signed, &id).await?;
    let frame = Frame::new(
        &state,
        &ctx,
        &signed.tenant,
        "receipt-title",
        Some(&signed),
        false,
    );
    let t = frame.t.clone();
    let names = bill_type_names(&state, &signed.tenant, &t).await?;
    let page = ReceiptPage {
        rows: receipt_rows(&t, &signed.tenant, &names, &payment, "••••"),
        contact: contact(&t, &signed.tenant),
        pdf_href: format!("{}/payments/{id}/receipt.pdf", signed.prefix()),
        layout: frame.layout,
        nav: frame.nav,
        flash: frame.flash,
    };
    Ok((frame.issued, page).into_response())
}

pub(crate) async fn receipt_pdf(
    State(state): State<AppState>,
    signed: Signed,
    Path((_, id)): Path<(String, String)>,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    let payment = own_payment(&state, &signed, &id).await?;
    let t = ctx.city_translator(&signed.tenant);
    let names = bill_type_names(&state, &signed.tenant, &t).await?;
    // The PDF's built-in Helvetica has no bullet in every reader; asterisks
    // mask the number as well.
    let rows = receipt_rows(&t, &signed.tenant, &names, &payment, "****");
    let c = &signed.tenant.contact;
    let contact_lines = vec![
        c.name.clone(),
        c.postal_address.clone(),
        format!("{} / {}", c.phone, c.email),
    ];
    let city = signed.tenant.name.get(t.language()).to_owned();
    let pdf = civicpay_notices::render_receipt(&civicpay_notices::Receipt {
        city: &city,
        contact_lines: &contact_lines,
        title: &t.get("receipt-title"),
        rows: &rows,
        footer: &contact(&t, &signed.tenant),
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"receipt-{}.pdf\"",
                    payment.reference.canonical()
                ),
            ),
        ],
        pdf,
    )
        .into_response())
}
