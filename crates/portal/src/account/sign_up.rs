//! Creating an account, confirming its address, signing in and out, and
//! resetting a forgotten password. Every answer to "is this address
//! registered?" is the same page, whatever the truth, and takes an Argon2
//! hash's time either way.

use super::mail::ResidentMail;
use super::{
    City, Frame, Signed, clear_cookie, hash_password, password_matches, prefix, public_link,
    start_session, with_cookie,
};
use crate::AppState;
use crate::error::PortalError;
use crate::forms::{ButtonForm, CheckedForm};
use crate::page::PageContext;
use crate::views::Link;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use civicpay_core::Tenant;
use civicpay_core::resident::ResidentStatus;
use civicpay_identity::{
    Password, PasswordProblem, SessionToken, check_password_policy, lockout_after,
};
use civicpay_store::StoreError;
use civicpay_store::portal::residents::TokenPurpose;
use civicpay_web::Translator;
use civicpay_web::forms::Field;
use serde::Deserialize;

const VERIFY_FOR: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);
const RESET_FOR: jiff::SignedDuration = jiff::SignedDuration::from_hours(1);

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CredentialsForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub(crate) fn after(duration: jiff::SignedDuration) -> Result<jiff::Timestamp, PortalError> {
    jiff::Timestamp::now()
        .checked_add(duration)
        .map_err(|_| PortalError::Internal("clock out of range"))
}

/// Counts an attempt from this address against `limit` an hour.
pub(crate) async fn limit(
    state: &AppState,
    ctx: &PageContext,
    what: &str,
    limit: u32,
) -> Result<(), PortalError> {
    state
        .rate_limit(
            &format!("{what}:{}", ctx.client_ip.limit_key()),
            limit,
            std::time::Duration::from_secs(3600),
        )
        .await
}

/// The e-mail field as typed, lower-cased, or the error to show.
pub(crate) fn parse_email(t: &Translator, typed: &str) -> Result<String, String> {
    civicpay_core::import::parse_email(typed)
        .map(|e| e.to_lowercase())
        .map_err(|_| t.get("account-error-email"))
}

/// The password policy's verdict in the resident's language.
pub(crate) fn password_problem(
    t: &Translator,
    password: &Password,
    email: &str,
    tenant: &Tenant,
) -> Option<String> {
    let city = tenant.name.get(t.language()).to_owned();
    check_password_policy(password, &[email, &city])
        .err()
        .map(|problem| {
            let words = match problem {
                PasswordProblem::TooShort => t.get("account-field-password-hint"),
                other => other.to_string(),
            };
            t.arg("account-error-password-weak", "problem", words)
        })
}

fn new_password_field(t: &Translator, id: &'static str, error: Option<String>) -> Field {
    Field::new(id, "password", t.get("account-field-new-password"))
        .hint(t.get("account-field-password-hint"))
        .autocomplete("new-password")
        .error(error)
}

pub(crate) async fn account_redirect(City(tenant): City) -> Redirect {
    Redirect::permanent(&format!("{}/", prefix(&tenant)))
}

fn sign_up_page(
    state: &AppState,
    ctx: &PageContext,
    tenant: &Tenant,
    email: &str,
    errors: (Option<String>, Option<String>),
) -> Response {
    let frame = Frame::new(state, ctx, tenant, "account-sign-up-title", None, false);
    let t = frame.t.clone();
    let (mut page, cookie) = frame.form(
        format!("{}/sign-up", prefix(tenant)),
        "account-sign-up-submit",
    );
    page.intro = vec![t.get("account-sign-up-intro")];
    page.fields = vec![
        Field::new("email", "email", t.get("account-field-email"))
            .value(email)
            .autocomplete("email")
            .error(errors.0),
        new_password_field(&t, "password", errors.1),
    ];
    page.after = vec![Link {
        href: format!("{}/sign-in", prefix(tenant)),
        label: t.get("account-sign-in-link"),
    }];
    page.respond(cookie)
}

pub(crate) async fn sign_up_form(
    State(state): State<AppState>,
    City(tenant): City,
    ctx: PageContext,
) -> Response {
    sign_up_page(&state, &ctx, &tenant, "", (None, None))
}

fn check_email_page(state: &AppState, ctx: &PageContext, tenant: &Tenant) -> Response {
    Frame::new(state, ctx, tenant, "account-check-email-title", None, false)
        .message("account-check-email-body", None)
}

