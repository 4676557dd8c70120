//! A city's look, as its administrator keeps it: the accent colour (refused
//! unless it meets WCAG AA contrast; see `civicpay_core::branding`) and the
//! logo (re-encoded as PNG by `crate::logo`). Both show on the city's
//! pages, never on the card page, which belongs to the pay service. Each
//! change is an audit entry with before and after.

use super::guard::StaffContext;
use super::views::{BrandingPage, Chrome, form_status, layout};
use crate::AppState;
use crate::error::PortalError;
use crate::forms::{ButtonForm, CheckedForm, CheckedUpload};
use crate::page::PageContext;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use civicpay_audit::Action;
use civicpay_core::{AccentColour, Tenant};
use civicpay_web::forms::{Field, summary};
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AccentForm {
    #[serde(default)]
    accent: String,
}

/// What the page shows besides the stored brand: a typed colour sent
/// back, a problem on one field, or what was just saved.
#[derive(Default)]
struct Shown {
    typed_accent: Option<String>,
    accent_error: Option<String>,
    logo_error: Option<String>,
    /// The catalogue key of what was just saved.
    saved: Option<&'static str>,
}

async fn page(
    state: &AppState,
    staff: &StaffContext,
    ctx: &PageContext,
    city: &Tenant,
    shown: Shown,
) -> Result<Response, PortalError> {
    let prefix = staff.scope.prefix();
    let t = staff.t();
    let stored_accent = city.branding.accent.as_ref().map(AccentColour::as_str);
    let accent = Field::new("accent", "text", t.get("st-branding-accent"))
        .value(
            shown
                .typed_accent
                .as_deref()
                .or(stored_accent)
                .unwrap_or_default(),
        )
        .hint(t.get("st-branding-accent-hint"))
        .maxlength(7)
        .autocomplete("off")
        .error(shown.accent_error);
    let logo_field = Field::new("logo", "file", t.get("st-branding-logo-file"))
        .hint(t.get("st-branding-logo-hint"))
        .error(shown.logo_error);
    let errors = summary(&[accent.clone(), logo_field.clone()]);
    let wrong = !errors.is_empty();
    let issued = state.form_tokens.issue(ctx.form_cookie());
    let view = BrandingPage {
        layout: layout(&t, &t.get("st-branding"), Some(city), ctx.path(), wrong),
        chrome: Some(Chrome::new(staff, ctx.path(), &issued.token)),
        form_token: issued.token.clone(),
        accent,
        logo_field,
        logo: crate::views::logo_href(city),
        errors,
        saved: shown.saved.map(|key| t.get(key)),
        accent_action: format!("{prefix}/settings/branding"),
        logo_action: format!("{prefix}/settings/branding/logo"),
        remove_action: format!("{prefix}/settings/branding/logo/remove"),
        links: vec![super::admin::back_to_settings(staff)],
    };
    Ok((form_status(wrong), issued, view).into_response())
}

/// The city as stored now: the staff context's copy predates this request's
/// change.
async fn reread(state: &AppState, staff: &StaffContext) -> Result<Tenant, PortalError> {
    let city = staff.scope.city()?;
    Ok(state
        .store
        .tenant(&city.id)
        .await?
        .unwrap_or_else(|| city.clone()))
}

pub(crate) async fn branding(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    page(&state, &staff, &ctx, city, Shown::default()).await
}

pub(crate) async fn save_accent(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
    CheckedForm(form): CheckedForm<AccentForm>,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let typed = form.accent.trim();
    let accent = match typed {
        "" => None,
        typed => match AccentColour::parse(typed) {
            Ok(accent) => Some(accent),
            Err(problem) => {
                let shown = Shown {
                    typed_accent: Some(typed.to_owned()),
                    accent_error: Some(staff.t().arg(
                        "st-branding-accent-wrong",
                        "problem",
                        problem,
                    )),
                    ..Shown::default()
                };
                return page(&state, &staff, &ctx, city, shown).await;
            }
        },
    };
    if accent != city.branding.accent {
        let before = city.branding.accent.as_ref().map(AccentColour::as_str);
        let after = accent.as_ref().map(AccentColour::as_str);
        state
            .store
            .set_tenant_accent(
                &city.id,
                accent.as_ref(),
                staff.note(
                    Action::SettingChanged,
                    "accent_colour",
                    json!({ "accent_colour": { "from": before, "to": after } }),
                ),
            )
            .await?;
    }
    let saved = Shown {
        saved: Some("st-branding-accent-saved"),
        ..Shown::default()
    };
    page(&state, &staff, &ctx, &reread(&state, &staff).await?, saved).await
}

pub(crate) async fn upload_logo(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
    upload: CheckedUpload,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let logo = match crate::logo::prepare(upload.file("logo")) {
        Ok(logo) => logo,
        Err(problem) => {
            let shown = Shown {
                logo_error: Some(staff.t().arg("st-branding-logo-wrong", "problem", problem)),
                ..Shown::default()
            };
            return page(&state, &staff, &ctx, city, shown).await;
        }
    };
    if city.branding.logo.as_ref() != Some(&logo.digest) {
        let before = city.branding.logo.as_ref().map(|d| d.as_str());
        state
            .store
            .set_tenant_logo(
                &city.id,
                Some((&logo.digest, &logo.png)),
                staff.note(
                    Action::SettingChanged,
                    "logo",
                    json!({
                        "logo": { "from": before, "to": logo.digest.as_str() },
                        "size": format!("{} × {} pixels, {} bytes", logo.width, logo.height, logo.png.len()),
                    }),
                ),
            )
            .await?;
    }
    let saved = Shown {
        saved: Some("st-branding-logo-saved"),
        ..Shown::default()
    };
    page(&state, &staff, &ctx, &reread(&state, &staff).await?, saved).await
}

pub(crate) async fn remove_logo(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
    CheckedForm(_): CheckedForm<ButtonForm>,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    if let Some(before) = &city.branding.logo {
        state
            .store
            .set_tenant_logo(
                &city.id,
                None,
                staff.note(
                    Action::SettingChanged,
                    "logo",
                    json!({ "logo": { "from": before.as_str(), "to": null } }),
                ),
            )
            .await?;
    }
    let saved = Shown {
        saved: Some("st-branding-logo-removed"),
        ..Shown::default()
    };
    page(&state, &staff, &ctx, &reread(&state, &staff).await?, saved).await
}
