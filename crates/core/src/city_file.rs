//! A city declared in a file, for `civicpay city apply FILE.toml`: read,
//! checked whole (every problem named with its key path and line, nothing
//! taken from a file with any), compared with what is stored, and written
//! back out. Pure: reading the file and applying the changes is the
//! caller's.

use crate::{
    BillKind, BillType, BillTypeId, BillTypeSlug, Contact, Currency, GlCode, Language,
    LocalizedText, ReferenceLabel, Tenant, TenantId, TenantSlug, TimeZoneName, VerificationKind,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use toml::Spanned;

/// The file as written: text where the value needs checking, with where it
/// stands, so a problem can point at its line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCity {
    slug: Spanned<String>,
    name: Spanned<Names>,
    currency: Spanned<String>,
    time_zone: Spanned<String>,
    default_language: Spanned<String>,
    contact: RawContact,
    #[serde(default, rename = "bill_type")]
    bill_types: Vec<Spanned<RawBillType>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContact {
    name: String,
    postal_address: String,
    phone: String,
    email: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBillType {
    slug: Spanned<String>,
    kind: Spanned<String>,
    name: Spanned<Names>,
    gl_code: Option<Spanned<String>>,
    reference_label: Option<Spanned<String>>,
    verification: Option<Spanned<String>>,
}

/// Names per language code, each key with its place in the file.
type Names = BTreeMap<Spanned<String>, String>;

/// One thing wrong with a file: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key path, e.g. `bill_type[2].gl_code`.
    pub path: String,
    /// 1-based; `None` when the file does not say where.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}: {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// A city file that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CityFile {
    pub slug: TenantSlug,
    pub name: LocalizedText,
    pub currency: Currency,
    pub time_zone: TimeZoneName,
    pub default_language: Language,
    pub contact: Contact,
    pub bill_types: Vec<BillTypeEntry>,
}

/// One of the city's kinds of bill, as the file declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillTypeEntry {
    pub slug: BillTypeSlug,
    pub kind: BillKind,
    pub name: LocalizedText,
    pub gl_code: GlCode,
    pub reference_label: ReferenceLabel,
    pub verification: VerificationKind,
}

impl BillTypeEntry {
    /// The bill type the entry declares, for the city `tenant_id`, with a
    /// new id (the store keeps the existing one for a known slug).
    pub fn bill_type(&self, tenant_id: &TenantId) -> BillType {
        BillType {
            id: BillTypeId::generate(),
            tenant_id: tenant_id.clone(),
            slug: self.slug.clone(),
            kind: self.kind,
            name: self.name.clone(),
            reference_label: self.reference_label,
            verification: self.verification,
            gl_code: self.gl_code.clone(),
        }
    }
}

/// Collects problems while a file is checked.
struct Checker<'s> {
    source: &'s str,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn line_of(&self, offset: usize) -> usize {
        self.source
            .get(..offset)
            .map_or(0, |before| before.matches('\n').count())
            + 1
    }

    fn problem(&mut self, path: impl Into<String>, at: Option<usize>, message: impl Into<String>) {
        let line = at.map(|offset| self.line_of(offset));
        self.problems.push(Problem {
            path: path.into(),
            line,
            message: message.into(),
        });
    }

    /// Parses a spanned text with a domain parser, noting a problem.
    fn field<T, E: fmt::Display>(
        &mut self,
        path: impl Into<String>,
        value: &Spanned<String>,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        match parse(value.get_ref()) {
            Ok(v) => Some(v),
            Err(e) => {
                self.problem(path, Some(value.span().start), e.to_string());
                None
            }
        }
    }

    /// Names in each language: codes the product speaks, English present.
    fn names(&mut self, path: &str, value: &Spanned<Names>) -> Option<LocalizedText> {
        let mut text = LocalizedText::default();
        let mut ok = true;
        for (code, name) in value.get_ref() {
            let at = Some(code.span().start);
            let key = format!("{path}.{}", code.get_ref());
            match Language::parse(code.get_ref()) {
                Ok(language) if !name.trim().is_empty() => {
                    text = text.with(language, name.trim());
                }
                Ok(_) => {
                    self.problem(key, at, "is empty");
                    ok = false;
                }
                Err(_) => {
                    self.problem(key, at, "is not a language civicpay speaks (en, fr, es)");
                    ok = false;
                }
            }
        }
        if !value.get_ref().keys().any(|code| code.get_ref() == "en") {
            self.problem(path, Some(value.span().start), "needs an English name (en)");
            ok = false;
        }
        ok.then_some(text)
    }
}

