//! Whom residents contact, as a city administrator keeps it: the name,
//! postal address, phone and e-mail printed on receipts, on the paused
//! page and on any incident notice letter. Checked by the same rules as the
//! city file; each change is an audit entry with before and after.

use super::admin::{back_to_settings, settings_form};
use super::guard::StaffContext;
use crate::AppState;
use crate::error::PortalError;
use crate::forms::CheckedForm;
use crate::page::PageContext;
use axum::extract::State;
use axum::response::Response;
use civicpay_audit::Action;
use civicpay_core::Contact;
use civicpay_web::forms::{Field, set_error};
use serde::Deserialize;
use serde_json::{Map, Value, json};

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ContactForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    postal_address: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
}

/// Each field with the catalogue key of its label.
const LABELS: [(&str, &str); 4] = [
    ("name", "st-contact-name"),
    ("postal_address", "st-contact-postal-address"),
    ("phone", "st-contact-phone"),
    ("email", "st-email-address"),
];

async fn page(
    state: &AppState,
    staff: &StaffContext,
    ctx: &PageContext,
    shown: &Contact,
    problems: Vec<(&'static str, String)>,
    saved: bool,
) -> Result<Response, PortalError> {
    let t = staff.t();
    let values = [
        &shown.name,
        &shown.postal_address,
        &shown.phone,
        &shown.email,
    ];
    let mut fields: Vec<Field> = LABELS
        .iter()
        .zip(values)
        .map(|((id, label), value)| {
            let kind = if *id == "email" { "email" } else { "text" };
            Field::new(id, kind, t.get(label))
                .value(value.as_str())
                .maxlength(254)
        })
        .collect();
    if let Some(first) = fields.first_mut() {
        first.hint = Some(t.get("st-contact-hint"));
    }
    for (id, message) in problems {
        let label = LABELS
            .iter()
            .find(|(f, _)| *f == id)
            .map_or_else(|| id.to_owned(), |(_, l)| t.get(l));
        set_error(&mut fields, id, format!("{label} {message}"));
    }
    let back = back_to_settings(staff);
    settings_form(
        state,
        staff,
        ctx,
        &t.get("st-contact-title"),
        fields,
        saved,
        vec![back],
    )
}

pub(crate) async fn contact(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    page(&state, &staff, &ctx, &city.contact, Vec::new(), false).await
}

pub(crate) async fn save_contact(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
    CheckedForm(form): CheckedForm<ContactForm>,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let typed = Contact::new(&form.name, &form.postal_address, &form.phone, &form.email);
    let problems = typed.problems();
    if !problems.is_empty() {
        return page(&state, &staff, &ctx, &typed, problems, false).await;
    }
    let before = &city.contact;
    let mut changes = Map::new();
    for (key, old, new) in [
        ("name", &before.name, &typed.name),
        (
            "postal_address",
            &before.postal_address,
            &typed.postal_address,
        ),
        ("phone", &before.phone, &typed.phone),
        ("email", &before.email, &typed.email),
    ] {
        if old != new {
            changes.insert(key.to_owned(), json!({ "from": old, "to": new }));
        }
    }
    if !changes.is_empty() {
        state
            .store
            .set_tenant_contact(
                &city.id,
                &typed,
                staff.note(Action::SettingChanged, "contact", Value::Object(changes)),
            )
            .await?;
    }
    page(&state, &staff, &ctx, &typed, Vec::new(), true).await
}
