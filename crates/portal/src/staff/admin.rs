//! The console's home, the audit log view, staff management and city
//! settings.

use super::guard::StaffContext;
use super::views::{
    AuditPage, AuditRow, Chrome, DashboardPage, MemberRow, SettingsPage, TeamPage, Tile,
    form_status, layout, role_name,
};
use crate::AppState;
use crate::error::PortalError;
use crate::forms::CheckedForm;
use crate::page::PageContext;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use civicpay_audit::Action;
use civicpay_core::staff::RefundLimits;
use civicpay_core::{Money, Permission, Role, StaffId};
use civicpay_store::audit_log::AuditFilter;
use civicpay_store::portal::staff::StaffStatus;
use civicpay_web::Translator;
use civicpay_web::forms::{Choice, Field, set_error, summary};
use serde::Deserialize;
use serde_json::json;

pub(crate) async fn dashboard(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    let prefix = staff.scope.prefix();
    let t = staff.t();
    let mut tiles = Vec::new();
    // Each tile's name and hint are catalogue keys `st-tile-{key}` and
    // `st-tile-{key}-hint`.
    let mut tile = |permission: Permission, path: &str, key: &str, hint: Option<String>| {
        if staff.allows(permission) {
            tiles.push(Tile {
                href: format!("{prefix}{path}"),
                label: t.get(&format!("st-tile-{key}")),
                hint: hint.unwrap_or_else(|| t.get(&format!("st-tile-{key}-hint"))),
            });
        }
    };
    tile(Permission::LookUpBills, "/bills", "bills", None);
    tile(Permission::ViewPayments, "/payments", "payments", None);
    if staff.allows(Permission::ApproveRefunds) {
        let city = staff.scope.city()?;
        let waiting = state.store.refund_requests(&city.id, None).await?.len();
        tile(
            Permission::ApproveRefunds,
            "/refunds",
            "refunds",
            Some(t.count("st-tile-refunds-waiting", "count", waiting as u64)),
        );
    }
    tile(
        Permission::SupportResidents,
        "/residents",
        "residents",
        None,
    );
    tile(
        Permission::ViewReports,
        "/reports/reconciliation",
        "reconciliation",
        None,
    );
    tile(Permission::ViewAuditLog, "/audit", "audit", None);
    tile(Permission::ManageStaff, "/team", "team", None);
    tile(Permission::ManageSettings, "/settings", "settings", None);
    let left = state.store.unused_recovery_codes(&staff.staff.id).await?;
    let issued = state.form_tokens.issue(ctx.form_cookie());
    let page = DashboardPage {
        layout: layout(
            &t,
            &t.get("st-title-console"),
            staff.scope.tenant.as_ref(),
            ctx.path(),
            false,
        ),
        chrome: Some(Chrome::new(&staff, ctx.path(), &issued.token)),
        tiles,
        recovery_codes_left: left,
        codes_left: t.count("st-codes-left", "count", u64::from(left)),
        codes_action: format!("{prefix}/recovery-codes"),
        form_token: issued.token.clone(),
    };
    Ok((issued, page).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    before: Option<u64>,
}

/// A day in the city's time zone as the UTC instants it starts and ends.
pub(crate) fn day_bounds(
    tenant: &civicpay_core::Tenant,
    date: jiff::civil::Date,
) -> Result<(jiff::Timestamp, jiff::Timestamp), PortalError> {
    let tz = tenant.time_zone.time_zone();
    let start = date
        .to_zoned(tz.clone())
        .map_err(|_| PortalError::BadRequest("date out of range".into()))?;
    let end = date
        .tomorrow()
        .and_then(|d| d.to_zoned(tz))
        .map_err(|_| PortalError::BadRequest("date out of range".into()))?;
    Ok((start.timestamp(), end.timestamp()))
}

fn optional_date(field: &str, value: &str) -> Result<Option<jiff::civil::Date>, PortalError> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    value.trim().parse().map(Some).map_err(|_| {
        PortalError::BadRequest(format!("{field}: {value:?} is not a date like 2026-11-23"))
    })
}

