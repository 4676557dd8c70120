//! A city (tenant) on a civicpay deployment.

use crate::{Currency, Language, LocalizedText, ParseError, TenantId};
use serde::{Deserialize, Serialize};

/// The city's short name in URLs (`/springfield/`). Lower-case letters,
/// digits and hyphens, so it is safe in a path and never collides with our
/// own top-level routes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantSlug(String);

const RESERVED_SLUGS: [&str; 8] = [
    "api",
    "static",
    "healthz",
    "metrics",
    "admin",
    "staff",
    "v1",
    "favicon.ico",
];

impl TenantSlug {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ParseError::Missing);
        }
        if s.len() > 40 {
            return Err(ParseError::TooLong { max: 40 });
        }
        let well_formed = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if !well_formed {
            return Err(ParseError::invalid(
                "must be lower-case letters, digits and hyphens (e.g. \"springfield\")",
            ));
        }
        if RESERVED_SLUGS.contains(&s) {
            return Err(ParseError::invalid(format!("{s:?} is reserved")));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

crate::string_conversions!(TenantSlug);

/// Who residents contact about a payment; printed on receipts and on
/// incident notice letters.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Contact {
    pub name: String,
    pub postal_address: String,
    pub phone: String,
    pub email: String,
}

impl Contact {
    /// The contact as typed, trimmed.
    pub fn new(name: &str, postal_address: &str, phone: &str, email: &str) -> Contact {
        Contact {
            name: name.trim().to_owned(),
            postal_address: postal_address.trim().to_owned(),
            phone: phone.trim().to_owned(),
            email: email.trim().to_owned(),
        }
    }

    /// What is wrong with it, by field (`name`, `postal_address`, `phone`,
    /// `email`): every field is printed on receipts and notice letters, so
    /// each is required, on one line, and the address must be an e-mail
    /// address.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        for (key, value, max) in [
            ("name", &self.name, 120),
            ("postal_address", &self.postal_address, 200),
            ("phone", &self.phone, 40),
            ("email", &self.email, 254),
        ] {
            if value.is_empty() {
                problems.push((key, "is required: receipts and notices print it".to_owned()));
            } else if value.chars().count() > max || value.chars().any(char::is_control) {
                problems.push((key, format!("must be one line of at most {max} characters")));
            }
        }
        if !self.email.is_empty() && crate::import::parse_email(&self.email).is_err() {
            problems.push((
                "email",
                format!("{:?} is not an e-mail address", self.email),
            ));
        }
        problems
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: TenantSlug,
    pub name: LocalizedText,
    pub currency: Currency,
    pub time_zone: TimeZoneName,
    pub default_language: Language,
    /// The languages residents may choose, the default among them.
    pub languages: Vec<Language>,
    pub contact: Contact,
    /// Where convenience fees post and whether refunds return them; `None`
    /// for a city that charges none.
    pub fees: Option<crate::fee::FeePolicy>,
    /// Sites besides the portal that the city's payments may send the payer
    /// back to (its own website, a back office); any other is refused.
    pub return_origins: Vec<ReturnOrigin>,
    /// Where the city's back office is told of each payment credited to a
    /// bill; `None`: nobody is told.
    pub back_office: Option<WebhookUrl>,
    /// The card processor and account that take the city's payments;
    /// `None`: the deployment's acquirer.
    pub processor: Option<crate::Processor>,
    /// Payments paused by the platform: residents are told so and pay
    /// takes no new payment; staff can still read and refund.
    pub suspended: bool,
    /// Kept in the console, not the city file (a logo is an upload).
    pub branding: crate::Branding,
}

impl Tenant {
    /// The language a resident who asked for `wanted` reads the city in:
    /// that one if the city offers it, else the city's default.
    pub fn language_for(&self, wanted: Language) -> Language {
        if self.languages.contains(&wanted) {
            wanted
        } else {
            self.default_language
        }
    }
}

/// The scheme, host and port of a site a payer may be sent back to:
/// `https://www.springfield.gov`. Written in the city's file, kept in the
/// portal's database, so every process reads the same list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReturnOrigin(String);

