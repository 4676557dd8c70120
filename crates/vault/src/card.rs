//! Card number, security code and expiry.

use crate::CardError;
use serde::{Serialize, Serializer};
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CardBrand {
    Visa,
    Mastercard,
    Amex,
    Discover,
}

impl CardBrand {
    pub fn code(self) -> &'static str {
        match self {
            CardBrand::Visa => "visa",
            CardBrand::Mastercard => "mastercard",
            CardBrand::Amex => "amex",
            CardBrand::Discover => "discover",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            CardBrand::Visa => "Visa",
            CardBrand::Mastercard => "Mastercard",
            CardBrand::Amex => "American Express",
            CardBrand::Discover => "Discover",
        }
    }

    /// From the leading digits (the issuer identification number ranges).
    fn detect(digits: &str) -> Option<CardBrand> {
        let prefix = |n: usize| digits.get(..n).and_then(|p| p.parse::<u32>().ok());
        if digits.starts_with('4') {
            Some(CardBrand::Visa)
        } else if prefix(2).is_some_and(|p| (51..=55).contains(&p))
            || prefix(4).is_some_and(|p| (2221..=2720).contains(&p))
        {
            Some(CardBrand::Mastercard)
        } else if prefix(2).is_some_and(|p| p == 34 || p == 37) {
            Some(CardBrand::Amex)
        } else if prefix(4) == Some(6011)
            || prefix(2) == Some(65)
            || prefix(3).is_some_and(|p| (644..=649).contains(&p))
            || prefix(6).is_some_and(|p| (622_126..=622_925).contains(&p))
        {
            Some(CardBrand::Discover)
        } else {
            None
        }
    }

    fn valid_lengths(self) -> &'static [usize] {
        match self {
            CardBrand::Visa => &[13, 16, 19],
            CardBrand::Mastercard => &[16],
            CardBrand::Amex => &[15],
            CardBrand::Discover => &[16, 17, 18, 19],
        }
    }

    /// Digits in this brand's security code.
    pub fn security_code_length(self) -> usize {
        match self {
            CardBrand::Amex => 4,
            _ => 3,
        }
    }
}

/// Digits of `input` with spaces and hyphens removed, or an error. The
/// intermediate buffer is zeroed however this returns.
fn digits_only(
    input: &str,
    max: usize,
    not_digits: CardError,
) -> Result<Zeroizing<String>, CardError> {
    let mut digits = Zeroizing::new(String::with_capacity(max));
    for c in input.chars() {
        match c {
            '0'..='9' => {
                if digits.len() >= max {
                    return Err(CardError::NumberLength);
                }
                digits.push(c);
            }
            ' ' | '-' | '\u{a0}' => {}
            _ => return Err(not_digits),
        }
    }
    Ok(digits)
}

fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

/// A primary account number that passed the checks.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct CardNumber {
    digits: String,
    #[zeroize(skip)]
    brand: CardBrand,
}

impl CardNumber {
    pub fn parse(input: &str) -> Result<CardNumber, CardError> {
        if input.trim().is_empty() {
            return Err(CardError::NumberMissing);
        }
        let digits = digits_only(input, 19, CardError::NumberNotDigits)?;
        if digits.len() < 12 {
            return Err(CardError::NumberLength);
        }
        let brand = CardBrand::detect(&digits).ok_or(CardError::BrandUnsupported)?;
        if !brand.valid_lengths().contains(&digits.len()) {
            return Err(CardError::NumberLength);
        }
        if !luhn_valid(&digits) {
            return Err(CardError::NumberChecksum);
        }
        Ok(CardNumber {
            digits: digits.as_str().to_owned(),
            brand,
        })
    }

    pub fn brand(&self) -> CardBrand {
        self.brand
    }

    /// The last four digits, which may be shown and stored.
    pub fn last4(&self) -> &str {
        self.digits
            .get(self.digits.len().saturating_sub(4)..)
            .unwrap_or_default()
    }

