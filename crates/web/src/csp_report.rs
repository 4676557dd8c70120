//! Content-Security-Policy violation reports as browsers send them: the
//! `report-uri` format (`{"csp-report": {...}}`) and the Reporting API's
//! (`[{"type": "csp-violation", "body": {...}}, ...]`). Reports come from
//! anyone, so every field is cut to a bounded length.

use serde_json::Value;

/// A report larger than this is cut: it is evidence, not storage.
const MAX_REPORT: usize = 16 * 1024;
/// Each field is cut to this many characters.
const MAX_FIELD: usize = 500;

/// One violation, as far as a browser (or a forger) told it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub document_uri: String,
    pub violated_directive: String,
    pub blocked_uri: String,
    /// The report as sent, cut to a bounded size.
    pub report: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("not a CSP report")]
    NotAReport,
}

fn field(report: &Value, names: &[&str]) -> String {
    names
        .iter()
        .find_map(|n| report.get(*n).and_then(Value::as_str))
        .unwrap_or_default()
        .chars()
        .take(MAX_FIELD)
        .collect()
}

fn cut(mut text: String, bytes: usize) -> String {
    if text.len() > bytes {
        let mut end = bytes;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// Every violation in one request body.
pub fn parse(body: &[u8]) -> Result<Vec<Violation>, ReportError> {
    let raw: Value =
        serde_json::from_slice(body).map_err(|e| ReportError::NotJson(e.to_string()))?;
    let reports: Vec<Value> = match raw {
        Value::Object(mut o) if o.contains_key("csp-report") => {
            o.remove("csp-report").into_iter().collect()
        }
        Value::Array(items) => items
            .into_iter()
            .filter_map(|mut i| i.get_mut("body").map(Value::take))
            .collect(),
        _ => return Err(ReportError::NotAReport),
    };
    Ok(reports
        .iter()
        .map(|report| Violation {
            document_uri: field(report, &["document-uri", "documentURL"]),
            violated_directive: field(
                report,
                &[
                    "violated-directive",
                    "effectiveDirective",
                    "effective-directive",
                ],
            ),
            blocked_uri: field(report, &["blocked-uri", "blockedURL"]),
            report: cut(report.to_string(), MAX_REPORT),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn both_formats_are_read_and_fields_are_bounded() {
        let classic = br#"{"csp-report": {"document-uri": "https://pay.example/card/a/b", "violated-directive": "script-src-elem", "blocked-uri": "https://evil.example/x.js"}}"#;
        let read = parse(classic).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].violated_directive, "script-src-elem");
        let api = format!(
            r#"[{{"type": "csp-violation", "body": {{"documentURL": "{}", "effectiveDirective": "img-src"}}}}, {{"type": "other"}}]"#,
            "é".repeat(10_000)
        );
        let read = parse(api.as_bytes()).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].document_uri.chars().count(), MAX_FIELD);
        assert!(read[0].report.len() <= MAX_REPORT);
        assert_eq!(cut("aé".to_owned(), 2), "a", "never inside a character");
        assert_eq!(parse(b"{}"), Err(ReportError::NotAReport));
        assert!(matches!(parse(b"nope"), Err(ReportError::NotJson(_))));
    }
}
