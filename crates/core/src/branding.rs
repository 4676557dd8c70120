//! A city's look on its resident pages: one accent colour and a logo.
//!
//! The accent colours links (text on the white page) and the stripe under
//! the near-black header and beside cards and notices. So it must read as
//! text on white (WCAG 2.2 1.4.3, 4.5:1) and stand apart from the text
//! colour it sits next to (1.4.11 non-text contrast, 3:1; the same ratio
//! technique G183 asks of links within text). A colour that fails either is
//! refused, with both ratios, so the administrator knows which way to move.

use crate::ParseError;
use serde::{Deserialize, Serialize};

/// The page's text and header colour (`#0b0c0c` in the stylesheet).
pub const TEXT_COLOUR: Rgb = Rgb(0x0b, 0x0c, 0x0c);
pub const WHITE: Rgb = Rgb(0xff, 0xff, 0xff);
/// Least contrast against white: links are normal-size text.
pub const MIN_AGAINST_WHITE: f64 = 4.5;
/// Least contrast against the text colour: a non-text indicator.
pub const MIN_AGAINST_TEXT: f64 = 3.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// WCAG 2.2 relative luminance (sRGB, threshold 0.04045).
    pub fn luminance(self) -> f64 {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(self.0) + 0.7152 * channel(self.1) + 0.0722 * channel(self.2)
    }

    /// WCAG contrast ratio, 1.0 to 21.0, the same whichever is lighter.
    pub fn contrast(self, other: Rgb) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }
}

/// An accent colour that passed both contrast checks, kept as `#rrggbb`
/// (lower case) so the stylesheet built from it is one known shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccentColour(String);

impl AccentColour {
    /// `#1d70b8` or `1D70B8`; three-digit forms are spelled out.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let rgb = parse_hex(s)?;
        let (white, text) = (rgb.contrast(WHITE), rgb.contrast(TEXT_COLOUR));
        if white < MIN_AGAINST_WHITE || text < MIN_AGAINST_TEXT {
            let hex = hex(rgb);
            return Err(ParseError::invalid(format!(
                "{hex} has contrast {} against white (needs {MIN_AGAINST_WHITE}:1, links are text on white) \
                 and {} against the text colour #0b0c0c (needs {MIN_AGAINST_TEXT}:1, the stripe under the dark header); {}",
                ratio(white),
                ratio(text),
                if white < MIN_AGAINST_WHITE {
                    "choose a darker shade"
                } else {
                    "choose a lighter shade"
                }
            )));
        }
        Ok(Self(hex(rgb)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The rules that paint the accent, added after the site's stylesheet
    /// (a `<style>` of its own, allowed by its hash like the main one).
    pub fn stylesheet(&self) -> String {
        let c = &self.0;
        format!(
            "a{{color:{c}}}a:hover{{color:{c}}}.site-header{{border-bottom-color:{c}}}\
             .card-list li,.notice:not(.notice--warning){{border-left-color:{c}}}"
        )
    }
}

crate::string_conversions!(AccentColour);

fn ratio(r: f64) -> String {
    format!("{:.2}:1", (r * 100.0).floor() / 100.0)
}

fn hex(rgb: Rgb) -> String {
    format!("#{:02x}{:02x}{:02x}", rgb.0, rgb.1, rgb.2)
}

fn parse_hex(s: &str) -> Result<Rgb, ParseError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(ParseError::Missing);
    }
    let digits = s.strip_prefix('#').unwrap_or(s);
    let wrong = || {
        ParseError::invalid(format!(
            "{:?} is not a colour like #1d70b8 (six hexadecimal digits)",
            s.chars().take(20).collect::<String>()
        ))
    };
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(wrong());
    }
    let full: String = match digits.len() {
        3 => digits.chars().flat_map(|c| [c, c]).collect(),
        6 => digits.to_owned(),
        _ => return Err(wrong()),
    };
    let byte = |i: usize| {
        full.get(i..i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .ok_or_else(wrong)
    };
    Ok(Rgb(byte(0)?, byte(2)?, byte(4)?))
}

