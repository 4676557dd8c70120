//! The hash chain: how an entry is encoded and hashed, and the walk that
//! finds the first place where the stored chain stops adding up.

use crate::AuditError;
use civicpay_core::TenantId;
use jiff::Timestamp;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;

/// Changing the encoding means a new tag, so old entries still verify
/// under the rules they were written with.
const DOMAIN_TAG: &[u8] = b"civicpay-audit-v1";

/// Which chain an entry belongs to: a city's, or the platform operator's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChainId {
    Platform,
    Tenant(TenantId),
    /// A city's money trail in the pay service's database: every payment
    /// event, refund event and ledger posting. Made by [`ChainId::money`].
    Money {
        tenant: TenantId,
        key: String,
    },
}

impl ChainId {
    pub const PLATFORM_KEY: &'static str = "platform";
    const MONEY_PREFIX: &'static str = "money:";

    pub fn money(tenant: TenantId) -> ChainId {
        let key = format!("{}{tenant}", Self::MONEY_PREFIX);
        ChainId::Money { tenant, key }
    }

    /// The text stored in the `chain` column and hashed into each entry.
    pub fn key(&self) -> &str {
        match self {
            ChainId::Platform => Self::PLATFORM_KEY,
            ChainId::Tenant(id) => id.as_str(),
            ChainId::Money { key, .. } => key,
        }
    }

    pub fn parse(key: &str) -> Result<ChainId, AuditError> {
        if key == Self::PLATFORM_KEY {
            return Ok(ChainId::Platform);
        }
        let bad = || AuditError::BadChain(key.to_owned());
        if let Some(tenant) = key.strip_prefix(Self::MONEY_PREFIX) {
            return TenantId::parse(tenant)
                .map(ChainId::money)
                .map_err(|_| bad());
        }
        TenantId::parse(key).map(ChainId::Tenant).map_err(|_| bad())
    }

    pub fn tenant(&self) -> Option<&TenantId> {
        match self {
            ChainId::Platform => None,
            ChainId::Tenant(id) | ChainId::Money { tenant: id, .. } => Some(id),
        }
    }
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainHash(pub [u8; 32]);

impl ChainHash {
    /// What the first entry of every chain points back to.
    pub const GENESIS: ChainHash = ChainHash([0; 32]);

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(s: &str) -> Result<ChainHash, AuditError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| AuditError::BadHash(s.to_owned()))?;
        Ok(ChainHash(out))
    }

    pub fn from_slice(bytes: &[u8]) -> Result<ChainHash, AuditError> {
        <[u8; 32]>::try_from(bytes)
            .map(ChainHash)
            .map_err(|_| AuditError::BadHash(format!("{} bytes", bytes.len())))
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// An entry about to be appended: the store gives it its place (seq, time,
/// previous hash) under the chain's lock.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    pub chain: ChainId,
    pub actor: String,
    pub action: String,
    pub target: String,
    /// Canonical JSON (keys sorted, no spaces), as stored and hashed.
    pub details: String,
}

impl NewEntry {
    /// `details` is any JSON object; it is re-encoded canonically so that
    /// the bytes hashed are the bytes stored and read back.
    pub fn new(
        chain: ChainId,
        actor: impl Into<String>,
        action: crate::Action,
        target: impl Into<String>,
        details: serde_json::Value,
    ) -> NewEntry {
        NewEntry {
            chain,
            actor: actor.into(),
            action: action.code().to_owned(),
            target: target.into(),
            details: canonical_json(&details),
        }
    }

    /// Places the entry after `prev` (the chain's head, or `None` for the
    /// first entry) and computes its hash.
    pub fn seal(self, prev: Option<(u64, ChainHash)>, at: Timestamp) -> Entry {
        let (seq, prev_hash) = match prev {
            Some((seq, hash)) => (seq.saturating_add(1), hash),
            None => (1, ChainHash::GENESIS),
        };
        let mut entry = Entry {
            chain: self.chain,
            seq,
            at,
            actor: self.actor,
            action: self.action,
            target: self.target,
            details: self.details,
            prev_hash,
            hash: ChainHash::GENESIS,
        };
        entry.hash = entry.computed_hash();
        entry
    }
}

