//! Resident accounts at `/{city}/account/`: sign-up, sign-in, linked bill
//! accounts, history and receipts, saved cards (shown through pay's API:
//! the portal holds a token, brand, last four and expiry, never a card),
//! autopay, and the account's own settings.
//!
//! Same rules as the staff console: server-side sessions keyed by the
//! SHA-256 of a cookie token (`HttpOnly`, `SameSite=Strict`, path limited
//! to the city), an idle timeout and a lifetime, a form token on every
//! form, and every signed-in route behind one guard listed in [`ROUTES`].

mod bills;
mod cards;
mod history;
pub(crate) mod mail;
mod profile;
mod sign_up;
mod two_step;
pub(crate) mod views;

use crate::AppState;
use crate::error::PortalError;
use crate::page::PageContext;
use crate::views::{Layout, Link};
use axum::Router;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post};
use civicpay_core::{Tenant, TenantSlug};
use civicpay_identity::{Password, PasswordHash, SessionToken};
use civicpay_store::portal::residents::Resident;
use civicpay_store::portal::staff::SessionStage;
use civicpay_web::Translator;
use civicpay_web::form_token::IssuedToken;
use civicpay_web::form_token::cookie_value;
use std::collections::HashMap;
use std::time::Duration;
use views::{AccountNav, FormPage, NavLink};

pub const RESIDENT_COOKIE: &str = "civicpay_resident";

/// A resident session ends after this long without a request...
const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// ...and after this long whatever happens.
const SESSION_LIFETIME: jiff::SignedDuration = jiff::SignedDuration::from_hours(12);

/// Every signed-in route, below `/{tenant}/account`. The guard runs before
/// each; the sign-up, sign-in, reset and e-mail-link routes are outside.
pub const ROUTES: [&str; 17] = [
    "/",
    "/sign-out",
    "/sign-out-everywhere",
    "/link",
    "/unlink",
    "/payments",
    "/payments/{payment}",
    "/payments/{payment}/receipt.pdf",
    "/cards",
    "/cards/{token}/remove",
    "/autopay/{bill_type}/{reference}",
    "/autopay/{bill_type}/{reference}/cancel",
    "/settings",
    "/email",
    "/password",
    "/delete",
    "/two-step",
];

fn handlers(path: &str) -> MethodRouter<AppState> {
    match path {
        "/" => get(bills::home),
        "/sign-out" => post(sign_up::sign_out),
        "/sign-out-everywhere" => {
            get(profile::sign_out_everywhere_form).post(profile::sign_out_everywhere)
        }
        "/link" => get(bills::link_form).post(bills::link_submit),
        "/unlink" => post(bills::unlink),
        "/payments" => get(history::payments),
        "/payments/{payment}" => get(history::receipt),
        "/payments/{payment}/receipt.pdf" => get(history::receipt_pdf),
        "/cards" => get(cards::cards),
        "/cards/{token}/remove" => post(cards::remove_card),
        "/autopay/{bill_type}/{reference}" => get(cards::autopay_form).post(cards::autopay_submit),
        "/autopay/{bill_type}/{reference}/cancel" => {
            get(cards::autopay_cancel_form).post(cards::autopay_cancel)
        }
        "/settings" => get(profile::settings).post(profile::save_settings),
        "/email" => get(profile::email_form).post(profile::email_submit),
        "/password" => get(profile::password_form).post(profile::password_submit),
        "/delete" => get(profile::delete_form).post(profile::delete_submit),
        "/two-step" => get(two_step::two_step).post(two_step::two_step_submit),
        _ => MethodRouter::new(),
    }
}

