//! The languages civicpay speaks, and text that a city writes in several.

use crate::ParseError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Language {
    En,
    Fr,
    Es,
}

impl Language {
    pub const ALL: [Language; 3] = [Language::En, Language::Fr, Language::Es];

    /// The BCP 47 primary tag, used in `lang=` attributes and catalogues.
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Fr => "fr",
            Language::Es => "es",
        }
    }

    /// The language's own name for itself, for the language switch.
    pub fn endonym(self) -> &'static str {
        match self {
            Language::En => "English",
            Language::Fr => "Français",
            Language::Es => "Español",
        }
    }

    /// Accepts a primary tag with any region (`fr-CA` → French).
    pub fn parse(tag: &str) -> Result<Self, ParseError> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or_default();
        Language::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(primary))
            .ok_or_else(|| ParseError::invalid(format!("unsupported language {:?}", tag.trim())))
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A city's own words (its name, a bill type's name) in one or more
/// languages. Reading falls back to English, then to any language given, so
/// a page never shows an empty name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LocalizedText(BTreeMap<Language, String>);

impl LocalizedText {
    pub fn new(english: impl Into<String>) -> Self {
        Self(BTreeMap::from([(Language::En, english.into())]))
    }

    #[must_use]
    pub fn with(mut self, language: Language, text: impl Into<String>) -> Self {
        self.0.insert(language, text.into());
        self
    }

    pub fn get(&self, language: Language) -> &str {
        self.0
            .get(&language)
            .or_else(|| self.0.get(&Language::En))
            .or_else(|| self.0.values().next())
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// The text in `language` only, without falling back.
    pub fn exact(&self, language: Language) -> Option<&str> {
        self.0.get(&language).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.values().all(|v| v.trim().is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tags_with_regions() {
        assert_eq!(Language::parse("fr-CA"), Ok(Language::Fr));
        assert_eq!(Language::parse("ES"), Ok(Language::Es));
        assert!(Language::parse("de").is_err());
        assert!(Language::parse("").is_err());
    }

    #[test]
    fn localized_text_falls_back_to_english() {
        let t = LocalizedText::new("Water").with(Language::Fr, "Eau");
        assert_eq!(t.get(Language::Fr), "Eau");
        assert_eq!(t.get(Language::Es), "Water");
        let only_fr = LocalizedText::default().with(Language::Fr, "Eau");
        assert_eq!(only_fr.get(Language::En), "Eau");
    }
}
