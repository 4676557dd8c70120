//! What every resident page needs from the request: the language, the form
//! cookie, the client's address and the path (for the language switch).

use crate::AppState;
use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::middleware::Next;
use axum::response::Response;
use civicpay_core::{Language, Tenant};
use civicpay_web::form_token::{COOKIE_NAME, cookie_value};
use civicpay_web::i18n::negotiate;
use civicpay_web::{ClientIp, Translator};
use std::convert::Infallible;
use std::net::SocketAddr;

const LANGUAGE_COOKIE: &str = "civicpay_lang";

fn query_language(uri: &Uri) -> Option<&str> {
    uri.query()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "lang")
        .map(|(_, v)| v)
}

/// The language for this request, given the city's default if known.
pub(crate) fn request_language(
    headers: &HeaderMap,
    uri: &Uri,
    default: Option<Language>,
) -> Language {
    negotiate(
        query_language(uri),
        cookie_value(headers, LANGUAGE_COOKIE),
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
        default.unwrap_or(Language::En),
    )
}

/// Remembers a language picked with `?lang=` in a cookie, so the choice
/// follows the resident from page to page.
pub(crate) async fn remember_language(request: Request, next: Next) -> Response {
    let chosen = query_language(request.uri()).and_then(|l| Language::parse(l).ok());
    let mut response = next.run(request).await;
    if let Some(language) = chosen
        && let Ok(cookie) = HeaderValue::from_str(&format!(
            "{LANGUAGE_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            language.code()
        ))
    {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

pub(crate) struct PageContext {
    headers: HeaderMap,
    uri: Uri,
    pub client_ip: ClientIp,
}

impl PageContext {
    pub fn translator(&self, city_default: Option<Language>) -> Translator {
        Translator::new(request_language(&self.headers, &self.uri, city_default))
    }

    /// For a city's page: the language asked for if the city offers it,
    /// else the city's default.
    pub fn city_translator(&self, city: &Tenant) -> Translator {
        let wanted = request_language(&self.headers, &self.uri, Some(city.default_language));
        Translator::new(city.language_for(wanted))
    }

    pub fn path(&self) -> &str {
        self.uri.path()
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    pub fn query(&self) -> &str {
        self.uri.query().unwrap_or_default()
    }

    pub fn form_cookie(&self) -> Option<&str> {
        cookie_value(&self.headers, COOKIE_NAME)
    }
}

impl FromRequestParts<AppState> for PageContext {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| *addr);
        Ok(PageContext {
            client_ip: ClientIp::resolve(peer, &parts.headers, &state.config.trusted_proxies),
            headers: parts.headers.clone(),
            uri: parts.uri.clone(),
        })
    }
}
