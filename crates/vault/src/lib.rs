//! Card and bank-account data, and only that. A card number, security code
//! or bank account number exists in civicpay solely as a value of this
//! crate's types, which:
//! - parse and check input (Luhn, brand, length, expiry) at the edge;
//! - print, debug-print and serialise as a redaction (`•••• 4242`), so
//!   they cannot reach a log line or a JSON body by accident;
//! - zero their memory when dropped;
//! - give up their digits only through [`CardNumber::expose_digits`] and
//!   [`SecurityCode::expose_digits`], which only gateway connectors call.
//!
//! The security code is never stored anywhere (PCI DSS 3.3.1); a saved card
//! number is sealed here ([`envelope`]) before it reaches a database.

mod bank;
mod card;
pub mod envelope;
mod error;
mod fingerprint;

pub use bank::BankAccountNumber;
pub use card::{CardBrand, CardNumber, Expiry, SecurityCode};
pub use error::CardError;
pub use fingerprint::{CardFingerprint, FingerprintKey};
