//! The portal: the city's own site. Residents find bills here; the back
//! office imports bills through its API. It never receives card data: the
//! payments issue adds a separate `pay` service for that, and a test keeps
//! this crate from depending on card-handling code.

pub mod account;
mod error;
mod forms;
pub mod jobs;
mod logo;
mod page;
mod password_work;
mod pay_client;
mod receipt_mail;
mod routes;
pub mod staff;
mod views;

pub use error::PortalError;
pub use receipt_mail::{Mail, MailConfig};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use civicpay_store::Store;
use civicpay_web::{FormTokens, SecurityHeaders};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::csrf::CsrfLayer;

#[derive(Debug, Clone)]
pub struct PortalConfig {
    /// Browsers reach the portal over HTTPS (sets HSTS and `Secure` cookies).
    pub served_over_tls: bool,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// Bill look-ups allowed per client address per window.
    pub lookup_limit: u32,
    pub lookup_window: Duration,
    /// Largest bill-import request body.
    pub api_body_limit: usize,
    /// The pay service, when payments are switched on.
    pub pay: Option<PayLink>,
    /// Where receipts go; `None` sends none.
    pub mail: Option<Mail>,
    /// A staff session ends after this long without a request...
    pub staff_idle_timeout: Duration,
    /// ...and after this long whatever happens.
    pub staff_session_lifetime: Duration,
    /// Seals staff authenticator secrets in the database; kept outside it.
    /// `None`: a key for this process only.
    pub staff_totp_key: Option<civicpay_identity::TotpKey>,
    /// Where browsers reach the portal, for links in e-mails.
    pub public_url: String,
}

/// How the portal reaches the pay service's API.
#[derive(Clone)]
pub struct PayLink {
    /// Base URL of pay's API as the portal reaches it (server to server).
    pub api_url: String,
    /// Secret shared with pay, from which each city's pay API key is derived.
    pub service_key: [u8; 32],
    /// Where browsers reach the portal, for `return_url`.
    pub portal_public_url: String,
    /// Where browsers reach the pay service (its origin is allowed as a
    /// form target, for the redirect from the Pay button).
    pub pay_public_url: String,
}

