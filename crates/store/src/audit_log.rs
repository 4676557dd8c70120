//! Where the audit log's entries are kept. The chain rules live in
//! `civicpay-audit`; this module gives each new entry its place under the
//! chain's lock and reads chains back in order for verification.

use crate::rows::{int, text};
use crate::{Backend, Db, StoreError, from_micros, to_micros};
use civicpay_audit::{ChainBreak, ChainHash, ChainId, ChainVerifier, Entry, NewEntry};
use futures_util::TryStreamExt;
use sqlx::any::AnyRow;

/// What the console's log view asks for. `before_seq` pages backwards.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub actor: Option<String>,
    pub from: Option<jiff::Timestamp>,
    pub to: Option<jiff::Timestamp>,
    pub before_seq: Option<u64>,
    pub limit: u32,
}

fn entry_from_row(row: &AnyRow) -> Result<Entry, StoreError> {
    let hash = |column| {
        text(row, column)
            .and_then(|h| ChainHash::from_hex(&h).map_err(|e| StoreError::corrupt(column, e)))
    };
    Ok(Entry {
        chain: ChainId::parse(&text(row, "chain")?).map_err(|e| StoreError::corrupt("chain", e))?,
        seq: u64::try_from(int(row, "seq")?).map_err(|e| StoreError::corrupt("seq", e))?,
        at: from_micros(int(row, "at")?)?,
        actor: text(row, "actor")?,
        action: text(row, "action")?,
        target: text(row, "target")?,
        details: text(row, "details")?,
        prev_hash: hash("prev_hash")?,
        hash: hash("hash")?,
    })
}

fn head_from_row(row: &AnyRow) -> Result<Option<(u64, ChainHash)>, StoreError> {
    let seq = int(row, "seq")?;
    if seq == 0 {
        return Ok(None);
    }
    let hash =
        ChainHash::from_hex(&text(row, "hash")?).map_err(|e| StoreError::corrupt("hash", e))?;
    Ok(Some((
        u64::try_from(seq).map_err(|e| StoreError::corrupt("seq", e))?,
        hash,
    )))
}

fn seq_param(seq: u64) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|e| StoreError::corrupt("seq", e))
}

/// Appends inside the caller's write transaction, so an action and its
/// entry are committed together or not at all.
pub(crate) async fn append_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    entry: NewEntry,
) -> Result<Entry, StoreError> {
    let chain = entry.chain.key().to_owned();
    sqlx::query(
        "INSERT INTO audit_heads (chain, seq, hash) VALUES ($1, 0, '') ON CONFLICT (chain) DO NOTHING",
    )
    .bind(&chain)
    .execute(&mut **tx)
    .await?;
    let lock = for_update!(
        backend,
        "SELECT seq, hash FROM audit_heads WHERE chain = $1"
    );
    let head = sqlx::query(lock).bind(&chain).fetch_one(&mut **tx).await?;
    let sealed = entry.seal(head_from_row(&head)?, jiff::Timestamp::now());
    sqlx::query(
        "INSERT INTO audit_entries (chain, seq, at, actor, action, target, details, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&chain)
    .bind(seq_param(sealed.seq)?)
    .bind(to_micros(sealed.at))
    .bind(&sealed.actor)
    .bind(&sealed.action)
    .bind(&sealed.target)
    .bind(&sealed.details)
    .bind(sealed.prev_hash.to_hex())
    .bind(sealed.hash.to_hex())
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE audit_heads SET seq = $2, hash = $3 WHERE chain = $1")
        .bind(&chain)
        .bind(seq_param(sealed.seq)?)
        .bind(sealed.hash.to_hex())
        .execute(&mut **tx)
        .await?;
    Ok(sealed)
}

impl Db {
    pub async fn append_audit(&self, entry: NewEntry) -> Result<Entry, StoreError> {
        let mut tx = self.begin_write().await?;
        let sealed = append_in(&mut tx, self.backend, entry).await?;
        tx.commit().await?;
        Ok(sealed)
    }

    /// Every chain that has entries (or once had: a head left behind).
    pub async fn audit_chains(&self) -> Result<Vec<ChainId>, StoreError> {
        let rows = sqlx::query(
            "SELECT chain FROM audit_heads UNION SELECT DISTINCT chain FROM audit_entries ORDER BY chain",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                ChainId::parse(&text(r, "chain")?).map_err(|e| StoreError::corrupt("chain", e))
            })
            .collect()
    }

    /// The recorded head of a chain: its last entry's number and hash.
    pub async fn audit_head(
        &self,
        chain: &ChainId,
    ) -> Result<Option<(u64, ChainHash)>, StoreError> {
        let row = sqlx::query("SELECT seq, hash FROM audit_heads WHERE chain = $1")
            .bind(chain.key())
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => head_from_row(&row),
            None => Ok(None),
        }
    }

    /// Walks a chain from its first entry, streaming, and checks it against
    /// the recorded head and the checkpoints the verifier was given. The
    /// outer error is the database's; the inner one is the first break.
    pub async fn verify_audit_chain(
        &self,
        mut verifier: ChainVerifier,
        chain: &ChainId,
    ) -> Result<Result<u64, ChainBreak>, StoreError> {
        let head = self.audit_head(chain).await?;
        let mut rows = sqlx::query(
            "SELECT chain, seq, at, actor, action, target, details, prev_hash, hash \
             FROM audit_entries WHERE chain = $1 ORDER BY seq",
        )
        .bind(chain.key())
        .fetch(&self.pool);
        while let Some(row) = rows.try_next().await? {
            if let Err(broken) = verifier.push(&entry_from_row(&row)?) {
                return Ok(Err(broken));
            }
        }
        Ok(verifier.finish(head))
    }

    /// The newest entries of a chain first, filtered, a page at a time.
    pub async fn audit_entries(
        &self,
        chain: &ChainId,
        filter: &AuditFilter,
    ) -> Result<Vec<Entry>, StoreError> {
        let rows = sqlx::query(
            "SELECT chain, seq, at, actor, action, target, details, prev_hash, hash \
             FROM audit_entries \
             WHERE chain = $1 \
               AND ($2 = '' OR action = $2) \
               AND ($3 = '' OR actor = $3) \
               AND at >= $4 AND at < $5 AND seq < $6 \
             ORDER BY seq DESC LIMIT $7",
        )
        .bind(chain.key())
        .bind(filter.action.as_deref().unwrap_or(""))
        .bind(filter.actor.as_deref().unwrap_or(""))
        .bind(filter.from.map_or(i64::MIN, to_micros))
        .bind(filter.to.map_or(i64::MAX, to_micros))
        .bind(filter.before_seq.map_or(Ok(i64::MAX), seq_param)?)
        .bind(i64::from(filter.limit.clamp(1, 500)))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }
}
