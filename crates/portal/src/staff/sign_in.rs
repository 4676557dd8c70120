//! Signing in (password, then a second factor), enrolment from a one-time
//! link, and signing out. Every attempt, good or bad, is in the audit log.

use super::guard::{ConsoleScope, StaffContext, current_session};
use super::views::{
    Chrome, EnrolPage, RecoveryCodesPage, SecondFactorPage, SignInPage, form_status, layout,
};
use crate::AppState;
use crate::error::PortalError;
use crate::forms::{ButtonForm, CheckedForm};
use crate::page::PageContext;
use crate::views::Link;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use civicpay_audit::Action;
use civicpay_identity::{
    Password, PasswordHash, RecoveryCode, RecoveryCodes, SessionToken, TotpSecret,
    check_password_policy, lockout_after,
};
use civicpay_store::portal::staff::{Enrolment, SessionStage, StaffStatus};
use civicpay_web::forms::{Field, summary};
use serde::Deserialize;
use serde_json::json;

/// How long the password step is good for before the second factor.
const SECOND_FACTOR_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_mins(5);
/// The one answer for an unknown address, a wrong password and a locked
/// account alike: none of them may tell a stranger that an address has an
/// account.
const GENERIC_FAILURE: &str = "st-sign-in-failed";
/// The catalogue key for a locked account, once the password was right.
const LOCKED: &str = "st-sign-in-locked";

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

fn after(duration: jiff::SignedDuration) -> Result<jiff::Timestamp, PortalError> {
    jiff::Timestamp::now()
        .checked_add(duration)
        .map_err(|_| PortalError::Internal("clock out of range"))
}