impl PayLink {
    /// Everything pay keeps of a city, as the portal registers it: its
    /// name and currency, where its payments may return to (the portal and
    /// the origins in its city file), whether it is paused, the portal's key
    /// for it and where its webhooks go. The same value at start-up and
    /// from the platform console, so both register a city the same way.
    pub fn registration(
        &self,
        tenant: &civicpay_core::Tenant,
    ) -> Result<civicpay_pay_api::RegisterMerchant, PortalError> {
        let portal = url::Url::parse(&self.portal_public_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or(PortalError::Internal(
                "portal_public_url is not an http or https URL",
            ))?
            .origin()
            .ascii_serialization();
        let mut return_origins = vec![portal];
        for origin in &tenant.return_origins {
            if !return_origins.iter().any(|o| o == origin.as_str()) {
                return_origins.push(origin.as_str().to_owned());
            }
        }
        let id = tenant.id.as_str();
        Ok(civicpay_pay_api::RegisterMerchant {
            slug: tenant.slug.as_str().to_owned(),
            name: tenant.name.get(tenant.default_language).to_owned(),
            currency: tenant.currency,
            return_origins,
            suspended: tenant.suspended,
            portal_key: civicpay_web::service_key::portal_pay_key(&self.service_key, id),
            webhook_url: format!(
                "{}/api/v1/pay-webhooks/{}",
                self.portal_public_url.trim_end_matches('/'),
                tenant.slug
            ),
            webhook_secret: civicpay_web::service_key::portal_webhook_secret(&self.service_key, id),
            processor: tenant.processor.clone(),
        })
    }

    /// The portal's platform key on pay, which registers cities.
    pub fn platform_key(&self) -> String {
        civicpay_web::service_key::platform_pay_key(&self.service_key)
    }
}

impl std::fmt::Debug for PayLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayLink")
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

impl Default for PortalConfig {
    fn default() -> Self {
        Self {
            served_over_tls: false,
            trusted_proxies: Vec::new(),
            lookup_limit: 20,
            lookup_window: Duration::from_secs(600),
            api_body_limit: 32 * 1024 * 1024,
            pay: None,
            mail: None,
            staff_idle_timeout: Duration::from_secs(15 * 60),
            staff_session_lifetime: Duration::from_secs(8 * 3600),
            staff_totp_key: None,
            public_url: "http://127.0.0.1:8080".to_owned(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<PortalConfig>,
    pub form_tokens: FormTokens,
    pub(crate) password_work: password_work::PasswordWork,
    pub(crate) totp_key: civicpay_identity::TotpKey,
}

impl AppState {
    /// `form_key` signs form tokens; it must be the same on every instance
    /// and is generated on first run, never shipped.
    pub fn new(store: Store, config: PortalConfig, form_key: [u8; 32]) -> Self {
        let form_tokens = FormTokens::new(form_key, config.served_over_tls);
        let totp_key = config
            .staff_totp_key
            .clone()
            .unwrap_or_else(civicpay_identity::TotpKey::generate);
        Self {
            store,
            config: Arc::new(config),
            form_tokens,
            password_work: password_work::PasswordWork::sized_to_machine(),
            totp_key,
        }
    }
}

impl AppState {
    /// The pay service, for pages that need it.
    pub(crate) fn pay_link(&self) -> Result<&PayLink, PortalError> {
        self.config.pay.as_ref().ok_or(PortalError::PayUnavailable)
    }

    /// Counts one attempt in `bucket`; past `limit` in `window` it is
    /// refused with the time to wait.
    pub(crate) async fn rate_limit(
        &self,
        bucket: &str,
        limit: u32,
        window: std::time::Duration,
    ) -> Result<(), PortalError> {
        match self
            .store
            .rate_limit_hit(bucket, limit, window, jiff::Timestamp::now())
            .await?
        {
            civicpay_store::rate_limits::RateDecision::Limited { retry_after } => {
                Err(PortalError::RateLimited { retry_after })
            }
            _ => Ok(()),
        }
    }
}

/// `scheme://host[:port]` of a URL, if it has one.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest
        .split(['/', '?', '#'])
        .next()
        .filter(|h| !h.is_empty())?;
    matches!(scheme, "http" | "https").then(|| format!("{scheme}://{host}"))
}

/// The portal's routes; `main` serves it and tests call it directly.
pub fn app(state: AppState) -> Router {
    let pay_origin: Vec<String> = state
        .config
        .pay
        .as_ref()
        .and_then(|link| origin_of(&link.pay_public_url))
        .into_iter()
        .collect();
    let headers = Arc::new(SecurityHeaders::with_form_targets(
        state.config.served_over_tls,
        &pay_origin,
    ));
    let api = Router::new()
        .route("/api/v1/bills", post(routes::api::import_bills))
        .route(
            "/api/v1/pay-webhooks/{tenant}",
            post(routes::api::pay_webhook),
        )
        .layer(DefaultBodyLimit::max(state.config.api_body_limit));
    Router::new()
        .route("/", get(routes::resident::home))
        .route("/healthz", get(routes::resident::health))
        .route("/favicon.ico", get(routes::resident::favicon))
        .route("/{tenant}", get(routes::resident::city_redirect))
        .route("/{tenant}/", get(routes::resident::city))
        .route("/{tenant}/logo/{file}", get(routes::resident::logo))
        .route(
            "/{tenant}/pay/{bill_type}",
            get(routes::resident::lookup_form).post(routes::resident::lookup_submit),
        )
        .route(
            "/{tenant}/bills/{bill_id}/pay",
            post(routes::resident::pay_bill),
        )
        .route(
            "/{tenant}/payments/{payment}/return",
            get(routes::resident::payment_return),
        )
        .merge(api)
        .merge(staff::router(&state))
        .merge(account::router(&state))
        .fallback(routes::resident::not_found)
        .method_not_allowed_fallback(routes::resident::method_not_allowed)
        .with_state(state)
        .layer(middleware::from_fn(page::remember_language))
        .layer(CsrfLayer::new().with_insecure_bypass(|_, uri| uri.path().starts_with("/api/")))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(middleware::from_fn(error::render_error_pages))
        .layer(middleware::from_fn_with_state(
            headers,
            SecurityHeaders::apply,
        ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_city_returns_to_the_portal_and_the_origins_its_file_lists() {
        let file = civicpay_core::city_file::parse(include_str!(
            "../../../examples/cities/springfield.toml"
        ))
        .unwrap();
        let mut city = file.tenant(civicpay_core::TenantId::generate());
        let mut link = PayLink {
            api_url: "http://pay.internal".into(),
            service_key: [3; 32],
            portal_public_url: "https://pay.springfield.example/portal".into(),
            pay_public_url: "https://card.springfield.example".into(),
        };
        let registration = link.registration(&city).unwrap();
        assert_eq!(
            registration.return_origins,
            [
                "https://pay.springfield.example",
                "https://www.springfield.example"
            ]
        );
        assert_eq!(
            registration.webhook_url,
            "https://pay.springfield.example/portal/api/v1/pay-webhooks/springfield"
        );
        assert!(!registration.suspended);
        city.suspended = true;
        city.return_origins.clear();
        let registration = link.registration(&city).unwrap();
        assert_eq!(registration.return_origins.len(), 1);
        assert!(registration.suspended);
        link.portal_public_url = "javascript:alert(1)".into();
        let error = link.registration(&city).unwrap_err().to_string();
        assert!(error.contains("portal_public_url"), "{error}");
    }
}
