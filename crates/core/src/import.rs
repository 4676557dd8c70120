//! Validation of bill records arriving from a city's back office (CSV, JSON
//! file or API). One record in, one validated bill or a list of
//! field-by-field reasons out; the caller says where the record came from.

use crate::bill::bounded_text as plain_text;
use crate::{
    BillReference, BillType, BillTypeSlug, DecimalStyle, ExternalId, GlCode, LineItem, Money,
    ParseError, VerificationValue,
};
use serde::Deserialize;
use std::collections::HashMap;

/// The CSV columns, in the order `--help` documents them.
pub const CSV_COLUMNS: [&str; 9] = [
    "external_id",
    "bill_type",
    "reference",
    "verification",
    "payer_name",
    "postal_address",
    "email",
    "amount",
    "due_date",
];

/// Optional CSV columns.
pub const CSV_OPTIONAL_COLUMNS: [&str; 3] = ["description", "gl_code", "status"];

/// A record as it arrives, every field still text.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillRecord {
    #[serde(default)]
    pub external_id: String,
    #[serde(default)]
    pub bill_type: String,
    #[serde(default)]
    pub reference: String,
    #[serde(default)]
    pub verification: String,
    #[serde(default)]
    pub payer_name: String,
    #[serde(default)]
    pub postal_address: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub amount: String,
    #[serde(default)]
    pub due_date: String,
    /// CSV: one line item described by `description` and `gl_code`.
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub gl_code: Option<String>,
    /// JSON: any number of line items; their sum must equal `amount`.
    #[serde(default)]
    pub line_items: Option<Vec<LineItemRecord>>,
    /// `open` (default) or `cancelled`; payment states are ours to set.
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineItemRecord {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub amount: String,
    #[serde(default)]
    pub gl_code: Option<String>,
}

/// A bill that passed validation, ready for the store to upsert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidBill {
    pub external_id: ExternalId,
    pub bill_type: BillType,
    pub reference: BillReference,
    pub verification: VerificationValue,
    pub payer_name: String,
    pub postal_address: String,
    pub email: Option<String>,
    pub line_items: Vec<LineItem>,
    pub amount_due: Money,
    pub due_date: jiff::civil::Date,
    pub cancelled: bool,
}

/// One field of one record that could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    fn new(field: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Self {
            field: field.into(),
            reason: reason.to_string(),
        }
    }
}

/// What a record is checked against: the city's bill types and currency.
pub struct ImportContext<'a> {
    pub bill_types: HashMap<&'a str, &'a BillType>,
    pub currency: crate::Currency,
}

impl<'a> ImportContext<'a> {
    pub fn new(currency: crate::Currency, bill_types: &'a [BillType]) -> Self {
        Self {
            bill_types: bill_types.iter().map(|t| (t.slug.as_str(), t)).collect(),
            currency,
        }
    }

    /// Checks every field and reports every problem, not just the first.
    pub fn validate(&self, record: &BillRecord) -> Result<ValidBill, Vec<FieldError>> {
        let mut errors = Vec::new();

        let external_id = keep(
            &mut errors,
            "external_id",
            ExternalId::parse(&record.external_id),
        );
        let bill_type = keep(
            &mut errors,
            "bill_type",
            BillTypeSlug::parse(&record.bill_type).and_then(|slug| {
                self.bill_types
                    .get(slug.as_str())
                    .map(|t| (*t).clone())
                    .ok_or_else(|| {
                        let mut known: Vec<&str> = self.bill_types.keys().copied().collect();
                        known.sort_unstable();
                        ParseError::Invalid(format!(
                            "unknown bill type {:?} (this city has: {})",
                            slug.as_str(),
                            known.join(", ")
                        ))
                    })
            }),
        );
        let reference = keep(
            &mut errors,
            "reference",
            BillReference::parse(&record.reference),
        );
        let verification = bill_type.as_ref().and_then(|t| {
            keep(
                &mut errors,
                "verification",
                VerificationValue::parse(t.verification, &record.verification),
            )
        });
        let payer_name = keep(
            &mut errors,
            "payer_name",
            plain_text(&record.payer_name, 200),
        );
        let postal_address = keep(
            &mut errors,
            "postal_address",
            plain_text(&record.postal_address, 500),
        );
        let email = match record.email.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(e) => keep(&mut errors, "email", parse_email(e))
                .map(Some)
                .unwrap_or(None),
        };
        let amount_due = keep(&mut errors, "amount", self.amount(&record.amount));
        let due_date = keep(&mut errors, "due_date", parse_date(&record.due_date));
        let cancelled = match record.status.as_deref().map(str::trim) {
            None | Some("") | Some("open") => false,
            Some("cancelled") => true,
            Some(other) => {
                errors.push(FieldError::new(
                    "status",
                    format!("must be \"open\" or \"cancelled\", not {other:?}"),
                ));
                false
            }
        };
        if amount_due.is_some_and(Money::is_negative) {
            errors.push(FieldError::new("amount", "must not be negative"));
        }

