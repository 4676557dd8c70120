//! The account pages' templates and view models. As elsewhere, views hold
//! display strings in the resident's language.

use crate::views::{Layout, Link};
use askama::Template;
use askama_web::WebTemplate;

pub struct NavLink {
    pub href: String,
    pub label: String,
    pub current: bool,
}

/// The bar on every signed-in page: who, where to go, sign out.
pub struct AccountNav {
    pub who: String,
    pub prefix: String,
    pub links: Vec<NavLink>,
    pub form_token: String,
}

pub struct ErrorLink {
    pub href: String,
    pub message: String,
}

pub struct Choice {
    pub value: String,
    pub label: String,
}

/// One field of a form page. `kind` is the input type (`text`, `email`,
/// `password`), or `select` or `checkbox`.
pub struct Field {
    pub id: &'static str,
    pub kind: &'static str,
    pub label: String,
    pub value: String,
    pub hint: Option<String>,
    pub error: Option<String>,
    pub autocomplete: &'static str,
    pub inputmode: &'static str,
    pub options: Vec<Choice>,
}

impl Field {
    pub fn new(id: &'static str, kind: &'static str, label: String) -> Field {
        Field {
            id,
            kind,
            label,
            value: String::new(),
            hint: None,
            error: None,
            autocomplete: "off",
            inputmode: "",
            options: Vec::new(),
        }
    }

    pub fn value(mut self, value: impl Into<String>) -> Field {
        self.value = value.into();
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

    pub fn options(mut self, options: Vec<Choice>) -> Field {
        self.options = options;
        self
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "account/form.html")]
pub struct FormPage {
    pub layout: Layout,
    pub nav: Option<AccountNav>,
    pub flash: Option<String>,
    pub caption: Option<String>,
    pub intro: Vec<String>,
    /// An authenticator app's QR code (SVG drawn on the server) and its
    /// key for typing in by hand.
    pub qr: Option<(String, String)>,
    pub errors: Vec<ErrorLink>,
    /// False for a page that only tells something (a message page).
    pub show_form: bool,
    pub action: String,
    pub form_token: String,
    pub fields: Vec<Field>,
    pub submit: String,
    /// A destructive action: the button is drawn less inviting.
    pub danger: bool,
    pub after: Vec<Link>,
}

pub struct AccountBill {
    pub due_date: String,
    pub total: String,
    pub status_label: String,
    pub status_class: &'static str,
    pub balance: String,
    pub pay: Option<crate::views::PayButton>,
}

pub struct LinkedAccount {
    pub bill_type_name: String,
    pub bill_type_slug: String,
    pub reference: String,
    pub autopay: Option<String>,
    pub autopay_link: Option<Link>,
    pub bills: Vec<AccountBill>,
    pub unlink_action: String,
    pub unlink_label: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "account/home.html")]
pub struct HomePage {
    pub layout: Layout,
    pub nav: Option<AccountNav>,
    pub flash: Option<String>,
    pub form_token: String,
    pub accounts: Vec<LinkedAccount>,
    pub link_href: String,
    /// Offered until the resident turns two-step sign-in on.
    pub two_step: Option<crate::views::Link>,
}

pub struct PaymentRow {
    pub date: String,
    pub what: String,
    pub amount: String,
    pub status: String,
    pub receipt: Option<Link>,
}

#[derive(Template, WebTemplate)]
#[template(path = "account/payments.html")]
pub struct PaymentsPage {
    pub layout: Layout,
    pub nav: Option<AccountNav>,
    pub flash: Option<String>,
    pub payments: Vec<PaymentRow>,
}

#[derive(Template, WebTemplate)]
#[template(path = "account/receipt.html")]
pub struct ReceiptPage {
    pub layout: Layout,
    pub nav: Option<AccountNav>,
    pub flash: Option<String>,
    pub rows: Vec<(String, String)>,
    pub contact: String,
    pub pdf_href: String,
}

pub struct CardView {
    pub label: String,
    pub remove_action: String,
    pub remove_label: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "account/cards.html")]
pub struct CardsPage {
    pub layout: Layout,
    pub nav: Option<AccountNav>,
    pub flash: Option<String>,
    pub form_token: String,
    pub cards: Vec<CardView>,
}

/// The HTML part of a resident e-mail: the same words as the text part.
#[derive(Template)]
#[template(path = "email.html")]
pub struct EmailHtml<'a> {
    pub lang: &'a str,
    pub subject: &'a str,
    pub paragraphs: &'a [String],
    pub link: Option<&'a str>,
    pub signature: &'a str,
}
