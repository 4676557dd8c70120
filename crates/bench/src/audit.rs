//! Audit chain verification: the verifier's rate over a sealed chain held
//! in memory, and, as the limit, plain SHA-256 over the very bytes each
//! entry's hash covers.

use crate::report::{line, rate};
use civicpay_audit::{Action, ChainId, ChainVerifier, Entry, NewEntry};
use sha2::{Digest, Sha256};
use std::time::Instant;

fn chain(entries: u64) -> Vec<Entry> {
    let chain = ChainId::Tenant(civicpay_core::TenantId::generate());
    let mut out: Vec<Entry> = Vec::with_capacity(usize::try_from(entries).unwrap_or(0));
    let start = jiff::Timestamp::from_second(1_790_000_000).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    for i in 0..entries {
        let prev = out.last().map(|e| (e.seq, e.hash));
        let entry = NewEntry::new(
            chain.clone(),
            format!("staff:clerk{}@springfield.gov", i % 40),
            Action::PhonePaymentStarted,
            format!("bill:PK-2026-{:06}", i % 1_000_000),
            serde_json::json!({ "amount": (i * 37) % 100_000, "bill_id": "0194a1a2-0000-7000-8000-000000000000" }),
        )
        .seal(prev, start + jiff::SignedDuration::from_secs(i64::try_from(i).unwrap_or(0)));
        out.push(entry);
    }
    out
}

pub fn run(entries: u64) -> anyhow::Result<()> {
    let entries_list = chain(entries);
    let first = entries_list
        .first()
        .map(|e| e.chain.clone())
        .unwrap_or(ChainId::Platform);
    let started = Instant::now();
    let mut verifier = ChainVerifier::new(first, []);
    for e in &entries_list {
        verifier.push(e).map_err(|b| anyhow::anyhow!("{b}"))?;
    }
    let checked = verifier.finish(None).map_err(|b| anyhow::anyhow!("{b}"))?;
    let verify = started.elapsed();

    // The limit: SHA-256 alone over the same fields, no comparison or parsing.
    let started = Instant::now();
    let mut sink = 0u8;
    for e in &entries_list {
        let mut h = Sha256::new();
        h.update(e.chain.key().as_bytes());
        h.update(e.seq.to_be_bytes());
        h.update(e.at.as_microsecond().to_be_bytes());
        h.update(e.actor.as_bytes());
        h.update(e.action.as_bytes());
        h.update(e.target.as_bytes());
        h.update(e.details.as_bytes());
        h.update(e.prev_hash.0);
        sink ^= h.finalize().first().copied().unwrap_or(0);
    }
    let sha = started.elapsed();
    std::hint::black_box(sink);
    let (ours, limit) = (rate(checked, verify), rate(entries, sha));
    line(
        "audit chain verification (entries/s)",
        format!("{ours:.0}"),
        format!("{limit:.0} (SHA-256)"),
        Some(ours / limit),
    );
    Ok(())
}
