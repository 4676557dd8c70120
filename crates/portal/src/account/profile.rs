//! The account's own settings: language, paperless bills and reminders;
//! changing e-mail (confirmed by the new address, told to the old one) or
//! password; signing out everywhere; deleting the account.

use super::cards::{PasswordOnlyForm, saved_cards};
use super::mail::ResidentMail;
use super::sign_up::{after, parse_email, password_changed_mail, password_problem};
use super::{
    City, Frame, Signed, clear_cookie, hash_password, password_retyped, prefix, public_link,
    start_session, with_cookie,
};
use crate::AppState;
use crate::error::PortalError;
use crate::forms::{ButtonForm, CheckedForm};
use crate::page::PageContext;
use crate::pay_client::PayClient;
use crate::views::Link;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use civicpay_audit::{Action, ChainId, NewEntry};
use civicpay_core::Language;
use civicpay_core::resident::REMINDER_DAYS;
use civicpay_identity::{Password, SessionToken};
use civicpay_store::StoreError;
use civicpay_store::portal::residents::{Preferences, TokenPurpose};
use civicpay_web::Translator;
use civicpay_web::forms::Field;
use serde::Deserialize;
use serde_json::json;

const CHANGE_EMAIL_FOR: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

#[derive(Debug, Default, Deserialize)]
pub(crate) struct SettingsForm {
    #[serde(default)]
    language: String,
    #[serde(default)]
    paperless: Option<String>,
    #[serde(default)]
    reminder_days: String,
}

pub(crate) async fn settings(
    State(state): State<AppState>,
    signed: Signed,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    let frame = Frame::new(
        &state,
        &ctx,
        &signed.tenant,
        "account-settings-title",
        Some(&signed),
        false,
    );
    let t = frame.t.clone();
    let (mut page, cookie) = frame.form(
        format!("{}/settings", signed.prefix()),
        "account-settings-submit",
    );
    let r = &signed.resident;
    page.fields = vec![
        Field::new("language", "select", t.get("account-settings-language"))
            .value(r.language.code())
            .options(
                signed
                    .tenant
                    .languages
                    .iter()
                    .map(|l| (l.code().to_owned(), l.endonym().to_owned())),
            ),
        Field::new("paperless", "checkbox", t.get("account-settings-paperless"))
            .value(if r.paperless { "yes" } else { "" }),
        Field::new(
            "reminder_days",
            "select",
            t.get("account-settings-reminder"),
        )
        .value(r.reminder_days.to_string())
        .options(REMINDER_DAYS.map(|d| (d.to_string(), d.to_string()))),
    ];
    let p = signed.prefix();
    page.after = [
        ("/two-step", "account-two-step"),
        ("/email", "account-change-email"),
        ("/password", "account-change-password"),
        ("/sign-out-everywhere", "account-sign-out-everywhere"),
        ("/delete", "account-delete"),
    ]
    .into_iter()
    .map(|(path, key)| Link {
        href: format!("{p}{path}"),
        label: t.get(key),
    })
    .collect();
    Ok(page.respond(cookie))
}

