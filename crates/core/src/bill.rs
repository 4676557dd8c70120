//! Bills and the kinds of bill a city issues.

use crate::{BillId, BillTypeId, LocalizedText, Money, ParseError, TenantId};
use serde::{Deserialize, Serialize};
use std::fmt;
use subtle::ConstantTimeEq;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillKind {
    Utility,
    BuildingPermit,
    ParkingCitation,
    BusinessLicence,
    PropertyTax,
    Other,
}

impl BillKind {
    pub const ALL: [BillKind; 6] = [
        BillKind::Utility,
        BillKind::BuildingPermit,
        BillKind::ParkingCitation,
        BillKind::BusinessLicence,
        BillKind::PropertyTax,
        BillKind::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            BillKind::Utility => "utility",
            BillKind::BuildingPermit => "building_permit",
            BillKind::ParkingCitation => "parking_citation",
            BillKind::BusinessLicence => "business_licence",
            BillKind::PropertyTax => "property_tax",
            BillKind::Other => "other",
        }
    }

    /// Bills that come again and again on one account (a water account,
    /// a property roll), which is what autopay is for; a citation or a
    /// permit is paid once.
    pub fn is_recurring(self) -> bool {
        matches!(
            self,
            BillKind::Utility | BillKind::PropertyTax | BillKind::BusinessLicence
        )
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        BillKind::ALL
            .into_iter()
            .find(|k| k.code() == s.trim())
            .ok_or_else(|| ParseError::invalid(format!("unknown bill kind {:?}", s.trim())))
    }

    /// What the reference is called on this kind of bill, unless the city
    /// says otherwise.
    pub fn default_reference_label(self) -> ReferenceLabel {
        match self {
            BillKind::Utility => ReferenceLabel::AccountNumber,
            BillKind::BuildingPermit => ReferenceLabel::PermitNumber,
            BillKind::ParkingCitation => ReferenceLabel::CitationNumber,
            BillKind::BusinessLicence => ReferenceLabel::LicenceNumber,
            BillKind::PropertyTax => ReferenceLabel::RollNumber,
            BillKind::Other => ReferenceLabel::ReferenceNumber,
        }
    }

    /// The second thing a guest must know to see the bill.
    pub fn default_verification(self) -> VerificationKind {
        match self {
            BillKind::ParkingCitation => VerificationKind::LicencePlate,
            BillKind::Utility | BillKind::PropertyTax => VerificationKind::ServicePostalCode,
            BillKind::BuildingPermit | BillKind::BusinessLicence | BillKind::Other => {
                VerificationKind::PayerLastName
            }
        }
    }
}

/// The label of a bill's reference field. A closed set, so that every label
/// has a translation in every catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceLabel {
    AccountNumber,
    CitationNumber,
    PermitNumber,
    LicenceNumber,
    RollNumber,
    ReferenceNumber,
}

