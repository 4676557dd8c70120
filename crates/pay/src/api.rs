//! The payments API: JSON, authenticated by the city's pay API key
//! (`Authorization: Bearer cpay_…`). Errors are `{code, message, field?}`.

use crate::PayState;
use crate::error::PayError;
use crate::extract::{ApiMerchant, IdempotencyKey};
use crate::idempotency;
use crate::secrets::hash_secret;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use civicpay_core::payment::{Channel, Payment, PaymentEvent, PaymentStatus};
use civicpay_core::{Currency, Language, Money, PaymentId};
use civicpay_gateway::GatewayError;
use civicpay_pay_api::{
    AttentionItem, AttentionList, CreatePayment, CreateRefund, Declines, Link, PaymentEvents,
    PaymentList, PaymentView, RefundList, RefundView, StateChange,
};
use civicpay_store::pay::{
    Created, IdempotencyRequest, Merchant, NewPayment, PaymentChange, TransitionError,
};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

/// The largest single payment accepted, in minor units (one million).
const MAX_AMOUNT: i64 = 100_000_000;

pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> PayError {
    PayError::Invalid {
        field,
        message: message.into(),
    }
}

pub(crate) fn bounded(field: &'static str, value: &str, max: usize) -> Result<String, PayError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(invalid(field, format!("{field} is required")));
    }
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(invalid(
            field,
            format!("{field} must be at most {max} printable characters"),
        ));
    }
    Ok(value.to_owned())
}

/// An absolute http or https URL, or a refusal naming `field`.
pub(crate) fn web_url(field: &'static str, value: &str) -> Result<url::Url, PayError> {
    url::Url::parse(value.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| {
            invalid(
                field,
                format!("{field} must be an absolute http or https URL"),
            )
        })
}