pub(crate) async fn save_settings(
    State(state): State<AppState>,
    signed: Signed,
    _ctx: PageContext,
    CheckedForm(form): CheckedForm<SettingsForm>,
) -> Result<Response, PortalError> {
    let language = Language::parse(&form.language)
        .ok()
        .filter(|l| signed.tenant.languages.contains(l))
        .ok_or_else(|| {
            PortalError::BadRequest("language: choose one of the city's languages".into())
        })?;
    let reminder_days = form
        .reminder_days
        .parse::<u32>()
        .ok()
        .filter(|d| REMINDER_DAYS.contains(d))
        .ok_or_else(|| {
            PortalError::BadRequest("reminder_days: choose a number from 1 to 14".into())
        })?;
    state
        .store
        .set_resident_preferences(
            &signed.tenant.id,
            &signed.resident.id,
            Preferences {
                language,
                paperless: form.paperless.as_deref() == Some("yes"),
                reminder_days,
            },
        )
        .await?;
    Ok(Redirect::to(&format!("{}/settings?done=settings", signed.prefix())).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ChangeEmailForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

fn email_page(
    state: &AppState,
    ctx: &PageContext,
    signed: &Signed,
    email: &str,
    errors: (Option<String>, Option<String>),
) -> Response {
    let frame = Frame::new(
        state,
        ctx,
        &signed.tenant,
        "account-change-email",
        Some(signed),
        false,
    );
    let t = frame.t.clone();
    let (mut page, cookie) = frame.form(
        format!("{}/email", signed.prefix()),
        "account-change-email-submit",
    );
    page.intro = vec![t.get("account-change-email-intro")];
    page.fields = vec![
        Field::new("email", "email", t.get("account-field-new-email"))
            .value(email)
            .autocomplete("email")
            .error(errors.0),
        Field::new(
            "password",
            "password",
            t.get("account-field-current-password"),
        )
        .autocomplete("current-password")
        .error(errors.1),
    ];
    page.respond(cookie)
}

pub(crate) async fn email_form(
    State(state): State<AppState>,
    signed: Signed,
    ctx: PageContext,
) -> Response {
    email_page(&state, &ctx, &signed, "", (None, None))
}

/// Sends a confirmation link to the new address. Nothing changes until it
/// is followed, and the page says the same whether or not the new address
/// belongs to another account.
pub(crate) async fn email_submit(
    State(state): State<AppState>,
    signed: Signed,
    ctx: PageContext,
    CheckedForm(form): CheckedForm<ChangeEmailForm>,
) -> Result<Response, PortalError> {
    let t = ctx.city_translator(&signed.tenant);
    let email = parse_email(&t, &form.email);
    let right = password_retyped(&state, &ctx, &signed, Password::new(form.password)).await?;
    let (Ok(email), true) = (&email, right) else {
        return Ok(email_page(
            &state,
            &ctx,
            &signed,
            form.email.trim(),
            (
                email.err(),
                (!right).then(|| t.get("account-error-password-wrong")),
            ),
        ));
    };
    let token = SessionToken::generate();
    state
        .store
        .issue_resident_token(
            &signed.tenant.id,
            &signed.resident.id,
            TokenPurpose::ChangeEmail,
            Some(email),
            &token.stored_hash(),
            after(CHANGE_EMAIL_FOR)?,
        )
        .await?;
    let mt = signed.mail_translator();
    ResidentMail::new(mt.get("mail-change-subject"))
        .says(mt.get("mail-change-body"))
        .link(public_link(
            &state,
            &format!("{}/confirm-email/{}", signed.prefix(), token.expose()),
        ))
        .says(mt.get("mail-ignore"))
        .send(&state, &signed.tenant, &mt, email)
        .await;
    Ok(Redirect::to(&format!("{}/settings?done=email-sent", signed.prefix())).into_response())
}

/// Follows the link sent to a new address: the account moves to it and
/// the old address is told.
pub(crate) async fn confirm_email(
    State(state): State<AppState>,
    City(tenant): City,
    Path((_, token)): Path<(String, String)>,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    let taken = match SessionToken::from_cookie(&token) {
        Some(token) => {
            state
                .store
                .take_resident_token(&tenant.id, TokenPurpose::ChangeEmail, &token.stored_hash())
                .await?
        }
        None => None,
    };
    let resident = match &taken {
        Some((id, Some(_))) => state.store.resident(&tenant.id, id).await?,
        _ => None,
    };
    let (Some((id, Some(new_email))), Some(resident)) = (taken, resident) else {
        return Ok(expired(&state, &ctx, &tenant));
    };
    match state
        .store
        .change_resident_email(&tenant.id, &id, &new_email)
        .await
    {
        Ok(()) => {}
        Err(StoreError::AlreadyExists(_)) => return Ok(expired(&state, &ctx, &tenant)),
        Err(e) => return Err(e.into()),
    }
    if let Some(old) = &resident.email {
        let mt = Translator::new(resident.language);
        ResidentMail::new(mt.get("mail-changed-subject"))
            .says(mt.args(
                "mail-changed-body",
                &[("email", &new_email), ("phone", &tenant.contact.phone)],
            ))
            .send(&state, &tenant, &mt, old)
            .await;
    }
    let frame = Frame::new(
        &state,
        &ctx,
        &tenant,
        "account-email-changed-title",
        None,
        false,
    );
    let label = frame.t.get("account-sign-in-link");
    Ok(frame.message(
        "account-verified-body",
        Some(Link {
            href: format!("{}/", prefix(&tenant)),
            label,
        }),
    ))
}

fn expired(state: &AppState, ctx: &PageContext, tenant: &civicpay_core::Tenant) -> Response {
    Frame::new(
        state,
        ctx,
        tenant,
        "account-link-expired-title",
        None,
        false,
    )
    .message("account-link-expired-body", None)
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ChangePasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
}

fn password_page(
    state: &AppState,
    ctx: &PageContext,
    signed: &Signed,
    errors: (Option<String>, Option<String>),
) -> Response {
    let frame = Frame::new(
        state,
        ctx,
        &signed.tenant,
        "account-change-password",
        Some(signed),
        false,
    );
    let t = frame.t.clone();
    let (mut page, cookie) = frame.form(
        format!("{}/password", signed.prefix()),
        "account-change-password-submit",
    );
    page.fields = vec![
        Field::new(
            "current",
            "password",
            t.get("account-field-current-password"),
        )
        .autocomplete("current-password")
        .error(errors.0),
        Field::new("password", "password", t.get("account-field-new-password"))
            .hint(t.get("account-field-password-hint"))
            .autocomplete("new-password")
            .error(errors.1),
    ];
    page.respond(cookie)
}

pub(crate) async fn password_form(
    State(state): State<AppState>,
    signed: Signed,
    ctx: PageContext,
) -> Response {
    password_page(&state, &ctx, &signed, (None, None))
}

/// Changes the password, signs out every other device (this one gets a
/// fresh session) and tells the account's address.
pub(crate) async fn password_submit(
    State(state): State<AppState>,
    signed: Signed,
    ctx: PageContext,
    CheckedForm(form): CheckedForm<ChangePasswordForm>,
) -> Result<Response, PortalError> {
    let t = ctx.city_translator(&signed.tenant);
    let right = password_retyped(&state, &ctx, &signed, Password::new(form.current)).await?;
    let password = Password::new(form.password);
    let problem = password_problem(&t, &password, signed.email(), &signed.tenant);
    if !right || problem.is_some() {
        return Ok(password_page(
            &state,
            &ctx,
            &signed,
            (
                (!right).then(|| t.get("account-error-password-wrong")),
                problem,
            ),
        ));
    }
    let hash = hash_password(&state, password).await?;
    state
        .store
        .set_resident_password(&signed.tenant.id, &signed.resident.id, hash.as_str())
        .await?;
    password_changed_mail(
        &state,
        &signed.tenant,
        signed.resident.language,
        signed.email(),
    )
    .await;
    let cookie = start_session(&state, &signed.tenant, &signed.resident.id, None).await?;
    Ok(with_cookie(
        Redirect::to(&format!("{}/settings?done=password", signed.prefix())).into_response(),
        &cookie,
    ))
}

pub(crate) async fn sign_out_everywhere_form(
    State(state): State<AppState>,
    signed: Signed,
    ctx: PageContext,
) -> Response {
    let frame = Frame::new(
        &state,
        &ctx,
        &signed.tenant,
        "account-sign-out-everywhere",
        Some(&signed),
        false,
    );
    let (mut page, cookie) = frame.form(ctx.path().to_owned(), "account-sign-out-everywhere");
    page.danger = true;
    page.respond(cookie)
}

pub(crate) async fn sign_out_everywhere(
    State(state): State<AppState>,
    signed: Signed,
    _ctx: PageContext,
    _: CheckedForm<ButtonForm>,
) -> Result<Response, PortalError> {
    state
        .store
        .end_all_resident_sessions(&signed.tenant.id, &signed.resident.id)
        .await?;
    Ok(with_cookie(
        Redirect::to(&format!(
            "{}/sign-in?done=signed-out-everywhere",
            signed.prefix()
        ))
        .into_response(),
        &clear_cookie(&signed.tenant),
    ))
}

fn delete_page(
    state: &AppState,
    ctx: &PageContext,
    signed: &Signed,
    error: Option<String>,
) -> Response {
    let frame = Frame::new(
        state,
        ctx,
        &signed.tenant,
        "account-delete-title",
        Some(signed),
        false,
    );
    let t = frame.t.clone();
    let (mut page, cookie) = frame.form(
        format!("{}/delete", signed.prefix()),
        "account-delete-submit",
    );
    page.intro = vec![t.get("account-delete-intro")];
    page.danger = true;
    page.fields = vec![
        Field::new(
            "password",
            "password",
            t.get("account-field-current-password"),
        )
        .autocomplete("current-password")
        .error(error),
    ];
    page.respond(cookie)
}

pub(crate) async fn delete_form(
    State(state): State<AppState>,
    signed: Signed,
    ctx: PageContext,
) -> Response {
    delete_page(&state, &ctx, &signed, None)
}

/// Deletes the account: saved cards first (at pay, which holds them), then
/// everything personal here in one transaction. If pay cannot be reached
/// nothing is deleted, so no card outlives its account.
pub(crate) async fn delete_submit(
    State(state): State<AppState>,
    signed: Signed,
    ctx: PageContext,
    CheckedForm(form): CheckedForm<PasswordOnlyForm>,
) -> Result<Response, PortalError> {
    let t = ctx.city_translator(&signed.tenant);
    if !password_retyped(&state, &ctx, &signed, Password::new(form.password)).await? {
        return Ok(delete_page(
            &state,
            &ctx,
            &signed,
            Some(t.get("account-error-password-wrong")),
        ));
    }
    let cards = saved_cards(&state, &signed, &t).await?;
    if let Some(link) = &state.config.pay {
        let client = PayClient::new(link)?;
        for card in &cards {
            client
                .delete(
                    &signed.tenant.id,
                    &format!("/v1/customers/{}/cards/{}", signed.resident.id, card.token),
                )
                .await?;
        }
    }
    state
        .store
        .delete_resident(
            &signed.tenant.id,
            &signed.resident.id,
            NewEntry::new(
                ChainId::Tenant(signed.tenant.id.clone()),
                signed.actor(),
                Action::ResidentDeleted,
                signed.actor(),
                json!({ "saved_cards_removed": cards.len() }),
            ),
        )
        .await?;
    Ok(with_cookie(
        Redirect::to(&format!("{}/goodbye", signed.prefix())).into_response(),
        &clear_cookie(&signed.tenant),
    ))
}

pub(crate) async fn goodbye(
    State(state): State<AppState>,
    City(tenant): City,
    ctx: PageContext,
) -> Response {
    let frame = Frame::new(&state, &ctx, &tenant, "account-deleted-title", None, false);
    let label = frame.t.get("start-again");
    frame.message(
        "account-deleted-body",
        Some(Link {
            href: format!("/{}/", tenant.slug),
            label,
        }),
    )
}
