//! Translations (Fluent catalogues compiled into the binary) and the choice
//! of language for a request.
//!
//! Why fluent-templates: Fluent handles plurals and grammatical variants per
//! language (French and Spanish need them), and the static loader embeds
//! the `.ftl` files at compile time, so no file is read at run time.

use civicpay_core::{Language, Money};
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader, langid};
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // Our languages are all left-to-right; isolation marks would only
        // clutter the HTML and the tests.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The catalogue sources, for checking that they agree: the resident
/// pages' and e-mails'.
pub const CATALOGUES: [(Language, &str); 3] = [
    (Language::En, include_str!("../locales/en/main.ftl")),
    (Language::Fr, include_str!("../locales/fr/main.ftl")),
    (Language::Es, include_str!("../locales/es/main.ftl")),
];

/// The staff console's catalogues (`st-` keys), kept apart so a city's
/// translator can take the resident pages first.
pub const STAFF_CATALOGUES: [(Language, &str); 3] = [
    (Language::En, include_str!("../locales/en/staff.ftl")),
    (Language::Fr, include_str!("../locales/fr/staff.ftl")),
    (Language::Es, include_str!("../locales/es/staff.ftl")),
];

fn language_id(language: Language) -> LanguageIdentifier {
    match language {
        Language::En => langid!("en"),
        Language::Fr => langid!("fr"),
        Language::Es => langid!("es"),
    }
}

/// Marks a key with no translation, so tests can find it in a page.
pub const MISSING_MARK: char = '⟦';

#[derive(Debug, Clone)]
pub struct Translator {
    language: Language,
    id: LanguageIdentifier,
}

impl Translator {
    pub fn new(language: Language) -> Self {
        Self {
            language,
            id: language_id(language),
        }
    }

    pub fn language(&self) -> Language {
        self.language
    }

