use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum AuditError {
    #[error("not a chain hash: {0}")]
    BadHash(String),
    #[error("not an audit chain: {0:?} (use a city id or \"platform\")")]
    BadChain(String),
    #[error("checkpoint {line}: {reason}")]
    BadCheckpoint { line: usize, reason: String },
    #[error(
        "checkpoint for {chain} at entry {seq}: the signature does not verify with the trusted key"
    )]
    ForgedCheckpoint { chain: String, seq: u64 },
}