/// What a city's pages show of its brand. The logo's bytes live apart
/// (they are only read when a browser asks for them); the tenant carries
/// their digest, which names the file so a new logo is never served stale.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Branding {
    pub accent: Option<AccentColour>,
    pub logo: Option<LogoDigest>,
}

/// The first 16 hex digits of a logo's SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LogoDigest(String);

impl LogoDigest {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if s.len() == 16 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ParseError::invalid(
                "a logo digest is 16 lower-case hex digits",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

crate::string_conversions!(LogoDigest);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn contrast_matches_the_published_examples() {
        // WCAG's own extremes, and GOV.UK's link blue on white (5.17:1).
        assert!((Rgb(0, 0, 0).contrast(WHITE) - 21.0).abs() < 1e-9);
        assert!((WHITE.contrast(WHITE) - 1.0).abs() < 1e-9);
        let blue = Rgb(0x1d, 0x70, 0xb8).contrast(WHITE);
        assert!((5.16..5.18).contains(&blue), "{blue}");
        // Shown rounded down, so a ratio is never overstated.
        assert_eq!(ratio(blue), "5.16:1");
        // #767676 is the classic lightest grey that passes 4.5:1 on white.
        assert!(Rgb(0x76, 0x76, 0x76).contrast(WHITE) >= 4.5);
        assert!(Rgb(0x77, 0x77, 0x77).contrast(WHITE) < 4.5);
    }

    #[test]
    fn a_colour_that_passes_both_is_kept_in_one_spelling() {
        assert_eq!(
            AccentColour::parse(" #1D70B8 ").unwrap().as_str(),
            "#1d70b8"
        );
        assert_eq!(AccentColour::parse("1d70b8").unwrap().as_str(), "#1d70b8");
    }

    #[test]
    fn a_low_contrast_colour_is_refused_with_both_ratios() {
        // Pale yellow: unreadable as a link on white.
        let pale = AccentColour::parse("#ffdd00").unwrap_err().to_string();
        assert!(pale.contains("against white"), "{pale}");
        assert!(pale.contains("darker"), "{pale}");
        // Navy: fine on white, invisible against the black header.
        let navy = AccentColour::parse("#003366").unwrap_err().to_string();
        assert!(navy.contains("against the text colour"), "{navy}");
        assert!(navy.contains("lighter"), "{navy}");
        assert!(navy.contains("1.55:1 against the text colour"), "{navy}");
    }

    #[test]
    fn what_is_not_a_colour_is_refused_as_such() {
        for bad in ["", "#12345", "blue", "#1d70b8; }", "#gggggg", "#1d70b8ff"] {
            assert!(AccentColour::parse(bad).is_err(), "{bad:?}");
        }
        assert!(
            AccentColour::parse("red; x")
                .unwrap_err()
                .to_string()
                .contains("not a colour")
        );
    }

    proptest! {
        /// Whatever is typed, a kept colour meets both ratios and its
        /// stylesheet holds nothing but that colour in the known rules.
        #[test]
        fn a_kept_colour_always_meets_both_ratios(r: u8, g: u8, b: u8) {
            let typed = format!("#{r:02x}{g:02x}{b:02x}");
            let rgb = Rgb(r, g, b);
            match AccentColour::parse(&typed) {
                Ok(accent) => {
                    prop_assert!(rgb.contrast(WHITE) >= MIN_AGAINST_WHITE);
                    prop_assert!(rgb.contrast(TEXT_COLOUR) >= MIN_AGAINST_TEXT);
                    prop_assert_eq!(
                        accent.stylesheet().replace(accent.as_str(), "C"),
                        AccentColour::parse("#1d70b8").unwrap().stylesheet().replace("#1d70b8", "C")
                    );
                }
                Err(_) => prop_assert!(
                    rgb.contrast(WHITE) < MIN_AGAINST_WHITE || rgb.contrast(TEXT_COLOUR) < MIN_AGAINST_TEXT
                ),
            }
        }

        #[test]
        fn any_text_is_parsed_without_panic(s in ".{0,40}") {
            let _ = AccentColour::parse(&s);
        }
    }
}
