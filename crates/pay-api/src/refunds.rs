//! Refunds of a payment.

use civicpay_core::{Currency, Money, PaymentId, RefundId};
use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `POST /v1/payments/{id}/refunds`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRefund {
    /// Minor units; at most what is left to refund.
    pub amount: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RefundView {
    pub refund_id: RefundId,
    pub payment_id: PaymentId,
    amount: i64,
    pub currency: Currency,
    /// `submitted` (asked, answer not yet known), `success` or `error`.
    pub status: String,
    pub created_at: Timestamp,
}

impl RefundView {
    pub fn new(
        refund_id: RefundId,
        payment_id: PaymentId,
        amount: Money,
        status: String,
        created_at: Timestamp,
    ) -> RefundView {
        RefundView {
            refund_id,
            payment_id,
            amount: amount.minor(),
            currency: amount.currency(),
            status,
            created_at,
        }
    }

    pub fn amount(&self) -> Money {
        Money::from_minor(self.amount, self.currency)
    }
}

/// `GET /v1/payments/{id}/refunds`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RefundList {
    pub payment_id: PaymentId,
    pub refunds: Vec<RefundView>,
}
