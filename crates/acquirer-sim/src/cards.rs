//! The documented test cards. The numbers are the ones developers already
//! know from the large processors' test modes; any other valid number is
//! approved.

use civicpay_vault::CardNumber;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclineReason {
    DoNotHonour,
    InsufficientFunds,
    StolenCard,
    ExpiredCard,
    IncorrectCvc,
}

impl DeclineReason {
    pub fn code(self) -> &'static str {
        match self {
            DeclineReason::DoNotHonour => "do_not_honour",
            DeclineReason::InsufficientFunds => "insufficient_funds",
            DeclineReason::StolenCard => "stolen_card",
            DeclineReason::ExpiredCard => "expired_card",
            DeclineReason::IncorrectCvc => "incorrect_cvc",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Approve,
    Decline(DeclineReason),
    /// Answers 500 without authorising.
    ServerError,
    /// Authorises, but only after the simulator's slow delay.
    Slow,
    /// Authorises at once, then keeps the caller waiting past its timeout:
    /// the approval happened but the caller never hears of it.
    ApproveResponseLost,
}

/// (number, behaviour, what it is for) — the README's table is this one.
pub const TEST_CARDS: [(&str, Behaviour, &str); 11] = [
    ("4242 4242 4242 4242", Behaviour::Approve, "Visa, approved"),
    (
        "5555 5555 5555 4444",
        Behaviour::Approve,
        "Mastercard, approved",
    ),
    (
        "3782 822463 10005",
        Behaviour::Approve,
        "American Express, approved (4-digit security code)",
    ),
    (
        "4000 0000 0000 0002",
        Behaviour::Decline(DeclineReason::DoNotHonour),
        "declined: do not honour (generic)",
    ),
    (
        "4000 0000 0000 9995",
        Behaviour::Decline(DeclineReason::InsufficientFunds),
        "declined: insufficient funds",
    ),
    (
        "4000 0000 0000 9979",
        Behaviour::Decline(DeclineReason::StolenCard),
        "declined: stolen card",
    ),
    (
        "4000 0000 0000 0069",
        Behaviour::Decline(DeclineReason::ExpiredCard),
        "declined: expired card",
    ),
    (
        "4000 0000 0000 0127",
        Behaviour::Decline(DeclineReason::IncorrectCvc),
        "declined: incorrect security code",
    ),
    (
        "4000 0000 0000 0119",
        Behaviour::ServerError,
        "acquirer error (HTTP 500), nothing authorised",
    ),
    (
        "4000 0000 0000 0259",
        Behaviour::Slow,
        "approved after a delay longer than our timeout",
    ),
    (
        "4000 0000 0000 0341",
        Behaviour::ApproveResponseLost,
        "approved, but the response is lost",
    ),
];

pub(crate) fn behaviour_of(card: &CardNumber) -> Behaviour {
    TEST_CARDS
        .iter()
        .find(|(number, _, _)| number.replace(' ', "") == card.expose_digits())
        .map_or(Behaviour::Approve, |(_, behaviour, _)| *behaviour)
}
