//! The platform operator's console: the cities on this deployment, a new
//! city from a form (read by the same checks as `civicpay city apply`), a
//! city paused or resumed, and its first administrator invited. Pay is told
//! at once of a new city and of a pause, through its platform API.

use super::guard::StaffContext;
use super::views::{
    Chrome, PlatformCity, PlatformCityPage, PlatformNewCityPage, PlatformPage, form_status, layout,
};
use crate::AppState;
use crate::error::PortalError;
use crate::forms::{ButtonForm, CheckedForm};
use crate::page::PageContext;
use crate::pay_client::PayClient;
use crate::routes::resident::find_tenant;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use civicpay_core::{BillKind, Currency, Language, Role, Tenant, city_file};
use civicpay_web::Translator;
use civicpay_web::forms::{Field, set_error, summary};
use serde::Deserialize;

pub(crate) async fn home(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    let cities = state
        .store
        .list_tenants()
        .await?
        .into_iter()
        .map(|t| PlatformCity {
            href: format!("/staff/cities/{}", t.slug),
            name: t.name.get(t.default_language).to_owned(),
            slug: t.slug.to_string(),
            currency: t.currency.code(),
            time_zone: t.time_zone.as_str().to_owned(),
            paused: t.suspended,
        })
        .collect();
    let issued = state.form_tokens.issue(ctx.form_cookie());
    let t = staff.t();
    let page = PlatformPage {
        layout: layout(&t, &t.get("st-platform-title"), None, ctx.path(), false),
        chrome: Some(Chrome::new(&staff, ctx.path(), &issued.token)),
        cities,
    };
    Ok((issued, page).into_response())
}

/// The new-city form, as typed.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct NewCityForm {
    #[serde(default)]
    slug: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    name_fr: String,
    #[serde(default)]
    name_es: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    default_language: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_postal_address: String,
    #[serde(default)]
    contact_phone: String,
    #[serde(default)]
    contact_email: String,
    #[serde(default)]
    bill_slug: String,
    #[serde(default)]
    bill_kind: String,
    #[serde(default)]
    bill_name_en: String,
    #[serde(default)]
    bill_gl_code: String,
}

impl NewCityForm {
    /// The city file this form stands for, so it is read by the very
    /// checks `civicpay city apply` makes.
    fn city_file(&self) -> String {
        let mut names = toml::Table::new();
        for (code, name) in [
            ("en", &self.name_en),
            ("fr", &self.name_fr),
            ("es", &self.name_es),
        ] {
            if !name.trim().is_empty() || code == "en" {
                names.insert(code.into(), name.trim().into());
            }
        }
        let mut contact = toml::Table::new();
        for (key, value) in [
            ("name", &self.contact_name),
            ("postal_address", &self.contact_postal_address),
            ("phone", &self.contact_phone),
            ("email", &self.contact_email),
        ] {
            contact.insert(key.into(), value.trim().into());
        }
        let mut bill_name = toml::Table::new();
        bill_name.insert("en".into(), self.bill_name_en.trim().into());
        let mut bill = toml::Table::new();
        bill.insert("slug".into(), self.bill_slug.trim().into());
        bill.insert("kind".into(), self.bill_kind.trim().into());
        bill.insert("gl_code".into(), self.bill_gl_code.trim().into());
        bill.insert("name".into(), bill_name.into());
        let mut city = toml::Table::new();
        city.insert("slug".into(), self.slug.trim().into());
        city.insert("currency".into(), self.currency.trim().into());
        city.insert("time_zone".into(), self.time_zone.trim().into());
        city.insert(
            "default_language".into(),
            self.default_language.trim().into(),
        );
        city.insert("name".into(), names.into());
        city.insert("contact".into(), contact.into());
        city.insert("bill_type".into(), toml::Value::Array(vec![bill.into()]));
        city.to_string()
    }
}

/// The form field a city file's key path belongs to.
fn field_for(path: &str) -> &'static str {
    match path {
        "name" | "name.en" => "name_en",
        "name.fr" => "name_fr",
        "name.es" => "name_es",
        "currency" => "currency",
        "time_zone" => "time_zone",
        "default_language" => "default_language",
        "contact.name" => "contact_name",
        "contact.postal_address" => "contact_postal_address",
        "contact.phone" => "contact_phone",
        "contact.email" => "contact_email",
        "bill_type[0].slug" => "bill_slug",
        "bill_type[0].kind" => "bill_kind",
        "bill_type[0].gl_code" => "bill_gl_code",
        p if p.starts_with("bill_type[0].name") => "bill_name_en",
        _ => "slug",
    }
}

