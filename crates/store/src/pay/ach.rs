//! E-checks on pay's side: sealed bank accounts, entries waiting for a
//! NACHA file, and the files that claimed them. This crate holds account
//! numbers only as sealed bytes; `pay` seals and opens them.

use super::PayStore;
use crate::rows::{int, opt_int, opt_text, parsed, text};
use crate::{StoreError, from_micros, to_micros};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use civicpay_core::ach::{
    AccountKind, BankAccountStatus, EntryKind, RoutingNumber, SecCode, TraceNumber,
};
use civicpay_core::{AchEntryId, AchFileId, BankAccountId, Currency, Money, PaymentId, TenantId};
use jiff::civil::Date;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

/// A bank account as stored: the number only sealed, under data key
/// `key_version`.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredBankAccount {
    pub id: BankAccountId,
    /// Who may use it: a resident's pay customer id, or a one-off payment's.
    pub owner: String,
    pub holder_name: String,
    pub routing: RoutingNumber,
    pub kind: AccountKind,
    pub last4: String,
    pub key_version: i64,
    pub sealed: Vec<u8>,
    pub status: BankAccountStatus,
    pub created_at: jiff::Timestamp,
}

impl std::fmt::Debug for StoredBankAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredBankAccount")
            .field("id", &self.id)
            .field("routing", &self.routing)
            .field("last4", &self.last4)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// An entry to go in the next file whose effective date is `ready_on` or
/// later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAchEntry {
    pub id: AchEntryId,
    pub payment: Option<PaymentId>,
    pub bank_account: BankAccountId,
    pub kind: EntryKind,
    pub sec: SecCode,
    /// US dollars; zero for a prenote.
    pub amount: Money,
    /// What the payer's statement shows, like `UTILITY`.
    pub description: String,
    pub ready_on: Date,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AchEntry {
    pub entry: NewAchEntry,
    pub created_at: jiff::Timestamp,
    pub file: Option<AchFileId>,
    /// Given when a file claims it; with the bank's routing number it makes
    /// the trace number returns name the entry by.
    pub trace_sequence: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AchFileRecord {
    pub id: AchFileId,
    pub effective_date: Date,
    /// `A` for the day's first file, `B` for the second…
    pub id_modifier: char,
    pub created_at: jiff::Timestamp,
    pub entry_count: i64,
    pub debit_total: Money,
    pub credit_total: Money,
    /// Set once the file's text is made.
    pub sha256: Option<String>,
}

/// Trace sequences are seven digits; after the last they start again at 1
/// (years later for any city, long after every return window).
fn next_sequence(n: i64) -> i64 {
    (n - 1).rem_euclid(TraceNumber::SEQUENCE_MAX as i64) + 1
}

/// Files after `Z` on one day take digits: 36 a day in all.
const MODIFIERS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::Usd)
}

fn date(row: &AnyRow, column: &'static str) -> Result<Date, StoreError> {
    parsed(row, column, |s: &str| s.parse::<Date>())
}

fn account_from(row: &AnyRow) -> Result<StoredBankAccount, StoreError> {
    Ok(StoredBankAccount {
        id: parsed(row, "token", BankAccountId::parse)?,
        owner: text(row, "owner")?,
        holder_name: text(row, "holder_name")?,
        routing: parsed(row, "routing", RoutingNumber::parse)?,
        kind: parsed(row, "kind", AccountKind::parse)?,
        last4: text(row, "last4")?,
        key_version: int(row, "key_version")?,
        sealed: STANDARD
            .decode(text(row, "sealed")?)
            .map_err(|e| StoreError::corrupt("sealed", e.to_string()))?,
        status: parsed(row, "status", BankAccountStatus::parse)?,
        created_at: from_micros(int(row, "created_at")?)?,
    })
}

