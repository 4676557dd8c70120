//! A returns file from the bank, or anything uploaded as one: reading it
//! never panics, and whatever reads as a file writes back to a file that
//! reads the same and writes the same bytes again.
#![no_main]

use civicpay_nacha::{AchFile, notices};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    let Ok(file) = AchFile::parse(input) else {
        return;
    };
    let _ = notices(&file);
    let Ok(written) = file.write() else {
        panic!("a file that was read could not be written");
    };
    let again = AchFile::parse(&written);
    let Ok(again) = again else {
        panic!("the writer's own output was refused: {:?}", again.err());
    };
    let rewritten = again.write().ok();
    assert!(rewritten.as_deref() == Some(&*written), "writing is not stable");
});