fn new_city_fields(t: &Translator, form: &NewCityForm) -> Vec<Field> {
    // Each label is the catalogue key `st-new-city-{id}`.
    let label = |id: &str| t.get(&format!("st-new-city-{}", id.replace('_', "-")));
    let text = |id: &'static str, value: &str, max: u16| {
        Field::new(id, "text", label(id))
            .value(value)
            .maxlength(max)
    };
    let currencies = Currency::ALL.map(|c| (c.code().to_owned(), c.code().to_owned()));
    let languages = Language::ALL.map(|l| (l.code().to_owned(), l.endonym().to_owned()));
    let kinds = BillKind::ALL.map(|k| (k.code().to_owned(), k.code().replace('_', " ")));
    vec![
        text("slug", &form.slug, 40).hint(t.get("st-new-city-slug-hint")),
        text("name_en", &form.name_en, 120),
        text("name_fr", &form.name_fr, 120),
        text("name_es", &form.name_es, 120),
        Field::new("currency", "select", label("currency"))
            .value(form.currency.as_str())
            .options(currencies),
        text("time_zone", &form.time_zone, 60).hint(t.get("st-new-city-time-zone-hint")),
        Field::new("default_language", "select", label("default_language"))
            .value(form.default_language.as_str())
            .options(languages),
        text("contact_name", &form.contact_name, 120),
        text("contact_postal_address", &form.contact_postal_address, 200),
        text("contact_phone", &form.contact_phone, 40),
        Field::new("contact_email", "email", label("contact_email"))
            .value(form.contact_email.as_str())
            .maxlength(254),
        text("bill_slug", &form.bill_slug, 40).hint(t.get("st-new-city-bill-slug-hint")),
        Field::new("bill_kind", "select", label("bill_kind"))
            .value(form.bill_kind.as_str())
            .options(kinds),
        text("bill_name_en", &form.bill_name_en, 120),
        text("bill_gl_code", &form.bill_gl_code, 40).hint(t.get("st-new-city-bill-gl-code-hint")),
    ]
}

