//! Gateway connectors. [`Connector`] is what the pay service needs from an
//! acquirer; [`SimulatorConnector`] speaks to `civicpay acquirer-sim`,
//! [`AuthorizeNetConnector`] and [`MonerisConnector`] to real processors.
//! Each passes the same conformance suite (`tests/conformance.rs`).
//!
//! Rules every connector keeps: our payment id is the acquirer's
//! idempotency key; non-idempotent calls are never retried blindly; a
//! timeout or a lost answer is [`AuthorisationOutcome::Unknown`], never a
//! decline, so that reconciliation can ask what really happened.

pub mod authorize_net;
pub mod moneris;
pub mod simulator;
mod transport;

pub use authorize_net::AuthorizeNetConnector;
pub use moneris::MonerisConnector;
pub use simulator::SimulatorConnector;

use civicpay_core::Money;
use civicpay_vault::{CardNumber, Expiry, SecurityCode};
use std::future::Future;
use std::pin::Pin;
use thiserror::Error;

/// What an authorisation needs. Borrowed: the card data stays in the
/// caller's zeroizing types.
pub struct AuthorisationRequest<'a> {
    /// Our reference for this attempt (payment id and attempt number); the
    /// acquirer's idempotency key.
    pub payment_id: &'a str,
    pub amount: Money,
    pub card: &'a CardNumber,
    /// Absent only for a stored card charged by the merchant (autopay):
    /// the security code is never stored, so it cannot be sent.
    pub security_code: Option<&'a SecurityCode>,
    /// A card on file, charged on the cardholder's standing instruction.
    pub stored_credential: bool,
    pub expiry: Expiry,
    /// Capture at once (the usual case) or only authorise.
    pub capture: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorisationOutcome {
    Approved {
        authorisation_code: String,
        captured: bool,
    },
    Declined {
        reason: String,
    },
    /// The acquirer failed and said so: nothing was authorised.
    Failed {
        detail: String,
    },
    /// No answer (timeout, connection lost): it may or may not have been
    /// authorised. Only a status inquiry can tell.
    Unknown {
        detail: String,
    },
}

/// The acquirer's record of one of our payments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusInquiry {
    NotFound,
    Approved {
        amount: i64,
        authorisation_code: String,
    },
    Captured {
        captured: i64,
        refunded: i64,
        authorisation_code: String,
    },
    Declined {
        reason: String,
    },
    Voided,
}

/// The acquirer's record of one of our refunds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundInquiry {
    NotFound,
    Refunded { amount: i64 },
}

/// One authorisation in the acquirer's own records for a day: what
/// reconciliation compares with ours to find authorisations nobody
/// accounts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcquirerRecord {
    /// Our reference (payment id and attempt number).
    pub reference: String,
    pub inquiry: StatusInquiry,
}

impl StatusInquiry {
    /// The answer in the recovery table's terms.
    pub fn answer(
        &self,
        currency: civicpay_core::Currency,
    ) -> civicpay_core::payment::AcquirerAnswer {
        use civicpay_core::payment::AcquirerAnswer;
        let money = |minor: i64| Money::from_minor(minor, currency);
        match self {
            StatusInquiry::NotFound => AcquirerAnswer::NotFound,
            StatusInquiry::Approved { amount, .. } => AcquirerAnswer::Approved {
                amount: money(*amount),
            },
            StatusInquiry::Captured {
                captured, refunded, ..
            } => AcquirerAnswer::Captured {
                captured: money(*captured),
                refunded: money(*refunded),
            },
            StatusInquiry::Declined { .. } => AcquirerAnswer::Declined,
            StatusInquiry::Voided => AcquirerAnswer::Voided,
        }
    }
}

#[derive(Debug, Error)]
pub enum GatewayError {
    #[error("the acquirer could not be reached or did not answer in time: {0}")]
    Unavailable(String),
    #[error("the acquirer refused the request: {0}")]
    Refused(String),
    #[error("the acquirer's answer could not be read: {0}")]
    Protocol(String),
    /// The processor refused civicpay's credentials: an operator's
    /// setting is wrong, not the payment. Names the settings to check.
    #[error("the processor refused civicpay's credentials: check {0}")]
    Credentials(String),
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub trait Connector: Send + Sync {
    fn authorise<'a>(
        &'a self,
        request: AuthorisationRequest<'a>,
    ) -> BoxFuture<'a, AuthorisationOutcome>;
    fn capture<'a>(
        &'a self,
        payment_id: &'a str,
        amount: Money,
    ) -> BoxFuture<'a, Result<(), GatewayError>>;
    fn void<'a>(&'a self, payment_id: &'a str) -> BoxFuture<'a, Result<(), GatewayError>>;
    fn refund<'a>(
        &'a self,
        payment_id: &'a str,
        refund_id: &'a str,
        amount: Money,
    ) -> BoxFuture<'a, Result<(), GatewayError>>;
    fn status<'a>(
        &'a self,
        payment_id: &'a str,
    ) -> BoxFuture<'a, Result<StatusInquiry, GatewayError>>;
    /// What the acquirer did with one refund (refunds are idempotent by
    /// `refund_id`, so a refund it never saw can be sent again).
    fn refund_status<'a>(
        &'a self,
        payment_id: &'a str,
        refund_id: &'a str,
    ) -> BoxFuture<'a, Result<RefundInquiry, GatewayError>>;
    /// Every authorisation the acquirer recorded on a (UTC) day.
    fn authorisations_on<'a>(
        &'a self,
        day: jiff::civil::Date,
    ) -> BoxFuture<'a, Result<Vec<AcquirerRecord>, GatewayError>>;
}
