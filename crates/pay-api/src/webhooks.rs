//! What pay sends to a city's webhook endpoint, signed.

use crate::payments::{CardSummary, PaymentAmounts, PaymentOutcome};
use civicpay_core::payment::{Payment, PaymentStatus};
use civicpay_core::{PaymentId, RefundId};
use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WebhookEvent {
    /// The delivery's id: the same on every retry of one event.
    pub id: String,
    pub created_at: Timestamp,
    #[serde(flatten)]
    pub body: WebhookBody,
}

/// The event, by its `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type")]
pub enum WebhookBody {
    #[serde(rename = "payment.succeeded")]
    PaymentSucceeded { payment: WebhookPayment },
    #[serde(rename = "payment.cancelled")]
    PaymentCancelled { payment: WebhookPayment },
    #[serde(rename = "payment.expired")]
    PaymentExpired { payment: WebhookPayment },
    #[serde(rename = "payment.failed")]
    PaymentFailed { payment: WebhookPayment },
    /// Reconciliation could not settle a payment or refund.
    #[serde(rename = "payment.needs_attention")]
    NeedsAttention { alarm: AttentionAlarm },
    /// A browser blocked something on one of the city's card pages.
    #[serde(rename = "integrity.csp_violation")]
    CspViolation { alarm: CspAlarm },
    /// A type this version does not know: a receiver acknowledges it.
    #[serde(other)]
    Other,
}

impl WebhookBody {
    /// The event a payment reaching `payment.status` sends, if any.
    pub fn for_finished(payment: &Payment) -> Option<WebhookBody> {
        let sent = WebhookPayment::of(payment);
        match payment.status {
            PaymentStatus::Success => Some(WebhookBody::PaymentSucceeded { payment: sent }),
            PaymentStatus::Cancelled => Some(WebhookBody::PaymentCancelled { payment: sent }),
            PaymentStatus::Expired => Some(WebhookBody::PaymentExpired { payment: sent }),
            PaymentStatus::Declined | PaymentStatus::Error => {
                Some(WebhookBody::PaymentFailed { payment: sent })
            }
            _ => None,
        }
    }

    /// The `type` as sent.
    pub fn kind(&self) -> &'static str {
        match self {
            WebhookBody::PaymentSucceeded { .. } => "payment.succeeded",
            WebhookBody::PaymentCancelled { .. } => "payment.cancelled",
            WebhookBody::PaymentExpired { .. } => "payment.expired",
            WebhookBody::PaymentFailed { .. } => "payment.failed",
            WebhookBody::NeedsAttention { .. } => "payment.needs_attention",
            WebhookBody::CspViolation { .. } => "integrity.csp_violation",
            WebhookBody::Other => "other",
        }
    }
}

/// A finished payment as a webhook carries it: fewer fields than the API's
/// view, and the status at the top.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WebhookPayment {
    pub payment_id: PaymentId,
    pub status: PaymentStatus,
    #[serde(flatten)]
    pub money: PaymentAmounts,
    pub reference: String,
    pub metadata: serde_json::Value,
    pub card: Option<CardSummary>,
}

impl WebhookPayment {
    pub fn of(payment: &Payment) -> WebhookPayment {
        WebhookPayment {
            payment_id: payment.id.clone(),
            status: payment.status,
            money: PaymentAmounts::of(payment),
            reference: payment.reference.clone(),
            metadata: payment.metadata.clone(),
            card: CardSummary::of(payment),
        }
    }

    /// The bill payment the portal started this for, if it did.
    pub fn bill_payment_id(&self) -> Option<&str> {
        crate::payments::bill_payment_id(&self.metadata)
    }

    /// A webhook carries no e-mail or language: the receiver uses its own.
    pub fn outcome(&self) -> PaymentOutcome {
        PaymentOutcome {
            status: self.status,
            captured: self.money.captured(),
            fee: self.money.fee(),
            card: self.card.clone(),
            email: None,
            language: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AttentionAlarm {
    pub payment_id: PaymentId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<RefundId>,
    pub reason: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CspAlarm {
    pub document_uri: String,
    pub violated_directive: String,
    pub blocked_uri: String,
    pub received_at: Timestamp,
    /// Reports of this page and directive in the alarm's window so far.
    pub reports_in_window: i64,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn each_event_type_reads_back_as_itself() {
        let alarm = AttentionAlarm {
            payment_id: PaymentId::generate(),
            refund_id: None,
            reason: "acquirer_has_no_record".into(),
            at: Timestamp::from_second(1_800_000_000).unwrap(),
        };
        let event = WebhookEvent {
            id: "d1".into(),
            created_at: Timestamp::from_second(1_800_000_000).unwrap(),
            body: WebhookBody::NeedsAttention { alarm },
        };
        let sent = serde_json::to_value(&event).unwrap();
        assert_eq!(sent["type"], "payment.needs_attention");
        assert_eq!(sent["type"], event.body.kind());
        assert!(sent["alarm"].get("refund_id").is_none());
        let read: WebhookEvent = serde_json::from_value(sent).unwrap();
        assert_eq!(read, event);
    }

    #[test]
    fn an_unknown_type_is_acknowledged_not_refused() {
        let read: WebhookEvent = serde_json::from_str(
            r#"{"id":"d2","type":"payment.disputed","created_at":"2026-12-01T00:00:00Z","dispute":{}}"#,
        )
        .unwrap();
        assert_eq!(read.body, WebhookBody::Other);
    }

    #[test]
    fn a_payment_event_missing_its_payment_is_refused() {
        let read = serde_json::from_str::<WebhookEvent>(
            r#"{"id":"d3","type":"payment.succeeded","created_at":"2026-12-01T00:00:00Z"}"#,
        );
        assert!(read.is_err());
    }
}
