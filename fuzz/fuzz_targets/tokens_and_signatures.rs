//! Form tokens and webhook signatures come from anyone: checking them never
//! panics and accepts nothing made without the key.
#![no_main]

use civicpay_web::FormTokens;
use civicpay_web::webhook_signature;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &str, &[u8], i64)| {
    let (header, token, body, now) = input;
    let tokens = FormTokens::new([7; 32], false);
    assert!(!tokens.verify(Some(header), Some(token)));
    assert!(webhook_signature::verify("secret", header, body, now, 300).is_err());
});
