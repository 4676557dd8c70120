//! The account pages' templates and view models. As elsewhere, views hold
//! display strings in the resident's language.

use crate::views::{Layout, Link};
use askama::Template;
use civicpay_web::forms::{Field, SummaryError};

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

#[derive(Template)]
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
    /// Recovery codes, shown once.
    pub codes: Vec<String>,
    pub errors: Vec<SummaryError>,
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

#[derive(Template)]
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

#[derive(Template)]
#[template(path = "account/payments.html")]
pub struct PaymentsPage {
    pub layout: Layout,
    pub nav: Option<AccountNav>,
    pub flash: Option<String>,
    pub payments: Vec<PaymentRow>,
}

#[derive(Template)]
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

#[derive(Template)]
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

crate::views::pages!(FormPage, HomePage, PaymentsPage, ReceiptPage, CardsPage,);
