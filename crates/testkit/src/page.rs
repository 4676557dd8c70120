//! A response read whole, for the tests that drive a service's router in
//! process (`tower::ServiceExt::oneshot`): status, headers and body, with
//! the questions those tests ask of a page.

use axum::body::Body;
use axum::http::{HeaderMap, Response, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;

#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as text (lossy), for assertions on markup or JSON.
    pub body: String,
    /// The body as sent, for binary answers (PDFs, CSV with a BOM).
    pub bytes: Vec<u8>,
}

impl Page {
    pub async fn read(response: Response<Body>) -> Page {
        let (parts, body) = response.into_parts();
        let bytes = body
            .collect()
            .await
            .unwrap_or_else(|e| panic!("a response body: {e}"))
            .to_bytes();
        Page {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            bytes: bytes.to_vec(),
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Where a redirect points, or "" when it is not one.
    pub fn location(&self) -> &str {
        self.header("location").unwrap_or_default()
    }

    /// The cookie `name` this page set, as `name=value` for a `Cookie`
    /// header.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let prefix = format!("{name}=");
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&prefix))
            .and_then(|c| c.split(';').next())
            .map(str::to_owned)
    }

    /// The form cookie this page set for a new visitor.
    pub fn form_cookie(&self) -> String {
        self.cookie(civicpay_web::form_token::COOKIE_NAME)
            .unwrap_or_else(|| panic!("the page sets the form cookie: {:?}", self.headers))
    }

    /// The hidden form token of the page's first form.
    pub fn form_token(&self) -> String {
        crate::resident::form_token(&self.body)
    }

    /// The text between `start` and the next `end`.
    pub fn between(&self, start: &str, end: &str) -> String {
        crate::resident::between(&self.body, start, end).to_owned()
    }

    /// The error summary block, or "" when the page has none.
    pub fn error_summary(&self) -> &str {
        let Some(start) = self.body.find("<div class=\"error-summary\"") else {
            return "";
        };
        let rest = self.body.get(start..).unwrap_or_default();
        rest.get(..rest.find("</ul>").unwrap_or(rest.len()))
            .unwrap_or_default()
    }
}

/// A form body, encoded as a browser sends it.
pub fn form_urlencoded(fields: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}