pub(crate) async fn sign_up_submit(
    State(state): State<AppState>,
    City(tenant): City,
    ctx: PageContext,
    CheckedForm(form): CheckedForm<CredentialsForm>,
) -> Result<Response, PortalError> {
    limit(&state, &ctx, "resident-sign-up", 20).await?;
    let t = ctx.city_translator(&tenant);
    let password = Password::new(form.password);
    let email = parse_email(&t, &form.email);
    let problem = email
        .as_ref()
        .ok()
        .and_then(|e| password_problem(&t, &password, e, &tenant));
    let email = match (email, problem) {
        (Ok(email), None) => email,
        (email, problem) => {
            return Ok(sign_up_page(
                &state,
                &ctx,
                &tenant,
                form.email.trim(),
                (email.err(), problem),
            ));
        }
    };
    // Hashed whether or not the address is new, so the answer takes the
    // same time either way.
    let hash = hash_password(&state, password).await?;
    let token = SessionToken::generate();
    let existing = state.store.resident_by_email(&tenant.id, &email).await?;
    let mail = match existing {
        None => {
            match state
                .store
                .create_resident(
                    &tenant.id,
                    &email,
                    hash.as_str(),
                    t.language(),
                    &token.stored_hash(),
                    after(VERIFY_FOR)?,
                )
                .await
            {
                Ok(_) => Some(verify_mail(&state, &t, &tenant, &token)),
                // Someone signed up with this address a moment ago.
                Err(StoreError::AlreadyExists(_)) => None,
                Err(e) => return Err(e.into()),
            }
        }
        Some(resident) if resident.status == ResidentStatus::Unverified => {
            state
                .store
                .add_resident_sign_up(
                    &tenant.id,
                    &resident.id,
                    hash.as_str(),
                    &token.stored_hash(),
                    after(VERIFY_FOR)?,
                )
                .await?;
            Some(verify_mail(&state, &t, &tenant, &token))
        }
        Some(_) => Some(
            ResidentMail::new(t.get("mail-exists-subject"))
                .says(t.get("mail-exists-body"))
                .link(public_link(&state, &format!("{}/reset", prefix(&tenant))))
                .says(t.get("mail-ignore")),
        ),
    };
    if let Some(mail) = mail {
        mail.send(&state, &tenant, &t, &email).await;
    }
    Ok(check_email_page(&state, &ctx, &tenant))
}

fn verify_mail(
    state: &AppState,
    t: &Translator,
    tenant: &Tenant,
    token: &SessionToken,
) -> ResidentMail {
    ResidentMail::new(t.get("mail-verify-subject"))
        .says(t.get("mail-verify-body"))
        .link(public_link(
            state,
            &format!("{}/verify/{}", prefix(tenant), token.expose()),
        ))
        .says(t.get("mail-ignore"))
}

fn expired_link(state: &AppState, ctx: &PageContext, tenant: &Tenant) -> Response {
    let frame = Frame::new(
        state,
        ctx,
        tenant,
        "account-link-expired-title",
        None,
        false,
    );
    let label = frame.t.get("account-sign-in-link");
    frame.message(
        "account-link-expired-body",
        Some(Link {
            href: format!("{}/sign-in", prefix(tenant)),
            label,
        }),
    )
}

pub(crate) async fn verify(
    State(state): State<AppState>,
    City(tenant): City,
    Path((_, token)): Path<(String, String)>,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    let Some(token) = SessionToken::from_cookie(&token) else {
        return Ok(expired_link(&state, &ctx, &tenant));
    };
    if state
        .store
        .confirm_resident(&tenant.id, &token.stored_hash())
        .await?
        .is_none()
    {
        return Ok(expired_link(&state, &ctx, &tenant));
    }
    Ok(Redirect::to(&format!("{}/sign-in?done=verified", prefix(&tenant))).into_response())
}

fn sign_in_page(
    state: &AppState,
    ctx: &PageContext,
    tenant: &Tenant,
    email: &str,
    failed: bool,
) -> Response {
    let frame = Frame::new(state, ctx, tenant, "account-sign-in-title", None, false);
    let t = frame.t.clone();
    let (mut page, cookie) = frame.form(
        format!("{}/sign-in", prefix(tenant)),
        "account-sign-in-submit",
    );
    let error = failed.then(|| t.get("account-sign-in-failed"));
    page.fields = vec![
        Field::new("email", "email", t.get("account-field-email"))
            .value(email)
            .autocomplete("username")
            .error(error),
        Field::new("password", "password", t.get("account-field-password"))
            .autocomplete("current-password"),
    ];
    page.after = vec![
        Link {
            href: format!("{}/reset", prefix(tenant)),
            label: t.get("account-forgot-password"),
        },
        Link {
            href: format!("{}/sign-up", prefix(tenant)),
            label: t.get("account-sign-up-link"),
        },
    ];
    page.respond(cookie)
}

