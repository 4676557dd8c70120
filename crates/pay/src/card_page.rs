//! The hosted card page: one-time link → session cookie → form → acquirer.
//! Zero JavaScript. Card number and security code live only in the `vault`
//! types for the length of one request; they are never written or echoed.

use crate::PayState;
use crate::error::PayError;
use crate::secrets::{hash_secret, new_secret};
use crate::vault::SavedCard;
use crate::views::{
    CardPage, Field, Link, MessagePage, SaveOffer, SavedChoice, SavedSection, SummaryError,
};
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, FromRequestParts, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use civicpay_core::payment::{Payment, PaymentEvent, PaymentStatus};
use civicpay_core::{PaymentId, TenantId};
use civicpay_gateway::{AuthorisationOutcome, AuthorisationRequest};
use civicpay_store::pay::{LinkRefusal, PaymentChange, TransitionError};
use civicpay_store::rate_limits::RateDecision;
use civicpay_vault::{CardError, CardNumber, Expiry, SecurityCode};
use civicpay_web::FormTarget;
use civicpay_web::form_token::{COOKIE_NAME as FORM_COOKIE, cookie_value};
use civicpay_web::style::STYLESHEET;
use civicpay_web::{ClientIp, Translator};
use serde::Deserialize;
use zeroize::Zeroize;

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

#[derive(Default)]
struct Typed {
    name: String,
    postal_code: String,
    email: String,
    /// The resident ticked "save this card".
    save_card: bool,
    /// The signed-in resident's saved cards, offered above the form, the
    /// one chosen, and what was wrong with paying with it.
    saved_cards: Vec<SavedCard>,
    saved_choice: String,
    saved_error: Option<String>,
}

struct FieldErrors {
    name: Option<String>,
    number: Option<String>,
    expiry: Option<String>,
    security_code: Option<String>,
    postal_code: Option<String>,
    email: Option<String>,
}

impl FieldErrors {
    fn none() -> Self {
        Self {
            name: None,
            number: None,
            expiry: None,
            security_code: None,
            postal_code: None,
            email: None,
        }
    }

    fn any(&self) -> bool {
        [
            &self.name,
            &self.number,
            &self.expiry,
            &self.security_code,
            &self.postal_code,
            &self.email,
        ]
        .iter()
        .any(|e| e.is_some())
    }
}

/// Only a signed-in resident's own web payment, and only where the vault
/// is configured, may save the card.
fn offers_saving(state: &PayState, payment: &Payment) -> bool {
    state.vault.is_some()
        && payment.customer.is_some()
        && payment.channel == civicpay_core::payment::Channel::Web
}

/// The saved cards a signed-in resident may pay with on this payment.
async fn saved_cards(state: &PayState, payment: &Payment) -> Result<Vec<SavedCard>, PayError> {
    let Some(customer) = payment
        .customer
        .as_deref()
        .filter(|_| offers_saving(state, payment))
    else {
        return Ok(Vec::new());
    };
    Ok(state
        .store
        .saved_cards_of(&payment.tenant_id, customer)
        .await?
        .iter()
        .map(SavedCard::from)
        .collect())
}

/// Seals the card for the resident after the acquirer approved it. A
/// failure here never fails the payment: it is logged (without card data)
/// and the resident can save the card next time.
async fn save_card(
    state: &PayState,
    payment: &Payment,
    number: &CardNumber,
    expiry: Expiry,
    fingerprint: &civicpay_vault::CardFingerprint,
) {
    let (Some(vault), Some(customer)) = (&state.vault, &payment.customer) else {
        return;
    };
    if let Err(e) = vault
        .save(&payment.tenant_id, customer, number, expiry, fingerprint)
        .await
    {
        tracing::error!(payment = %payment.id, error = %e, "the approved card could not be saved");
    }
}

