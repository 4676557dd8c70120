//! CSP reports are anyone's to send: parsing never panics and every field
//! stays within its bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Ok(violations) = civicpay_web::csp_report::parse(body) {
        for v in violations {
            assert!(v.document_uri.chars().count() <= 500);
            assert!(v.blocked_uri.chars().count() <= 500);
            assert!(v.report.len() <= 16 * 1024);
        }
    }
});