fn entry_from(row: &AnyRow) -> Result<AchEntry, StoreError> {
    Ok(AchEntry {
        entry: NewAchEntry {
            id: parsed(row, "id", AchEntryId::parse)?,
            payment: opt_text(row, "payment_id")?
                .map(|p| PaymentId::parse(&p))
                .transpose()
                .map_err(|e| StoreError::corrupt("payment_id", e))?,
            bank_account: parsed(row, "bank_account", BankAccountId::parse)?,
            kind: parsed(row, "kind", EntryKind::parse)?,
            sec: parsed(row, "sec", SecCode::parse)?,
            amount: usd(int(row, "amount")?),
            description: text(row, "description")?,
            ready_on: date(row, "ready_on")?,
        },
        created_at: from_micros(int(row, "created_at")?)?,
        file: opt_text(row, "file_id")?
            .map(|f| AchFileId::parse(&f))
            .transpose()
            .map_err(|e| StoreError::corrupt("file_id", e))?,
        trace_sequence: opt_int(row, "trace_sequence")?
            .map(|n| u32::try_from(n).map_err(|e| StoreError::corrupt("trace_sequence", e)))
            .transpose()?,
    })
}

fn file_from(row: &AnyRow) -> Result<AchFileRecord, StoreError> {
    Ok(AchFileRecord {
        id: parsed(row, "id", AchFileId::parse)?,
        effective_date: date(row, "effective_date")?,
        id_modifier: text(row, "id_modifier")?
            .chars()
            .next()
            .ok_or_else(|| StoreError::corrupt("id_modifier", "is empty"))?,
        created_at: from_micros(int(row, "created_at")?)?,
        entry_count: int(row, "entry_count")?,
        debit_total: usd(int(row, "debit_total")?),
        credit_total: usd(int(row, "credit_total")?),
        sha256: opt_text(row, "sha256")?,
    })
}

async fn entries_of_file_on<'c>(
    db: impl Executor<'c, Database = Any>,
    tenant: &TenantId,
    file: &AchFileId,
) -> Result<Vec<AchEntry>, StoreError> {
    sqlx::query(
        "SELECT id, payment_id, bank_account, kind, sec, amount, description,
                ready_on, created_at, file_id, trace_sequence
         FROM ach_entries WHERE tenant_id = $1 AND file_id = $2
         ORDER BY trace_sequence, id",
    )
    .bind(tenant.as_str())
    .bind(file.as_str())
    .fetch_all(db)
    .await?
    .iter()
    .map(entry_from)
    .collect()
}

