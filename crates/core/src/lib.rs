//! Domain types and rules for civicpay. Nothing here does I/O: the store,
//! the services and the CLI parse input into these types at their edges and
//! trust them inside.

pub mod bill;
pub mod error;
pub mod id;
pub mod import;
pub mod language;
pub mod money;
pub mod tenant;

pub use bill::{
    Bill, BillKind, BillReference, BillStatus, BillType, BillTypeSlug, ExternalId, GlCode,
    LineItem, ReferenceLabel, VerificationKind, VerificationValue,
};
pub use error::ParseError;
pub use id::{BillId, BillTypeId, TenantId};
pub use language::{Language, LocalizedText};
pub use money::{Currency, DecimalStyle, Money};
pub use tenant::{Contact, Tenant, TenantSlug, TimeZoneName};
