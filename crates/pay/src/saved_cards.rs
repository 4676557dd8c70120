//! The pay API's view of a resident's saved cards: what the portal may
//! show (token, brand, last four, expiry), and forgetting one.

use crate::PayError;
use crate::PayState;
use crate::api::authenticate;
use crate::vault::SavedCard;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

fn card_json(card: &SavedCard) -> serde_json::Value {
    json!({
        "token": card.token,
        "brand": card.brand,
        "last4": card.last4,
        "exp_month": card.exp_month,
        "exp_year": card.exp_year,
    })
}

/// `GET /v1/customers/{customer}/cards`
pub(crate) async fn list(
    State(state): State<PayState>,
    headers: HeaderMap,
    Path(customer): Path<String>,
) -> Result<Response, PayError> {
    let merchant = authenticate(&state, &headers).await?;
    let cards: Vec<_> = state
        .store
        .saved_cards_of(&merchant.tenant_id, &customer)
        .await?
        .iter()
        .map(|c| card_json(&SavedCard::from(c)))
        .collect();
    Ok(Json(json!({ "cards": cards })).into_response())
}

/// `DELETE /v1/customers/{customer}/cards/{token}`
pub(crate) async fn forget(
    State(state): State<PayState>,
    headers: HeaderMap,
    Path((customer, token)): Path<(String, String)>,
) -> Result<Response, PayError> {
    let merchant = authenticate(&state, &headers).await?;
    if state
        .store
        .delete_saved_card(&merchant.tenant_id, &customer, &token)
        .await?
    {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(PayError::NotFound)
    }
}