#[allow(clippy::too_many_arguments)]
fn card_page(
    state: &PayState,
    t: Translator,
    city: &str,
    payment: &Payment,
    form_token: String,
    typed: &Typed,
    errors: FieldErrors,
    notice: Option<String>,
) -> Response {
    let field = |id,
                 name,
                 autocomplete,
                 inputmode,
                 label: String,
                 hint: Option<String>,
                 value: String,
                 error: Option<String>| Field {
        id,
        name,
        autocomplete,
        inputmode,
        input_type: "text",
        label,
        hint,
        value,
        error,
    };
    let mut summary = Vec::new();
    for (href, error) in [
        ("#cardholder-name", &errors.name),
        ("#card-number", &errors.number),
        ("#expiry", &errors.expiry),
        ("#security-code", &errors.security_code),
        ("#postal-code", &errors.postal_code),
        ("#email", &errors.email),
    ] {
        if let Some(message) = error {
            summary.push(SummaryError {
                href,
                message: message.clone(),
            });
        }
    }
    let amount = payment.amount.format(t.language());
    let fields = vec![
        field(
            "cardholder-name",
            "cardholder_name",
            "cc-name",
            "text",
            t.get("card-name"),
            None,
            typed.name.clone(),
            errors.name,
        ),
        field(
            "card-number",
            "card_number",
            "cc-number",
            "numeric",
            t.get("card-number"),
            Some(t.get("card-number-hint")),
            String::new(),
            errors.number,
        ),
        field(
            "expiry",
            "expiry",
            "cc-exp",
            "numeric",
            t.get("card-expiry"),
            Some(t.get("card-expiry-hint")),
            String::new(),
            errors.expiry,
        ),
        field(
            "security-code",
            "security_code",
            "cc-csc",
            "numeric",
            t.get("card-security-code"),
            Some(t.get("card-security-code-hint")),
            String::new(),
            errors.security_code,
        ),
        field(
            "postal-code",
            "postal_code",
            "postal-code",
            "text",
            t.get("card-postal-code"),
            None,
            typed.postal_code.clone(),
            errors.postal_code,
        ),
        field(
            "email",
            "email",
            "email",
            "email",
            t.get("card-email"),
            None,
            typed.email.clone(),
            errors.email,
        ),
    ];
    // Phone payments: staff key in a card read to them; mask the secret
    // fields on screen and keep the browser from remembering them.
    let mut fields = fields;
    if payment.channel == civicpay_core::payment::Channel::Moto {
        for field in fields
            .iter_mut()
            .filter(|f| matches!(f.id, "card-number" | "security-code"))
        {
            field.input_type = "password";
            field.autocomplete = "off";
        }
    }
    let save_offer = offers_saving(state, payment).then(|| SaveOffer {
        label: t.get("card-save"),
        consent: t.get("card-save-consent"),
        checked: typed.save_card,
    });
    let saved = (!typed.saved_cards.is_empty()).then(|| SavedSection {
        action: format!("/card/{}/{}/saved", payment.tenant_id, payment.id),
        legend: t.get("card-saved-legend"),
        cards: typed
            .saved_cards
            .iter()
            .enumerate()
            .map(|(i, c)| SavedChoice {
                label: format!(
                    "{} •••• {} ({:02}/{})",
                    civicpay_core::export::card_brand_name(Some(&c.brand)),
                    c.last4,
                    c.exp_month,
                    c.exp_year
                ),
                checked: c.token == typed.saved_choice || (typed.saved_choice.is_empty() && i == 0),
                token: c.token.clone(),
            })
            .collect(),
        code: field(
            "saved-security-code",
            "security_code",
            "cc-csc",
            "numeric",
            t.get("card-security-code"),
            Some(t.get("card-saved-code-hint")),
            String::new(),
            typed.saved_error.clone(),
        ),
        submit: t.arg("card-saved-submit", "amount", &amount),
        new_card_heading: t.get("card-new-heading"),
    });
    if let Some(error) = &typed.saved_error {
        summary.insert(
            0,
            SummaryError {
                href: "#saved-security-code",
                message: error.clone(),
            },
        );
    }
    let page = CardPage {
        saved,
        save_offer,
        title: t.get("card-title"),
        submit: t.arg("card-submit", "amount", &amount),
        t,
        css: STYLESHEET,
        city: city.to_owned(),
        description: payment.description.clone(),
        amount,
        action: format!("/card/{}/{}", payment.tenant_id, payment.id),
        form_token,
        notice,
        errors: summary,
        fields,
    };
    let status = if page.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = (status, page).into_response();
    if let Some(origin) = return_origin(payment) {
        response.extensions_mut().insert(FormTarget(origin));
    }
    let _ = state;
    response
}

