//! The hosted card page: one-time link → session cookie → form → acquirer.
//! Zero JavaScript. Card number and security code live only in the `vault`
//! types for the length of one request; they are never written or echoed.

mod charge;
mod form;

use crate::PayState;
use crate::error::PayError;
use crate::secrets::{hash_secret, new_secret};
use crate::views::{Link, MessagePage};
use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
pub(crate) use charge::{submit, submit_saved};
use civicpay_core::payment::{Payment, PaymentEvent, PaymentStatus};
use civicpay_core::{PaymentId, TenantId};
use civicpay_store::pay::{LinkRefusal, PaymentChange, TransitionError};
use civicpay_web::Translator;
use civicpay_web::form_token::{COOKIE_NAME as FORM_COOKIE, cookie_value};
use form::*;

const SESSION_COOKIE: &str = "civicpay_card";

/// The connection's peer address, when the server recorded one.
pub(crate) struct Peer(pub(crate) Option<std::net::SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<std::net::SocketAddr>>()
                .map(|ConnectInfo(a)| *a),
        ))
    }
}

fn set_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

fn message(
    status: StatusCode,
    t: Translator,
    title_key: &str,
    body_key: &str,
    link: Option<Link>,
) -> Response {
    let title = t.get(title_key);
    let body = t.get(body_key);
    (status, MessagePage::new(t, title, body, link)).into_response()
}

fn translator(
    headers: &HeaderMap,
    payment_language: Option<civicpay_core::Language>,
) -> Translator {
    Translator::new(civicpay_web::i18n::negotiate(
        None,
        None,
        if payment_language.is_some() {
            None
        } else {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
        },
        payment_language.unwrap_or(civicpay_core::Language::En),
    ))
}

/// `GET /card/start/{token}`: spends the one-time link and starts this
/// browser's session on the payment.
pub(crate) async fn start(
    State(state): State<PayState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PayError> {
    let session = new_secret();
    let opened = state
        .store
        .open_card_link(
            &hash_secret(&token),
            &hash_secret(&session),
            jiff::Timestamp::now(),
        )
        .await?;
    let t = translator(&headers, None);
    let (tenant_id, payment_id) = match opened {
        Ok(ids) => ids,
        Err(LinkRefusal::AlreadyUsed) => {
            return Ok(message(
                StatusCode::GONE,
                t,
                "card-link-used-title",
                "card-link-used-body",
                None,
            ));
        }
        Err(LinkRefusal::Expired) => {
            return Ok(message(
                StatusCode::GONE,
                t,
                "card-link-expired-title",
                "card-link-expired-body",
                None,
            ));
        }
        Err(LinkRefusal::Unknown) => {
            return Ok(message(
                StatusCode::NOT_FOUND,
                t,
                "card-link-unknown-title",
                "card-link-unknown-body",
                None,
            ));
        }
    };
    match state
        .store
        .transition(
            &tenant_id,
            &payment_id,
            PaymentEvent::CardPageOpened,
            "card page opened",
            PaymentChange::default(),
        )
        .await
    {
        Ok(_) | Err(TransitionError::Illegal(_)) => {}
        Err(TransitionError::NotFound) => return Err(PayError::NotFound),
        Err(TransitionError::Store(e)) => return Err(e.into()),
    }
    let path = format!("/card/{tenant_id}/{payment_id}");
    let secure = if state.config.served_over_tls {
        "; Secure"
    } else {
        ""
    };
    let mut response = Redirect::to(&path).into_response();
    // Lax, not Strict: the link arrives from the city's site, another site.
    set_cookie(
        &mut response,
        &format!("{SESSION_COOKIE}={session}; Path={path}; HttpOnly; SameSite=Lax{secure}"),
    );
    Ok(response)
}

async fn session_payment(
    state: &PayState,
    headers: &HeaderMap,
    tenant: &str,
    payment: &str,
) -> Result<Payment, PayError> {
    let tenant_id = TenantId::parse(tenant).map_err(|_| PayError::NotFound)?;
    let payment_id = PaymentId::parse(payment).map_err(|_| PayError::NotFound)?;
    let session = cookie_value(headers, SESSION_COOKIE).ok_or(PayError::NotFound)?;
    state
        .store
        .payment_for_card_session(&tenant_id, &payment_id, &hash_secret(session))
        .await?
        .ok_or(PayError::NotFound)
}

fn return_origin(payment: &Payment) -> Option<String> {
    url::Url::parse(&payment.return_url)
        .ok()
        .map(|u| u.origin().ascii_serialization())
}

fn return_link(t: &Translator, city: &str, payment: &Payment) -> Link {
    Link {
        href: payment.return_url.clone(),
        label: t.arg("card-return", "city", city),
    }
}

async fn city_name(state: &PayState, payment: &Payment) -> Result<String, PayError> {
    Ok(state
        .store
        .merchant(&payment.tenant_id)
        .await?
        .map(|m| m.name)
        .unwrap_or_default())
}

/// Expires a started payment whose time is up; returns the current state.
async fn expire_if_due(state: &PayState, payment: Payment) -> Result<Payment, PayError> {
    if payment.status == PaymentStatus::Started && jiff::Timestamp::now() > payment.expires_at {
        match state
            .store
            .transition(
                &payment.tenant_id,
                &payment.id,
                PaymentEvent::Expired,
                "expired on the card page",
                PaymentChange::default(),
            )
            .await
        {
            Ok(p) => return Ok(p),
            Err(TransitionError::Store(e)) => return Err(e.into()),
            Err(_) => {}
        }
    }
    Ok(payment)
}

pub(crate) async fn show(
    State(state): State<PayState>,
    Path((tenant, payment)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, PayError> {
    let payment = session_payment(&state, &headers, &tenant, &payment).await?;
    let payment = expire_if_due(&state, payment).await?;
    let t = translator(&headers, Some(payment.language));
    let city = city_name(&state, &payment).await?;
    if payment.status != PaymentStatus::Started {
        return Ok(status_page(t, &city, &payment));
    }
    let issued = state.form_tokens.issue(cookie_value(&headers, FORM_COOKIE));
    let typed = Typed {
        saved_cards: saved_cards(&state, &payment).await?,
        ..Typed::default()
    };
    let page = card_page(
        &state,
        t,
        &city,
        &payment,
        issued.token.clone(),
        &typed,
        FieldErrors::none(),
        None,
    );
    Ok((issued, page).into_response())
}