pub(crate) async fn audit_log(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
    Query(query): Query<AuditQuery>,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let from = optional_date("from", &query.from)?
        .map(|d| day_bounds(city, d).map(|(start, _)| start))
        .transpose()?;
    let to = optional_date("to", &query.to)?
        .map(|d| day_bounds(city, d).map(|(_, end)| end))
        .transpose()?;
    let filter = AuditFilter {
        action: (!query.action.is_empty()).then(|| query.action.clone()),
        actor: (!query.actor.trim().is_empty()).then(|| query.actor.trim().to_owned()),
        from,
        to,
        before_seq: query.before,
        limit: 100,
    };
    let entries = state
        .store
        .audit_entries(&staff.scope.chain(), &filter)
        .await?;
    let tz = city.time_zone.time_zone();
    let rows: Vec<AuditRow> = entries
        .iter()
        .map(|e| AuditRow {
            seq: e.seq,
            at: e
                .at
                .to_zoned(tz.clone())
                .strftime("%Y-%m-%d %H:%M:%S %Z")
                .to_string(),
            actor: e.actor.clone(),
            action: e.action.clone(),
            target: e.target.clone(),
            details: super::audit_details::readable(&e.details),
        })
        .collect();
    let older = (rows.len() == 100)
        .then(|| rows.last().map(|r| r.seq))
        .flatten()
        .map(|seq| {
            let mut url = url::form_urlencoded::Serializer::new(String::new());
            url.append_pair("action", &query.action)
                .append_pair("actor", &query.actor)
                .append_pair("from", &query.from)
                .append_pair("to", &query.to)
                .append_pair("before", &seq.to_string());
            format!("{}?{}", ctx.path(), url.finish())
        });
    let t = staff.t();
    let actions = std::iter::once((String::new(), t.get("st-audit-any-action"))).chain(
        Action::ALL
            .iter()
            .map(|a| (a.code().to_owned(), a.code().to_owned())),
    );
    let filters = vec![
        Field::new("action", "select", t.get("st-col-action"))
            .options(actions)
            .value(query.action.clone()),
        Field::new("actor", "text", t.get("st-audit-actor"))
            .value(query.actor.clone())
            .maxlength(254),
        Field::new("from", "date", t.get("st-date-from")).value(query.from.clone()),
        Field::new("to", "date", t.get("st-date-to")).value(query.to.clone()),
    ];
    state
        .store
        .append_audit(staff.note(Action::ReportViewed, "audit-log", json!({ "action": query.action, "actor": query.actor, "from": query.from, "to": query.to })))
        .await?;
    let issued = state.form_tokens.issue(ctx.form_cookie());
    let page = AuditPage {
        layout: layout(&t, &t.get("st-nav-audit"), Some(city), ctx.path(), false),
        chrome: Some(Chrome::new(&staff, ctx.path(), &issued.token)),
        filters,
        rows,
        older,
    };
    Ok((issued, page).into_response())
}

fn role_choices(t: &Translator, selected: Option<Role>) -> Vec<Choice> {
    Role::CITY_ROLES
        .iter()
        .map(|r| Choice {
            value: r.code().to_owned(),
            label: role_name(t, *r),
            selected: Some(*r) == selected,
        })
        .collect()
}

