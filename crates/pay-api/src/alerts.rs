//! What a city's systems poll to raise alarms.

use civicpay_core::{Currency, Money, PaymentId, RefundId};
use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A payment or refund reconciliation could not settle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AttentionItem {
    pub payment_id: PaymentId,
    pub refund_id: Option<RefundId>,
    /// The payment's status, or the refund's.
    pub status: String,
    amount: i64,
    pub currency: Currency,
    /// A code: `acquirer_has_no_record`, …
    pub reason: String,
    pub since: Timestamp,
}

impl AttentionItem {
    pub fn new(
        payment_id: PaymentId,
        refund_id: Option<RefundId>,
        status: String,
        amount: Money,
        reason: String,
        since: Timestamp,
    ) -> AttentionItem {
        AttentionItem {
            payment_id,
            refund_id,
            status,
            amount: amount.minor(),
            currency: amount.currency(),
            reason,
            since,
        }
    }

    pub fn amount(&self) -> Money {
        Money::from_minor(self.amount, self.currency)
    }
}

/// `GET /v1/alerts/attention`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AttentionList {
    pub results: Vec<AttentionItem>,
}

/// `GET /v1/alerts/declines`: declined card attempts in the last hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Declines {
    pub window: String,
    pub declines: i64,
}
