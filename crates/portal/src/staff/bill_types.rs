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
    let t = staff.t();
    let rows = state
        .store
        .bill_types(&city.id)
        .await?
        .iter()
        .map(|b| BillTypeRow {
            name: b.name.get(t.language()).to_owned(),
            slug: b.slug.as_str().to_owned(),
            gl_code: b.gl_code.as_str().to_owned(),
            partial: b.partial.map_or_else(
                || t.get("st-bill-type-whole-only"),
                |p| {
                    t.arg(
                        "st-bill-type-part-from",
                        "minimum",
                        p.minimum.format(t.language()),
                    )
                },
            ),
            offered: t.get(if b.active {
                "st-bill-type-offered"
            } else {
                "st-bill-type-staff-only"
            }),
            href: format!("{prefix}/settings/bill-types/{}", b.slug),
        })
        .collect();
    let issued = state.form_tokens.issue(ctx.form_cookie());
    let view = BillTypesPage {
        layout: layout(&t, &t.get("st-bill-types"), Some(city), ctx.path(), false),
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
    fn of(b: &BillType, style: DecimalStyle) -> BillTypeForm {
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
                .map(|p| p.minimum.to_plain(style))
                .unwrap_or_default(),
            active: b.active.then(|| "yes".to_owned()),
        }
    }

    /// The bill type as typed, or each problem by field.
    fn read(
        &self,
        stored: &BillType,
        city: &Tenant,
        t: &Translator,
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
                problems.push((id, t.get("st-bill-type-name-too-long")));
            } else if !typed.is_empty() {
                name = name.with(language, typed);
            } else if language == Language::En {
                problems.push((id, t.get("st-bill-type-english-required")));
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
                match Money::parse(&self.partial_minimum, city.currency, style(t)) {
                    Ok(m) if m.minor() > 0 => Ok(Some(PartialPayments { minimum: m })),
                    Ok(_) => Err(t.get("st-bill-type-minimum-zero")),
                    Err(e) => Err(t.args(
                        "st-bill-type-minimum-wrong",
                        &[("problem", &e.to_string()), ("example", &example(city, t))],
                    )),
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

/// Amounts typed as the staff member writes them (`25,00` in French).
fn style(t: &Translator) -> DecimalStyle {
    DecimalStyle::for_language(t.language())
}

/// An amount to show as the example in a hint or message.
fn example(city: &Tenant, t: &Translator) -> String {
    Money::from_minor(2_500, city.currency).to_plain(style(t))
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
    let t = staff.t();
    let mut fields = vec![
        Field::new("name_en", "text", t.get("st-bill-type-name-en"))
            .value(shown.name_en.as_str())
            .hint(t.args(
                "st-bill-type-name-en-hint",
                &[
                    ("kind", bill_type.kind.code()),
                    ("slug", bill_type.slug.as_str()),
                ],
            ))
            .maxlength(80),
        Field::new("name_fr", "text", t.get("st-bill-type-name-fr"))
            .value(shown.name_fr.as_str())
            .hint(t.get("st-bill-type-name-fr-hint"))
            .maxlength(80),
        Field::new("name_es", "text", t.get("st-bill-type-name-es"))
            .value(shown.name_es.as_str())
            .hint(t.get("st-bill-type-name-es-hint"))
            .maxlength(80),
        Field::new(
            "reference_label",
            "select",
            t.get("st-bill-type-reference-label"),
        )
        .value(shown.reference_label.as_str())
        .options(ReferenceLabel::ALL.iter().map(|l| {
            (
                l.code().to_owned(),
                t.get(&format!("reference-{}", l.code())),
            )
        })),
        Field::new("verification", "select", t.get("st-bill-type-verification"))
            .value(shown.verification.as_str())
            .options(VerificationKind::ALL.iter().map(|v| {
                (
                    v.code().to_owned(),
                    t.get(&format!("verification-{}", v.code())),
                )
            })),
        Field::new("gl_code", "text", t.get("st-col-gl-code"))
            .value(shown.gl_code.as_str())
            .hint(t.get("st-bill-type-gl-hint"))
            .maxlength(40),
        Field::new("partial", "checkbox", t.get("st-bill-type-partial"))
            .value(if shown.partial.is_some() { "yes" } else { "" }),
        Field::new("partial_minimum", "text", t.get("st-bill-type-minimum"))
            .value(shown.partial_minimum.as_str())
            .hint(t.args(
                "st-bill-type-minimum-hint",
                &[
                    ("currency", city.currency.code()),
                    ("example", &example(city, &t)),
                ],
            ))
            .inputmode("decimal")
            .maxlength(20),
        Field::new("active", "checkbox", t.get("st-bill-type-active"))
            .value(if shown.active.is_some() { "yes" } else { "" })
            .hint(t.get("st-bill-type-active-hint")),
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
    let title = t.arg(
        "st-bill-type-title",
        "name",
        bill_type.name.get(t.language()),
    );
    let back = Link {
        href: format!("{}/settings/bill-types", staff.scope.prefix()),
        label: t.get("st-bill-type-back"),
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
        &BillTypeForm::of(&stored, style(&staff.t())),
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
    let changed = match form.read(&stored, city, &staff.t()) {
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
        &BillTypeForm::of(&changed, style(&staff.t())),
        Vec::new(),
        true,
    )
}
