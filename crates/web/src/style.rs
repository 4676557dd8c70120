//! The one stylesheet, compiled in and inlined into every page. The
//! Content-Security-Policy allows exactly this text by its SHA-256 hash, so
//! an injected `<style>` or stylesheet link is refused by the browser.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

pub const STYLESHEET: &str = include_str!("../assets/site.css");

static STYLESHEET_HASH: LazyLock<String> = LazyLock::new(|| hash_source(STYLESHEET));

/// The CSP source expression that allows exactly `text` as a `<style>`.
pub fn hash_source(text: &str) -> String {
    format!("'sha256-{}'", STANDARD.encode(Sha256::digest(text)))
}

/// The CSP source expression for [`STYLESHEET`], e.g. `'sha256-…'`.
pub fn stylesheet_hash() -> &'static str {
    &STYLESHEET_HASH
}
