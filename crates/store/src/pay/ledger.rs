//! Ledger postings, written in the same transaction as the capture or the
//! refund they record.

use super::PayStore;
use crate::rows::int;
use crate::{StoreError, from_micros, to_micros};
use civicpay_core::fee::ChargedFee;
use civicpay_core::payment::{Channel, JournalEntry, LedgerAccount};
use civicpay_core::{GlCode, Money, PaymentId, TenantId};
use civicpay_pay_api::{GlLine, GlLineKind};

/// The GL code for money a city did not allocate when creating a payment.
pub const UNALLOCATED_GL: &str = "UNALLOCATED";

pub(crate) fn allocation_weights(json: &str, amount: Money) -> Vec<(GlCode, Money)> {
    let parsed: Vec<(String, i64)> = serde_json::from_str(json).unwrap_or_default();
    let weights: Vec<(GlCode, Money)> = parsed
        .into_iter()
        .filter_map(|(gl, minor)| {
            Some((
                GlCode::parse(&gl).ok()?,
                Money::from_minor(minor, amount.currency()),
            ))
        })
        .filter(|(_, m)| m.minor() > 0)
        .collect();
    if weights.is_empty() {
        GlCode::parse(UNALLOCATED_GL)
            .map(|gl| vec![(gl, amount)])
            .unwrap_or_default()
    } else {
        weights
    }
}

/// A payment row's fee, from its `fee_amount`, `fee_gl_code` and
/// `fee_refundable` columns.
pub(crate) fn charged_fee(
    row: &sqlx::any::AnyRow,
    currency: civicpay_core::Currency,
) -> Result<Option<ChargedFee>, StoreError> {
    let amount = int(row, "fee_amount")?;
    match crate::rows::opt_text(row, "fee_gl_code")? {
        Some(gl) if amount > 0 => Ok(Some(ChargedFee {
            amount: Money::from_minor(amount, currency),
            gl_code: GlCode::parse(&gl)
                .map_err(|e| StoreError::corrupt("payments.fee_gl_code", e))?,
            refundable: int(row, "fee_refundable")? != 0,
        })),
        _ => Ok(None),
    }
}

pub(crate) async fn write_entry(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: crate::Backend,
    tenant_id: &TenantId,
    payment_id: &PaymentId,
    refund_id: Option<&str>,
    entry: &JournalEntry,
) -> Result<(), StoreError> {
    let entry_id = uuid::Uuid::now_v7().to_string();
    let now = to_micros(jiff::Timestamp::now());
    for (line, posting) in entry.postings().iter().enumerate() {
        let (account, gl) = match &posting.account {
            LedgerAccount::AcquirerClearing => ("acquirer_clearing", None),
            LedgerAccount::Revenue(gl) => ("revenue", Some(gl.as_str())),
        };
        sqlx::query(
            "INSERT INTO ledger_postings (entry_id, line, tenant_id, payment_id, refund_id, account, gl_code, amount, currency, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(entry_id.as_str())
        .bind(i64::try_from(line).unwrap_or(i64::MAX))
        .bind(tenant_id.as_str())
        .bind(payment_id.as_str())
        .bind(refund_id)
        .bind(account)
        .bind(gl)
        .bind(posting.amount.minor())
        .bind(posting.amount.currency().code())
        .bind(now)
        .execute(&mut **tx)
        .await?;
        super::money_trail::ledger_posting(
            tx,
            backend,
            tenant_id,
            &super::money_trail::PostingFacts {
                entry_id: &entry_id,
                line: i64::try_from(line).unwrap_or(i64::MAX),
                payment_id: payment_id.as_str(),
                refund_id,
                account,
                gl_code: gl,
                amount: posting.amount.minor(),
                currency: posting.amount.currency().code(),
                at: now,
            },
        )
        .await?;
    }
    Ok(())
}

impl PayStore {
    /// The sum of all of a city's postings (zero when the books balance) and
    /// the number of journal entries that do not sum to zero.
    pub async fn ledger_check(&self, tenant_id: &TenantId) -> Result<(i64, i64), StoreError> {
        let total = sqlx::query("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS total FROM ledger_postings WHERE tenant_id = $1")
            .bind(tenant_id.as_str())
            .fetch_one(self.db.pool())
            .await?;
        let unbalanced = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM (
                 SELECT entry_id FROM ledger_postings WHERE tenant_id = $1 GROUP BY entry_id HAVING SUM(amount) <> 0
             ) AS unbalanced",
        )
        .bind(tenant_id.as_str())
        .fetch_one(self.db.pool())
        .await?;
        Ok((int(&total, "total")?, int(&unbalanced, "n")?))
    }

    /// Revenue credited per GL code for a city (positive = money in).
    pub async fn revenue_by_gl(
        &self,
        tenant_id: &TenantId,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        sqlx::query(
            "SELECT gl_code, CAST(-SUM(amount) AS BIGINT) AS revenue FROM ledger_postings
             WHERE tenant_id = $1 AND account = 'revenue' GROUP BY gl_code ORDER BY gl_code",
        )
        .bind(tenant_id.as_str())
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|r| Ok((crate::rows::text(r, "gl_code")?, int(r, "revenue")?)))
        .collect()
    }

    /// Captures and refunds credited per GL code between two instants (a
    /// city's day), both positive.
    pub async fn ledger_between(
        &self,
        tenant_id: &TenantId,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> Result<Vec<GlDay>, StoreError> {
        sqlx::query(
            "SELECT gl_code,
                    CAST(SUM(CASE WHEN refund_id IS NULL THEN -amount ELSE 0 END) AS BIGINT) AS captured,
                    CAST(SUM(CASE WHEN refund_id IS NOT NULL THEN amount ELSE 0 END) AS BIGINT) AS refunded
             FROM ledger_postings
             WHERE tenant_id = $1 AND account = 'revenue' AND at >= $2 AND at < $3
             GROUP BY gl_code ORDER BY gl_code",
        )
        .bind(tenant_id.as_str())
        .bind(to_micros(from))
        .bind(to_micros(to))
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(GlDay {
                gl_code: crate::rows::text(r, "gl_code")?,
                captured: int(r, "captured")?,
                refunded: int(r, "refunded")?,
            })
        })
        .collect()
    }

    /// The payments with ledger activity between two instants, for matching
    /// against the acquirer's records.
    pub async fn payments_posted_between(
        &self,
        tenant_id: &TenantId,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> Result<Vec<PaymentId>, StoreError> {
        sqlx::query(
            "SELECT DISTINCT payment_id FROM ledger_postings
             WHERE tenant_id = $1 AND at >= $2 AND at < $3 ORDER BY payment_id",
        )
        .bind(tenant_id.as_str())
        .bind(to_micros(from))
        .bind(to_micros(to))
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|r| crate::rows::parsed(r, "payment_id", PaymentId::parse))
        .collect()
    }
}

