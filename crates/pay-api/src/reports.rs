//! `GET /v1/reports/ledger`: a window's money by GL code, checked payment
//! by payment against the acquirer. Amounts in minor units of `currency`.

use civicpay_core::{Currency, PaymentId};
use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LedgerReport {
    pub from: Timestamp,
    pub to: Timestamp,
    pub currency: Currency,
    pub by_gl: Vec<GlTotals>,
    pub acquirer: AcquirerTotals,
    pub differences: Vec<Difference>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GlTotals {
    pub gl_code: String,
    pub captured: i64,
    pub refunded: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AcquirerTotals {
    pub payments_checked: i64,
    pub captured: i64,
    pub refunded: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Amounts {
    pub captured: i64,
    pub refunded: i64,
}

/// A payment whose amounts we and the acquirer do not agree on, or that
/// the acquirer could not be asked about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Difference {
    pub payment_id: PaymentId,
    pub reference: String,
    pub ours: Amounts,
    pub acquirer: Amounts,
    pub problem: Option<String>,
}
