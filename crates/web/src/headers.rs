//! Security headers on every response, as one middleware.

use crate::style::{hash_source, stylesheet_hash};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;

fn policy(
    extra_style: Option<&str>,
    form_action: &str,
    extra_target: Option<&str>,
    tail: &str,
) -> String {
    let style = match extra_style {
        Some(extra) => format!("{} {extra}", stylesheet_hash()),
        None => stylesheet_hash().to_owned(),
    };
    let form_action = match extra_target {
        Some(extra) => format!("{form_action} {extra}"),
        None => form_action.to_owned(),
    };
    format!(
        "default-src 'none'; style-src {style}; img-src 'self'; form-action {form_action}{tail}"
    )
}

#[derive(Clone, Debug)]
pub struct SecurityHeaders {
    csp: HeaderValue,
    /// The policy's parts, for responses that widen it with a
    /// [`FormTarget`] or a [`PageStyle`].
    form_action: String,
    tail: String,
    hsts: Option<HeaderValue>,
}

/// One more origin a page's form may lead to, set as a response extension
/// by the handler that knows it (the card page: the payment's return URL).
#[derive(Debug, Clone)]
pub struct FormTarget(pub String);

/// One more `<style>` a page carries besides the site's stylesheet (a
/// city's accent colour), set as a response extension by what rendered it:
/// the policy allows exactly this text by its hash, as it does the main one.
#[derive(Debug, Clone)]
pub struct PageStyle(pub String);

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
        let mut tail = "; frame-ancestors 'none'; base-uri 'none'".to_owned();
        if let Some(uri) = report_uri {
            tail.push_str("; report-uri ");
            tail.push_str(uri);
        }
        let csp = policy(None, &form_action, None, &tail);
        Self {
            csp: HeaderValue::from_str(&csp)
                .unwrap_or(HeaderValue::from_static("default-src 'none'")),
            form_action,
            tail,
            hsts: served_over_tls.then_some(HeaderValue::from_static(
                "max-age=63072000; includeSubDomains",
            )),
        }
    }

    /// The policy for one response: the service's own, widened by the
    /// page's [`FormTarget`] and [`PageStyle`] if it set them.
    fn policy_for(&self, target: Option<&FormTarget>, style: Option<&PageStyle>) -> HeaderValue {
        if target.is_none() && style.is_none() {
            return self.csp.clone();
        }
        let style = style.map(|PageStyle(text)| hash_source(text));
        let target = target.map(|FormTarget(origin)| origin.as_str());
        HeaderValue::from_str(&policy(
            style.as_deref(),
            &self.form_action,
            target,
            &self.tail,
        ))
        .unwrap_or(self.csp.clone())
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
        let csp = this.policy_for(
            response.extensions().get::<FormTarget>(),
            response.extensions().get::<PageStyle>(),
        );
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
