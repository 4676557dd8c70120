//! Payments, their events, and idempotent creation.

use super::PayStore;
use super::money_trail::PaymentEventFacts;
use crate::rows::{int, opt_text, parsed, text, to_json};
use crate::{Backend, StoreError, from_micros, to_micros};
use civicpay_core::fee::ChargedFee;
use civicpay_core::payment::{
    Channel, IllegalTransition, Payment, PaymentEvent, PaymentStatus, Waiting,
};
use civicpay_core::{Currency, GlCode, Language, Money, PaymentId, TenantId};
use civicpay_pay_api::WebhookBody;
use sqlx::any::AnyRow;
use thiserror::Error;

pub struct NewPayment {
    /// Chosen by the caller, so the one-time link can be derived from it
    /// (and answered again on a replay without being stored).
    pub id: PaymentId,
    pub tenant_id: TenantId,
    pub amount: Money,
    pub reference: String,
    pub description: String,
    pub return_url: String,
    pub email: Option<String>,
    pub language: Language,
    pub metadata: serde_json::Value,
    pub channel: Channel,
    pub expires_at: jiff::Timestamp,
    /// How captured money splits across the city's GL codes: (code, weight
    /// in minor units). Empty: all to [`super::UNALLOCATED_GL`].
    pub allocations: Vec<(String, i64)>,
    /// The convenience fee included in `amount`.
    pub fee: Option<ChargedFee>,
    /// The bill's addressee, for incident notices.
    pub payer_name: Option<String>,
    pub payer_address: Option<String>,
    /// The signed-in resident paying (see [`Payment::customer`]).
    pub customer: Option<String>,
    /// The tamper monitor's: shown like any payment, never charged, never
    /// listed or reported.
    pub probe: bool,
}

/// A client's `Idempotency-Key` and a hash of the request it came with.
pub struct IdempotencyRequest {
    pub key: String,
    pub request_hash: String,
}

#[derive(Debug)]
pub enum Created {
    New {
        payment: Box<Payment>,
        status_code: u16,
        body: String,
    },
    /// The same key and request came before: here is the first response.
    Replayed { status_code: u16, body: String },
    /// The key was used before with a different request.
    KeyReused,
}

/// Search criteria for a city's payments; `None` matches anything.
#[derive(Debug, Clone, Default)]
pub struct PaymentFilter {
    pub reference: Option<String>,
    pub status: Option<String>,
    pub from: Option<jiff::Timestamp>,
    pub to: Option<jiff::Timestamp>,
    pub channel: Option<String>,
    /// Exact amount in minor units.
    pub amount: Option<i64>,
    pub card_last4: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// Facts learned along with a transition; `None` leaves a column as it is.
#[derive(Debug, Default, Clone)]
pub struct PaymentChange {
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    pub authorisation_code: Option<String>,
    pub failure_code: Option<String>,
    pub add_attempt: bool,
    pub captured: Option<i64>,
    /// The receipt address the resident typed on the card page.
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentEventRecord {
    pub seq: i64,
    pub from_status: Option<String>,
    pub to_status: String,
    pub event: String,
    pub cause: String,
    pub at: jiff::Timestamp,
}

#[derive(Debug, Error)]
pub enum TransitionError {
    #[error("payment not found")]
    NotFound,
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for TransitionError {
    fn from(e: sqlx::Error) -> Self {
        TransitionError::Store(StoreError::Database(e))
    }
}

/// The columns a [`PaymentRow`] reads: every query that loads payments
/// selects exactly these, written once.
macro_rules! payment_columns {
    () => {
        "id, tenant_id, status, amount, currency, reference, description, return_url, email, language, customer, \
         metadata, channel, card_brand, card_last4, authorisation_code, failure_code, attempts, \
         captured_amount, refunded_amount, expires_at, created_at, updated_at, probe, \
         fee_amount, fee_gl_code, fee_refundable"
    };
}
pub(super) use payment_columns;

/// A `payments` row as stored: text codes, minor units, microseconds.
#[derive(sqlx::FromRow)]
struct PaymentRow {
    id: String,
    tenant_id: String,
    status: String,
    amount: i64,
    currency: String,
    reference: String,
    description: String,
    return_url: String,
    email: Option<String>,
    language: String,
    customer: Option<String>,
    metadata: String,
    channel: String,
    card_brand: Option<String>,
    card_last4: Option<String>,
    authorisation_code: Option<String>,
    failure_code: Option<String>,
    attempts: i64,
    captured_amount: i64,
    refunded_amount: i64,
    expires_at: i64,
    created_at: i64,
    updated_at: i64,
    probe: i64,
    fee_amount: i64,
    fee_gl_code: Option<String>,
    fee_refundable: i64,
}

impl TryFrom<PaymentRow> for Payment {
    type Error = StoreError;

