//! Reading columns out of `Any` rows into domain types. A value that does
//! not parse is reported as corrupt data, never unwrapped.

use crate::StoreError;
use sqlx::Row;
use sqlx::any::AnyRow;

pub(crate) fn text(row: &AnyRow, column: &'static str) -> Result<String, StoreError> {
    Ok(row.try_get::<String, _>(column)?)
}

pub(crate) fn opt_text(row: &AnyRow, column: &'static str) -> Result<Option<String>, StoreError> {
    Ok(row.try_get::<Option<String>, _>(column)?)
}

pub(crate) fn int(row: &AnyRow, column: &'static str) -> Result<i64, StoreError> {
    Ok(row.try_get::<i64, _>(column)?)
}

pub(crate) fn opt_int(row: &AnyRow, column: &'static str) -> Result<Option<i64>, StoreError> {
    Ok(row.try_get::<Option<i64>, _>(column)?)
}

/// Parses a text column with a domain parser.
pub(crate) fn parsed<T, E: std::fmt::Display>(
    row: &AnyRow,
    column: &'static str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, StoreError> {
    let raw = text(row, column)?;
    parse(&raw).map_err(|e| StoreError::corrupt(column, e))
}

pub(crate) fn json<T: serde::de::DeserializeOwned>(
    row: &AnyRow,
    column: &'static str,
) -> Result<T, StoreError> {
    let raw = text(row, column)?;
    serde_json::from_str(&raw).map_err(|e| StoreError::corrupt(column, e))
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::corrupt("json", e))
}
