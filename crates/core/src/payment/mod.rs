//! Payments: the state machine every payment follows, and the ledger
//! postings its money produces.

pub mod ledger;
pub mod recovery;
pub mod state;

pub use ledger::{JournalEntry, LedgerAccount, LedgerError, Posting, allocate};
pub use recovery::{AcquirerAnswer, AlarmReason, Facts, Recovery, Waiting, recover};
pub use state::{IllegalTransition, PaymentEvent, PaymentStatus, RefundEvent, RefundStatus};

use crate::{Language, Money, PaymentId, TenantId};
use serde::{Deserialize, Serialize};

/// How the card reaches us: typed by the resident, or keyed in by staff
/// taking it over the phone (mail order / telephone order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Web,
    Moto,
    /// A saved card charged on the resident's standing instruction.
    Autopay,
}

impl Channel {
    pub fn code(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Moto => "moto",
            Channel::Autopay => "autopay",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        match s {
            "web" => Some(Channel::Web),
            "moto" => Some(Channel::Moto),
            "autopay" => Some(Channel::Autopay),
            _ => None,
        }
    }
}

/// A payment as the pay service keeps it: no card data beyond brand and
/// last four digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: PaymentId,
    pub tenant_id: TenantId,
    pub status: PaymentStatus,
    pub amount: Money,
    pub reference: String,
    pub description: String,
    pub return_url: String,
    pub email: Option<String>,
    pub language: Language,
    pub metadata: serde_json::Value,
    pub channel: Channel,
    /// The signed-in resident paying, as the portal names them (opaque
    /// here): only such a payment may offer to save the card.
    pub customer: Option<String>,
    /// The tamper monitor's probe: opened like any payment, never charged.
    pub probe: bool,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    pub authorisation_code: Option<String>,
    pub failure_code: Option<String>,
    pub attempts: i64,
    /// The convenience fee included in `amount`, if any.
    pub fee: Option<crate::fee::ChargedFee>,
    pub captured: Money,
    pub refunded: Money,
    pub expires_at: jiff::Timestamp,
    pub created_at: jiff::Timestamp,
    pub updated_at: jiff::Timestamp,
}

/// The acquirer knows each card attempt on a payment as its own
/// transaction, `{payment}.{attempt}`: a retry after a decline is new there.
pub fn acquirer_reference(payment_id: &PaymentId, attempt: i64) -> String {
    format!("{payment_id}.{attempt}")
}

impl Payment {
    /// The acquirer's name for this payment's latest card attempt.
    pub fn acquirer_reference(&self) -> String {
        acquirer_reference(&self.id, self.attempts)
    }
}
