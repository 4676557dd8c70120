//! Helping a resident who cannot get in: staff with the resident-support
//! permission find the account by its e-mail address, see its linked bills
//! and the e-mails sent to it, and turn off its two-step sign-in once they
//! have written down how they checked who is asking. Each look-up and each
//! reset is in the audit log, and the resident is e-mailed.

use super::guard::StaffContext;
use super::views::{Chrome, Fact, ResidentSupportPage, form_status, layout};
use crate::AppState;
use crate::account::mail::ResidentMail;
use crate::error::PortalError;
use crate::forms::CheckedForm;
use crate::page::PageContext;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use civicpay_audit::Action;
use civicpay_core::{ResidentId, Tenant};
use civicpay_store::portal::residents::Resident;
use civicpay_web::Translator;
use civicpay_web::forms::{Field, set_error, summary};
use serde::Deserialize;
use serde_json::json;

/// The fewest characters a note of the identity check may have.
const CHECK_NOTE_MIN: usize = 10;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct SupportQuery {
    #[serde(default)]
    email: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ResetForm {
    #[serde(default)]
    identity_check: String,
}

/// What the page shows: the search, and the account found with its reset
/// form (and what went wrong with it).
struct Shown<'a> {
    email: &'a str,
    found: Option<&'a Resident>,
    reset_error: Option<String>,
    typed_check: &'a str,
    done: bool,
}

