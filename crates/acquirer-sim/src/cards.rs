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

/// A Visa-shaped number of its own for each `n` below 10^13, with a valid
/// check digit, which the simulator approves (it is none of the documented
/// cards): load and chaos tests give every payer a different card, as on a
/// real day, so the per-card velocity limit does not stop them.
pub fn approved_card_number(n: u64) -> String {
    let body = format!("49{:013}", n % 10_u64.pow(13));
    let sum: u32 = body
        .chars()
        .rev()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 0 {
                let d = d * 2;
                if d > 9 { d - 9 } else { d }
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_cards_are_valid_distinct_and_approved() {
        let a = CardNumber::parse(&approved_card_number(1));
        let b = CardNumber::parse(&approved_card_number(2));
        assert!(
            matches!((&a, &b), (Ok(a), Ok(b)) if a.expose_digits() != b.expose_digits()),
            "generated cards must be valid and distinct"
        );
        assert!(a.is_ok_and(|a| behaviour_of(&a) == Behaviour::Approve));
        let good = approved_card_number(5);
        let (body, check) = good.split_at(good.len() - 1);
        let wrong = (check.parse::<u32>().unwrap_or(0) + 1) % 10;
        assert!(CardNumber::parse(&format!("{body}{wrong}")).is_err());
    }
}