    /// The digits, for a gateway connector to send to the acquirer. Nothing
    /// else should call this.
    pub fn expose_digits(&self) -> &str {
        &self.digits
    }

    pub fn masked(&self) -> String {
        format!("•••• {}", self.last4())
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber({} {})", self.brand.code(), self.masked())
    }
}

impl fmt::Display for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl Serialize for CardNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.masked())
    }
}

/// The security code (CVC/CVV/CID). Never written anywhere, at any time.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct SecurityCode(String);

impl SecurityCode {
    pub fn parse(input: &str, brand: CardBrand) -> Result<SecurityCode, CardError> {
        let expected = brand.security_code_length();
        if input.trim().is_empty() {
            return Err(CardError::SecurityCodeMissing);
        }
        let format_error = CardError::SecurityCodeFormat { expected };
        let digits = digits_only(input, expected, format_error).map_err(|_| format_error)?;
        if digits.len() != expected {
            return Err(format_error);
        }
        Ok(SecurityCode(digits.as_str().to_owned()))
    }

    /// The digits, for a gateway connector. Nothing else should call this.
    pub fn expose_digits(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecurityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecurityCode(•••)")
    }
}

impl fmt::Display for SecurityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("•••")
    }
}

impl Serialize for SecurityCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("•••")
    }
}

/// A card's expiry month, valid through its last day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Expiry {
    year: i16,
    month: i8,
}

impl Expiry {
    /// Accepts `MM/YY`, `MM/YYYY`, `MM / YY`, `MMYY`; refuses a month that has
    /// already ended on `today`.
    pub fn parse(input: &str, today: jiff::civil::Date) -> Result<Expiry, CardError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(CardError::ExpiryMissing);
        }
        let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let (month, year) = match compact.split_once(['/', '-', '.']) {
            Some(parts) => parts,
            None if compact.len() == 4 || compact.len() == 6 => {
                compact.split_at_checked(2).ok_or(CardError::ExpiryFormat)?
            }
            None => return Err(CardError::ExpiryFormat),
        };
        let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(month) || !all_digits(year) || month.len() > 2 {
            return Err(CardError::ExpiryFormat);
        }
        let month: i8 = month.parse().map_err(|_| CardError::ExpiryFormat)?;
        let year: i16 = match year.len() {
            2 => 2000 + year.parse::<i16>().map_err(|_| CardError::ExpiryFormat)?,
            4 => year.parse().map_err(|_| CardError::ExpiryFormat)?,
            _ => return Err(CardError::ExpiryFormat),
        };
        if !(1..=12).contains(&month) {
            return Err(CardError::ExpiryFormat);
        }
        let expiry = Expiry { year, month };
        if (expiry.year, expiry.month) < (today.year(), today.month()) {
            return Err(CardError::Expired);
        }
        if expiry.year > today.year() + 25 {
            return Err(CardError::ExpiryFormat);
        }
        Ok(expiry)
    }

    pub fn month(self) -> i8 {
        self.month
    }

    pub fn year(self) -> i16 {
        self.year
    }
}