        let line_items = match (&bill_type, amount_due) {
            (Some(bill_type), Some(amount_due)) => {
                self.line_items(record, bill_type, amount_due, &mut errors)
            }
            _ => None,
        };

        match (
            external_id,
            bill_type,
            reference,
            verification,
            payer_name,
            postal_address,
            amount_due,
            due_date,
            line_items,
        ) {
            (
                Some(external_id),
                Some(bill_type),
                Some(reference),
                Some(verification),
                Some(payer_name),
                Some(postal_address),
                Some(amount_due),
                Some(due_date),
                Some(line_items),
            ) if errors.is_empty() => Ok(ValidBill {
                external_id,
                bill_type,
                reference,
                verification,
                payer_name,
                postal_address,
                email,
                line_items,
                amount_due,
                due_date,
                cancelled,
            }),
            _ => Err(errors),
        }
    }

    fn amount(&self, s: &str) -> Result<Money, ParseError> {
        Money::parse(s, self.currency, DecimalStyle::Point)
    }

    fn line_items(
        &self,
        record: &BillRecord,
        bill_type: &BillType,
        amount_due: Money,
        errors: &mut Vec<FieldError>,
    ) -> Option<Vec<LineItem>> {
        let default_gl = |gl: Option<&str>, field: String, errors: &mut Vec<FieldError>| match gl
            .map(str::trim)
        {
            None | Some("") => Some(bill_type.gl_code.clone()),
            Some(code) => GlCode::parse(code)
                .map_err(|e| errors.push(FieldError::new(field, e)))
                .ok(),
        };
        let Some(items) = &record.line_items else {
            let description = match record.description.as_deref().map(str::trim) {
                None | Some("") => bill_type.name.get(crate::Language::En).to_owned(),
                Some(d) => plain_text(d, 200)
                    .map_err(|e| errors.push(FieldError::new("description", e)))
                    .ok()?,
            };
            let gl_code = default_gl(record.gl_code.as_deref(), "gl_code".into(), errors)?;
            return Some(vec![LineItem {
                description,
                amount: amount_due,
                gl_code,
            }]);
        };
        if items.is_empty() {
            errors.push(FieldError::new("line_items", "must not be empty"));
            return None;
        }
        let mut out = Vec::with_capacity(items.len());
        let mut total = Money::zero(self.currency);
        for (i, item) in items.iter().enumerate() {
            let at = |f: &str| format!("line_items[{i}].{f}");
            let description = plain_text(&item.description, 200)
                .map_err(|e| errors.push(FieldError::new(at("description"), e)))
                .ok();
            let amount = self
                .amount(&item.amount)
                .map_err(|e| errors.push(FieldError::new(at("amount"), e)))
                .ok();
            let gl_code = default_gl(item.gl_code.as_deref(), at("gl_code"), errors);
            if let (Some(description), Some(amount), Some(gl_code)) = (description, amount, gl_code)
            {
                total = total.checked_add(amount).ok()?;
                out.push(LineItem {
                    description,
                    amount,
                    gl_code,
                });
            }
        }
        if out.len() == items.len() && total != amount_due {
            errors.push(FieldError::new(
                "line_items",
                format!(
                    "add up to {} but amount is {}",
                    total.to_decimal_string(),
                    amount_due.to_decimal_string()
                ),
            ));
            return None;
        }
        (out.len() == items.len()).then_some(out)
    }
}

/// Records a field's error and carries on, so one pass reports them all.
fn keep<T>(errors: &mut Vec<FieldError>, field: &str, r: Result<T, ParseError>) -> Option<T> {
    r.map_err(|e| errors.push(FieldError::new(field, e))).ok()
}

/// An ISO 8601 calendar date, `2026-12-31`.
pub fn parse_date(s: &str) -> Result<jiff::civil::Date, ParseError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(ParseError::Missing);
    }
    s.parse::<jiff::civil::Date>()
        .ok()
        .filter(|_| s.len() == 10)
        .ok_or_else(|| ParseError::Invalid(format!("{s:?} is not a date like 2026-12-31")))
}

