//! The acquirer simulator (`civicpay acquirer-sim`): a separate HTTP server
//! that plays the card acquirer, so that connector code really crosses a
//! network and crash recovery can be tested. It is the default gateway for
//! the demo and the tests.
//!
//! Its store keeps what an acquirer would tell a merchant — amounts, status,
//! authorisation codes, the last four digits — never a card number or a
//! security code.

mod cards;
mod faults;
mod store;

pub use cards::{Behaviour, DeclineReason, TEST_CARDS, approved_card_number};
pub use faults::Faults;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
pub use civicpay_gateway::simulator::wire::{
    AmountRequest, AuthorisationView, AuthoriseRequest, DayListing, DayQuery, ErrorBody,
    RefundRequest, RefundView,
};
use civicpay_vault::{CardNumber, Expiry, SecurityCode};
use std::time::Duration;
use store::{Authorisation, SimStore};

#[derive(Clone)]
pub struct Simulator {
    store: SimStore,
    /// How long a "slow" or "lost" card keeps the caller waiting.
    pub slow_delay: Duration,
    /// Failures injected into every request (none by default).
    pub faults: Faults,
}

impl Simulator {
    /// Opens (or creates) the simulator's own SQLite store in `data_dir`.
    pub async fn open(
        data_dir: &std::path::Path,
        slow_delay: Duration,
    ) -> Result<Simulator, sqlx::Error> {
        Ok(Simulator {
            store: SimStore::open(data_dir).await?,
            slow_delay,
            faults: Faults::default(),
        })
    }

    pub fn router(self) -> Router {
        let faults = self.faults;
        let router = Router::new()
            .route("/v1/authorisations", post(authorise).get(list_day))
            .route("/v1/authorisations/{payment_id}", get(inquire))
            .route("/v1/authorisations/{payment_id}/capture", post(capture))
            .route("/v1/authorisations/{payment_id}/void", post(void))
            .route("/v1/authorisations/{payment_id}/refunds", post(refund))
            .route(
                "/v1/authorisations/{payment_id}/refunds/{refund_id}",
                get(inquire_refund),
            )
            .with_state(self);
        if faults.any() {
            router.layer(axum::middleware::from_fn_with_state(faults, faults::inject))
        } else {
            router
        }
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(ErrorBody {
            code: code.to_owned(),
            message: message.to_owned(),
        }),
    )
        .into_response()
}

fn internal(e: sqlx::Error) -> Response {
    tracing::error!(error = %e, "simulator store error");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "simulator store error",
    )
}

async fn authorise(
    State(sim): State<Simulator>,
    Json(request): Json<AuthoriseRequest<'static>>,
) -> Response {
    // The acquirer's idempotency key is our payment id: a retry gets the
    // first answer, never a second authorisation.
    match sim.store.get(&request.payment_id).await {
        Ok(Some(existing)) => return Json(existing.view()).into_response(),
        Ok(None) => {}
        Err(e) => return internal(e),
    }
    let Ok(card) = CardNumber::parse(&request.card_number) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_card",
            "card number is not valid",
        );
    };
    let code_ok = match &request.security_code {
        Some(code) => SecurityCode::parse(code, card.brand()).is_ok(),
        None => request.stored_credential,
    };
    if !code_ok
        || Expiry::parse(&request.expiry, jiff::Zoned::now().date()).is_err()
        || request.amount <= 0
    {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "security code, expiry or amount is not valid",
        );
    }
    let behaviour = cards::behaviour_of(&card);
    let mut record = Authorisation::new(&request, &card);
    if behaviour == Behaviour::ServerError {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "processing_error",
            "simulated acquirer failure",
        );
    }
    match behaviour {
        Behaviour::Decline(reason) => record.decline(reason),
        _ => record.approve(request.capture),
    }
    // Processing goes on in its own task, as at a real acquirer: a caller
    // that gives up waiting does not stop it.
    let delay_before = if behaviour == Behaviour::Slow {
        sim.slow_delay
    } else {
        Duration::ZERO
    };
    let store = sim.store.clone();
    let stored = record.clone();
    let processing = tokio::spawn(async move {
        tokio::time::sleep(delay_before).await;
        store.insert(&stored).await
    });
    match processing.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return internal(e),
        Err(_) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "processing stopped",
            );
        }
    }
    // A concurrent duplicate may have stored first; everyone gets its answer.
    let answer = match sim.store.get(&request.payment_id).await {
        Ok(Some(first)) => first.view(),
        Ok(None) => record.view(),
        Err(e) => return internal(e),
    };
    if behaviour == Behaviour::ApproveResponseLost {
        tokio::time::sleep(sim.slow_delay).await;
    }
    Json(answer).into_response()
}

async fn inquire(State(sim): State<Simulator>, Path(payment_id): Path<String>) -> Response {
    match sim.store.get(&payment_id).await {
        Ok(Some(a)) => Json(a.view()).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no authorisation for this payment id",
        ),
        Err(e) => internal(e),
    }
}

/// `GET /v1/authorisations?day=YYYY-MM-DD`: every authorisation recorded
/// that (UTC) day, as an acquirer's daily transaction report lists them.
async fn list_day(State(sim): State<Simulator>, Query(query): Query<DayQuery>) -> Response {
    let Ok(day) = query.day.parse::<jiff::civil::Date>() else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_day",
            "day must be a date like 2026-11-30",
        );
    };
    match sim.store.on_day(day).await {
        Ok(list) => Json(DayListing {
            day: day.to_string(),
            authorisations: list.iter().map(Authorisation::view).collect(),
        })
        .into_response(),
        Err(e) => internal(e),
    }
}

/// `GET /v1/authorisations/{payment_id}/refunds/{refund_id}`.
async fn inquire_refund(
    State(sim): State<Simulator>,
    Path((payment_id, refund_id)): Path<(String, String)>,
) -> Response {
    match sim.store.refund_amount(&payment_id, &refund_id).await {
        Ok(Some(amount)) => Json(RefundView {
            payment_id,
            refund_id,
            amount,
        })
        .into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "not_found", "no such refund"),
        Err(e) => internal(e),
    }
}

async fn capture(
    State(sim): State<Simulator>,
    Path(payment_id): Path<String>,
    Json(request): Json<AmountRequest>,
) -> Response {
    match sim.store.capture(&payment_id, request.amount).await {
        Ok(Ok(a)) => Json(a.view()).into_response(),
        Ok(Err(message)) => error(StatusCode::CONFLICT, "not_capturable", message),
        Err(e) => internal(e),
    }
}

async fn void(State(sim): State<Simulator>, Path(payment_id): Path<String>) -> Response {
    match sim.store.void(&payment_id).await {
        Ok(Ok(a)) => Json(a.view()).into_response(),
        Ok(Err(message)) => error(StatusCode::CONFLICT, "not_voidable", message),
        Err(e) => internal(e),
    }
}

async fn refund(
    State(sim): State<Simulator>,
    Path(payment_id): Path<String>,
    Json(request): Json<RefundRequest>,
) -> Response {
    match sim
        .store
        .refund(&payment_id, &request.refund_id, request.amount)
        .await
    {
        Ok(Ok(a)) => Json(a.view()).into_response(),
        Ok(Err(message)) => error(StatusCode::CONFLICT, "not_refundable", message),
        Err(e) => internal(e),
    }
}
