//! Payments: the state machine every payment follows, and the ledger
//! postings its money produces.

pub mod ledger;
pub mod state;

pub use ledger::{JournalEntry, LedgerAccount, LedgerError, Posting, allocate};
pub use state::{IllegalTransition, PaymentEvent, PaymentStatus, RefundEvent, RefundStatus};