pub(crate) fn router(state: &AppState) -> Router<AppState> {
    let prefix = "/{tenant}/account";
    let mut router = Router::new()
        .route(prefix, get(sign_up::account_redirect))
        .route(
            &format!("{prefix}/sign-up"),
            get(sign_up::sign_up_form).post(sign_up::sign_up_submit),
        )
        .route(&format!("{prefix}/verify/{{token}}"), get(sign_up::verify))
        .route(
            &format!("{prefix}/sign-in"),
            get(sign_up::sign_in_form).post(sign_up::sign_in_submit),
        )
        .route(
            &format!("{prefix}/reset"),
            get(sign_up::reset_form).post(sign_up::reset_submit),
        )
        .route(
            &format!("{prefix}/reset/{{token}}"),
            get(sign_up::new_password_form).post(sign_up::new_password_submit),
        )
        .route(
            &format!("{prefix}/confirm-email/{{token}}"),
            get(profile::confirm_email),
        )
        .route(
            &format!("{prefix}/second-factor"),
            get(two_step::second_factor_form).post(two_step::second_factor_submit),
        )
        .route(&format!("{prefix}/goodbye"), get(profile::goodbye));
    for path in ROUTES {
        let full = if path == "/" {
            format!("{prefix}/")
        } else {
            format!("{prefix}{path}")
        };
        router = router.route(
            &full,
            handlers(path).route_layer(middleware::from_fn_with_state(state.clone(), require)),
        );
    }
    router
}

/// The city of an account page, from the path.
pub(crate) struct City(pub Tenant);

impl FromRequestParts<AppState> for City {
    type Rejection = PortalError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| PortalError::NotFound)?;
        let slug = params.get("tenant").ok_or(PortalError::NotFound)?;
        let slug = TenantSlug::parse(slug).map_err(|_| PortalError::NotFound)?;
        let tenant = state
            .store
            .tenant_by_slug(&slug)
            .await?
            .ok_or(PortalError::NotFound)?;
        Ok(City(tenant))
    }
}

/// The signed-in resident, for handlers behind [`require`].
#[derive(Clone)]
pub(crate) struct Signed {
    pub tenant: Tenant,
    pub resident: Resident,
    pub token_hash: String,
}

impl Signed {
    pub fn prefix(&self) -> String {
        prefix(&self.tenant)
    }

    /// The account's address (an active account always has one).
    pub fn email(&self) -> &str {
        self.resident.email.as_deref().unwrap_or_default()
    }

    pub fn actor(&self) -> String {
        format!("resident:{}", self.resident.id)
    }

    /// The resident's own language, for e-mails.
    pub fn mail_translator(&self) -> Translator {
        Translator::new(self.tenant.language_for(self.resident.language))
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = PortalError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Signed>()
            .cloned()
            .ok_or(PortalError::Forbidden)
    }
}

pub(crate) fn prefix(tenant: &Tenant) -> String {
    format!("/{}/account", tenant.slug)
}

/// The live, fully signed-in session behind the request's cookie, if any.
pub(crate) async fn session(
    state: &AppState,
    tenant: &Tenant,
    headers: &HeaderMap,
) -> Result<Option<(Resident, String)>, PortalError> {
    session_at(state, tenant, headers, SessionStage::SignedIn).await
}

/// The live session at `stage` behind the request's cookie, if any.
pub(crate) async fn session_at(
    state: &AppState,
    tenant: &Tenant,
    headers: &HeaderMap,
    stage: SessionStage,
) -> Result<Option<(Resident, String)>, PortalError> {
    let Some(token) = cookie_value(headers, RESIDENT_COOKIE).and_then(SessionToken::from_cookie)
    else {
        return Ok(None);
    };
    let hash = token.stored_hash();
    Ok(state
        .store
        .resident_session(&tenant.id, &hash, IDLE_TIMEOUT)
        .await?
        .filter(|(_, at)| *at == stage)
        .map(|(r, _)| (r, hash)))
}

