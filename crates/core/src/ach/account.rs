//! A stored bank account's standing, and what an entry on it does.

use crate::ParseError;
use serde::{Deserialize, Serialize};

/// Where a stored account stands. Nacha's rule for WEB debits: an account
/// is validated before its first debit and again after any change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BankAccountStatus {
    /// Nothing has checked it yet.
    Unvalidated,
    /// A prenote has gone; the account may be debited once its return
    /// window passes without a return.
    Prenoted,
    Validated,
    /// A return said the account cannot be debited (R02, R03, R04…).
    Disabled,
    /// The payer said a debit was not authorised: autopay waits for a new
    /// authorisation.
    NeedsAuthorisation,
}

impl BankAccountStatus {
    pub const ALL: [BankAccountStatus; 5] = [
        BankAccountStatus::Unvalidated,
        BankAccountStatus::Prenoted,
        BankAccountStatus::Validated,
        BankAccountStatus::Disabled,
        BankAccountStatus::NeedsAuthorisation,
    ];

    pub fn code(self) -> &'static str {
        match self {
            BankAccountStatus::Unvalidated => "unvalidated",
            BankAccountStatus::Prenoted => "prenoted",
            BankAccountStatus::Validated => "validated",
            BankAccountStatus::Disabled => "disabled",
            BankAccountStatus::NeedsAuthorisation => "needs_authorisation",
        }
    }

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|s| s.code() == input)
            .ok_or_else(|| ParseError::invalid(format!("unknown bank account status {input:?}")))
    }
}

/// What an entry civicpay originates does to the payer's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Takes a payment.
    Debit,
    /// Checks the account with no money before its first debit.
    Prenote,
    /// Gives money back: a refund.
    Credit,
}

impl EntryKind {
    pub const ALL: [EntryKind; 3] = [EntryKind::Debit, EntryKind::Prenote, EntryKind::Credit];

    pub fn code(self) -> &'static str {
        match self {
            EntryKind::Debit => "debit",
            EntryKind::Prenote => "prenote",
            EntryKind::Credit => "credit",
        }
    }

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|k| k.code() == input)
            .ok_or_else(|| ParseError::invalid(format!("unknown entry kind {input:?}")))
    }
}