impl ReturnOrigin {
    /// Takes a URL and keeps its origin; a path is refused, so nobody
    /// believes the list narrows returns to one page.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ParseError::Missing);
        }
        let url = url::Url::parse(s).map_err(|_| {
            ParseError::invalid(format!("{s:?} is not a URL like https://city.example"))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(ParseError::invalid(format!(
                "{s:?} is not an http or https site like https://city.example"
            )));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(ParseError::invalid(format!(
                "{s:?} has a path: give the site only, like https://city.example"
            )));
        }
        Ok(Self(url.origin().ascii_serialization()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

crate::string_conversions!(ReturnOrigin);

/// The address a city's back office takes notices of payments at. HTTPS,
/// since a notice names the payer's bill; plain HTTP only to this machine
/// (127.0.0.1, ::1 or localhost), for trying an integration out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ParseError::Missing);
        }
        let url = url::Url::parse(s).map_err(|_| {
            ParseError::invalid(format!(
                "{s:?} is not a URL like https://erp.city.example/civicpay"
            ))
        })?;
        let local = matches!(
            url.host(),
            Some(url::Host::Domain("localhost"))
                | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
                | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
        );
        match url.scheme() {
            "https" if url.host().is_some() => {}
            "http" if local => {}
            _ => {
                return Err(ParseError::invalid(format!(
                    "{s:?} must be an https address (plain http only to this machine, for testing)"
                )));
            }
        }
        if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
            return Err(ParseError::invalid(format!(
                "{s:?} carries a login or a fragment: the back office is told who sends by a signature, not by the address"
            )));
        }
        Ok(Self(url.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

crate::string_conversions!(WebhookUrl);

/// An IANA time zone name that the bundled database knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZoneName(String);

impl TimeZoneName {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        jiff::tz::TimeZone::get(s.trim())
            .map(|_| Self(s.trim().to_owned()))
            .map_err(|_| ParseError::invalid(format!("unknown time zone {:?}", s.trim())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn time_zone(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(&self.0).unwrap_or(jiff::tz::TimeZone::UTC)
    }
}

crate::string_conversions!(TimeZoneName);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn slugs_are_url_safe_and_not_reserved() {
        assert!(TenantSlug::parse("springfield").is_ok());
        assert!(TenantSlug::parse("port-moody-2").is_ok());
        assert!(TenantSlug::parse("Springfield").is_err());
        assert!(TenantSlug::parse("../etc").is_err());
        assert!(TenantSlug::parse("-x").is_err());
        assert!(TenantSlug::parse("static").is_err());
        assert_eq!(TenantSlug::parse(" "), Err(ParseError::Missing));
    }

    #[test]
    fn a_return_origin_is_a_site_without_a_path() {
        let origin = ReturnOrigin::parse("https://WWW.Springfield.gov/").unwrap();
        assert_eq!(origin.as_str(), "https://www.springfield.gov");
        assert_eq!(
            ReturnOrigin::parse("http://localhost:8080")
                .unwrap()
                .as_str(),
            "http://localhost:8080"
        );
        for bad in [
            "www.springfield.gov",
            "ftp://springfield.gov",
            "https://springfield.gov/pay",
            "https://springfield.gov/?x=1",
            "javascript:alert(1)",
        ] {
            assert!(ReturnOrigin::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(ReturnOrigin::parse(" "), Err(ParseError::Missing));
    }

    #[test]
    fn time_zones_come_from_the_bundled_database() {
        assert!(TimeZoneName::parse("America/Toronto").is_ok());
        assert!(TimeZoneName::parse("Mars/Olympus").is_err());
    }

    #[test]
    fn a_contact_needs_every_field_on_one_line_and_a_real_address() {
        let good = Contact::new(
            " Finance ",
            "800 E Monroe St",
            "+1 217-555-0100",
            "pay@springfield.example",
        );
        assert_eq!(good.name, "Finance");
        assert!(good.problems().is_empty());
        let bad = Contact::new("", "line one\nline two", &"9".repeat(41), "not an address");
        let fields: Vec<&str> = bad.problems().iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["name", "postal_address", "phone", "email"]);
    }
}