/// A page for a payment that is past its card form.
fn status_page(t: Translator, city: &str, payment: &Payment) -> Response {
    let link = Some(return_link(&t, city, payment));
    match payment.status {
        PaymentStatus::Submitted
        | PaymentStatus::CaptureRequested
        | PaymentStatus::CancelRequested => message(
            StatusCode::OK,
            t,
            "card-pending-title",
            "card-pending-body",
            link,
        ),
        PaymentStatus::Authorised | PaymentStatus::Success => message(
            StatusCode::OK,
            t,
            "card-finished-title",
            "card-finished-body",
            link,
        ),
        PaymentStatus::Expired => message(
            StatusCode::GONE,
            t,
            "card-link-expired-title",
            "card-link-expired-body",
            link,
        ),
        _ => message(
            StatusCode::OK,
            t,
            "card-declined-final-title",
            "card-declined-final-body",
            link,
        ),
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
    let mut response = card_page(
        &state,
        t,
        &city,
        &payment,
        issued.token.clone(),
        &typed,
        FieldErrors::none(),
        None,
    );
    if let Some(cookie) = &issued.set_cookie {
        set_cookie(&mut response, cookie);
    }
    Ok(response)
}

/// The posted card form. Not `Debug`, and wiped when dropped.
#[derive(Deserialize, Default)]
pub(crate) struct CardForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    cardholder_name: String,
    #[serde(default)]
    card_number: String,
    #[serde(default)]
    expiry: String,
    #[serde(default)]
    security_code: String,
    #[serde(default)]
    postal_code: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    save_card: String,
}

impl Drop for CardForm {
    fn drop(&mut self) {
        self.card_number.zeroize();
        self.security_code.zeroize();
    }
}

fn card_error_message(t: &Translator, e: CardError) -> String {
    match e {
        CardError::NumberMissing => t.get("card-error-number-missing"),
        CardError::NumberNotDigits => t.get("card-error-number-not-digits"),
        CardError::NumberLength => t.get("card-error-number-length"),
        CardError::NumberChecksum => t.get("card-error-number-checksum"),
        CardError::BrandUnsupported => t.get("card-error-brand-unsupported"),
        CardError::ExpiryMissing => t.get("card-error-expiry-missing"),
        CardError::ExpiryFormat => t.get("card-error-expiry-format"),
        CardError::Expired => t.get("card-error-expired"),
        CardError::SecurityCodeMissing => t.get("card-error-security-code-missing"),
        CardError::SecurityCodeFormat { expected } => {
            t.count("card-error-security-code-format", "digits", expected as u64)
        }
    }
}

/// A form posted to a card page, once its payment, token and state are
/// checked: the live payment, the page's language, the city's name and the
/// form; or the page to answer with instead.
trait CardPageForm {
    fn form_token(&self) -> &str;
}

impl CardPageForm for CardForm {
    fn form_token(&self) -> &str {
        &self.form_token
    }
}

impl CardPageForm for SavedCardForm {
    fn form_token(&self) -> &str {
        &self.form_token
    }
}