impl ReferenceLabel {
    pub const ALL: [ReferenceLabel; 6] = [
        ReferenceLabel::AccountNumber,
        ReferenceLabel::CitationNumber,
        ReferenceLabel::PermitNumber,
        ReferenceLabel::LicenceNumber,
        ReferenceLabel::RollNumber,
        ReferenceLabel::ReferenceNumber,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ReferenceLabel::AccountNumber => "account_number",
            ReferenceLabel::CitationNumber => "citation_number",
            ReferenceLabel::PermitNumber => "permit_number",
            ReferenceLabel::LicenceNumber => "licence_number",
            ReferenceLabel::RollNumber => "roll_number",
            ReferenceLabel::ReferenceNumber => "reference_number",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        ReferenceLabel::ALL
            .into_iter()
            .find(|k| k.code() == s.trim())
            .ok_or_else(|| ParseError::invalid(format!("unknown reference label {:?}", s.trim())))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerificationKind {
    /// ZIP or postal code of the service address.
    ServicePostalCode,
    /// Licence plate of the cited vehicle.
    LicencePlate,
    /// Family name of the payer.
    PayerLastName,
}

impl VerificationKind {
    pub const ALL: [VerificationKind; 3] = [
        VerificationKind::ServicePostalCode,
        VerificationKind::LicencePlate,
        VerificationKind::PayerLastName,
    ];

    pub fn code(self) -> &'static str {
        match self {
            VerificationKind::ServicePostalCode => "service_postal_code",
            VerificationKind::LicencePlate => "licence_plate",
            VerificationKind::PayerLastName => "payer_last_name",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        VerificationKind::ALL
            .into_iter()
            .find(|k| k.code() == s.trim())
            .ok_or_else(|| {
                ParseError::invalid(format!("unknown verification field {:?}", s.trim()))
            })
    }
}

/// Letters and digits only, upper-cased, accents dropped: what people type
/// varies in case, spacing, hyphens and accents (`Cote` for `Côté` on a
/// phone keyboard), the thing they mean does not.
fn canonical_token(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfd()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

/// Trimmed, non-empty, at most `max` characters, no control characters
/// but line breaks.
pub(crate) fn bounded_text(s: &str, max: usize) -> Result<String, ParseError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(ParseError::Missing);
    }
    if s.chars().count() > max {
        return Err(ParseError::TooLong { max });
    }
    if s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ParseError::invalid("contains control characters"));
    }
    Ok(s.to_owned())
}

