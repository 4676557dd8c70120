//! Amounts as an English page writes them, worked out apart from the
//! code under test so a wrong formatter cannot agree with itself.

/// `$1,234.50` from 123450 cents.
pub fn dollars(cents: i64) -> String {
    let whole = (cents / 100)
        .to_string()
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(",");
    format!("${whole}.{:02}", cents % 100)
}

/// Cents from `$1,234.50` (or `1234.50`).
pub fn cents(dollars: &str) -> i64 {
    dollars
        .trim_start_matches('$')
        .replace([',', '.'], "")
        .parse()
        .unwrap_or_else(|_| panic!("an amount: {dollars:?}"))
}

/// Springfield's property-tax web fee: 2.35 %, at least $1.00, half up.
pub fn springfield_web_fee(cents: i64) -> i64 {
    ((cents * 235 * 2 + 10_000) / 20_000).max(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_and_cents_read_each_other() {
        assert_eq!(dollars(123_450), "$1,234.50");
        assert_eq!(dollars(5), "$0.05");
        assert_eq!(cents("$1,234.50"), 123_450);
        assert_eq!(springfield_web_fee(8_420), 198);
        assert_eq!(springfield_web_fee(1_000), 100);
    }
}
