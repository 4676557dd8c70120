//! A posted card form, checked, charged at the acquirer and settled: the
//! payment's state recorded before and after the acquirer is asked.

use super::form::*;
use super::*;
use crate::PayState;
use crate::error::PayError;
use crate::views::MessagePage;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use civicpay_core::payment::{Payment, PaymentEvent, PaymentStatus};
use civicpay_gateway::{AuthorisationOutcome, AuthorisationRequest};
use civicpay_store::pay::{PaymentChange, TransitionError};
use civicpay_store::rate_limits::RateDecision;
use civicpay_vault::{CardNumber, Expiry, SecurityCode};
use civicpay_web::FormTarget;
use civicpay_web::form_token::{COOKIE_NAME as FORM_COOKIE, cookie_value};
use civicpay_web::{ClientIp, Translator};

/// Seals the card for the resident after the acquirer approved it. A
/// failure here never fails the payment: it is logged (without card data)
/// and the resident can save the card next time.
pub(super) async fn save_card(
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

/// Where a card page handler stops early: with a page for the payer (a
/// forged form, a payment already paid), or with an error. `?` takes
/// either out of the handler.
pub(crate) enum Stop {
    Page(Response),
    Failed(PayError),
}

impl From<PayError> for Stop {
    fn from(e: PayError) -> Stop {
        Stop::Failed(e)
    }
}

impl From<civicpay_store::StoreError> for Stop {
    fn from(e: civicpay_store::StoreError) -> Stop {
        Stop::Failed(e.into())
    }
}

impl IntoResponse for Stop {
    fn into_response(self) -> Response {
        match self {
            Stop::Page(page) => page,
            Stop::Failed(e) => e.into_response(),
        }
    }
}

/// A form posted to a card page, once its payment, token and state are
/// checked: the live payment, the page's language, the city's name and the
/// form; or the page to answer with instead.
pub(super) async fn posted<F: CardPageForm>(
    state: &PayState,
    headers: &HeaderMap,
    tenant: &str,
    payment: &str,
    form: Result<Form<F>, FormRejection>,
) -> Result<(Payment, Translator, String, F), Stop> {
    let payment = session_payment(state, headers, tenant, payment).await?;
    let payment = expire_if_due(state, payment).await?;
    let t = translator(headers, Some(payment.language));
    let city = city_name(state, &payment).await?;
    let Ok(Form(form)) = form else {
        return Err(Stop::Page(message(
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
        return Err(Stop::Page(message(
            StatusCode::FORBIDDEN,
            t,
            "error-forbidden-title",
            "error-forbidden-body",
            None,
        )));
    }
    // The tamper monitor's probe is looked at, never paid; nothing here
    // reaches the acquirer.
    if payment.probe {
        return Err(Stop::Page(message(
            StatusCode::GONE,
            t,
            "card-link-expired-title",
            "card-link-expired-body",
            None,
        )));
    }
    if payment.status != PaymentStatus::Started {
        return Err(Stop::Page(status_page(t, &city, &payment)));
    }
    Ok((payment, t, city, form))
}

pub(crate) async fn submit(
    State(state): State<PayState>,
    Path((tenant, payment)): Path<(String, String)>,
    Peer(peer): Peer,
    headers: HeaderMap,
    form: Result<Form<CardForm>, FormRejection>,
) -> Result<Response, Stop> {
    let (payment, t, city, form) = posted(&state, &headers, &tenant, &payment, form).await?;
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
    Ok(settle(&state, t, &city, &payment, token, &typed, outcome).await?)
}

/// Card-testing defences, per address and per card, before any money
/// moves: the page to show if a limit is reached.
pub(super) async fn velocity_limited(
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
pub(super) struct CardToCharge<'a> {
    pub(super) number: &'a CardNumber,
    pub(super) code: &'a SecurityCode,
    pub(super) expiry: Expiry,
    /// A saved card: the acquirer is told it is on file.
    pub(super) stored_credential: bool,
}

/// Moves the payment to submitted and asks the acquirer. `Err` carries the
/// payment as it stands when another submission got there first (a double
/// click), for the status page.
pub(super) async fn charge(
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
        .connector(&payment.tenant_id)
        .await
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
) -> Result<Response, Stop> {
    let (payment, t, city, form) = posted(&state, &headers, &tenant, &payment, form).await?;
    let token = form.form_token.clone();
    let mut typed = Typed {
        saved_cards: saved_cards(&state, &payment).await?,
        saved_choice: form.saved_card.clone(),
        ..Typed::default()
    };
    let (Some(vault), Some(customer)) = (&state.vault, payment.customer.as_deref()) else {
        return Err(PayError::NotFound.into());
    };
    if typed.saved_cards.is_empty() {
        return Err(PayError::NotFound.into());
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
        Err(e) => return Err(e.into()),
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
    Ok(settle(&state, t, &city, &payment, token, &typed, outcome).await?)
}

/// Records the acquirer's answer and shows the resident what it means.
#[allow(clippy::too_many_arguments)]
pub(super) async fn settle(
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
