//! Convenience fees: what a city charges on top of a bill for taking a
//! card, by rule. The arithmetic is here, once: a percentage is kept in
//! basis points (1/100 of a percent) and the fee rounds half up to the
//! cent, so no fraction of a cent is ever charged; a minimum and a maximum
//! then bound it.

use crate::money::MoneyError;
use crate::payment::Channel;
use crate::{Currency, GlCode, Money, ParseError};
use serde::{Deserialize, Serialize};
use std::fmt;

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

impl FeeRule {
    pub fn flat(&self) -> Money {
        Money::from_minor(self.flat, self.currency)
    }

    pub fn basis_points(&self) -> u32 {
        self.basis_points
    }

    pub fn minimum(&self) -> Option<Money> {
        self.minimum.map(|m| Money::from_minor(m, self.currency))
    }

    pub fn maximum(&self) -> Option<Money> {
        self.maximum.map(|m| Money::from_minor(m, self.currency))
    }
}

/// "1.00 + 2.75 % (minimum 1.00, maximum 25.00)": how a change to a rule
/// reads in `city apply --dry-run` and the audit log.
impl fmt::Display for FeeRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} + {} %",
            self.flat().to_decimal_string(),
            percent_text(self.basis_points)
        )?;
        match (self.minimum(), self.maximum()) {
            (None, None) => Ok(()),
            (min, max) => {
                let bound =
                    |m: Option<Money>| m.map_or("none".to_owned(), Money::to_decimal_string);
                write!(f, " (minimum {}, maximum {})", bound(min), bound(max))
            }
        }
    }
}

/// Basis points as a percentage with no needless zeros: 275 is "2.75".
pub fn percent_text(basis_points: u32) -> String {
    let whole = basis_points / 100;
    match basis_points % 100 {
        0 => whole.to_string(),
        part if part % 10 == 0 => format!("{whole}.{}", part / 10),
        part => format!("{whole}.{part:02}"),
    }
}

/// Reads a percentage as a city writes it ("2.75", "3", "2.5 %") into basis
/// points; more than two decimals is refused, not rounded.
pub fn parse_percent(input: &str) -> Result<u32, ParseError> {
    let s = input.trim().trim_end_matches('%').trim();
    let (whole, part) = s.split_once('.').unwrap_or((s, ""));
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !(part.is_empty() || digits(part)) {
        return Err(ParseError::invalid(format!(
            "{input:?} is not a percentage (e.g. \"2.75\")"
        )));
    }
    if part.len() > 2 {
        return Err(ParseError::invalid(
            "a percentage has at most two decimals (2.75, not 2.755)",
        ));
    }
    let whole: u32 = whole
        .parse()
        .map_err(|_| ParseError::invalid("the percentage is too large"))?;
    let part: u32 = format!("{part:0<2}").parse().unwrap_or(0);
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(part))
        .ok_or_else(|| ParseError::invalid("the percentage is too large"))
}

/// What a bill type charges on top, by channel. A channel without a rule
/// charges nothing: the city absorbs the cost.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeSchedule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web: Option<FeeRule>,
    /// Staff taking a card over the phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<FeeRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autopay: Option<FeeRule>,
}

impl FeeSchedule {
    pub fn rule(&self, channel: Channel) -> Option<&FeeRule> {
        match channel {
            Channel::Web => self.web.as_ref(),
            Channel::Moto => self.phone.as_ref(),
            Channel::Autopay => self.autopay.as_ref(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.web.is_none() && self.phone.is_none() && self.autopay.is_none()
    }

    /// Each channel's name in a city file, with its rule.
    pub fn by_name(&self) -> [(&'static str, Option<&FeeRule>); 3] {
        [
            ("web", self.web.as_ref()),
            ("phone", self.phone.as_ref()),
            ("autopay", self.autopay.as_ref()),
        ]
    }
}

/// A city's choices about fees as a whole: where they post, and whether a
/// refund gives them back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeePolicy {
    pub gl_code: GlCode,
    pub refundable: bool,
}

/// The fee charged with one payment, as pay keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargedFee {
    pub amount: Money,
    pub gl_code: GlCode,
    pub refundable: bool,
}

impl ChargedFee {
    /// The fee for paying `amount` by `channel`: none when the bill type has
    /// no rule for the channel, the city no fee policy, or the rule comes
    /// to nothing.
    pub fn for_payment(
        policy: Option<&FeePolicy>,
        schedule: &FeeSchedule,
        channel: Channel,
        amount: Money,
    ) -> Result<Option<ChargedFee>, MoneyError> {
        let (Some(policy), Some(rule)) = (policy, schedule.rule(channel)) else {
            return Ok(None);
        };
        let fee = rule.fee_on(amount)?;
        Ok((fee.minor() > 0).then(|| ChargedFee {
            amount: fee,
            gl_code: policy.gl_code.clone(),
            refundable: policy.refundable,
        }))
    }

