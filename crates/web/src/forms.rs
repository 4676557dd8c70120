//! What a form page shows, built one way for every page of both services:
//! a [`Field`] per input and the error summary made from the fields
//! themselves, so a summary link always points at a field that exists.
//! The markup is `templates/forms.html` in this crate; the portal and pay
//! read it through their `askama.toml`:
//!
//! ```text
//! {% import "forms.html" as forms %}
//! {% call forms::error_summary(title, errors) %}{% endcall %}
//! {% for f in fields %}{% call forms::field(f, error_prefix) %}{% endcall %}{% endfor %}
//! ```

use std::borrow::Cow;

/// One input of a form. `kind` is the input type (`text`, `email`,
/// `password`, …), or `select` or `checkbox`.
#[derive(Debug, Clone)]
pub struct Field {
    /// The element id, which labels, hints and the error summary point at.
    pub id: Cow<'static, str>,
    /// The name the value is posted under.
    pub name: &'static str,
    pub kind: &'static str,
    pub label: String,
    /// Never rendered for a `password` field.
    pub value: String,
    pub hint: Option<String>,
    pub error: Option<String>,
    pub autocomplete: &'static str,
    pub inputmode: &'static str,
    pub maxlength: Option<u16>,
    pub options: Vec<Choice>,
}

/// One option of a `select` field, or one box of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// One line of the error summary: a message and the field it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryError {
    pub href: String,
    pub message: String,
}

impl Field {
    /// A field posted under its id, that the browser does not fill in.
    pub fn new(id: &'static str, kind: &'static str, label: String) -> Field {
        Field {
            id: Cow::Borrowed(id),
            name: id,
            kind,
            label,
            value: String::new(),
            hint: None,
            error: None,
            autocomplete: "off",
            inputmode: "",
            maxlength: None,
            options: Vec::new(),
        }
    }

    /// Posts under `name` where the element id must differ (ids use
    /// hyphens, posted names underscores).
    pub fn named(mut self, name: &'static str) -> Field {
        self.name = name;
        self
    }

    /// Gives the n-th of several like fields on one page an id of its own
    /// (`amount-2`); all are still posted under the same name.
    pub fn numbered(mut self, n: usize) -> Field {
        self.id = Cow::Owned(format!("{}-{n}", self.id));
        self
    }

    pub fn value(mut self, value: impl Into<String>) -> Field {
        self.value = value.into();
        for option in &mut self.options {
            option.selected = option.value == self.value;
        }
        self
    }

    pub fn hint(mut self, hint: String) -> Field {
        self.hint = Some(hint);
        self
    }

    pub fn error(mut self, error: Option<String>) -> Field {
        self.error = error;
        self
    }

    pub fn autocomplete(mut self, autocomplete: &'static str) -> Field {
        self.autocomplete = autocomplete;
        self
    }

    pub fn inputmode(mut self, inputmode: &'static str) -> Field {
        self.inputmode = inputmode;
        self
    }

    pub fn maxlength(mut self, maxlength: u16) -> Field {
        self.maxlength = Some(maxlength);
        self
    }

    /// The options of a `select`, as (value, label); the one equal to the
    /// field's value is selected.
    pub fn options(mut self, options: impl IntoIterator<Item = (String, String)>) -> Field {
        self.options = options
            .into_iter()
            .map(|(value, label)| Choice {
                selected: value == self.value,
                value,
                label,
            })
            .collect();
        self
    }

    /// The ids the input is described by: its hint, then its error.
    pub fn described_by(&self) -> String {
        let hint = self.hint.as_ref().map(|_| format!("{}-hint", self.id));
        let error = self.error.as_ref().map(|_| format!("{}-error", self.id));
        hint.into_iter().chain(error).collect::<Vec<_>>().join(" ")
    }
}

/// Puts `message` on the field with id `id`, for a check that knows which
/// field it is about but not how the page was built.
pub fn set_error(fields: &mut [Field], id: &str, message: String) {
    if let Some(field) = fields.iter_mut().find(|f| f.id == id) {
        field.error = Some(message);
    }
}

/// The error summary of a form: one line per field in error, in the order
/// the fields appear.
pub fn summary(fields: &[Field]) -> Vec<SummaryError> {
    fields
        .iter()
        .filter_map(|f| {
            f.error.as_ref().map(|message| SummaryError {
                href: format!("#{}", f.id),
                message: message.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn the_summary_links_each_field_in_error_in_order() {
        let fields = [
            Field::new("name", "text", "Name".into()).error(Some("Enter a name".into())),
            Field::new("email", "email", "E-mail".into()),
            Field::new("card-number", "text", "Card".into())
                .named("card_number")
                .error(Some("Check the number".into())),
        ];
        let summary = summary(&fields);
        assert_eq!(summary.len(), 2);
        assert_eq!(summary[0].href, "#name");
        assert_eq!(summary[1].href, "#card-number");
        assert_eq!(summary[1].message, "Check the number");
    }

    #[test]
    fn an_error_lands_on_the_field_it_names_and_nowhere_else() {
        let mut fields = [
            Field::new("from", "date", "From".into()),
            Field::new("to", "date", "To".into()),
        ];
        set_error(&mut fields, "to", "Not a date".into());
        set_error(&mut fields, "nowhere", "Lost".into());
        assert_eq!(fields[0].error, None);
        assert_eq!(fields[1].error.as_deref(), Some("Not a date"));
        assert_eq!(summary(&fields).len(), 1);
    }

    #[test]
    fn an_input_is_described_by_its_hint_then_its_error() {
        let plain = Field::new("code", "text", "Code".into());
        assert_eq!(plain.described_by(), "");
        let hinted = plain.clone().hint("Six digits".into());
        assert_eq!(hinted.described_by(), "code-hint");
        let both = hinted.error(Some("Wrong".into()));
        assert_eq!(both.described_by(), "code-hint code-error");
        let error_only = Field::new("code", "text", "Code".into()).error(Some("Wrong".into()));
        assert_eq!(error_only.described_by(), "code-error");
    }

    #[test]
    fn the_option_equal_to_the_value_is_selected() {
        let options = || {
            [
                ("en".into(), "English".into()),
                ("fr".into(), "Français".into()),
            ]
        };
        let field = Field::new("language", "select", "Language".into())
            .value("fr")
            .options(options());
        let selected: Vec<_> = field.options.iter().map(|o| o.selected).collect();
        assert_eq!(selected, [false, true]);
        let later = Field::new("language", "select", "Language".into())
            .options(options())
            .value("en");
        let selected: Vec<_> = later.options.iter().map(|o| o.selected).collect();
        assert_eq!(selected, [true, false]);
    }
}