macro_rules! text_newtype {
    ($(#[$meta:meta])* $name:ident, $max:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, ParseError> {
                let s = bounded_text(s, $max)?;
                if s.contains('\n') {
                    return Err(ParseError::invalid("must be on one line"));
                }
                Ok(Self(s))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        crate::string_conversions!($name);
    };
}

text_newtype!(
    /// The back-office system's own id for a bill; import upserts on it.
    ExternalId,
    100
);
text_newtype!(
    /// A general-ledger / fund code, carried to the city's finance exports.
    GlCode,
    40
);

/// The number printed on a bill that a resident types to find it. Kept as
/// printed for display; matched on its canonical form so that
/// `pk-2026 004512` finds `PK-2026-004512`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BillReference(String);

impl BillReference {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = bounded_text(s, 64)?;
        if canonical_token(&s).is_empty() {
            return Err(ParseError::invalid("must contain letters or digits"));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn canonical(&self) -> String {
        canonical_token(&self.0)
    }
}

crate::string_conversions!(BillReference);

/// The second look-up field, stored canonical. Compared in constant time
/// so that response timing does not tell how much of a guess was right.
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationValue(String);

impl VerificationValue {
    pub fn parse(kind: VerificationKind, s: &str) -> Result<Self, ParseError> {
        let raw = bounded_text(s, 64)?;
        let mut canonical = canonical_token(&raw);
        if canonical.is_empty() {
            return Err(ParseError::invalid("must contain letters or digits"));
        }
        if kind == VerificationKind::ServicePostalCode
            && canonical.len() == 9
            && canonical.bytes().all(|b| b.is_ascii_digit())
        {
            // ZIP+4: the first five digits are what residents know.
            canonical.truncate(5);
        }
        Ok(Self(canonical))
    }

    /// Rebuilds a value the store kept in canonical form.
    pub fn from_canonical(s: String) -> Self {
        Self(s)
    }

    pub fn canonical(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, other: &VerificationValue) -> bool {
        bool::from(self.0.as_bytes().ct_eq(other.0.as_bytes()))
    }
}

impl fmt::Debug for VerificationValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerificationValue(…)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillTypeSlug(String);

impl BillTypeSlug {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ParseError::Missing);
        }
        if s.len() > 40 {
            return Err(ParseError::TooLong { max: 40 });
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(ParseError::invalid(
                "must be lower-case letters, digits, '-' or '_' (e.g. \"water\")",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BillTypeSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillType {
    pub id: BillTypeId,
    pub tenant_id: TenantId,
    pub slug: BillTypeSlug,
    pub kind: BillKind,
    pub name: LocalizedText,
    pub reference_label: ReferenceLabel,
    pub verification: VerificationKind,
    pub gl_code: GlCode,
    pub fees: crate::fee::FeeSchedule,
    /// `None`: only the whole balance can be paid.
    pub partial: Option<PartialPayments>,
    /// Offered to residents; an inactive type is still open to staff, and
    /// its bills and payments stay.
    pub active: bool,
}

/// A bill type whose bills may be paid in parts, and the least one part
/// may be (a smaller balance is paid whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialPayments {
    pub minimum: Money,
}

/// Why an amount chosen to pay on a bill is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountRefused {
    #[error("the amount must be more than zero")]
    NotPositive,
    #[error("the amount is more than the balance of {balance}")]
    MoreThanBalance { balance: Money },
    #[error("the amount is less than the minimum of {minimum}")]
    LessThanMinimum { minimum: Money },
    #[error("this bill is paid whole: {balance}")]
    WholeBalanceOnly { balance: Money },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    pub description: String,
    pub amount: Money,
    pub gl_code: GlCode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillStatus {
    Open,
    PartiallyPaid,
    Paid,
    Cancelled,
}

impl BillStatus {
    pub fn code(self) -> &'static str {
        match self {
            BillStatus::Open => "open",
            BillStatus::PartiallyPaid => "partially_paid",
            BillStatus::Paid => "paid",
            BillStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        [
            BillStatus::Open,
            BillStatus::PartiallyPaid,
            BillStatus::Paid,
            BillStatus::Cancelled,
        ]
        .into_iter()
        .find(|k| k.code() == s.trim())
        .ok_or_else(|| ParseError::invalid(format!("unknown bill status {:?}", s.trim())))
    }

    /// The status implied by what has been paid, unless the city cancelled it.
    pub fn from_balance(amount_due: Money, amount_paid: Money, cancelled: bool) -> Self {
        if cancelled {
            BillStatus::Cancelled
        } else if amount_paid.minor() <= 0 {
            BillStatus::Open
        } else if amount_paid.minor() >= amount_due.minor() {
            BillStatus::Paid
        } else {
            BillStatus::PartiallyPaid
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bill {
    pub id: BillId,
    pub tenant_id: TenantId,
    pub bill_type_id: BillTypeId,
    pub external_id: ExternalId,
    pub reference: BillReference,
    pub verification: VerificationValue,
    pub payer_name: String,
    pub postal_address: String,
    pub email: Option<String>,
    pub line_items: Vec<LineItem>,
    pub amount_due: Money,
    pub amount_paid: Money,
    pub due_date: jiff::civil::Date,
    pub status: BillStatus,
    pub created_at: jiff::Timestamp,
    pub updated_at: jiff::Timestamp,
}

impl Bill {
    /// What the resident still owes.
    pub fn balance(&self) -> Money {
        self.amount_due
            .checked_sub(self.amount_paid)
            .unwrap_or(self.amount_due)
    }

    /// How much more than it owed the bill was paid: two payments started
    /// at once (two tabs, a resident and a clerk) can each pay the whole
    /// balance. Staff refund the excess; `None` when nothing is over.
    pub fn overpaid(&self) -> Option<Money> {
        let over = self.amount_paid.minor() - self.amount_due.minor();
        (over > 0 && self.status != BillStatus::Cancelled)
            .then(|| Money::from_minor(over, self.amount_paid.currency()))
    }

    pub fn is_payable(&self) -> bool {
        matches!(self.status, BillStatus::Open | BillStatus::PartiallyPaid)
            && self.balance().minor() > 0
    }

    /// Whether someone paying may choose how much: the type allows parts
    /// and the balance is more than the least part.
    pub fn takes_part_payment(&self, partial: Option<&PartialPayments>) -> bool {
        partial.is_some_and(|p| self.balance().minor() > p.minimum.minor())
    }

    /// Checks an amount someone chose to pay now: never more than the
    /// balance, never less than the type's minimum (or the balance, when
    /// that is smaller), and only the whole balance where the type takes
    /// no parts.
    pub fn check_amount(
        &self,
        partial: Option<&PartialPayments>,
        chosen: Money,
    ) -> Result<Money, AmountRefused> {
        let balance = self.balance();
        if chosen.minor() <= 0 {
            return Err(AmountRefused::NotPositive);
        }
        if chosen.minor() > balance.minor() {
            return Err(AmountRefused::MoreThanBalance { balance });
        }
        if chosen.minor() == balance.minor() {
            return Ok(chosen);
        }
        match partial {
            None => Err(AmountRefused::WholeBalanceOnly { balance }),
            Some(p) if chosen.minor() < p.minimum.minor() => {
                Err(AmountRefused::LessThanMinimum { minimum: p.minimum })
            }
            Some(_) => Ok(chosen),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Currency;

    fn bill_owing(due: i64, paid: i64) -> Bill {
        let usd = |m| Money::from_minor(m, Currency::Usd);
        let now = jiff::Timestamp::UNIX_EPOCH;
        Bill {
            id: BillId::generate(),
            tenant_id: TenantId::generate(),
            bill_type_id: BillTypeId::generate(),
            external_id: ExternalId::parse("tax-1").unwrap_or_else(|_| unreachable!()),
            reference: BillReference::parse("1234-000-765").unwrap_or_else(|_| unreachable!()),
            verification: VerificationValue::from_canonical("62704".into()),
            payer_name: "Ana Diaz".into(),
            postal_address: String::new(),
            email: None,
            line_items: Vec::new(),
            amount_due: usd(due),
            amount_paid: usd(paid),
            due_date: jiff::civil::date(2026, 12, 1),
            status: BillStatus::from_balance(usd(due), usd(paid), false),
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn a_bill_paid_twice_over_says_by_how_much() {
        assert_eq!(bill_owing(5_000, 5_000).overpaid(), None);
        assert_eq!(bill_owing(5_000, 4_000).overpaid(), None);
        assert_eq!(
            bill_owing(5_000, 10_000).overpaid(),
            Some(Money::from_minor(5_000, Currency::Usd))
        );
        let cancelled = Bill {
            status: BillStatus::Cancelled,
            ..bill_owing(5_000, 10_000)
        };
        assert_eq!(cancelled.overpaid(), None);
    }

    #[test]
    fn a_chosen_amount_is_between_the_minimum_and_the_balance() {
        let usd = |m| Money::from_minor(m, Currency::Usd);
        let parts = PartialPayments {
            minimum: usd(2_500),
        };
        let bill = bill_owing(100_000, 40_000);
        assert!(bill.takes_part_payment(Some(&parts)));
        assert!(!bill.takes_part_payment(None));
        assert_eq!(bill.check_amount(Some(&parts), usd(2_500)), Ok(usd(2_500)));
        assert_eq!(
            bill.check_amount(Some(&parts), usd(60_000)),
            Ok(usd(60_000))
        );
        assert_eq!(
            bill.check_amount(Some(&parts), usd(60_001)),
            Err(AmountRefused::MoreThanBalance {
                balance: usd(60_000)
            })
        );
        assert_eq!(
            bill.check_amount(Some(&parts), usd(2_499)),
            Err(AmountRefused::LessThanMinimum {
                minimum: usd(2_500)
            })
        );
        assert_eq!(
            bill.check_amount(Some(&parts), usd(0)),
            Err(AmountRefused::NotPositive)
        );
        assert_eq!(
            bill.check_amount(None, usd(30_000)),
            Err(AmountRefused::WholeBalanceOnly {
                balance: usd(60_000)
            })
        );
        assert_eq!(bill.check_amount(None, usd(60_000)), Ok(usd(60_000)));
        // A balance under the minimum is paid whole, and can be.
        let nearly = bill_owing(100_000, 99_000);
        assert!(!nearly.takes_part_payment(Some(&parts)));
        assert_eq!(
            nearly.check_amount(Some(&parts), usd(1_000)),
            Ok(usd(1_000))
        );
        assert!(nearly.check_amount(Some(&parts), usd(500)).is_err());
    }

    proptest::proptest! {
        #[test]
        fn an_accepted_amount_never_overpays_nor_undercuts_the_minimum(
            due in 1i64..10_000_000,
            paid_share in 0u32..100,
            minimum in 1i64..100_000,
            chosen in -1_000i64..10_001_000,
            allows in proptest::bool::ANY,
        ) {
            let usd = |m| Money::from_minor(m, Currency::Usd);
            let paid = due * i64::from(paid_share) / 100;
            let bill = bill_owing(due, paid);
            let parts = allows.then_some(PartialPayments { minimum: usd(minimum) });
            let balance = bill.balance().minor();
            if let Ok(amount) = bill.check_amount(parts.as_ref(), usd(chosen)) {
                proptest::prop_assert_eq!(amount.minor(), chosen);
                proptest::prop_assert!(chosen > 0 && chosen <= balance);
                proptest::prop_assert!(
                    chosen == balance || (allows && chosen >= minimum)
                );
            } else {
                proptest::prop_assert!(
                    chosen <= 0 || chosen > balance || (chosen != balance && (!allows || chosen < minimum))
                );
            }
        }
    }

    #[test]
    fn references_match_however_they_are_typed() {
        let printed = BillReference::parse("PK-2026-004512").ok();
        let typed = BillReference::parse(" pk 2026 004512 ").ok();
        assert_eq!(printed.map(|r| r.canonical()), typed.map(|r| r.canonical()));
        assert!(BillReference::parse("---").is_err());
        assert!(BillReference::parse(&"9".repeat(65)).is_err());
    }

    #[test]
    fn verification_ignores_case_spacing_and_zip_plus_four() {
        let plate = VerificationValue::parse(VerificationKind::LicencePlate, "abc-123");
        let stored = VerificationValue::from_canonical("ABC123".into());
        assert!(plate.map(|p| p.matches(&stored)).unwrap_or(false));
        let zip = VerificationValue::parse(VerificationKind::ServicePostalCode, "62704-1234");
        assert_eq!(zip.map(|z| z.canonical().to_owned()), Ok("62704".into()));
        let postal = VerificationValue::parse(VerificationKind::ServicePostalCode, "k1a 0b1");
        assert_eq!(
            postal.map(|z| z.canonical().to_owned()),
            Ok("K1A0B1".into())
        );
        let wrong = VerificationValue::from_canonical("ABC124".into());
        assert!(!stored.matches(&wrong));
        assert!(!stored.matches(&VerificationValue::from_canonical("ABC".into())));
    }

    #[test]
    fn accents_do_not_matter_in_a_last_name() {
        let stored = VerificationValue::parse(VerificationKind::PayerLastName, "Côté").ok();
        let typed = VerificationValue::parse(VerificationKind::PayerLastName, "cote").ok();
        assert_eq!(
            stored.as_ref().map(VerificationValue::canonical),
            Some("COTE")
        );
        assert!(stored.zip(typed).is_some_and(|(s, t)| s.matches(&t)));
    }

    #[test]
    fn verification_debug_hides_the_value() {
        let v = VerificationValue::from_canonical("SECRET1".into());
        assert!(!format!("{v:?}").contains("SECRET1"));
    }

    #[test]
    fn status_follows_the_balance() {
        let due = Money::from_minor(1000, Currency::Usd);
        let paid = |m| Money::from_minor(m, Currency::Usd);
        assert_eq!(
            BillStatus::from_balance(due, paid(0), false),
            BillStatus::Open
        );
        assert_eq!(
            BillStatus::from_balance(due, paid(400), false),
            BillStatus::PartiallyPaid
        );
        assert_eq!(
            BillStatus::from_balance(due, paid(1000), false),
            BillStatus::Paid
        );
        assert_eq!(
            BillStatus::from_balance(due, paid(1000), true),
            BillStatus::Cancelled
        );
    }
}
