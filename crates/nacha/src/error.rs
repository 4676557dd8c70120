use thiserror::Error;

/// Why a NACHA file could not be written or read. Each names the line and
/// the columns (as the NACHA layout numbers them, from 1), and never repeats
/// what the field held: an account number field may be the one at fault.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NachaError {
    #[error("line {line}, {field} (columns {from}–{to}): {problem}")]
    Field {
        line: usize,
        field: &'static str,
        from: usize,
        to: usize,
        problem: String,
    },
    #[error("line {line}: {problem}")]
    Record { line: usize, problem: String },
    #[error("{0}")]
    File(String),
}