pub(crate) async fn sign_in_form(
    State(state): State<AppState>,
    City(tenant): City,
    ctx: PageContext,
) -> Response {
    sign_in_page(&state, &ctx, &tenant, "", false)
}

/// One answer for every failure: unknown address, unconfirmed address,
/// wrong password, locked account.
pub(crate) async fn sign_in_submit(
    State(state): State<AppState>,
    City(tenant): City,
    ctx: PageContext,
    CheckedForm(form): CheckedForm<CredentialsForm>,
) -> Result<Response, PortalError> {
    limit(&state, &ctx, "resident-sign-in", 60).await?;
    let email = form.email.trim().to_lowercase();
    let password = Password::new(form.password);
    let resident = state
        .store
        .resident_by_email(&tenant.id, &email)
        .await?
        .filter(|r| r.status == ResidentStatus::Active);
    let Some(resident) = resident else {
        password_matches(&state, None, password).await?;
        return Ok(sign_in_page(&state, &ctx, &tenant, &email, true));
    };
    if resident.locked_until > jiff::Timestamp::now() {
        password_matches(&state, None, password).await?;
        return Ok(sign_in_page(&state, &ctx, &tenant, &email, true));
    }
    if !password_matches(&state, resident.password_hash.as_deref(), password).await? {
        state
            .store
            .record_resident_failed_sign_in(&tenant.id, &resident.id, lockout_after)
            .await?;
        return Ok(sign_in_page(&state, &ctx, &tenant, &email, true));
    }
    if resident.totp_secret.is_some() {
        let cookie = super::start_stage(
            &state,
            &tenant,
            &resident.id,
            civicpay_store::portal::staff::SessionStage::SecondFactor,
            None,
        )
        .await?;
        return Ok(with_cookie(
            Redirect::to(&format!("{}/second-factor", prefix(&tenant))).into_response(),
            &cookie,
        ));
    }
    let cookie = start_session(&state, &tenant, &resident.id, None).await?;
    Ok(with_cookie(
        Redirect::to(&format!("{}/", prefix(&tenant))).into_response(),
        &cookie,
    ))
}

