//! An audit entry's details as a person reads them: one labelled line per
//! field, a change as "before → after", nested fields under their parent's
//! name. The entry itself keeps the JSON (the chain hashes it).

use serde_json::Value;

/// (label, value) lines of an entry's details; text that is not a JSON
/// object is shown as it is, on one unlabelled line.
pub(crate) fn readable(details: &str) -> Vec<(String, String)> {
    match serde_json::from_str::<Value>(details) {
        Ok(Value::Object(fields)) => {
            let mut lines = Vec::new();
            for (key, value) in &fields {
                push(&mut lines, &label(key), value);
            }
            lines
        }
        Ok(Value::Null) => Vec::new(),
        _ => vec![(String::new(), details.to_owned())],
    }
}

fn label(key: &str) -> String {
    key.replace('_', " ")
}

fn push(lines: &mut Vec<(String, String)>, name: &str, value: &Value) {
    match value {
        Value::Object(fields) if is_change(fields) => {
            let before = fields.get("from").or_else(|| fields.get("before"));
            let after = fields.get("to").or_else(|| fields.get("after"));
            lines.push((
                name.to_owned(),
                format!(
                    "{} → {}",
                    scalar(before.unwrap_or(&Value::Null)),
                    scalar(after.unwrap_or(&Value::Null))
                ),
            ));
        }
        Value::Object(fields) if fields.is_empty() => lines.push((name.to_owned(), "none".into())),
        Value::Object(fields) => {
            for (key, inner) in fields {
                push(lines, &format!("{name} › {}", label(key)), inner);
            }
        }
        other => lines.push((name.to_owned(), scalar(other))),
    }
}

/// `{from, to}` or `{before, after}`: how setting and city changes are kept.
fn is_change(fields: &serde_json::Map<String, Value>) -> bool {
    let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
    matches!(keys.as_slice(), ["from", "to"] | ["after", "before"])
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Null => "none".to_owned(),
        Value::String(s) if s.is_empty() => "(empty)".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "none".to_owned(),
        Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(", "),
        Value::Object(_) => value.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::readable;

    fn lines(details: &str) -> Vec<String> {
        readable(details)
            .into_iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect()
    }

    #[test]
    fn changes_read_as_before_and_after() {
        assert_eq!(
            lines(
                r#"{"refund_approval_threshold":{"from":10000,"to":25000},"refund_daily_limit_per_staff":{"from":null,"to":100000}}"#
            ),
            [
                "refund approval threshold: 10000 → 25000",
                "refund daily limit per staff: none → 100000"
            ]
        );
        assert_eq!(
            lines(r#"{"path":"contact.phone","before":"+1 555","after":""}"#),
            ["after: (empty)", "before: +1 555", "path: contact.phone"],
            "a flat entry with before/after keys stays flat"
        );
        assert_eq!(
            lines(r#"{"field":{"after":"b","before":"a"}}"#),
            ["field: a → b"]
        );
    }

    #[test]
    fn nested_fields_and_lists_are_labelled_by_their_parents() {
        assert_eq!(
            lines(
                r#"{"filter":{"from":"2026-01-01","status":"success"},"roles":["clerk","auditor"],"empty":{}}"#
            ),
            [
                "empty: none",
                "filter › from: 2026-01-01",
                "filter › status: success",
                "roles: clerk, auditor"
            ]
        );
    }

    #[test]
    fn text_that_is_not_an_object_is_shown_as_it_is() {
        assert_eq!(lines("not json"), [": not json"]);
        assert_eq!(lines("[1,2]"), [": [1,2]"]);
        assert!(lines("null").is_empty());
    }
}
