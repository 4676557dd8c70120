//! What every API operation reads from a request before its own work: the
//! city, by its API key, and the `Idempotency-Key`. As extractors, an
//! operation cannot forget either, nor check it its own way.

use crate::PayState;
use crate::api::invalid;
use crate::error::PayError;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use civicpay_store::pay::Merchant;

/// The key of `Authorization: Bearer …`; none is 401.
pub(crate) fn bearer_key(parts: &Parts) -> Result<&str, PayError> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(PayError::Unauthorized)
}

/// The city whose API key (`Authorization: Bearer cpay_…`) signed the
/// request; no key or an unknown one is 401.
pub(crate) struct ApiMerchant(pub Merchant);

impl FromRequestParts<PayState> for ApiMerchant {
    type Rejection = PayError;

    async fn from_request_parts(parts: &mut Parts, state: &PayState) -> Result<Self, PayError> {
        state
            .store
            .merchant_for_api_key(bearer_key(parts)?)
            .await?
            .map(ApiMerchant)
            .ok_or(PayError::Unauthorized)
    }
}

/// The request's `Idempotency-Key`, if it sent one: 1 to 255 visible
/// characters, as the API document says, on every operation that takes it.
pub(crate) struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = PayError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, PayError> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(IdempotencyKey(None));
        };
        value
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|k| !k.is_empty() && k.len() <= 255)
            .map(|k| IdempotencyKey(Some(k.to_owned())))
            .ok_or_else(|| {
                invalid(
                    "Idempotency-Key",
                    "Idempotency-Key must be 1 to 255 visible characters",
                )
            })
    }
}
