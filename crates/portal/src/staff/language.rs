//! The language a staff member reads the console in, chosen from the bar
//! at the top of every signed-in page and remembered on their account.

use super::guard::StaffContext;
use crate::AppState;
use crate::error::PortalError;
use crate::forms::CheckedForm;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use civicpay_core::Language;
use serde::Deserialize;

#[derive(Deserialize)]
pub(crate) struct LanguageForm {
    #[serde(default)]
    language: String,
    #[serde(default)]
    back: String,
}

pub(crate) async fn set_language(
    State(state): State<AppState>,
    staff: StaffContext,
    CheckedForm(form): CheckedForm<LanguageForm>,
) -> Result<Response, PortalError> {
    let language = Language::parse(&form.language)
        .map_err(|_| PortalError::BadRequest(format!("unknown language {:?}", form.language)))?;
    state
        .store
        .set_staff_language(staff.scope.tenant_id(), &staff.staff.id, language)
        .await?;
    Ok(Redirect::to(&back_within(&staff.scope.prefix(), &form.back)).into_response())
}

/// The page to return to, if it is one of this console's; otherwise the
/// console's home, so the form cannot send anyone elsewhere.
fn back_within(prefix: &str, back: &str) -> String {
    let home = format!("{prefix}/");
    let inside = back.starts_with(&home)
        && !back.contains("//")
        && !back.contains('\\')
        && back.chars().all(|c| c.is_ascii_graphic());
    if inside { back.to_owned() } else { home }
}

#[cfg(test)]
mod tests {
    use super::back_within;

    #[test]
    fn the_chooser_returns_only_to_a_page_of_the_same_console() {
        let prefix = "/springfield/staff";
        assert_eq!(
            back_within(prefix, "/springfield/staff/payments"),
            "/springfield/staff/payments"
        );
        for elsewhere in [
            "https://evil.test/",
            "//evil.test/springfield/staff/",
            "/springfield/staff//evil.test",
            "/lac-vert/staff/",
            "/springfield/staff/\\evil",
            "",
        ] {
            assert_eq!(
                back_within(prefix, elsewhere),
                "/springfield/staff/",
                "{elsewhere}"
            );
        }
    }
}
