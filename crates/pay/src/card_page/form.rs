//! The card form: what the payer typed (never the card number or code
//! past the request), the errors beside each field, and the page itself.

use super::*;
use crate::PayState;
use crate::error::PayError;
use crate::vault::SavedCard;
use crate::views::{CardPage, SaveOffer, SavedChoice, SavedSection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use civicpay_core::payment::{Payment, PaymentStatus};
use civicpay_vault::CardError;
use civicpay_web::FormTarget;
use civicpay_web::Translator;
use civicpay_web::forms::{Field, summary};
use civicpay_web::style::STYLESHEET;
use serde::Deserialize;
use zeroize::Zeroize;

#[derive(Default)]
pub(super) struct Typed {
    pub(super) name: String,
    pub(super) postal_code: String,
    pub(super) email: String,
    /// The resident ticked "save this card".
    pub(super) save_card: bool,
    /// The signed-in resident's saved cards, offered above the form, the
    /// one chosen, and what was wrong with paying with it.
    pub(super) saved_cards: Vec<SavedCard>,
    pub(super) saved_choice: String,
    pub(super) saved_error: Option<String>,
}

pub(super) struct FieldErrors {
    pub(super) name: Option<String>,
    pub(super) number: Option<String>,
    pub(super) expiry: Option<String>,
    pub(super) security_code: Option<String>,
    pub(super) postal_code: Option<String>,
    pub(super) email: Option<String>,
}

impl FieldErrors {
    pub(super) fn none() -> Self {
        Self {
            name: None,
            number: None,
            expiry: None,
            security_code: None,
            postal_code: None,
            email: None,
        }
    }

    pub(super) fn any(&self) -> bool {
        [
            &self.name,
            &self.number,
            &self.expiry,
            &self.security_code,
            &self.postal_code,
            &self.email,
        ]
        .iter()
        .any(|e| e.is_some())
    }
}

/// Only a signed-in resident's own web payment, and only where the vault
/// is configured, may save the card.
pub(super) fn offers_saving(state: &PayState, payment: &Payment) -> bool {
    state.vault.is_some()
        && payment.customer.is_some()
        && payment.channel == civicpay_core::payment::Channel::Web
}

/// The saved cards a signed-in resident may pay with on this payment.
pub(super) async fn saved_cards(
    state: &PayState,
    payment: &Payment,
) -> Result<Vec<SavedCard>, PayError> {
    let Some(customer) = payment
        .customer
        .as_deref()
        .filter(|_| offers_saving(state, payment))
    else {
        return Ok(Vec::new());
    };
    Ok(state
        .store
        .saved_cards_of(&payment.tenant_id, customer)
        .await?
        .iter()
        .map(SavedCard::from)
        .collect())
}

/// A card field: typed as text (the on-screen keyboard comes from
/// `inputmode`), named as the form posts it.
fn card_field(
    id: &'static str,
    name: &'static str,
    autocomplete: &'static str,
    inputmode: &'static str,
    label: String,
) -> Field {
    Field::new(id, "text", label)
        .named(name)
        .autocomplete(autocomplete)
        .inputmode(inputmode)
}

/// The new-card form's fields. The card number and security code are
/// never filled in from what was posted.
fn card_fields(
    t: &Translator,
    payment: &Payment,
    typed: &Typed,
    errors: FieldErrors,
) -> Vec<Field> {
    let mut fields = vec![
        card_field(
            "cardholder-name",
            "cardholder_name",
            "cc-name",
            "text",
            t.get("card-name"),
        )
        .value(typed.name.clone())
        .error(errors.name),
        card_field(
            "card-number",
            "card_number",
            "cc-number",
            "numeric",
            t.get("card-number"),
        )
        .hint(t.get("card-number-hint"))
        .error(errors.number),
        card_field(
            "expiry",
            "expiry",
            "cc-exp",
            "numeric",
            t.get("card-expiry"),
        )
        .hint(t.get("card-expiry-hint"))
        .error(errors.expiry),
        card_field(
            "security-code",
            "security_code",
            "cc-csc",
            "numeric",
            t.get("card-security-code"),
        )
        .hint(t.get("card-security-code-hint"))
        .error(errors.security_code),
        card_field(
            "postal-code",
            "postal_code",
            "postal-code",
            "text",
            t.get("card-postal-code"),
        )
        .value(typed.postal_code.clone())
        .error(errors.postal_code),
        card_field("email", "email", "email", "email", t.get("card-email"))
            .value(typed.email.clone())
            .error(errors.email),
    ];
    // Phone payments: staff key in a card read to them; mask the secret
    // fields on screen and keep the browser from remembering them.
    if payment.channel == civicpay_core::payment::Channel::Moto {
        for field in fields
            .iter_mut()
            .filter(|f| matches!(f.id.as_ref(), "card-number" | "security-code"))
        {
            field.kind = "password";
            field.autocomplete = "off";
        }
    }
    fields
}

/// The saved cards a signed-in resident may choose, in a form of their own.
fn saved_section(
    t: &Translator,
    payment: &Payment,
    typed: &Typed,
    code: Field,
    amount: &str,
) -> Option<SavedSection> {
    (!typed.saved_cards.is_empty()).then(|| SavedSection {
        action: format!("/card/{}/{}/saved", payment.tenant_id, payment.id),
        legend: t.get("card-saved-legend"),
        cards: typed
            .saved_cards
            .iter()
            .enumerate()
            .map(|(i, c)| SavedChoice {
                label: format!(
                    "{} •••• {} ({:02}/{})",
                    civicpay_core::export::card_brand_name(Some(&c.brand)),
                    c.last4,
                    c.exp_month,
                    c.exp_year
                ),
                checked: c.token == typed.saved_choice || (typed.saved_choice.is_empty() && i == 0),
                token: c.token.clone(),
            })
            .collect(),
        code,
        submit: t.arg("card-saved-submit", "amount", amount),
        new_card_heading: t.get("card-new-heading"),
    })
}

#[allow(clippy::too_many_arguments)]
pub(super) fn card_page(
    state: &PayState,
    t: Translator,
    city: &str,
    payment: &Payment,
    form_token: String,
    typed: &Typed,
    errors: FieldErrors,
    notice: Option<String>,
) -> Response {
    let fields = card_fields(&t, payment, typed, errors);
    let saved_code = card_field(
        "saved-security-code",
        "security_code",
        "cc-csc",
        "numeric",
        t.get("card-security-code"),
    )
    .hint(t.get("card-saved-code-hint"))
    .error(typed.saved_error.clone());
    let summary = summary(&[std::slice::from_ref(&saved_code), fields.as_slice()].concat());
    let amount = payment.amount.format(t.language());
    let save_offer = offers_saving(state, payment).then(|| SaveOffer {
        label: t.get("card-save"),
        consent: t.get("card-save-consent"),
        checked: typed.save_card,
    });
    let fee_breakdown = payment
        .fee
        .as_ref()
        .and_then(|fee| t.fee_breakdown(payment.amount, fee.amount));
    let page = CardPage {
        saved: saved_section(&t, payment, typed, saved_code, &amount),
        save_offer,
        title: t.get("card-title"),
        submit: t.arg("card-submit", "amount", &amount),
        t,
        css: STYLESHEET,
        city: city.to_owned(),
        description: payment.description.clone(),
        fee_breakdown,
        amount,
        action: format!("/card/{}/{}", payment.tenant_id, payment.id),
        form_token,
        notice,
        errors: summary,
        fields,
    };
    let status = if page.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = (status, page).into_response();
    if let Some(origin) = return_origin(payment) {
        response.extensions_mut().insert(FormTarget(origin));
    }
    response
}

/// A page for a payment that is past its card form.
pub(super) fn status_page(t: Translator, city: &str, payment: &Payment) -> Response {
    let link = Some(return_link(&t, city, payment));
    match payment.status {
        PaymentStatus::Submitted
        | PaymentStatus::CaptureRequested
        | PaymentStatus::CancelRequested => message(
            StatusCode::OK,
            t,
            "card-pending-title",
            "card-pending-body",
            link,
        ),
        PaymentStatus::Authorised | PaymentStatus::Success => message(
            StatusCode::OK,
            t,
            "card-finished-title",
            "card-finished-body",
            link,
        ),
        PaymentStatus::Expired => message(
            StatusCode::GONE,
            t,
            "card-link-expired-title",
            "card-link-expired-body",
            link,
        ),
        _ => message(
            StatusCode::OK,
            t,
            "card-declined-final-title",
            "card-declined-final-body",
            link,
        ),
    }
}

/// The posted card form. Not `Debug`, and wiped when dropped.
#[derive(Deserialize, Default)]
pub(crate) struct CardForm {
    #[serde(default)]
    pub(super) form_token: String,
    #[serde(default)]
    pub(super) cardholder_name: String,
    #[serde(default)]
    pub(super) card_number: String,
    #[serde(default)]
    pub(super) expiry: String,
    #[serde(default)]
    pub(super) security_code: String,
    #[serde(default)]
    pub(super) postal_code: String,
    #[serde(default)]
    pub(super) email: String,
    #[serde(default)]
    pub(super) save_card: String,
}

impl Drop for CardForm {
    fn drop(&mut self) {
        self.card_number.zeroize();
        self.security_code.zeroize();
    }
}

pub(super) fn card_error_message(t: &Translator, e: CardError) -> String {
    match e {
        CardError::NumberMissing => t.get("card-error-number-missing"),
        CardError::NumberNotDigits => t.get("card-error-number-not-digits"),
        CardError::NumberLength => t.get("card-error-number-length"),
        CardError::NumberChecksum => t.get("card-error-number-checksum"),
        CardError::BrandUnsupported => t.get("card-error-brand-unsupported"),
        CardError::ExpiryMissing => t.get("card-error-expiry-missing"),
        CardError::ExpiryFormat => t.get("card-error-expiry-format"),
        CardError::Expired => t.get("card-error-expired"),
        CardError::SecurityCodeMissing => t.get("card-error-security-code-missing"),
        CardError::SecurityCodeFormat { expected } => {
            t.count("card-error-security-code-format", "digits", expected as u64)
        }
        CardError::AccountMissing => t.get("bank-error-account-missing"),
        CardError::AccountNotDigits => t.get("bank-error-account-not-digits"),
        CardError::AccountLength => t.get("bank-error-account-length"),
        CardError::AccountMismatch => t.get("bank-error-account-mismatch"),
    }
}

/// A form posted to a card page: each carries the page's form token.
pub(super) trait CardPageForm {
    fn form_token(&self) -> &str;
}

impl CardPageForm for CardForm {
    fn form_token(&self) -> &str {
        &self.form_token
    }
}

impl CardPageForm for SavedCardForm {
    fn form_token(&self) -> &str {
        &self.form_token
    }
}

/// The posted saved-card form. Not `Debug`, and wiped when dropped.
#[derive(Deserialize, Default)]
pub(crate) struct SavedCardForm {
    #[serde(default)]
    pub(super) form_token: String,
    #[serde(default)]
    pub(super) saved_card: String,
    #[serde(default)]
    pub(super) security_code: String,
}

impl Drop for SavedCardForm {
    fn drop(&mut self) {
        self.security_code.zeroize();
    }
}
