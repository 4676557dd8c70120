//! Card page templates. Card number and security code fields are never
//! filled in from what was posted: a page with errors asks for them again.

use askama::Template;
use askama_web::WebTemplate;
use civicpay_web::Translator;
use civicpay_web::forms::{Field, SummaryError};
use civicpay_web::style::STYLESHEET;

#[derive(Template, WebTemplate)]
#[template(path = "card.html")]
pub(crate) struct CardPage {
    pub t: Translator,
    pub css: &'static str,
    pub title: String,
    pub city: String,
    pub description: String,
    pub amount: String,
    /// "Amount $84.20 + service fee $2.31 = $86.51", when a fee is charged.
    pub fee_breakdown: Option<String>,
    pub action: String,
    pub form_token: String,
    pub notice: Option<String>,
    pub errors: Vec<SummaryError>,
    pub fields: Vec<Field>,
    pub save_offer: Option<SaveOffer>,
    pub saved: Option<SavedSection>,
    pub submit: String,
}

/// A signed-in resident's saved cards, offered in a form of their own
/// above the card form: choose one, type its security code, pay.
pub(crate) struct SavedSection {
    pub action: String,
    pub legend: String,
    pub cards: Vec<SavedChoice>,
    pub code: Field,
    pub submit: String,
    pub new_card_heading: String,
}

pub(crate) struct SavedChoice {
    pub token: String,
    pub label: String,
    pub checked: bool,
}

/// "Save this card", with the consent it asks for.
pub(crate) struct SaveOffer {
    pub label: String,
    pub consent: String,
    pub checked: bool,
}

pub(crate) struct Link {
    pub href: String,
    pub label: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "message.html")]
pub(crate) struct MessagePage {
    pub t: Translator,
    pub css: &'static str,
    pub title: String,
    pub body: String,
    pub link: Option<Link>,
}

impl MessagePage {
    pub fn new(t: Translator, title: String, body: String, link: Option<Link>) -> Self {
        Self {
            t,
            css: STYLESHEET,
            title,
            body,
            link,
        }
    }
}
