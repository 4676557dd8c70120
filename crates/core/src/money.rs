//! Money: integer minor units plus an ISO 4217 currency. No floats, ever:
//! parsing reads digits, formatting writes digits, arithmetic is checked.

use crate::{Language, ParseError};
use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "UPPERCASE")]
pub enum Currency {
    Usd,
    Cad,
}

impl Currency {
    pub const ALL: [Currency; 2] = [Currency::Usd, Currency::Cad];

    pub fn code(self) -> &'static str {
        match self {
            Currency::Usd => "USD",
            Currency::Cad => "CAD",
        }
    }

    /// Digits after the decimal separator (ISO 4217 "minor unit").
    pub fn minor_digits(self) -> u32 {
        2
    }

    pub fn parse(code: &str) -> Result<Self, ParseError> {
        Currency::ALL
            .into_iter()
            .find(|c| c.code().eq_ignore_ascii_case(code.trim()))
            .ok_or_else(|| ParseError::invalid(format!("unknown currency {:?}", code.trim())))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// How people write a decimal amount: `1,234.56` or `1 234,56`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalStyle {
    /// Decimal point, comma grouping (English, Spanish in the Americas).
    Point,
    /// Decimal comma, space grouping (French).
    Comma,
}

impl DecimalStyle {
    pub fn for_language(language: Language) -> Self {
        match language {
            Language::Fr => DecimalStyle::Comma,
            Language::En | Language::Es => DecimalStyle::Point,
        }
    }

    fn decimal_separator(self) -> char {
        match self {
            DecimalStyle::Point => '.',
            DecimalStyle::Comma => ',',
        }
    }

