//! NACHA files, the fixed-width format US banks take ACH entries in: 94
//! characters a record, blocked in tens. [`AchFile::write`] makes the file
//! a city's bank debits residents' accounts from; [`AchFile::parse`] reads
//! any file back, checking every count, hash and total, and [`notices`]
//! turns a returns file into the returns and notices of change it holds.
//!
//! Its own crate because it is, with the vault, the only code that reads an
//! account number's digits; no maintained Rust crate writes these files.
//! The layout follows the Nacha Operating Rules' record formats (moov-io/ach
//! documents the same rules).

mod error;
mod field;
mod model;
mod notices;
mod parse;
mod write;

pub use error::NachaError;
pub use model::{
    AchFile, Addenda, Batch, BatchHeader, Correction, Entry, EntryPurpose, FileHeader,
    TransactionCode,
};
pub use notices::{BankNotice, notices};

/// Characters in every record.
pub const RECORD_LENGTH: usize = 94;
/// Records in a block; the file is padded with records of nines to a whole block.
pub const BLOCKING_FACTOR: usize = 10;
