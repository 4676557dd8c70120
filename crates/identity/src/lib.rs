//! How people prove who they are: the rules and the cryptography, with no
//! I/O. Staff use it now; resident accounts will use the same pieces.
//!
//! Crate choices: `argon2` (RustCrypto) for password hashing, `zxcvbn` for
//! the common-password check (it ships the frequency lists of leaked
//! passwords and catches their l33t and keyboard variants, which a plain
//! list would not), `totp-rs` for RFC 6238 codes, and `qrcode` to draw the
//! enrolment QR code as SVG on the server, so no JavaScript is needed;
//! `aes-gcm` (RustCrypto, as the vault uses) seals authenticator secrets.

mod lockout;
mod password;
mod recovery;
mod sealed_totp;
mod session;
mod totp;

pub use lockout::{LOCKOUT_THRESHOLD, lockout_after};
pub use password::{Password, PasswordHash, PasswordProblem, check_password_policy};
pub use recovery::{RecoveryCode, RecoveryCodes};
pub use sealed_totp::TotpKey;
pub use session::SessionToken;
pub use totp::{TotpSecret, TotpStep};