fn validate(
    request: CreatePayment,
    merchant: &Merchant,
    state: &PayState,
) -> Result<NewPayment, PayError> {
    if merchant.suspended {
        return Err(PayError::StateConflict(
            "this city's payments are paused by the platform; no new payment can be made".into(),
        ));
    }
    let currency =
        Currency::parse(&request.currency).map_err(|e| invalid("currency", e.to_string()))?;
    if currency != merchant.currency {
        return Err(invalid(
            "currency",
            format!("this city takes {} only", merchant.currency),
        ));
    }
    if !(1..=MAX_AMOUNT).contains(&request.amount) {
        return Err(invalid(
            "amount",
            format!("amount must be between 1 and {MAX_AMOUNT} minor units"),
        ));
    }
    let return_url = web_url("return_url", &request.return_url)?;
    let origin = return_url.origin().ascii_serialization();
    if !merchant.return_origins.contains(&origin) {
        return Err(invalid(
            "return_url",
            format!(
                "return_url leads to {origin}, which is not one of this city's allowed return origins (its city file lists them: `return_origins`)"
            ),
        ));
    }
    let email = match request.email.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(e) => Some(
            civicpay_core::import::parse_email(e).map_err(|e| invalid("email", e.to_string()))?,
        ),
    };
    let language = match request.language.as_deref() {
        None => Language::En,
        Some(l) => Language::parse(l).map_err(|e| invalid("language", e.to_string()))?,
    };
    let channel = match request.channel.as_deref() {
        None => Channel::Web,
        Some(c) => Channel::parse(c)
            .ok_or_else(|| invalid("channel", "channel must be web, moto or autopay"))?,
    };
    let metadata = request.metadata.unwrap_or_else(|| json!({}));
    if !metadata.is_object() || metadata.to_string().len() > 4096 {
        return Err(invalid(
            "metadata",
            "metadata must be a JSON object of at most 4 KB",
        ));
    }
    let mut allocations = Vec::new();
    for a in request.allocations.unwrap_or_default() {
        let gl = civicpay_core::GlCode::parse(&a.gl_code)
            .map_err(|e| invalid("allocations", format!("gl_code {e}")))?;
        if !(1..=MAX_AMOUNT).contains(&a.amount) {
            return Err(invalid(
                "allocations",
                "each allocation amount must be a positive number of minor units",
            ));
        }
        allocations.push((gl.as_str().to_owned(), a.amount));
    }
    if allocations.len() > 50 {
        return Err(invalid("allocations", "at most 50 allocations"));
    }
    let fee = match request.fee {
        None => None,
        Some(fee) => {
            if !(0..request.amount).contains(&fee.amount) {
                return Err(invalid(
                    "fee.amount",
                    "fee.amount must be at least 0 and less than the payment's amount",
                ));
            }
            let gl_code = civicpay_core::GlCode::parse(&fee.gl_code)
                .map_err(|e| invalid("fee.gl_code", format!("gl_code {e}")))?;
            (fee.amount > 0).then(|| civicpay_core::fee::ChargedFee {
                amount: Money::from_minor(fee.amount, currency),
                gl_code,
                refundable: fee.refundable,
            })
        }
    };
    let optional = |field: &'static str, value: Option<&str>, max: usize| match value.map(str::trim)
    {
        None | Some("") => Ok(None),
        Some(v) => bounded(field, v, max).map(Some),
    };
    let payer = request.payer.as_ref();
    let payer_name = optional("payer.name", payer.and_then(|p| p.name.as_deref()), 200)?;
    let payer_address = optional(
        "payer.postal_address",
        payer.and_then(|p| p.postal_address.as_deref()),
        500,
    )?;
    let customer = optional("customer", request.customer.as_deref(), 100)?;
    if customer.is_some() && channel == Channel::Moto {
        return Err(invalid(
            "customer",
            "only a resident's own payment can save or use their card",
        ));
    }
    match (channel, request.saved_card.as_deref().map(str::trim)) {
        (Channel::Autopay, Some(token)) if !token.is_empty() => {
            if customer.is_none() {
                return Err(invalid(
                    "customer",
                    "a saved card is charged only for the resident who saved it",
                ));
            }
        }
        (Channel::Autopay, _) => {
            return Err(invalid(
                "saved_card",
                "an autopay payment names the saved card to charge",
            ));
        }
        (_, Some(_)) => {
            return Err(invalid(
                "channel",
                "a saved card is charged with channel autopay",
            ));
        }
        (_, None) => {}
    }
    let ttl = jiff::SignedDuration::try_from(state.config.payment_ttl)
        .unwrap_or(jiff::SignedDuration::from_mins(90));
    Ok(NewPayment {
        id: PaymentId::generate(),
        tenant_id: merchant.tenant_id.clone(),
        amount: Money::from_minor(request.amount, currency),
        reference: bounded("reference", &request.reference, 255)?,
        description: bounded("description", &request.description, 255)?,
        return_url: return_url.to_string(),
        email,
        language,
        metadata,
        channel,
        expires_at: jiff::Timestamp::now() + ttl,
        allocations,
        fee,
        payer_name,
        payer_address,
        customer,
        probe: false,
    })
}

/// A payment as the API shows it after the fact (no one-time link).
pub(crate) fn payment_view(state: &PayState, payment: &Payment) -> PaymentView {
    PaymentView::new(payment, state.config.public_url.trim_end_matches('/'))
}

fn payment_response(state: &PayState, payment: &Payment) -> Response {
    Json(payment_view(state, payment)).into_response()
}

