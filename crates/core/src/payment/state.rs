//! The payment state machine, as one table. Every change of state is a
//! `(from, event) -> to` row here; anything else is refused, so no API call,
//! retry or race can move a payment somewhere it cannot go.
//!
//! ```text
//! created ─open card page─▶ started ─submit card─▶ submitted ─authorised─▶ authorised ─capture sent─▶ capture_requested ─captured─▶ success
//!    │                        │  ▲                    │ │ │ │                 │  └─captured (with the authorisation)──────────────────▲
//!    │                        │  └─declined, retry ───┘ │ │ └─failed─▶ error  └─void sent─▶ cancel_requested ─cancelled─▶ cancelled
//!    ├─cancelled / expired ───┴─▶ cancelled / expired   │ └─authorised and captured at once─▶ success
//!                                                       └─declined (no attempts left)─▶ declined
//! ```
//! A `submitted` payment never expires: its outcome at the acquirer is
//! unknown until reconciliation asks, and only an answer may finish it.
//! Every state that waits on the acquirer (`submitted`, `authorised`,
//! `capture_requested`, `cancel_requested`) is swept by reconciliation
//! through the one table in [`super::recovery`]. A request whose answer is
//! lost leaves the payment where it is, never in a failed state.

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Created,
    Started,
    Submitted,
    Authorised,
    /// We asked the acquirer to capture and have not heard back.
    CaptureRequested,
    /// We asked the acquirer to void and have not heard back.
    CancelRequested,
    Success,
    Declined,
    Cancelled,
    Expired,
    Error,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 11] = [
        PaymentStatus::Created,
        PaymentStatus::Started,
        PaymentStatus::Submitted,
        PaymentStatus::Authorised,
        PaymentStatus::CaptureRequested,
        PaymentStatus::CancelRequested,
        PaymentStatus::Success,
        PaymentStatus::Declined,
        PaymentStatus::Cancelled,
        PaymentStatus::Expired,
        PaymentStatus::Error,
    ];

    pub fn code(self) -> &'static str {
        match self {
            PaymentStatus::Created => "created",
            PaymentStatus::Started => "started",
            PaymentStatus::Submitted => "submitted",
            PaymentStatus::Authorised => "authorised",
            PaymentStatus::CaptureRequested => "capture_requested",
            PaymentStatus::CancelRequested => "cancel_requested",
            PaymentStatus::Success => "success",
            PaymentStatus::Declined => "declined",
            PaymentStatus::Cancelled => "cancelled",
            PaymentStatus::Expired => "expired",
            PaymentStatus::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<PaymentStatus> {
        PaymentStatus::ALL.into_iter().find(|p| p.code() == s)
    }

    /// No further change is possible (refunds are tracked separately).
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            PaymentStatus::Success
                | PaymentStatus::Declined
                | PaymentStatus::Cancelled
                | PaymentStatus::Expired
                | PaymentStatus::Error
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentEvent {
    CardPageOpened,
    CardSubmitted,
    /// A resident's saved card was charged without the card page (autopay).
    SavedCardCharged,
    Authorised,
    /// The acquirer authorised and captured in one answer: recorded in one
    /// step, so no crash can fall between the two.
    AuthorisedAndCaptured,
    /// A capture request is about to go to the acquirer.
    CaptureSent,
    /// A void request is about to go to the acquirer.
    VoidSent,
    Captured,
    /// Declined, and the resident may try another card.
    DeclinedRetryAllowed,
    /// Declined, with no attempts left.
    Declined,
    Cancelled,
    Expired,
    /// The acquirer answered with an error, or reconciliation found no
    /// authorisation.
    Failed,
}

impl PaymentEvent {
    pub const ALL: [PaymentEvent; 13] = [
        PaymentEvent::CardPageOpened,
        PaymentEvent::CardSubmitted,
        PaymentEvent::SavedCardCharged,
        PaymentEvent::Authorised,
        PaymentEvent::AuthorisedAndCaptured,
        PaymentEvent::CaptureSent,
        PaymentEvent::VoidSent,
        PaymentEvent::Captured,
        PaymentEvent::DeclinedRetryAllowed,
        PaymentEvent::Declined,
        PaymentEvent::Cancelled,
        PaymentEvent::Expired,
        PaymentEvent::Failed,
    ];
}

use PaymentEvent as E;
use PaymentStatus as S;

/// Every allowed transition. Nothing else moves a payment.
const PAYMENT_TRANSITIONS: [(S, E, S); 22] = [
    (S::Created, E::CardPageOpened, S::Started),
    (S::Created, E::SavedCardCharged, S::Submitted),
    (S::Created, E::Cancelled, S::Cancelled),
    (S::Created, E::Expired, S::Expired),
    (S::Started, E::CardPageOpened, S::Started),
    (S::Started, E::CardSubmitted, S::Submitted),
    (S::Started, E::Cancelled, S::Cancelled),
    (S::Started, E::Expired, S::Expired),
    (S::Submitted, E::Authorised, S::Authorised),
    (S::Submitted, E::DeclinedRetryAllowed, S::Started),
    (S::Submitted, E::Declined, S::Declined),
    (S::Submitted, E::Failed, S::Error),
    (S::Submitted, E::AuthorisedAndCaptured, S::Success),
    (S::Authorised, E::Captured, S::Success),
    (S::Authorised, E::CaptureSent, S::CaptureRequested),
    (S::Authorised, E::VoidSent, S::CancelRequested),
    (S::Authorised, E::Cancelled, S::Cancelled),
    (S::Authorised, E::Failed, S::Error),
    (S::CaptureRequested, E::Captured, S::Success),
    (S::CaptureRequested, E::Failed, S::Error),
    (S::CancelRequested, E::Cancelled, S::Cancelled),
    // The capture reached the acquirer before the void: the money was
    // taken, and the record says so (staff can refund it).
    (S::CancelRequested, E::Captured, S::Success),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("a {from} payment cannot take the event {event:?}")]
pub struct IllegalTransition {
    pub from: &'static str,
    pub event: &'static str,
}

impl PaymentStatus {
    pub fn apply(self, event: PaymentEvent) -> Result<PaymentStatus, IllegalTransition> {
        PAYMENT_TRANSITIONS
            .iter()
            .find(|(from, e, _)| *from == self && *e == event)
            .map(|(_, _, to)| *to)
            .ok_or(IllegalTransition {
                from: self.code(),
                event: event.code(),
            })
    }
}

impl PaymentEvent {
    pub fn code(self) -> &'static str {
        match self {
            E::CardPageOpened => "card_page_opened",
            E::CardSubmitted => "card_submitted",
            E::SavedCardCharged => "saved_card_charged",
            E::Authorised => "authorised",
            E::AuthorisedAndCaptured => "authorised_and_captured",
            E::CaptureSent => "capture_sent",
            E::VoidSent => "void_sent",
            E::Captured => "captured",
            E::DeclinedRetryAllowed => "declined_retry_allowed",
            E::Declined => "declined",
            E::Cancelled => "cancelled",
            E::Expired => "expired",
            E::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    Submitted,
    Success,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefundEvent {
    Accepted,
    Failed,
}

impl RefundStatus {
    pub fn apply(self, event: RefundEvent) -> Result<RefundStatus, IllegalTransition> {
        match (self, event) {
            (RefundStatus::Submitted, RefundEvent::Accepted) => Ok(RefundStatus::Success),
            (RefundStatus::Submitted, RefundEvent::Failed) => Ok(RefundStatus::Error),
            (from, event) => Err(IllegalTransition {
                from: match from {
                    RefundStatus::Submitted => "submitted",
                    RefundStatus::Success => "success",
                    RefundStatus::Error => "error",
                },
                event: match event {
                    RefundEvent::Accepted => "accepted",
                    RefundEvent::Failed => "failed",
                },
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_happy_path_reaches_success() {
        let mut s = S::Created;
        for e in [
            E::CardPageOpened,
            E::CardSubmitted,
            E::Authorised,
            E::Captured,
        ] {
            s = s.apply(e).unwrap_or(S::Error);
        }
        assert_eq!(s, S::Success);
    }

    #[test]
    fn a_declined_card_can_be_retried_until_the_last_attempt() {
        let s = S::Submitted.apply(E::DeclinedRetryAllowed);
        assert_eq!(s, Ok(S::Started));
        assert_eq!(S::Submitted.apply(E::Declined), Ok(S::Declined));
    }

    #[test]
    fn finished_payments_take_no_event() {
        for from in S::ALL.into_iter().filter(|s| s.is_finished()) {
            for event in E::ALL {
                assert!(from.apply(event).is_err(), "{from:?} + {event:?}");
            }
        }
    }

    #[test]
    fn a_submitted_payment_never_expires_or_is_cancelled() {
        assert!(S::Submitted.apply(E::Expired).is_err());
        assert!(S::Submitted.apply(E::Cancelled).is_err());
        assert!(
            S::Created.apply(E::Captured).is_err(),
            "no money without authorisation"
        );
        assert!(
            S::Started.apply(E::Authorised).is_err(),
            "no authorisation without a submitted card"
        );
    }

    #[test]
    fn the_table_has_one_row_per_pair() {
        for (i, (from, event, _)) in PAYMENT_TRANSITIONS.iter().enumerate() {
            let same = PAYMENT_TRANSITIONS
                .iter()
                .skip(i + 1)
                .any(|(f, e, _)| f == from && e == event);
            assert!(!same, "{from:?} + {event:?} appears twice");
        }
        for status in S::ALL {
            assert_eq!(S::parse(status.code()), Some(status));
        }
    }

    #[test]
    fn refunds_finish_once() {
        assert_eq!(
            RefundStatus::Submitted.apply(RefundEvent::Accepted),
            Ok(RefundStatus::Success)
        );
        assert!(RefundStatus::Success.apply(RefundEvent::Failed).is_err());
        assert!(RefundStatus::Error.apply(RefundEvent::Accepted).is_err());
    }

    proptest! {
        /// Success is reached only through authorisation then capture.
        #[test]
        fn success_always_follows_an_authorisation(events in proptest::collection::vec(0usize..13, 0..30)) {
            let mut status = S::Created;
            let mut authorised = false;
            for i in events {
                let event = E::ALL.get(i).copied().unwrap_or(E::Failed);
                if let Ok(next) = status.apply(event) {
                    if next == S::Authorised || event == E::AuthorisedAndCaptured { authorised = true; }
                    prop_assert!(!status.is_finished(), "left a finished state");
                    status = next;
                }
            }
            if status == S::Success { prop_assert!(authorised); }
        }
    }
}
