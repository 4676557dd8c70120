//! One letter as a PDF: US Letter, 25 mm margins, 11-point Helvetica body
//! (never under 10 points), headings in bold, pages added as needed.

use crate::text::{Incident, element, words};
use civicpay_core::incident::AffectedPerson;
use printpdf::{
    BuiltinFont, Mm, Op, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, TextItem,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LetterTemplate {
    /// California Civil Code 1798.82: the title and the five headings, in
    /// that order, and the security-freeze notice.
    California,
    /// The same structure without the California-only paragraph.
    Generic,
}

impl LetterTemplate {
    pub fn parse(s: &str) -> Option<LetterTemplate> {
        match s {
            "california" => Some(LetterTemplate::California),
            "generic" => Some(LetterTemplate::Generic),
            _ => None,
        }
    }
}

/// Everything one letter says.
pub struct Letter<'a> {
    pub city: &'a str,
    pub city_contact: &'a str,
    pub city_email: &'a str,
    pub time_zone: &'a jiff::tz::TimeZone,
    pub person: &'a AffectedPerson,
    pub incident: &'a Incident,
    pub template: LetterTemplate,
    pub dated: jiff::civil::Date,
}

#[derive(Clone, Copy)]
pub(crate) enum Style {
    Letterhead,
    Small,
    Title,
    Heading,
    Body,
    /// Body text without the gap after it: address lines.
    Line,
}

impl Style {
    fn font(self) -> (BuiltinFont, f32) {
        match self {
            Style::Letterhead => (BuiltinFont::HelveticaBold, 16.0),
            Style::Small => (BuiltinFont::Helvetica, 10.0),
            Style::Title => (BuiltinFont::HelveticaBold, 14.0),
            Style::Heading => (BuiltinFont::HelveticaBold, 12.0),
            Style::Body | Style::Line => (BuiltinFont::Helvetica, 11.0),
        }
    }
}

const PAGE_WIDTH: f32 = 215.9;
const PAGE_HEIGHT: f32 = 279.4;
const MARGIN: f32 = 25.0;

/// Breaks text into lines that fit the measure: Helvetica averages about
/// half an em per character, so a line holds width / (size × 0.52).
fn wrap(text: &str, size: f32) -> Vec<String> {
    let width_pt = (PAGE_WIDTH - 2.0 * MARGIN) / 25.4 * 72.0;
    let per_line = ((width_pt / (size * 0.52)) as usize).max(20);
    let mut lines = Vec::new();
    for paragraph_line in text.lines() {
        let mut line = String::new();
        for word in paragraph_line.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > per_line {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}

fn month(language: &str, m: i8) -> &'static str {
    const EN: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const FR: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    const ES: [&str; 12] = [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ];
    let names = match language {
        "fr" => &FR,
        "es" => &ES,
        _ => &EN,
    };
    usize::try_from(m - 1)
        .ok()
        .and_then(|i| names.get(i))
        .copied()
        .unwrap_or_default()
}

fn date_words(language: &str, d: jiff::civil::Date) -> String {
    match language {
        "fr" => format!("{} {} {}", d.day(), month(language, d.month()), d.year()),
        "es" => format!(
            "{} de {} de {}",
            d.day(),
            month(language, d.month()),
            d.year()
        ),
        _ => format!("{} {} {}", month(language, d.month()), d.day(), d.year()),
    }
}

fn list(language: &str, items: &[String]) -> String {
    let and = match language {
        "fr" => "et",
        "es" => "y",
        _ => "and",
    };
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} {and} {last}", rest.join(", ")),
    }
}