async fn posted<F: CardPageForm>(
    state: &PayState,
    headers: &HeaderMap,
    tenant: &str,
    payment: &str,
    form: Result<Form<F>, FormRejection>,
) -> Result<Result<(Payment, Translator, String, F), Response>, PayError> {
    let payment = session_payment(state, headers, tenant, payment).await?;
    let payment = expire_if_due(state, payment).await?;
    let t = translator(headers, Some(payment.language));
    let city = city_name(state, &payment).await?;
    let Ok(Form(form)) = form else {
        return Ok(Err(message(
            StatusCode::BAD_REQUEST,
            t,
            "error-bad-request-title",
            "error-bad-request-body",
            None,
        )));
    };
    if !state
        .form_tokens
        .verify(cookie_value(headers, FORM_COOKIE), Some(form.form_token()))
    {
        return Ok(Err(message(
            StatusCode::FORBIDDEN,
            t,
            "error-forbidden-title",
            "error-forbidden-body",
            None,
        )));
    }
    // The tamper monitor's probe is looked at, never paid; nothing here
    // reaches the acquirer.
    if state
        .store
        .is_probe(&payment.tenant_id, &payment.id)
        .await?
    {
        return Ok(Err(message(
            StatusCode::GONE,
            t,
            "card-link-expired-title",
            "card-link-expired-body",
            None,
        )));
    }
    if payment.status != PaymentStatus::Started {
        return Ok(Err(status_page(t, &city, &payment)));
    }
    Ok(Ok((payment, t, city, form)))
}

pub(crate) async fn submit(
    State(state): State<PayState>,
    Path((tenant, payment)): Path<(String, String)>,
    Peer(peer): Peer,
    headers: HeaderMap,
    form: Result<Form<CardForm>, FormRejection>,
) -> Result<Response, PayError> {
    let (payment, t, city, form) = match posted(&state, &headers, &tenant, &payment, form).await? {
        Ok(posted) => posted,
        Err(page) => return Ok(page),
    };
    let token = form.form_token.clone();
    let typed = Typed {
        name: form.cardholder_name.trim().chars().take(100).collect(),
        postal_code: form.postal_code.trim().chars().take(20).collect(),
        email: form.email.trim().chars().take(254).collect(),
        save_card: form.save_card == "yes",
        saved_cards: saved_cards(&state, &payment).await?,
        ..Typed::default()
    };
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let number = CardNumber::parse(&form.card_number);
    let expiry = Expiry::parse(&form.expiry, today);
    let code = number
        .as_ref()
        .ok()
        .map(|n| SecurityCode::parse(&form.security_code, n.brand()));
    // Whatever happens next, this is what was typed into this build of the
    // page: the record an incident's scope is read from.
    // Only the last four digits ever leave the form field, even of a number
    // that does not parse.
    let mut last4: Vec<char> = form
        .card_number
        .chars()
        .rev()
        .filter(char::is_ascii_digit)
        .take(4)
        .collect();
    last4.reverse();
    let elements: Vec<&str> = [
        ("name", &form.cardholder_name),
        ("card_number", &form.card_number),
        ("expiry", &form.expiry),
        ("security_code", &form.security_code),
        ("postal_code", &form.postal_code),
        ("email", &form.email),
    ]
    .into_iter()
    .filter(|(_, v)| !v.trim().is_empty())
    .map(|(k, _)| k)
    .collect();
    state
        .store
        .record_card_attempt(
            &payment.tenant_id,
            &civicpay_store::pay::CardAttempt {
                payment_id: payment.id.to_string(),
                at: jiff::Timestamp::now(),
                build_id: crate::integrity::build_id().to_owned(),
                channel: payment.channel.code().to_owned(),
                amount: payment.amount.minor(),
                currency: payment.amount.currency().code().to_owned(),
                language: payment.language.code().to_owned(),
                cardholder_name: typed.name.clone(),
                postal_code: typed.postal_code.clone(),
                email: (!typed.email.is_empty()).then(|| typed.email.clone()),
                card_brand: number.as_ref().ok().map(|n| n.brand().code().to_owned()),
                card_last4: (last4.len() == 4).then(|| last4.iter().collect()),
                elements: elements.join(","),
            },
        )
        .await?;
    let mut errors = FieldErrors::none();
    errors.name = typed
        .name
        .is_empty()
        .then(|| t.get("error-card-name-missing"));
    errors.number = number.as_ref().err().map(|e| card_error_message(&t, *e));
    errors.expiry = expiry.as_ref().err().map(|e| card_error_message(&t, *e));
    errors.security_code = match &code {
        Some(Err(e)) => Some(card_error_message(&t, *e)),
        None if form.security_code.trim().is_empty() => {
            Some(t.get("card-error-security-code-missing"))
        }
        _ => None,
    };
    errors.postal_code = typed
        .postal_code
        .is_empty()
        .then(|| t.get("error-card-postal-missing"));
    errors.email = (!typed.email.is_empty()
        && civicpay_core::import::parse_email(&typed.email).is_err())
    .then(|| t.get("error-card-email-invalid"));
    drop(form);
    let (Ok(number), Ok(expiry), Some(Ok(code))) = (number, expiry, code) else {
        return Ok(card_page(
            &state, t, &city, &payment, token, &typed, errors, None,
        ));
    };
    if errors.any() {
        return Ok(card_page(
            &state, t, &city, &payment, token, &typed, errors, None,
        ));
    }

    let fingerprint = state.fingerprints.fingerprint(&number);
    if let Some(limited) =
        velocity_limited(&state, peer, &headers, &payment, &fingerprint, &t).await?
    {
        return Ok(limited);
    }
    let email = (!typed.email.is_empty()).then(|| typed.email.clone());
    let card = CardToCharge {
        number: &number,
        code: &code,
        expiry,
        stored_credential: false,
    };
    let (payment, outcome) = match charge(&state, &payment, card, email).await? {
        Ok(charged) => charged,
        Err(current) => return Ok(status_page(t, &city, &current)),
    };
    if typed.save_card
        && offers_saving(&state, &payment)
        && matches!(outcome, AuthorisationOutcome::Approved { .. })
    {
        save_card(&state, &payment, &number, expiry, &fingerprint).await;
    }
    drop((number, code));
    settle(&state, t, &city, &payment, token, &typed, outcome).await
}

