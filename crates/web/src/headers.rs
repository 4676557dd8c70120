//! Security headers on every response, as one middleware.

use crate::style::stylesheet_hash;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct SecurityHeaders {
    csp: HeaderValue,
    /// The same policy before its `form-action`, for responses that name
    /// one more target with [`FormTarget`].
    policy_parts: (String, String),
    hsts: Option<HeaderValue>,
}

/// One more origin a page's form may lead to, set as a response extension
/// by the handler that knows it (the card page: the payment's return URL).
#[derive(Debug, Clone)]
pub struct FormTarget(pub String);

const PERMISSIONS_POLICY: &str = "accelerometer=(), autoplay=(), camera=(), display-capture=(), \
    geolocation=(), gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), \
    publickey-credentials-get=(), usb=(), xr-spatial-tracking=()";

impl SecurityHeaders {
    /// `served_over_tls` is true when browsers reach us by HTTPS (directly
    /// or through a proxy); only then is HSTS sent.
    pub fn new(served_over_tls: bool) -> Self {
        Self::with_form_targets(served_over_tls, &[])
    }

    /// `form_targets` are origins a form's redirect may lead to besides our
    /// own (Chromium applies `form-action` to the redirects after a post):
    /// the portal's Pay button leads to the pay service's origin.
    pub fn with_form_targets(served_over_tls: bool, form_targets: &[String]) -> Self {
        Self::build(served_over_tls, form_targets, None)
    }

    /// As the pay service sends them: violations are reported to
    /// `report_uri`, and each page may add its own [`FormTarget`].
    pub fn reporting_to(served_over_tls: bool, report_uri: &str) -> Self {
        Self::build(served_over_tls, &[], Some(report_uri))
    }

    fn build(served_over_tls: bool, form_targets: &[String], report_uri: Option<&str>) -> Self {
        let mut form_action = "'self'".to_owned();
        for origin in form_targets {
            form_action.push(' ');
            form_action.push_str(origin);
        }
        let before = format!(
            "default-src 'none'; style-src {}; img-src 'self'; form-action {form_action}",
            stylesheet_hash()
        );
        let mut after = "; frame-ancestors 'none'; base-uri 'none'".to_owned();
        if let Some(uri) = report_uri {
            after.push_str("; report-uri ");
            after.push_str(uri);
        }
        Self {
            csp: HeaderValue::from_str(&format!("{before}{after}"))
                .unwrap_or(HeaderValue::from_static("default-src 'none'")),
            policy_parts: (before, after),
            hsts: served_over_tls.then_some(HeaderValue::from_static(
                "max-age=63072000; includeSubDomains",
            )),
        }
    }

    /// The policy for one response: the service's own, widened by the
    /// page's [`FormTarget`] if it set one.
    fn policy_for(&self, target: Option<&FormTarget>) -> HeaderValue {
        let Some(FormTarget(origin)) = target else {
            return self.csp.clone();
        };
        let (before, after) = &self.policy_parts;
        HeaderValue::from_str(&format!("{before} {origin}{after}")).unwrap_or(self.csp.clone())
    }

    pub fn content_security_policy(&self) -> &HeaderValue {
        &self.csp
    }

    /// Axum middleware: `middleware::from_fn_with_state(headers, SecurityHeaders::apply)`.
    pub async fn apply(
        State(this): State<Arc<SecurityHeaders>>,
        request: Request,
        next: Next,
    ) -> Response {
        let mut response = next.run(request).await;
        let csp = this.policy_for(response.extensions().get::<FormTarget>());
        let h = response.headers_mut();
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static(PERMISSIONS_POLICY),
        );
        h.insert(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        );
        h.insert(
            HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("same-origin"),
        );
        if !h.contains_key(header::CACHE_CONTROL) {
            // Pages carry residents' bills: never keep them in a shared or
            // back-button cache.
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        if let Some(hsts) = &this.hsts {
            h.insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
        }
        response
    }
}