fn unix_now() -> u64 {
    u64::try_from(jiff::Timestamp::now().as_second()).unwrap_or(0)
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

fn sign_in_page(
    state: &AppState,
    scope: &ConsoleScope,
    ctx: &PageContext,
    email: &str,
    error: Option<String>,
) -> Response {
    let issued = state.form_tokens.issue(ctx.form_cookie());
    let status = form_status(error.is_some());
    let t = scope.t();
    let fields = vec![
        Field::new("email", "email", t.get("st-email-address"))
            .value(email)
            .autocomplete("username")
            .maxlength(254)
            .error(error),
        Field::new("password", "password", t.get("st-password"))
            .autocomplete("current-password")
            .maxlength(256),
    ];
    let errors = summary(&fields);
    let page = SignInPage {
        layout: layout(
            &t,
            &t.get("st-sign-in-title"),
            scope.tenant.as_ref(),
            ctx.path(),
            !errors.is_empty(),
        ),
        action: format!("{}/sign-in", scope.prefix()),
        form_token: issued.token.clone(),
        fields,
        errors,
    };
    (status, issued, page).into_response()
}

pub(crate) async fn sign_in_form(
    State(state): State<AppState>,
    scope: ConsoleScope,
    ctx: PageContext,
) -> Response {
    sign_in_page(&state, &scope, &ctx, "", None)
}

pub(crate) async fn sign_in_submit(
    State(state): State<AppState>,
    scope: ConsoleScope,
    ctx: PageContext,
    CheckedForm(form): CheckedForm<SignInForm>,
) -> Result<Response, PortalError> {
    state
        .rate_limit(
            &format!("staff-sign-in:{}", ctx.client_ip.limit_key()),
            30,
            std::time::Duration::from_secs(600),
        )
        .await?;
    let email = form.email.trim().to_lowercase();
    let password = Password::new(form.password);
    let staff = state
        .store
        .staff_by_email(scope.tenant_id(), &email)
        .await?;
    let ip = ctx.client_ip.to_string();
    let Some(staff) = staff.filter(|s| s.status == StaffStatus::Active) else {
        state
            .password_work
            .run(move || PasswordHash::verify_nothing(&password))
            .await?;
        state
            .store
            .append_audit(scope.note(
                "anonymous",
                Action::SignInFailed,
                format!("staff:{email}"),
                json!({ "reason": "no active account", "ip": ip }),
            ))
            .await?;
        return Ok(sign_in_page(
            &state,
            &scope,
            &ctx,
            &email,
            Some(scope.t().get(GENERIC_FAILURE)),
        ));
    };
    let actor = format!("staff:{}", staff.email);
    if staff.locked_until > jiff::Timestamp::now() {
        // The same work and the same words as an unknown address.
        state
            .password_work
            .run(move || PasswordHash::verify_nothing(&password))
            .await?;
        state
            .store
            .append_audit(scope.note(
                &actor,
                Action::SignInLocked,
                actor.clone(),
                json!({ "ip": ip }),
            ))
            .await?;
        return Ok(sign_in_page(
            &state,
            &scope,
            &ctx,
            &email,
            Some(scope.t().get(GENERIC_FAILURE)),
        ));
    }
    let stored = PasswordHash::from_stored(staff.password_hash.clone().unwrap_or_default());
    let right = state
        .password_work
        .run(move || stored.verify(&password))
        .await?;
    if !right {
        state
            .store
            .record_failed_sign_in(
                scope.tenant_id(),
                &staff.id,
                lockout_after,
                scope.note(
                    &actor,
                    Action::SignInFailed,
                    actor.clone(),
                    json!({ "reason": "wrong password", "ip": ip }),
                ),
            )
            .await?;
        return Ok(sign_in_page(
            &state,
            &scope,
            &ctx,
            &email,
            Some(scope.t().get(GENERIC_FAILURE)),
        ));
    }
    let token = SessionToken::generate();
    state
        .store
        .start_second_factor_session(
            &token.stored_hash(),
            &staff.id,
            after(SECOND_FACTOR_WINDOW)?,
        )
        .await?;
    let response = Redirect::to(&format!("{}/second-factor", scope.prefix())).into_response();
    Ok(with_cookie(
        response,
        &scope.session_cookie(&token, state.config.served_over_tls),
    ))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CodeForm {
    #[serde(default)]
    code: String,
}

fn second_factor_page(
    state: &AppState,
    scope: &ConsoleScope,
    ctx: &PageContext,
    error: Option<String>,
) -> Response {
    let issued = state.form_tokens.issue(ctx.form_cookie());
    let status = form_status(error.is_some());
    let t = scope.t();
    let code = Field::new("code", "text", t.get("st-second-factor-code"))
        .hint(t.get("st-second-factor-hint"))
        .inputmode("text")
        .autocomplete("one-time-code")
        .maxlength(20)
        .error(error);
    let errors = summary(std::slice::from_ref(&code));
    let page = SecondFactorPage {
        layout: layout(
            &t,
            &t.get("st-second-factor-title"),
            scope.tenant.as_ref(),
            ctx.path(),
            !errors.is_empty(),
        ),
        action: format!("{}/second-factor", scope.prefix()),
        form_token: issued.token.clone(),
        code,
        errors,
    };
    (status, issued, page).into_response()
}

pub(crate) async fn second_factor_form(
    State(state): State<AppState>,
    scope: ConsoleScope,
    ctx: PageContext,
    headers: HeaderMap,
) -> Result<Response, PortalError> {
    if current_session(&state, &scope, &headers, SessionStage::SecondFactor)
        .await?
        .is_none()
    {
        return Ok(Redirect::to(&format!("{}/sign-in", scope.prefix())).into_response());
    }
    Ok(second_factor_page(&state, &scope, &ctx, None))
}

pub(crate) async fn second_factor_submit(
    State(state): State<AppState>,
    scope: ConsoleScope,
    ctx: PageContext,
    headers: HeaderMap,
    CheckedForm(form): CheckedForm<CodeForm>,
) -> Result<Response, PortalError> {
    let Some((staff, half_hash)) =
        current_session(&state, &scope, &headers, SessionStage::SecondFactor).await?
    else {
        return Ok(Redirect::to(&format!("{}/sign-in", scope.prefix())).into_response());
    };
    let actor = format!("staff:{}", staff.email);
    let ip = ctx.client_ip.to_string();
    state
        .rate_limit(
            &format!("staff-second-factor:{}", ctx.client_ip.limit_key()),
            30,
            std::time::Duration::from_secs(600),
        )
        .await?;
    // Counted before the code is checked: concurrent guesses each take a
    // try, and none is checked once the tries are used up.
    let tries = state
        .store
        .claim_second_factor_try(scope.tenant_id(), &staff.id)
        .await?;
    let Some(tries) = tries.filter(|t| lockout_after(t.saturating_sub(1)).is_none()) else {
        state.store.end_half_way_sessions(&staff.id).await?;
        state
            .store
            .append_audit(scope.note(
                &actor,
                Action::SignInLocked,
                actor.clone(),
                json!({ "ip": ip, "step": "second factor" }),
            ))
            .await?;
        let page = sign_in_page(
            &state,
            &scope,
            &ctx,
            &staff.email,
            Some(scope.t().get(LOCKED)),
        );
        return Ok(with_cookie(page, &scope.clear_cookie()));
    };
    let secret = staff
        .totp_secret
        .as_deref()
        .and_then(|sealed| state.totp_key.open(sealed, staff.id.as_str()));
    let totp_step = secret.and_then(|s| {
        s.verify(
            &form.code,
            unix_now(),
            Some(civicpay_identity::TotpStep(staff.totp_last_step)),
        )
    });
    let method = match totp_step {
        Some(step) if state.store.accept_totp_step(&staff.id, step.0).await? => Some("totp"),
        _ => {
            let code = RecoveryCode::parse(&form.code);
            if form.code.len() >= 10
                && state
                    .store
                    .use_recovery_code(&staff.id, &code.stored_hash())
                    .await?
            {
                state
                    .store
                    .append_audit(scope.note(
                        &actor,
                        Action::RecoveryCodeUsed,
                        actor.clone(),
                        json!({ "ip": ip }),
                    ))
                    .await?;
                Some("recovery code")
            } else {
                None
            }
        }
    };
    let Some(method) = method else {
        let locked = state
            .store
            .record_failed_second_factor(
                scope.tenant_id(),
                &staff.id,
                tries,
                lockout_after,
                scope.note(
                    &actor,
                    Action::SignInFailed,
                    actor.clone(),
                    json!({ "reason": "wrong second factor", "ip": ip }),
                ),
            )
            .await?;
        if locked {
            let page = sign_in_page(
                &state,
                &scope,
                &ctx,
                &staff.email,
                Some(scope.t().get(LOCKED)),
            );
            return Ok(with_cookie(page, &scope.clear_cookie()));
        }
        return Ok(second_factor_page(
            &state,
            &scope,
            &ctx,
            Some(scope.t().get("st-second-factor-wrong")),
        ));
    };
    let token = SessionToken::generate();
    let lifetime = jiff::SignedDuration::try_from(state.config.staff_session_lifetime)
        .map_err(|_| PortalError::Internal("session lifetime out of range"))?;
    state
        .store
        .promote_staff_session(
            &half_hash,
            &token.stored_hash(),
            &staff.id,
            after(lifetime)?,
            scope.note(
                &actor,
                Action::SignInSucceeded,
                actor.clone(),
                json!({ "second_factor": method, "ip": ip }),
            ),
        )
        .await?;
    let response = Redirect::to(&format!("{}/", scope.prefix())).into_response();
    Ok(with_cookie(
        response,
        &scope.session_cookie(&token, state.config.served_over_tls),
    ))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct EnrolForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    code: String,
}

struct EnrolErrors {
    password: Option<String>,
    confirm: Option<String>,
    code: Option<String>,
}

fn enrolment_secret(state: &AppState, token_hash: &str) -> TotpSecret {
    TotpSecret::from_seed(
        &state
            .form_tokens
            .derive_secret("staff-totp-enrolment", token_hash),
    )
}

fn enrol_page(
    state: &AppState,
    scope: &ConsoleScope,
    ctx: &PageContext,
    email: &str,
    token_hash: &str,
    errors: EnrolErrors,
) -> Response {
    let issued = state.form_tokens.issue(ctx.form_cookie());
    let secret = enrolment_secret(state, token_hash);
    let issuer = scope.tenant.as_ref().map_or_else(
        || "civicpay platform".to_owned(),
        |t| format!("{} civicpay", t.name.get(t.default_language)),
    );
    let t = scope.t();
    let passwords = vec![
        Field::new("password", "password", t.get("st-enrol-password"))
            .hint(t.get("st-enrol-password-hint"))
            .autocomplete("new-password")
            .maxlength(256)
            .error(errors.password),
        Field::new("confirm", "password", t.get("st-enrol-confirm"))
            .autocomplete("new-password")
            .maxlength(256)
            .error(errors.confirm),
    ];
    let code = Field::new("code", "text", t.get("st-enrol-code"))
        .inputmode("numeric")
        .autocomplete("one-time-code")
        .maxlength(10)
        .error(errors.code);
    let summary = summary(&[passwords.as_slice(), std::slice::from_ref(&code)].concat());
    let status = form_status(!summary.is_empty());
    let page = EnrolPage {
        layout: layout(
            &t,
            &t.get("st-enrol-title"),
            scope.tenant.as_ref(),
            ctx.path(),
            !summary.is_empty(),
        ),
        action: ctx.path().to_owned(),
        form_token: issued.token.clone(),
        email: email.to_owned(),
        qr_svg: secret.qr_svg(&issuer, email),
        secret: secret.base32().to_owned(),
        passwords,
        code,
        errors: summary,
    };
    (status, issued, page).into_response()
}

fn link_not_valid(scope: &ConsoleScope, path: &str) -> Response {
    let t = scope.t();
    let page = super::views::ConsoleMessage {
        layout: layout(
            &t,
            &t.get("st-link-dead-title"),
            scope.tenant.as_ref(),
            path,
            false,
        ),
        chrome: None,
        body: vec![t.get("st-link-dead"), t.get("st-link-dead-ask")],
        link: None,
    };
    (StatusCode::NOT_FOUND, page).into_response()
}

pub(crate) async fn enrol_form(
    State(state): State<AppState>,
    scope: ConsoleScope,
    Path(params): Path<std::collections::HashMap<String, String>>,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    let Some(token) = params
        .get("token")
        .and_then(|t| SessionToken::from_cookie(t))
    else {
        return Ok(link_not_valid(&scope, ctx.path()));
    };
    let hash = token.stored_hash();
    let Some(staff) = state
        .store
        .staff_by_enrolment_token(scope.tenant_id(), &hash, jiff::Timestamp::now())
        .await?
    else {
        return Ok(link_not_valid(&scope, ctx.path()));
    };
    Ok(enrol_page(
        &state,
        &scope,
        &ctx,
        &staff.email,
        &hash,
        EnrolErrors {
            password: None,
            confirm: None,
            code: None,
        },
    ))
}

pub(crate) async fn enrol_submit(
    State(state): State<AppState>,
    scope: ConsoleScope,
    Path(params): Path<std::collections::HashMap<String, String>>,
    ctx: PageContext,
    CheckedForm(form): CheckedForm<EnrolForm>,
) -> Result<Response, PortalError> {
    let Some(token) = params
        .get("token")
        .and_then(|t| SessionToken::from_cookie(t))
    else {
        return Ok(link_not_valid(&scope, ctx.path()));
    };
    let hash = token.stored_hash();
    let Some(staff) = state
        .store
        .staff_by_enrolment_token(scope.tenant_id(), &hash, jiff::Timestamp::now())
        .await?
    else {
        return Ok(link_not_valid(&scope, ctx.path()));
    };
    let password = Password::new(form.password);
    let city_name = scope
        .tenant
        .as_ref()
        .map(|t| t.name.get(t.default_language).to_owned())
        .unwrap_or_default();
    let t = scope.t();
    let mut errors = EnrolErrors {
        password: check_password_policy(&password, &[&staff.email, &city_name, "civicpay"])
            .err()
            .map(|p| t.arg("st-enrol-password-refused", "problem", p)),
        confirm: (form.confirm != password.expose()).then(|| t.get("st-enrol-not-same")),
        code: None,
    };
    let secret = enrolment_secret(&state, &hash);
    let step = secret.verify(&form.code, unix_now(), None);
    if step.is_none() {
        errors.code = Some(t.get("st-enrol-code-wrong"));
    }
    let Some(step) = step.filter(|_| errors.password.is_none() && errors.confirm.is_none()) else {
        return Ok(enrol_page(
            &state,
            &scope,
            &ctx,
            &staff.email,
            &hash,
            errors,
        ));
    };
    let password_hash = state
        .password_work
        .run(move || PasswordHash::create(&password))
        .await?;
    let sealed_secret =
        state
            .totp_key
            .seal(&secret, staff.id.as_str())
            .ok_or(PortalError::Internal(
                "sealing the authenticator secret failed",
            ))?;
    let codes = RecoveryCodes::generate();
    let actor = format!("staff:{}", staff.email);
    let done = state
        .store
        .complete_enrolment(
            scope.tenant_id(),
            &staff.id,
            &hash,
            Enrolment {
                password_hash: password_hash.as_str(),
                totp_secret: &sealed_secret,
                totp_step: step.0,
                recovery_code_hashes: &codes.stored,
            },
            scope.note(
                &actor,
                Action::SecondFactorEnrolled,
                actor.clone(),
                json!({ "second_factor": "totp", "recovery_codes": codes.stored.len() }),
            ),
        )
        .await?;
    if !done {
        return Ok(link_not_valid(&scope, ctx.path()));
    }
    let t = scope.t();
    let page = RecoveryCodesPage {
        layout: layout(
            &t,
            &t.get("st-codes-title"),
            scope.tenant.as_ref(),
            ctx.path(),
            false,
        ),
        chrome: None,
        codes: codes.shown,
        next: Link {
            href: format!("{}/sign-in", scope.prefix()),
            label: t.get("st-codes-stored"),
        },
    };
    Ok(page.into_response())
}

pub(crate) async fn sign_out(
    State(state): State<AppState>,
    scope: ConsoleScope,
    _ctx: PageContext,
    headers: HeaderMap,
    _: CheckedForm<ButtonForm>,
) -> Result<Response, PortalError> {
    if let Some((staff, hash)) =
        current_session(&state, &scope, &headers, SessionStage::SignedIn).await?
    {
        state.store.end_staff_session(&hash).await?;
        let actor = format!("staff:{}", staff.email);
        state
            .store
            .append_audit(scope.note(&actor, Action::SignedOut, actor.clone(), json!({})))
            .await?;
    }
    let response = Redirect::to(&format!("{}/sign-in", scope.prefix())).into_response();
    Ok(with_cookie(response, &scope.clear_cookie()))
}

pub(crate) async fn sign_out_everywhere(
    State(state): State<AppState>,
    staff: StaffContext,
    _ctx: PageContext,
    _: CheckedForm<ButtonForm>,
) -> Result<Response, PortalError> {
    let ended = state
        .store
        .end_all_staff_sessions(
            &staff.staff.id,
            staff.note(Action::SignedOutEverywhere, staff.actor(), json!({})),
        )
        .await?;
    tracing::info!(sessions = ended, "staff member signed out everywhere");
    let response = Redirect::to(&format!("{}/sign-in", staff.scope.prefix())).into_response();
    Ok(with_cookie(response, &staff.scope.clear_cookie()))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ReauthForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

/// New recovery codes replace the old ones, so they take the password and
/// a current authenticator code again: a session left open on a desk must
/// not be enough to mint a way past the second factor.
pub(crate) async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
    CheckedForm(form): CheckedForm<ReauthForm>,
) -> Result<Response, PortalError> {
    let me = &staff.staff;
    let password = Password::new(form.password);
    let stored = PasswordHash::from_stored(me.password_hash.clone().unwrap_or_default());
    let password_right = state
        .password_work
        .run(move || stored.verify(&password))
        .await?;
    let step = me
        .totp_secret
        .as_deref()
        .and_then(|sealed| state.totp_key.open(sealed, me.id.as_str()))
        .and_then(|s| {
            s.verify(
                &form.code,
                unix_now(),
                Some(civicpay_identity::TotpStep(me.totp_last_step)),
            )
        });
    let code_right = match step {
        Some(step) if password_right => state.store.accept_totp_step(&me.id, step.0).await?,
        _ => false,
    };
    if !(password_right && code_right) {
        state
            .store
            .record_failed_sign_in(
                staff.scope.tenant_id(),
                &me.id,
                lockout_after,
                staff.note(
                    Action::SignInFailed,
                    staff.actor(),
                    json!({ "reason": "wrong password or code for new recovery codes", "ip": ctx.client_ip.to_string() }),
                ),
            )
            .await?;
        let issued = state.form_tokens.issue(ctx.form_cookie());
        let t = staff.t();
        let page = super::views::ConsoleMessage {
            layout: layout(
                &t,
                &t.get("st-codes-not-changed-title"),
                staff.scope.tenant.as_ref(),
                ctx.path(),
                false,
            ),
            chrome: Some(Chrome::new(&staff, ctx.path(), &issued.token)),
            body: vec![t.get("st-codes-not-changed")],
            link: Some(Link {
                href: format!("{}/", staff.scope.prefix()),
                label: t.get("st-back-to-console"),
            }),
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let codes = RecoveryCodes::generate();
    state
        .store
        .regenerate_recovery_codes(
            &staff.staff.id,
            &codes.stored,
            staff.note(Action::RecoveryCodesRegenerated, staff.actor(), json!({})),
        )
        .await?;
    let issued = state.form_tokens.issue(ctx.form_cookie());
    let t = staff.t();
    let page = RecoveryCodesPage {
        layout: layout(
            &t,
            &t.get("st-codes-new-title"),
            staff.scope.tenant.as_ref(),
            ctx.path(),
            false,
        ),
        chrome: Some(Chrome::new(&staff, ctx.path(), &issued.token)),
        codes: codes.shown,
        next: Link {
            href: format!("{}/", staff.scope.prefix()),
            label: t.get("st-back-to-console"),
        },
    };
    Ok(page.into_response())
}
