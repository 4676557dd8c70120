//! The money trail: each payment event, refund event and ledger posting is
//! appended to its city's hash chain in the transaction that writes it.
//! Verification walks the chain (the `audit` crate's rules) and then holds
//! every row to its entry, so a row edited, deleted or reordered behind
//! the system's back is named.

use super::PayStore;
use crate::rows::{int, opt_text, text};
use crate::{Backend, StoreError, to_micros};
use civicpay_audit::{Action, ChainId, ChainVerifier, NewEntry, canonical_json};
use civicpay_core::TenantId;
use futures_util::TryStreamExt;
use serde_json::{Value, json};
use std::collections::HashMap;

const ACTOR: &str = "system:pay";

async fn append(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    tenant_id: &TenantId,
    action: Action,
    target: String,
    details: Value,
) -> Result<(), StoreError> {
    let entry = NewEntry::new(
        ChainId::money(tenant_id.clone()),
        ACTOR,
        action,
        target,
        details,
    );
    crate::audit_log::append_in(tx, backend, entry)
        .await
        .map(|_| ())
}

/// One payment event as the chain holds it.
pub(super) struct PaymentEventFacts<'a> {
    pub payment_id: &'a str,
    pub seq: i64,
    pub from: Option<&'a str>,
    pub to: &'a str,
    pub event: &'a str,
    pub cause: &'a str,
    pub at: i64,
}

impl PaymentEventFacts<'_> {
    fn target(&self) -> String {
        format!("payment_event:{}:{}", self.payment_id, self.seq)
    }

    fn details(&self) -> Value {
        json!({
            "payment_id": self.payment_id, "seq": self.seq, "from": self.from, "to": self.to,
            "event": self.event, "cause": self.cause, "at": self.at,
        })
    }
}

pub(super) async fn payment_event(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    tenant_id: &TenantId,
    facts: &PaymentEventFacts<'_>,
) -> Result<(), StoreError> {
    append(
        tx,
        backend,
        tenant_id,
        Action::MoneyPaymentEvent,
        facts.target(),
        facts.details(),
    )
    .await
}

/// One ledger posting line as the chain holds it.
pub(super) struct PostingFacts<'a> {
    pub entry_id: &'a str,
    pub line: i64,
    pub payment_id: &'a str,
    pub refund_id: Option<&'a str>,
    pub account: &'a str,
    pub gl_code: Option<&'a str>,
    pub amount: i64,
    pub currency: &'a str,
    pub at: i64,
}

impl PostingFacts<'_> {
    fn target(&self) -> String {
        format!("ledger_posting:{}:{}", self.entry_id, self.line)
    }

    fn details(&self) -> Value {
        json!({
            "entry_id": self.entry_id, "line": self.line, "payment_id": self.payment_id,
            "refund_id": self.refund_id, "account": self.account, "gl_code": self.gl_code,
            "amount": self.amount, "currency": self.currency, "at": self.at,
        })
    }
}

pub(super) async fn ledger_posting(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    tenant_id: &TenantId,
    facts: &PostingFacts<'_>,
) -> Result<(), StoreError> {
    append(
        tx,
        backend,
        tenant_id,
        Action::MoneyLedgerPosting,
        facts.target(),
        facts.details(),
    )
    .await
}

pub(super) async fn refund_event(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    tenant_id: &TenantId,
    refund_id: &str,
    payment_id: &str,
    amount: i64,
    status: &str,
) -> Result<(), StoreError> {
    append(
        tx,
        backend,
        tenant_id,
        Action::MoneyRefundEvent,
        format!("refund:{refund_id}"),
        json!({ "refund_id": refund_id, "payment_id": payment_id, "amount": amount, "status": status }),
    )
    .await
}