async fn team_page(
    state: &AppState,
    staff: &StaffContext,
    ctx: &PageContext,
    refused: Option<(&InviteForm, &'static str, String)>,
    enrolment_link: Option<String>,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let prefix = staff.scope.prefix();
    let t = staff.t();
    let members = state
        .store
        .list_staff(Some(&city.id))
        .await?
        .into_iter()
        .map(|m| MemberRow {
            // Nobody changes their own role or locks themselves out.
            action: (m.status != StaffStatus::Invited && m.id != staff.staff.id)
                .then(|| format!("{prefix}/team/{}", m.id)),
            roles: role_choices(&t, Some(m.role)),
            disabled: m.status == StaffStatus::Disabled,
            email: m.email,
            role: role_name(&t, m.role),
            status: t.get(&format!("st-staff-status-{}", m.status.code())),
        })
        .collect();
    let typed = refused.as_ref().map(|(form, _, _)| *form);
    let mut invite = vec![
        Field::new("email", "email", t.get("st-email-address"))
            .value(typed.map(|f| f.email.clone()).unwrap_or_default())
            .maxlength(254),
        Field {
            options: role_choices(&t, None),
            ..Field::new("role", "select", t.get("st-col-role"))
        }
        .value(typed.map(|f| f.role.clone()).unwrap_or_default()),
    ];
    if let Some((_, id, message)) = refused {
        set_error(&mut invite, id, message);
    }
    let errors = summary(&invite);
    let issued = state.form_tokens.issue(ctx.form_cookie());
    let status = form_status(!errors.is_empty());
    let page = TeamPage {
        layout: layout(
            &t,
            &t.get("st-nav-team"),
            Some(city),
            ctx.path(),
            !errors.is_empty(),
        ),
        chrome: Some(Chrome::new(staff, ctx.path(), &issued.token)),
        members,
        invite,
        form_token: issued.token.clone(),
        invite_action: format!("{prefix}/team/invite"),
        errors,
        enrolment_link,
    };
    Ok((status, issued, page).into_response())
}

pub(crate) async fn team(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    team_page(&state, &staff, &ctx, None, None).await
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

pub(crate) async fn invite(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
    CheckedForm(form): CheckedForm<InviteForm>,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let role = match Role::parse(&form.role) {
        Ok(r) if r != Role::PlatformOperator => r,
        _ => {
            return team_page(
                &state,
                &staff,
                &ctx,
                Some((
                    &form,
                    "role",
                    staff
                        .t()
                        .arg("st-team-not-a-role", "role", format!("{:?}", form.role)),
                )),
                None,
            )
            .await;
        }
    };
    let public = state
        .config
        .pay
        .as_ref()
        .map_or_else(String::new, |p| p.portal_public_url.clone());
    match super::invite_staff(
        &state.store,
        Some(city),
        &form.email,
        role,
        &staff.actor(),
        &public,
    )
    .await
    {
        Ok((_, link)) => team_page(&state, &staff, &ctx, None, Some(link)).await,
        Err(PortalError::BadRequest(message)) => {
            team_page(&state, &staff, &ctx, Some((&form, "email", message)), None).await
        }
        Err(other) => Err(other),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct MemberForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    disabled: Option<String>,
}

pub(crate) async fn update_member(
    State(state): State<AppState>,
    staff: StaffContext,
    _ctx: PageContext,
    Path((_, member)): Path<(String, String)>,
    CheckedForm(form): CheckedForm<MemberForm>,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let member = StaffId::parse(&member).map_err(|_| PortalError::NotFound)?;
    if member == staff.staff.id {
        return Err(PortalError::Forbidden);
    }
    let role = Role::parse(&form.role)
        .ok()
        .filter(|r| *r != Role::PlatformOperator)
        .ok_or_else(|| {
            PortalError::BadRequest(format!("role {:?} is not a city role", form.role))
        })?;
    let status = if form.disabled.is_some() {
        StaffStatus::Disabled
    } else {
        StaffStatus::Active
    };
    let before = state
        .store
        .staff_by_id(Some(&city.id), &member)
        .await?
        .ok_or(PortalError::NotFound)?;
    let action = if status == StaffStatus::Disabled {
        Action::StaffDisabled
    } else {
        Action::StaffRoleChanged
    };
    let changed = state
        .store
        .update_staff(
            Some(&city.id),
            &member,
            role,
            status,
            staff.note(action, format!("staff:{}", before.email), json!({ "role": { "from": before.role.code(), "to": role.code() }, "status": { "from": before.status.code(), "to": status.code() } })),
        )
        .await?;
    if !changed {
        return Err(PortalError::NotFound);
    }
    Ok(Redirect::to(&format!("{}/team", staff.scope.prefix())).into_response())
}

/// What the settings form shows: the saved limits, or what was typed with
/// what is wrong with it.
#[derive(Default)]
struct SettingsShown {
    typed: Option<SettingsForm>,
    threshold_error: Option<String>,
    daily_error: Option<String>,
    saved: bool,
}

async fn settings_page(
    state: &AppState,
    staff: &StaffContext,
    ctx: &PageContext,
    shown: SettingsShown,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let t = staff.t();
    let (threshold, daily_limit) = match shown.typed {
        Some(typed) => (typed.threshold, typed.daily_limit),
        None => {
            let limits = state.store.refund_limits(&city.id).await?;
            let style = civicpay_core::DecimalStyle::for_language(t.language());
            let shown = |minor| Money::from_minor(minor, city.currency).to_plain(style);
            (
                shown(limits.threshold),
                limits.per_staff_daily.map(shown).unwrap_or_default(),
            )
        }
    };
    let fields = vec![
        Field::new("threshold", "text", t.get("st-settings-threshold"))
            .value(threshold)
            .inputmode("decimal")
            .maxlength(20)
            .error(shown.threshold_error),
        Field::new("daily_limit", "text", t.get("st-settings-daily"))
            .hint(t.get("st-settings-daily-hint"))
            .value(daily_limit)
            .inputmode("decimal")
            .maxlength(20)
            .error(shown.daily_error),
    ];
    let links = vec![
        crate::views::Link {
            href: format!("{}/settings/contact", staff.scope.prefix()),
            label: t.get("st-settings-link-contact"),
        },
        crate::views::Link {
            href: format!("{}/settings/bill-types", staff.scope.prefix()),
            label: t.get("st-settings-link-bill-types"),
        },
        crate::views::Link {
            href: format!("{}/settings/branding", staff.scope.prefix()),
            label: t.get("st-settings-link-branding"),
        },
        crate::views::Link {
            href: format!("{}/settings/languages", staff.scope.prefix()),
            label: t.get("st-settings-link-languages"),
        },
    ];
    settings_form(
        state,
        staff,
        ctx,
        &t.get("st-nav-settings"),
        fields,
        shown.saved,
        links,
    )
}

/// The link back from a settings page to the list of them.
pub(super) fn back_to_settings(staff: &StaffContext) -> crate::views::Link {
    crate::views::Link {
        href: format!("{}/settings", staff.scope.prefix()),
        label: staff.t().get("st-back-to-settings"),
    }
}

/// A settings page of one form: its fields (with any errors set), the
/// summary of those errors, and links to the pages around it. 422 when a
/// field is wrong.
pub(super) fn settings_form(
    state: &AppState,
    staff: &StaffContext,
    ctx: &PageContext,
    title: &str,
    fields: Vec<Field>,
    saved: bool,
    links: Vec<crate::views::Link>,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let errors = summary(&fields);
    let wrong = !errors.is_empty();
    let issued = state.form_tokens.issue(ctx.form_cookie());
    let page = SettingsPage {
        layout: layout(&staff.t(), title, Some(city), ctx.path(), wrong),
        chrome: Some(Chrome::new(staff, ctx.path(), &issued.token)),
        form_token: issued.token.clone(),
        fields,
        errors,
        saved,
        links,
    };
    Ok((form_status(wrong), issued, page).into_response())
}

pub(crate) async fn settings(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    settings_page(&state, &staff, &ctx, SettingsShown::default()).await
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct SettingsForm {
    #[serde(default)]
    threshold: String,
    #[serde(default)]
    daily_limit: String,
}

pub(crate) async fn save_settings(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
    CheckedForm(form): CheckedForm<SettingsForm>,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let t = staff.t();
    let style = civicpay_core::DecimalStyle::for_language(t.language());
    let example = |minor| Money::from_minor(minor, city.currency).to_plain(style);
    let amount = |typed: &str| {
        Money::parse(typed, city.currency, style)
            .ok()
            .filter(|m| m.minor() >= 0)
            .map(Money::minor)
    };
    let threshold = amount(&form.threshold);
    let daily = match form.daily_limit.trim() {
        "" => Ok(None),
        typed => amount(typed).map(Some).ok_or(()),
    };
    let (Some(threshold), Ok(per_staff_daily)) = (threshold, daily) else {
        let wrong = |key: &str, typed: &str, like: i64| {
            t.args(
                key,
                &[
                    ("typed", &format!("{typed:?}")),
                    ("example", &example(like)),
                ],
            )
        };
        let shown = SettingsShown {
            threshold_error: threshold
                .is_none()
                .then(|| wrong("st-settings-threshold-wrong", &form.threshold, 10_000)),
            daily_error: daily
                .is_err()
                .then(|| wrong("st-settings-daily-wrong", &form.daily_limit, 50_000)),
            typed: Some(form),
            saved: false,
        };
        return settings_page(&state, &staff, &ctx, shown).await;
    };
    let before = state.store.refund_limits(&city.id).await?;
    let after = RefundLimits {
        threshold,
        per_staff_daily,
    };
    state
        .store
        .set_refund_limits(
            &city.id,
            after,
            staff.note(
                Action::SettingChanged,
                "refund_limits",
                json!({
                    "refund_approval_threshold": { "from": before.threshold, "to": after.threshold },
                    "refund_daily_limit_per_staff": { "from": before.per_staff_daily, "to": after.per_staff_daily },
                }),
            ),
        )
        .await?;
    let shown = SettingsShown {
        saved: true,
        ..SettingsShown::default()
    };
    settings_page(&state, &staff, &ctx, shown).await
}