/// Reads and checks a city file. Every problem is returned, each with its
/// key path and line; a file with any gives no city.
pub fn parse(source: &str) -> Result<CityFile, Vec<Problem>> {
    let mut check = Checker {
        source,
        problems: Vec::new(),
    };
    let raw: RawCity = match toml::from_str(source) {
        Ok(raw) => raw,
        Err(e) => {
            // Syntax, a missing key or an unknown one: TOML stops at the first.
            let at = e.span().map(|span| span.start);
            check.problem("file", at, e.message().trim().to_owned());
            return Err(check.problems);
        }
    };
    let slug = check.field("slug", &raw.slug, TenantSlug::parse);
    let name = check.names("name", &raw.name);
    let currency = check.field("currency", &raw.currency, |s| {
        Currency::parse(s).map_err(|_| format!("{s:?} is not a currency civicpay takes (USD, CAD)"))
    });
    let time_zone = check.field("time_zone", &raw.time_zone, TimeZoneName::parse);
    let default_language = check.field("default_language", &raw.default_language, |s| {
        Language::parse(s)
            .map_err(|_| format!("{s:?} is not a language civicpay speaks (en, fr, es)"))
    });
    let contact = Contact {
        name: raw.contact.name.trim().to_owned(),
        postal_address: raw.contact.postal_address.trim().to_owned(),
        phone: raw.contact.phone.trim().to_owned(),
        email: raw.contact.email.trim().to_owned(),
    };
    for (key, value) in [
        ("name", &contact.name),
        ("postal_address", &contact.postal_address),
        ("phone", &contact.phone),
        ("email", &contact.email),
    ] {
        if value.is_empty() {
            check.problem(
                format!("contact.{key}"),
                None,
                "is required: receipts and notices print it",
            );
        }
    }
    if raw.bill_types.is_empty() {
        check.problem("bill_type", None, "a city needs at least one [[bill_type]]");
    }
    let mut bill_types = Vec::new();
    let mut seen = BTreeMap::new();
    for (i, entry) in raw.bill_types.iter().enumerate() {
        let path = |key: &str| format!("bill_type[{i}].{key}");
        let at = Some(entry.span().start);
        let entry = entry.get_ref();
        let slug = check.field(path("slug"), &entry.slug, BillTypeSlug::parse);
        if let Some(first) = seen.insert(entry.slug.get_ref().clone(), i) {
            check.problem(
                path("slug"),
                Some(entry.slug.span().start),
                format!("is already the slug of bill_type[{first}]"),
            );
        }
        let kind = check.field(path("kind"), &entry.kind, BillKind::parse);
        let name = check.names(&path("name"), &entry.name);
        let gl_code = match &entry.gl_code {
            Some(code) => check.field(path("gl_code"), code, GlCode::parse),
            None => {
                check.problem(
                    path("gl_code"),
                    at,
                    "is required: every payment posts to a GL code",
                );
                None
            }
        };
        let reference_label = match (&entry.reference_label, kind) {
            (Some(label), _) => check.field(path("reference_label"), label, ReferenceLabel::parse),
            (None, kind) => kind.map(BillKind::default_reference_label),
        };
        let verification = match (&entry.verification, kind) {
            (Some(v), _) => check.field(path("verification"), v, VerificationKind::parse),
            (None, kind) => kind.map(BillKind::default_verification),
        };
        if let (
            Some(slug),
            Some(kind),
            Some(name),
            Some(gl_code),
            Some(reference_label),
            Some(verification),
        ) = (slug, kind, name, gl_code, reference_label, verification)
        {
            bill_types.push(BillTypeEntry {
                slug,
                kind,
                name,
                gl_code,
                reference_label,
                verification,
            });
        }
    }
    match (slug, name, currency, time_zone, default_language) {
        (Some(slug), Some(name), Some(currency), Some(time_zone), Some(default_language))
            if check.problems.is_empty() =>
        {
            Ok(CityFile {
                slug,
                name,
                currency,
                time_zone,
                default_language,
                contact,
                bill_types,
            })
        }
        _ => Err(check.problems),
    }
}

