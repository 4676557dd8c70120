//! What a payer types into the card form: parsing never panics, and a card
//! number never shows in full in anything printed about it.
#![no_main]

use civicpay_vault::{CardNumber, Expiry, SecurityCode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    if let Ok(card) = CardNumber::parse(input) {
        let digits: String = input.chars().filter(char::is_ascii_digit).collect();
        let printed = format!("{card:?} {}", card.masked());
        assert!(!printed.contains(&digits), "a full card number was printed");
        let _ = SecurityCode::parse(input, card.brand());
    }
    let today = jiff::civil::date(2026, 12, 1);
    let _ = Expiry::parse(input, today);
});
