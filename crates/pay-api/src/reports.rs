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
    /// The checked payments by card brand: what our records say and what
    /// the city's processor says, so a difference shows which brand's
    /// settlement to look at.
    #[serde(default)]
    pub by_brand: Vec<BrandTotals>,
    pub differences: Vec<Difference>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BrandTotals {
    /// `visa`, `mastercard`, `amex`, `discover`; `unknown` when no card
    /// was recorded.
    pub brand: String,
    pub ours: Amounts,
    pub acquirer: Amounts,
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

/// What one GL line records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GlLineKind {
    /// A captured payment's part for a bill's GL code.
    Payment,
    /// The convenience fee charged with a payment.
    Fee,
    /// Money given back for a bill's GL code.
    Refund,
    /// A fee given back with a refund.
    FeeRefund,
}

impl GlLineKind {
    pub fn code(self) -> &'static str {
        match self {
            GlLineKind::Payment => "payment",
            GlLineKind::Fee => "fee",
            GlLineKind::Refund => "refund",
            GlLineKind::FeeRefund => "fee_refund",
        }
    }
}

/// One revenue line of the ledger: a city's books line by line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GlLine {
    pub posted_at: Timestamp,
    pub payment_id: PaymentId,
    /// The refund that posted this line, for refund lines.
    pub refund_id: Option<String>,
    pub kind: GlLineKind,
    pub gl_code: String,
    /// Minor units of `currency`: positive for money in, negative for money
    /// given back.
    pub amount: i64,
    pub currency: Currency,
    pub reference: String,
    pub channel: civicpay_core::payment::Channel,
}

/// `GET /v1/reports/gl-lines`: a page of lines, oldest first; `next` is
/// the cursor for the page after, absent on the last page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GlLinePage {
    pub lines: Vec<GlLine>,
    pub next: Option<String>,
}
