//! Bank account numbers: card-grade secrets (a stolen routing and account
//! pair debits the account), so they get the card number's treatment.

use crate::CardError;
use serde::{Serialize, Serializer};
use std::fmt;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// A US bank account number: 4 to 17 digits (the width of the NACHA field).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct BankAccountNumber(String);

impl BankAccountNumber {
    pub const MAX_DIGITS: usize = 17;

    pub fn parse(input: &str) -> Result<Self, CardError> {
        if input.trim().is_empty() {
            return Err(CardError::AccountMissing);
        }
        let mut digits = Zeroizing::new(String::with_capacity(Self::MAX_DIGITS));
        for c in input.chars() {
            match c {
                '0'..='9' if digits.len() < Self::MAX_DIGITS => digits.push(c),
                '0'..='9' => return Err(CardError::AccountLength),
                ' ' | '-' | '\u{a0}' => {}
                _ => return Err(CardError::AccountNotDigits),
            }
        }
        if digits.len() < 4 {
            return Err(CardError::AccountLength);
        }
        Ok(BankAccountNumber(digits.as_str().to_owned()))
    }

    /// The number typed twice: both must parse and match.
    pub fn parse_confirmed(first: &str, again: &str) -> Result<Self, CardError> {
        let number = Self::parse(first)?;
        let repeat = Self::parse(again).map_err(|_| CardError::AccountMismatch)?;
        if number != repeat {
            return Err(CardError::AccountMismatch);
        }
        Ok(number)
    }

    /// The last four digits, which may be shown and stored.
    pub fn last4(&self) -> &str {
        self.0
            .get(self.0.len().saturating_sub(4)..)
            .unwrap_or_default()
    }

    pub fn masked(&self) -> String {
        format!("•••• {}", self.last4())
    }

    /// The digits, for the NACHA file that carries them to the bank and the
    /// vault that seals them. Nothing else should call this.
    pub fn expose_digits(&self) -> &str {
        &self.0
    }
}

impl PartialEq for BankAccountNumber {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for BankAccountNumber {}

impl fmt::Debug for BankAccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BankAccountNumber({})", self.masked())
    }
}

impl fmt::Display for BankAccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl Serialize for BankAccountNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.masked())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_account_number_never_prints_its_digits() {
        let number = BankAccountNumber::parse("000123456789").unwrap();
        for shown in [
            format!("{number}"),
            format!("{number:?}"),
            serde_json::to_string(&number).unwrap(),
        ] {
            assert!(!shown.contains("123456789"), "{shown}");
            assert!(shown.contains("6789"), "{shown}");
        }
        assert_eq!(number.expose_digits(), "000123456789");
    }

    #[test]
    fn bad_account_numbers_say_what_is_wrong_without_repeating_them() {
        assert_eq!(
            BankAccountNumber::parse(" "),
            Err(CardError::AccountMissing)
        );
        assert_eq!(
            BankAccountNumber::parse("123"),
            Err(CardError::AccountLength)
        );
        assert_eq!(
            BankAccountNumber::parse("123456789012345678"),
            Err(CardError::AccountLength)
        );
        assert_eq!(
            BankAccountNumber::parse("12a45"),
            Err(CardError::AccountNotDigits)
        );
        assert_eq!(
            BankAccountNumber::parse_confirmed("12345678", "12345679"),
            Err(CardError::AccountMismatch)
        );
        assert_eq!(
            BankAccountNumber::parse_confirmed("1234 5678", "12345678")
                .unwrap()
                .expose_digits(),
            "12345678"
        );
        for error in [CardError::AccountLength, CardError::AccountMismatch] {
            assert!(!error.to_string().contains("1234"));
        }
    }

    proptest! {
        #[test]
        fn every_4_to_17_digit_number_is_taken_as_typed(digits in "[0-9]{4,17}") {
            let number = BankAccountNumber::parse(&digits).unwrap();
            prop_assert_eq!(number.expose_digits(), digits.as_str());
            prop_assert_eq!(number.last4(), &digits[digits.len() - 4..]);
        }
    }
}