/// Card-testing defences, per address and per card, before any money
/// moves: the page to show if a limit is reached.
async fn velocity_limited(
    state: &PayState,
    peer: Option<std::net::SocketAddr>,
    headers: &HeaderMap,
    payment: &Payment,
    fingerprint: &civicpay_vault::CardFingerprint,
    t: &Translator,
) -> Result<Option<Response>, PayError> {
    let client = ClientIp::resolve(peer, headers, &state.config.trusted_proxies);
    let now = jiff::Timestamp::now();
    let window = state.config.velocity_window;
    for (bucket, limit) in [
        (
            format!("card-address:{}", client.limit_key()),
            state.config.card_attempts_per_address,
        ),
        (
            format!("card-fingerprint:{}", fingerprint.as_str()),
            state.config.card_attempts_per_card,
        ),
    ] {
        if let RateDecision::Limited { retry_after } = state
            .store
            .rate_limit_hit(&bucket, limit, window, now)
            .await?
        {
            tracing::warn!(payment = %payment.id, limit = bucket.split(':').next().unwrap_or_default(), "card velocity limit reached");
            let minutes = retry_after.as_secs().div_ceil(60).max(1);
            let title = t.get("error-rate-limited-title");
            let body = t.count("error-rate-limited-body", "minutes", minutes);
            return Ok(Some(
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    MessagePage::new(t.clone(), title, body, None),
                )
                    .into_response(),
            ));
        }
    }
    Ok(None)
}

/// A card about to be authorised: typed now, or saved and opened from the
/// vault with a security code typed now.
struct CardToCharge<'a> {
    number: &'a CardNumber,
    code: &'a SecurityCode,
    expiry: Expiry,
    /// A saved card: the acquirer is told it is on file.
    stored_credential: bool,
}

