//! Convenience fees: what a city charges on top of a bill for taking a
//! card, by rule. The arithmetic is here, once: a percentage is kept in
//! basis points (1/100 of a percent) and the fee rounds half up to the
//! cent, so no fraction of a cent is ever charged; a minimum and a maximum
//! then bound it.

use crate::money::MoneyError;
use crate::{Currency, Money, ParseError};
use serde::{Deserialize, Serialize};

/// A fee rule: flat, percentage, or both, optionally bounded. A city that
/// absorbs the fee has no rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeRule {
    /// Added to every payment, in minor units.
    flat: i64,
    /// Basis points of the amount: 250 is 2.5 %.
    basis_points: u32,
    minimum: Option<i64>,
    maximum: Option<i64>,
    currency: Currency,
}

/// The most a percentage may be: 10 %, far above any card fee a city
/// passes on, so a typo (250 meant as 2.5 %, typed as 25 %) is refused.
pub const MAX_BASIS_POINTS: u32 = 1_000;

impl FeeRule {
    /// Checks a rule as a city states it: amounts not negative, the
    /// percentage at most [`MAX_BASIS_POINTS`], the minimum not above the
    /// maximum, everything in one currency.
    pub fn new(
        flat: Money,
        basis_points: u32,
        minimum: Option<Money>,
        maximum: Option<Money>,
    ) -> Result<FeeRule, ParseError> {
        let currency = flat.currency();
        for bound in [minimum, maximum].into_iter().flatten() {
            if bound.currency() != currency {
                return Err(ParseError::CurrencyMismatch {
                    expected: currency.code().to_owned(),
                    found: bound.currency().code().to_owned(),
                });
            }
        }
        if [Some(flat), minimum, maximum]
            .into_iter()
            .flatten()
            .any(Money::is_negative)
        {
            return Err(ParseError::invalid("a fee cannot be negative"));
        }
        if basis_points > MAX_BASIS_POINTS {
            return Err(ParseError::invalid(format!(
                "a percentage fee is at most {}%",
                MAX_BASIS_POINTS / 100
            )));
        }
        if let (Some(min), Some(max)) = (minimum, maximum)
            && min.minor() > max.minor()
        {
            return Err(ParseError::invalid("the minimum fee is above the maximum"));
        }
        Ok(FeeRule {
            flat: flat.minor(),
            basis_points,
            minimum: minimum.map(Money::minor),
            maximum: maximum.map(Money::minor),
            currency,
        })
    }

    /// The fee on `amount`: flat plus the percentage rounded half up to
    /// the cent, then raised to the minimum and lowered to the maximum.
    pub fn fee_on(&self, amount: Money) -> Result<Money, MoneyError> {
        if amount.currency() != self.currency {
            return Err(MoneyError::CurrencyMismatch(
                amount.currency(),
                self.currency,
            ));
        }
        let scaled = i128::from(amount.minor()) * i128::from(self.basis_points);
        // Half up: 0.5 of a cent and more rounds to the next cent.
        let percentage = (scaled + 5_000).div_euclid(10_000);
        let mut fee = i128::from(self.flat) + percentage;
        if let Some(min) = self.minimum {
            fee = fee.max(i128::from(min));
        }
        if let Some(max) = self.maximum {
            fee = fee.min(i128::from(max));
        }
        i64::try_from(fee)
            .map(|minor| Money::from_minor(minor, self.currency))
            .map_err(|_| MoneyError::Overflow)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::Usd)
    }

    #[test]
    fn a_percentage_rounds_half_up_to_the_cent() {
        let rule = FeeRule::new(usd(0), 275, None, None).unwrap();
        // 2.75 % of $84.20 is $2.3155: $2.32.
        assert_eq!(rule.fee_on(usd(8_420)).unwrap(), usd(232));
        // 2.75 % of $10.00 is $0.275: half a cent rounds up.
        assert_eq!(rule.fee_on(usd(1_000)).unwrap(), usd(28));
        // 2.75 % of $0.18 is $0.00495: under half a cent, nothing.
        assert_eq!(rule.fee_on(usd(18)).unwrap(), usd(0));
    }

    #[test]
    fn flat_plus_percentage_is_bounded_by_minimum_and_maximum() {
        let rule = FeeRule::new(usd(30), 250, Some(usd(100)), Some(usd(2_500))).unwrap();
        assert_eq!(
            rule.fee_on(usd(1_000)).unwrap(),
            usd(100),
            "raised to $1.00"
        );
        assert_eq!(rule.fee_on(usd(10_000)).unwrap(), usd(280), "$0.30 + $2.50");
        assert_eq!(
            rule.fee_on(usd(5_000_000)).unwrap(),
            usd(2_500),
            "at most $25"
        );
    }

    #[test]
    fn a_rule_that_cannot_be_meant_is_refused() {
        assert!(FeeRule::new(usd(-1), 0, None, None).is_err());
        assert!(
            FeeRule::new(usd(0), 2_500, None, None).is_err(),
            "25 % is a typo"
        );
        assert!(FeeRule::new(usd(0), 100, Some(usd(500)), Some(usd(100))).is_err());
        let cad = Money::from_minor(100, Currency::Cad);
        assert!(FeeRule::new(usd(0), 100, Some(cad), None).is_err());
        let rule = FeeRule::new(usd(0), 100, None, None).unwrap();
        assert!(rule.fee_on(cad).is_err());
    }

    proptest! {
        /// The fee is whole cents, within its bounds, within half a cent of
        /// the exact flat + percentage, and grows with the amount.
        #[test]
        fn the_fee_is_whole_cents_bounded_and_monotonic(
            amount in 0i64..100_000_000_000,
            more in 0i64..1_000_000,
            flat in 0i64..10_000,
            basis_points in 0u32..=MAX_BASIS_POINTS,
            bounds in proptest::option::of((0i64..5_000, 0i64..50_000)),
        ) {
            let (minimum, maximum) = match bounds {
                Some((low, extra)) => (Some(usd(low)), Some(usd(low + extra))),
                None => (None, None),
            };
            let rule = FeeRule::new(usd(flat), basis_points, minimum, maximum).unwrap();
            let fee = rule.fee_on(usd(amount)).unwrap().minor();
            if let (Some(min), Some(max)) = (minimum, maximum) {
                prop_assert!(fee >= min.minor() && fee <= max.minor());
            } else {
                // Exact fee in hundredths of a basis point of a cent.
                let exact = i128::from(flat) * 10_000
                    + i128::from(amount) * i128::from(basis_points);
                let charged = i128::from(fee) * 10_000;
                // Half up: at most half a cent over, less than half under.
                prop_assert!(charged - exact <= 5_000 && exact - charged < 5_000);
            }
            let bigger = rule.fee_on(usd(amount + more)).unwrap().minor();
            prop_assert!(bigger >= fee);
        }
    }
}