/// The letter's paragraphs in order, each with its style.
fn paragraphs(letter: &Letter<'_>) -> Vec<(Style, String)> {
    let person = letter.person;
    let language = match person.language.as_str() {
        "fr" | "es" => person.language.as_str(),
        _ => "en",
    };
    let w = words(language);
    let day =
        |t: jiff::Timestamp| date_words(language, t.to_zoned(letter.time_zone.clone()).date());
    let mut elements: Vec<String> = person
        .data_elements
        .iter()
        .map(|e| element(language, e).to_owned())
        .collect();
    elements.extend(person.cards.iter().cloned());
    let hours = letter
        .incident
        .contact_hours
        .as_ref()
        .map(|h| format!(" ({h})"))
        .unwrap_or_default();
    let mut out = vec![
        (Style::Letterhead, letter.city.to_owned()),
        (Style::Small, letter.city_contact.to_owned()),
        (Style::Body, String::new()),
        (Style::Body, date_words(language, letter.dated)),
        (Style::Body, String::new()),
        (Style::Line, person.name.clone()),
    ];
    for part in person
        .postal_address
        .split([',', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        out.push((Style::Line, part.to_owned()));
    }
    out.extend([
        (Style::Body, String::new()),
        (Style::Title, w.title.to_owned()),
        (
            Style::Body,
            if language == "fr" {
                format!("{},", w.dear)
            } else {
                format!("{} {},", w.dear, person.name)
            },
        ),
        (Style::Heading, w.what_happened.to_owned()),
        (
            Style::Body,
            w.between
                .replace("{first}", &day(person.first))
                .replace("{last}", &day(person.last)),
        ),
        (Style::Body, letter.incident.what_happened.clone()),
        (Style::Heading, w.information.to_owned()),
        (
            Style::Body,
            w.involved.replace("{elements}", &list(language, &elements)),
        ),
        (Style::Heading, w.doing.to_owned()),
        (Style::Body, letter.incident.what_we_are_doing.clone()),
        (Style::Heading, w.you_can_do.to_owned()),
        (Style::Body, w.advice.to_owned()),
    ]);
    if let Some(extra) = &letter.incident.what_you_can_do {
        out.push((Style::Body, extra.clone()));
    }
    if letter.template == LetterTemplate::California {
        out.push((Style::Body, w.california.to_owned()));
    }
    out.extend([
        (Style::Heading, w.more.to_owned()),
        (
            Style::Body,
            format!(
                "{} {}",
                w.call
                    .replace("{phone}", &letter.incident.contact_phone)
                    .replace("{hours}", &hours),
                letter.city_email
            ),
        ),
        (Style::Body, String::new()),
        (Style::Body, w.sincerely.to_owned()),
        (Style::Body, letter.city.to_owned()),
    ]);
    out
}

/// The letter as PDF bytes.
pub fn render_letter(letter: &Letter<'_>) -> Vec<u8> {
    render_document(words(&letter.person.language).title, paragraphs(letter))
}

/// Paragraphs in their styles as PDF pages, breaking pages as needed.
pub(crate) fn render_document(title: &str, paragraphs: Vec<(Style, String)>) -> Vec<u8> {
    let mut pages = Vec::new();
    let mut ops = Vec::new();
    let mut y = PAGE_HEIGHT - MARGIN;
    for (style, text) in paragraphs {
        let (font, size) = style.font();
        let line_height = size * 1.35 / 72.0 * 25.4;
        if matches!(style, Style::Heading | Style::Title) {
            y -= line_height * 0.6;
        }
        for line in wrap(&text, size) {
            if y < MARGIN + line_height {
                pages.push(PdfPage::new(
                    Mm(PAGE_WIDTH),
                    Mm(PAGE_HEIGHT),
                    std::mem::take(&mut ops),
                ));
                y = PAGE_HEIGHT - MARGIN;
            }
            y -= line_height;
            if line.is_empty() {
                continue;
            }
            ops.extend([
                Op::StartTextSection,
                Op::SetTextCursor {
                    pos: Point {
                        x: Mm(MARGIN).into(),
                        y: Mm(y).into(),
                    },
                },
                Op::SetFont {
                    font: PdfFontHandle::Builtin(font),
                    size: Pt(size),
                },
                Op::ShowText {
                    items: vec![TextItem::Text(line)],
                },
                Op::EndTextSection,
            ]);
        }
        if matches!(style, Style::Body) {
            y -= line_height * 0.3;
        }
    }
    pages.push(PdfPage::new(Mm(PAGE_WIDTH), Mm(PAGE_HEIGHT), ops));
    let mut document = PdfDocument::new(title);
    document
        .with_pages(pages)
        .save(&PdfSaveOptions::default(), &mut Vec::new())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn long_text_wraps_and_nothing_is_lost() {
        let text = "word ".repeat(200);
        let lines = wrap(&text, 11.0);
        assert!(lines.len() > 5);
        assert!(lines.iter().all(|l| l.chars().count() <= 90));
        assert_eq!(lines.join(" ").split_whitespace().count(), 200);
    }

    #[test]
    fn dates_read_naturally_in_each_language() {
        let d = jiff::civil::date(2026, 11, 23);
        assert_eq!(date_words("en", d), "November 23 2026");
        assert_eq!(date_words("fr", d), "23 novembre 2026");
        assert_eq!(date_words("es", d), "23 de noviembre de 2026");
        assert_eq!(
            list("en", &["a".into(), "b".into(), "c".into()]),
            "a, b and c"
        );
    }
}