/// Moves the payment to submitted and asks the acquirer. `Err` carries the
/// payment as it stands when another submission got there first (a double
/// click), for the status page.
async fn charge(
    state: &PayState,
    payment: &Payment,
    card: CardToCharge<'_>,
    email: Option<String>,
) -> Result<Result<(Payment, AuthorisationOutcome), Payment>, PayError> {
    let submitted = state
        .store
        .transition(
            &payment.tenant_id,
            &payment.id,
            PaymentEvent::CardSubmitted,
            "card submitted",
            PaymentChange {
                card_brand: Some(card.number.brand().code().to_owned()),
                card_last4: Some(card.number.last4().to_owned()),
                add_attempt: true,
                email,
                ..PaymentChange::default()
            },
        )
        .await;
    let payment = match submitted {
        Ok(p) => p,
        Err(TransitionError::Illegal(_)) => {
            return Ok(Err(state
                .store
                .payment(&payment.tenant_id, &payment.id)
                .await?
                .ok_or(PayError::NotFound)?));
        }
        Err(TransitionError::NotFound) => return Err(PayError::NotFound),
        Err(TransitionError::Store(e)) => return Err(e.into()),
    };
    // Each attempt is its own authorisation at the acquirer: the payment id
    // and attempt number together are the idempotency key, so a retry of
    // one attempt is answered, not repeated, and a new card is a new try.
    let attempt_reference = payment.acquirer_reference();
    let outcome = state
        .connector
        .authorise(AuthorisationRequest {
            payment_id: &attempt_reference,
            amount: payment.amount,
            card: card.number,
            security_code: Some(card.code),
            stored_credential: card.stored_credential,
            expiry: card.expiry,
            capture: true,
        })
        .await;
    Ok(Ok((payment, outcome)))
}

/// The posted saved-card form. Not `Debug`, and wiped when dropped.
#[derive(Deserialize, Default)]
pub(crate) struct SavedCardForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    saved_card: String,
    #[serde(default)]
    security_code: String,
}

impl Drop for SavedCardForm {
    fn drop(&mut self) {
        self.security_code.zeroize();
    }
}

/// Pays with one of the signed-in resident's saved cards. The security
/// code is typed again (it is never stored, and a payment the resident
/// makes themselves is one the acquirer expects it for); autopay, which
/// the resident is not there for, sends none.
pub(crate) async fn submit_saved(
    State(state): State<PayState>,
    Path((tenant, payment)): Path<(String, String)>,
    Peer(peer): Peer,
    headers: HeaderMap,
    form: Result<Form<SavedCardForm>, FormRejection>,
) -> Result<Response, PayError> {
    let (payment, t, city, form) = match posted(&state, &headers, &tenant, &payment, form).await? {
        Ok(posted) => posted,
        Err(page) => return Ok(page),
    };
    let token = form.form_token.clone();
    let mut typed = Typed {
        saved_cards: saved_cards(&state, &payment).await?,
        saved_choice: form.saved_card.clone(),
        ..Typed::default()
    };
    let (Some(vault), Some(customer)) = (&state.vault, payment.customer.as_deref()) else {
        return Err(PayError::NotFound);
    };
    if typed.saved_cards.is_empty() {
        return Err(PayError::NotFound);
    }
    let (card, number) = match vault
        .open(&payment.tenant_id, customer, &form.saved_card)
        .await
    {
        Ok(opened) => opened,
        Err(PayError::NotFound) => {
            typed.saved_error = Some(t.get("card-saved-error-choose"));
            return Ok(card_page(
                &state,
                t,
                &city,
                &payment,
                token,
                &typed,
                FieldErrors::none(),
                None,
            ));
        }
        Err(e) => return Err(e),
    };
    let code = SecurityCode::parse(&form.security_code, number.brand());
    state
        .store
        .record_card_attempt(
            &payment.tenant_id,
            &civicpay_store::pay::CardAttempt {
                payment_id: payment.id.to_string(),
                at: jiff::Timestamp::now(),
                build_id: crate::integrity::build_id().to_owned(),
                channel: payment.channel.code().to_owned(),
                amount: payment.amount.minor(),
                currency: payment.amount.currency().code().to_owned(),
                language: payment.language.code().to_owned(),
                cardholder_name: String::new(),
                postal_code: String::new(),
                email: None,
                card_brand: Some(card.brand.clone()),
                card_last4: Some(card.last4.clone()),
                elements: if form.security_code.trim().is_empty() {
                    "saved_card".to_owned()
                } else {
                    "saved_card,security_code".to_owned()
                },
            },
        )
        .await?;
    drop(form);
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let expiry = Expiry::parse(
        &format!("{:02}/{:02}", card.exp_month, card.exp_year % 100),
        today,
    );
    let problem = match (&code, &expiry) {
        (Err(e), _) | (_, Err(e)) => Some(card_error_message(&t, *e)),
        _ => None,
    };
    let (Ok(code), Ok(expiry), None) = (code, expiry, problem.clone()) else {
        typed.saved_error = problem;
        return Ok(card_page(
            &state,
            t,
            &city,
            &payment,
            token,
            &typed,
            FieldErrors::none(),
            None,
        ));
    };
    let fingerprint = state.fingerprints.fingerprint(&number);
    if let Some(limited) =
        velocity_limited(&state, peer, &headers, &payment, &fingerprint, &t).await?
    {
        return Ok(limited);
    }
    let to_charge = CardToCharge {
        number: &number,
        code: &code,
        expiry,
        stored_credential: true,
    };
    let (payment, outcome) = match charge(&state, &payment, to_charge, None).await? {
        Ok(charged) => charged,
        Err(current) => return Ok(status_page(t, &city, &current)),
    };
    drop((number, code));
    settle(&state, t, &city, &payment, token, &typed, outcome).await
}

