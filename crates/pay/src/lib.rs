//! The pay service: the only civicpay component that ever sees a card
//! number. It serves the payments API (for the portal and any other city
//! system) and the hosted card page, on its own listener, so its own
//! browser origin, with its own database.
//!
//! The card page ships no JavaScript and nothing third-party; its CSP
//! allows one stylesheet by hash and forms that post to itself (and the
//! payment's return origin, for the redirect that follows).

mod api;
mod card_page;
pub mod connectors;
mod csp_reports;
mod error;
mod extract;
mod idempotency;
pub mod integrity;
mod openapi;
mod orphans;
pub mod platform;
mod probes;
pub mod reconcile;
mod reports;
mod saved_cards;
mod secrets;
pub mod vault;
mod views;
pub mod webhooks;

pub use error::PayError;
pub use secrets::hash_secret;

use axum::Router;
use axum::routing::{get, post};
use civicpay_gateway::Connector;
use civicpay_store::pay::PayStore;
use civicpay_web::{FormTokens, SecurityHeaders};
use std::sync::Arc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::csrf::CsrfLayer;

#[derive(Debug, Clone)]
pub struct PayConfig {
    /// Where browsers reach this service, for `next_url` (e.g.
    /// `https://pay.example.org`).
    pub public_url: String,
    /// How long a payment may stay unfinished.
    pub payment_ttl: Duration,
    /// Card attempts per payment before it fails.
    pub max_attempts: i64,
    pub served_over_tls: bool,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Card submissions allowed per client address per window.
    pub card_attempts_per_address: u32,
    /// Card submissions allowed per card (by fingerprint) per window.
    pub card_attempts_per_card: u32,
    pub velocity_window: Duration,
    /// The saved-card key folder (see `vault_keys_dir`); `None`: no card
    /// is ever saved and the card page never offers it.
    pub vault_keys_dir: Option<std::path::PathBuf>,
    /// How long a city's own processor has to answer.
    pub processor_timeout: Duration,
    /// Where the processors are reached (the real services unless set).
    pub processor_endpoints: connectors::ProcessorEndpoints,
}

impl Default for PayConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8081".into(),
            payment_ttl: Duration::from_secs(90 * 60),
            max_attempts: 3,
            served_over_tls: false,
            trusted_proxies: Vec::new(),
            card_attempts_per_address: 10,
            card_attempts_per_card: 5,
            velocity_window: Duration::from_secs(600),
            vault_keys_dir: None,
            processor_timeout: Duration::from_secs(30),
            processor_endpoints: connectors::ProcessorEndpoints::default(),
        }
    }
}

#[derive(Clone)]
pub struct PayState {
    pub store: PayStore,
    /// Each city's connector (`PayState::connector`).
    pub connectors: Arc<connectors::Connectors>,
    pub config: Arc<PayConfig>,
    pub form_tokens: FormTokens,
    pub fingerprints: civicpay_vault::FingerprintKey,
    pub(crate) link_key: secrets::LinkKey,
    pub vault: Option<vault::Vault>,
}

impl PayState {
    pub fn new(
        store: PayStore,
        connector: Arc<dyn Connector>,
        config: PayConfig,
        form_key: [u8; 32],
    ) -> Self {
        let form_tokens = FormTokens::new(form_key, config.served_over_tls);
        // The fingerprint key (velocity limits per card) is derived from the
        // form key, so it is never stored apart.
        let fingerprint_key: [u8; 32] = {
            use sha2::{Digest, Sha256};
            Sha256::new()
                .chain_update(b"civicpay-fingerprint-key:")
                .chain_update(form_key)
                .finalize()
                .into()
        };
        let vault = config
            .vault_keys_dir
            .clone()
            .map(|dir| vault::Vault::new(store.clone(), dir));
        Self {
            vault,
            store,
            connectors: Arc::new(
                connectors::Connectors::new(connector, config.processor_timeout)
                    .with_endpoints(config.processor_endpoints.clone()),
            ),
            config: Arc::new(config),
            form_tokens,
            fingerprints: civicpay_vault::FingerprintKey::new(fingerprint_key),
            link_key: secrets::LinkKey::derive(&form_key),
        }
    }
}

/// Every path outside the API: card pages, CSP reports, health.
pub const PAGES: [&str; 5] = [
    "/card/start/{token}",
    "/card/{tenant}/{payment}",
    "/card/{tenant}/{payment}/saved",
    "/csp-reports",
    "/healthz",
];

fn page_router(path: &str) -> axum::routing::MethodRouter<PayState> {
    match path {
        "/card/start/{token}" => get(card_page::start),
        "/card/{tenant}/{payment}" => get(card_page::show).post(card_page::submit),
        "/card/{tenant}/{payment}/saved" => post(card_page::submit_saved),
        "/csp-reports" => {
            post(csp_reports::receive).layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        }
        "/healthz" => get(|| async { "ok" }),
        _ => axum::routing::any(|| async { PayError::NotFound }),
    }
}

/// Every path pay serves, for checks that must cover them all.
pub fn paths() -> impl Iterator<Item = &'static str> {
    std::iter::once("/v1/openapi.json")
        .chain(openapi::API.iter().map(|api| api.path))
        .chain(PAGES)
}

pub fn app(state: PayState) -> Router {
    let headers = std::sync::Arc::new(SecurityHeaders::reporting_to(
        state.config.served_over_tls,
        "/csp-reports",
    ));
    let mut router = Router::new().route("/v1/openapi.json", get(openapi::serve_document));
    for api in &openapi::API {
        router = router.route(api.path, (api.handlers)());
    }
    for path in PAGES {
        router = router.route(path, page_router(path));
    }
    router
        .fallback(|| async { PayError::NotFound })
        .with_state(state)
        // The API authenticates by key; browsers send CSP reports cross-site.
        .layer(CsrfLayer::new().with_insecure_bypass(|_, uri| {
            uri.path().starts_with("/v1/") || uri.path() == "/csp-reports"
        }))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(axum::middleware::from_fn(error::error_pages))
        .layer(axum::middleware::from_fn_with_state(
            headers,
            SecurityHeaders::apply,
        ))
}
