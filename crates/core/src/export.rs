//! Plain-text exports a city opens in a spreadsheet or hands to a mail house.

/// One CSV cell: quoted when it holds a separator, and never read by a
/// spreadsheet as a formula (a leading `=`, `+`, `-`, `@`, tab or carriage
/// return is escaped: spreadsheets skip the last two and read what follows).
pub fn csv_cell(s: &str) -> String {
    let guarded = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// A card brand code (`visa`, …) as people write it; empty if unknown.
pub fn card_brand_name(code: Option<&str>) -> &'static str {
    match code {
        Some("visa") => "Visa",
        Some("mastercard") => "Mastercard",
        Some("amex") => "American Express",
        Some("discover") => "Discover",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_never_formulas() {
        assert_eq!(csv_cell("Water"), "Water");
        assert_eq!(
            csv_cell("1 Elm St, Springfield"),
            "\"1 Elm St, Springfield\""
        );
        assert_eq!(csv_cell("say \"hi\", ok"), "\"say \"\"hi\"\", ok\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-5"), "'-5");
        assert_eq!(csv_cell("\t=1+1"), "'\t=1+1");
        assert_eq!(csv_cell("\r=1+1"), "\"'\r=1+1\"");
        assert_eq!(card_brand_name(Some("amex")), "American Express");
        assert_eq!(card_brand_name(Some("unknown")), "");
    }
}
