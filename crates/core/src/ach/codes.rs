//! Standard entry classes, return reason codes and change codes, and what
//! civicpay does about each.

use crate::ParseError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How the payer authorised the debit, which sets the rules it runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SecCode {
    /// Authorised on the web: the resident's own payment or autopay.
    #[serde(rename = "WEB")]
    Web,
    /// Authorised by telephone to a clerk, who read the script.
    #[serde(rename = "TEL")]
    Tel,
    /// Prearranged payment or deposit: how a refund is credited back.
    #[serde(rename = "PPD")]
    Ppd,
    /// A notification of change (only in files the bank sends back).
    #[serde(rename = "COR")]
    Cor,
}

impl SecCode {
    pub const ALL: [SecCode; 4] = [SecCode::Web, SecCode::Tel, SecCode::Ppd, SecCode::Cor];

    pub fn code(self) -> &'static str {
        match self {
            SecCode::Web => "WEB",
            SecCode::Tel => "TEL",
            SecCode::Ppd => "PPD",
            SecCode::Cor => "COR",
        }
    }

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        SecCode::ALL
            .into_iter()
            .find(|c| c.code() == input)
            .ok_or_else(|| ParseError::invalid("standard entry class must be WEB, TEL, PPD or COR"))
    }
}

impl fmt::Display for SecCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A return reason code, `R01` to `R99`. Codes civicpay has no special rule
/// for are kept and reported as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReturnCode(u8);

/// Which of Nacha's return-rate thresholds a return counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnClass {
    /// R05, R07, R10, R11, R29, R51: the payer says it was not authorised.
    Unauthorised,
    /// R02, R03, R04: the account is closed, missing or malformed.
    Administrative,
    Other,
}

impl ReturnClass {
    /// Nacha's return-rate levels, in basis points of debits: above these an
    /// originator is reviewed (0.5 %, 3 %, 15 %).
    pub fn threshold_basis_points(self) -> u32 {
        match self {
            ReturnClass::Unauthorised => 50,
            ReturnClass::Administrative => 300,
            ReturnClass::Other => 1500,
        }
    }
}

/// What a return does beyond reversing the payment, which every return
/// does (the bill re-opens and the ledger takes the reversal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReturnEffect {
    /// The same entry may be presented once more (R01, R09).
    pub may_present_again: bool,
    /// The stored account can never be debited again.
    pub disable_account: bool,
    /// Autopay on the account stops until the payer authorises again.
    pub needs_new_authorisation: bool,
}

impl ReturnCode {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let number = input
            .strip_prefix('R')
            .filter(|n| n.len() == 2 && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u8>().ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| ParseError::invalid("a return reason is R and two digits, like R01"))?;
        Ok(ReturnCode(number))
    }

    pub fn class(self) -> ReturnClass {
        match self.0 {
            5 | 7 | 10 | 11 | 29 | 51 => ReturnClass::Unauthorised,
            2..=4 => ReturnClass::Administrative,
            _ => ReturnClass::Other,
        }
    }

    pub fn effect(self) -> ReturnEffect {
        let class = self.class();
        ReturnEffect {
            may_present_again: matches!(self.0, 1 | 9),
            // Closed, missing, malformed, deceased holder, frozen, or not a
            // transaction account: no later debit could succeed.
            disable_account: matches!(self.0, 2..=4 | 14..=16 | 20),
            needs_new_authorisation: class == ReturnClass::Unauthorised || self.0 == 8,
        }
    }

    /// English description, for files and logs; the pages translate by code.
    pub fn description(self) -> &'static str {
        match self.0 {
            1 => "insufficient funds",
            2 => "account closed",
            3 => "no account, or unable to locate the account",
            4 => "invalid account number",
            5 => "unauthorised debit to a consumer account",
            6 => "returned at the originating bank's request",
            7 => "authorisation revoked by the customer",
            8 => "payment stopped",
            9 => "uncollected funds",
            10 => "customer says the debit was not authorised",
            11 => "debit not in accordance with the authorisation",
            14 => "representative payee deceased",
            15 => "account holder deceased",
            16 => "account frozen",
            20 => "not a transaction account",
            29 => "corporate customer says the debit was not authorised",
            51 => "item related to a check conversion not eligible or improper",
            _ => "returned by the bank",
        }
    }
}