    pub fn lang(&self) -> &'static str {
        self.language.code()
    }

    pub fn get(&self, key: &str) -> String {
        self.lookup(key, None)
    }

    pub fn arg(&self, key: &str, name: &'static str, value: impl ToString) -> String {
        let args = HashMap::from([(Cow::Borrowed(name), FluentValue::from(value.to_string()))]);
        self.lookup(key, Some(&args))
    }

    /// Several text arguments at once.
    pub fn args(&self, key: &str, args: &[(&'static str, &str)]) -> String {
        let args = args
            .iter()
            .map(|(name, value)| (Cow::Borrowed(*name), FluentValue::from(value.to_string())))
            .collect::<HashMap<_, _>>();
        self.lookup(key, Some(&args))
    }

    /// For plural selection: the value is passed as a number.
    pub fn count(&self, key: &str, name: &'static str, value: u64) -> String {
        let args = HashMap::from([(Cow::Borrowed(name), FluentValue::from(value))]);
        self.lookup(key, Some(&args))
    }

    fn lookup(
        &self,
        key: &str,
        args: Option<&HashMap<Cow<'static, str>, FluentValue<'_>>>,
    ) -> String {
        LOCALES
            .try_lookup_complete(&self.id, key, args)
            .unwrap_or_else(|| {
                tracing::warn!(key, language = self.lang(), "missing translation");
                format!("{MISSING_MARK}{key}⟧")
            })
    }

    /// "Amount $84.20 + service fee $2.31 = $86.51" for a payment of
    /// `total` that includes `fee`; `None` when there is no fee.
    pub fn fee_breakdown(&self, total: Money, fee: Money) -> Option<String> {
        if fee.minor() <= 0 {
            return None;
        }
        let bill = Money::from_minor(total.minor() - fee.minor(), total.currency());
        Some(self.args(
            "fee-breakdown",
            &[
                ("amount", &bill.format(self.language)),
                ("fee", &fee.format(self.language)),
                ("total", &total.format(self.language)),
            ],
        ))
    }

    /// A calendar date as people write it in this language.
    pub fn date(&self, date: jiff::civil::Date) -> String {
        let month = self.get(&format!("month-{}", date.month()));
        let args = HashMap::from([
            (
                Cow::Borrowed("day"),
                FluentValue::from(date.day().to_string()),
            ),
            (Cow::Borrowed("month"), FluentValue::from(month)),
            (
                Cow::Borrowed("year"),
                FluentValue::from(date.year().to_string()),
            ),
        ]);
        self.lookup("date-long", Some(&args))
    }
}

/// Picks the language for a request: an explicit choice (`?lang=`), then
/// the remembered choice (cookie), then the browser's `Accept-Language`,
/// then the city's default.
pub fn negotiate(
    explicit: Option<&str>,
    remembered: Option<&str>,
    accept_language: Option<&str>,
    default: Language,
) -> Language {
    if let Some(l) = explicit.and_then(|s| Language::parse(s).ok()) {
        return l;
    }
    if let Some(l) = remembered.and_then(|s| Language::parse(s).ok()) {
        return l;
    }
    if let Some(header) = accept_language {
        let requested = fluent_langneg::accepted_languages::parse(header);
        let available: Vec<LanguageIdentifier> =
            Language::ALL.into_iter().map(language_id).collect();
        let fallback = language_id(default);
        let chosen = fluent_langneg::negotiate_languages(
            &requested,
            &available,
            Some(&fallback),
            fluent_langneg::NegotiationStrategy::Lookup,
        );
        if let Some(first) = chosen.first()
            && let Ok(l) = Language::parse(first.language.as_str())
        {
            return l;
        }
    }
    default
}

/// Keys that one catalogue has and another lacks, as (language, key).
pub fn catalogue_gaps(catalogues: &[(Language, &str)]) -> Result<Vec<(Language, String)>, String> {
    let mut keys_by_language = Vec::new();
    for (language, source) in catalogues {
        let resource = fluent_syntax::parser::parse(*source)
            .map_err(|(_, errors)| format!("{language} catalogue does not parse: {errors:?}"))?;
        let keys: BTreeSet<String> = resource
            .body
            .iter()
            .filter_map(|entry| match entry {
                fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
                fluent_syntax::ast::Entry::Term(t) => Some(format!("-{}", t.id.name)),
                _ => None,
            })
            .collect();
        keys_by_language.push((*language, keys));
    }
    let all: BTreeSet<&String> = keys_by_language.iter().flat_map(|(_, k)| k).collect();
    Ok(keys_by_language
        .iter()
        .flat_map(|(language, keys)| {
            all.iter()
                .filter(|k| !keys.contains(**k))
                .map(|k| (*language, (*k).clone()))
                .collect::<Vec<_>>()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_catalogue_has_every_key() {
        assert_eq!(catalogue_gaps(&CATALOGUES).unwrap(), vec![]);
        assert_eq!(catalogue_gaps(&STAFF_CATALOGUES).unwrap(), vec![]);
    }

    #[test]
    fn the_console_catalogue_is_translated_not_copied() {
        let english = entries(STAFF_CATALOGUES[0].1);
        // Short texts (a role, "Total", an e-mail address) may be spelt alike.
        let copied = |source: &str| -> Vec<String> {
            entries(source)
                .into_iter()
                .filter(|(key, text)| {
                    text.len() > 14 && english.iter().any(|(k, t)| k == key && t == text)
                })
                .map(|(key, _)| key)
                .collect()
        };
        for (language, source) in &STAFF_CATALOGUES[1..] {
            assert_eq!(
                copied(source),
                Vec::<String>::new(),
                "{language}: left in English"
            );
        }
        let planted = format!(
            "{}\nst-sign-out-everywhere = Sign out everywhere\n",
            STAFF_CATALOGUES[1].1
        );
        assert_eq!(copied(&planted), vec!["st-sign-out-everywhere".to_owned()]);
    }

    /// (key, source text) of each message in a catalogue.
    fn entries(source: &str) -> Vec<(String, String)> {
        source
            .lines()
            .filter_map(|line| line.split_once(" = "))
            .filter(|(key, _)| !key.starts_with(' ') && !key.starts_with('#'))
            .map(|(key, text)| (key.to_owned(), text.to_owned()))
            .collect()
    }

    #[test]
    fn the_gap_check_finds_a_planted_gap() {
        let planted = [
            (Language::En, "a = A\nb = B\n-brand = civicpay\n"),
            (Language::Fr, "a = A\n-brand = civicpay\n"),
            (Language::Es, "a = A\nb = B\n"),
        ];
        assert_eq!(
            catalogue_gaps(&planted).unwrap(),
            vec![
                (Language::Fr, "b".to_owned()),
                (Language::Es, "-brand".to_owned())
            ]
        );
        assert!(catalogue_gaps(&[(Language::En, "= broken")]).is_err());
    }

    #[test]
    fn a_missing_key_is_marked_not_hidden() {
        let t = Translator::new(Language::Fr);
        assert!(t.get("no-such-key").starts_with(MISSING_MARK));
        assert!(!t.get("lookup-submit").starts_with(MISSING_MARK));
    }

    #[test]
    fn dates_read_naturally_in_each_language() {
        let d = jiff::civil::date(2026, 12, 5);
        assert_eq!(Translator::new(Language::En).date(d), "December 5, 2026");
        assert_eq!(Translator::new(Language::Fr).date(d), "5 décembre 2026");
        assert_eq!(
            Translator::new(Language::Es).date(d),
            "5 de diciembre de 2026"
        );
    }

    #[test]
    fn language_choice_follows_the_order_of_precedence() {
        use Language::*;
        assert_eq!(negotiate(Some("es"), Some("fr"), Some("en"), En), Es);
        assert_eq!(negotiate(Some("de"), Some("fr"), Some("en"), En), Fr);
        assert_eq!(
            negotiate(None, None, Some("fr-CA,fr;q=0.9,en;q=0.5"), En),
            Fr
        );
        assert_eq!(negotiate(None, None, Some("de-DE, es;q=0.3"), En), Es);
        assert_eq!(negotiate(None, None, Some("de-DE"), Fr), Fr);
        assert_eq!(negotiate(None, None, None, Fr), Fr);
    }
}
