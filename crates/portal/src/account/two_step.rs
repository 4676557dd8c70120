//! Two-step sign-in for residents who want it: a code from an
//! authenticator app after the password. Offered on the account page after
//! sign-up; turning it on needs a code from the app, turning it off the
//! password, and either is e-mailed to the account's address.

use super::mail::ResidentMail;
use super::{
    City, Frame, Signed, password_retyped, prefix, session_at, start_session, with_cookie,
};
use crate::AppState;
use crate::error::PortalError;
use crate::forms::CheckedForm;
use crate::page::PageContext;
use crate::views::Link;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use civicpay_core::Tenant;
use civicpay_identity::{
    Password, RecoveryCode, RecoveryCodes, TotpSecret, TotpStep, lockout_after,
};
use civicpay_store::portal::staff::SessionStage;
use civicpay_web::forms::Field;
use serde::Deserialize;

fn unix_now() -> u64 {
    u64::try_from(jiff::Timestamp::now().as_second()).unwrap_or(0)
}

/// The secret offered while enrolling: derived from the session, so the
/// page shows the same code on every reload and nothing is stored until a
/// code from the app confirms it.
fn offered_secret(state: &AppState, signed: &Signed) -> TotpSecret {
    TotpSecret::from_seed(
        &state
            .form_tokens
            .derive_secret("resident-totp-enrolment", &signed.token_hash),
    )
}

fn issuer(tenant: &Tenant, t: &civicpay_web::Translator) -> String {
    tenant.name.get(t.language()).to_owned()
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
}

fn two_step_page(
    state: &AppState,
    ctx: &PageContext,
    signed: &Signed,
    error: Option<String>,
) -> Response {
    let frame = Frame::new(
        state,
        ctx,
        &signed.tenant,
        "account-two-step",
        Some(signed),
        false,
    );
    let t = frame.t.clone();
    let on = signed.resident.totp_secret.is_some();
    let submit = if on {
        "account-two-step-off-submit"
    } else {
        "account-two-step-submit"
    };
    let (mut page, cookie) = frame.form(format!("{}/two-step", signed.prefix()), submit);
    if on {
        page.intro = vec![t.get("account-two-step-on")];
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
    } else {
        let secret = offered_secret(state, signed);
        let issuer = issuer(&signed.tenant, &t);
        page.intro = vec![t.get("account-two-step-intro")];
        page.qr = Some((
            secret.qr_svg(&issuer, signed.email()),
            secret.base32().to_owned(),
        ));
        page.fields = vec![
            Field::new("code", "text", t.get("account-two-step-code"))
                .autocomplete("one-time-code")
                .inputmode("numeric")
                .error(error),
        ];
    }
    page.respond(cookie)
}

pub(crate) async fn two_step(
    State(state): State<AppState>,
    signed: Signed,
    ctx: PageContext,
) -> Response {
    two_step_page(&state, &ctx, &signed, None)
}

pub(crate) async fn two_step_submit(
    State(state): State<AppState>,
    signed: Signed,
    ctx: PageContext,
    CheckedForm(form): CheckedForm<CodeForm>,
) -> Result<Response, PortalError> {
    let t = ctx.city_translator(&signed.tenant);
    let mt = signed.mail_translator();
    let mail = |body: &'static str| {
        ResidentMail::new(mt.get("mail-two-step-subject")).says(mt.arg(
            body,
            "phone",
            &signed.tenant.contact.phone,
        ))
    };
    if signed.resident.totp_secret.is_some() {
        if !password_retyped(&state, &ctx, &signed, Password::new(form.password)).await? {
            let error = t.get("account-error-password-wrong");
            return Ok(two_step_page(&state, &ctx, &signed, Some(error)));
        }
        state
            .store
            .set_resident_totp(&signed.tenant.id, &signed.resident.id, None, &[], None)
            .await?;
        mail("mail-two-step-off-body")
            .send(&state, &signed.tenant, &mt, signed.email())
            .await;
        return Ok(
            Redirect::to(&format!("{}/settings?done=two-step", signed.prefix())).into_response(),
        );
    }
    let secret = offered_secret(&state, &signed);
    let Some(TotpStep(step)) = secret.verify(&form.code, unix_now(), None) else {
        let error = t.get("account-two-step-code-error");
        return Ok(two_step_page(&state, &ctx, &signed, Some(error)));
    };
    let codes = RecoveryCodes::generate();
    state
        .store
        .set_resident_totp(
            &signed.tenant.id,
            &signed.resident.id,
            Some((secret.base32(), step)),
            &codes.stored,
            None,
        )
        .await?;
    mail("mail-two-step-on-body")
        .send(&state, &signed.tenant, &mt, signed.email())
        .await;
    // The codes are shown on this answer only; nothing can show them again.
    let frame = Frame::new(
        &state,
        &ctx,
        &signed.tenant,
        "account-recovery-codes-title",
        Some(&signed),
        false,
    );
    let (mut page, cookie) = frame.form(String::new(), "account-recovery-codes-done");
    page.show_form = false;
    page.intro = vec![t.get("account-recovery-codes-intro")];
    page.codes = codes.shown;
    page.after.push(Link {
        href: format!("{}/settings?done=two-step", signed.prefix()),
        label: t.get("account-recovery-codes-done"),
    });
    Ok(page.respond(cookie))
}