    fn is_group_separator(self, c: char) -> bool {
        match self {
            DecimalStyle::Point => c == ',',
            DecimalStyle::Comma => matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '.'),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MoneyError {
    #[error("cannot combine {0} with {1}")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount out of range")]
    Overflow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

/// The largest amount we accept from outside: ten billion in major units.
/// Far above any municipal bill, far below `i64` overflow when summed.
const MAX_MINOR: i64 = 1_000_000_000_000;

impl Money {
    pub fn from_minor(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Self { minor: 0, currency }
    }

    pub fn minor(self) -> i64 {
        self.minor
    }

    pub fn currency(self) -> Currency {
        self.currency
    }

    pub fn is_negative(self) -> bool {
        self.minor < 0
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.minor
            .checked_add(other.minor)
            .map(|minor| Money::from_minor(minor, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.minor
            .checked_sub(other.minor)
            .map(|minor| Money::from_minor(minor, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }

    /// Parses an amount as a person or a spreadsheet writes it: `12.30`,
    /// `$12.30`, `1,234.50`, `12.30 USD`, or, in [`DecimalStyle::Comma`],
    /// `12,30` and `1 234,50 $`. A currency code, if present, must be
    /// `currency`. More decimals than the currency has are refused, not
    /// rounded.
    pub fn parse(
        input: &str,
        currency: Currency,
        style: DecimalStyle,
    ) -> Result<Money, ParseError> {
        let mut s = input.trim();
        if s.is_empty() {
            return Err(ParseError::Missing);
        }
        let mut negative = false;
        if let Some(rest) = s.strip_prefix('-') {
            negative = true;
            s = rest.trim_start();
        }
        for code in Currency::ALL.map(Currency::code) {
            let stripped = s
                .strip_suffix(code)
                .or_else(|| s.strip_prefix(code))
                .or_else(|| s.strip_suffix(code.to_ascii_lowercase().as_str()));
            if let Some(rest) = stripped {
                if code != currency.code() {
                    return Err(ParseError::CurrencyMismatch {
                        expected: currency.code().to_owned(),
                        found: code.to_owned(),
                    });
                }
                s = rest.trim();
                break;
            }
        }
        // French Canadian usage writes US dollars as "12,30 $ US".
        if let Some(rest) = s.strip_suffix("US")
            && rest.trim_end().ends_with('$')
        {
            if currency != Currency::Usd {
                return Err(ParseError::CurrencyMismatch {
                    expected: currency.code().to_owned(),
                    found: Currency::Usd.code().to_owned(),
                });
            }
            s = rest.trim_end();
        }
        s = s
            .strip_prefix('$')
            .or_else(|| s.strip_suffix('$'))
            .unwrap_or(s)
            .trim_matches(|c: char| c.is_whitespace());
        if !negative && let Some(rest) = s.strip_prefix('-') {
            negative = true;
            s = rest.trim_start();
        }
        let (whole, fraction) = match s.rsplit_once(style.decimal_separator()) {
            Some((w, f)) => (w, Some(f)),
            None => (s, None),
        };
        let whole_digits = parse_grouped(whole, style)?;
        let digits = currency.minor_digits() as usize;
        let fraction_value = match fraction {
            None => 0,
            Some(f) => {
                if f.is_empty() || f.len() > digits || !f.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ParseError::invalid(format!(
                        "must have at most {digits} digits after the decimal separator '{}'",
                        style.decimal_separator()
                    )));
                }
                let padded = format!("{f:0<digits$}");
                padded
                    .parse::<i64>()
                    .map_err(|_| ParseError::invalid("is not a number"))?
            }
        };
        let scale = 10_i64.pow(currency.minor_digits());
        let minor = whole_digits
            .checked_mul(scale)
            .and_then(|m| m.checked_add(fraction_value))
            .filter(|m| *m <= MAX_MINOR)
            .ok_or(ParseError::Overflow)?;
        Ok(Money::from_minor(
            if negative { -minor } else { minor },
            currency,
        ))
    }

    /// Formats for people reading `language`: `$1,234.50` or `1 234,50 $`.
    pub fn format(self, language: Language) -> String {
        let style = DecimalStyle::for_language(language);
        let scale = 10_u64.pow(self.currency.minor_digits());
        let abs = self.minor.unsigned_abs();
        let whole = group_thousands(abs / scale, style);
        let fraction = abs % scale;
        let digits = self.currency.minor_digits() as usize;
        let sign = if self.minor < 0 { "-" } else { "" };
        match style {
            DecimalStyle::Point => format!("{sign}${whole}.{fraction:0digits$}"),
            DecimalStyle::Comma => {
                let symbol = match self.currency {
                    Currency::Cad => "$",
                    Currency::Usd => "$\u{a0}US",
                };
                format!("{sign}{whole},{fraction:0digits$}\u{a0}{symbol}")
            }
        }
    }

    /// The plain decimal form used in files and APIs: `1234.50`.
    pub fn to_decimal_string(self) -> String {
        self.to_plain(DecimalStyle::Point)
    }

    /// The form a person edits in an input, without symbol or grouping,
    /// that [`Money::parse`] reads back in the same style: `1234.50` or
    /// `1234,50`.
    pub fn to_plain(self, style: DecimalStyle) -> String {
        let scale = 10_u64.pow(self.currency.minor_digits());
        let abs = self.minor.unsigned_abs();
        let digits = self.currency.minor_digits() as usize;
        let sign = if self.minor < 0 { "-" } else { "" };
        let separator = style.decimal_separator();
        format!("{sign}{}{separator}{:0digits$}", abs / scale, abs % scale)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal_string(), self.currency)
    }
}

fn parse_grouped(whole: &str, style: DecimalStyle) -> Result<i64, ParseError> {
    if whole.is_empty() {
        return Err(ParseError::invalid("is not an amount"));
    }
    let groups: Vec<&str> = whole.split(|c| style.is_group_separator(c)).collect();
    let grouped = groups.len() > 1;
    let mut value: i64 = 0;
    for (i, group) in groups.iter().enumerate() {
        let well_formed = !group.is_empty()
            && group.bytes().all(|b| b.is_ascii_digit())
            && (!grouped
                || if i == 0 {
                    group.len() <= 3
                } else {
                    group.len() == 3
                });
        if !well_formed {
            return Err(ParseError::invalid(match style {
                DecimalStyle::Point => "is not an amount (write it like 1234.50)",
                DecimalStyle::Comma => "is not an amount (write it like 1234,50)",
            }));
        }
        for b in group.bytes() {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(i64::from(b - b'0')))
                .ok_or(ParseError::Overflow)?;
        }
    }
    Ok(value)
}

fn group_thousands(mut n: u64, style: DecimalStyle) -> String {
    let separator = match style {
        DecimalStyle::Point => ',',
        DecimalStyle::Comma => '\u{202f}',
    };
    let mut groups = Vec::new();
    loop {
        groups.push(n % 1000);
        n /= 1000;
        if n == 0 {
            break;
        }
    }
    let mut out = String::new();
    for (i, g) in groups.iter().rev().enumerate() {
        if i == 0 {
            out.push_str(&g.to_string());
        } else {
            out.push(separator);
            out.push_str(&format!("{g:03}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn usd(s: &str) -> Result<i64, ParseError> {
        Money::parse(s, Currency::Usd, DecimalStyle::Point).map(Money::minor)
    }

    fn cad_fr(s: &str) -> Result<i64, ParseError> {
        Money::parse(s, Currency::Cad, DecimalStyle::Comma).map(Money::minor)
    }

    #[test]
    fn parses_the_ways_people_write_amounts() {
        assert_eq!(usd("12.30"), Ok(1230));
        assert_eq!(usd("$12.30"), Ok(1230));
        assert_eq!(usd(" 12.3 "), Ok(1230));
        assert_eq!(usd("12"), Ok(1200));
        assert_eq!(usd("1,234.56"), Ok(123_456));
        assert_eq!(usd("12.30 USD"), Ok(1230));
        assert_eq!(usd("-5.00"), Ok(-500));
        assert_eq!(cad_fr("12,30"), Ok(1230));
        assert_eq!(cad_fr("1 234,56 $"), Ok(123_456));
        assert_eq!(cad_fr("1\u{202f}234,56\u{a0}$"), Ok(123_456));
    }

    #[test]
    fn refuses_ambiguous_or_wrong_amounts() {
        assert!(
            usd("12,30").is_err(),
            "a comma is not a decimal point in English"
        );
        assert!(usd("12.345").is_err(), "no silent rounding");
        assert!(usd("1,23,456.00").is_err());
        assert!(usd("12.").is_err());
        assert!(usd("abc").is_err());
        assert!(usd("1e5").is_err());
        assert_eq!(usd(""), Err(ParseError::Missing));
        assert!(matches!(
            usd("12.30 CAD"),
            Err(ParseError::CurrencyMismatch { .. })
        ));
        assert_eq!(usd("99999999999999999999"), Err(ParseError::Overflow));
        assert_eq!(usd("10000000001"), Err(ParseError::Overflow));
    }

    #[test]
    fn formats_for_each_language() {
        let m = Money::from_minor(123_456, Currency::Cad);
        assert_eq!(m.format(Language::En), "$1,234.56");
        assert_eq!(m.format(Language::Fr), "1\u{202f}234,56\u{a0}$");
        assert_eq!(
            Money::from_minor(5, Currency::Usd).format(Language::Es),
            "$0.05"
        );
        assert_eq!(
            Money::from_minor(-1_000_000, Currency::Usd).to_decimal_string(),
            "-10000.00"
        );
    }

    #[test]
    fn arithmetic_refuses_to_mix_currencies() {
        let a = Money::from_minor(100, Currency::Usd);
        let b = Money::from_minor(100, Currency::Cad);
        assert_eq!(
            a.checked_add(b),
            Err(MoneyError::CurrencyMismatch(Currency::Usd, Currency::Cad))
        );
        assert_eq!(a.checked_sub(a), Ok(Money::zero(Currency::Usd)));
        assert_eq!(
            Money::from_minor(i64::MAX, Currency::Usd).checked_add(a),
            Err(MoneyError::Overflow)
        );
    }

    fn language() -> impl Strategy<Value = Language> {
        prop_oneof![Just(Language::En), Just(Language::Fr), Just(Language::Es)]
    }

    fn currency() -> impl Strategy<Value = Currency> {
        prop_oneof![Just(Currency::Usd), Just(Currency::Cad)]
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(minor in -MAX_MINOR..=MAX_MINOR, lang in language(), cur in currency()) {
            let m = Money::from_minor(minor, cur);
            let parsed = Money::parse(&m.format(lang), cur, DecimalStyle::for_language(lang));
            prop_assert_eq!(parsed, Ok(m));
            let plain = Money::parse(&m.to_decimal_string(), cur, DecimalStyle::Point);
            prop_assert_eq!(plain, Ok(m));
            let style = DecimalStyle::for_language(lang);
            prop_assert_eq!(Money::parse(&m.to_plain(style), cur, style), Ok(m));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = Money::parse(&s, Currency::Usd, DecimalStyle::Point);
            let _ = Money::parse(&s, Currency::Cad, DecimalStyle::Comma);
        }

        #[test]
        fn addition_then_subtraction_restores(a in -MAX_MINOR..MAX_MINOR, b in -MAX_MINOR..MAX_MINOR) {
            let x = Money::from_minor(a, Currency::Usd);
            let y = Money::from_minor(b, Currency::Usd);
            let sum = x.checked_add(y).unwrap();
            prop_assert_eq!(sum, y.checked_add(x).unwrap());
            prop_assert_eq!(sum.checked_sub(y).unwrap(), x);
        }
    }
}