/// Records the acquirer's answer and shows the resident what it means.
#[allow(clippy::too_many_arguments)]
async fn settle(
    state: &PayState,
    t: Translator,
    city: &str,
    payment: &Payment,
    token: String,
    typed: &Typed,
    outcome: AuthorisationOutcome,
) -> Result<Response, PayError> {
    let declined = |code: &str| code.to_owned();
    let failure = match outcome {
        AuthorisationOutcome::Approved {
            authorisation_code,
            captured,
        } => {
            crate::api::record_approval(state, payment, authorisation_code, captured).await?;
            let mut response = Redirect::to(&payment.return_url).into_response();
            if let Some(origin) = return_origin(payment) {
                response.extensions_mut().insert(FormTarget(origin));
            }
            return Ok(response);
        }
        AuthorisationOutcome::Unknown { detail } => {
            tracing::warn!(payment = %payment.id, detail, "acquirer outcome unknown; left for reconciliation");
            return Ok(status_page(t, city, payment));
        }
        AuthorisationOutcome::Declined { reason } => declined(&reason),
        AuthorisationOutcome::Failed { detail } => {
            tracing::warn!(payment = %payment.id, detail, "acquirer failed");
            declined("acquirer_error")
        }
    };
    let known = [
        "do_not_honour",
        "insufficient_funds",
        "stolen_card",
        "expired_card",
        "incorrect_cvc",
        "acquirer_error",
    ];
    let reason = if known.contains(&failure.as_str()) {
        failure.clone()
    } else {
        "do_not_honour".to_owned()
    };
    let attempts_left = state.config.max_attempts - payment.attempts;
    let change = PaymentChange {
        failure_code: Some(failure),
        ..PaymentChange::default()
    };
    if attempts_left > 0 {
        let retry = crate::api::record(
            state,
            payment,
            PaymentEvent::DeclinedRetryAllowed,
            "declined; may retry",
            change,
        )
        .await?;
        let notice = format!(
            "{} {}",
            t.get(&format!("card-declined-{reason}")),
            t.count(
                "card-attempts-left",
                "count",
                u64::try_from(attempts_left).unwrap_or(0)
            )
        );
        return Ok(card_page(
            state,
            t,
            city,
            &retry,
            token,
            typed,
            FieldErrors::none(),
            Some(notice),
        ));
    }
    let finished = crate::api::record(
        state,
        payment,
        PaymentEvent::Declined,
        "declined; no attempts left",
        change,
    )
    .await?;
    Ok(status_page(t, city, &finished))
}