/// Where a page of GL lines ended: the last line's time, entry and line
/// number. Opaque to the API's callers (`at.entry.line`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlCursor {
    at: i64,
    entry_id: String,
    line: i64,
}

impl GlCursor {
    pub fn parse(s: &str) -> Option<GlCursor> {
        let mut parts = s.splitn(3, '.');
        let at = parts.next()?.parse().ok()?;
        let entry_id = uuid::Uuid::parse_str(parts.next()?).ok()?.to_string();
        let line = parts.next()?.parse().ok()?;
        Some(GlCursor { at, entry_id, line })
    }
}

impl std::fmt::Display for GlCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.at, self.entry_id, self.line)
    }
}

impl PayStore {
    /// A city's revenue lines posted in a window, oldest first, `limit` at
    /// a time after `after`: payments and fees as money in, refunds as
    /// money out, each with its payment's reference and channel. Pages by
    /// key, so a year of lines is read in constant memory.
    pub async fn gl_lines(
        &self,
        tenant_id: &TenantId,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
        after: Option<&GlCursor>,
        limit: i64,
    ) -> Result<(Vec<GlLine>, Option<GlCursor>), StoreError> {
        let rows = sqlx::query(
            "SELECT l.at, l.entry_id, l.line, l.payment_id, l.refund_id, l.gl_code, l.amount, l.currency,
                    p.reference, p.channel, p.fee_gl_code, p.fee_amount
             FROM ledger_postings l
             JOIN payments p ON p.id = l.payment_id AND p.tenant_id = l.tenant_id
             WHERE l.tenant_id = $1 AND l.account = 'revenue' AND l.at >= $2 AND l.at < $3
               AND (l.at > $4 OR (l.at = $4 AND (l.entry_id > $5 OR (l.entry_id = $5 AND l.line > $6))))
             ORDER BY l.at, l.entry_id, l.line
             LIMIT $7",
        )
        .bind(tenant_id.as_str())
        .bind(to_micros(from))
        .bind(to_micros(to))
        .bind(after.map_or(i64::MIN, |c| c.at))
        .bind(after.map_or("", |c| c.entry_id.as_str()))
        .bind(after.map_or(-1, |c| c.line))
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        let mut lines = Vec::with_capacity(rows.len());
        let mut last = None;
        for r in &rows {
            let gl_code = crate::rows::text(r, "gl_code")?;
            let refund_id = crate::rows::opt_text(r, "refund_id")?;
            let is_fee = int(r, "fee_amount")? > 0
                && crate::rows::opt_text(r, "fee_gl_code")?.as_deref() == Some(gl_code.as_str());
            let kind = match (refund_id.is_some(), is_fee) {
                (false, false) => GlLineKind::Payment,
                (false, true) => GlLineKind::Fee,
                (true, false) => GlLineKind::Refund,
                (true, true) => GlLineKind::FeeRefund,
            };
            let at = int(r, "at")?;
            lines.push(GlLine {
                posted_at: from_micros(at)?,
                payment_id: crate::rows::parsed(r, "payment_id", PaymentId::parse)?,
                refund_id,
                kind,
                gl_code,
                // A revenue credit is negative in the books; money in here.
                amount: -int(r, "amount")?,
                currency: crate::rows::parsed(r, "currency", civicpay_core::Currency::parse)?,
                reference: crate::rows::text(r, "reference")?,
                channel: crate::rows::parsed(r, "channel", |c| {
                    Channel::parse(c).ok_or("not a channel")
                })?,
            });
            last = Some(GlCursor {
                at,
                entry_id: crate::rows::text(r, "entry_id")?,
                line: int(r, "line")?,
            });
        }
        let full = i64::try_from(lines.len()).unwrap_or(i64::MAX) >= limit;
        Ok((lines, last.filter(|_| full)))
    }
}

/// One GL code's day: money captured and refunded, in minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlDay {
    pub gl_code: String,
    pub captured: i64,
    pub refunded: i64,
}
