use crate::ParseError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An ABA routing transit number: nine digits whose last is a check digit
/// (weights 3, 7, 1 repeating, sum a multiple of ten), and whose first two
/// name a Federal Reserve district, a thrift, or the US government.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoutingNumber([u8; 9]);

impl RoutingNumber {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(ParseError::Missing);
        }
        let digits: Vec<u8> = trimmed
            .bytes()
            .filter(|b| !matches!(b, b' ' | b'-'))
            .collect();
        let nine: [u8; 9] = digits
            .as_slice()
            .try_into()
            .ok()
            .filter(|d: &[u8; 9]| d.iter().all(u8::is_ascii_digit))
            .ok_or_else(|| ParseError::invalid("a routing number is 9 digits"))?;
        let prefix = (nine[0] - b'0') * 10 + (nine[1] - b'0');
        if !matches!(prefix, 0..=12 | 21..=32 | 61..=72 | 80) {
            return Err(ParseError::invalid(
                "this is not a US routing number: check the first two digits",
            ));
        }
        if !check_digit_matches(&nine) {
            return Err(ParseError::invalid(
                "this routing number's check digit does not match: \
                 check the 9 digits at the bottom left of a cheque",
            ));
        }
        Ok(RoutingNumber(nine))
    }

    /// The first eight digits: the "DFI identification" NACHA records carry
    /// beside a separate check digit, and what entry hashes add up.
    pub fn dfi_identification(&self) -> &str {
        self.as_str().get(..8).unwrap_or_default()
    }

    pub fn check_digit(&self) -> char {
        char::from(self.0[8])
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The ABA check: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10).
fn check_digit_matches(digits: &[u8; 9]) -> bool {
    let weights = [3u32, 7, 1];
    let sum: u32 = digits
        .iter()
        .zip(weights.iter().cycle())
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    sum.is_multiple_of(10)
}

impl TryFrom<String> for RoutingNumber {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<RoutingNumber> for String {
    fn from(r: RoutingNumber) -> String {
        r.as_str().to_owned()
    }
}

impl fmt::Display for RoutingNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    Checking,
    Savings,
}

impl AccountKind {
    pub fn code(self) -> &'static str {
        match self {
            AccountKind::Checking => "checking",
            AccountKind::Savings => "savings",
        }
    }

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        match input.trim() {
            "checking" => Ok(AccountKind::Checking),
            "savings" => Ok(AccountKind::Savings),
            "" => Err(ParseError::Missing),
            _ => Err(ParseError::invalid("choose checking or savings")),
        }
    }
}

/// An entry's trace number: the originating bank's eight-digit DFI
/// identification, then a seven-digit sequence. Returns and notices of
/// change name the entry they answer by it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TraceNumber(String);

impl TraceNumber {
    pub const SEQUENCE_MAX: u32 = 9_999_999;

    pub fn new(odfi: &RoutingNumber, sequence: u32) -> Result<Self, ParseError> {
        if sequence == 0 || sequence > Self::SEQUENCE_MAX {
            return Err(ParseError::invalid(
                "a trace sequence is 1 to 9,999,999; the day's entries ran out",
            ));
        }
        Ok(TraceNumber(format!(
            "{}{sequence:07}",
            odfi.dfi_identification()
        )))
    }

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        if input.len() != 15 || !input.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::invalid("a trace number is 15 digits"));
        }
        Ok(TraceNumber(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

crate::string_conversions!(TraceNumber);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Real banks' published routing numbers.
    const KNOWN_VALID: [&str; 6] = [
        "021000021", // JPMorgan Chase, New York
        "011000015", // Federal Reserve Bank of Boston
        "026009593", // Bank of America, New York
        "121000358", // Bank of America, California
        "091000019", // Wells Fargo, Minnesota
        "322271627", // Chase, California
    ];

    #[test]
    fn published_routing_numbers_are_accepted() {
        for number in KNOWN_VALID {
            let parsed = RoutingNumber::parse(number).unwrap();
            assert_eq!(parsed.as_str(), number);
            assert_eq!(parsed.dfi_identification(), &number[..8]);
        }
        assert_eq!(
            RoutingNumber::parse(" 0210-0002 1 ").unwrap().as_str(),
            "021000021"
        );
    }

    #[test]
    fn a_wrong_digit_is_refused_with_the_check_digit_message() {
        for wrong in ["021000022", "011000016", "121000359", "021000012"] {
            let err = RoutingNumber::parse(wrong).unwrap_err().to_string();
            assert!(err.contains("check digit"), "{wrong}: {err}");
        }
    }

    #[test]
    fn shape_and_district_errors_say_what_is_wrong() {
        assert_eq!(RoutingNumber::parse("  "), Err(ParseError::Missing));
        for short in ["02100002", "0210000211", "02100002a"] {
            let err = RoutingNumber::parse(short).unwrap_err().to_string();
            assert!(err.contains("9 digits"), "{short}: {err}");
        }
        // 13 is no district; the check digit is right, so only the prefix fails.
        let bad_prefix = with_check_digit("13100001");
        let err = RoutingNumber::parse(&bad_prefix).unwrap_err().to_string();
        assert!(err.contains("first two digits"), "{err}");
    }

    fn with_check_digit(first8: &str) -> String {
        let weights = [3u32, 7, 1, 3, 7, 1, 3, 7];
        let sum: u32 = first8
            .bytes()
            .zip(weights)
            .map(|(d, w)| u32::from(d - b'0') * w)
            .sum();
        format!("{first8}{}", (10 - sum % 10) % 10)
    }

    fn district() -> impl Strategy<Value = u32> {
        prop_oneof![0u32..=12, 21u32..=32, 61u32..=72, Just(80)]
    }

    proptest! {
        #[test]
        fn every_number_with_its_check_digit_is_accepted(d in district(), rest in 0u32..1_000_000) {
            let number = with_check_digit(&format!("{d:02}{rest:06}"));
            let parsed = RoutingNumber::parse(&number).unwrap();
            prop_assert_eq!(parsed.as_str(), number.as_str());
        }

        /// The weights 3, 7, 1 are prime to 10, so changing any one digit
        /// always breaks the check.
        #[test]
        fn any_single_digit_changed_is_refused(
            d in district(), rest in 0u32..1_000_000, at in 2usize..9, by in 1u8..10,
        ) {
            let good = with_check_digit(&format!("{d:02}{rest:06}"));
            let mut bytes = good.into_bytes();
            bytes[at] = b'0' + (bytes[at] - b'0' + by) % 10;
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert!(RoutingNumber::parse(&changed).is_err());
        }

        #[test]
        fn a_trace_number_starts_with_the_originating_bank(seq in 1u32..=9_999_999) {
            let odfi = RoutingNumber::parse("021000021").unwrap();
            let trace = TraceNumber::new(&odfi, seq).unwrap();
            prop_assert_eq!(&trace.as_str()[..8], "02100002");
            prop_assert_eq!(trace.as_str()[8..].parse::<u32>().unwrap(), seq);
            prop_assert_eq!(TraceNumber::parse(trace.as_str()).unwrap(), trace);
        }
    }
}