/// serde_json's default map is ordered by key, so this is canonical for
/// any value: same content, same bytes.
pub fn canonical_json(value: &serde_json::Value) -> String {
    let sorted: serde_json::Value = serde_json::from_value(value.clone()).unwrap_or_default();
    sorted.to_string()
}

/// One stored entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub chain: ChainId,
    pub seq: u64,
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub details: String,
    pub prev_hash: ChainHash,
    pub hash: ChainHash,
}

fn put_field(hasher: &mut Sha256, bytes: &[u8]) {
    // Length-prefixed, so no two different entries encode alike.
    hasher.update((bytes.len() as u64).to_be_bytes());
    hasher.update(bytes);
}

impl Entry {
    /// SHA-256 over the canonical encoding of every field but the hash.
    pub fn computed_hash(&self) -> ChainHash {
        let mut hasher = Sha256::new();
        put_field(&mut hasher, DOMAIN_TAG);
        put_field(&mut hasher, self.chain.key().as_bytes());
        hasher.update(self.seq.to_be_bytes());
        hasher.update(self.at.as_microsecond().to_be_bytes());
        put_field(&mut hasher, self.actor.as_bytes());
        put_field(&mut hasher, self.action.as_bytes());
        put_field(&mut hasher, self.target.as_bytes());
        put_field(&mut hasher, self.details.as_bytes());
        hasher.update(self.prev_hash.0);
        ChainHash(hasher.finalize().into())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakKind {
    /// The entry's content no longer matches its hash.
    Edited,
    /// Entries are missing before this one.
    Missing { expected: u64 },
    /// The entry's number is not the next one: a copy or a move.
    OutOfOrder { after: u64 },
    /// The entry's content is intact but it does not point at the entry
    /// before it: something was replaced, inserted or reordered.
    LinkBroken,
    /// The entry differs from what a signed checkpoint recorded.
    CheckpointMismatch { checkpoint_hash: ChainHash },
    /// The chain ends before an entry that is known to exist.
    Truncated { last: u64, witness: &'static str },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub chain: ChainId,
    pub seq: u64,
    pub kind: BreakKind,
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (chain, seq) = (&self.chain, self.seq);
        match &self.kind {
            BreakKind::Edited => write!(
                f,
                "chain {chain}, entry {seq}: its content does not match its hash (the entry was edited)"
            ),
            BreakKind::Missing { expected } => write!(
                f,
                "chain {chain}, entry {expected}: missing, the next entry found is {seq} (entries were deleted)"
            ),
            BreakKind::OutOfOrder { after } => write!(
                f,
                "chain {chain}, entry {seq}: found after entry {after} (entries were inserted or reordered)"
            ),
            BreakKind::LinkBroken => write!(
                f,
                "chain {chain}, entry {seq}: does not follow from entry {} (an entry was replaced, inserted or reordered)",
                seq.saturating_sub(1)
            ),
            BreakKind::CheckpointMismatch { checkpoint_hash } => write!(
                f,
                "chain {chain}, entry {seq}: differs from the signed checkpoint, which recorded hash {checkpoint_hash} (history was rewritten)"
            ),
            BreakKind::Truncated { last, witness } => write!(
                f,
                "chain {chain}, entry {seq}: recorded by the {witness} but the log ends at entry {last} (entries were removed from the end)"
            ),
        }
    }
}

/// Walks one chain in `seq` order and stops at the first break. Feeding it
/// entries one at a time keeps memory flat however long the chain is.
#[derive(Debug)]
pub struct ChainVerifier {
    chain: ChainId,
    last: Option<(u64, ChainHash)>,
    checkpoints: BTreeMap<u64, ChainHash>,
    checked: u64,
}

impl ChainVerifier {
    /// `checkpoints` are (seq, hash) pairs whose signatures were verified.
    pub fn new(chain: ChainId, checkpoints: impl IntoIterator<Item = (u64, ChainHash)>) -> Self {
        Self {
            chain,
            last: None,
            checkpoints: checkpoints.into_iter().collect(),
            checked: 0,
        }
    }

    fn broken(&self, seq: u64, kind: BreakKind) -> ChainBreak {
        ChainBreak {
            chain: self.chain.clone(),
            seq,
            kind,
        }
    }

    pub fn push(&mut self, entry: &Entry) -> Result<(), ChainBreak> {
        let (expected_seq, expected_prev) = match self.last {
            Some((seq, hash)) => (seq.saturating_add(1), hash),
            None => (1, ChainHash::GENESIS),
        };
        if entry.chain != self.chain || entry.computed_hash() != entry.hash {
            return Err(self.broken(entry.seq, BreakKind::Edited));
        }
        if entry.seq > expected_seq {
            return Err(self.broken(
                entry.seq,
                BreakKind::Missing {
                    expected: expected_seq,
                },
            ));
        }
        if entry.seq < expected_seq {
            return Err(self.broken(
                entry.seq,
                BreakKind::OutOfOrder {
                    after: expected_seq.saturating_sub(1),
                },
            ));
        }
        if entry.prev_hash != expected_prev {
            return Err(self.broken(entry.seq, BreakKind::LinkBroken));
        }
        if let Some(recorded) = self.checkpoints.get(&entry.seq)
            && *recorded != entry.hash
        {
            return Err(self.broken(
                entry.seq,
                BreakKind::CheckpointMismatch {
                    checkpoint_hash: *recorded,
                },
            ));
        }
        self.last = Some((entry.seq, entry.hash));
        self.checked += 1;
        Ok(())
    }

    /// After the last entry: the recorded head and every checkpoint must
    /// lie within the chain walked. Returns how many entries were checked.
    pub fn finish(self, head: Option<(u64, ChainHash)>) -> Result<u64, ChainBreak> {
        let last = self.last.map_or(0, |(seq, _)| seq);
        if let Some((head_seq, head_hash)) = head {
            if head_seq > last {
                return Err(self.broken(
                    head_seq,
                    BreakKind::Truncated {
                        last,
                        witness: "chain head",
                    },
                ));
            }
            if head_seq == last && self.last.map(|(_, h)| h) != Some(head_hash) {
                return Err(self.broken(head_seq, BreakKind::LinkBroken));
            }
        }
        if let Some((&seq, _)) = self.checkpoints.range(last.saturating_add(1)..).next() {
            return Err(self.broken(
                seq,
                BreakKind::Truncated {
                    last,
                    witness: "signed checkpoint",
                },
            ));
        }
        Ok(self.checked)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::Action;

    fn chain_of(n: u64) -> Vec<Entry> {
        let chain = ChainId::Tenant(TenantId::generate());
        let mut out: Vec<Entry> = Vec::new();
        for i in 0..n {
            let prev = out.last().map(|e| (e.seq, e.hash));
            let entry = NewEntry::new(
                chain.clone(),
                format!("staff:{i}"),
                Action::RefundRequested,
                format!("payment:{i}"),
                serde_json::json!({"amount": i * 100, "reason": "duplicate"}),
            )
            .seal(
                prev,
                Timestamp::from_second(1_700_000_000 + i as i64).unwrap_or_default(),
            );
            out.push(entry);
        }
        out
    }

    fn verify(entries: &[Entry], head: Option<(u64, ChainHash)>) -> Result<u64, ChainBreak> {
        let chain = entries
            .first()
            .map_or(ChainId::Platform, |e| e.chain.clone());
        let mut v = ChainVerifier::new(chain, []);
        for e in entries {
            v.push(e)?;
        }
        v.finish(head)
    }

    fn head(entries: &[Entry]) -> Option<(u64, ChainHash)> {
        entries.last().map(|e| (e.seq, e.hash))
    }

    #[test]
    fn an_intact_chain_verifies() {
        let entries = chain_of(50);
        assert_eq!(verify(&entries, head(&entries)), Ok(50));
        assert_eq!(verify(&[], None), Ok(0));
    }

    #[test]
    fn an_edited_entry_is_found() {
        let mut entries = chain_of(10);
        let original_head = head(&entries);
        if let Some(e) = entries.get_mut(4) {
            e.details = e.details.replace("duplicate", "goodwill");
        }
        let err = verify(&entries, original_head).unwrap_err();
        assert_eq!((err.seq, err.kind.clone()), (5, BreakKind::Edited));
        assert!(err.to_string().contains("edited"), "{err}");
    }

    #[test]
    fn an_edit_with_a_recomputed_hash_breaks_the_next_link() {
        let mut entries = chain_of(10);
        let original_head = head(&entries);
        if let Some(e) = entries.get_mut(4) {
            e.actor = "someone-else".into();
            e.hash = e.computed_hash();
        }
        let err = verify(&entries, original_head).unwrap_err();
        assert_eq!((err.seq, err.kind), (6, BreakKind::LinkBroken));
    }

    #[test]
    fn a_deleted_entry_is_found() {
        let mut entries = chain_of(10);
        let original_head = head(&entries);
        entries.remove(3);
        let err = verify(&entries, original_head).unwrap_err();
        assert_eq!((err.seq, err.kind), (5, BreakKind::Missing { expected: 4 }));
    }

    #[test]
    fn reordered_entries_are_found() {
        let mut entries = chain_of(10);
        let original_head = head(&entries);
        entries.swap(2, 6);
        let err = verify(&entries, original_head).unwrap_err();
        assert_eq!(err.seq, 7);
        assert!(matches!(err.kind, BreakKind::Missing { expected: 3 }));
    }

    #[test]
    fn an_inserted_entry_is_found() {
        let mut entries = chain_of(10);
        let original_head = head(&entries);
        let forged = entries.get(2).cloned().map(|mut e| {
            e.target = "payment:forged".into();
            e.hash = e.computed_hash();
            e
        });
        if let Some(forged) = forged {
            entries.insert(3, forged);
        }
        let err = verify(&entries, original_head).unwrap_err();
        assert_eq!((err.seq, err.kind), (3, BreakKind::OutOfOrder { after: 3 }));
    }

    #[test]
    fn truncation_is_found_against_the_head_and_a_checkpoint() {
        let mut entries = chain_of(10);
        let original_head = head(&entries);
        entries.truncate(7);
        let err = verify(&entries, original_head).unwrap_err();
        assert_eq!(
            (err.seq, err.kind),
            (
                10,
                BreakKind::Truncated {
                    last: 7,
                    witness: "chain head"
                }
            )
        );
        // Head rewritten too: only the outside checkpoint can tell.
        let chain = entries.first().map(|e| e.chain.clone()).unwrap();
        let mut v = ChainVerifier::new(chain, original_head);
        for e in &entries {
            v.push(e).unwrap();
        }
        let err = v.finish(head(&entries)).unwrap_err();
        assert!(
            matches!(
                err.kind,
                BreakKind::Truncated {
                    last: 7,
                    witness: "signed checkpoint"
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_rewritten_history_disagrees_with_a_checkpoint() {
        let entries = chain_of(5);
        let chain = entries.first().map(|e| e.chain.clone()).unwrap();
        let checkpoint = entries.get(2).map(|e| (e.seq, e.hash)).unwrap();
        // Rebuild the whole chain with one entry changed: every link holds.
        let mut rewritten: Vec<Entry> = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let mut n = NewEntry {
                chain: e.chain.clone(),
                actor: e.actor.clone(),
                action: e.action.clone(),
                target: e.target.clone(),
                details: e.details.clone(),
            };
            if i == 1 {
                n.target = "payment:hidden".into();
            }
            rewritten.push(n.seal(rewritten.last().map(|p| (p.seq, p.hash)), e.at));
        }
        assert_eq!(verify(&rewritten, head(&rewritten)), Ok(5));
        let mut v = ChainVerifier::new(chain, [checkpoint]);
        let err = rewritten.iter().try_for_each(|e| v.push(e)).unwrap_err();
        assert_eq!(err.seq, 3);
        assert!(matches!(err.kind, BreakKind::CheckpointMismatch { .. }));
    }

    #[test]
    fn details_are_canonical_whatever_the_key_order() {
        let a: serde_json::Value = serde_json::from_str(r#"{"b":1,"a":{"y":2,"x":1}}"#).unwrap();
        let b: serde_json::Value = serde_json::from_str(r#"{"a":{"x":1,"y":2},"b":1}"#).unwrap();
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(canonical_json(&a), r#"{"a":{"x":1,"y":2},"b":1}"#);
    }

    #[test]
    fn a_moved_entry_from_another_chain_is_found() {
        let mut entries = chain_of(3);
        let other = chain_of(3);
        if let (Some(slot), Some(stranger)) = (entries.get_mut(1), other.get(1)) {
            *slot = stranger.clone();
        }
        let err = verify(&entries, None).unwrap_err();
        assert_eq!((err.seq, err.kind), (2, BreakKind::Edited));
    }
}