pub(crate) async fn sign_out(
    State(state): State<AppState>,
    signed: Signed,
    _ctx: PageContext,
    _: CheckedForm<ButtonForm>,
) -> Result<Response, PortalError> {
    state
        .store
        .end_resident_session(&signed.tenant.id, &signed.token_hash)
        .await?;
    Ok(with_cookie(
        Redirect::to(&format!("{}/sign-in", signed.prefix())).into_response(),
        &clear_cookie(&signed.tenant),
    ))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct EmailForm {
    #[serde(default)]
    email: String,
}

fn reset_page(
    state: &AppState,
    ctx: &PageContext,
    tenant: &Tenant,
    email: &str,
    error: Option<String>,
) -> Response {
    let frame = Frame::new(state, ctx, tenant, "account-reset-title", None, false);
    let t = frame.t.clone();
    let (mut page, cookie) =
        frame.form(format!("{}/reset", prefix(tenant)), "account-reset-submit");
    page.intro = vec![t.get("account-reset-intro")];
    page.fields = vec![
        Field::new("email", "email", t.get("account-field-email"))
            .value(email)
            .autocomplete("email")
            .error(error),
    ];
    page.respond(cookie)
}

pub(crate) async fn reset_form(
    State(state): State<AppState>,
    City(tenant): City,
    ctx: PageContext,
) -> Response {
    reset_page(&state, &ctx, &tenant, "", None)
}

pub(crate) async fn reset_submit(
    State(state): State<AppState>,
    City(tenant): City,
    ctx: PageContext,
    CheckedForm(form): CheckedForm<EmailForm>,
) -> Result<Response, PortalError> {
    limit(&state, &ctx, "resident-reset", 20).await?;
    let t = ctx.city_translator(&tenant);
    let email = match parse_email(&t, &form.email) {
        Ok(email) => email,
        Err(error) => {
            return Ok(reset_page(
                &state,
                &ctx,
                &tenant,
                form.email.trim(),
                Some(error),
            ));
        }
    };
    let resident = state
        .store
        .resident_by_email(&tenant.id, &email)
        .await?
        .filter(|r| r.status != ResidentStatus::Deleted);
    if let Some(resident) = resident {
        // The link is made and mailed after the answer: a real address must
        // not take longer to answer than an unknown one.
        let (state, tenant) = (state.clone(), tenant.clone());
        tokio::spawn(async move {
            if let Err(e) = send_reset_link(&state, &tenant, &resident, &email).await {
                tracing::warn!(city = %tenant.slug, error = %e, "password reset link not sent");
            }
        });
    }
    Ok(check_email_page(&state, &ctx, &tenant))
}

async fn send_reset_link(
    state: &AppState,
    tenant: &Tenant,
    resident: &civicpay_store::portal::residents::Resident,
    email: &str,
) -> Result<(), PortalError> {
    let token = SessionToken::generate();
    state
        .store
        .issue_resident_token(
            &tenant.id,
            &resident.id,
            TokenPurpose::ResetPassword,
            None,
            &token.stored_hash(),
            after(RESET_FOR)?,
        )
        .await?;
    let mt = Translator::new(resident.language);
    ResidentMail::new(mt.get("mail-reset-subject"))
        .says(mt.get("mail-reset-body"))
        .link(public_link(
            state,
            &format!("{}/reset/{}", prefix(tenant), token.expose()),
        ))
        .says(mt.get("mail-ignore"))
        .send(state, tenant, &mt, email)
        .await;
    Ok(())
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct NewPasswordForm {
    #[serde(default)]
    password: String,
}

fn new_password_page(
    state: &AppState,
    ctx: &PageContext,
    tenant: &Tenant,
    error: Option<String>,
) -> Response {
    let frame = Frame::new(
        state,
        ctx,
        tenant,
        "account-reset-choose-title",
        None,
        false,
    );
    let t = frame.t.clone();
    let (mut page, cookie) = frame.form(ctx.path().to_owned(), "account-reset-choose-submit");
    page.fields = vec![new_password_field(&t, "password", error)];
    page.respond(cookie)
}

/// Shows the form only: the token is spent when a good password is sent,
/// so a mail scanner that follows the link uses nothing up.
pub(crate) async fn new_password_form(
    State(state): State<AppState>,
    City(tenant): City,
    ctx: PageContext,
) -> Response {
    new_password_page(&state, &ctx, &tenant, None)
}

pub(crate) async fn new_password_submit(
    State(state): State<AppState>,
    City(tenant): City,
    Path((_, token)): Path<(String, String)>,
    ctx: PageContext,
    CheckedForm(form): CheckedForm<NewPasswordForm>,
) -> Result<Response, PortalError> {
    let t = ctx.city_translator(&tenant);
    let password = Password::new(form.password);
    if let Some(problem) = password_problem(&t, &password, "", &tenant) {
        return Ok(new_password_page(&state, &ctx, &tenant, Some(problem)));
    }
    let Some(token) = SessionToken::from_cookie(&token) else {
        return Ok(expired_link(&state, &ctx, &tenant));
    };
    let Some((id, _)) = state
        .store
        .take_resident_token(
            &tenant.id,
            TokenPurpose::ResetPassword,
            &token.stored_hash(),
        )
        .await?
    else {
        return Ok(expired_link(&state, &ctx, &tenant));
    };
    let hash = hash_password(&state, password).await?;
    state
        .store
        .set_resident_password(&tenant.id, &id, hash.as_str())
        .await?;
    if let Some(resident) = state.store.resident(&tenant.id, &id).await?
        && let Some(email) = &resident.email
    {
        password_changed_mail(&state, &tenant, resident.language, email).await;
    }
    Ok(Redirect::to(&format!("{}/sign-in?done=password", prefix(&tenant))).into_response())
}

/// Tells the account's address its password changed.
pub(crate) async fn password_changed_mail(
    state: &AppState,
    tenant: &Tenant,
    language: civicpay_core::Language,
    email: &str,
) {
    let t = Translator::new(language);
    ResidentMail::new(t.get("mail-password-subject"))
        .says(t.arg("mail-password-body", "phone", &tenant.contact.phone))
        .send(state, tenant, &t, email)
        .await;
}