impl PayStore {
    /// Writes what reconciliation did with an authorisation nobody
    /// accounts for (void or refund at the acquirer) to the city's trail.
    pub async fn record_orphan_settled(
        &self,
        tenant_id: &TenantId,
        reference: &str,
        what: &str,
        amount: i64,
        currency: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.db.begin_write().await?;
        append(
            &mut tx,
            self.db.backend(),
            tenant_id,
            Action::MoneyOrphanSettled,
            format!("acquirer:{reference}"),
            json!({ "reference": reference, "action": what, "amount": amount, "currency": currency,
                    "at": to_micros(jiff::Timestamp::now()) }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The recorded head of a money chain, for signed checkpoints.
    pub async fn money_head(
        &self,
        chain: &ChainId,
    ) -> Result<Option<(u64, civicpay_audit::ChainHash)>, StoreError> {
        self.db.audit_head(chain).await
    }

    /// Every money chain in pay's database.
    pub async fn money_chains(&self) -> Result<Vec<ChainId>, StoreError> {
        self.db.audit_chains().await
    }

    /// Walks a city's money trail, then holds every payment event and
    /// ledger posting to its entry. `Err` inside names the first problem.
    pub async fn verify_money_trail(
        &self,
        verifier: ChainVerifier,
        tenant_id: &TenantId,
    ) -> Result<Result<u64, String>, StoreError> {
        let chain = ChainId::money(tenant_id.clone());
        let entries = match self.db.verify_audit_chain(verifier, &chain).await? {
            Ok(n) => n,
            Err(broken) => return Ok(Err(broken.to_string())),
        };
        let mut events = self
            .trail_entries(&chain, Action::MoneyPaymentEvent)
            .await?;
        let mut rows = sqlx::query(
            "SELECT payment_id, seq, from_status, to_status, event, cause, at FROM payment_events
             WHERE tenant_id = $1 ORDER BY payment_id, seq",
        )
        .bind(tenant_id.as_str())
        .fetch(self.db.pool());
        while let Some(row) = rows.try_next().await? {
            let (payment_id, from, to, event, cause) = (
                text(&row, "payment_id")?,
                opt_text(&row, "from_status")?,
                text(&row, "to_status")?,
                text(&row, "event")?,
                text(&row, "cause")?,
            );
            let facts = PaymentEventFacts {
                payment_id: &payment_id,
                seq: int(&row, "seq")?,
                from: from.as_deref(),
                to: &to,
                event: &event,
                cause: &cause,
                at: int(&row, "at")?,
            };
            if let Err(problem) = held_to_entry(&mut events, facts.target(), &facts.details()) {
                return Ok(Err(problem));
            }
        }
        drop(rows);
        if let Some(target) = events.keys().min() {
            return Ok(Err(format!(
                "{target} is in the trail but its row is gone (deleted behind the system's back)"
            )));
        }
        let mut postings = self
            .trail_entries(&chain, Action::MoneyLedgerPosting)
            .await?;
        let mut rows = sqlx::query(
            "SELECT entry_id, line, payment_id, refund_id, account, gl_code, amount, currency, at
             FROM ledger_postings WHERE tenant_id = $1 ORDER BY entry_id, line",
        )
        .bind(tenant_id.as_str())
        .fetch(self.db.pool());
        while let Some(row) = rows.try_next().await? {
            let (entry_id, payment_id, refund_id, account, gl_code, currency) = (
                text(&row, "entry_id")?,
                text(&row, "payment_id")?,
                opt_text(&row, "refund_id")?,
                text(&row, "account")?,
                opt_text(&row, "gl_code")?,
                text(&row, "currency")?,
            );
            let facts = PostingFacts {
                entry_id: &entry_id,
                line: int(&row, "line")?,
                payment_id: &payment_id,
                refund_id: refund_id.as_deref(),
                account: &account,
                gl_code: gl_code.as_deref(),
                amount: int(&row, "amount")?,
                currency: &currency,
                at: int(&row, "at")?,
            };
            if let Err(problem) = held_to_entry(&mut postings, facts.target(), &facts.details()) {
                return Ok(Err(problem));
            }
        }
        if let Some(target) = postings.keys().min() {
            return Ok(Err(format!(
                "{target} is in the trail but its row is gone (deleted behind the system's back)"
            )));
        }
        Ok(Ok(entries))
    }

    /// A chain's entries of one kind, by target.
    async fn trail_entries(
        &self,
        chain: &ChainId,
        action: Action,
    ) -> Result<HashMap<String, (u64, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, target, details FROM audit_entries WHERE chain = $1 AND action = $2",
        )
        .bind(chain.key())
        .bind(action.code())
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let seq = u64::try_from(int(r, "seq")?).unwrap_or_default();
                Ok((text(r, "target")?, (seq, text(r, "details")?)))
            })
            .collect()
    }
}

/// Takes the row's entry out of `entries` and compares them.
fn held_to_entry(
    entries: &mut HashMap<String, (u64, String)>,
    target: String,
    row: &Value,
) -> Result<(), String> {
    let Some((seq, recorded)) = entries.remove(&target) else {
        return Err(format!(
            "{target} has no entry in the trail (written behind the system's back)"
        ));
    };
    let found = canonical_json(row);
    if found != recorded {
        return Err(format!(
            "{target} differs from trail entry {seq}: the trail says {recorded}, the row says {found}"
        ));
    }
    Ok(())
}
