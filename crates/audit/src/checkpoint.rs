//! Signed checkpoints: a chain's head (entry number and hash) signed with
//! an Ed25519 key that lives outside the database, written somewhere the
//! database's owner does not control. Whoever holds a checkpoint can later
//! prove that the log still contains exactly what it contained then.

use crate::{AuditError, ChainHash, ChainId};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

const SIGNING_TAG: &str = "civicpay-audit-checkpoint-v1";

/// One line of a checkpoint file (JSON Lines).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub chain: String,
    pub seq: u64,
    pub hash: String,
    pub at: Timestamp,
    /// The signer's public key, so a reader can tell which key to ask
    /// about; trust comes from the key the verifier is given, never this.
    pub public_key: String,
    pub signature: String,
}

fn signed_message(chain: &str, seq: u64, hash: &str, at: Timestamp) -> String {
    format!(
        "{SIGNING_TAG}\n{chain}\n{seq}\n{hash}\n{}",
        at.as_microsecond()
    )
}

impl Checkpoint {
    /// Checks the signature against `trusted` and returns the chain and the
    /// (seq, hash) pair it vouches for.
    pub fn verify(&self, trusted: &VerifyingKey) -> Result<(ChainId, u64, ChainHash), AuditError> {
        let forged = || AuditError::ForgedCheckpoint {
            chain: self.chain.clone(),
            seq: self.seq,
        };
        let mut signature = [0u8; 64];
        hex::decode_to_slice(&self.signature, &mut signature).map_err(|_| forged())?;
        trusted
            .verify(
                signed_message(&self.chain, self.seq, &self.hash, self.at).as_bytes(),
                &Signature::from_bytes(&signature),
            )
            .map_err(|_| forged())?;
        Ok((
            ChainId::parse(&self.chain)?,
            self.seq,
            ChainHash::from_hex(&self.hash)?,
        ))
    }

    /// Reads a JSON Lines checkpoint file; blank lines are skipped, and a
    /// bad line is reported by its number.
    pub fn parse_lines(text: &str) -> Result<Vec<Checkpoint>, AuditError> {
        text.lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, line)| {
                serde_json::from_str(line).map_err(|e| AuditError::BadCheckpoint {
                    line: i + 1,
                    reason: e.to_string(),
                })
            })
            .collect()
    }

    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The checkpoint signing key. Built from a 32-byte seed that the binary
/// generates on first use and keeps in its secrets folder, not the database.
pub struct CheckpointKey(SigningKey);

impl std::fmt::Debug for CheckpointKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CheckpointKey({})", self.public_hex())
    }
}

impl CheckpointKey {
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(SigningKey::from_bytes(seed))
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.0.verifying_key()
    }

    pub fn public_hex(&self) -> String {
        hex::encode(self.0.verifying_key().as_bytes())
    }

    pub fn sign(&self, chain: &ChainId, seq: u64, hash: ChainHash, at: Timestamp) -> Checkpoint {
        let hash = hash.to_hex();
        let signature = self
            .0
            .sign(signed_message(chain.key(), seq, &hash, at).as_bytes());
        Checkpoint {
            chain: chain.key().to_owned(),
            seq,
            hash,
            at,
            public_key: self.public_hex(),
            signature: hex::encode(signature.to_bytes()),
        }
    }
}

/// A public key given as hex (from `civicpay audit checkpoint`'s output or
/// a witness's records).
pub fn verifying_key_from_hex(s: &str) -> Result<VerifyingKey, AuditError> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(s.trim(), &mut bytes).map_err(|_| AuditError::BadHash(s.to_owned()))?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| AuditError::BadHash(s.to_owned()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_signed_checkpoint_verifies_and_a_changed_one_does_not() {
        let key = CheckpointKey::from_seed(&[7; 32]);
        let chain = ChainId::Platform;
        let cp = key.sign(&chain, 42, ChainHash([9; 32]), Timestamp::UNIX_EPOCH);
        let line = cp.to_line();
        let read = Checkpoint::parse_lines(&format!("\n{line}\n")).unwrap();
        assert_eq!(
            read.first().unwrap().verify(&key.verifying_key()),
            Ok((chain, 42, ChainHash([9; 32])))
        );

        let mut moved = cp.clone();
        moved.seq = 41;
        assert!(matches!(
            moved.verify(&key.verifying_key()),
            Err(AuditError::ForgedCheckpoint { seq: 41, .. })
        ));
        // Signed by another key that names itself: still refused.
        let other = CheckpointKey::from_seed(&[8; 32]);
        let impostor = other.sign(
            &ChainId::Platform,
            42,
            ChainHash([1; 32]),
            Timestamp::UNIX_EPOCH,
        );
        assert!(impostor.verify(&key.verifying_key()).is_err());
        assert_eq!(
            verifying_key_from_hex(&key.public_hex()).unwrap(),
            key.verifying_key()
        );
    }

    #[test]
    fn a_bad_line_is_reported_by_number() {
        let err = Checkpoint::parse_lines("\n{\"chain\":1}\n").unwrap_err();
        assert!(
            matches!(err, AuditError::BadCheckpoint { line: 2, .. }),
            "{err}"
        );
    }
}
