//! The recovery table: what reconciliation does with a payment or refund
//! that waits on the acquirer, given what the acquirer says about it.
//!
//! Every state that waits on the acquirer is a [`Waiting`]; every answer a
//! status inquiry can give is an [`AcquirerAnswer`]; [`recover`] maps each
//! pair to one [`Recovery`]. The store sweeps exactly the states listed
//! here, so a state added to the payment machine that waits on the
//! acquirer and is missing here fails the tests, not a city's books.

use super::state::{PaymentStatus, RefundStatus};
use crate::Money;

/// A state in which we have asked the acquirer for something and do not
/// know for certain what it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Waiting {
    /// The authorisation (with capture) was sent; no answer recorded.
    Submitted,
    /// Approved; the capture is due (every authorisation asks for capture).
    Authorised,
    CaptureRequested,
    CancelRequested,
    /// A refund was sent; no answer recorded. Its amount stays reserved.
    RefundSubmitted,
}

impl Waiting {
    pub const ALL: [Waiting; 5] = [
        Waiting::Submitted,
        Waiting::Authorised,
        Waiting::CaptureRequested,
        Waiting::CancelRequested,
        Waiting::RefundSubmitted,
    ];

    /// The payment states reconciliation sweeps.
    pub const PAYMENT_STATES: [PaymentStatus; 4] = [
        PaymentStatus::Submitted,
        PaymentStatus::Authorised,
        PaymentStatus::CaptureRequested,
        PaymentStatus::CancelRequested,
    ];

    pub fn of_payment(status: PaymentStatus) -> Option<Waiting> {
        match status {
            PaymentStatus::Submitted => Some(Waiting::Submitted),
            PaymentStatus::Authorised => Some(Waiting::Authorised),
            PaymentStatus::CaptureRequested => Some(Waiting::CaptureRequested),
            PaymentStatus::CancelRequested => Some(Waiting::CancelRequested),
            PaymentStatus::Created
            | PaymentStatus::Started
            | PaymentStatus::Success
            | PaymentStatus::Declined
            | PaymentStatus::Cancelled
            | PaymentStatus::Expired
            | PaymentStatus::Error => None,
        }
    }

    pub fn of_refund(status: RefundStatus) -> Option<Waiting> {
        match status {
            RefundStatus::Submitted => Some(Waiting::RefundSubmitted),
            RefundStatus::Success | RefundStatus::Error => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Waiting::Submitted => "submitted",
            Waiting::Authorised => "authorised",
            Waiting::CaptureRequested => "capture_requested",
            Waiting::CancelRequested => "cancel_requested",
            Waiting::RefundSubmitted => "refund_submitted",
        }
    }
}

/// What a status inquiry can tell us about one authorisation or refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcquirerAnswer {
    /// The acquirer has no record of it.
    NotFound,
    /// Authorised for `amount`, not captured.
    Approved {
        amount: Money,
    },
    Captured {
        captured: Money,
        refunded: Money,
    },
    Declined,
    Voided,
    /// A refund inquiry: the refund was paid, for `amount`.
    Refunded {
        amount: Money,
    },
    /// The inquiry itself failed (timeout, 5xx, unreadable answer).
    Error,
}

impl AcquirerAnswer {
    pub fn code(self) -> &'static str {
        match self {
            AcquirerAnswer::NotFound => "not_found",
            AcquirerAnswer::Approved { .. } => "approved",
            AcquirerAnswer::Captured { .. } => "captured",
            AcquirerAnswer::Declined => "declined",
            AcquirerAnswer::Voided => "voided",
            AcquirerAnswer::Refunded { .. } => "refunded",
            AcquirerAnswer::Error => "error",
        }
    }
}

/// What we know besides the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// The amount the row is about: the payment's, or the refund's.
    pub amount: Money,
    /// Long enough has passed that "no record" means "never arrived" (a
    /// request still in flight cannot land any more).
    pub past_grace: bool,
    /// Long enough has passed that still waiting needs a person.
    pub past_deadline: bool,
}

/// Why a person has to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlarmReason {
    /// We recorded an approval the acquirer does not know.
    AcquirerHasNoRecord,
    /// The acquirer holds another amount than we asked for.
    AmountMismatch,
    /// The answer contradicts what we recorded (say, a decline after our
    /// approval, or a refund answer about a payment).
    Contradiction,
    /// Still unknown after the deadline (the acquirer cannot be asked).
    NotSettledInTime,
}

impl AlarmReason {
    pub fn code(self) -> &'static str {
        match self {
            AlarmReason::AcquirerHasNoRecord => "acquirer_has_no_record",
            AlarmReason::AmountMismatch => "amount_mismatch",
            AlarmReason::Contradiction => "contradiction",
            AlarmReason::NotSettledInTime => "not_settled_in_time",
        }
    }
}

