//! Streaming bill import from CSV or JSON.
//!
//! Files can hold millions of rows, so nothing here holds the whole file:
//! a blocking thread parses and validates records one at a time and hands
//! batches over a bounded channel to the writer, which upserts each batch in
//! its own transaction. By default a first pass validates the whole file and
//! nothing is written if any record is invalid; with `skip_invalid` the one
//! pass writes the good records and reports the rest.

use crate::portal::bills::UpsertCounts;
use crate::{Store, StoreError};
use civicpay_core::import::{
    BillRecord, CSV_COLUMNS, CSV_OPTIONAL_COLUMNS, ImportContext, ValidBill,
};
use civicpay_core::{BillType, Currency, Tenant};
use serde::de::{SeqAccess, Visitor};
use std::fmt;
use std::io::{BufReader, Read, Seek, SeekFrom};
use tokio::sync::mpsc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    Csv,
    Json,
}

impl ImportFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Some(Self::Csv),
            "json" => Some(Self::Json),
            _ => None,
        }
    }

    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        path.extension()
            .and_then(|e| e.to_str())
            .and_then(Self::parse)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ImportOptions {
    pub format: ImportFormat,
    pub skip_invalid: bool,
    pub batch_size: usize,
}

impl ImportOptions {
    pub fn new(format: ImportFormat) -> Self {
        Self {
            format,
            skip_invalid: false,
            batch_size: 1000,
        }
    }
}

/// Where in the input a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A line of a CSV file (the header is line 1).
    Line(u64),
    /// The n-th record (from 1) of a JSON array.
    Record(u64),
    /// The input as a whole.
    Input,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub location: Location,
    /// The column or field, when the problem is in one.
    pub field: Option<String>,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.location, &self.field) {
            (Location::Line(n), Some(c)) => write!(f, "line {n}, column {c}: {}", self.reason),
            (Location::Line(n), None) => write!(f, "line {n}: {}", self.reason),
            (Location::Record(n), Some(c)) => write!(f, "record {n}, field {c}: {}", self.reason),
            (Location::Record(n), None) => write!(f, "record {n}: {}", self.reason),
            (Location::Input, _) => f.write_str(&self.reason),
        }
    }
}

/// At most this many errors are kept for the report; all are counted.
pub const MAX_REPORTED_ERRORS: usize = 1000;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub records: u64,
    pub invalid: u64,
    pub counts: UpsertCounts,
    pub errors: Vec<RowError>,
    /// False when the import was refused as a whole.
    pub written: bool,
}

impl ImportReport {
    fn record_error(&mut self, mut errors: Vec<RowError>) {
        self.invalid += 1;
        let room = MAX_REPORTED_ERRORS.saturating_sub(self.errors.len());
        errors.truncate(room);
        self.errors.extend(errors);
    }

    fn fatal(&mut self, error: RowError) {
        self.written = false;
        self.invalid += 1;
        self.errors.push(error);
    }
}

pub type Scanned = Result<ValidBill, Vec<RowError>>;

impl Store {
    pub async fn import_bills<R>(
        &self,
        tenant: &Tenant,
        source: R,
        options: ImportOptions,
    ) -> Result<ImportReport, StoreError>
    where
        R: Read + Seek + Send + 'static,
    {
        let bill_types = self.bill_types(&tenant.id).await?;
        let currency = tenant.currency;
        let mut report = ImportReport::default();
        let mut source = source;

        if !options.skip_invalid {
            let types = bill_types.clone();
            let (returned, checked) = tokio::task::spawn_blocking(move || {
                let mut checked = ImportReport::default();
                let outcome = scan(&mut source, options.format, currency, &types, &mut |item| {
                    checked.records += 1;
                    if let Err(errors) = item {
                        checked.record_error(errors);
                    }
                    true
                });
                if let Err(fatal) = outcome {
                    checked.fatal(fatal);
                }
                let rewound = source.seek(SeekFrom::Start(0)).map(|_| source);
                (rewound, checked)
            })
            .await
            .map_err(|e| StoreError::Read(e.to_string()))?;
            if checked.invalid > 0 {
                return Ok(ImportReport {
                    written: false,
                    ..checked
                });
            }
            source = returned.map_err(|e| StoreError::Read(e.to_string()))?;
        }

        let (batches, mut received) = mpsc::channel::<Vec<ValidBill>>(2);
        let batch_size = options.batch_size.max(1);
        let reader = tokio::task::spawn_blocking(move || {
            let mut scanned = ImportReport::default();
            let mut batch = Vec::with_capacity(batch_size);
            let outcome = scan(
                &mut source,
                options.format,
                currency,
                &bill_types,
                &mut |item| {
                    scanned.records += 1;
                    match item {
                        Ok(bill) => {
                            batch.push(bill);
                            if batch.len() >= batch_size {
                                let full =
                                    std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
                                return batches.blocking_send(full).is_ok();
                            }
                        }
                        Err(errors) => scanned.record_error(errors),
                    }
                    true
                },
            );
            if let Err(fatal) = outcome {
                scanned.fatal(fatal);
            }
            if !batch.is_empty() {
                let _ = batches.blocking_send(batch);
            }
            scanned
        });

        let mut counts = UpsertCounts::default();
        let mut write_error = None;
        while let Some(batch) = received.recv().await {
            match self.upsert_bills(tenant, &batch).await {
                Ok(c) => {
                    counts.inserted += c.inserted;
                    counts.updated += c.updated;
                    counts.unchanged += c.unchanged;
                }
                Err(e) => {
                    write_error = Some(e);
                    break;
                }
            }
        }
        drop(received);
        let scanned = reader.await.map_err(|e| StoreError::Read(e.to_string()))?;
        if let Some(e) = write_error {
            return Err(e);
        }
        report.records = scanned.records;
        report.invalid = scanned.invalid;
        report.errors = scanned.errors;
        report.counts = counts;
        report.written = true;
        Ok(report)
    }
}

