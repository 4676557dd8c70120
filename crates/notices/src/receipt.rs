//! A payment receipt as a one-page PDF on the city's letterhead, for a
//! resident's records. The caller supplies every line already in the
//! resident's language; this module only lays it out.

use crate::letter::{Style, render_document};

pub struct Receipt<'a> {
    pub city: &'a str,
    /// Address, telephone and e-mail of the city's contact, one per line.
    pub contact_lines: &'a [String],
    pub title: &'a str,
    /// Label and value: reference, amount, fee, card, time, payment id.
    pub rows: &'a [(String, String)],
    pub footer: &'a str,
}

pub fn render_receipt(receipt: &Receipt<'_>) -> Vec<u8> {
    let mut paragraphs = vec![(Style::Letterhead, receipt.city.to_owned())];
    paragraphs.extend(
        receipt
            .contact_lines
            .iter()
            .map(|l| (Style::Small, l.clone())),
    );
    paragraphs.push((Style::Body, String::new()));
    paragraphs.push((Style::Title, receipt.title.to_owned()));
    paragraphs.extend(
        receipt
            .rows
            .iter()
            .map(|(label, value)| (Style::Line, format!("{label}: {value}"))),
    );
    paragraphs.push((Style::Body, String::new()));
    paragraphs.push((Style::Body, receipt.footer.to_owned()));
    render_document(receipt.title, paragraphs)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    /// The words a reader sees, through Debian's poppler-utils.
    fn pdf_text(pdf: &[u8]) -> String {
        let mut child = Command::new("pdftotext")
            .args(["-", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("pdftotext (poppler-utils) reads the PDF for this test");
        child.stdin.take().unwrap().write_all(pdf).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn a_receipt_is_a_pdf_that_names_the_city_and_amount() {
        let rows = vec![("Amount paid".to_owned(), "$42.00".to_owned())];
        let pdf = render_receipt(&Receipt {
            city: "Springfield",
            contact_lines: &["Finance office, 555-0100".to_owned()],
            title: "Payment received",
            rows: &rows,
            footer: "Keep this receipt.",
        });
        assert!(pdf.starts_with(b"%PDF-"));
        let text = pdf_text(&pdf);
        assert!(text.contains("Springfield"), "letterhead missing: {text}");
        assert!(
            text.contains("Amount paid: $42.00"),
            "amount missing: {text}"
        );
    }
}
