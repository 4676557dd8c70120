//! Saved cards and autopay. The cards live in pay's vault; the portal asks
//! pay's API for a resident's tokens, brands, last fours and expiries and
//! never sees more. Every change to autopay needs the password again,
//! sends a notice to the account's address and goes in the city's audit
//! log: autopay enrolments were a target in the breaches this replaces.

use super::mail::ResidentMail;
use super::views::{CardView, CardsPage};
use super::{Frame, Signed, password_retyped};
use crate::AppState;
use crate::error::PortalError;
use crate::forms::{ButtonForm, CheckedForm};
use crate::page::PageContext;
use crate::pay_client::PayClient;
use crate::routes::crediting::brand_name;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use civicpay_audit::{Action, ChainId, NewEntry};
use civicpay_core::{BillReference, BillType, BillTypeSlug, DecimalStyle, Money};
use civicpay_identity::Password;
use civicpay_pay_api::SavedCardList;
use civicpay_store::StoreError;
use civicpay_store::portal::autopay::NewEnrolment;
use civicpay_web::Translator;
use civicpay_web::forms::Field;
use serde::Deserialize;
use serde_json::json;

/// A saved card as the portal may know it.
pub(crate) struct SavedCard {
    pub token: String,
    pub label: String,
}

fn safe_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 100
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The resident's saved cards, from pay. Without a pay service there are
/// none to show.
pub(crate) async fn saved_cards(
    state: &AppState,
    signed: &Signed,
    t: &Translator,
) -> Result<Vec<SavedCard>, PortalError> {
    let Some(link) = &state.config.pay else {
        return Ok(Vec::new());
    };
    let listed: SavedCardList = PayClient::new(link)?
        .get(
            &signed.tenant.id,
            &format!("/v1/customers/{}/cards", signed.resident.id),
        )
        .await?;
    Ok(listed
        .cards
        .into_iter()
        .filter(|c| safe_token(&c.token))
        .map(|c| SavedCard {
            label: format!(
                "{} •••• {}, {}",
                brand_name(Some(&c.brand)),
                c.last4,
                t.arg(
                    "account-cards-expires",
                    "date",
                    format!("{:02}/{}", c.exp_month, c.exp_year)
                )
            ),
            token: c.token,
        })
        .collect())
}

pub(crate) async fn cards(
    State(state): State<AppState>,
    signed: Signed,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    let frame = Frame::new(
        &state,
        &ctx,
        &signed.tenant,
        "account-cards-title",
        Some(&signed),
        false,
    );
    let t = frame.t.clone();
    let cards = saved_cards(&state, &signed, &t)
        .await?
        .into_iter()
        .map(|c| CardView {
            remove_action: format!("{}/cards/{}/remove", signed.prefix(), c.token),
            remove_label: t.arg("account-cards-remove", "card", &c.label),
            label: c.label,
        })
        .collect();
    let page = CardsPage {
        layout: frame.layout,
        nav: frame.nav,
        flash: frame.flash,
        form_token: frame.issued.token.clone(),
        cards,
    };
    Ok((frame.issued, page).into_response())
}

fn note(signed: &Signed, action: Action, target: String, details: serde_json::Value) -> NewEntry {
    NewEntry::new(
        ChainId::Tenant(signed.tenant.id.clone()),
        signed.actor(),
        action,
        target,
        details,
    )
}

/// Forgets a saved card at pay, and turns off any autopay of this
/// resident's that used it (it could only fail from now on).
pub(crate) async fn remove_card(
    State(state): State<AppState>,
    signed: Signed,
    Path((_, token)): Path<(String, String)>,
    _ctx: PageContext,
    _: CheckedForm<ButtonForm>,
) -> Result<Response, PortalError> {
    if !safe_token(&token) {
        return Err(PortalError::NotFound);
    }
    let link = state.pay_link()?;
    let removed = PayClient::new(link)?
        .delete(
            &signed.tenant.id,
            &format!("/v1/customers/{}/cards/{token}", signed.resident.id),
        )
        .await?;
    if !removed {
        return Err(PortalError::NotFound);
    }
    for enrolment in state
        .store
        .autopay_for_links(&signed.tenant.id, &signed.resident.id)
        .await?
        .into_iter()
        .filter(|e| e.resident_id == signed.resident.id && e.card_token == token)
    {
        if let Ok(reference) = BillReference::parse(&enrolment.reference_key) {
            state
                .store
                .cancel_autopay(
                    &signed.tenant.id,
                    &signed.resident.id,
                    &enrolment.bill_type_id,
                    &reference,
                    note(
                        &signed,
                        Action::AutopayCancelled,
                        format!("account:{}", reference.canonical()),
                        json!({ "reason": "card removed" }),
                    ),
                )
                .await?;
        }
    }
    Ok(Redirect::to(&format!("{}/cards?done=card-removed", signed.prefix())).into_response())
}