impl fmt::Display for ReturnCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "R{:02}", self.0)
    }
}

impl TryFrom<String> for ReturnCode {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<ReturnCode> for String {
    fn from(c: ReturnCode) -> String {
        c.to_string()
    }
}

/// A notification-of-change code: the bank posted the entry but says which
/// details to correct before the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChangeCode {
    /// C01: account number.
    AccountNumber,
    /// C02: routing number.
    RoutingNumber,
    /// C03: routing and account numbers.
    RoutingAndAccount,
    /// C04: the account holder's name.
    Name,
    /// C05: checking or savings.
    AccountKind,
    /// C06: account number and checking or savings.
    AccountAndKind,
    /// C07: routing number, account number, and checking or savings.
    RoutingAccountAndKind,
    /// C09: the individual identification number.
    IndividualId,
}

impl ChangeCode {
    pub const ALL: [ChangeCode; 8] = [
        ChangeCode::AccountNumber,
        ChangeCode::RoutingNumber,
        ChangeCode::RoutingAndAccount,
        ChangeCode::Name,
        ChangeCode::AccountKind,
        ChangeCode::AccountAndKind,
        ChangeCode::RoutingAccountAndKind,
        ChangeCode::IndividualId,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ChangeCode::AccountNumber => "C01",
            ChangeCode::RoutingNumber => "C02",
            ChangeCode::RoutingAndAccount => "C03",
            ChangeCode::Name => "C04",
            ChangeCode::AccountKind => "C05",
            ChangeCode::AccountAndKind => "C06",
            ChangeCode::RoutingAccountAndKind => "C07",
            ChangeCode::IndividualId => "C09",
        }
    }

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        ChangeCode::ALL
            .into_iter()
            .find(|c| c.code() == input)
            .ok_or_else(|| {
                ParseError::invalid(
                    "a change code civicpay applies is C01 to C07 or C09 \
                     (C08 is for international entries, C10 and above for the city's own details)",
                )
            })
    }
}

impl fmt::Display for ChangeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn code(s: &str) -> ReturnCode {
        ReturnCode::parse(s).unwrap()
    }

    #[test]
    fn funds_returns_may_be_presented_once_more_and_nothing_else_changes() {
        for c in ["R01", "R09"] {
            let effect = code(c).effect();
            assert!(effect.may_present_again, "{c}");
            assert!(
                !effect.disable_account && !effect.needs_new_authorisation,
                "{c}"
            );
            assert_eq!(code(c).class(), ReturnClass::Other);
        }
    }

    #[test]
    fn account_returns_disable_the_account_and_count_as_administrative() {
        for c in ["R02", "R03", "R04"] {
            let effect = code(c).effect();
            assert!(effect.disable_account && !effect.may_present_again, "{c}");
            assert_eq!(code(c).class(), ReturnClass::Administrative);
        }
    }

    #[test]
    fn unauthorised_returns_stop_autopay_until_authorised_again() {
        for c in ["R05", "R07", "R10", "R11", "R29"] {
            let effect = code(c).effect();
            assert!(
                effect.needs_new_authorisation && !effect.may_present_again,
                "{c}"
            );
            assert!(!effect.disable_account, "{c}");
            assert_eq!(code(c).class(), ReturnClass::Unauthorised);
        }
        assert!(
            ReturnClass::Unauthorised.threshold_basis_points()
                < ReturnClass::Administrative.threshold_basis_points()
        );
    }

    #[test]
    fn codes_read_back_as_written_and_bad_ones_say_the_shape() {
        for n in 1..=99u8 {
            let text = format!("R{n:02}");
            assert_eq!(code(&text).to_string(), text);
        }
        for bad in ["R00", "R1", "R100", "r01", "C01", ""] {
            assert!(
                ReturnCode::parse(bad)
                    .unwrap_err()
                    .to_string()
                    .contains("R01")
            );
        }
        for c in ChangeCode::ALL {
            assert_eq!(ChangeCode::parse(c.code()).unwrap(), c);
        }
        assert!(ChangeCode::parse("C08").is_err());
        for s in SecCode::ALL {
            assert_eq!(SecCode::parse(s.code()).unwrap(), s);
        }
    }
}