fn second_factor_page(
    state: &AppState,
    ctx: &PageContext,
    tenant: &Tenant,
    error: Option<String>,
) -> Response {
    let frame = Frame::new(
        state,
        ctx,
        tenant,
        "account-second-factor-title",
        None,
        false,
    );
    let t = frame.t.clone();
    let (mut page, cookie) = frame.form(
        format!("{}/second-factor", prefix(tenant)),
        "account-second-factor-submit",
    );
    page.intro = vec![
        t.get("account-second-factor-intro"),
        t.arg("account-two-step-lost", "phone", &tenant.contact.phone),
    ];
    // Not a number pad: a recovery code has letters.
    page.fields = vec![
        Field::new("code", "text", t.get("account-two-step-code"))
            .hint(t.get("account-second-factor-recovery"))
            .autocomplete("one-time-code")
            .error(error),
    ];
    page.respond(cookie)
}

fn back_to_sign_in(tenant: &Tenant) -> Response {
    Redirect::to(&format!("{}/sign-in", prefix(tenant))).into_response()
}

pub(crate) async fn second_factor_form(
    State(state): State<AppState>,
    City(tenant): City,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    if session_at(&state, &tenant, ctx.headers(), SessionStage::SecondFactor)
        .await?
        .is_none()
    {
        return Ok(back_to_sign_in(&tenant));
    }
    Ok(second_factor_page(&state, &ctx, &tenant, None))
}

/// A right code turns the half-way session into a full one under a new
/// token; a wrong one counts towards the lock-out like a wrong password.
pub(crate) async fn second_factor_submit(
    State(state): State<AppState>,
    City(tenant): City,
    ctx: PageContext,
    CheckedForm(form): CheckedForm<CodeForm>,
) -> Result<Response, PortalError> {
    let Some((resident, half)) =
        session_at(&state, &tenant, ctx.headers(), SessionStage::SecondFactor).await?
    else {
        return Ok(back_to_sign_in(&tenant));
    };
    let t = ctx.city_translator(&tenant);
    let step = resident
        .totp_secret
        .as_deref()
        .and_then(TotpSecret::from_base32)
        .and_then(|secret| {
            secret.verify(
                &form.code,
                unix_now(),
                Some(TotpStep(resident.totp_last_step)),
            )
        });
    let locked = resident.locked_until > jiff::Timestamp::now();
    let accepted = match step.filter(|_| !locked) {
        Some(TotpStep(step)) => {
            state
                .store
                .accept_resident_totp_step(&tenant.id, &resident.id, step)
                .await?
        }
        None if !locked => spend_recovery_code(&state, &tenant, &resident, &form.code).await?,
        None => false,
    };
    if !accepted {
        state
            .store
            .record_resident_failed_sign_in(&tenant.id, &resident.id, lockout_after)
            .await?;
        let error = t.get("account-two-step-code-error");
        return Ok(second_factor_page(&state, &ctx, &tenant, Some(error)));
    }
    let cookie = start_session(&state, &tenant, &resident.id, Some(&half)).await?;
    Ok(with_cookie(
        Redirect::to(&format!("{}/", prefix(&tenant))).into_response(),
        &cookie,
    ))
}

/// Signs in with a recovery code in place of the app's code: each works
/// once, and the resident is told by e-mail how many are left.
async fn spend_recovery_code(
    state: &AppState,
    tenant: &Tenant,
    resident: &civicpay_store::portal::residents::Resident,
    typed: &str,
) -> Result<bool, PortalError> {
    let code = RecoveryCode::parse(typed);
    if !state
        .store
        .use_resident_recovery_code(&tenant.id, &resident.id, &code.stored_hash())
        .await?
    {
        return Ok(false);
    }
    let left = state
        .store
        .resident_recovery_codes_left(&tenant.id, &resident.id)
        .await?;
    if let Some(email) = resident.email.as_deref() {
        let mt = civicpay_web::Translator::new(resident.language);
        ResidentMail::new(mt.get("mail-recovery-code-subject"))
            .says(mt.args(
                "mail-recovery-code-body",
                &[
                    ("left", &left.to_string()),
                    ("phone", &tenant.contact.phone),
                ],
            ))
            .send(state, tenant, &mt, email)
            .await;
    }
    Ok(true)
}
