//! The portal's one error type and its one mapping to HTTP. Handlers return
//! `PortalError`; its response carries only a status and an [`ErrorPage`]
//! marker, and [`render_error_pages`] (which sees the request, so knows the
//! language and whether it was an API call) writes the body: a translated
//! HTML page or a JSON `{code, message}`.

use crate::page::request_language;
use crate::views::{Layout, MessagePage};
use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use civicpay_store::StoreError;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PortalError {
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("too many attempts")]
    RateLimited { retry_after: Duration },
    #[error("the form token is missing or does not match")]
    FormExpired,
    #[error("{0}")]
    BadRequest(String),
    #[error("the request body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("a valid API key is required")]
    Unauthorized,
    /// Signed in, but the role does not allow this.
    #[error("your role does not allow this")]
    Forbidden,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(&'static str),
    #[error("the payment service is not available")]
    PayUnavailable,
}

/// What went wrong, for the page renderer.
#[derive(Debug, Clone)]
pub(crate) struct ErrorPage {
    code: &'static str,
    message: String,
    retry_after: Option<Duration>,
}

impl IntoResponse for PortalError {
    fn into_response(self) -> Response {
        let (status, code, message) = match &self {
            PortalError::NotFound => (StatusCode::NOT_FOUND, "not_found", self.to_string()),
            PortalError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                self.to_string(),
            ),
            PortalError::RateLimited { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                self.to_string(),
            ),
            PortalError::FormExpired => (StatusCode::FORBIDDEN, "form_expired", self.to_string()),
            PortalError::BadRequest(_) => {
                (StatusCode::BAD_REQUEST, "bad_request", self.to_string())
            }
            PortalError::TooLarge { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, "too_large", self.to_string())
            }
            PortalError::Unauthorized => {
                (StatusCode::UNAUTHORIZED, "unauthorized", self.to_string())
            }
            PortalError::Forbidden => (StatusCode::FORBIDDEN, "forbidden", self.to_string()),
            PortalError::PayUnavailable => {
                (StatusCode::BAD_GATEWAY, "pay_unavailable", self.to_string())
            }
            PortalError::Store(_) | PortalError::Internal(_) => {
                tracing::error!(error = %self, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the service could not complete the request".to_owned(),
                )
            }
        };
        let retry_after = match self {
            PortalError::RateLimited { retry_after } => Some(retry_after),
            _ => None,
        };
        let mut response = status.into_response();
        if let Some(after) = retry_after
            && let Ok(v) = HeaderValue::from_str(&after.as_secs().max(1).to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response.extensions_mut().insert(ErrorPage {
            code,
            message,
            retry_after,
        });
        response
    }
}

pub(crate) async fn render_error_pages(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let language = request_language(request.headers(), request.uri(), None);
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let page = match response.extensions().get::<ErrorPage>() {
        Some(page) => page.clone(),
        // tower-http's cross-origin check answers 403 on its own.
        None if response
            .extensions()
            .get::<tower_http::csrf::ProtectionError>()
            .is_some() =>
        {
            ErrorPage {
                code: "form_expired",
                message: PortalError::FormExpired.to_string(),
                retry_after: None,
            }
        }
        None => return response,
    };
    let (mut parts, _) = response.into_parts();
    let body = if is_api {
        Json(serde_json::json!({ "code": page.code, "message": page.message })).into_response()
    } else {
        let t = civicpay_web::Translator::new(language);
        let (title, body) = match page.code {
            "not_found" | "method_not_allowed" => (
                t.get("error-not-found-title"),
                t.get("error-not-found-body"),
            ),
            "rate_limited" => {
                let minutes = page
                    .retry_after
                    .map_or(1, |d| d.as_secs().div_ceil(60).max(1));
                (
                    t.get("error-rate-limited-title"),
                    t.count("error-rate-limited-body", "minutes", minutes),
                )
            }
            "form_expired" => (
                t.get("error-forbidden-title"),
                t.get("error-forbidden-body"),
            ),
            "forbidden" => (
                t.get("error-not-permitted-title"),
                t.get("error-not-permitted-body"),
            ),
            "pay_unavailable" => (
                t.get("pay-unavailable-title"),
                t.get("pay-unavailable-body"),
            ),
            "bad_request" | "too_large" => (
                t.get("error-bad-request-title"),
                t.get("error-bad-request-body"),
            ),
            _ => (t.get("error-server-title"), t.get("error-server-body")),
        };
        let start_again = t.get("start-again");
        MessagePage {
            layout: Layout::new(t, title, None, &path, false),
            body,
            link: Some(crate::views::Link {
                href: "/".to_owned(),
                label: start_again,
            }),
        }
        .into_response()
    };
    let (body_parts, body) = body.into_parts();
    if let Some(content_type) = body_parts.headers.get(header::CONTENT_TYPE) {
        parts
            .headers
            .insert(header::CONTENT_TYPE, content_type.clone());
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, body)
}

/// A panic in a handler is a bug; the resident sees the generic error page
/// (rendered by the layer above) and the cause goes to the log.
pub(crate) fn panic_response(cause: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = cause
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| cause.downcast_ref::<&str>().copied())
        .unwrap_or("unknown");
    tracing::error!(panic = detail, "request handler panicked");
    PortalError::Internal("handler panicked").into_response()
}
