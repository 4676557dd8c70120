//! E-checks (ACH debits from US bank accounts): the parts that are rules,
//! not I/O or secrets. Routing numbers and trace numbers are public bank
//! identifiers, so they live here; account numbers are secrets and live only
//! in the vault's types, and the file layout that carries them in the
//! `civicpay-nacha` crate.

mod account;
mod calendar;
mod codes;
mod routing;

pub use account::{BankAccountStatus, EntryKind};
pub use calendar::{BankingCalendar, EffectiveDateRule, PRENOTE_WAIT_DAYS, RETURN_WINDOW_DAYS};
pub use codes::{ChangeCode, ReturnClass, ReturnCode, ReturnEffect, SecCode};
pub use routing::{AccountKind, RoutingNumber, TraceNumber};
