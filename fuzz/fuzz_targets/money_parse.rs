//! Amounts as people type them, in every currency and language: parsing
//! never panics, and what we print parses back to the same amount.
#![no_main]

use civicpay_core::{Currency, DecimalStyle, Language, Money};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    for currency in Currency::ALL {
        for language in Language::ALL {
            let style = DecimalStyle::for_language(language);
            if let Ok(money) = Money::parse(input, currency, style) {
                let printed = money.format(language);
                assert_eq!(
                    Money::parse(&printed, currency, style).ok(),
                    Some(money),
                    "{printed:?} did not read back"
                );
            }
        }
    }
});