/// The one action reconciliation takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Nothing can be concluded yet; ask again later.
    Wait,
    /// Capture the authorisation, then record the payment as captured.
    Capture {
        amount: Money,
    },
    /// Void the authorisation, then record it voided.
    Void,
    /// The acquirer captured: record the payment's success.
    RecordCaptured {
        captured: Money,
    },
    RecordDeclined,
    /// The authorisation was voided: a cancel finishes, anything else fails.
    RecordVoided,
    /// The authorisation never reached the acquirer: the payment fails.
    RecordNotReceived,
    RecordRefunded,
    /// The acquirer refused the refund: its reserved amount is released.
    RecordRefundRefused,
    /// The refund never arrived: send it again (idempotent by refund id).
    ResendRefund {
        amount: Money,
    },
    /// Leave the row as it is, flag it, and tell the city.
    Alarm(AlarmReason),
}

/// The table. Total: every pair has an answer, and no pair panics.
pub fn recover(waiting: Waiting, answer: AcquirerAnswer, facts: Facts) -> Recovery {
    use AcquirerAnswer as A;
    use Recovery as R;
    use Waiting as W;
    let same = |m: Money| m == facts.amount;
    let action = match (waiting, answer) {
        (_, A::Error) => R::Wait,

        (W::Submitted, A::NotFound) if facts.past_grace => R::RecordNotReceived,
        (W::Submitted, A::NotFound) => R::Wait,
        (W::Authorised | W::CaptureRequested | W::CancelRequested, A::NotFound) => {
            R::Alarm(AlarmReason::AcquirerHasNoRecord)
        }
        (W::RefundSubmitted, A::NotFound) if facts.past_grace => R::ResendRefund {
            amount: facts.amount,
        },
        (W::RefundSubmitted, A::NotFound) => R::Wait,

        (W::Submitted | W::Authorised | W::CaptureRequested, A::Approved { amount }) => {
            if same(amount) {
                R::Capture { amount }
            } else {
                R::Alarm(AlarmReason::AmountMismatch)
            }
        }
        (W::CancelRequested, A::Approved { .. }) => R::Void,

        (
            W::Submitted | W::Authorised | W::CaptureRequested | W::CancelRequested,
            A::Captured { captured, .. },
        ) => {
            if same(captured) {
                R::RecordCaptured { captured }
            } else {
                R::Alarm(AlarmReason::AmountMismatch)
            }
        }

        (W::Submitted, A::Declined) => R::RecordDeclined,
        (W::Authorised | W::CaptureRequested | W::CancelRequested, A::Declined) => {
            R::Alarm(AlarmReason::Contradiction)
        }
        (W::RefundSubmitted, A::Declined) => R::RecordRefundRefused,

        (W::Submitted | W::Authorised | W::CaptureRequested | W::CancelRequested, A::Voided) => {
            R::RecordVoided
        }

        (W::RefundSubmitted, A::Refunded { amount }) => {
            if same(amount) {
                R::RecordRefunded
            } else {
                R::Alarm(AlarmReason::AmountMismatch)
            }
        }
        (W::RefundSubmitted, A::Approved { .. } | A::Captured { .. } | A::Voided)
        | (
            W::Submitted | W::Authorised | W::CaptureRequested | W::CancelRequested,
            A::Refunded { .. },
        ) => R::Alarm(AlarmReason::Contradiction),
    };
    if action == R::Wait && facts.past_deadline {
        R::Alarm(AlarmReason::NotSettledInTime)
    } else {
        action
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Currency;
    use proptest::prelude::*;

    fn money(minor: i64) -> Money {
        Money::from_minor(minor, Currency::Usd)
    }

    fn answers(amount: i64, other: i64) -> Vec<AcquirerAnswer> {
        vec![
            AcquirerAnswer::NotFound,
            AcquirerAnswer::Approved {
                amount: money(amount),
            },
            AcquirerAnswer::Approved {
                amount: money(other),
            },
            AcquirerAnswer::Captured {
                captured: money(amount),
                refunded: money(0),
            },
            AcquirerAnswer::Captured {
                captured: money(other),
                refunded: money(0),
            },
            AcquirerAnswer::Declined,
            AcquirerAnswer::Voided,
            AcquirerAnswer::Refunded {
                amount: money(amount),
            },
            AcquirerAnswer::Refunded {
                amount: money(other),
            },
            AcquirerAnswer::Error,
        ]
    }

    #[test]
    fn every_payment_state_that_waits_on_the_acquirer_is_swept() {
        for status in PaymentStatus::ALL {
            let before_the_acquirer =
                matches!(status, PaymentStatus::Created | PaymentStatus::Started);
            let waits = !status.is_finished() && !before_the_acquirer;
            assert_eq!(
                Waiting::of_payment(status).is_some(),
                waits,
                "{status:?} is not swept by reconciliation"
            );
            assert_eq!(
                Waiting::PAYMENT_STATES.contains(&status),
                waits,
                "{status:?} and the swept list disagree"
            );
        }
        assert_eq!(
            Waiting::of_refund(RefundStatus::Submitted),
            Some(Waiting::RefundSubmitted)
        );
        assert_eq!(Waiting::of_refund(RefundStatus::Success), None);
        for w in Waiting::ALL {
            let listed = Waiting::PAYMENT_STATES
                .iter()
                .any(|s| Waiting::of_payment(*s) == Some(w));
            assert!(listed || w == Waiting::RefundSubmitted, "{w:?}");
        }
    }

    #[test]
    fn the_crash_between_authorised_and_captured_is_recovered() {
        let facts = Facts {
            amount: money(4200),
            past_grace: false,
            past_deadline: false,
        };
        let captured = AcquirerAnswer::Captured {
            captured: money(4200),
            refunded: money(0),
        };
        assert_eq!(
            recover(Waiting::Authorised, captured, facts),
            Recovery::RecordCaptured {
                captured: money(4200)
            }
        );
        assert_eq!(
            recover(
                Waiting::Authorised,
                AcquirerAnswer::Approved {
                    amount: money(4200)
                },
                facts
            ),
            Recovery::Capture {
                amount: money(4200)
            }
        );
    }

    #[test]
    fn not_found_fails_a_payment_only_after_the_grace() {
        let mut facts = Facts {
            amount: money(100),
            past_grace: false,
            past_deadline: false,
        };
        assert_eq!(
            recover(Waiting::Submitted, AcquirerAnswer::NotFound, facts),
            Recovery::Wait
        );
        assert_eq!(
            recover(Waiting::RefundSubmitted, AcquirerAnswer::NotFound, facts),
            Recovery::Wait
        );
        facts.past_grace = true;
        assert_eq!(
            recover(Waiting::Submitted, AcquirerAnswer::NotFound, facts),
            Recovery::RecordNotReceived
        );
        assert_eq!(
            recover(Waiting::RefundSubmitted, AcquirerAnswer::NotFound, facts),
            Recovery::ResendRefund { amount: money(100) }
        );
    }

    #[test]
    fn an_unanswerable_inquiry_waits_then_alarms() {
        let mut facts = Facts {
            amount: money(100),
            past_grace: true,
            past_deadline: false,
        };
        for w in Waiting::ALL {
            assert_eq!(recover(w, AcquirerAnswer::Error, facts), Recovery::Wait);
        }
        facts.past_deadline = true;
        for w in Waiting::ALL {
            assert_eq!(
                recover(w, AcquirerAnswer::Error, facts),
                Recovery::Alarm(AlarmReason::NotSettledInTime)
            );
        }
    }

    proptest! {
        /// No action captures more than the acquirer authorised or than
        /// the payment is for, records more than was captured, or refunds
        /// anything but the reserved refund's own amount; after the
        /// deadline nothing waits silently.
        #[test]
        fn no_action_takes_more_than_was_authorised(
            amount in 1i64..1_000_000,
            other in 1i64..1_000_000,
            past_grace: bool,
            past_deadline: bool,
        ) {
            let facts = Facts { amount: money(amount), past_grace, past_deadline };
            for w in Waiting::ALL {
                for answer in answers(amount, other) {
                    let action = recover(w, answer, facts);
                    match action {
                        Recovery::Capture { amount: c } => {
                            let AcquirerAnswer::Approved { amount: authorised } = answer else {
                                return Err(TestCaseError::fail(format!("{w:?} captures on {answer:?}")));
                            };
                            prop_assert!(c.minor() <= authorised.minor() && c.minor() <= amount);
                            prop_assert!(w != Waiting::RefundSubmitted);
                        }
                        Recovery::RecordCaptured { captured } => {
                            let AcquirerAnswer::Captured { captured: held, .. } = answer else {
                                return Err(TestCaseError::fail(format!("{w:?} records a capture on {answer:?}")));
                            };
                            prop_assert_eq!(captured, held);
                            prop_assert!(captured.minor() <= amount);
                        }
                        Recovery::ResendRefund { amount: r } => {
                            prop_assert_eq!(w, Waiting::RefundSubmitted);
                            prop_assert_eq!(r.minor(), amount);
                        }
                        Recovery::RecordRefunded | Recovery::RecordRefundRefused => {
                            prop_assert_eq!(w, Waiting::RefundSubmitted);
                        }
                        Recovery::Void => prop_assert_eq!(w, Waiting::CancelRequested),
                        Recovery::Wait => prop_assert!(!past_deadline),
                        Recovery::RecordDeclined
                        | Recovery::RecordVoided
                        | Recovery::RecordNotReceived => prop_assert!(w != Waiting::RefundSubmitted),
                        Recovery::Alarm(_) => {}
                    }
                }
            }
        }
    }
}
