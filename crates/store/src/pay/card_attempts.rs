//! Card attempts as typed, with the page build that received them, and the
//! incident scope read back from them in one pass; plus the one-time probe
//! tokens the tamper monitor uses to see the card page.

use super::PayStore;
use crate::rows::{int, opt_text, text};
use crate::{StoreError, from_micros, to_micros};
use civicpay_core::TenantId;
use futures_util::TryStreamExt;
use jiff::Timestamp;

/// What one submission of the card form held (never the card number beyond
/// its last four digits, never the security code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardAttempt {
    pub payment_id: String,
    pub at: Timestamp,
    pub build_id: String,
    pub channel: String,
    pub amount: i64,
    pub currency: String,
    pub language: String,
    pub cardholder_name: String,
    pub postal_code: String,
    pub email: Option<String>,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    /// Which fields held something, comma-separated.
    pub elements: String,
}

/// An attempt in an incident's scope, with the payment's own record of who
/// the bill was for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopedAttempt {
    pub attempt: CardAttempt,
    pub reference: String,
    pub payment_status: String,
    pub payer_name: Option<String>,
    pub payer_address: Option<String>,
}

/// Which attempts an incident covers: a time window, a page build, or both,
/// optionally one channel.
#[derive(Debug, Clone, Default)]
pub struct ScopeFilter {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub build_id: Option<String>,
    pub channel: Option<String>,
}

impl PayStore {
    pub async fn record_card_attempt(
        &self,
        tenant_id: &TenantId,
        attempt: &CardAttempt,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO card_attempts (id, tenant_id, payment_id, at, build_id, channel, amount, currency, language,
                 cardholder_name, postal_code, email, card_brand, card_last4, elements)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(tenant_id.as_str())
        .bind(attempt.payment_id.as_str())
        .bind(to_micros(attempt.at))
        .bind(attempt.build_id.as_str())
        .bind(attempt.channel.as_str())
        .bind(attempt.amount)
        .bind(attempt.currency.as_str())
        .bind(attempt.language.as_str())
        .bind(attempt.cardholder_name.as_str())
        .bind(attempt.postal_code.as_str())
        .bind(attempt.email.as_deref())
        .bind(attempt.card_brand.as_deref())
        .bind(attempt.card_last4.as_deref())
        .bind(attempt.elements.as_str())
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    /// Streams every attempt in scope, oldest first, to `each`: one query,
    /// one pass, memory flat however many there are.
    pub async fn incident_scope(
        &self,
        tenant_id: &TenantId,
        filter: &ScopeFilter,
        mut each: impl FnMut(ScopedAttempt) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let mut rows = sqlx::query(
            "SELECT a.payment_id, a.at, a.build_id, a.channel, a.amount, a.currency, a.language,
                    a.cardholder_name, a.postal_code, a.email, a.card_brand, a.card_last4, a.elements,
                    p.reference, p.status, p.payer_name, p.payer_address
             FROM card_attempts a JOIN payments p ON p.id = a.payment_id
             WHERE a.tenant_id = $1 AND a.at >= $2 AND a.at < $3
               AND ($4 = '' OR a.build_id = $4) AND ($5 = '' OR a.channel = $5)
             ORDER BY a.at, a.id",
        )
        .bind(tenant_id.as_str())
        .bind(filter.from.map_or(i64::MIN, to_micros))
        .bind(filter.to.map_or(i64::MAX, to_micros))
        .bind(filter.build_id.as_deref().unwrap_or(""))
        .bind(filter.channel.as_deref().unwrap_or(""))
        .fetch(self.db.pool());
        let mut count = 0;
        while let Some(row) = rows.try_next().await? {
            count += 1;
            each(ScopedAttempt {
                attempt: CardAttempt {
                    payment_id: text(&row, "payment_id")?,
                    at: from_micros(int(&row, "at")?)?,
                    build_id: text(&row, "build_id")?,
                    channel: text(&row, "channel")?,
                    amount: int(&row, "amount")?,
                    currency: text(&row, "currency")?,
                    language: text(&row, "language")?,
                    cardholder_name: text(&row, "cardholder_name")?,
                    postal_code: text(&row, "postal_code")?,
                    email: opt_text(&row, "email")?,
                    card_brand: opt_text(&row, "card_brand")?,
                    card_last4: opt_text(&row, "card_last4")?,
                    elements: text(&row, "elements")?,
                },
                reference: text(&row, "reference")?,
                payment_status: text(&row, "status")?,
                payer_name: opt_text(&row, "payer_name")?,
                payer_address: opt_text(&row, "payer_address")?,
            })?;
        }
        Ok(count)
    }

    /// How many attempts a city had in a window, reading only their times:
    /// the floor under [`PayStore::incident_scope`]'s cost (benchmarks).
    pub async fn count_card_attempts_between(
        &self,
        tenant_id: &TenantId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<u64, StoreError> {
        let mut rows = sqlx::query(
            "SELECT at FROM card_attempts WHERE tenant_id = $1 AND at >= $2 AND at < $3",
        )
        .bind(tenant_id.as_str())
        .bind(to_micros(from))
        .bind(to_micros(to))
        .fetch(self.db.pool());
        let mut count = 0;
        while rows.try_next().await?.is_some() {
            count += 1;
        }
        Ok(count)
    }

    pub async fn create_card_probe(
        &self,
        tenant_id: &TenantId,
        token_hash: &str,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO card_probes (token_hash, tenant_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(tenant_id.as_str())
        .bind(to_micros(Timestamp::now()))
        .bind(to_micros(expires_at))
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    /// Spends a probe token; the city it was for, if it was live.
    pub async fn use_card_probe(&self, token_hash: &str) -> Result<Option<TenantId>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM card_probes WHERE token_hash = $1 AND expires_at > $2 RETURNING tenant_id",
        )
        .bind(token_hash)
        .bind(to_micros(Timestamp::now()))
        .fetch_optional(self.db.writer())
        .await?;
        row.map(|r| crate::rows::parsed(&r, "tenant_id", TenantId::parse))
            .transpose()
    }
}