/// One difference between what is stored and what a file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    /// `None` when the file adds it.
    pub before: Option<String>,
    pub after: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.before {
            None => write!(f, "+ {}: {}", self.path, self.after),
            Some(before) => write!(f, "~ {}: {} -> {}", self.path, before, self.after),
        }
    }
}

fn names_text(text: &LocalizedText) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

fn contact_text(contact: &Contact) -> String {
    serde_json::to_string(contact).unwrap_or_default()
}

impl CityFile {
    /// The city the file declares, under `id`.
    pub fn tenant(&self, id: TenantId) -> Tenant {
        Tenant {
            id,
            slug: self.slug.clone(),
            name: self.name.clone(),
            currency: self.currency,
            time_zone: self.time_zone.clone(),
            default_language: self.default_language,
            contact: self.contact.clone(),
        }
    }

    /// What applying the file would change, field by field; empty when
    /// the stored city already says the same. Bill types the file leaves
    /// out are kept (they may have bills), so they are not listed.
    pub fn changes(&self, stored: Option<(&Tenant, &[BillType])>) -> Vec<Change> {
        let mut changes = Vec::new();
        let mut compare = |path: String, before: Option<String>, after: String| {
            if before.as_deref() != Some(after.as_str()) {
                changes.push(Change {
                    path,
                    before,
                    after,
                });
            }
        };
        let tenant = stored.map(|(t, _)| t);
        compare(
            "name".into(),
            tenant.map(|t| names_text(&t.name)),
            names_text(&self.name),
        );
        compare(
            "currency".into(),
            tenant.map(|t| t.currency.code().to_owned()),
            self.currency.code().to_owned(),
        );
        compare(
            "time_zone".into(),
            tenant.map(|t| t.time_zone.as_str().to_owned()),
            self.time_zone.as_str().to_owned(),
        );
        compare(
            "default_language".into(),
            tenant.map(|t| t.default_language.code().to_owned()),
            self.default_language.code().to_owned(),
        );
        compare(
            "contact".into(),
            tenant.map(|t| contact_text(&t.contact)),
            contact_text(&self.contact),
        );
        let stored_types = stored.map(|(_, types)| types).unwrap_or_default();
        for entry in &self.bill_types {
            let before = stored_types.iter().find(|b| b.slug == entry.slug);
            let path = |key: &str| format!("bill_type.{}.{key}", entry.slug.as_str());
            compare(
                path("kind"),
                before.map(|b| b.kind.code().to_owned()),
                entry.kind.code().to_owned(),
            );
            compare(
                path("name"),
                before.map(|b| names_text(&b.name)),
                names_text(&entry.name),
            );
            compare(
                path("gl_code"),
                before.map(|b| b.gl_code.as_str().to_owned()),
                entry.gl_code.as_str().to_owned(),
            );
            compare(
                path("reference_label"),
                before.map(|b| b.reference_label.code().to_owned()),
                entry.reference_label.code().to_owned(),
            );
            compare(
                path("verification"),
                before.map(|b| b.verification.code().to_owned()),
                entry.verification.code().to_owned(),
            );
        }
        changes
    }
}