async fn new_city_page(
    state: &AppState,
    staff: &StaffContext,
    ctx: &PageContext,
    form: &NewCityForm,
    problems: Vec<(&'static str, String)>,
) -> Result<Response, PortalError> {
    let t = staff.t();
    let mut fields = new_city_fields(&t, form);
    for (id, message) in problems {
        set_error(&mut fields, id, message);
    }
    let errors = summary(&fields);
    let issued = state.form_tokens.issue(ctx.form_cookie());
    let page = PlatformNewCityPage {
        layout: layout(
            &t,
            &t.get("st-platform-add-city"),
            None,
            ctx.path(),
            !errors.is_empty(),
        ),
        chrome: Some(Chrome::new(staff, ctx.path(), &issued.token)),
        form_token: issued.token.clone(),
        fields,
        errors,
    };
    Ok((form_status(!page.errors.is_empty()), issued, page).into_response())
}

pub(crate) async fn new_city(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    let form = NewCityForm {
        currency: Currency::Usd.code().to_owned(),
        default_language: Language::En.code().to_owned(),
        ..NewCityForm::default()
    };
    new_city_page(&state, &staff, &ctx, &form, Vec::new()).await
}

pub(crate) async fn create_city(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
    CheckedForm(form): CheckedForm<NewCityForm>,
) -> Result<Response, PortalError> {
    let city = match city_file::parse(&form.city_file()) {
        Ok(city) => city,
        Err(problems) => {
            let problems = problems
                .into_iter()
                .map(|p| (field_for(&p.path), p.message))
                .collect();
            return new_city_page(&state, &staff, &ctx, &form, problems).await;
        }
    };
    if state.store.tenant_by_slug(&city.slug).await?.is_some() {
        let taken = vec![(
            "slug",
            staff
                .t()
                .arg("st-new-city-slug-taken", "slug", city.slug.as_str()),
        )];
        return new_city_page(&state, &staff, &ctx, &form, taken).await;
    }
    let applied = state.store.apply_city(&city, &staff.actor()).await?;
    tell_pay(&state, &applied.tenant).await?;
    Ok(Redirect::to(&format!("/staff/cities/{}", applied.tenant.slug)).into_response())
}

/// Registers the city with pay as it now stands. Without a pay link (a
/// portal run alone) there is no one to tell; pay learns every city when
/// the deployment starts.
async fn tell_pay(state: &AppState, tenant: &Tenant) -> Result<(), PortalError> {
    match &state.config.pay {
        Some(link) => PayClient::new(link)?
            .register_city(tenant)
            .await
            .map(|_| ()),
        None => Ok(()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AdministratorForm {
    #[serde(default)]
    email: String,
}

async fn city_page(
    state: &AppState,
    staff: &StaffContext,
    ctx: &PageContext,
    city: &Tenant,
    invite: (&AdministratorForm, Option<String>),
    enrolment_link: Option<String>,
) -> Result<Response, PortalError> {
    let (typed, refused) = invite;
    let t = staff.t();
    let mut fields = vec![
        Field::new("email", "email", t.get("st-invite-administrator-email"))
            .value(typed.email.as_str())
            .maxlength(254),
    ];
    if let Some(message) = refused {
        set_error(&mut fields, "email", message);
    }
    let errors = summary(&fields);
    let bill_types = state.store.bill_types(&city.id).await?;
    let administrators = state
        .store
        .list_staff(Some(&city.id))
        .await?
        .into_iter()
        .filter(|m| m.role == Role::Administrator)
        .map(|m| {
            let status = t.get(&format!("st-staff-status-{}", m.status.code()));
            format!("{} ({status})", m.email)
        })
        .collect();
    let issued = state.form_tokens.issue(ctx.form_cookie());
    let name = city.name.get(city.default_language);
    let page = PlatformCityPage {
        layout: layout(&t, name, None, ctx.path(), !errors.is_empty()),
        chrome: Some(Chrome::new(staff, ctx.path(), &issued.token)),
        form_token: issued.token.clone(),
        action: format!("/staff/cities/{}", city.slug),
        slug: city.slug.to_string(),
        currency: city.currency.code(),
        time_zone: city.time_zone.as_str().to_owned(),
        contact: city.contact.clone(),
        bill_types: bill_types
            .iter()
            .map(|b| format!("{} ({})", b.name.get(t.language()), b.gl_code))
            .collect(),
        paused: city.suspended,
        sent: ctx.query() == "sent=1",
        administrators,
        invite: fields,
        errors,
        enrolment_link,
    };
    Ok((form_status(!page.errors.is_empty()), issued, page).into_response())
}

pub(crate) async fn city(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
    Path(slug): Path<String>,
) -> Result<Response, PortalError> {
    let city = find_tenant(&state, &slug).await?;
    let blank = AdministratorForm::default();
    city_page(&state, &staff, &ctx, &city, (&blank, None), None).await
}

/// Pauses the city, or resumes it: pay first, then the portal. If pay
/// cannot be told, nothing changes and the operator sees why, so pressing
/// the same button again is the retry (the portal's page never shows a
/// pause that pay did not take).
async fn set_paused(
    state: &AppState,
    staff: &StaffContext,
    slug: &str,
    paused: bool,
) -> Result<Response, PortalError> {
    let city = find_tenant(state, slug).await?;
    let changed = Tenant {
        suspended: paused,
        ..city.clone()
    };
    tell_pay(state, &changed).await?;
    state
        .store
        .set_tenant_suspended(&city, paused, &staff.actor())
        .await?;
    Ok(Redirect::to(&format!("/staff/cities/{slug}")).into_response())
}

pub(crate) async fn pause(
    State(state): State<AppState>,
    staff: StaffContext,
    Path(slug): Path<String>,
    CheckedForm(_): CheckedForm<ButtonForm>,
) -> Result<Response, PortalError> {
    set_paused(&state, &staff, &slug, true).await
}

pub(crate) async fn resume(
    State(state): State<AppState>,
    staff: StaffContext,
    Path(slug): Path<String>,
    CheckedForm(_): CheckedForm<ButtonForm>,
) -> Result<Response, PortalError> {
    set_paused(&state, &staff, &slug, false).await
}

/// Sends the city's registration to pay again: the retry for a city added
/// or changed while pay could not be reached (it is idempotent).
pub(crate) async fn register(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    CheckedForm(_): CheckedForm<ButtonForm>,
) -> Result<Response, PortalError> {
    let city = find_tenant(&state, &slug).await?;
    tell_pay(&state, &city).await?;
    Ok(Redirect::to(&format!("/staff/cities/{slug}?sent=1")).into_response())
}

pub(crate) async fn invite_administrator(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
    Path(slug): Path<String>,
    CheckedForm(form): CheckedForm<AdministratorForm>,
) -> Result<Response, PortalError> {
    let city = find_tenant(&state, &slug).await?;
    let public = state.config.pay.as_ref().map_or_else(
        || state.config.public_url.clone(),
        |p| p.portal_public_url.clone(),
    );
    match super::invite_staff(
        &state.store,
        Some(&city),
        &form.email,
        Role::Administrator,
        &staff.actor(),
        &public,
    )
    .await
    {
        Ok((_, link)) => {
            let blank = AdministratorForm::default();
            city_page(&state, &staff, &ctx, &city, (&blank, None), Some(link)).await
        }
        Err(PortalError::BadRequest(message)) => {
            city_page(&state, &staff, &ctx, &city, (&form, Some(message)), None).await
        }
        Err(other) => Err(other),
    }
}