async fn require(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let City(tenant) = match City::from_request_parts(&mut parts, &state).await {
        Ok(city) => city,
        Err(e) => return e.into_response(),
    };
    let mut request = Request::from_parts(parts, body);
    let found = match session(&state, &tenant, request.headers()).await {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    let Some((resident, token_hash)) = found else {
        return Redirect::to(&format!("{}/sign-in", prefix(&tenant))).into_response();
    };
    request.extensions_mut().insert(Signed {
        tenant,
        resident,
        token_hash,
    });
    next.run(request).await
}

/// Starts a full session (replacing the half-way one, if any) and returns
/// the cookie that carries it.
pub(crate) async fn start_session(
    state: &AppState,
    tenant: &Tenant,
    resident: &civicpay_core::ResidentId,
    replaces: Option<&str>,
) -> Result<String, PortalError> {
    start_stage(state, tenant, resident, SessionStage::SignedIn, replaces).await
}

/// Starts a session at `stage`: a half-way one lasts five minutes.
pub(crate) async fn start_stage(
    state: &AppState,
    tenant: &Tenant,
    resident: &civicpay_core::ResidentId,
    stage: SessionStage,
    replaces: Option<&str>,
) -> Result<String, PortalError> {
    let token = SessionToken::generate();
    let lifetime = match stage {
        SessionStage::SignedIn => SESSION_LIFETIME,
        SessionStage::SecondFactor => jiff::SignedDuration::from_mins(5),
    };
    let expires = jiff::Timestamp::now()
        .checked_add(lifetime)
        .map_err(|_| PortalError::Internal("clock out of range"))?;
    state
        .store
        .create_resident_session(
            &tenant.id,
            resident,
            &token.stored_hash(),
            stage,
            expires,
            replaces,
        )
        .await?;
    Ok(format!(
        "{RESIDENT_COOKIE}={}; Path=/{}/; HttpOnly; SameSite=Strict{}",
        token.expose(),
        tenant.slug,
        if state.config.served_over_tls {
            "; Secure"
        } else {
            ""
        }
    ))
}

pub(crate) fn clear_cookie(tenant: &Tenant) -> String {
    format!(
        "{RESIDENT_COOKIE}=; Path=/{}/; Max-Age=0; HttpOnly; SameSite=Strict",
        tenant.slug
    )
}

pub(crate) fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Argon2 is slow on purpose; it runs off the async threads, a few at a
/// time (see `password_work`).
pub(crate) async fn password_matches(
    state: &AppState,
    stored: Option<&str>,
    typed: Password,
) -> Result<bool, PortalError> {
    let stored = stored.map(|s| PasswordHash::from_stored(s.to_owned()));
    state
        .password_work
        .run(move || match stored {
            Some(hash) => hash.verify(&typed),
            None => {
                PasswordHash::verify_nothing(&typed);
                false
            }
        })
        .await
}

/// A signed-in resident re-typing their password to confirm a change.
/// Each guess costs an Argon2 run, so guesses are limited per account and
/// per address.
pub(crate) async fn password_retyped(
    state: &AppState,
    ctx: &PageContext,
    signed: &Signed,
    typed: Password,
) -> Result<bool, PortalError> {
    let window = Duration::from_secs(600);
    state
        .rate_limit(
            &format!("retype:{}", signed.resident.id),
            RETYPES_PER_ACCOUNT,
            window,
        )
        .await?;
    state
        .rate_limit(
            &format!("retype-address:{}", ctx.client_ip.limit_key()),
            RETYPES_PER_ADDRESS,
            window,
        )
        .await?;
    password_matches(state, signed.resident.password_hash.as_deref(), typed).await
}

/// Re-typed passwords allowed in ten minutes, per account and per address.
pub const RETYPES_PER_ACCOUNT: u32 = 10;
pub const RETYPES_PER_ADDRESS: u32 = 30;

pub(crate) async fn hash_password(
    state: &AppState,
    password: Password,
) -> Result<PasswordHash, PortalError> {
    state
        .password_work
        .run(move || PasswordHash::create(&password))
        .await
}

/// A full URL on this portal, for e-mails.
pub(crate) fn public_link(state: &AppState, path: &str) -> String {
    format!("{}{path}", state.config.public_url.trim_end_matches('/'))
}

/// Confirmation messages a redirect may ask a page to show, by code, so
/// no text travels in a URL.
fn flash(ctx: &PageContext, t: &Translator) -> Option<String> {
    let code = ctx
        .query()
        .split('&')
        .find_map(|pair| pair.strip_prefix("done="))?;
    let key = match code {
        "link-added" => "account-link-added",
        "link-removed" => "account-link-removed",
        "autopay-on" => "account-autopay-saved",
        "autopay-off" => "account-autopay-cancelled",
        "card-removed" => "account-cards-removed",
        "settings" => "account-settings-saved",
        "two-step" => "account-settings-saved",
        "password" => "account-reset-done-title",
        "email-sent" => "account-check-email-body",
        "signed-out-everywhere" => "account-signed-out-everywhere",
        "verified" => "account-verified-title",
        _ => return None,
    };
    Some(t.get(key))
}

/// What every account page starts from: the translator, the layout, the
/// bar (signed in only), a form token and any confirmation to show.
pub(crate) struct Frame {
    pub t: Translator,
    pub layout: Layout,
    pub nav: Option<AccountNav>,
    pub flash: Option<String>,
    pub issued: IssuedToken,
}

impl Frame {
    pub fn new(
        state: &AppState,
        ctx: &PageContext,
        tenant: &Tenant,
        title_key: &str,
        signed: Option<&Signed>,
        has_errors: bool,
    ) -> Frame {
        let t = ctx.city_translator(tenant);
        let issued = state.form_tokens.issue(ctx.form_cookie());
        let nav = signed.map(|s| {
            let prefix = s.prefix();
            let links = [
                ("/", "account-nav-home"),
                ("/payments", "account-nav-payments"),
                ("/cards", "account-nav-cards"),
                ("/settings", "account-nav-settings"),
            ]
            .into_iter()
            .map(|(path, key)| {
                let href = format!("{prefix}{path}");
                NavLink {
                    current: ctx.path() == href,
                    href,
                    label: t.get(key),
                }
            })
            .collect();
            AccountNav {
                who: t.arg("account-home-signed-in-as", "email", s.email()),
                prefix,
                links,
                form_token: issued.token.clone(),
            }
        });
        let layout = Layout::new(
            t.clone(),
            t.get(title_key),
            Some(tenant),
            ctx.path(),
            has_errors,
        );
        Frame {
            flash: flash(ctx, &t),
            t,
            layout,
            nav,
            issued,
        }
    }

    /// A form page with this frame; the caller fills the fields.
    pub fn form(self, action: String, submit_key: &str) -> (FormPage, IssuedToken) {
        let submit = self.t.get(submit_key);
        let page = FormPage {
            layout: self.layout,
            nav: self.nav,
            flash: self.flash,
            caption: None,
            intro: Vec::new(),
            qr: None,
            codes: Vec::new(),
            errors: Vec::new(),
            show_form: true,
            action,
            form_token: self.issued.token.clone(),
            fields: Vec::new(),
            submit,
            danger: false,
            after: Vec::new(),
        };
        (page, self.issued)
    }

    /// A page that only tells something, with an optional link onward.
    pub fn message(self, body_key: &str, link: Option<Link>) -> Response {
        let body = self.t.get(body_key);
        let (mut page, cookie) = self.form(String::new(), "account-sign-in-submit");
        page.show_form = false;
        page.intro = vec![body];
        page.after.extend(link);
        (cookie, page).into_response()
    }
}

impl FormPage {
    /// The page, its error summary made from its fields, with its form
    /// token's cookie: 422 when it shows errors.
    pub fn respond(mut self, issued: IssuedToken) -> Response {
        self.errors = civicpay_web::forms::summary(&self.fields);
        self.layout.has_errors |= !self.errors.is_empty();
        let status = if self.errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        (status, issued, self).into_response()
    }
}
