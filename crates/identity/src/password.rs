use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash as ParsedHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use std::fmt;
use zeroize::Zeroizing;

pub const MIN_LENGTH: usize = 12;
/// Argon2 work grows with the input; a cap keeps one request from costing
/// the server more than any real passphrase would.
pub const MAX_LENGTH: usize = 256;

/// A password as typed. Its `Debug` prints a redaction, and its memory is
/// wiped when dropped.
pub struct Password(Zeroizing<String>);

impl Password {
    pub fn new(s: impl Into<String>) -> Password {
        Password(Zeroizing::new(s.into()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(redacted)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("use at least {MIN_LENGTH} characters")]
    TooShort,
    #[error("use at most {MAX_LENGTH} characters")]
    TooLong,
    /// Found in lists of leaked passwords, or guessable from the account's
    /// own details; the text is zxcvbn's warning, if it gave one.
    #[error("this password is too common or too easy to guess{}", .0.as_deref().map(|w| format!(": {w}")).unwrap_or_default())]
    TooCommon(Option<String>),
}

/// `context` holds words an attacker would try first: the e-mail address,
/// the city's name.
pub fn check_password_policy(password: &Password, context: &[&str]) -> Result<(), PasswordProblem> {
    let length = password.expose().chars().count();
    if length < MIN_LENGTH {
        return Err(PasswordProblem::TooShort);
    }
    if length > MAX_LENGTH {
        return Err(PasswordProblem::TooLong);
    }
    let mut words: Vec<&str> = Vec::new();
    for c in context {
        words.push(c);
        words.extend(
            c.split(|ch: char| !ch.is_alphanumeric())
                .filter(|w| w.len() > 2),
        );
    }
    let estimate = zxcvbn::zxcvbn(password.expose(), &words);
    if u8::from(estimate.score()) < 3 {
        let warning = estimate
            .feedback()
            .and_then(|f| f.warning())
            .map(|w| w.to_string());
        return Err(PasswordProblem::TooCommon(warning));
    }
    Ok(())
}

/// A stored Argon2id hash in PHC string form (algorithm, parameters and
/// salt travel with it, so parameters can be raised later).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

impl PasswordHash {
    pub fn create(password: &Password) -> PasswordHash {
        let hash = Argon2::default()
            .hash_password(password.expose().as_bytes())
            .map(|h| h.to_string())
            .unwrap_or_default();
        PasswordHash(hash)
    }

    pub fn from_stored(s: String) -> PasswordHash {
        PasswordHash(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn verify(&self, candidate: &Password) -> bool {
        ParsedHash::new(&self.0).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(candidate.expose().as_bytes(), &parsed)
                .is_ok()
        })
    }

    /// Spends the same work as a real check, for an account that does not
    /// exist, so timing does not reveal which e-mails are registered.
    pub fn verify_nothing(candidate: &Password) {
        static DUMMY: std::sync::OnceLock<PasswordHash> = std::sync::OnceLock::new();
        let dummy = DUMMY
            .get_or_init(|| PasswordHash::create(&Password::new("a-dummy-pass-phrase-for-timing")));
        let _ = dummy.verify(candidate);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_common_and_personal_passwords_are_refused() {
        let check = |p: &str| {
            check_password_policy(
                &Password::new(p),
                &["ana.diaz@springfield.gov", "Springfield"],
            )
        };
        assert_eq!(check("Tr0ub4dor&3"), Err(PasswordProblem::TooShort));
        assert!(matches!(
            check("password1234"),
            Err(PasswordProblem::TooCommon(_))
        ));
        assert!(matches!(
            check("qwertyuiop123"),
            Err(PasswordProblem::TooCommon(_))
        ));
        assert!(matches!(
            check("123456789012"),
            Err(PasswordProblem::TooCommon(_))
        ));
        assert!(matches!(
            check("Springfield2026"),
            Err(PasswordProblem::TooCommon(_))
        ));
        assert_eq!(check(&"x".repeat(300)), Err(PasswordProblem::TooLong));
        assert_eq!(check("correct horse battery staple fern"), Ok(()));
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = PasswordHash::create(&Password::new("correct horse battery staple"));
        assert!(hash.as_str().starts_with("$argon2id$"));
        assert!(hash.verify(&Password::new("correct horse battery staple")));
        assert!(!hash.verify(&Password::new("correct horse battery stapler")));
        assert!(!PasswordHash::from_stored("garbage".into()).verify(&Password::new("x")));
        assert_eq!(
            format!("{:?}", Password::new("secret")),
            "Password(redacted)"
        );
    }
}