/// The linked, recurring bill account named in an autopay URL.
async fn linked_account(
    state: &AppState,
    signed: &Signed,
    bill_type: &str,
    reference: &str,
) -> Result<(BillType, BillReference), PortalError> {
    let slug = BillTypeSlug::parse(bill_type).map_err(|_| PortalError::NotFound)?;
    let bill_type = state
        .store
        .bill_type_by_slug(&signed.tenant.id, &slug)
        .await?
        .filter(|b| b.kind.is_recurring())
        .ok_or(PortalError::NotFound)?;
    let reference = BillReference::parse(reference).map_err(|_| PortalError::NotFound)?;
    let linked = state
        .store
        .account_links(&signed.tenant.id, &signed.resident.id)
        .await?
        .into_iter()
        .find(|l| {
            l.bill_type_id == bill_type.id && l.reference.canonical() == reference.canonical()
        })
        .ok_or(PortalError::NotFound)?;
    Ok((bill_type, linked.reference))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AutopayForm {
    #[serde(default)]
    card: String,
    #[serde(default)]
    cap: String,
    /// A part of each bill, where the type takes parts; empty: the balance.
    #[serde(default)]
    part: String,
    #[serde(default)]
    password: String,
}

struct AutopayErrors {
    cap: Option<String>,
    part: Option<String>,
    password: Option<String>,
    taken: bool,
}

#[allow(clippy::too_many_arguments)]
fn autopay_page(
    state: &AppState,
    ctx: &PageContext,
    signed: &Signed,
    bill_type: &BillType,
    reference: &BillReference,
    cards: &[SavedCard],
    form: &AutopayForm,
    errors: AutopayErrors,
) -> Response {
    let frame = Frame::new(
        state,
        ctx,
        &signed.tenant,
        "account-autopay-title",
        Some(signed),
        false,
    );
    let t = frame.t.clone();
    if cards.is_empty() {
        return frame.message("account-autopay-no-cards", None);
    }
    let (mut page, cookie) = frame.form(ctx.path().to_owned(), "account-autopay-submit");
    page.caption = Some(format!(
        "{} {}",
        bill_type.name.get(t.language()),
        reference
    ));
    page.intro = vec![t.get("account-autopay-intro")];
    page.fields = vec![
        Field::new("card", "select", t.get("account-autopay-card"))
            .value(form.card.clone())
            .error(errors.taken.then(|| t.get("account-autopay-taken")))
            .options(cards.iter().map(|c| (c.token.clone(), c.label.clone()))),
        Field::new("cap", "text", t.get("account-autopay-cap"))
            .hint(t.arg(
                "account-autopay-cap-hint",
                "currency",
                signed.tenant.currency.code(),
            ))
            .value(form.cap.clone())
            .inputmode("decimal")
            .error(errors.cap),
    ];
    if let Some(parts) = &bill_type.partial {
        page.fields.push(
            Field::new("part", "text", t.get("account-autopay-part"))
                .hint(t.arg(
                    "account-autopay-part-hint",
                    "minimum",
                    parts.minimum.format(t.language()),
                ))
                .value(form.part.clone())
                .inputmode("decimal")
                .error(errors.part),
        );
    }
    page.fields.push(
        Field::new(
            "password",
            "password",
            t.get("account-field-current-password"),
        )
        .hint(t.get("account-autopay-password-hint"))
        .autocomplete("current-password")
        .error(errors.password),
    );
    page.after = vec![crate::views::Link {
        href: format!("{}/cancel", ctx.path()),
        label: t.get("account-autopay-cancel"),
    }];
    page.respond(cookie)
}

pub(crate) async fn autopay_form(
    State(state): State<AppState>,
    signed: Signed,
    Path((_, bill_type, reference)): Path<(String, String, String)>,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    let (bill_type, reference) = linked_account(&state, &signed, &bill_type, &reference).await?;
    let t = ctx.city_translator(&signed.tenant);
    let cards = saved_cards(&state, &signed, &t).await?;
    let current = state
        .store
        .autopay_for_links(&signed.tenant.id, &signed.resident.id)
        .await?
        .into_iter()
        .find(|e| {
            e.resident_id == signed.resident.id
                && e.bill_type_id == bill_type.id
                && e.reference_key == reference.canonical()
        });
    let form = AutopayForm {
        card: current
            .as_ref()
            .map(|c| c.card_token.clone())
            .unwrap_or_default(),
        cap: current
            .as_ref()
            .map(|c| c.cap.to_plain(DecimalStyle::for_language(t.language())))
            .unwrap_or_default(),
        part: current
            .as_ref()
            .and_then(|c| c.part)
            .map(|p| p.to_plain(DecimalStyle::for_language(t.language())))
            .unwrap_or_default(),
        ..AutopayForm::default()
    };
    Ok(autopay_page(
        &state,
        &ctx,
        &signed,
        &bill_type,
        &reference,
        &cards,
        &form,
        AutopayErrors {
            cap: None,
            part: None,
            password: None,
            taken: false,
        },
    ))
}

/// The part of each bill a resident asked autopay to pay: none when left
/// empty or when the type takes no parts; refused below the type's
/// minimum or above the resident's own limit.
fn autopay_part(
    typed: &str,
    bill_type: &BillType,
    cap: Option<Money>,
    currency: civicpay_core::Currency,
    style: DecimalStyle,
) -> Result<Option<Money>, ()> {
    let Some(parts) = &bill_type.partial else {
        return Ok(None);
    };
    if typed.trim().is_empty() {
        return Ok(None);
    }
    let part = Money::parse(typed, currency, style).map_err(|_| ())?;
    let within_cap = cap.is_none_or(|cap| part.minor() <= cap.minor());
    if part.minor() >= parts.minimum.minor() && within_cap {
        Ok(Some(part))
    } else {
        Err(())
    }
}

pub(crate) async fn autopay_submit(
    State(state): State<AppState>,
    signed: Signed,
    Path((_, bill_type, reference)): Path<(String, String, String)>,
    ctx: PageContext,
    CheckedForm(form): CheckedForm<AutopayForm>,
) -> Result<Response, PortalError> {
    let (bill_type, reference) = linked_account(&state, &signed, &bill_type, &reference).await?;
    let t = ctx.city_translator(&signed.tenant);
    let cards = saved_cards(&state, &signed, &t).await?;
    let card = cards.iter().find(|c| c.token == form.card);
    let style = DecimalStyle::for_language(t.language());
    let cap = Money::parse(&form.cap, signed.tenant.currency, style)
        .ok()
        .filter(|m| m.minor() > 0);
    let part = autopay_part(&form.part, &bill_type, cap, signed.tenant.currency, style);
    let right =
        password_retyped(&state, &ctx, &signed, Password::new(form.password.clone())).await?;
    let (Some(card), Some(cap), Ok(part), true) = (card, cap, part, right) else {
        let errors = AutopayErrors {
            cap: cap.is_none().then(|| t.get("account-autopay-cap-error")),
            part: part.is_err().then(|| {
                let minimum = bill_type
                    .partial
                    .as_ref()
                    .map(|p| p.minimum.format(t.language()))
                    .unwrap_or_default();
                t.arg("account-autopay-part-error", "minimum", minimum)
            }),
            password: (!right).then(|| t.get("account-error-password-wrong")),
            taken: false,
        };
        return Ok(autopay_page(
            &state, &ctx, &signed, &bill_type, &reference, &cards, &form, errors,
        ));
    };
    let today = jiff::Timestamp::now()
        .to_zoned(signed.tenant.time_zone.time_zone())
        .date();
    let enrolled = state
        .store
        .enrol_autopay(
            &signed.tenant.id,
            NewEnrolment {
                resident_id: &signed.resident.id,
                bill_type_id: &bill_type.id,
                reference: &reference,
                card_token: &card.token,
                card_label: &card.label,
                cap,
                part,
                start_date: today,
            },
            note(
                &signed,
                Action::AutopayEnrolled,
                format!("account:{}", reference.canonical()),
                json!({ "bill_type": bill_type.slug.to_string(), "cap": cap.minor(), "part": part.map(Money::minor), "card": card.label }),
            ),
        )
        .await;
    match enrolled {
        Ok(()) => {}
        Err(StoreError::AlreadyExists(_)) => {
            let errors = AutopayErrors {
                cap: None,
                part: None,
                password: None,
                taken: true,
            };
            return Ok(autopay_page(
                &state, &ctx, &signed, &bill_type, &reference, &cards, &form, errors,
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let mt = signed.mail_translator();
    ResidentMail::new(mt.get("mail-autopay-subject"))
        .says(mt.args(
            "mail-autopay-on-body",
            &[
                ("reference", reference.as_str()),
                ("card", &card.label),
                ("cap", &cap.format(mt.language())),
                ("phone", &signed.tenant.contact.phone),
            ],
        ))
        .send(&state, &signed.tenant, &mt, signed.email())
        .await;
    Ok(Redirect::to(&format!("{}/?done=autopay-on", signed.prefix())).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PasswordOnlyForm {
    #[serde(default)]
    pub password: String,
}

fn cancel_page(
    state: &AppState,
    ctx: &PageContext,
    signed: &Signed,
    caption: String,
    error: Option<String>,
) -> Response {
    let frame = Frame::new(
        state,
        ctx,
        &signed.tenant,
        "account-autopay-cancel",
        Some(signed),
        false,
    );
    let t = frame.t.clone();
    let (mut page, cookie) = frame.form(ctx.path().to_owned(), "account-autopay-cancel");
    page.caption = Some(caption);
    page.danger = true;
    page.fields = vec![
        Field::new(
            "password",
            "password",
            t.get("account-field-current-password"),
        )
        .hint(t.get("account-autopay-password-hint"))
        .autocomplete("current-password")
        .error(error),
    ];
    page.respond(cookie)
}

pub(crate) async fn autopay_cancel_form(
    State(state): State<AppState>,
    signed: Signed,
    Path((_, bill_type, reference)): Path<(String, String, String)>,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    let (bill_type, reference) = linked_account(&state, &signed, &bill_type, &reference).await?;
    let t = ctx.city_translator(&signed.tenant);
    let caption = format!("{} {}", bill_type.name.get(t.language()), reference);
    Ok(cancel_page(&state, &ctx, &signed, caption, None))
}

pub(crate) async fn autopay_cancel(
    State(state): State<AppState>,
    signed: Signed,
    Path((_, bill_type, reference)): Path<(String, String, String)>,
    ctx: PageContext,
    CheckedForm(form): CheckedForm<PasswordOnlyForm>,
) -> Result<Response, PortalError> {
    let (bill_type, reference) = linked_account(&state, &signed, &bill_type, &reference).await?;
    let t = ctx.city_translator(&signed.tenant);
    if !password_retyped(&state, &ctx, &signed, Password::new(form.password)).await? {
        let caption = format!("{} {}", bill_type.name.get(t.language()), reference);
        return Ok(cancel_page(
            &state,
            &ctx,
            &signed,
            caption,
            Some(t.get("account-error-password-wrong")),
        ));
    }
    let cancelled = state
        .store
        .cancel_autopay(
            &signed.tenant.id,
            &signed.resident.id,
            &bill_type.id,
            &reference,
            note(
                &signed,
                Action::AutopayCancelled,
                format!("account:{}", reference.canonical()),
                json!({ "bill_type": bill_type.slug.to_string() }),
            ),
        )
        .await?;
    if cancelled {
        let mt = signed.mail_translator();
        ResidentMail::new(mt.get("mail-autopay-subject"))
            .says(mt.args(
                "mail-autopay-off-body",
                &[
                    ("reference", reference.as_str()),
                    ("phone", &signed.tenant.contact.phone),
                ],
            ))
            .send(&state, &signed.tenant, &mt, signed.email())
            .await;
    }
    Ok(Redirect::to(&format!("{}/?done=autopay-off", signed.prefix())).into_response())
}
