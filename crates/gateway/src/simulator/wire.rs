//! The acquirer simulator's HTTP API, as types: the simulator serves them
//! and the connector sends and reads them, so the two cannot drift apart.
//! A real acquirer's connector writes its own, from the acquirer's
//! documentation.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// `POST /v1/authorisations`. The card number and security code are
/// borrowed from the vault types for the one serialisation that sends
/// them, and never kept.
#[derive(Debug, Serialize, Deserialize)]
pub struct AuthoriseRequest<'a> {
    pub payment_id: Cow<'a, str>,
    pub amount: i64,
    pub currency: Cow<'a, str>,
    pub card_number: Cow<'a, str>,
    /// Required, except for a stored card charged by the merchant.
    #[serde(default)]
    pub security_code: Option<Cow<'a, str>>,
    #[serde(default)]
    pub stored_credential: bool,
    pub expiry: Cow<'a, str>,
    pub capture: bool,
}

/// What the acquirer says about one of our payments.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuthorisationView {
    pub payment_id: String,
    /// `pending`, `approved`, `captured`, `declined`, `voided`.
    pub status: String,
    pub amount: i64,
    pub currency: String,
    pub captured: i64,
    pub refunded: i64,
    pub last4: String,
    pub authorisation_code: Option<String>,
    pub decline_reason: Option<String>,
}

/// `POST /v1/authorisations/{id}/capture`.
#[derive(Debug, Serialize, Deserialize)]
pub struct AmountRequest {
    pub amount: i64,
}

/// `POST /v1/authorisations/{id}/refunds`.
#[derive(Debug, Serialize, Deserialize)]
pub struct RefundRequest {
    pub refund_id: String,
    pub amount: i64,
}

/// `GET /v1/authorisations/{id}/refunds/{refund_id}`.
#[derive(Debug, Serialize, Deserialize)]
pub struct RefundView {
    pub payment_id: String,
    pub refund_id: String,
    pub amount: i64,
}

/// `GET /v1/authorisations?day=…`.
#[derive(Debug, Serialize, Deserialize)]
pub struct DayQuery {
    pub day: String,
}

/// The answer to a [`DayQuery`]: the acquirer's daily transaction report.
#[derive(Debug, Serialize, Deserialize)]
pub struct DayListing {
    pub day: String,
    pub authorisations: Vec<AuthorisationView>,
}

/// An error the simulator answers with.
#[derive(Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}