impl fmt::Display for Expiry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}/{:02}", self.month, self.year % 100)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_well_known_test_numbers_parse_with_their_brands() {
        let cases = [
            ("4242 4242 4242 4242", CardBrand::Visa),
            ("4000-0000-0000-0002", CardBrand::Visa),
            ("5555555555554444", CardBrand::Mastercard),
            ("2223003122003222", CardBrand::Mastercard),
            ("378282246310005", CardBrand::Amex),
            ("6011111111111117", CardBrand::Discover),
        ];
        for (input, brand) in cases {
            let card = CardNumber::parse(input).unwrap();
            assert_eq!(card.brand(), brand, "{input}");
        }
        assert_eq!(
            CardNumber::parse("4242424242424242").unwrap().last4(),
            "4242"
        );
    }

    #[test]
    fn bad_numbers_are_refused_for_the_right_reason() {
        assert_eq!(CardNumber::parse(""), Err(CardError::NumberMissing));
        assert_eq!(
            CardNumber::parse("4242 4242 4242 4241"),
            Err(CardError::NumberChecksum)
        );
        assert_eq!(
            CardNumber::parse("4242 4242 42x2 4242"),
            Err(CardError::NumberNotDigits)
        );
        assert_eq!(CardNumber::parse("4242 4242"), Err(CardError::NumberLength));
        assert_eq!(
            CardNumber::parse("42424242424242424242"),
            Err(CardError::NumberLength)
        );
        assert_eq!(
            CardNumber::parse("9999999999999995"),
            Err(CardError::BrandUnsupported)
        );
        assert_eq!(
            CardNumber::parse("37828224631000"),
            Err(CardError::NumberLength)
        );
    }

    #[test]
    fn card_data_never_prints() {
        let card = CardNumber::parse("4242424242424242").unwrap();
        let code = SecurityCode::parse("987", card.brand()).unwrap();
        for shown in [
            format!("{card}"),
            format!("{card:?}"),
            format!("{code}"),
            format!("{code:?}"),
            serde_json::to_string(&card).unwrap(),
            serde_json::to_string(&code).unwrap(),
        ] {
            assert!(!shown.contains("424242424242"), "{shown}");
            assert!(!shown.contains("987"), "{shown}");
        }
        assert_eq!(card.to_string(), "•••• 4242");
        assert_eq!(card.expose_digits(), "4242424242424242");
    }

    #[test]
    fn error_messages_never_repeat_the_input() {
        for input in ["4242 4242 4242 4241", "4242x", "4242"] {
            let message = CardNumber::parse(input).unwrap_err().to_string();
            assert!(!message.contains("4242"), "{message}");
        }
    }

    #[test]
    fn security_codes_have_the_brands_length() {
        assert!(SecurityCode::parse("123", CardBrand::Visa).is_ok());
        assert!(SecurityCode::parse("1234", CardBrand::Amex).is_ok());
        assert_eq!(
            SecurityCode::parse("1234", CardBrand::Visa),
            Err(CardError::SecurityCodeFormat { expected: 3 })
        );
        assert_eq!(
            SecurityCode::parse("12a", CardBrand::Visa),
            Err(CardError::SecurityCodeFormat { expected: 3 })
        );
        assert_eq!(
            SecurityCode::parse(" ", CardBrand::Visa),
            Err(CardError::SecurityCodeMissing)
        );
    }

    #[test]
    fn expiry_accepts_common_forms_and_refuses_the_past() {
        let today = jiff::civil::date(2026, 11, 23);
        for input in ["11/26", "11 / 2026", "1126", "112026", "4/31", "04-2027"] {
            assert!(Expiry::parse(input, today).is_ok(), "{input}");
        }
        assert_eq!(Expiry::parse("10/26", today), Err(CardError::Expired));
        assert_eq!(Expiry::parse("13/27", today), Err(CardError::ExpiryFormat));
        assert_eq!(Expiry::parse("ab/cd", today), Err(CardError::ExpiryFormat));
        assert_eq!(Expiry::parse("01/99", today), Err(CardError::ExpiryFormat));
        assert_eq!(Expiry::parse("", today), Err(CardError::ExpiryMissing));
        assert_eq!(Expiry::parse("4/31", today).unwrap().to_string(), "04/31");
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in "\\PC{0,40}") {
            let _ = CardNumber::parse(&s);
            let _ = SecurityCode::parse(&s, CardBrand::Amex);
            let _ = Expiry::parse(&s, jiff::civil::date(2026, 1, 1));
        }

        #[test]
        fn one_wrong_digit_fails_the_checksum(position in 0usize..16, delta in 1u8..10) {
            let mut digits = b"4242424242424242".to_vec();
            if let Some(d) = digits.get_mut(position) {
                *d = b'0' + (*d - b'0' + delta) % 10;
            }
            let s = String::from_utf8(digits).unwrap();
            prop_assert!(CardNumber::parse(&s).is_err());
        }
    }
}