    fn try_from(row: PaymentRow) -> Result<Payment, StoreError> {
        let corrupt = |column: &'static str, value: &str| StoreError::corrupt(column, value);
        let currency =
            Currency::parse(&row.currency).map_err(|_| corrupt("currency", &row.currency))?;
        Ok(Payment {
            id: PaymentId::parse(&row.id).map_err(|_| corrupt("id", &row.id))?,
            tenant_id: TenantId::parse(&row.tenant_id)
                .map_err(|_| corrupt("tenant_id", &row.tenant_id))?,
            status: PaymentStatus::parse(&row.status)
                .ok_or_else(|| corrupt("status", &row.status))?,
            amount: Money::from_minor(row.amount, currency),
            reference: row.reference,
            description: row.description,
            return_url: row.return_url,
            email: row.email,
            language: Language::parse(&row.language)
                .map_err(|_| corrupt("language", &row.language))?,
            metadata: serde_json::from_str(&row.metadata)
                .map_err(|e| StoreError::corrupt("metadata", e))?,
            channel: Channel::parse(&row.channel)
                .ok_or_else(|| corrupt("channel", &row.channel))?,
            customer: row.customer,
            probe: row.probe != 0,
            fee: match (row.fee_amount, row.fee_gl_code) {
                (amount, Some(gl)) if amount > 0 => Some(ChargedFee {
                    amount: Money::from_minor(amount, currency),
                    gl_code: GlCode::parse(&gl).map_err(|_| corrupt("fee_gl_code", &gl))?,
                    refundable: row.fee_refundable != 0,
                }),
                _ => None,
            },
            card_brand: row.card_brand,
            card_last4: row.card_last4,
            authorisation_code: row.authorisation_code,
            failure_code: row.failure_code,
            attempts: row.attempts,
            captured: Money::from_minor(row.captured_amount, currency),
            refunded: Money::from_minor(row.refunded_amount, currency),
            expires_at: from_micros(row.expires_at)?,
            created_at: from_micros(row.created_at)?,
            updated_at: from_micros(row.updated_at)?,
        })
    }
}

pub(super) fn payment_from_row(row: &AnyRow) -> Result<Payment, StoreError> {
    crate::rows::read::<PaymentRow, Payment>(row)
}

impl PayStore {
    /// Creates a payment, or, for a repeated `Idempotency-Key`, answers as
    /// the first time. The key is claimed by a unique constraint inside the
    /// same transaction that inserts the payment and stores the response, so
    /// concurrent duplicates make exactly one payment.
    pub async fn create_payment(
        &self,
        new: &NewPayment,
        token_hash: &str,
        idempotency: Option<&IdempotencyRequest>,
        render: impl FnOnce(&Payment) -> (u16, String),
    ) -> Result<Created, StoreError> {
        let now = from_micros(to_micros(jiff::Timestamp::now()))?;
        let mut tx = self.db.begin_write().await?;
        if let Some(idem) = idempotency {
            let claimed = sqlx::query(
                "INSERT INTO idempotency_keys (tenant_id, idem_key, request_hash, status_code, response_body, created_at)
                 VALUES ($1, $2, $3, 0, '', $4) ON CONFLICT (tenant_id, idem_key) DO NOTHING",
            )
            .bind(new.tenant_id.as_str())
            .bind(idem.key.as_str())
            .bind(idem.request_hash.as_str())
            .bind(to_micros(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed == 0 {
                let row = sqlx::query(
                    "SELECT request_hash, status_code, response_body FROM idempotency_keys
                     WHERE tenant_id = $1 AND idem_key = $2",
                )
                .bind(new.tenant_id.as_str())
                .bind(idem.key.as_str())
                .fetch_one(&mut *tx)
                .await?;
                tx.rollback().await?;
                if text(&row, "request_hash")? != idem.request_hash {
                    return Ok(Created::KeyReused);
                }
                return Ok(Created::Replayed {
                    status_code: u16::try_from(int(&row, "status_code")?).unwrap_or(500),
                    body: text(&row, "response_body")?,
                });
            }
        }
        let payment = Payment {
            id: new.id.clone(),
            tenant_id: new.tenant_id.clone(),
            status: PaymentStatus::Created,
            amount: new.amount,
            reference: new.reference.clone(),
            description: new.description.clone(),
            return_url: new.return_url.clone(),
            email: new.email.clone(),
            language: new.language,
            metadata: new.metadata.clone(),
            channel: new.channel,
            customer: new.customer.clone(),
            probe: new.probe,
            fee: new.fee.clone(),
            card_brand: None,
            card_last4: None,
            authorisation_code: None,
            failure_code: None,
            attempts: 0,
            captured: Money::zero(new.amount.currency()),
            refunded: Money::zero(new.amount.currency()),
            expires_at: from_micros(to_micros(new.expires_at))?,
            created_at: now,
            updated_at: now,
        };
        sqlx::query(
            "INSERT INTO payments (id, tenant_id, status, amount, currency, reference, description, return_url,
                 email, language, metadata, channel, next_token_hash, expires_at, created_at, updated_at, allocations,
                 payer_name, payer_address, customer, probe, fee_amount, fee_gl_code, fee_refundable)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16, $17, $18, $19, $20,
                 $21, $22, $23)",
        )
        .bind(payment.id.as_str())
        .bind(payment.tenant_id.as_str())
        .bind(payment.status.code())
        .bind(payment.amount.minor())
        .bind(payment.amount.currency().code())
        .bind(payment.reference.as_str())
        .bind(payment.description.as_str())
        .bind(payment.return_url.as_str())
        .bind(payment.email.as_deref())
        .bind(payment.language.code())
        .bind(to_json(&payment.metadata)?)
        .bind(payment.channel.code())
        .bind(token_hash)
        .bind(to_micros(payment.expires_at))
        .bind(to_micros(now))
        .bind(to_json(&new.allocations)?)
        .bind(new.payer_name.as_deref())
        .bind(new.payer_address.as_deref())
        .bind(new.customer.as_deref())
        .bind(i64::from(new.probe))
        .bind(new.fee.as_ref().map_or(0, |f| f.amount.minor()))
        .bind(new.fee.as_ref().map(|f| f.gl_code.as_str()))
        .bind(new.fee.as_ref().map_or(0, |f| i64::from(f.refundable)))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO payment_events (payment_id, seq, tenant_id, from_status, to_status, event, cause, at)
             VALUES ($1, 1, $2, NULL, 'created', 'created', 'api', $3)",
        )
        .bind(payment.id.as_str())
        .bind(payment.tenant_id.as_str())
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await?;
        super::money_trail::payment_event(
            &mut tx,
            self.db.backend(),
            &payment.tenant_id,
            &PaymentEventFacts {
                payment_id: payment.id.as_str(),
                seq: 1,
                from: None,
                to: "created",
                event: "created",
                cause: "api",
                at: to_micros(now),
            },
        )
        .await?;
        let (status_code, body) = render(&payment);
        if let Some(idem) = idempotency {
            sqlx::query(
                "UPDATE idempotency_keys SET status_code = $3, response_body = $4
                 WHERE tenant_id = $1 AND idem_key = $2",
            )
            .bind(new.tenant_id.as_str())
            .bind(idem.key.as_str())
            .bind(i64::from(status_code))
            .bind(body.as_str())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Created::New {
            payment: Box::new(payment),
            status_code,
            body,
        })
    }

