//! A payment as the API shows it (`GET /v1/payments/{id}` and lists).

use civicpay_core::payment::{Channel, Payment, PaymentStatus};
use civicpay_core::{Currency, Language, Money, PaymentId};
use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentState {
    pub status: PaymentStatus,
    pub finished: bool,
    /// Why it failed, when it did (an acquirer's decline code).
    pub code: Option<String>,
}

/// The card a payment was made with: never more than brand and last four.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CardSummary {
    pub brand: Option<String>,
    pub last4: String,
}

impl CardSummary {
    pub(crate) fn of(payment: &Payment) -> Option<CardSummary> {
        payment.card_last4.as_ref().map(|last4| CardSummary {
            brand: payment.card_brand.clone(),
            last4: last4.clone(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Link {
    pub href: String,
    pub method: String,
}

impl Link {
    pub fn get(href: String) -> Link {
        Link {
            href,
            method: "GET".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentLinks {
    #[serde(rename = "self")]
    pub this: Link,
    /// The one-time link to the card page: only in the answer that
    /// created the payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_url: Option<Link>,
}

/// A payment's money as the API and webhooks carry it: minor units beside
/// the currency, read back as [`Money`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentAmounts {
    amount: i64,
    pub currency: Currency,
    captured_amount: i64,
    refunded_amount: i64,
    /// The convenience fee included in `amount` (0 for none).
    #[serde(default)]
    fee_amount: i64,
    /// Whether a refund may give the fee back.
    #[serde(default)]
    fee_refundable: bool,
}

impl PaymentAmounts {
    pub fn of(payment: &Payment) -> PaymentAmounts {
        PaymentAmounts {
            amount: payment.amount.minor(),
            currency: payment.amount.currency(),
            captured_amount: payment.captured.minor(),
            refunded_amount: payment.refunded.minor(),
            fee_amount: payment.fee.as_ref().map_or(0, |f| f.amount.minor()),
            fee_refundable: payment.fee.as_ref().is_some_and(|f| f.refundable),
        }
    }

    pub fn fee(&self) -> Money {
        Money::from_minor(self.fee_amount, self.currency)
    }

    /// What of the captured money may ever be refunded: all of it, or all
    /// but a fee the city keeps.
    pub fn refundable(&self) -> Money {
        if self.fee_refundable {
            self.captured()
        } else {
            Money::from_minor(
                (self.captured_amount - self.fee_amount).max(0),
                self.currency,
            )
        }
    }

    pub fn amount(&self) -> Money {
        Money::from_minor(self.amount, self.currency)
    }

    pub fn captured(&self) -> Money {
        Money::from_minor(self.captured_amount, self.currency)
    }

    pub fn refunded(&self) -> Money {
        Money::from_minor(self.refunded_amount, self.currency)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentView {
    pub payment_id: PaymentId,
    pub state: PaymentState,
    #[serde(flatten)]
    pub money: PaymentAmounts,
    pub reference: String,
    pub description: String,
    pub return_url: String,
    pub email: Option<String>,
    pub language: Language,
    pub metadata: serde_json::Value,
    pub channel: Channel,
    pub card: Option<CardSummary>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    #[serde(rename = "_links")]
    pub links: PaymentLinks,
}

impl PaymentView {
    /// `public_url` is pay's own address, without a trailing slash.
    pub fn new(payment: &Payment, public_url: &str) -> PaymentView {
        PaymentView {
            payment_id: payment.id.clone(),
            state: PaymentState {
                status: payment.status,
                finished: payment.status.is_finished(),
                code: payment.failure_code.clone(),
            },
            money: PaymentAmounts::of(payment),
            reference: payment.reference.clone(),
            description: payment.description.clone(),
            return_url: payment.return_url.clone(),
            email: payment.email.clone(),
            language: payment.language,
            metadata: payment.metadata.clone(),
            channel: payment.channel,
            card: CardSummary::of(payment),
            created_at: payment.created_at,
            expires_at: payment.expires_at,
            links: PaymentLinks {
                this: Link::get(format!("{public_url}/v1/payments/{}", payment.id)),
                next_url: None,
            },
        }
    }

    /// The bill payment the portal started this for, if it did.
    pub fn bill_payment_id(&self) -> Option<&str> {
        bill_payment_id(&self.metadata)
    }

    pub fn outcome(&self) -> PaymentOutcome {
        PaymentOutcome {
            status: self.state.status,
            captured: self.money.captured(),
            fee: self.money.fee(),
            card: self.card.clone(),
            email: self.email.clone(),
            language: Some(self.language),
        }
    }
}

/// What a client credits from: the same whether it read the payment or
/// was sent a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentOutcome {
    pub status: PaymentStatus,
    pub captured: Money,
    /// The fee included in `captured`: not the bill's money.
    pub fee: Money,
    pub card: Option<CardSummary>,
    /// The address the payer gave pay, when the answer carries it.
    pub email: Option<String>,
    pub language: Option<Language>,
}

/// `GET /v1/payments`: one page of a city's payments, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentList {
    pub page: i64,
    pub per_page: i64,
    pub results: Vec<PaymentView>,
}

/// One state change of a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StateChange {
    pub seq: i64,
    pub from: Option<String>,
    pub to: String,
    pub event: String,
    pub cause: String,
    pub at: Timestamp,
}

/// `GET /v1/payments/{id}/events`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentEvents {
    pub payment_id: PaymentId,
    pub events: Vec<StateChange>,
}

/// Who a bill is addressed to.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Payer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_address: Option<String>,
}

/// `POST /v1/payments`. Codes (currency, language, channel) stay text
/// here so that pay can refuse a wrong one naming the field, as a 422,
/// rather than as a body it cannot read.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePayment {
    pub amount: i64,
    pub currency: String,
    pub reference: String,
    pub description: String,
    pub return_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Who the bill is addressed to, kept so that a city can write to
    /// everyone who typed into the card page if it is ever tampered with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<Payer>,
    /// The signed-in resident paying, as the portal names them; only such
    /// a payment offers to save the card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// Charge this saved card of `customer` now, without the card page
    /// (channel `autopay`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved_card: Option<String>,
    /// How to split the money across the city's GL codes: weights in minor
    /// units (a bill's line items), proportionally applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocations: Option<Vec<Allocation>>,
    /// The convenience fee included in `amount`: shown apart on the card
    /// page and posted to its own GL code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<FeeRequest>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeeRequest {
    /// Minor units, part of the payment's `amount`.
    pub amount: i64,
    pub gl_code: String,
    /// Whether a refund gives the fee back (else at most `amount - fee`
    /// can be refunded).
    #[serde(default)]
    pub refundable: bool,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Allocation {
    pub gl_code: String,
    pub amount: i64,
}

/// The portal's bill payment id, which it puts in a payment's metadata.
pub(crate) fn bill_payment_id(metadata: &serde_json::Value) -> Option<&str> {
    metadata.get("bill_payment_id")?.as_str()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use civicpay_core::TenantId;

    fn payment() -> Payment {
        let at = Timestamp::from_second(1_800_000_000).unwrap();
        Payment {
            id: PaymentId::generate(),
            tenant_id: TenantId::generate(),
            status: PaymentStatus::Success,
            amount: Money::from_minor(12_500, Currency::Usd),
            reference: "WTR-1".into(),
            description: "Water WTR-1".into(),
            return_url: "https://city.example/back".into(),
            email: Some("ana@example.org".into()),
            language: Language::Fr,
            metadata: serde_json::json!({ "bill_payment_id": "bp-1" }),
            channel: Channel::Moto,
            customer: None,
            probe: false,
            card_brand: Some("visa".into()),
            card_last4: Some("4242".into()),
            authorisation_code: Some("A1".into()),
            failure_code: None,
            attempts: 1,
            fee: None,
            captured: Money::from_minor(12_500, Currency::Usd),
            refunded: Money::from_minor(2_500, Currency::Usd),
            expires_at: at,
            created_at: at,
            updated_at: at,
        }
    }

    /// The names a city's systems read: changing one is a breaking change
    /// of the API, to be made on purpose.
    #[test]
    fn a_payment_reads_as_the_documented_fields() {
        let sent =
            serde_json::to_value(PaymentView::new(&payment(), "https://pay.example")).unwrap();
        let mut keys: Vec<&str> = sent
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "_links",
                "amount",
                "captured_amount",
                "card",
                "channel",
                "created_at",
                "currency",
                "description",
                "email",
                "expires_at",
                "fee_amount",
                "fee_refundable",
                "language",
                "metadata",
                "payment_id",
                "reference",
                "refunded_amount",
                "return_url",
                "state"
            ]
        );
        assert_eq!(sent["state"]["status"], "success");
        assert_eq!(sent["channel"], "moto");
        assert_eq!(sent["currency"], "USD");
        assert_eq!(sent["amount"], 12_500);
        assert_eq!(sent["card"]["last4"], "4242");
        assert!(sent["_links"].get("next_url").is_none());
        assert_eq!(sent["created_at"], "2027-01-15T08:00:00Z");
    }

    #[test]
    fn a_payment_reads_back_with_its_money_and_outcome() {
        let view = PaymentView::new(&payment(), "https://pay.example");
        let read: PaymentView =
            serde_json::from_str(&serde_json::to_string(&view).unwrap()).unwrap();
        assert_eq!(read, view);
        assert_eq!(
            read.money.refunded(),
            Money::from_minor(2_500, Currency::Usd)
        );
        assert_eq!(read.bill_payment_id(), Some("bp-1"));
        let outcome = read.outcome();
        assert_eq!(outcome.status, PaymentStatus::Success);
        assert_eq!(outcome.captured, Money::from_minor(12_500, Currency::Usd));
        assert_eq!(outcome.language, Some(Language::Fr));
    }

    #[test]
    fn an_unknown_status_is_refused_not_read_as_empty() {
        let mut sent =
            serde_json::to_value(PaymentView::new(&payment(), "https://pay.example")).unwrap();
        sent["state"]["status"] = "paid".into();
        assert!(serde_json::from_value::<PaymentView>(sent).is_err());
    }
}