/// Reads every record of `source`, validating each and passing it to
/// `sink`, which returns false to stop. An error that makes the rest of the
/// input unreadable is returned; per-record problems go to the sink.
pub fn scan<R: Read>(
    source: R,
    format: ImportFormat,
    currency: Currency,
    bill_types: &[BillType],
    sink: &mut dyn FnMut(Scanned) -> bool,
) -> Result<(), RowError> {
    let context = ImportContext::new(currency, bill_types);
    match format {
        ImportFormat::Csv => scan_csv(source, &context, sink),
        ImportFormat::Json => scan_json(source, &context, sink),
    }
}

fn field_errors(
    location: &Location,
    errors: Vec<civicpay_core::import::FieldError>,
) -> Vec<RowError> {
    errors
        .into_iter()
        .map(|e| RowError {
            location: location.clone(),
            field: Some(e.field),
            reason: e.reason,
        })
        .collect()
}

fn scan_csv<R: Read>(
    source: R,
    context: &ImportContext<'_>,
    sink: &mut dyn FnMut(Scanned) -> bool,
) -> Result<(), RowError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(BufReader::with_capacity(1 << 16, source));
    let headers = reader.headers().map_err(|e| csv_error(&e, 1))?.clone();
    let header_names: Vec<String> = headers.iter().map(|h| h.trim().to_owned()).collect();
    let missing: Vec<&str> = CSV_COLUMNS
        .into_iter()
        .filter(|c| !header_names.iter().any(|h| h == c))
        .collect();
    let unknown: Vec<&str> = header_names
        .iter()
        .map(String::as_str)
        .filter(|h| !CSV_COLUMNS.contains(h) && !CSV_OPTIONAL_COLUMNS.contains(h))
        .collect();
    if !missing.is_empty() || !unknown.is_empty() {
        let mut reason = Vec::new();
        if !missing.is_empty() {
            reason.push(format!("missing column(s): {}", missing.join(", ")));
        }
        if !unknown.is_empty() {
            reason.push(format!("unknown column(s): {}", unknown.join(", ")));
        }
        return Err(RowError {
            location: Location::Line(1),
            field: None,
            reason: format!(
                "{} (the header must name: {})",
                reason.join("; "),
                CSV_COLUMNS.join(", ")
            ),
        });
    }
    let trimmed_headers = csv::StringRecord::from(header_names);
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let line = record.position().map_or(line, csv::Position::line);
                let location = Location::Line(line);
                let scanned = match record.deserialize::<BillRecord>(Some(&trimmed_headers)) {
                    Ok(raw) => context
                        .validate(&raw)
                        .map_err(|errors| field_errors(&location, errors)),
                    Err(e) => Err(vec![RowError {
                        location,
                        field: None,
                        reason: e.to_string(),
                    }]),
                };
                if !sink(scanned) {
                    return Ok(());
                }
            }
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => return Err(csv_error(&e, line)),
            Err(e) => {
                let line = e.position().map_or(line, csv::Position::line);
                if !sink(Err(vec![csv_error(&e, line)])) {
                    return Ok(());
                }
            }
        }
    }
}

fn csv_error(e: &csv::Error, line: u64) -> RowError {
    let reason = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("has {len} fields but the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8 text".to_owned(),
        _ => e.to_string(),
    };
    RowError {
        location: Location::Line(line),
        field: None,
        reason,
    }
}

fn scan_json<R: Read>(
    source: R,
    context: &ImportContext<'_>,
    sink: &mut dyn FnMut(Scanned) -> bool,
) -> Result<(), RowError> {
    let mut deserializer =
        serde_json::Deserializer::from_reader(BufReader::with_capacity(1 << 16, source));
    let visitor = RecordVisitor { context, sink };
    serde::Deserializer::deserialize_seq(&mut deserializer, visitor)
        .and_then(|()| deserializer.end())
        .map_err(|e| RowError {
            location: Location::Input,
            field: None,
            reason: format!("the JSON is not an array of bill records: {e}"),
        })
}

/// Walks a JSON array element by element, so memory holds one record at a
/// time. Each element is read as a generic value first, so that a record of
/// the wrong shape is reported and the walk goes on.
struct RecordVisitor<'c, 's> {
    context: &'c ImportContext<'c>,
    sink: &'s mut dyn FnMut(Scanned) -> bool,
}

impl<'de> Visitor<'de> for RecordVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of bill records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0u64;
        while let Some(value) = seq.next_element::<serde_json::Value>()? {
            index += 1;
            if !(self.sink)(json_record(self.context, index, value)) {
                break;
            }
        }
        Ok(())
    }
}

/// Validates one JSON element; public for the bill API, which receives the
/// same records in a request body.
pub fn json_record(context: &ImportContext<'_>, index: u64, value: serde_json::Value) -> Scanned {
    let location = Location::Record(index);
    let error = |field: Option<&str>, reason: String| {
        Err(vec![RowError {
            location: location.clone(),
            field: field.map(str::to_owned),
            reason,
        }])
    };
    let Some(object) = value.as_object() else {
        return error(None, "must be an object".into());
    };
    if object
        .get("amount")
        .is_some_and(serde_json::Value::is_number)
    {
        return error(
            Some("amount"),
            "must be a string such as \"84.20\" (JSON numbers are not exact)".into(),
        );
    }
    match serde_json::from_value::<BillRecord>(value) {
        Ok(raw) => context
            .validate(&raw)
            .map_err(|errors| field_errors(&location, errors)),
        Err(e) => error(None, e.to_string()),
    }
}
