//! A city declared in a file, for `civicpay city apply FILE.toml`: read,
//! checked whole (every problem named with its key path and line, nothing
//! taken from a file with any), compared with what is stored, and written
//! back out. Pure: reading the file and applying the changes is the
//! caller's.

use crate::fee::{FeePolicy, FeeRule, FeeSchedule, parse_percent};
use crate::money::DecimalStyle;
use crate::{
    BillKind, BillType, BillTypeId, BillTypeSlug, Contact, Currency, GlCode, Language,
    LocalizedText, Money, PartialPayments, Processor, ProcessorEnvironment, ReferenceLabel,
    ReturnOrigin, Tenant, TenantId, TenantSlug, TimeZoneName, VerificationKind, WebhookUrl,
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
    /// The languages residents may choose; all three when left out.
    languages: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    return_origins: Vec<Spanned<String>>,
    back_office_webhook: Option<Spanned<String>>,
    processor: Option<Spanned<RawProcessor>>,
    contact: RawContact,
    fees: Option<Spanned<RawFees>>,
    #[serde(default, rename = "bill_type")]
    bill_types: Vec<Spanned<RawBillType>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProcessor {
    kind: Spanned<String>,
    environment: Spanned<String>,
    api_login_id: Option<Spanned<String>>,
    client_id: Option<Spanned<String>>,
    merchant_id: Option<Spanned<String>>,
    /// Never taken: read only to say where a secret goes instead.
    transaction_key: Option<Spanned<toml::Value>>,
    client_secret: Option<Spanned<toml::Value>>,
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
struct RawFees {
    gl_code: Spanned<String>,
    #[serde(default)]
    refundable: bool,
}

/// A bill type's fee rules by channel.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeeSchedule {
    web: Option<Spanned<RawFeeRule>>,
    phone: Option<Spanned<RawFeeRule>>,
    autopay: Option<Spanned<RawFeeRule>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeeRule {
    flat: Option<Spanned<String>>,
    percent: Option<Spanned<String>>,
    minimum: Option<Spanned<String>>,
    maximum: Option<Spanned<String>>,
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
    fee: Option<RawFeeSchedule>,
    partial: Option<Spanned<RawPartial>>,
    /// `false`: residents are not offered it (staff still are).
    active: Option<bool>,
}

/// Present: bills of the type may be paid in parts of at least `minimum`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPartial {
    minimum: Spanned<String>,
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
    /// Those residents may choose, the default among them.
    pub languages: Vec<Language>,
    pub contact: Contact,
    pub fees: Option<FeePolicy>,
    pub return_origins: Vec<ReturnOrigin>,
    pub back_office_webhook: Option<WebhookUrl>,
    pub processor: Option<Processor>,
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
    pub fees: FeeSchedule,
    pub partial: Option<PartialPayments>,
    pub active: bool,
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
            fees: self.fees.clone(),
            partial: self.partial,
            active: self.active,
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

    /// A bill type's fee rules, in the city's currency (`None` when the
    /// currency itself is wrong: that problem is already noted).
    fn fees(
        &mut self,
        path: &str,
        raw: &RawFeeSchedule,
        currency: Option<Currency>,
    ) -> Option<FeeSchedule> {
        let currency = currency?;
        let mut rule =
            |name: &str, raw: &Option<Spanned<RawFeeRule>>| -> Result<Option<FeeRule>, ()> {
                let Some(raw) = raw else { return Ok(None) };
                let path = format!("{path}.{name}");
                let at = Some(raw.span().start);
                let raw = raw.get_ref();
                let mut ok = true;
                let mut money = |key: &str, value: &Option<Spanned<String>>| {
                    let parsed = value.as_ref().map(|v| {
                        self.field(format!("{path}.{key}"), v, |s| {
                            Money::parse(s, currency, DecimalStyle::Point)
                        })
                    });
                    match parsed {
                        Some(None) => {
                            ok = false;
                            None
                        }
                        Some(Some(m)) => Some(m),
                        None => None,
                    }
                };
                let flat = money("flat", &raw.flat);
                let minimum = money("minimum", &raw.minimum);
                let maximum = money("maximum", &raw.maximum);
                let basis_points = match &raw.percent {
                    Some(p) => match self.field(format!("{path}.percent"), p, parse_percent) {
                        Some(bp) => bp,
                        None => return Err(()),
                    },
                    None => 0,
                };
                if !ok {
                    return Err(());
                }
                if raw.flat.is_none() && raw.percent.is_none() {
                    self.problem(&path, at, "needs a flat amount, a percent, or both");
                    return Err(());
                }
                FeeRule::new(
                    flat.unwrap_or_else(|| Money::zero(currency)),
                    basis_points,
                    minimum,
                    maximum,
                )
                .map(Some)
                .map_err(|e| self.problem(&path, at, e.to_string()))
            };
        let web = rule("web", &raw.web);
        let phone = rule("phone", &raw.phone);
        let autopay = rule("autopay", &raw.autopay);
        Some(FeeSchedule {
            web: web.ok()?,
            phone: phone.ok()?,
            autopay: autopay.ok()?,
        })
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
    let languages = match &raw.languages {
        None => Language::ALL.to_vec(),
        Some(listed) => {
            let mut languages = Vec::new();
            for (i, raw_language) in listed.get_ref().iter().enumerate() {
                let path = format!("languages[{i}]");
                let parsed = check.field(path.clone(), raw_language, |s| {
                    Language::parse(s).map_err(|_| {
                        format!("{s:?} is not a language civicpay speaks (en, fr, es)")
                    })
                });
                match parsed {
                    Some(l) if languages.contains(&l) => {
                        check.problem(path, Some(raw_language.span().start), "is listed twice");
                    }
                    Some(l) => languages.push(l),
                    None => {}
                }
            }
            if let Some(default) = default_language
                && !languages.contains(&default)
                && check.problems.is_empty()
            {
                check.problem(
                    "languages",
                    Some(listed.span().start),
                    format!("must include the default language {:?}", default.code()),
                );
            }
            languages
        }
    };
    let contact = Contact::new(
        &raw.contact.name,
        &raw.contact.postal_address,
        &raw.contact.phone,
        &raw.contact.email,
    );
    for (key, message) in contact.problems() {
        check.problem(format!("contact.{key}"), None, message);
    }
    let fees = raw.fees.as_ref().and_then(|fees| {
        check
            .field("fees.gl_code", &fees.get_ref().gl_code, GlCode::parse)
            .map(|gl_code| FeePolicy {
                gl_code,
                refundable: fees.get_ref().refundable,
            })
    });
    let mut return_origins: Vec<ReturnOrigin> = Vec::new();
    for (i, raw_origin) in raw.return_origins.iter().enumerate() {
        let path = format!("return_origins[{i}]");
        if let Some(origin) = check.field(path.clone(), raw_origin, ReturnOrigin::parse) {
            if return_origins.contains(&origin) {
                check.problem(path, Some(raw_origin.span().start), "is listed twice");
            } else {
                return_origins.push(origin);
            }
        }
    }
    let back_office_webhook = raw
        .back_office_webhook
        .as_ref()
        .map(|raw| check.field("back_office_webhook", raw, WebhookUrl::parse));
    let processor = raw
        .processor
        .as_ref()
        .and_then(|p| processor(&mut check, p, raw.slug.get_ref(), currency));
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
        let fee_schedule = match &entry.fee {
            None => Some(FeeSchedule::default()),
            Some(raw_fees) => {
                if raw.fees.is_none() {
                    check.problem(
                        path("fee"),
                        at,
                        "a fee needs the city's [fees] section: the GL code fees post to",
                    );
                }
                check.fees(&path("fee"), raw_fees, currency)
            }
        };
        let partial = match (&entry.partial, currency) {
            (None, _) => Some(None),
            (Some(_), None) => None,
            (Some(raw_partial), Some(currency)) => check
                .field(
                    path("partial.minimum"),
                    &raw_partial.get_ref().minimum,
                    |s| match Money::parse(s, currency, DecimalStyle::Point) {
                        Ok(m) if m.minor() > 0 => Ok(m),
                        Ok(_) => Err("must be more than zero".to_owned()),
                        Err(e) => Err(e.to_string()),
                    },
                )
                .map(|minimum| Some(PartialPayments { minimum })),
        };
        if let (
            Some(slug),
            Some(kind),
            Some(name),
            Some(gl_code),
            Some(reference_label),
            Some(verification),
            Some(fees),
            Some(partial),
        ) = (
            slug,
            kind,
            name,
            gl_code,
            reference_label,
            verification,
            fee_schedule,
            partial,
        ) {
            bill_types.push(BillTypeEntry {
                slug,
                kind,
                name,
                gl_code,
                reference_label,
                verification,
                fees,
                partial,
                active: entry.active.unwrap_or(true),
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
                languages,
                contact,
                fees,
                return_origins,
                back_office_webhook: back_office_webhook.flatten(),
                processor,
                bill_types,
            })
        }
        _ => Err(check.problems),
    }
}

/// The `[processor]` table: its fields for the processor it names, a
/// currency the processor takes, and never a secret.
fn processor(
    check: &mut Checker<'_>,
    raw: &Spanned<RawProcessor>,
    slug: &str,
    currency: Option<Currency>,
) -> Option<Processor> {
    let p = raw.get_ref();
    let mut secret = false;
    for (name, value) in [
        ("transaction_key", &p.transaction_key),
        ("client_secret", &p.client_secret),
    ] {
        if let Some(value) = value {
            check.problem(
                format!("processor.{name}"),
                Some(value.span().start),
                format!(
                    "a secret never goes in the city file: remove it, then run `civicpay city secret set {slug} processor.{name}` and type it there"
                ),
            );
            secret = true;
        }
    }
    let environment = check.field(
        "processor.environment",
        &p.environment,
        ProcessorEnvironment::parse,
    )?;
    fn text(field: &Option<Spanned<String>>) -> Option<&str> {
        field.as_ref().map(|f| f.get_ref().as_str())
    }
    match Processor::parse(
        p.kind.get_ref(),
        environment,
        text(&p.api_login_id),
        text(&p.client_id),
        text(&p.merchant_id),
    ) {
        Ok(processor) => {
            if let Some(currency) = currency
                && let Err(e) = processor.check_currency(currency)
            {
                check.problem("processor.kind", Some(p.kind.span().start), e.to_string());
                return None;
            }
            (!secret).then_some(processor)
        }
        Err((field, e)) => {
            let at = match field {
                "api_login_id" => p.api_login_id.as_ref(),
                "client_id" => p.client_id.as_ref(),
                "merchant_id" => p.merchant_id.as_ref(),
                _ => Some(&p.kind),
            }
            .map_or(raw.span().start, |f| f.span().start);
            check.problem(format!("processor.{field}"), Some(at), e.to_string());
            None
        }
    }
}

fn processor_text(processor: Option<&Processor>) -> String {
    processor.map_or_else(|| "none".to_owned(), Processor::text)
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

fn fee_policy_text(fees: Option<&FeePolicy>) -> String {
    fees.map_or_else(
        || "none".to_owned(),
        |f| {
            let kept = if f.refundable { "given back" } else { "kept" };
            format!("GL {}, {kept} on refund", f.gl_code.as_str())
        },
    )
}

fn partial_text(partial: Option<&PartialPayments>) -> String {
    partial.map_or_else(
        || "none".to_owned(),
        |p| format!("minimum {}", p.minimum.to_decimal_string()),
    )
}

fn languages_text(languages: &[Language]) -> String {
    languages
        .iter()
        .map(|l| l.code())
        .collect::<Vec<_>>()
        .join(", ")
}

fn origins_text(origins: &[ReturnOrigin]) -> String {
    if origins.is_empty() {
        return "none".to_owned();
    }
    origins
        .iter()
        .map(ReturnOrigin::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn webhook_text(url: Option<&WebhookUrl>) -> String {
    url.map_or_else(|| "none".to_owned(), |u| u.as_str().to_owned())
}

fn fee_rule_text(rule: Option<&FeeRule>) -> String {
    rule.map_or_else(|| "none".to_owned(), ToString::to_string)
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
            languages: self.languages.clone(),
            contact: self.contact.clone(),
            fees: self.fees.clone(),
            return_origins: self.return_origins.clone(),
            back_office: self.back_office_webhook.clone(),
            processor: self.processor.clone(),
            // Not the file's to say: the platform pauses a city.
            suspended: false,
            branding: crate::Branding::default(),
        }
    }

    /// What applying the file would change, field by field; empty when
    /// the stored city already says the same. Bill types the file leaves
    /// out are kept (they may have bills), so they are not listed.
    pub fn changes(&self, stored: Option<(&Tenant, &[BillType])>) -> Vec<Change> {
        let mut changes = Vec::new();
        let mut compare = |path: String, before: Option<String>, after: String| {
            note_change(&mut changes, path, before, after);
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
            "languages".into(),
            tenant.map(|t| languages_text(&t.languages)),
            languages_text(&self.languages),
        );
        compare(
            "contact".into(),
            tenant.map(|t| contact_text(&t.contact)),
            contact_text(&self.contact),
        );
        compare(
            "fees".into(),
            tenant.map(|t| fee_policy_text(t.fees.as_ref())),
            fee_policy_text(self.fees.as_ref()),
        );
        compare(
            "return_origins".into(),
            tenant.map(|t| origins_text(&t.return_origins)),
            origins_text(&self.return_origins),
        );
        compare(
            "back_office_webhook".into(),
            tenant.map(|t| webhook_text(t.back_office.as_ref())),
            webhook_text(self.back_office_webhook.as_ref()),
        );
        compare(
            "processor".into(),
            tenant.map(|t| processor_text(t.processor.as_ref())),
            processor_text(self.processor.as_ref()),
        );
        let stored_types = stored.map(|(_, types)| types).unwrap_or_default();
        for entry in &self.bill_types {
            let before = stored_types.iter().find(|b| b.slug == entry.slug);
            changes.extend(bill_type_changes(
                before,
                &entry.bill_type(&TenantId::generate()),
            ));
        }
        changes
    }
}

/// Notes a field whose text differs; adding nothing (a new city's "no
/// fees", a new type's "no fee") is not a change.
fn note_change(changes: &mut Vec<Change>, path: String, before: Option<String>, after: String) {
    let nothing_added = before.is_none() && after == "none";
    if before.as_deref() != Some(after.as_str()) && !nothing_added {
        changes.push(Change {
            path,
            before,
            after,
        });
    }
}

/// What differs between a stored bill type (`None`: new) and `after`,
/// field by field, under `bill_type.<slug>.<field>`: the city file's diff
/// and the console's audit entries say a change the same way.
pub fn bill_type_changes(before: Option<&BillType>, after: &BillType) -> Vec<Change> {
    let mut changes = Vec::new();
    let path = |key: &str| format!("bill_type.{}.{key}", after.slug.as_str());
    let mut compare = |path: String, before: Option<String>, after: String| {
        note_change(&mut changes, path, before, after);
    };
    let text = |b: &BillType| {
        [
            ("kind", b.kind.code().to_owned()),
            ("name", names_text(&b.name)),
            ("gl_code", b.gl_code.as_str().to_owned()),
            ("reference_label", b.reference_label.code().to_owned()),
            ("verification", b.verification.code().to_owned()),
            ("partial", partial_text(b.partial.as_ref())),
            ("active", b.active.to_string()),
        ]
    };
    let before_texts = before.map(text);
    for (i, (key, after_text)) in text(after).into_iter().enumerate() {
        let before_text = before_texts
            .as_ref()
            .and_then(|t| t.get(i))
            .map(|(_, v)| v.clone());
        // A new bill type is active unless it says otherwise.
        if key == "active" && before.is_none() && after.active {
            continue;
        }
        compare(path(key), before_text, after_text);
    }
    let stored_fees = before.map(|b| b.fees.by_name());
    for (i, (channel, rule)) in after.fees.by_name().into_iter().enumerate() {
        let before_rule = stored_fees
            .as_ref()
            .and_then(|fees| fees.get(i))
            .map(|(_, r)| fee_rule_text(*r));
        compare(
            path(&format!("fee.{channel}")),
            before_rule,
            fee_rule_text(rule),
        );
    }
    changes
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
        languages: Vec<&'static str>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        return_origins: Vec<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        back_office_webhook: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        processor: Option<OutProcessor<'a>>,
        contact: &'a Contact,
        #[serde(skip_serializing_if = "Option::is_none")]
        fees: Option<OutFees<'a>>,
        bill_type: Vec<OutBillType<'a>>,
    }
    #[derive(Serialize)]
    struct OutProcessor<'a> {
        kind: &'static str,
        environment: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        api_login_id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        merchant_id: Option<&'a str>,
    }
    #[derive(Serialize)]
    struct OutFees<'a> {
        gl_code: &'a str,
        refundable: bool,
    }
    #[derive(Serialize)]
    struct OutFeeRule {
        #[serde(skip_serializing_if = "Option::is_none")]
        flat: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        percent: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        minimum: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        maximum: Option<String>,
    }
    #[derive(Serialize)]
    struct OutBillType<'a> {
        slug: &'a str,
        kind: &'static str,
        name: &'a LocalizedText,
        gl_code: &'a str,
        reference_label: &'static str,
        verification: &'static str,
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        fee: BTreeMap<&'static str, OutFeeRule>,
        #[serde(skip_serializing_if = "Option::is_none")]
        partial: Option<OutPartial>,
        #[serde(skip_serializing_if = "Option::is_none")]
        active: Option<bool>,
    }
    #[derive(Serialize)]
    struct OutPartial {
        minimum: String,
    }
    let rule = |r: &FeeRule| OutFeeRule {
        flat: (r.flat().minor() > 0 || r.basis_points() == 0).then(|| r.flat().to_decimal_string()),
        percent: (r.basis_points() > 0).then(|| crate::fee::percent_text(r.basis_points())),
        minimum: r.minimum().map(Money::to_decimal_string),
        maximum: r.maximum().map(Money::to_decimal_string),
    };
    toml::to_string(&Out {
        slug: tenant.slug.as_str(),
        name: &tenant.name,
        currency: tenant.currency.code(),
        time_zone: tenant.time_zone.as_str(),
        default_language: tenant.default_language.code(),
        languages: tenant.languages.iter().map(|l| l.code()).collect(),
        return_origins: tenant
            .return_origins
            .iter()
            .map(ReturnOrigin::as_str)
            .collect(),
        back_office_webhook: tenant.back_office.as_ref().map(WebhookUrl::as_str),
        processor: tenant.processor.as_ref().map(|p| {
            let (api_login_id, client_id, merchant_id) = match p {
                Processor::AuthorizeNet { api_login_id, .. } => {
                    (Some(api_login_id.as_str()), None, None)
                }
                Processor::Moneris {
                    client_id,
                    merchant_id,
                    ..
                } => (None, Some(client_id.as_str()), Some(merchant_id.as_str())),
            };
            OutProcessor {
                kind: p.kind(),
                environment: p.environment().code(),
                api_login_id,
                client_id,
                merchant_id,
            }
        }),
        contact: &tenant.contact,
        fees: tenant.fees.as_ref().map(|f| OutFees {
            gl_code: f.gl_code.as_str(),
            refundable: f.refundable,
        }),
        bill_type: bill_types
            .iter()
            .map(|b| OutBillType {
                slug: b.slug.as_str(),
                kind: b.kind.code(),
                name: &b.name,
                gl_code: b.gl_code.as_str(),
                reference_label: b.reference_label.code(),
                verification: b.verification.code(),
                fee: b
                    .fees
                    .by_name()
                    .into_iter()
                    .filter_map(|(channel, r)| Some((channel, rule(r?))))
                    .collect(),
                partial: b.partial.map(|p| OutPartial {
                    minimum: p.minimum.to_decimal_string(),
                }),
                active: (!b.active).then_some(false),
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
            found[0].to_string().starts_with("line 28: name.de:"),
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

    #[test]
    fn fees_are_read_per_channel_and_a_fee_without_the_city_policy_is_refused() {
        let file = parse(SPRINGFIELD).unwrap();
        let policy = file.fees.clone().unwrap();
        assert_eq!(policy.gl_code.as_str(), "100-3990");
        assert!(!policy.refundable);
        let tax = file
            .bill_types
            .iter()
            .find(|b| b.slug.as_str() == "property-tax")
            .unwrap();
        let web = tax.fees.web.unwrap();
        assert_eq!(web.basis_points(), 235);
        assert_eq!(
            web.to_string(),
            "0.00 + 2.35 % (minimum 1.00, maximum none)"
        );
        assert!(tax.fees.autopay.is_none(), "autopay absorbed");
        assert!(parse(LAC_VERT).unwrap().fees.is_none());

        // A changed rate is one change, named by bill type and channel.
        let (tenant, types) = stored(&file);
        let dearer =
            parse(&SPRINGFIELD.replacen("percent = \"2.35\"", "percent = \"2.5\"", 1)).unwrap();
        let shown: Vec<String> = dearer
            .changes(Some((&tenant, &types)))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            [
                "~ bill_type.property-tax.fee.web: 0.00 + 2.35 % (minimum 1.00, maximum none) -> 0.00 + 2.5 % (minimum 1.00, maximum none)"
            ]
        );

        let no_policy =
            SPRINGFIELD.replace("[fees]\ngl_code = \"100-3990\"\nrefundable = false\n", "");
        let found = problems(&no_policy);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].path, "bill_type[3].fee");
        assert!(found[0].message.contains("[fees]"));

        let typo = SPRINGFIELD.replacen("percent = \"2.35\"", "percent = \"23.5\"", 1);
        let found = problems(&typo);
        assert_eq!(found[0].path, "bill_type[3].fee.web");
        assert!(found[0].message.contains("at most 10%"), "{found:?}");
        let line = SPRINGFIELD
            .lines()
            .position(|l| l == "[bill_type.fee.web]")
            .unwrap();
        assert_eq!(found[0].line, Some(line + 1), "the rule's own table");

        let bad_amount = SPRINGFIELD.replace("flat = \"2.95\"", "flat = \"2.955\"");
        let found = problems(&bad_amount);
        assert_eq!(found[0].path, "bill_type[3].fee.phone.flat", "{found:?}");
    }

    #[test]
    fn return_origins_are_read_changed_and_exported() {
        let file = parse(SPRINGFIELD).unwrap();
        assert_eq!(
            file.return_origins,
            [ReturnOrigin::parse("https://www.springfield.example").unwrap()]
        );
        assert!(parse(LAC_VERT).unwrap().return_origins.is_empty());
        let (tenant, types) = stored(&file);
        let exported = export(&tenant, &types).unwrap();
        assert!(exported.contains("return_origins = [\"https://www.springfield.example\"]"));
        assert!(
            parse(&exported)
                .unwrap()
                .changes(Some((&tenant, &types)))
                .is_empty()
        );
        let more = parse(&SPRINGFIELD.replace(
            "[\"https://www.springfield.example\"]",
            "[\"https://www.springfield.example\", \"https://billing.springfield.example:8443\"]",
        ))
        .unwrap();
        let shown: Vec<String> = more
            .changes(Some((&tenant, &types)))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            ["~ return_origins: https://www.springfield.example -> \
              https://www.springfield.example, https://billing.springfield.example:8443"]
        );
        for (bad, message) in [
            ("[\"https://www.springfield.example/pay\"]", "has a path"),
            ("[\"springfield.example\"]", "not a URL"),
            (
                "[\"https://a.example\", \"https://A.example/\"]",
                "listed twice",
            ),
        ] {
            let found =
                problems(&SPRINGFIELD.replace("[\"https://www.springfield.example\"]", bad));
            assert_eq!(found.len(), 1, "{found:?}");
            assert!(found[0].path.starts_with("return_origins["), "{found:?}");
            assert!(found[0].line.is_some(), "{found:?}");
            assert!(found[0].message.contains(message), "{found:?}");
        }
    }

    #[test]
    fn the_processor_is_read_changed_and_exported_and_never_holds_a_secret() {
        let with = |table: &str| format!("{SPRINGFIELD}\n[processor]\n{table}\n");
        let plain = parse(SPRINGFIELD).unwrap();
        assert_eq!(plain.processor, None);
        let (tenant, types) = stored(&plain);
        let connected = parse(&with(
            "kind = \"authorize_net\"\nenvironment = \"sandbox\"\napi_login_id = \"5KP3u95bQpv\"",
        ))
        .unwrap();
        let shown: Vec<String> = connected
            .changes(Some((&tenant, &types)))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            ["~ processor: none -> authorize_net sandbox api_login_id=5KP3u95bQpv"]
        );
        let (connected_tenant, types) = stored(&connected);
        let exported = export(&connected_tenant, &types).unwrap();
        assert_eq!(parse(&exported).unwrap(), connected, "{exported}");
        assert!(!exported.contains("transaction_key"), "{exported}");

        let key_line = SPRINGFIELD.lines().count() + 6;
        for (table, path, message, line) in [
            (
                "kind = \"authorize_net\"\nenvironment = \"sandbox\"\napi_login_id = \"x\"\ntransaction_key = \"Abc123\"",
                "processor.transaction_key",
                "civicpay city secret set springfield processor.transaction_key",
                Some(key_line),
            ),
            (
                "kind = \"moneris\"\nenvironment = \"sandbox\"\nclient_id = \"c\"\nmerchant_id = \"0123456789101\"",
                "processor.kind",
                "Moneris does not take payments in USD",
                None,
            ),
            (
                "kind = \"authorize_net\"\nenvironment = \"live\"\napi_login_id = \"x\"",
                "processor.environment",
                "sandbox or production",
                None,
            ),
            (
                "kind = \"authorize_net\"\nenvironment = \"sandbox\"",
                "processor.api_login_id",
                "is required",
                None,
            ),
        ] {
            let found = problems(&with(table));
            assert_eq!(found.len(), 1, "{found:?}");
            assert_eq!(found[0].path, path, "{found:?}");
            assert!(found[0].message.contains(message), "{found:?}");
            assert!(found[0].line.is_some(), "{found:?}");
            if let Some(line) = line {
                assert_eq!(found[0].line, Some(line), "{found:?}");
            }
            assert!(
                !found[0].message.contains("Abc123"),
                "never echoed: {found:?}"
            );
        }
    }

    #[test]
    fn the_back_office_webhook_is_read_changed_and_exported() {
        let commented = "# back_office_webhook = \"https://erp.springfield.example/civicpay\"";
        assert!(SPRINGFIELD.contains(commented));
        let plain = parse(SPRINGFIELD).unwrap();
        assert_eq!(plain.back_office_webhook, None);
        let (tenant, types) = stored(&plain);
        let with = |line: &str| SPRINGFIELD.replace(commented, line);
        let told = parse(&with(
            "back_office_webhook = \"https://erp.springfield.example/civicpay\"",
        ))
        .unwrap();
        let shown: Vec<String> = told
            .changes(Some((&tenant, &types)))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            ["~ back_office_webhook: none -> https://erp.springfield.example/civicpay"]
        );
        let (told_tenant, types) = stored(&told);
        let exported = export(&told_tenant, &types).unwrap();
        assert_eq!(parse(&exported).unwrap(), told, "{exported}");
        assert!(
            parse(&with(
                "back_office_webhook = \"http://127.0.0.1:9000/hook\""
            ))
            .is_ok()
        );
        for (bad, message) in [
            (
                "\"http://erp.springfield.example/civicpay\"",
                "must be an https",
            ),
            ("\"erp.springfield.example\"", "not a URL"),
            ("\"https://user:pw@erp.springfield.example/\"", "login"),
        ] {
            let found = problems(&with(&format!("back_office_webhook = {bad}")));
            assert_eq!(found.len(), 1, "{found:?}");
            assert_eq!(found[0].path, "back_office_webhook", "{found:?}");
            assert!(found[0].line.is_some(), "{found:?}");
            assert!(found[0].message.contains(message), "{found:?}");
        }
    }

    #[test]
    fn partial_payments_are_read_changed_and_exported() {
        let file = parse(SPRINGFIELD).unwrap();
        let tax = file
            .bill_types
            .iter()
            .find(|b| b.slug.as_str() == "property-tax")
            .unwrap();
        assert_eq!(
            tax.partial.map(|p| p.minimum),
            Some(Money::from_minor(2_500, Currency::Usd))
        );
        assert!(file.bill_types[0].partial.is_none(), "water is paid whole");
        let (tenant, types) = stored(&file);
        let exported = export(&tenant, &types).unwrap();
        assert!(
            parse(&exported)
                .unwrap()
                .changes(Some((&tenant, &types)))
                .is_empty()
        );
        let higher =
            parse(&SPRINGFIELD.replace("minimum = \"25.00\"", "minimum = \"50.00\"")).unwrap();
        let shown: Vec<String> = higher
            .changes(Some((&tenant, &types)))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            ["~ bill_type.property-tax.partial: minimum 25.00 -> minimum 50.00"]
        );
        for (bad, message) in [("0.00", "more than zero"), ("2.555", "at most 2 digits")] {
            let found = problems(
                &SPRINGFIELD.replace("minimum = \"25.00\"", &format!("minimum = \"{bad}\"")),
            );
            assert_eq!(found.len(), 1, "{found:?}");
            assert_eq!(found[0].path, "bill_type[3].partial.minimum");
            assert!(found[0].message.contains(message), "{found:?}");
        }
    }

    #[test]
    fn a_bill_type_taken_off_line_is_read_changed_and_exported() {
        let file = parse(SPRINGFIELD).unwrap();
        assert!(
            file.bill_types.iter().all(|b| b.active),
            "active unless said"
        );
        let (tenant, types) = stored(&file);
        assert!(!export(&tenant, &types).unwrap().contains("active"));
        let off = SPRINGFIELD.replace("slug = \"permits\"", "slug = \"permits\"\nactive = false");
        let off = parse(&off).unwrap();
        let shown: Vec<String> = off
            .changes(Some((&tenant, &types)))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown, ["~ bill_type.permits.active: true -> false"]);
        let stored_off: Vec<BillType> = off
            .bill_types
            .iter()
            .map(|b| b.bill_type(&tenant.id))
            .collect();
        let exported = export(&tenant, &stored_off).unwrap();
        assert!(exported.contains("active = false"), "{exported}");
        assert!(
            parse(&exported)
                .unwrap()
                .changes(Some((&tenant, &stored_off)))
                .is_empty()
        );
        let found = problems(
            &SPRINGFIELD.replace("slug = \"permits\"", "slug = \"permits\"\nactive = \"no\""),
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("expected a boolean"), "{found:?}");
        assert!(found[0].line.is_some(), "{found:?}");
    }

    #[test]
    fn the_languages_residents_may_choose_are_read_checked_and_exported() {
        let all = parse(LAC_VERT).unwrap();
        assert_eq!(
            all.languages,
            Language::ALL.to_vec(),
            "all three when left out"
        );
        let two = LAC_VERT.replace(
            "default_language = \"fr\"",
            "default_language = \"fr\"\nlanguages = [\"fr\", \"en\"]",
        );
        let file = parse(&two).unwrap();
        assert_eq!(file.languages, [Language::Fr, Language::En]);
        let (tenant, types) = stored(&all);
        let shown: Vec<String> = file
            .changes(Some((&tenant, &types)))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown, ["~ languages: en, fr, es -> fr, en"]);
        let (tenant, types) = stored(&file);
        assert_eq!(tenant.language_for(Language::Es), Language::Fr);
        assert_eq!(tenant.language_for(Language::En), Language::En);
        let written = export(&tenant, &types).unwrap();
        assert!(
            written.contains("languages = [\"fr\", \"en\"]"),
            "{written}"
        );
        assert_eq!(parse(&written).unwrap(), file);
        for (list, path, message) in [
            (
                "[\"fr\", \"de\"]",
                "languages[1]",
                "not a language civicpay speaks",
            ),
            ("[\"fr\", \"fr\"]", "languages[1]", "listed twice"),
            (
                "[\"en\", \"es\"]",
                "languages",
                "must include the default language \"fr\"",
            ),
        ] {
            let found = problems(&LAC_VERT.replace(
                "default_language = \"fr\"",
                &format!("default_language = \"fr\"\nlanguages = {list}"),
            ));
            assert_eq!(found.len(), 1, "{found:?}");
            assert_eq!(found[0].path, path, "{found:?}");
            assert!(found[0].message.contains(message), "{found:?}");
            assert_eq!(found[0].line, Some(9), "{found:?}");
        }
    }
}
