//! Page templates (askama, compiled in and auto-escaped) and the view
//! models that fill them. Views hold display strings only: handlers turn
//! domain values into words in the resident's language before rendering.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use civicpay_core::{AccentColour, Language, Tenant};
use civicpay_web::Translator;
use civicpay_web::headers::PageStyle;
use civicpay_web::style::STYLESHEET;

pub struct CityHeader {
    pub name: String,
    pub href: String,
    /// The city's logo, served by the portal under a name that changes
    /// with it.
    pub logo: Option<String>,
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
    /// The city's accent rules, a second `<style>` the CSP allows by hash.
    pub city_style: Option<String>,
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
            .filter(|l| city.is_none_or(|c| c.languages.contains(l)))
            .map(|l| LanguageLink {
                code: l.code(),
                name: l.endonym(),
                href: format!("{path}?lang={}", l.code()),
                current: l == current,
            })
            .collect();
        let city_style = city
            .and_then(|c| c.branding.accent.as_ref())
            .map(AccentColour::stylesheet);
        let city = city.map(|c| CityHeader {
            name: c.name.get(current).to_owned(),
            href: format!("/{}/", c.slug),
            logo: logo_href(c),
        });
        Self {
            t,
            title,
            city,
            languages,
            has_errors,
            css: STYLESHEET,
            city_style,
        }
    }
}

/// Where the portal serves the city's logo, if it has one.
pub(crate) fn logo_href(city: &Tenant) -> Option<String> {
    let digest = city.branding.logo.as_ref()?;
    Some(format!("/{}/logo/{digest}.png", city.slug))
}

/// Renders a page, and lets its city's accent `<style>` through the CSP.
pub(crate) fn render_page<T: Template>(page: &T, layout: &Layout) -> Response {
    match page.render() {
        Ok(html) => {
            let mut response = Html(html).into_response();
            if let Some(style) = &layout.city_style {
                response.extensions_mut().insert(PageStyle(style.clone()));
            }
            response
        }
        Err(error) => {
            tracing::error!(%error, "a page failed to render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Pages are responses through [`render_page`]; each has a `layout`.
macro_rules! pages {
    ($($page:ty),* $(,)?) => {
        $(impl axum::response::IntoResponse for $page {
            fn into_response(self) -> axum::response::Response {
                $crate::views::render_page(&self, &self.layout)
            }
        })*
    };
}
pub(crate) use pages;

pub struct Link {
    pub href: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub layout: Layout,
    pub cities: Vec<Link>,
}

#[derive(Template)]
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

#[derive(Template)]
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

#[derive(Template)]
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

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub layout: Layout,
    pub body: String,
    pub link: Option<Link>,
}

#[derive(Template)]
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

pages!(
    HomePage,
    CityPage,
    LookupPage,
    BillsPage,
    MessagePage,
    ReceiptPage,
);