/// Deliberately loose: one `@`, something either side, a dot in the domain.
/// The mail server is the real judge; this catches typing slips.
pub fn parse_email(s: &str) -> Result<String, ParseError> {
    let s = s.trim();
    if s.len() > 254 {
        return Err(ParseError::TooLong { max: 254 });
    }
    let well_formed = match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    };
    if well_formed {
        Ok(s.to_owned())
    } else {
        Err(ParseError::Invalid(format!(
            "{s:?} is not an e-mail address"
        )))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::{
        BillKind, BillTypeId, Currency, LocalizedText, ReferenceLabel, TenantId, VerificationKind,
    };

    fn water() -> BillType {
        BillType {
            id: BillTypeId::generate(),
            tenant_id: TenantId::generate(),
            slug: BillTypeSlug::parse("water").unwrap(),
            kind: BillKind::Utility,
            name: LocalizedText::new("Water and sewer"),
            reference_label: ReferenceLabel::AccountNumber,
            verification: VerificationKind::ServicePostalCode,
            gl_code: GlCode::parse("100-4410").unwrap(),
            fees: crate::fee::FeeSchedule::default(),
            partial: None,
            active: true,
        }
    }

    fn record() -> BillRecord {
        BillRecord {
            external_id: "UB-1".into(),
            bill_type: "water".into(),
            reference: "1002-3344".into(),
            verification: "62704".into(),
            payer_name: "Ana Díaz".into(),
            postal_address: "12 Elm St, Springfield IL 62704".into(),
            email: Some("ana@example.org".into()),
            amount: "84.20".into(),
            due_date: "2026-12-15".into(),
            ..BillRecord::default()
        }
    }

    #[test]
    fn a_good_record_becomes_a_bill_with_one_line_item() {
        let types = [water()];
        let ctx = ImportContext::new(Currency::Usd, &types);
        let bill = ctx.validate(&record()).unwrap();
        assert_eq!(bill.amount_due.minor(), 8420);
        assert_eq!(bill.line_items.len(), 1);
        assert_eq!(bill.line_items[0].gl_code.as_str(), "100-4410");
        assert_eq!(bill.line_items[0].description, "Water and sewer");
    }

    #[test]
    fn every_bad_field_is_reported_by_name() {
        let types = [water()];
        let ctx = ImportContext::new(Currency::Usd, &types);
        let bad = BillRecord {
            bill_type: "sewer".into(),
            amount: "12,30".into(),
            due_date: "15/12/2026".into(),
            email: Some("not-an-address".into()),
            payer_name: String::new(),
            ..record()
        };
        let errors = ctx.validate(&bad).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["bill_type", "payer_name", "email", "amount", "due_date"]
        );
        assert!(errors[0].reason.contains("this city has: water"));
    }

    #[test]
    fn line_items_must_add_up() {
        let types = [water()];
        let ctx = ImportContext::new(Currency::Usd, &types);
        let item = |a: &str| LineItemRecord {
            description: "Usage".into(),
            amount: a.into(),
            gl_code: None,
        };
        let mut r = record();
        r.line_items = Some(vec![item("80.00"), item("4.20")]);
        assert_eq!(ctx.validate(&r).unwrap().line_items.len(), 2);
        r.line_items = Some(vec![item("80.00"), item("4.21")]);
        let errors = ctx.validate(&r).unwrap_err();
        assert_eq!(errors[0].field, "line_items");
        r.line_items = Some(vec![item("80.00"), item("x")]);
        assert_eq!(
            ctx.validate(&r).unwrap_err()[0].field,
            "line_items[1].amount"
        );
    }

    #[test]
    fn negative_amounts_and_unknown_status_are_refused() {
        let types = [water()];
        let ctx = ImportContext::new(Currency::Usd, &types);
        let r = BillRecord {
            amount: "-1.00".into(),
            status: Some("paid".into()),
            ..record()
        };
        let fields: Vec<String> = ctx
            .validate(&r)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["status", "amount"]);
    }

    #[test]
    fn dates_are_iso_8601_only() {
        assert!(parse_date("2026-02-28").is_ok());
        assert!(parse_date("2026-02-30").is_err());
        assert!(parse_date("2026-2-3").is_err());
        assert_eq!(parse_date(""), Err(ParseError::Missing));
    }
}
