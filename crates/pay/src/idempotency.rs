//! One way to make an API operation safe to retry: with an
//! `Idempotency-Key`, the first request claims the key, runs, and its
//! response is stored; a retry gets that response again, marked
//! `Idempotent-Replayed: true`; the key sent with a different request is
//! refused. A request that failed on our side (5xx) decided nothing and
//! lets the key go, so its retry runs again.
//!
//! Creating a payment or a refund claims the key inside the transaction
//! that creates the row instead, so that a crash cannot leave one without
//! the other.

use crate::PayState;
use crate::error::PayError;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use civicpay_store::pay::{Claim, Merchant};
use sha2::{Digest, Sha256};

/// The largest response kept for a replay; the API's are a few KB.
const STORED_RESPONSE_LIMIT: usize = 1 << 20;

/// Runs `operation` once per key; see the module comment. `request` names
/// what is asked (operation and payment), so the key sent again with
/// another request is told apart. Without a key it simply runs.
pub(crate) async fn once(
    state: &PayState,
    merchant: &Merchant,
    key: Option<String>,
    request: &[u8],
    operation: impl Future<Output = Result<Response, PayError>>,
) -> Result<Response, PayError> {
    let Some(key) = key else {
        return operation.await;
    };
    let request_hash: String = Sha256::digest(request)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let tenant = &merchant.tenant_id;
    match state
        .store
        .claim_idempotency_key(tenant, &key, &request_hash)
        .await?
    {
        Claim::KeyReused => Err(PayError::IdempotencyConflict),
        Claim::InProgress => Err(PayError::IdempotencyInProgress),
        Claim::Finished { status_code, body } => Ok(replayed(status_code, body)),
        Claim::Claimed => {
            let response = operation.await.into_response();
            if response.status().is_server_error() {
                state.store.release_idempotency_key(tenant, &key).await?;
                return Ok(response);
            }
            let (parts, body) = response.into_parts();
            let bytes = to_bytes(body, STORED_RESPONSE_LIMIT)
                .await
                .map_err(|_| PayError::Internal("a response too large to keep for a retry"))?;
            let text = String::from_utf8(bytes.to_vec())
                .map_err(|_| PayError::Internal("a response that is not text"))?;
            state
                .store
                .finish_idempotency_key(tenant, &key, parts.status.as_u16(), &text)
                .await?;
            Ok(Response::from_parts(parts, Body::from(bytes)))
        }
    }
}

fn replayed(status_code: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status_code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}