impl PayStore {
    pub async fn insert_bank_account(
        &self,
        tenant: &TenantId,
        account: &StoredBankAccount,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO bank_accounts (tenant_id, token, owner, holder_name, routing, kind,
                 last4, key_version, sealed, status, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(tenant.as_str())
        .bind(account.id.as_str())
        .bind(account.owner.as_str())
        .bind(account.holder_name.as_str())
        .bind(account.routing.as_str())
        .bind(account.kind.code())
        .bind(account.last4.as_str())
        .bind(account.key_version)
        .bind(STANDARD.encode(&account.sealed))
        .bind(account.status.code())
        .bind(to_micros(account.created_at))
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    pub async fn bank_account(
        &self,
        tenant: &TenantId,
        id: &BankAccountId,
    ) -> Result<Option<StoredBankAccount>, StoreError> {
        sqlx::query(
            "SELECT token, owner, holder_name, routing, kind, last4, key_version, sealed,
                    status, created_at
             FROM bank_accounts WHERE tenant_id = $1 AND token = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_str())
        .fetch_optional(self.db.pool())
        .await?
        .as_ref()
        .map(account_from)
        .transpose()
    }

    /// Returns whether the account exists in this city.
    pub async fn set_bank_account_status(
        &self,
        tenant: &TenantId,
        id: &BankAccountId,
        status: BankAccountStatus,
    ) -> Result<bool, StoreError> {
        let updated =
            sqlx::query("UPDATE bank_accounts SET status = $3 WHERE tenant_id = $1 AND token = $2")
                .bind(tenant.as_str())
                .bind(id.as_str())
                .bind(status.code())
                .execute(self.db.writer())
                .await?;
        Ok(updated.rows_affected() == 1)
    }

    pub async fn queue_ach_entry(
        &self,
        tenant: &TenantId,
        entry: &NewAchEntry,
    ) -> Result<(), StoreError> {
        if entry.amount.currency() != Currency::Usd || entry.amount.is_negative() {
            return Err(StoreError::corrupt(
                "amount",
                "an e-check entry is a positive amount in US dollars",
            ));
        }
        sqlx::query(
            "INSERT INTO ach_entries (tenant_id, id, payment_id, bank_account, kind, sec, amount,
                 description, ready_on, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(tenant.as_str())
        .bind(entry.id.as_str())
        .bind(entry.payment.as_ref().map(PaymentId::as_str))
        .bind(entry.bank_account.as_str())
        .bind(entry.kind.code())
        .bind(entry.sec.code())
        .bind(entry.amount.minor())
        .bind(entry.description.as_str())
        .bind(entry.ready_on.to_string())
        .bind(to_micros(jiff::Timestamp::now()))
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    /// Entries no file has claimed yet, oldest first.
    pub async fn waiting_ach_entries(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<AchEntry>, StoreError> {
        sqlx::query(
            "SELECT id, payment_id, bank_account, kind, sec, amount, description,
                    ready_on, created_at, file_id, trace_sequence
             FROM ach_entries WHERE tenant_id = $1 AND file_id IS NULL
             ORDER BY created_at, id",
        )
        .bind(tenant.as_str())
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(entry_from)
        .collect()
    }

    /// Makes a file for `effective_date` of every entry ready by then that
    /// no file holds, giving each its trace sequence, all in one
    /// transaction: two jobs at once queue on the city's counter row, and
    /// the second finds the first's entries taken. `None` when nothing
    /// waits.
    pub async fn claim_ach_file(
        &self,
        tenant: &TenantId,
        effective_date: Date,
        created_at: jiff::Timestamp,
    ) -> Result<Option<(AchFileRecord, Vec<AchEntry>)>, StoreError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO ach_counters (tenant_id, next_trace) VALUES ($1, 1)
             ON CONFLICT (tenant_id) DO NOTHING",
        )
        .bind(tenant.as_str())
        .execute(&mut *tx)
        .await?;
        let next: i64 = sqlx::query(for_update!(
            self.db.backend(),
            "SELECT next_trace FROM ach_counters WHERE tenant_id = $1"
        ))
        .bind(tenant.as_str())
        .fetch_one(&mut *tx)
        .await?
        .try_get("next_trace")?;
        let waiting: Vec<AchEntry> = sqlx::query(
            "SELECT id, payment_id, bank_account, kind, sec, amount, description,
                    ready_on, created_at, file_id, trace_sequence
             FROM ach_entries
             WHERE tenant_id = $1 AND file_id IS NULL AND ready_on <= $2
             ORDER BY created_at, id",
        )
        .bind(tenant.as_str())
        .bind(effective_date.to_string())
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(entry_from)
        .collect::<Result<_, _>>()?;
        if waiting.is_empty() {
            tx.rollback().await?;
            return Ok(None);
        }
        let made_today: i64 = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM ach_files
             WHERE tenant_id = $1 AND effective_date = $2",
        )
        .bind(tenant.as_str())
        .bind(effective_date.to_string())
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        let id_modifier = usize::try_from(made_today)
            .ok()
            .and_then(|n| MODIFIERS.chars().nth(n))
            .ok_or_else(|| {
                StoreError::corrupt(
                    "id_modifier",
                    "36 files for one day is the most NACHA allows",
                )
            })?;
        let (mut debits, mut credits) = (0i64, 0i64);
        for e in &waiting {
            match e.entry.kind {
                EntryKind::Credit => credits += e.entry.amount.minor(),
                EntryKind::Debit | EntryKind::Prenote => debits += e.entry.amount.minor(),
            }
        }
        let file = AchFileRecord {
            id: AchFileId::generate(),
            effective_date,
            id_modifier,
            created_at,
            entry_count: waiting.len() as i64,
            debit_total: usd(debits),
            credit_total: usd(credits),
            sha256: None,
        };
        sqlx::query(
            "INSERT INTO ach_files (tenant_id, id, effective_date, id_modifier, created_at,
                 entry_count, debit_total, credit_total)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(tenant.as_str())
        .bind(file.id.as_str())
        .bind(effective_date.to_string())
        .bind(id_modifier.to_string())
        .bind(to_micros(created_at))
        .bind(file.entry_count)
        .bind(debits)
        .bind(credits)
        .execute(&mut *tx)
        .await?;
        let mut sequence = next;
        for e in &waiting {
            sequence = next_sequence(sequence);
            let claimed = sqlx::query(
                "UPDATE ach_entries SET file_id = $3, trace_sequence = $4
                 WHERE tenant_id = $1 AND id = $2 AND file_id IS NULL",
            )
            .bind(tenant.as_str())
            .bind(e.entry.id.as_str())
            .bind(file.id.as_str())
            .bind(sequence)
            .execute(&mut *tx)
            .await?;
            if claimed.rows_affected() != 1 {
                return Err(StoreError::corrupt(
                    "ach_entries",
                    "an entry was claimed by another file while this one held the lock",
                ));
            }
            sequence += 1;
        }
        sqlx::query("UPDATE ach_counters SET next_trace = $2 WHERE tenant_id = $1")
            .bind(tenant.as_str())
            .bind(next_sequence(sequence))
            .execute(&mut *tx)
            .await?;
        let entries = entries_of_file_on(&mut *tx, tenant, &file.id).await?;
        tx.commit().await?;
        Ok(Some((file, entries)))
    }

    /// Records the SHA-256 of the file's text the first time it is made;
    /// false if a different one is already recorded (the text made again
    /// is not the text sent).
    pub async fn record_ach_file_hash(
        &self,
        tenant: &TenantId,
        file: &AchFileId,
        sha256: &str,
    ) -> Result<bool, StoreError> {
        sqlx::query(
            "UPDATE ach_files SET sha256 = $3
             WHERE tenant_id = $1 AND id = $2 AND sha256 IS NULL",
        )
        .bind(tenant.as_str())
        .bind(file.as_str())
        .bind(sha256)
        .execute(self.db.writer())
        .await?;
        let stored: Option<String> =
            sqlx::query("SELECT sha256 FROM ach_files WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.as_str())
                .bind(file.as_str())
                .fetch_optional(self.db.pool())
                .await?
                .map(|row| row.try_get::<Option<String>, _>("sha256"))
                .transpose()?
                .flatten();
        Ok(stored.as_deref() == Some(sha256))
    }

    /// The files made for `effective_date`, in the order they were made.
    pub async fn ach_files_on(
        &self,
        tenant: &TenantId,
        effective_date: Date,
    ) -> Result<Vec<AchFileRecord>, StoreError> {
        sqlx::query(
            "SELECT id, effective_date, id_modifier, created_at, entry_count, debit_total,
                    credit_total, sha256
             FROM ach_files WHERE tenant_id = $1 AND effective_date = $2
             ORDER BY id_modifier",
        )
        .bind(tenant.as_str())
        .bind(effective_date.to_string())
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(file_from)
        .collect()
    }

    pub async fn ach_entries_of_file(
        &self,
        tenant: &TenantId,
        file: &AchFileId,
    ) -> Result<Vec<AchEntry>, StoreError> {
        entries_of_file_on(self.db.pool(), tenant, file).await
    }
}