fn json_response(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

pub(crate) async fn create_payment(
    State(state): State<PayState>,
    ApiMerchant(merchant): ApiMerchant,
    IdempotencyKey(key): IdempotencyKey,
    body: Bytes,
) -> Result<Response, PayError> {
    let request: CreatePayment =
        serde_json::from_slice(&body).map_err(|e| PayError::BadJson(e.to_string()))?;
    let saved_card = request
        .saved_card
        .as_deref()
        .map(str::trim)
        .map(str::to_owned);
    let new = validate(request, &merchant, &state)?;
    let idempotency = key.map(|key| IdempotencyRequest {
        key,
        request_hash: Sha256::digest(&body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    });
    let public_url = state.config.public_url.trim_end_matches('/').to_owned();
    // The idempotency record keeps the response without the link; the link
    // is derived again from the payment id for the caller, first time or
    // replay, through the same function, so both see the same bytes.
    let created = state
        .store
        .create_payment(
            &new,
            &hash_secret(&state.link_key.token(&new.id)),
            idempotency.as_ref(),
            |payment| {
                let view = PaymentView::new(payment, &public_url);
                (201, serde_json::to_string(&view).unwrap_or_default())
            },
        )
        .await?;
    if let Some(token) = saved_card {
        // A retry (same Idempotency-Key) charges a payment the first request
        // created but did not get to charge; a charged one is only reported.
        let id = match &created {
            Created::New { payment, .. } => payment.id.clone(),
            Created::Replayed { body, .. } => {
                serde_json::from_str::<PaymentView>(body)
                    .map_err(|_| PayError::Internal("a replayed payment has no id"))?
                    .payment_id
            }
            Created::KeyReused => return Err(PayError::IdempotencyConflict),
        };
        let payment = crate::saved_cards::charge(&state, &merchant.tenant_id, &id, &token).await?;
        return Ok((StatusCode::CREATED, Json(payment_view(&state, &payment))).into_response());
    }
    match created {
        Created::New {
            status_code, body, ..
        }
        | Created::Replayed { status_code, body } => Ok(json_response(
            status_code,
            with_card_link(&state, &public_url, body),
        )),
        Created::KeyReused => Err(PayError::IdempotencyConflict),
    }
}

/// Adds the one-time card link to a stored creation response.
fn with_card_link(state: &PayState, public_url: &str, body: String) -> String {
    let Ok(mut view) = serde_json::from_str::<PaymentView>(&body) else {
        return body;
    };
    let href = format!(
        "{public_url}/card/start/{}",
        state.link_key.token(&view.payment_id)
    );
    view.links.next_url = Some(Link::get(href));
    serde_json::to_string(&view).unwrap_or(body)
}

pub(crate) async fn get_payment(
    State(state): State<PayState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(id): Path<String>,
) -> Result<Response, PayError> {
    let id = PaymentId::parse(&id).map_err(|_| PayError::NotFound)?;
    let payment = state
        .store
        .payment(&merchant.tenant_id, &id)
        .await?
        .ok_or(PayError::NotFound)?;
    Ok(payment_response(&state, &payment))
}

pub(crate) async fn payment_events(
    State(state): State<PayState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(id): Path<String>,
) -> Result<Response, PayError> {
    let id = PaymentId::parse(&id).map_err(|_| PayError::NotFound)?;
    state
        .store
        .payment(&merchant.tenant_id, &id)
        .await?
        .ok_or(PayError::NotFound)?;
    let events = state.store.payment_events(&merchant.tenant_id, &id).await?;
    let events = events
        .into_iter()
        .map(|e| StateChange {
            seq: e.seq,
            from: e.from_status,
            to: e.to_status,
            event: e.event,
            cause: e.cause,
            at: e.at,
        })
        .collect();
    Ok(Json(PaymentEvents {
        payment_id: id,
        events,
    })
    .into_response())
}

fn refund_view(refund: civicpay_store::pay::Refund) -> RefundView {
    RefundView::new(
        refund.id,
        refund.payment_id,
        refund.amount,
        refund.status,
        refund.created_at,
    )
}

/// `POST /v1/payments/{id}/refunds`: reserves the amount under the
/// payment's lock, asks the acquirer, then records the answer.
pub(crate) async fn create_refund(
    State(state): State<PayState>,
    ApiMerchant(merchant): ApiMerchant,
    IdempotencyKey(key): IdempotencyKey,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PayError> {
    use civicpay_store::pay::RefundRefusal;
    let id = PaymentId::parse(&id).map_err(|_| PayError::NotFound)?;
    let request: CreateRefund =
        serde_json::from_slice(&body).map_err(|e| PayError::BadJson(e.to_string()))?;
    let reserved = state
        .store
        .reserve_refund(&merchant.tenant_id, &id, request.amount, key.as_deref())
        .await?;
    let mut refund = match reserved {
        Ok(refund) => refund,
        Err(RefundRefusal::PaymentNotFound) => return Err(PayError::NotFound),
        Err(RefundRefusal::NotCaptured) => {
            return Err(PayError::StateConflict(
                "only a successful payment can be refunded".into(),
            ));
        }
        Err(RefundRefusal::ExceedsRefundable { available }) => {
            return Err(invalid(
                "amount",
                format!("amount must be between 1 and {available}, what is left to refund"),
            ));
        }
        Err(RefundRefusal::KeyReused) => return Err(PayError::IdempotencyConflict),
    };
    if refund.status == "submitted" {
        let payment = state
            .store
            .payment(&merchant.tenant_id, &id)
            .await?
            .ok_or(PayError::NotFound)?;
        let reference = payment.acquirer_reference();
        let answer = state
            .connector(&merchant.tenant_id)
            .await
            .refund(&reference, refund.id.as_str(), refund.amount)
            .await;
        match answer {
            Ok(()) => {
                state
                    .store
                    .finish_refund(&merchant.tenant_id, &refund.id, true)
                    .await?;
                refund.status = "success".into();
            }
            Err(GatewayError::Refused(detail)) => {
                tracing::warn!(payment = %payment.id, refund = %refund.id, detail, "refund refused by the acquirer");
                state
                    .store
                    .finish_refund(&merchant.tenant_id, &refund.id, false)
                    .await?;
                refund.status = "error".into();
            }
            // It may have been paid: the amount stays reserved and
            // reconciliation asks the acquirer.
            Err(e) => {
                tracing::warn!(payment = %payment.id, refund = %refund.id, error = %e, "refund outcome unknown; left for reconciliation");
            }
        }
    }
    Ok((StatusCode::CREATED, Json(refund_view(refund))).into_response())
}

pub(crate) async fn list_refunds(
    State(state): State<PayState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(id): Path<String>,
) -> Result<Response, PayError> {
    let id = PaymentId::parse(&id).map_err(|_| PayError::NotFound)?;
    state
        .store
        .payment(&merchant.tenant_id, &id)
        .await?
        .ok_or(PayError::NotFound)?;
    let refunds = state
        .store
        .refunds(&merchant.tenant_id, &id)
        .await?
        .into_iter()
        .map(refund_view)
        .collect();
    Ok(Json(RefundList {
        payment_id: id,
        refunds,
    })
    .into_response())
}

async fn owned_payment(
    state: &PayState,
    merchant: &Merchant,
    id: &str,
) -> Result<Payment, PayError> {
    let id = PaymentId::parse(id).map_err(|_| PayError::NotFound)?;
    state
        .store
        .payment(&merchant.tenant_id, &id)
        .await?
        .ok_or(PayError::NotFound)
}

/// Applies an event; an illegal one is a conflict with the payment's state.
pub(crate) async fn record(
    state: &PayState,
    payment: &Payment,
    event: PaymentEvent,
    cause: &str,
    change: PaymentChange,
) -> Result<Payment, PayError> {
    match state
        .store
        .transition(&payment.tenant_id, &payment.id, event, cause, change)
        .await
    {
        Ok(p) => Ok(p),
        Err(TransitionError::Illegal(e)) => Err(PayError::StateConflict(e.to_string())),
        Err(TransitionError::NotFound) => Err(PayError::NotFound),
        Err(TransitionError::Store(e)) => Err(e.into()),
    }
}

/// Records an approval: authorised and captured in one step when the
/// acquirer captured with the authorisation (no crash can fall between),
/// or authorised with the capture still due.
pub(crate) async fn record_approval(
    state: &PayState,
    payment: &Payment,
    authorisation_code: String,
    captured: bool,
) -> Result<Payment, PayError> {
    if captured {
        record(
            state,
            payment,
            PaymentEvent::AuthorisedAndCaptured,
            "acquirer approved and captured",
            PaymentChange {
                authorisation_code: Some(authorisation_code),
                captured: Some(payment.amount.minor()),
                ..PaymentChange::default()
            },
        )
        .await
    } else {
        record(
            state,
            payment,
            PaymentEvent::Authorised,
            "acquirer approved",
            PaymentChange {
                authorisation_code: Some(authorisation_code),
                ..PaymentChange::default()
            },
        )
        .await
    }
}

/// `POST /v1/payments/{id}/cancel`: before the card is submitted, or an
/// authorisation not yet captured (voided at the acquirer first).
pub(crate) async fn cancel_payment(
    State(state): State<PayState>,
    ApiMerchant(merchant): ApiMerchant,
    IdempotencyKey(key): IdempotencyKey,
    Path(id): Path<String>,
) -> Result<Response, PayError> {
    let request = format!("cancel {id}");
    let operation = cancel(&state, &merchant, &id);
    idempotency::once(&state, &merchant, key, request.as_bytes(), operation).await
}

async fn cancel(state: &PayState, merchant: &Merchant, id: &str) -> Result<Response, PayError> {
    let payment = owned_payment(state, merchant, id).await?;
    if payment.status == PaymentStatus::Authorised {
        // Recorded before the acquirer is asked: a crash or a lost answer
        // leaves a cancel that reconciliation finishes.
        let asked = record(
            state,
            &payment,
            PaymentEvent::VoidSent,
            "void requested through the API",
            PaymentChange::default(),
        )
        .await?;
        let reference = payment.acquirer_reference();
        return match state
            .connector(&payment.tenant_id)
            .await
            .void(&reference)
            .await
        {
            Ok(()) => {
                let cancelled = record(
                    state,
                    &asked,
                    PaymentEvent::Cancelled,
                    "voided at the acquirer",
                    PaymentChange::default(),
                )
                .await?;
                Ok(payment_response(state, &cancelled))
            }
            Err(e) => {
                tracing::warn!(payment = %payment.id, error = %e, "void outcome unknown; left for reconciliation");
                Ok(payment_response(state, &asked))
            }
        };
    }
    let cancelled = record(
        state,
        &payment,
        PaymentEvent::Cancelled,
        "cancelled through the API",
        PaymentChange::default(),
    )
    .await?;
    Ok(payment_response(state, &cancelled))
}

/// `POST /v1/payments/{id}/capture`: captures an authorised payment.
pub(crate) async fn capture_payment(
    State(state): State<PayState>,
    ApiMerchant(merchant): ApiMerchant,
    IdempotencyKey(key): IdempotencyKey,
    Path(id): Path<String>,
) -> Result<Response, PayError> {
    let request = format!("capture {id}");
    let operation = capture(&state, &merchant, &id);
    idempotency::once(&state, &merchant, key, request.as_bytes(), operation).await
}

async fn capture(state: &PayState, merchant: &Merchant, id: &str) -> Result<Response, PayError> {
    let payment = owned_payment(state, merchant, id).await?;
    if payment.status != PaymentStatus::Authorised {
        return Err(PayError::StateConflict(format!(
            "a {} payment cannot be captured",
            payment.status.code()
        )));
    }
    let asked = record(
        state,
        &payment,
        PaymentEvent::CaptureSent,
        "capture requested through the API",
        PaymentChange::default(),
    )
    .await?;
    let reference = payment.acquirer_reference();
    match state
        .connector(&payment.tenant_id)
        .await
        .capture(&reference, payment.amount)
        .await
    {
        Ok(()) => {}
        Err(GatewayError::Refused(detail)) => {
            // Said no for certain; reconciliation reads why and settles it.
            return Err(PayError::StateConflict(format!(
                "the acquirer did not capture: {detail}"
            )));
        }
        Err(e) => {
            tracing::warn!(payment = %payment.id, error = %e, "capture outcome unknown; left for reconciliation");
            return Ok(payment_response(state, &asked));
        }
    }
    let captured = record(
        state,
        &asked,
        PaymentEvent::Captured,
        "captured through the API",
        PaymentChange {
            captured: Some(payment.amount.minor()),
            ..PaymentChange::default()
        },
    )
    .await?;
    Ok(payment_response(state, &captured))
}

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    reference: Option<String>,
    status: Option<String>,
    channel: Option<String>,
    amount: Option<i64>,
    card_last4: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// `GET /v1/payments?reference=&status=&channel=&amount=&card_last4=&from=&to=&page=&per_page=`;
/// `amount` in minor units, `from` and `to` RFC 3339 times; newest first.
pub(crate) async fn list_payments(
    State(state): State<PayState>,
    ApiMerchant(merchant): ApiMerchant,
    query: Result<axum::extract::Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PayError> {
    let axum::extract::Query(query) = query.map_err(|e| invalid("query", e.body_text()))?;
    let time = |field: &'static str,
                value: &Option<String>|
     -> Result<Option<jiff::Timestamp>, PayError> {
        value
            .as_deref()
            .map(|v| {
                v.parse::<jiff::Timestamp>().map_err(|_| {
                    invalid(
                        field,
                        format!("{field} must be an RFC 3339 time like 2026-11-23T00:00:00Z"),
                    )
                })
            })
            .transpose()
    };
    if let Some(status) = &query.status
        && PaymentStatus::parse(status).is_none()
    {
        return Err(invalid("status", format!("unknown status {status:?}")));
    }
    if let Some(channel) = &query.channel
        && civicpay_core::payment::Channel::parse(channel).is_none()
    {
        return Err(invalid(
            "channel",
            format!("unknown channel {channel:?}: use web, moto or autopay"),
        ));
    }
    if let Some(last4) = &query.card_last4
        && (last4.len() != 4 || !last4.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(invalid("card_last4", "card_last4 must be four digits"));
    }
    let per_page = query.per_page.unwrap_or(50);
    if !(1..=500).contains(&per_page) {
        return Err(invalid("per_page", "per_page must be between 1 and 500"));
    }
    let page = query.page.unwrap_or(1);
    if page < 1 {
        return Err(invalid("page", "page starts at 1"));
    }
    let filter = civicpay_store::pay::PaymentFilter {
        reference: query.reference.clone(),
        status: query.status.clone(),
        from: time("from", &query.from)?,
        to: time("to", &query.to)?,
        channel: query.channel.clone(),
        amount: query.amount,
        card_last4: query.card_last4.clone(),
        limit: per_page,
        offset: (page - 1).saturating_mul(per_page),
    };
    let results = state
        .store
        .list_payments(&merchant.tenant_id, &filter)
        .await?
        .iter()
        .map(|p| payment_view(&state, p))
        .collect();
    Ok(Json(PaymentList {
        page,
        per_page,
        results,
    })
    .into_response())
}

/// `GET /v1/alerts/attention`: the city's payments and refunds that
/// reconciliation could not settle and a person must look at.
pub(crate) async fn attention(
    State(state): State<PayState>,
    ApiMerchant(merchant): ApiMerchant,
) -> Result<Response, PayError> {
    let results = state
        .store
        .needing_attention(&merchant.tenant_id)
        .await?
        .into_iter()
        .map(|a| {
            AttentionItem::new(
                a.payment_id,
                a.refund_id,
                a.status,
                a.amount,
                a.reason,
                a.since,
            )
        })
        .collect();
    Ok(Json(AttentionList { results }).into_response())
}

/// `GET /v1/alerts/declines`: the city's declined card attempts in the last
/// hour, for alerting on card testing.
pub(crate) async fn declines(
    State(state): State<PayState>,
    ApiMerchant(merchant): ApiMerchant,
) -> Result<Response, PayError> {
    let since = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1);
    let count = state
        .store
        .declines_since(&merchant.tenant_id, since)
        .await?;
    Ok(Json(Declines {
        window: "1h".into(),
        declines: count,
    })
    .into_response())
}

pub(crate) async fn get_refund(
    State(state): State<PayState>,
    ApiMerchant(merchant): ApiMerchant,
    Path((id, refund_id)): Path<(String, String)>,
) -> Result<Response, PayError> {
    let payment = owned_payment(&state, &merchant, &id).await?;
    let refund = state
        .store
        .refunds(&merchant.tenant_id, &payment.id)
        .await?
        .into_iter()
        .find(|r| r.id.as_str() == refund_id)
        .ok_or(PayError::NotFound)?;
    Ok(Json(refund_view(refund)).into_response())
}
