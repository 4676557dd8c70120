use crate::session::hex_sha256;
use rand::Rng;

/// Letters and digits that cannot be mistaken for one another on paper.
const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
const COUNT: usize = 10;

/// One recovery code as typed: case, spaces and hyphens do not matter.
pub struct RecoveryCode(String);

impl RecoveryCode {
    pub fn parse(typed: &str) -> RecoveryCode {
        RecoveryCode(
            typed
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .map(|c| c.to_ascii_lowercase())
                .collect(),
        )
    }

    /// What is stored: the SHA-256 of the canonical code. The codes carry
    /// 50 bits each and are used once, so a fast hash is enough.
    pub fn stored_hash(&self) -> String {
        hex_sha256(self.0.as_bytes())
    }
}

/// A fresh set of codes, shown once to the person and stored as hashes.
pub struct RecoveryCodes {
    pub shown: Vec<String>,
    pub stored: Vec<String>,
}

impl RecoveryCodes {
    pub fn generate() -> RecoveryCodes {
        let mut rng = rand::rng();
        let shown: Vec<String> = (0..COUNT)
            .map(|_| {
                let raw: String = (0..10)
                    .map(|_| {
                        let i = rng.random_range(0..ALPHABET.len());
                        ALPHABET.get(i).map_or('a', |&b| char::from(b))
                    })
                    .collect();
                format!(
                    "{}-{}",
                    raw.get(..5).unwrap_or_default(),
                    raw.get(5..).unwrap_or_default()
                )
            })
            .collect();
        let stored = shown
            .iter()
            .map(|c| RecoveryCode::parse(c).stored_hash())
            .collect();
        RecoveryCodes { shown, stored }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_however_typed() {
        let codes = RecoveryCodes::generate();
        assert_eq!(codes.shown.len(), 10);
        let first = codes.shown.first().cloned().unwrap_or_default();
        assert_eq!(first.len(), 11);
        let typed = format!(" {} ", first.to_uppercase().replace('-', " "));
        assert_eq!(
            codes.stored.first(),
            Some(&RecoveryCode::parse(&typed).stored_hash())
        );
        assert!(
            !codes
                .stored
                .contains(&RecoveryCode::parse("aaaaa-aaaaa").stored_hash())
        );
    }
}
