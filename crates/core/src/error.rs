use thiserror::Error;

/// Why a value from outside (a form, a CSV cell, a JSON field) was refused.
/// The message names the problem in words a city clerk can act on; the caller
/// adds where (line, column, field).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("is required")]
    Missing,
    #[error("is too long (at most {max} characters)")]
    TooLong { max: usize },
    #[error("{0}")]
    Invalid(String),
    #[error("currency {found} does not match the city's currency {expected}")]
    CurrencyMismatch { expected: String, found: String },
    #[error("amount is too large")]
    Overflow,
}

impl ParseError {
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }
}
