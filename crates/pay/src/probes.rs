//! The tamper monitor's probes. A probe is a real payment, made the way a
//! city's system makes one and opened through the same one-time link, so a
//! page altered to behave only for payers cannot tell the monitor apart;
//! it is marked in the database so it can never be charged and no listing
//! or report shows it.

use crate::PayState;
use crate::api::invalid;
use crate::error::PayError;
use crate::extract::{ApiMerchant, IdempotencyKey};
use crate::secrets::hash_secret;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use civicpay_core::payment::Channel;
use civicpay_core::{Language, Money, PaymentId};
use civicpay_store::pay::{Merchant, NewPayment};
use serde::Deserialize;

/// How long a probe's link and payment live.
const PROBE_TTL: jiff::SignedDuration = jiff::SignedDuration::from_mins(10);

/// What the probe's page shows; the monitor sends what a city's real
/// payments look like.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeShape {
    pub amount: Option<i64>,
    pub reference: Option<String>,
    pub description: Option<String>,
    pub language: Option<String>,
    /// Opened as a signed-in resident with a saved card would see it.
    pub saved_card: Option<bool>,
}

/// The customer whose saved card the monitor's probes offer. It belongs to
/// no resident; its card is a test number that no acquirer would take.
const MONITOR_CUSTOMER: &str = "civicpay-monitor";
const MONITOR_CARD: &str = "4000 0566 5566 5556";

/// Makes sure the monitor's customer has a saved card in this city.
async fn monitor_customer(state: &PayState, merchant: &Merchant) -> Result<String, PayError> {
    let Some(vault) = &state.vault else {
        return Err(invalid(
            "saved_card",
            "saved cards are not enabled on this deployment",
        ));
    };
    let saved = state
        .store
        .saved_cards_of(&merchant.tenant_id, MONITOR_CUSTOMER)
        .await?;
    if saved.is_empty() {
        let card = civicpay_vault::CardNumber::parse(MONITOR_CARD)
            .map_err(|_| PayError::Internal("the monitor's card does not parse"))?;
        let expiry = civicpay_vault::Expiry::parse("12/49", jiff::civil::date(2026, 1, 1))
            .map_err(|_| PayError::Internal("the monitor's expiry does not parse"))?;
        vault
            .save(
                &merchant.tenant_id,
                MONITOR_CUSTOMER,
                &card,
                expiry,
                &state.fingerprints.fingerprint(&card),
            )
            .await?;
    }
    Ok(MONITOR_CUSTOMER.to_owned())
}

/// A new probe payment; returns its id and its one-time card link (a path,
/// `/card/start/…`).
pub(crate) async fn create(
    state: &PayState,
    merchant: &Merchant,
    shape: ProbeShape,
) -> Result<(PaymentId, String), PayError> {
    let id = PaymentId::generate();
    let text = |field: &'static str, value: Option<String>, default: &str| {
        let value = value.unwrap_or_else(|| default.to_owned());
        let value = value.trim();
        if value.is_empty() || value.chars().count() > 255 {
            return Err(invalid(
                field,
                format!("{field} must be 1 to 255 characters"),
            ));
        }
        Ok(value.to_owned())
    };
    let amount = shape.amount.unwrap_or(4_200);
    if !(1..=99_999_999).contains(&amount) {
        return Err(invalid(
            "amount",
            "amount must be between 1 and 99999999 minor units",
        ));
    }
    let language = match shape.language.as_deref() {
        None => Language::En,
        Some(code) => Language::parse(code)
            .map_err(|_| invalid("language", "language must be en, fr or es"))?,
    };
    let customer = if shape.saved_card.unwrap_or(false) {
        Some(monitor_customer(state, merchant).await?)
    } else {
        None
    };
    let return_url = merchant
        .return_origins
        .first()
        .map(|origin| format!("{origin}/"))
        .ok_or(PayError::Internal("this city has no return origin"))?;
    let new = NewPayment {
        id: id.clone(),
        tenant_id: merchant.tenant_id.clone(),
        amount: Money::from_minor(amount, merchant.currency),
        reference: text("reference", shape.reference, "1000-00000")?,
        description: text("description", shape.description, "Payment")?,
        return_url,
        email: None,
        language,
        metadata: serde_json::json!({}),
        channel: Channel::Web,
        expires_at: jiff::Timestamp::now() + PROBE_TTL,
        allocations: Vec::new(),
        fee: None,
        payer_name: None,
        payer_address: None,
        customer,
        probe: true,
    };
    let token = state.link_key.token(&id);
    state
        .store
        .create_payment(&new, &hash_secret(&token), None, |_| (201, String::new()))
        .await?;
    Ok((id, format!("/card/start/{token}")))
}

/// `POST /v1/probes`: a probe payment and its one-time link, for the
/// tamper monitor. The body (optional) says what the page shows.
pub(crate) async fn create_probe(
    axum::extract::State(state): axum::extract::State<PayState>,
    ApiMerchant(merchant): ApiMerchant,
    // Checked like every POST's; a retry makes another probe, which harms
    // nothing (it can never be charged).
    _: IdempotencyKey,
    body: axum::body::Bytes,
) -> Result<Response, PayError> {
    let shape = if body.iter().all(u8::is_ascii_whitespace) {
        ProbeShape::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| PayError::BadJson(e.to_string()))?
    };
    let (id, link) = create(&state, &merchant, shape).await?;
    let url = format!("{}{link}", state.config.public_url.trim_end_matches('/'));
    let expires_at = jiff::Timestamp::now() + PROBE_TTL;
    Ok((
        StatusCode::CREATED,
        axum::Json(serde_json::json!({
            "probe_url": url,
            "payment_id": id.as_str(),
            "expires_at": expires_at.to_string(),
        })),
    )
        .into_response())
}
