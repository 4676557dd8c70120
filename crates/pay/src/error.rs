//! The pay service's one error type, its mapping to HTTP (JSON for the API,
//! a page for the card pages), and the security headers.

use crate::views::MessagePage;
use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use civicpay_store::StoreError;
use serde_json::json;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PayError {
    #[error("not found")]
    NotFound,
    #[error("a valid API key is required")]
    Unauthorized,
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("the request body is not valid JSON: {0}")]
    BadJson(String),
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyConflict,
    #[error("a request with this Idempotency-Key is still being processed; retry shortly")]
    IdempotencyInProgress,
    /// The payment is not in a state that allows this.
    #[error("{0}")]
    StateConflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Vault(#[from] civicpay_vault::envelope::VaultError),
    #[error("internal error: {0}")]
    Internal(&'static str),
}

#[derive(Debug, Clone)]
struct ErrorInfo {
    status: StatusCode,
}

impl IntoResponse for PayError {
    fn into_response(self) -> Response {
        let (status, code, field) = match &self {
            PayError::NotFound => (StatusCode::NOT_FOUND, "not_found", None),
            PayError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", None),
            PayError::Invalid { field, .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                Some(*field),
            ),
            PayError::BadJson(_) => (StatusCode::BAD_REQUEST, "bad_json", None),
            PayError::IdempotencyConflict => (StatusCode::CONFLICT, "idempotency_key_reused", None),
            PayError::IdempotencyInProgress => {
                (StatusCode::CONFLICT, "idempotency_key_in_progress", None)
            }
            PayError::StateConflict(_) => (StatusCode::CONFLICT, "invalid_state", None),
            PayError::Store(_) | PayError::Vault(_) | PayError::Internal(_) => {
                tracing::error!(error = %self, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", None)
            }
        };
        let message = match status {
            StatusCode::INTERNAL_SERVER_ERROR => {
                "the service could not complete the request".to_owned()
            }
            _ => self.to_string(),
        };
        let mut body = json!({ "code": code, "message": message });
        if let (Some(field), Some(map)) = (field, body.as_object_mut()) {
            map.insert("field".into(), json!(field));
        }
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response.extensions_mut().insert(ErrorInfo { status });
        response
    }
}

pub(crate) fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("request handler panicked");
    PayError::Internal("handler panicked").into_response()
}

/// On pages, errors become a page; every card page names its build. The
/// security headers themselves are the shared [`civicpay_web::SecurityHeaders`].
pub(crate) async fn error_pages(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/v1/");
    let language = civicpay_web::i18n::negotiate(
        None,
        None,
        request
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
        civicpay_core::Language::En,
    );
    let mut response = next.run(request).await;
    if !is_api && let Some(info) = response.extensions().get::<ErrorInfo>().cloned() {
        let t = civicpay_web::Translator::new(language);
        let (title, body) = if info.status == StatusCode::NOT_FOUND {
            (
                t.get("card-link-unknown-title"),
                t.get("card-link-unknown-body"),
            )
        } else {
            (t.get("error-server-title"), t.get("error-server-body"))
        };
        response = (info.status, MessagePage::new(t, title, body, None)).into_response();
    }
    let h = response.headers_mut();
    // Card pages and API answers alike: never cached anywhere.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if !is_api && let Ok(build) = HeaderValue::from_str(crate::integrity::build_id()) {
        h.insert(
            header::HeaderName::from_static(crate::integrity::BUILD_HEADER),
            build,
        );
    }
    response
}
