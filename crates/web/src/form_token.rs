//! Form tokens against cross-site request forgery, on top of the
//! `Sec-Fetch-Site`/`Origin` check that tower-http's `CsrfLayer` does.
//!
//! Each browser gets a random nonce in a `SameSite=Strict`, `HttpOnly`
//! cookie; every form carries HMAC(key, nonce) in a hidden field. A forged
//! form on another site can neither read the cookie nor compute the token.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponseParts, ResponseParts};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::convert::Infallible;
use subtle::ConstantTimeEq;

pub const COOKIE_NAME: &str = "civicpay_form";
pub const FIELD_NAME: &str = "form_token";

#[derive(Clone)]
pub struct FormTokens {
    key: [u8; 32],
    secure_cookie: bool,
}

impl std::fmt::Debug for FormTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FormTokens(…)")
    }
}

/// What a page needs to render a form: the token for the hidden field and,
/// for a new visitor, the cookie to set. It is part of the page's response
/// (`(issued, page).into_response()`), so a page cannot carry a token
/// without the cookie it is checked against.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub set_cookie: Option<String>,
}

impl IntoResponseParts for IssuedToken {
    type Error = Infallible;

    fn into_response_parts(self, mut parts: ResponseParts) -> Result<ResponseParts, Infallible> {
        if let Some(cookie) = self.set_cookie
            && let Ok(value) = HeaderValue::from_str(&cookie)
        {
            parts.headers_mut().append(header::SET_COOKIE, value);
        }
        Ok(parts)
    }
}

impl FormTokens {
    pub fn new(key: [u8; 32], secure_cookie: bool) -> Self {
        Self { key, secure_cookie }
    }

    fn sign(&self, nonce: &str) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            return String::new();
        };
        mac.update(b"civicpay-form-token:");
        mac.update(nonce.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// A value derived from the form key for another purpose (the label
    /// keeps purposes apart), e.g. a secret that must be the same on every
    /// instance and every reload without being stored.
    pub fn derive_secret(&self, purpose: &str, input: &str) -> [u8; 32] {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            return [0; 32];
        };
        mac.update(b"civicpay-derived:");
        mac.update(purpose.as_bytes());
        mac.update(b":");
        mac.update(input.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The token for the nonce in `cookie`, or a new nonce and its cookie.
    pub fn issue(&self, cookie: Option<&str>) -> IssuedToken {
        if let Some(nonce) = cookie.filter(|n| is_nonce(n)) {
            return IssuedToken {
                token: self.sign(nonce),
                set_cookie: None,
            };
        }
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let nonce = URL_SAFE_NO_PAD.encode(bytes);
        let secure = if self.secure_cookie { "; Secure" } else { "" };
        IssuedToken {
            token: self.sign(&nonce),
            set_cookie: Some(format!(
                "{COOKIE_NAME}={nonce}; Path=/; HttpOnly; SameSite=Strict{secure}"
            )),
        }
    }

    pub fn verify(&self, cookie: Option<&str>, token: Option<&str>) -> bool {
        match (cookie.filter(|n| is_nonce(n)), token) {
            (Some(nonce), Some(token)) => {
                bool::from(self.sign(nonce).as_bytes().ct_eq(token.trim().as_bytes()))
            }
            _ => false,
        }
    }
}

fn is_nonce(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie_value<'h>(headers: &'h axum::http::HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn nonce_of(set_cookie: &str) -> String {
        set_cookie
            .split(';')
            .next()
            .unwrap()
            .split_once('=')
            .unwrap()
            .1
            .to_owned()
    }

    #[test]
    fn a_page_with_a_new_token_sets_its_cookie_and_one_with_an_old_does_not() {
        use axum::response::IntoResponse;
        let tokens = FormTokens::new([7; 32], false);
        let new = tokens.issue(None);
        let cookie = new.set_cookie.clone().unwrap();
        let response = (new, "page").into_response();
        let set: Vec<_> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .collect();
        assert_eq!(set, [cookie.as_str()]);
        let again = tokens.issue(Some(&nonce_of(&cookie)));
        let response = (again, "page").into_response();
        assert!(response.headers().get(header::SET_COOKIE).is_none());
    }

    #[test]
    fn a_token_verifies_only_with_its_own_cookie_and_key() {
        let tokens = FormTokens::new([7; 32], false);
        let issued = tokens.issue(None);
        let cookie = issued.set_cookie.unwrap();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        let nonce = nonce_of(&cookie);
        assert!(tokens.verify(Some(&nonce), Some(&issued.token)));
        assert!(!tokens.verify(Some(&nonce), Some("forged")));
        assert!(!tokens.verify(None, Some(&issued.token)));
        assert!(!tokens.verify(Some(&nonce), None));
        let other_nonce = nonce_of(&tokens.issue(None).set_cookie.unwrap());
        assert!(!tokens.verify(Some(&other_nonce), Some(&issued.token)));
        let other_key = FormTokens::new([8; 32], false);
        assert!(!other_key.verify(Some(&nonce), Some(&issued.token)));
    }

    #[test]
    fn an_existing_cookie_is_reused() {
        let tokens = FormTokens::new([1; 32], true);
        let first = tokens.issue(None);
        assert!(first.set_cookie.as_deref().unwrap().ends_with("; Secure"));
        let nonce = nonce_of(first.set_cookie.as_deref().unwrap());
        let again = tokens.issue(Some(&nonce));
        assert!(again.set_cookie.is_none());
        assert_eq!(again.token, first.token);
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = axum::http::HeaderMap::new();
        h.insert("cookie", "a=1; civicpay_form=xyz; lang=fr".parse().unwrap());
        assert_eq!(cookie_value(&h, COOKIE_NAME), Some("xyz"));
        assert_eq!(cookie_value(&h, "lang"), Some("fr"));
        assert_eq!(cookie_value(&h, "missing"), None);
    }
}
