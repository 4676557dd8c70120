//! Fixed-width fields: alphanumerics left-justified and blank-filled,
//! numbers right-justified and zero-filled.

use crate::{NachaError, RECORD_LENGTH};
use civicpay_core::ParseError;
use jiff::civil::Date;
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

/// One record being written.
pub(crate) struct RecordWriter {
    text: Zeroizing<String>,
    record: &'static str,
}

impl RecordWriter {
    pub(crate) fn new(record: &'static str) -> Self {
        RecordWriter {
            text: Zeroizing::new(String::with_capacity(RECORD_LENGTH)),
            record,
        }
    }

    /// Text as banks take it: accents dropped (é → E), anything outside
    /// printable ASCII left out, upper case, cut to the width.
    pub(crate) fn alpha(&mut self, value: &str, width: usize) -> &mut Self {
        let mut written = 0;
        for c in ascii_text(value).take(width) {
            self.text.push(c);
            written += 1;
        }
        self.text.extend(std::iter::repeat_n(' ', width - written));
        self
    }

    /// A value already in its field's form, exactly `width` characters.
    pub(crate) fn exact(&mut self, value: &str, width: usize) -> Result<&mut Self, NachaError> {
        if value.len() != width || !value.is_ascii() {
            return Err(self.too_wide());
        }
        self.text.push_str(value);
        Ok(self)
    }

    pub(crate) fn number(&mut self, value: u64, width: usize) -> Result<&mut Self, NachaError> {
        let digits = value.to_string();
        if digits.len() > width {
            return Err(self.too_wide());
        }
        self.text
            .extend(std::iter::repeat_n('0', width - digits.len()));
        self.text.push_str(&digits);
        Ok(self)
    }

    pub(crate) fn date(&mut self, date: Date) -> Result<&mut Self, NachaError> {
        let yy = u64::try_from(date.year() % 100).map_err(|_| self.too_wide())?;
        self.number(yy, 2)?
            .number(u64::from(date.month().unsigned_abs()), 2)?
            .number(u64::from(date.day().unsigned_abs()), 2)
    }

    pub(crate) fn finish(self, out: &mut Zeroizing<String>) -> Result<(), NachaError> {
        if self.text.len() != RECORD_LENGTH {
            return Err(NachaError::File(format!(
                "the {} record came to {} characters, not {RECORD_LENGTH}",
                self.record,
                self.text.len()
            )));
        }
        out.push_str(&self.text);
        out.push('\n');
        Ok(())
    }

    fn too_wide(&self) -> NachaError {
        NachaError::File(format!(
            "a value does not fit its field in the {} record",
            self.record
        ))
    }
}

pub(crate) fn ascii_text(value: &str) -> impl Iterator<Item = char> + '_ {
    value
        .nfkd()
        .filter(|c| (' '..='~').contains(c))
        .map(|c| c.to_ascii_uppercase())
}

/// One 94-character record being read; `line` counts from 1.
#[derive(Clone, Copy)]
pub(crate) struct RecordReader<'a> {
    pub(crate) line: usize,
    pub(crate) text: &'a str,
}

impl<'a> RecordReader<'a> {
    /// Columns `from` to `to`, inclusive and counted from 1, as the layout
    /// tables number them.
    pub(crate) fn field(&self, name: &'static str, from: usize, to: usize) -> Field<'a> {
        Field {
            line: self.line,
            name,
            from,
            to,
            text: self.text.get(from - 1..to).unwrap_or_default(),
        }
    }

    pub(crate) fn type_code(&self) -> &'a str {
        self.text.get(..1).unwrap_or_default()
    }

    pub(crate) fn error(&self, problem: impl Into<String>) -> NachaError {
        NachaError::Record {
            line: self.line,
            problem: problem.into(),
        }
    }
}

pub(crate) struct Field<'a> {
    line: usize,
    name: &'static str,
    from: usize,
    to: usize,
    text: &'a str,
}

impl<'a> Field<'a> {
    pub(crate) fn error(&self, problem: impl Into<String>) -> NachaError {
        NachaError::Field {
            line: self.line,
            field: self.name,
            from: self.from,
            to: self.to,
            problem: problem.into(),
        }
    }

    pub(crate) fn raw(&self) -> &'a str {
        self.text
    }

    pub(crate) fn text(&self) -> String {
        self.text.trim_end().to_owned()
    }

    pub(crate) fn number(&self) -> Result<u64, NachaError> {
        if self.text.is_empty() || !self.text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.error("must be digits only, zero-filled"));
        }
        self.text
            .parse()
            .map_err(|_| self.error("must be digits only, zero-filled"))
    }

    pub(crate) fn expect(&self, wanted: &str) -> Result<(), NachaError> {
        if self.text == wanted {
            Ok(())
        } else {
            Err(self.error(format!("must be {wanted:?}")))
        }
    }

    pub(crate) fn date(&self) -> Result<Date, NachaError> {
        let n = self
            .number()
            .map_err(|_| self.error("must be a date, YYMMDD"))?;
        let (yy, mm, dd) = (n / 10_000, n / 100 % 100, n % 100);
        let as_i8 = |v: u64| i8::try_from(v).unwrap_or(0);
        Date::new(2000 + i16::try_from(yy).unwrap_or(0), as_i8(mm), as_i8(dd))
            .map_err(|_| self.error("is not a calendar date (YYMMDD)"))
    }

    /// Through a core type's parser; its message says what is wrong.
    pub(crate) fn parse_with<T>(
        &self,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Result<T, NachaError> {
        parse(self.text.trim_end()).map_err(|e| self.error(e.to_string()))
    }
}