    /// The part of a refund of `refund` (out of `captured`) that gives the
    /// fee back: none when the city keeps fees, else the fee's share,
    /// half up, never more than the fee.
    pub fn share_of_refund(&self, refund: Money, captured: Money) -> Money {
        let currency = self.amount.currency();
        if !self.refundable || captured.minor() <= 0 {
            return Money::zero(currency);
        }
        let scaled = i128::from(refund.minor()) * i128::from(self.amount.minor());
        let captured = i128::from(captured.minor());
        let share = (scaled * 2 + captured).div_euclid(captured * 2);
        let share = share.clamp(0, i128::from(self.amount.minor()));
        Money::from_minor(i64::try_from(share).unwrap_or(0), currency)
    }

    /// What of `captured` may be refunded: all of it, or all but the fee.
    pub fn refundable_of(fee: Option<&ChargedFee>, captured: Money) -> Money {
        match fee {
            Some(fee) if !fee.refundable => Money::from_minor(
                (captured.minor() - fee.amount.minor()).max(0),
                captured.currency(),
            ),
            _ => captured,
        }
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

    #[test]
    fn percentages_read_and_print_as_a_city_writes_them() {
        assert_eq!(parse_percent("2.75").unwrap(), 275);
        assert_eq!(parse_percent("3").unwrap(), 300);
        assert_eq!(parse_percent(" 2.5 % ").unwrap(), 250);
        assert!(parse_percent("2.755").is_err(), "no silent rounding");
        assert!(parse_percent("-1").is_err());
        assert!(parse_percent("two").is_err());
        assert!(parse_percent("").is_err());
        for bp in [0, 5, 50, 275, 300, 1_000] {
            assert_eq!(parse_percent(&percent_text(bp)).unwrap(), bp);
        }
    }

    #[test]
    fn a_payment_is_charged_the_fee_of_its_channel_only_under_a_policy() {
        let rule = FeeRule::new(usd(0), 275, Some(usd(100)), None).unwrap();
        let schedule = FeeSchedule {
            web: Some(rule),
            ..FeeSchedule::default()
        };
        let policy = FeePolicy {
            gl_code: GlCode::parse("100-3990").unwrap(),
            refundable: false,
        };
        let fee = ChargedFee::for_payment(Some(&policy), &schedule, Channel::Web, usd(8_420))
            .unwrap()
            .unwrap();
        assert_eq!(fee.amount, usd(232));
        assert_eq!(
            ChargedFee::for_payment(Some(&policy), &schedule, Channel::Moto, usd(8_420)).unwrap(),
            None,
            "no phone rule: absorbed"
        );
        assert_eq!(
            ChargedFee::for_payment(None, &schedule, Channel::Web, usd(8_420)).unwrap(),
            None
        );
        assert_eq!(
            ChargedFee::refundable_of(Some(&fee), usd(8_652)),
            usd(8_420)
        );
        assert_eq!(fee.share_of_refund(usd(8_652), usd(8_652)), usd(0));
        let returned = ChargedFee {
            refundable: true,
            ..fee
        };
        assert_eq!(
            ChargedFee::refundable_of(Some(&returned), usd(8_652)),
            usd(8_652)
        );
        assert_eq!(returned.share_of_refund(usd(8_652), usd(8_652)), usd(232));
        // Half the payment back returns half the fee.
        assert_eq!(returned.share_of_refund(usd(4_326), usd(8_652)), usd(116));
    }
}
