//! Domain types and rules for civicpay. Nothing here does I/O: the store,
//! the services and the CLI parse input into these types at their edges and
//! trust them inside.

/// For a newtype over `String` with a `parse` constructor: serde goes
/// through `parse`, so a stored or received value is checked like typed
/// input.
macro_rules! string_conversions {
    ($name:ident) => {
        impl TryFrom<String> for $name {
            type Error = $crate::ParseError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
pub(crate) use string_conversions;

pub mod ach;
pub mod back_office;
pub mod bill;
pub mod branding;
pub mod city_file;
pub mod error;
pub mod export;
pub mod fee;
pub mod id;
pub mod import;
pub mod incident;
pub mod language;
pub mod money;
pub mod payment;
pub mod processor;
pub mod resident;
pub mod staff;
pub mod tenant;

pub use bill::{
    AmountRefused, Bill, BillKind, BillReference, BillStatus, BillType, BillTypeSlug, ExternalId,
    GlCode, LineItem, PartialPayments, ReferenceLabel, VerificationKind, VerificationValue,
};
pub use branding::{AccentColour, Branding, LogoDigest};
pub use error::ParseError;
pub use id::{
    AchEntryId, AchFileId, BankAccountId, BillId, BillTypeId, PaymentId, RefundId, RefundRequestId,
    ResidentId, StaffId, TenantId,
};
pub use language::{Language, LocalizedText};
pub use money::{Currency, DecimalStyle, Money};
pub use processor::{Processor, ProcessorEnvironment};
pub use staff::{Permission, Role};
pub use tenant::{Contact, ReturnOrigin, Tenant, TenantSlug, TimeZoneName, WebhookUrl};
