//! The audit log: who did what, when, to which record, kept so that nobody
//! (not even someone with the database password) can change history
//! without it showing.
//!
//! Each city has its own chain (the platform operator has one too). Every
//! entry carries the SHA-256 of the one before it, over a canonical
//! encoding, so editing, deleting, inserting or reordering an entry breaks
//! the chain at that point. Removing entries from the end leaves a valid
//! shorter chain, which is why the head is recorded separately and why
//! [`checkpoint`]s, signed with a key kept outside the database, are sent
//! somewhere the database's owner cannot reach.
//!
//! This crate holds the rules only; the store keeps the entries.

mod action;
mod chain;
pub mod checkpoint;
mod error;

pub use action::Action;
pub use chain::{
    BreakKind, ChainBreak, ChainHash, ChainId, ChainVerifier, Entry, NewEntry, canonical_json,
};
pub use checkpoint::{Checkpoint, CheckpointKey};
pub use error::AuditError;
