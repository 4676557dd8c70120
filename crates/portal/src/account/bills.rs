//! The account's home (linked bill accounts and all their bills) and
//! linking one with the same proof a guest gives to pay it.

use super::views::{AccountBill, HomePage, LinkedAccount};
use super::{Frame, Signed};
use crate::AppState;
use crate::error::PortalError;
use crate::forms::CheckedForm;
use crate::page::PageContext;
use crate::routes::resident::pay_button;
use crate::views::Link;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use civicpay_core::{BillReference, BillStatus, BillType, BillTypeSlug, VerificationValue};
use civicpay_store::rate_limits::RateDecision;
use civicpay_web::Translator;
use civicpay_web::forms::Field;
use serde::Deserialize;

fn account_bill(
    t: &Translator,
    signed: &Signed,
    bill_type: &BillType,
    bill: &civicpay_core::Bill,
) -> Result<AccountBill, PortalError> {
    let language = t.language();
    let balance = bill.balance();
    Ok(AccountBill {
        due_date: t.date(bill.due_date),
        total: bill.amount_due.format(language),
        status_label: t.get(&format!("status-{}", bill.status.code())),
        status_class: match bill.status {
            BillStatus::Paid => "tag--paid",
            BillStatus::Cancelled => "tag--cancelled",
            BillStatus::Open | BillStatus::PartiallyPaid => "",
        },
        balance: balance.format(language),
        pay: pay_button(t, &signed.tenant, bill_type, bill)?,
    })
}

