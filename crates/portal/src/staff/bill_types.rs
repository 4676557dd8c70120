//! A city's bill types, as its administrator keeps them: names in each
//! language, what the bill's number is called and what proves it is the
//! resident's, the GL code, part payments and whether residents are offered
//! the type online. Checked by the same rules as the city file; each change
//! is an audit entry saying the field, before and after, as `city apply`
//! does. The kind and the fees stay the city file's.

use super::admin::settings_form;
use super::guard::StaffContext;
use super::views::{BillTypeRow, BillTypesPage, Chrome, layout};
use crate::AppState;
use crate::error::PortalError;
use crate::forms::CheckedForm;
use crate::page::PageContext;
use crate::views::Link;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use civicpay_audit::Action;
use civicpay_core::city_file::bill_type_changes;
use civicpay_core::{
    BillType, BillTypeSlug, DecimalStyle, GlCode, Language, LocalizedText, Money, PartialPayments,
    ReferenceLabel, Tenant, VerificationKind,
};
use civicpay_web::Translator;
use civicpay_web::forms::{Field, set_error};
use serde::Deserialize;
use serde_json::json;

pub(crate) async fn bill_types(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let prefix = staff.scope.prefix();
    let rows = state
        .store
        .bill_types(&city.id)
        .await?
        .iter()
        .map(|b| BillTypeRow {
            name: b.name.get(Language::En).to_owned(),
            slug: b.slug.as_str().to_owned(),
            gl_code: b.gl_code.as_str().to_owned(),
            partial: b.partial.map_or_else(
                || "Whole balance only".to_owned(),
                |p| format!("From {}", p.minimum),
            ),
            offered: if b.active { "Yes" } else { "No (staff only)" },
            href: format!("{prefix}/settings/bill-types/{}", b.slug),
        })
        .collect();
    let issued = state.form_tokens.issue(ctx.form_cookie());
    let view = BillTypesPage {
        layout: layout("Bill types", Some(city), ctx.path(), false),
        chrome: Some(Chrome::new(&staff, ctx.path(), &issued.token)),
        rows,
        back: format!("{prefix}/settings"),
    };
    Ok((issued, view).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct BillTypeForm {
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    name_fr: String,
    #[serde(default)]
    name_es: String,
    #[serde(default)]
    reference_label: String,
    #[serde(default)]
    verification: String,
    #[serde(default)]
    gl_code: String,
    #[serde(default)]
    partial: Option<String>,
    #[serde(default)]
    partial_minimum: String,
    #[serde(default)]
    active: Option<String>,
}

impl BillTypeForm {
    fn of(b: &BillType) -> BillTypeForm {
        let name = |l: Language| b.name.exact(l).unwrap_or_default().to_owned();
        BillTypeForm {
            name_en: name(Language::En),
            name_fr: name(Language::Fr),
            name_es: name(Language::Es),
            reference_label: b.reference_label.code().to_owned(),
            verification: b.verification.code().to_owned(),
            gl_code: b.gl_code.as_str().to_owned(),
            partial: b.partial.map(|_| "yes".to_owned()),
            partial_minimum: b
                .partial
                .map(|p| p.minimum.to_decimal_string())
                .unwrap_or_default(),
            active: b.active.then(|| "yes".to_owned()),
        }
    }

    /// The bill type as typed, or each problem by field.
    fn read(
        &self,
        stored: &BillType,
        city: &Tenant,
    ) -> Result<BillType, Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        let mut name = LocalizedText::default();
        for (id, language, typed) in [
            ("name_en", Language::En, &self.name_en),
            ("name_fr", Language::Fr, &self.name_fr),
            ("name_es", Language::Es, &self.name_es),
        ] {
            let typed = typed.trim();
            if typed.chars().count() > 80 || typed.chars().any(char::is_control) {
                problems.push((id, "must be one line of at most 80 characters".to_owned()));
            } else if !typed.is_empty() {
                name = name.with(language, typed);
            } else if language == Language::En {
                problems.push((
                    id,
                    "is required: English is every page's fallback".to_owned(),
                ));
            }
        }
        let reference_label = keep(
            &mut problems,
            "reference_label",
            ReferenceLabel::parse(&self.reference_label).map_err(|e| e.to_string()),
        );
        let verification = keep(
            &mut problems,
            "verification",
            VerificationKind::parse(&self.verification).map_err(|e| e.to_string()),
        );
        let gl_code = keep(
            &mut problems,
            "gl_code",
            GlCode::parse(&self.gl_code).map_err(|e| e.to_string()),
        );
        let partial = match self.partial {
            None => Some(None),
            Some(_) => keep(
                &mut problems,
                "partial_minimum",
                match Money::parse(&self.partial_minimum, city.currency, DecimalStyle::Point) {
                    Ok(m) if m.minor() > 0 => Ok(Some(PartialPayments { minimum: m })),
                    Ok(_) => Err("must be more than zero".to_owned()),
                    Err(e) => Err(format!("{e} (an amount like 25.00)")),
                },
            ),
        };
        match (reference_label, verification, gl_code, partial) {
            (Some(reference_label), Some(verification), Some(gl_code), Some(partial))
                if problems.is_empty() =>
            {
                Ok(BillType {
                    name,
                    reference_label,
                    verification,
                    gl_code,
                    partial,
                    active: self.active.is_some(),
                    ..stored.clone()
                })
            }
            _ => Err(problems),
        }
    }
}

/// The value, or its problem noted under the field's id.
fn keep<T>(
    problems: &mut Vec<(&'static str, String)>,
    id: &'static str,
    parsed: Result<T, String>,
) -> Option<T> {
    parsed.map_err(|message| problems.push((id, message))).ok()
}

async fn find(state: &AppState, city: &Tenant, slug: &str) -> Result<BillType, PortalError> {
    let slug = BillTypeSlug::parse(slug).map_err(|_| PortalError::NotFound)?;
    state
        .store
        .bill_type_by_slug(&city.id, &slug)
        .await?
        .ok_or(PortalError::NotFound)
}

fn edit_page(
    state: &AppState,
    staff: &StaffContext,
    ctx: &PageContext,
    bill_type: &BillType,
    shown: &BillTypeForm,
    problems: Vec<(&'static str, String)>,
    saved: bool,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let t = Translator::new(Language::En);
    let mut fields = vec![
        Field::new("name_en", "text", "Name in English".to_owned())
            .value(shown.name_en.as_str())
            .hint(format!(
                "As residents see it on the city's page. The kind ({}), the fees and the slug ({}) are set in the city file.",
                bill_type.kind.code(),
                bill_type.slug
            ))
            .maxlength(80),
        Field::new("name_fr", "text", "Name in French".to_owned())
            .value(shown.name_fr.as_str())
            .hint("Optional; French readers see the English name without it.".to_owned())
            .maxlength(80),
        Field::new("name_es", "text", "Name in Spanish".to_owned())
            .value(shown.name_es.as_str())
            .hint("Optional; Spanish readers see the English name without it.".to_owned())
            .maxlength(80),
        Field::new("reference_label", "select", "What the bill's number is called".to_owned())
            .value(shown.reference_label.as_str())
            .options(
                ReferenceLabel::ALL
                    .iter()
                    .map(|l| (l.code().to_owned(), t.get(&format!("reference-{}", l.code())))),
            ),
        Field::new("verification", "select", "What residents type to show the bill is theirs".to_owned())
            .value(shown.verification.as_str())
            .options(VerificationKind::ALL.iter().map(|v| {
                (
                    v.code().to_owned(),
                    t.get(&format!("verification-{}", v.code())),
                )
            })),
        Field::new("gl_code", "text", "GL code".to_owned())
            .value(shown.gl_code.as_str())
            .hint("Where this type's payments post in the city's ledger.".to_owned())
            .maxlength(40),
        Field::new("partial", "checkbox", "Residents may pay part of a bill".to_owned())
            .value(if shown.partial.is_some() { "yes" } else { "" }),
        Field::new("partial_minimum", "text", "Smallest part".to_owned())
            .value(shown.partial_minimum.as_str())
            .hint(format!(
                "In {}, like 25.00; only read when part payments are allowed. A smaller balance is paid whole.",
                city.currency.code()
            ))
            .inputmode("decimal")
            .maxlength(20),
        Field::new("active", "checkbox", "Offered to residents online".to_owned())
            .value(if shown.active.is_some() { "yes" } else { "" })
            .hint("Unticked, the type leaves the city's page; staff still find its bills and take their payments.".to_owned()),
    ];
    let label = |id: &str| {
        fields
            .iter()
            .find(|f| f.id == id)
            .map_or_else(|| id.to_owned(), |f| f.label.clone())
    };
    let messages: Vec<(&'static str, String)> = problems
        .into_iter()
        .map(|(id, message)| (id, format!("{}: {message}", label(id))))
        .collect();
    for (id, message) in messages {
        set_error(&mut fields, id, message);
    }
    let title = format!("Bill type: {}", bill_type.name.get(Language::En));
    let back = Link {
        href: format!("{}/settings/bill-types", staff.scope.prefix()),
        label: "Back to bill types".to_owned(),
    };
    settings_form(state, staff, ctx, &title, fields, saved, vec![back])
}

pub(crate) async fn bill_type(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
    Path((_, slug)): Path<(String, String)>,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let stored = find(&state, city, &slug).await?;
    edit_page(
        &state,
        &staff,
        &ctx,
        &stored,
        &BillTypeForm::of(&stored),
        Vec::new(),
        false,
    )
}

pub(crate) async fn save_bill_type(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
    Path((_, slug)): Path<(String, String)>,
    CheckedForm(form): CheckedForm<BillTypeForm>,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let stored = find(&state, city, &slug).await?;
    let changed = match form.read(&stored, city) {
        Ok(changed) => changed,
        Err(problems) => {
            return edit_page(&state, &staff, &ctx, &stored, &form, problems, false);
        }
    };
    let changes = bill_type_changes(Some(&stored), &changed);
    if !changes.is_empty() {
        let audit = changes
            .iter()
            .map(|change| {
                staff.note(
                    Action::BillTypeChanged,
                    change.path.clone(),
                    json!({ change.path.clone(): { "from": change.before, "to": change.after } }),
                )
            })
            .collect();
        state.store.update_bill_type(&changed, audit).await?;
    }
    edit_page(
        &state,
        &staff,
        &ctx,
        &changed,
        &BillTypeForm::of(&changed),
        Vec::new(),
        true,
    )
}