/// The file that declares a stored city: what `city export` writes, and
/// what [`parse`] reads back to the same city.
pub fn export(tenant: &Tenant, bill_types: &[BillType]) -> Result<String, toml::ser::Error> {
    #[derive(Serialize)]
    struct Out<'a> {
        slug: &'a str,
        name: &'a LocalizedText,
        currency: &'static str,
        time_zone: &'a str,
        default_language: &'static str,
        contact: &'a Contact,
        bill_type: Vec<OutBillType<'a>>,
    }
    #[derive(Serialize)]
    struct OutBillType<'a> {
        slug: &'a str,
        kind: &'static str,
        name: &'a LocalizedText,
        gl_code: &'a str,
        reference_label: &'static str,
        verification: &'static str,
    }
    toml::to_string(&Out {
        slug: tenant.slug.as_str(),
        name: &tenant.name,
        currency: tenant.currency.code(),
        time_zone: tenant.time_zone.as_str(),
        default_language: tenant.default_language.code(),
        contact: &tenant.contact,
        bill_type: bill_types
            .iter()
            .map(|b| OutBillType {
                slug: b.slug.as_str(),
                kind: b.kind.code(),
                name: &b.name,
                gl_code: b.gl_code.as_str(),
                reference_label: b.reference_label.code(),
                verification: b.verification.code(),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )]
    use super::*;

    const SPRINGFIELD: &str = include_str!("../../../examples/cities/springfield.toml");
    const LAC_VERT: &str = include_str!("../../../examples/cities/lac-vert.toml");

    fn stored(file: &CityFile) -> (Tenant, Vec<BillType>) {
        let tenant = file.tenant(TenantId::generate());
        let types = file
            .bill_types
            .iter()
            .map(|b| b.bill_type(&tenant.id))
            .collect();
        (tenant, types)
    }

    fn problems(source: &str) -> Vec<Problem> {
        parse(source).expect_err("the file has problems")
    }

    #[test]
    fn the_example_cities_read_and_export_back_to_the_same_city() {
        for source in [SPRINGFIELD, LAC_VERT] {
            let file = parse(source).unwrap_or_else(|p| panic!("{p:?}"));
            assert_eq!(file.bill_types.len(), 4);
            let (tenant, types) = stored(&file);
            let written = export(&tenant, &types).unwrap();
            assert_eq!(parse(&written).unwrap(), file, "{written}");
            assert_eq!(file.changes(Some((&tenant, &types))), vec![]);
        }
        let lac_vert = parse(LAC_VERT).unwrap();
        assert_eq!(lac_vert.currency, Currency::Cad);
        assert_eq!(lac_vert.default_language, Language::Fr);
        assert_eq!(lac_vert.name.get(Language::Fr), "Ville de Lac-Vert");
    }

    #[test]
    fn a_new_city_is_all_additions_and_a_changed_one_names_each_field() {
        let file = parse(SPRINGFIELD).unwrap();
        let new = file.changes(None);
        assert!(new.iter().all(|c| c.before.is_none()));
        assert!(
            new.iter()
                .any(|c| c.path == "bill_type.water.gl_code" && c.after == "100-4410")
        );

        let (mut tenant, mut types) = stored(&file);
        tenant.time_zone = TimeZoneName::parse("America/New_York").unwrap();
        types[1].gl_code = GlCode::parse("999-0000").unwrap();
        let changes = file.changes(Some((&tenant, &types)));
        let shown: Vec<String> = changes.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "~ time_zone: America/New_York -> America/Chicago",
                "~ bill_type.parking.gl_code: 999-0000 -> 100-3510",
            ]
        );
    }

    #[test]
    fn every_problem_is_named_with_its_key_and_line_and_none_is_taken() {
        let source = SPRINGFIELD
            .replace("slug = \"springfield\"", "slug = \"staff\"")
            .replace("currency = \"USD\"", "currency = \"EUR\"")
            .replace("America/Chicago", "Mars/Olympus")
            .replace("gl_code = \"100-3510\"\n", "")
            .replace("slug = \"permits\"", "slug = \"water\"");
        let found = problems(&source);
        let at = |path: &str| {
            found
                .iter()
                .find(|p| p.path == path)
                .unwrap_or_else(|| panic!("{path} in {found:?}"))
                .clone()
        };
        assert!(at("slug").message.contains("reserved"), "{found:?}");
        assert_eq!(at("slug").line, Some(5));
        assert!(at("currency").message.contains("EUR"));
        assert_eq!(at("currency").line, Some(7));
        assert_eq!(at("time_zone").line, Some(9));
        assert!(at("bill_type[1].gl_code").message.contains("required"));
        assert!(at("bill_type[2].slug").message.contains("bill_type[0]"));
        assert_eq!(found.len(), 5, "{found:?}");
    }

    #[test]
    fn an_unknown_key_or_language_is_refused_where_it_stands() {
        let typo = SPRINGFIELD.replace("time_zone = ", "timezone = ");
        let found = problems(&typo);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("timezone"), "{found:?}");
        assert_eq!(found[0].line, Some(9));

        let german = SPRINGFIELD.replace(
            "es = \"Ciudad de Springfield\"",
            "de = \"Stadt Springfield\"",
        );
        let found = problems(&german);
        assert_eq!(found[0].path, "name.de");
        assert!(
            found[0].to_string().starts_with("line 16: name.de:"),
            "{}",
            found[0]
        );

        let no_english = LAC_VERT.replace("en = \"City of Lac-Vert\"\n", "");
        assert!(
            problems(&no_english)
                .iter()
                .any(|p| p.path == "name" && p.message.contains("English"))
        );
    }
}
