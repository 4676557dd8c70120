//! The pay API as types: what pay writes and what its clients (the portal,
//! the tamper monitor, a city's own systems) read. Both sides use these
//! types, so a renamed or retyped field breaks the build instead of
//! reading as an empty string.
//!
//! Amounts travel as minor units beside a currency code; the accessors
//! give them back as [`Money`](civicpay_core::Money).

pub mod alerts;
pub mod cards;
pub mod merchants;
pub mod payments;
pub mod refunds;
pub mod reports;
pub mod webhooks;

pub use alerts::{AttentionItem, AttentionList, Declines};
pub use cards::{SavedCardList, SavedCardView};
pub use merchants::{MerchantView, RegisterMerchant};
pub use payments::{
    Allocation, CardSummary, CreatePayment, FeeRequest, Link, Payer, PaymentAmounts, PaymentEvents,
    PaymentLinks, PaymentList, PaymentOutcome, PaymentState, PaymentView, StateChange,
};
pub use refunds::{CreateRefund, RefundList, RefundView};
pub use reports::{
    AcquirerTotals, Amounts, BrandTotals, Difference, GlLine, GlLineKind, GlLinePage, GlTotals,
    LedgerReport,
};
pub use webhooks::{AttentionAlarm, CspAlarm, WebhookBody, WebhookEvent, WebhookPayment};