    pub async fn payment(
        &self,
        tenant_id: &TenantId,
        id: &PaymentId,
    ) -> Result<Option<Payment>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            payment_columns!(),
            "
             FROM payments WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .fetch_optional(self.db.pool())
        .await?
        .as_ref()
        .map(payment_from_row)
        .transpose()
    }

    /// A city's payments matching `filter`, newest first.
    pub async fn list_payments(
        &self,
        tenant_id: &TenantId,
        filter: &PaymentFilter,
    ) -> Result<Vec<Payment>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            payment_columns!(),
            "
             FROM payments
             WHERE tenant_id = $1 AND probe = 0
               AND (CAST($2 AS TEXT) IS NULL OR reference = $2)
               AND (CAST($3 AS TEXT) IS NULL OR status = $3)
               AND (CAST($4 AS BIGINT) IS NULL OR created_at >= $4)
               AND (CAST($5 AS BIGINT) IS NULL OR created_at < $5)
               AND (CAST($8 AS TEXT) IS NULL OR channel = $8)
               AND (CAST($9 AS BIGINT) IS NULL OR amount = $9)
               AND (CAST($10 AS TEXT) IS NULL OR card_last4 = $10)
             ORDER BY created_at DESC, id DESC LIMIT $6 OFFSET $7"
        ))
        .bind(tenant_id.as_str())
        .bind(filter.reference.as_deref())
        .bind(filter.status.as_deref())
        .bind(filter.from.map(to_micros))
        .bind(filter.to.map(to_micros))
        .bind(filter.limit)
        .bind(filter.offset)
        .bind(filter.channel.as_deref())
        .bind(filter.amount)
        .bind(filter.card_last4.as_deref())
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(payment_from_row)
        .collect()
    }

    /// A city's payments for one reference, newest first.
    pub async fn payments_by_reference(
        &self,
        tenant_id: &TenantId,
        reference: &str,
    ) -> Result<Vec<Payment>, StoreError> {
        sqlx::query(
            concat!("SELECT ", payment_columns!(), "
             FROM payments WHERE tenant_id = $1 AND reference = $2 AND probe = 0 ORDER BY created_at DESC, id DESC"),
        )
        .bind(tenant_id.as_str())
        .bind(reference)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(payment_from_row)
        .collect()
    }

    pub async fn payment_events(
        &self,
        tenant_id: &TenantId,
        id: &PaymentId,
    ) -> Result<Vec<PaymentEventRecord>, StoreError> {
        sqlx::query(
            "SELECT seq, from_status, to_status, event, cause, at FROM payment_events
             WHERE tenant_id = $1 AND payment_id = $2 ORDER BY seq",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(PaymentEventRecord {
                seq: int(r, "seq")?,
                from_status: opt_text(r, "from_status")?,
                to_status: text(r, "to_status")?,
                event: text(r, "event")?,
                cause: text(r, "cause")?,
                at: from_micros(int(r, "at")?)?,
            })
        })
        .collect()
    }

    /// Moves a payment through the state machine, recording the event, in
    /// one transaction that holds the payment's row: two concurrent events
    /// are applied one after the other, never both to the same old state.
    pub async fn transition(
        &self,
        tenant_id: &TenantId,
        id: &PaymentId,
        event: PaymentEvent,
        cause: &str,
        change: PaymentChange,
    ) -> Result<Payment, TransitionError> {
        let now = to_micros(jiff::Timestamp::now());
        let mut tx = self.db.begin_write().await?;
        let current: Option<String> = sqlx::query_scalar(for_update!(
            self.db.backend(),
            "SELECT status FROM payments WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let current = current.ok_or(TransitionError::NotFound)?;
        let from = PaymentStatus::parse(&current)
            .ok_or_else(|| StoreError::corrupt("payments.status", &current))?;
        let to = from.apply(event)?;
        sqlx::query(
            "UPDATE payments SET status = $3, updated_at = $4,
                 card_brand = COALESCE($5, card_brand),
                 card_last4 = COALESCE($6, card_last4),
                 authorisation_code = COALESCE($7, authorisation_code),
                 failure_code = COALESCE($8, failure_code),
                 attempts = attempts + $9,
                 captured_amount = COALESCE($10, captured_amount),
                 email = COALESCE($11, email),
                 recovery_claimed_until = NULL,
                 attention_reason = CASE WHEN $12 THEN attention_reason ELSE NULL END,
                 attention_at = CASE WHEN $12 THEN attention_at ELSE NULL END
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id.as_str())
        .bind(id.as_str())
        .bind(to.code())
        .bind(now)
        .bind(change.card_brand.as_deref())
        .bind(change.card_last4.as_deref())
        .bind(change.authorisation_code.as_deref())
        .bind(change.failure_code.as_deref())
        .bind(i64::from(change.add_attempt))
        .bind(change.captured)
        .bind(change.email.as_deref())
        // A payment that still waits keeps its flag; one that moved on is
        // settled, and leaves the attention list.
        .bind(Waiting::of_payment(to).is_some())
        .execute(&mut *tx)
        .await?;
        let seq: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(MAX(seq), 0) + 1 AS BIGINT) FROM payment_events WHERE payment_id = $1",
        )
        .bind(id.as_str())
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO payment_events (payment_id, seq, tenant_id, from_status, to_status, event, cause, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id.as_str())
        .bind(seq)
        .bind(tenant_id.as_str())
        .bind(from.code())
        .bind(to.code())
        .bind(event.code())
        .bind(cause)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        super::money_trail::payment_event(
            &mut tx,
            self.db.backend(),
            tenant_id,
            &PaymentEventFacts {
                payment_id: id.as_str(),
                seq,
                from: Some(from.code()),
                to: to.code(),
                event: event.code(),
                cause,
                at: now,
            },
        )
        .await?;
        if to == PaymentStatus::Success {
            post_capture(&mut tx, self.db.backend(), tenant_id, id).await?;
        }
        if to.is_finished() {
            queue_webhook(&mut tx, tenant_id, id).await?;
        }
        tx.commit().await?;
        self.payment(tenant_id, id)
            .await?
            .ok_or(TransitionError::NotFound)
    }

    /// Drops idempotency records older than `before` (keep at least 24 h).
    pub async fn prune_idempotency_keys(&self, before: jiff::Timestamp) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
                .bind(to_micros(before))
                .execute(self.db.writer())
                .await?
                .rows_affected(),
        )
    }
}

