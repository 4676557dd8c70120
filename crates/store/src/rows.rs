//! Reading rows into domain types: each table has a row struct as stored
//! (`sqlx::FromRow`: text codes, minor units, microseconds) and a
//! `TryFrom` into its domain type. A value that does not parse is reported
//! as corrupt data naming its column, never unwrapped.

use crate::StoreError;
use sqlx::Row;
use sqlx::any::AnyRow;

/// A row read as its row struct `R`, then checked into the domain type `T`.
pub(crate) fn read<R, T>(row: &AnyRow) -> Result<T, StoreError>
where
    R: for<'r> sqlx::FromRow<'r, AnyRow>,
    T: TryFrom<R, Error = StoreError>,
{
    T::try_from(R::from_row(row)?)
}

/// Parses one stored column with a domain parser.
pub(crate) fn column<T, E: std::fmt::Display>(
    name: &'static str,
    raw: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, StoreError> {
    parse(raw).map_err(|e| StoreError::corrupt(name, e))
}

/// Parses an optional stored column with a domain parser.
pub(crate) fn opt_column<T, E: std::fmt::Display>(
    name: &'static str,
    raw: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, StoreError> {
    raw.map(|raw| column(name, raw, parse)).transpose()
}

/// Reads a JSON column.
pub(crate) fn json_column<T: serde::de::DeserializeOwned>(
    name: &'static str,
    raw: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(raw).map_err(|e| StoreError::corrupt(name, e))
}

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

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::corrupt("json", e))
}
