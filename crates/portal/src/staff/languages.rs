//! The languages a city's residents read its pages in, as its
//! administrator keeps them: the first (a resident who asks for none, or
//! for one not offered, reads it) and those offered. The same rule as the
//! city file: the first is among those offered. Each change is audited
//! with before and after.

use super::admin::{back_to_settings, settings_form};
use super::guard::StaffContext;
use crate::AppState;
use crate::error::PortalError;
use crate::forms::CheckedForm;
use crate::page::PageContext;
use axum::extract::State;
use axum::response::Response;
use civicpay_audit::Action;
use civicpay_core::Language;
use civicpay_web::forms::Field;
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct LanguagesForm {
    #[serde(default)]
    default_language: String,
    #[serde(default)]
    offer_en: Option<String>,
    #[serde(default)]
    offer_fr: Option<String>,
    #[serde(default)]
    offer_es: Option<String>,
}

impl LanguagesForm {
    fn of(default: Language, offered: &[Language]) -> Self {
        let ticked = |l: Language| offered.contains(&l).then(|| "yes".to_owned());
        Self {
            default_language: default.code().to_owned(),
            offer_en: ticked(Language::En),
            offer_fr: ticked(Language::Fr),
            offer_es: ticked(Language::Es),
        }
    }

    fn offered(&self) -> Vec<Language> {
        [
            (Language::En, &self.offer_en),
            (Language::Fr, &self.offer_fr),
            (Language::Es, &self.offer_es),
        ]
        .into_iter()
        .filter(|(_, ticked)| ticked.is_some())
        .map(|(l, _)| l)
        .collect()
    }
}

fn page(
    state: &AppState,
    staff: &StaffContext,
    ctx: &PageContext,
    shown: &LanguagesForm,
    problem: Option<String>,
    saved: bool,
) -> Result<Response, PortalError> {
    let t = staff.t();
    let mut fields = vec![
        Field::new("default_language", "select", t.get("st-languages-first"))
            .hint(t.get("st-languages-first-hint"))
            .value(shown.default_language.as_str())
            .options(Language::ALL.map(|l| (l.code().to_owned(), l.endonym().to_owned())))
            .error(problem),
    ];
    for (id, language, ticked) in [
        ("offer_en", Language::En, &shown.offer_en),
        ("offer_fr", Language::Fr, &shown.offer_fr),
        ("offer_es", Language::Es, &shown.offer_es),
    ] {
        fields.push(
            Field::new(
                id,
                "checkbox",
                t.arg("st-languages-offer", "language", language.endonym()),
            )
            .value(if ticked.is_some() { "yes" } else { "" }),
        );
    }
    let back = back_to_settings(staff);
    settings_form(
        state,
        staff,
        ctx,
        &t.get("st-languages-title"),
        fields,
        saved,
        vec![back],
    )
}

pub(crate) async fn languages(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let shown = LanguagesForm::of(city.default_language, &city.languages);
    page(&state, &staff, &ctx, &shown, None, false)
}

pub(crate) async fn save_languages(
    State(state): State<AppState>,
    staff: StaffContext,
    ctx: PageContext,
    CheckedForm(form): CheckedForm<LanguagesForm>,
) -> Result<Response, PortalError> {
    let city = staff.scope.city()?;
    let offered = form.offered();
    let default = Language::parse(&form.default_language).ok();
    let Some(default) = default.filter(|d| offered.contains(d)) else {
        let problem = staff.t().get("st-languages-first-not-offered");
        return page(&state, &staff, &ctx, &form, Some(problem), false);
    };
    if default != city.default_language || offered != city.languages {
        let codes = |ls: &[Language]| ls.iter().map(|l| l.code()).collect::<Vec<_>>();
        state
            .store
            .set_tenant_languages(
                &city.id,
                default,
                &offered,
                staff.note(
                    Action::SettingChanged,
                    "languages",
                    json!({
                        "default_language": { "from": city.default_language.code(), "to": default.code() },
                        "languages": { "from": codes(&city.languages), "to": codes(&offered) },
                    }),
                ),
            )
            .await?;
    }
    page(
        &state,
        &staff,
        &ctx,
        &LanguagesForm::of(default, &offered),
        None,
        true,
    )
}