pub(crate) async fn home(
    State(state): State<AppState>,
    signed: Signed,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    let frame = Frame::new(
        &state,
        &ctx,
        &signed.tenant,
        "account-home-title",
        Some(&signed),
        false,
    );
    let t = frame.t.clone();
    let bill_types = state.store.bill_types(&signed.tenant.id).await?;
    let autopays = state
        .store
        .autopay_for_links(&signed.tenant.id, &signed.resident.id)
        .await?;
    let mut accounts = Vec::new();
    for link in state
        .store
        .account_links(&signed.tenant.id, &signed.resident.id)
        .await?
    {
        let Some(bill_type) = bill_types.iter().find(|b| b.id == link.bill_type_id) else {
            continue;
        };
        let bills = state
            .store
            .bills_by_reference(&signed.tenant.id, &bill_type.id, &link.reference)
            .await?;
        let autopay = autopays.iter().find(|a| {
            a.bill_type_id == bill_type.id && a.reference_key == link.reference.canonical()
        });
        let mine = autopay.is_none_or(|a| a.resident_id == signed.resident.id);
        let autopay_href = format!(
            "{}/autopay/{}/{}",
            signed.prefix(),
            bill_type.slug,
            link.reference.canonical()
        );
        accounts.push(LinkedAccount {
            bill_type_name: bill_type.name.get(t.language()).to_owned(),
            bill_type_slug: bill_type.slug.to_string(),
            reference: link.reference.to_string(),
            autopay: autopay.map(|a| {
                if a.resident_id == signed.resident.id {
                    let on = t.args(
                        "account-autopay-on",
                        &[
                            ("card", &a.card_label),
                            ("cap", &a.cap.format(t.language())),
                        ],
                    );
                    match a.part.filter(|_| bill_type.partial.is_some()) {
                        Some(part) => format!(
                            "{on} {}",
                            t.arg("account-autopay-on-part", "part", part.format(t.language()))
                        ),
                        None => on,
                    }
                } else {
                    t.get("account-autopay-on-other")
                }
            }),
            autopay_link: (mine && bill_type.kind.is_recurring()).then(|| Link {
                href: autopay_href,
                label: t.get(if autopay.is_some() {
                    "account-autopay-change"
                } else {
                    "account-autopay-set"
                }),
            }),
            bills: bills
                .iter()
                .map(|b| account_bill(&t, &signed, bill_type, b))
                .collect::<Result<_, _>>()?,
            unlink_action: format!("{}/unlink", signed.prefix()),
            unlink_label: t.arg("account-link-remove", "reference", link.reference.as_str()),
        });
    }
    let page = HomePage {
        layout: frame.layout,
        nav: frame.nav,
        flash: frame.flash,
        form_token: frame.issued.token.clone(),
        accounts,
        link_href: format!("{}/link", signed.prefix()),
        two_step: signed.resident.totp_secret.is_none().then(|| Link {
            href: format!("{}/two-step", signed.prefix()),
            label: t.get("account-two-step-offer"),
        }),
    };
    Ok((frame.issued, page).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct LinkForm {
    #[serde(default)]
    bill_type: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    verification: String,
}

fn link_page(
    state: &AppState,
    ctx: &PageContext,
    signed: &Signed,
    bill_types: &[BillType],
    form: &LinkForm,
    errors: (Option<String>, Option<String>),
) -> Response {
    let frame = Frame::new(
        state,
        ctx,
        &signed.tenant,
        "account-link-title",
        Some(signed),
        false,
    );
    let t = frame.t.clone();
    let (mut page, cookie) = frame.form(format!("{}/link", signed.prefix()), "account-link-submit");
    page.intro = vec![t.get("account-link-intro")];
    page.fields = vec![
        Field::new("bill_type", "select", t.get("account-link-type"))
            .value(form.bill_type.clone())
            .options(bill_types.iter().map(|b| {
                (
                    b.slug.to_string(),
                    format!(
                        "{} ({} / {})",
                        b.name.get(t.language()),
                        t.get(&format!("reference-{}", b.reference_label.code())),
                        t.get(&format!("verification-{}", b.verification.code()))
                    ),
                )
            })),
        Field::new("reference", "text", t.get("account-link-reference"))
            .value(form.reference.clone())
            .error(errors.0),
        Field::new("verification", "text", t.get("account-link-verification"))
            .hint(t.get("account-link-verification-hint"))
            .value(form.verification.clone())
            .error(errors.1),
    ];
    page.respond(cookie)
}

pub(crate) async fn link_form(
    State(state): State<AppState>,
    signed: Signed,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    let bill_types = state.store.bill_types(&signed.tenant.id).await?;
    Ok(link_page(
        &state,
        &ctx,
        &signed,
        &bill_types,
        &LinkForm::default(),
        (None, None),
    ))
}

/// Links an account if the reference and verification find a bill, just
/// as a guest's look-up would; counted against the same look-up limit so
/// an account is no faster a way to guess than the public form.
pub(crate) async fn link_submit(
    State(state): State<AppState>,
    signed: Signed,
    ctx: PageContext,
    CheckedForm(form): CheckedForm<LinkForm>,
) -> Result<Response, PortalError> {
    let decision = state
        .store
        .rate_limit_hit(
            &format!("lookup:{}", ctx.client_ip.limit_key()),
            state.config.lookup_limit,
            state.config.lookup_window,
            jiff::Timestamp::now(),
        )
        .await?;
    if let RateDecision::Limited { retry_after } = decision {
        return Err(PortalError::RateLimited { retry_after });
    }
    let t = ctx.city_translator(&signed.tenant);
    let bill_types = state.store.bill_types(&signed.tenant.id).await?;
    let bill_type = BillTypeSlug::parse(&form.bill_type)
        .ok()
        .and_then(|slug| bill_types.iter().find(|b| b.slug == slug));
    let Some(bill_type) = bill_type else {
        return Err(PortalError::BadRequest(
            "bill_type: choose one of the city's kinds of bill".into(),
        ));
    };
    let reference = BillReference::parse(&form.reference);
    let verification = VerificationValue::parse(bill_type.verification, &form.verification);
    let (Ok(reference), Ok(verification)) = (reference, verification) else {
        return Ok(link_page(
            &state,
            &ctx,
            &signed,
            &bill_types,
            &form,
            (Some(t.get("lookup-not-found")), None),
        ));
    };
    let found = state
        .store
        .bills_by_reference(&signed.tenant.id, &bill_type.id, &reference)
        .await?
        .iter()
        .any(|b| b.verification.matches(&verification));
    if !found {
        return Ok(link_page(
            &state,
            &ctx,
            &signed,
            &bill_types,
            &form,
            (Some(t.get("lookup-not-found")), None),
        ));
    }
    state
        .store
        .link_account(
            &signed.tenant.id,
            &signed.resident.id,
            &bill_type.id,
            &reference,
        )
        .await?;
    Ok(Redirect::to(&format!("{}/?done=link-added", signed.prefix())).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct UnlinkForm {
    #[serde(default)]
    bill_type: String,
    #[serde(default)]
    reference: String,
}

pub(crate) async fn unlink(
    State(state): State<AppState>,
    signed: Signed,
    _ctx: PageContext,
    CheckedForm(form): CheckedForm<UnlinkForm>,
) -> Result<Response, PortalError> {
    let slug = BillTypeSlug::parse(&form.bill_type).map_err(|_| PortalError::NotFound)?;
    let bill_type = state
        .store
        .bill_type_by_slug(&signed.tenant.id, &slug)
        .await?
        .ok_or(PortalError::NotFound)?;
    let reference = BillReference::parse(&form.reference).map_err(|_| PortalError::NotFound)?;
    if !state
        .store
        .unlink_account(
            &signed.tenant.id,
            &signed.resident.id,
            &bill_type.id,
            &reference,
        )
        .await?
    {
        return Err(PortalError::NotFound);
    }
    Ok(Redirect::to(&format!("{}/?done=link-removed", signed.prefix())).into_response())
}