/// Queues a webhook about a finished payment, inside the
/// transaction that changed it: the change and its report stand or fall
/// together. Nothing is queued for a city without an endpoint.
pub(super) async fn queue_webhook(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    tenant_id: &TenantId,
    id: &PaymentId,
) -> Result<(), StoreError> {
    let has_endpoint: Option<String> =
        sqlx::query_scalar("SELECT tenant_id FROM webhook_endpoints WHERE tenant_id = $1")
            .bind(tenant_id.as_str())
            .fetch_optional(&mut **tx)
            .await?;
    if has_endpoint.is_none() {
        return Ok(());
    }
    let row = sqlx::query(concat!(
        "SELECT ",
        payment_columns!(),
        "
         FROM payments WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant_id.as_str())
    .bind(id.as_str())
    .fetch_one(&mut **tx)
    .await?;
    let payment = payment_from_row(&row)?;
    match WebhookBody::for_finished(&payment) {
        Some(body) => super::csp_reports::queue_event(tx, tenant_id, id.as_str(), body).await,
        None => Ok(()),
    }
}

/// Books a capture: acquirer clearing debited, revenue credited across the
/// payment's GL allocation.
async fn post_capture(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    tenant_id: &TenantId,
    id: &PaymentId,
) -> Result<(), StoreError> {
    let row = sqlx::query(
        "SELECT captured_amount, currency, allocations, fee_amount, fee_gl_code, fee_refundable
         FROM payments WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant_id.as_str())
    .bind(id.as_str())
    .fetch_one(&mut **tx)
    .await?;
    let captured = Money::from_minor(
        int(&row, "captured_amount")?,
        parsed(&row, "currency", Currency::parse)?,
    );
    if captured.minor() <= 0 {
        return Ok(());
    }
    let weights = super::ledger::allocation_weights(&text(&row, "allocations")?, captured);
    let fee = super::ledger::charged_fee(&row, captured.currency())?;
    let entry = civicpay_core::payment::JournalEntry::capture(
        captured,
        fee.as_ref().map(|f| (&f.gl_code, f.amount)),
        &weights,
    )
    .map_err(|e| StoreError::corrupt("ledger entry", e))?;
    super::ledger::write_entry(tx, backend, tenant_id, id, None, &entry).await
}