async fn page(
    state: &AppState,
    staff: &StaffContext,
    ctx: &PageContext,
    shown: Shown<'_>,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let prefix = staff.scope.prefix();
    let t = staff.t();
    let fact = |key: &str, value: String| Fact {
        label: t.get(key),
        value,
    };
    let tz = city.time_zone.time_zone();
    let when = |t: jiff::Timestamp| {
        t.to_zoned(tz.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string()
    };
    let mut search = vec![
        Field::new("email", "email", t.get("st-residents-email"))
            .value(shown.email)
            .maxlength(254),
    ];
    let not_found = !shown.email.trim().is_empty() && shown.found.is_none();
    if not_found {
        set_error(&mut search, "email", t.get("st-residents-not-found"));
    }
    let mut facts = Vec::new();
    let mut bills = Vec::new();
    let mut mail = Vec::new();
    let mut reset = Vec::new();
    let mut reset_action = None;
    if let Some(resident) = shown.found {
        let email = resident.email.clone().unwrap_or_default();
        facts = vec![
            fact("st-email-address", email.clone()),
            fact(
                "st-residents-status",
                t.get(&format!("st-resident-status-{}", resident.status.code())),
            ),
            fact("st-residents-opened", when(resident.created_at)),
            fact(
                "st-residents-two-step",
                if resident.totp_secret.is_some() {
                    let left = state
                        .store
                        .resident_recovery_codes_left(&city.id, &resident.id)
                        .await?;
                    t.count(
                        "st-residents-two-step-on",
                        "count",
                        u64::try_from(left).unwrap_or(0),
                    )
                } else {
                    t.get("st-residents-two-step-is-off")
                },
            ),
        ];
        let types = state.store.bill_types(&city.id).await?;
        for link in state.store.account_links(&city.id, &resident.id).await? {
            let name = types
                .iter()
                .find(|b| b.id == link.bill_type_id)
                .map_or_else(String::new, |b| b.name.get(t.language()).to_owned());
            bills.push((name, link.reference.to_string(), when(link.linked_at)));
        }
        for sent in state.store.mail_sent_to(&city.id, &email, 50).await? {
            let outcome = t.get(if sent.delivered {
                "st-residents-mail-sent"
            } else {
                "st-residents-mail-not-sent"
            });
            mail.push((when(sent.sent_at), sent.subject, outcome));
        }
        if resident.totp_secret.is_some() {
            reset = vec![
                Field::new("identity_check", "text", t.get("st-residents-check"))
                    .hint(t.get("st-residents-check-hint"))
                    .value(shown.typed_check)
                    .maxlength(500),
            ];
            if let Some(error) = shown.reset_error {
                set_error(&mut reset, "identity_check", error);
            }
            reset_action = Some(format!("{prefix}/residents/{}/two-step-off", resident.id));
        }
    }
    let mut fields = search.clone();
    fields.extend(reset.iter().cloned());
    let errors = summary(&fields);
    let issued = state.form_tokens.issue(ctx.form_cookie());
    let view = ResidentSupportPage {
        layout: layout(
            &t,
            &t.get("st-tile-residents"),
            Some(city),
            ctx.path(),
            !errors.is_empty(),
        ),
        chrome: Some(Chrome::new(staff, ctx.path(), &issued.token)),
        form_token: issued.token.clone(),
        search,
        facts,
        bills,
        mail,
        reset,
        reset_action,
        errors,
        done: shown.done,
    };
    Ok((form_status(!view.errors.is_empty()), issued, view).into_response())
}

async fn find(
    state: &AppState,
    city: &Tenant,
    email: &str,
) -> Result<Option<Resident>, PortalError> {
    let email = email.trim().to_lowercase();
    if email.is_empty() {
        return Ok(None);
    }
    Ok(state.store.resident_by_email(&city.id, &email).await?)
}

pub(crate) async fn residents(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
    Query(query): Query<SupportQuery>,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let found = find(&state, city, &query.email).await?;
    if let Some(resident) = &found {
        state
            .store
            .append_audit(staff.note(
                Action::ResidentLookedUp,
                format!("resident:{}", resident.id),
                json!({ "email": query.email.trim().to_lowercase() }),
            ))
            .await?;
    }
    let shown = Shown {
        email: &query.email,
        found: found.as_ref(),
        reset_error: None,
        typed_check: "",
        done: false,
    };
    page(&state, &staff, &ctx, shown).await
}

/// Turns off a resident's two-step sign-in, once the identity check is
/// written down: audited with that note, and the resident is told.
pub(crate) async fn two_step_off(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
    Path((_, resident)): Path<(String, String)>,
    CheckedForm(form): CheckedForm<ResetForm>,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let id = ResidentId::parse(&resident).map_err(|_| PortalError::NotFound)?;
    let resident = state
        .store
        .resident(&city.id, &id)
        .await?
        .filter(|r| r.email.is_some())
        .ok_or(PortalError::NotFound)?;
    let email = resident.email.clone().unwrap_or_default();
    let check = form.identity_check.trim();
    if check.chars().count() < CHECK_NOTE_MIN || resident.totp_secret.is_none() {
        let reset_error = if resident.totp_secret.is_none() {
            None
        } else {
            Some(
                staff
                    .t()
                    .count("st-residents-check-short", "count", CHECK_NOTE_MIN as u64),
            )
        };
        let shown = Shown {
            email: &email,
            found: Some(&resident),
            reset_error,
            typed_check: &form.identity_check,
            done: false,
        };
        return page(&state, &staff, &ctx, shown).await;
    }
    let audit = staff.note(
        Action::ResidentTwoStepReset,
        format!("resident:{}", resident.id),
        json!({ "email": email, "identity_check": check }),
    );
    state
        .store
        .set_resident_totp(&city.id, &resident.id, None, &[], Some(audit))
        .await?;
    let t = Translator::new(resident.language);
    ResidentMail::new(t.get("mail-two-step-subject"))
        .says(t.arg("mail-two-step-reset-body", "phone", &city.contact.phone))
        .send(&state, city, &t, &email)
        .await;
    let after = Resident {
        totp_secret: None,
        ..resident
    };
    let shown = Shown {
        email: &email,
        found: Some(&after),
        reset_error: None,
        typed_check: "",
        done: true,
    };
    page(&state, &staff, &ctx, shown).await
}
