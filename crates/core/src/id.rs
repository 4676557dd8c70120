//! Typed ids. Each is a UUIDv7 (time-ordered, so new rows land at the end of
//! indexes) kept as its canonical text, which both databases store as TEXT.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }

            /// Accepts only a canonical UUID, so an id from a URL or a form
            /// can never carry anything else into a query.
            pub fn parse(s: &str) -> Result<Self, crate::ParseError> {
                uuid::Uuid::try_parse(s)
                    .map(|u| Self(u.to_string()))
                    .map_err(|_| crate::ParseError::invalid("is not a valid id"))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

uuid_id!(
    /// A city on this deployment.
    TenantId
);
uuid_id!(
    /// One of a city's kinds of bill (water, parking citation, ...).
    BillTypeId
);
uuid_id!(
    /// One bill, as imported from the city's back office.
    BillId
);
uuid_id!(
    /// One payment on the pay service.
    PaymentId
);
uuid_id!(
    /// One refund of a payment.
    RefundId
);
uuid_id!(
    /// One staff member's account.
    StaffId
);
uuid_id!(
    /// A refund someone asked for, waiting for or past its approval.
    RefundRequestId
);
uuid_id!(
    /// A resident's account on the portal. Pay knows it only as the
    /// opaque `customer` its saved cards belong to.
    ResidentId
);

uuid_id!(
    /// A city's stored bank account (its number is sealed in pay's vault).
    BankAccountId
);
uuid_id!(
    /// One entry waiting for, or sent in, a NACHA file.
    AchEntryId
);
uuid_id!(
    /// One NACHA file a city sent its bank.
    AchFileId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_only_uuids() {
        let id = TenantId::generate();
        assert_eq!(TenantId::parse(id.as_str()), Ok(id));
        assert!(TenantId::parse("1; DROP TABLE bills").is_err());
        assert!(BillId::parse("").is_err());
    }
}
