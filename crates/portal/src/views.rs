//! Page templates (askama, compiled in and auto-escaped) and the view
//! models that fill them. Views hold display strings only: handlers turn
//! domain values into words in the resident's language before rendering.

use askama::Template;
use askama_web::WebTemplate;
use civicpay_core::{Language, Tenant};
use civicpay_web::Translator;
use civicpay_web::style::STYLESHEET;

pub struct CityHeader {
    pub name: String,
    pub href: String,
}

pub struct LanguageLink {
    pub code: &'static str,
    pub name: &'static str,
    pub href: String,
    pub current: bool,
}

/// What the shared page frame shows.
pub struct Layout {
    pub t: Translator,
    pub title: String,
    pub city: Option<CityHeader>,
    pub languages: Vec<LanguageLink>,
    pub has_errors: bool,
    pub css: &'static str,
}

impl Layout {
    pub fn new(
        t: Translator,
        title: String,
        city: Option<&Tenant>,
        path: &str,
        has_errors: bool,
    ) -> Self {
        let current = t.language();
        let languages = Language::ALL
            .into_iter()
            .map(|l| LanguageLink {
                code: l.code(),
                name: l.endonym(),
                href: format!("{path}?lang={}", l.code()),
                current: l == current,
            })
            .collect();
        let city = city.map(|c| CityHeader {
            name: c.name.get(current).to_owned(),
            href: format!("/{}/", c.slug),
        });
        Self {
            t,
            title,
            city,
            languages,
            has_errors,
            css: STYLESHEET,
        }
    }
}

pub struct Link {
    pub href: String,
    pub label: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub struct HomePage {
    pub layout: Layout,
    pub cities: Vec<Link>,
}

#[derive(Template, WebTemplate)]
#[template(path = "city.html")]
pub struct CityPage {
    pub layout: Layout,
    pub bill_types: Vec<BillTypeLink>,
    pub contact: civicpay_core::Contact,
}

pub struct BillTypeLink {
    pub name: String,
    pub href: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "lookup.html")]
pub struct LookupPage {
    pub layout: Layout,
    pub back_href: String,
    pub bill_type_name: String,
    pub action: String,
    pub form_token: String,
    pub fields: Vec<civicpay_web::forms::Field>,
    pub errors: Vec<civicpay_web::forms::SummaryError>,
}

pub struct LineView {
    pub description: String,
    pub amount: String,
}

pub struct PayButton {
    pub action: String,
    pub label: String,
    /// The convenience fee, said before the resident chooses to pay.
    pub fee: Option<String>,
    /// How much to pay, where the bill may be paid in parts; without it
    /// the button pays the whole balance.
    pub amount: Option<civicpay_web::forms::Field>,
}

pub struct BillView {
    pub reference: String,
    pub payer_name: String,
    pub due_date: String,
    pub status_label: String,
    pub status_class: &'static str,
    pub items: Vec<LineView>,
    pub total: String,
    pub paid: Option<String>,
    pub balance: String,
    pub pay: Option<PayButton>,
}

#[derive(Template, WebTemplate)]
#[template(path = "bills.html")]
pub struct BillsPage {
    pub layout: Layout,
    pub back_href: String,
    pub bill_type_name: String,
    pub found_message: String,
    pub form_token: String,
    pub bills: Vec<BillView>,
    pub errors: Vec<civicpay_web::forms::SummaryError>,
}

#[derive(Template, WebTemplate)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub layout: Layout,
    pub body: String,
    pub link: Option<Link>,
}

#[derive(Template, WebTemplate)]
#[template(path = "receipt.html")]
pub struct ReceiptPage {
    pub layout: Layout,
    pub bill_reference: String,
    pub amount: String,
    pub fee: Option<String>,
    pub card: Option<String>,
    pub paid_at: String,
    pub payment_id: String,
    pub balance: String,
    pub contact: String,
    pub back_href: String,
}
