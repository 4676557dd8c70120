//! What a fake can be told to do to the next transaction request, the way
//! a real network and processor fail: the conformance suite's timeout,
//! lost-response and error cases.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Act on the request, then answer only after this long: the caller
    /// times out although the processor did what was asked.
    AnswerAfter(Duration),
    /// Act on the request, send the status line and headers, then cut the
    /// connection before the body.
    DropAfterActing,
    /// Answer 500 without acting.
    ServerError,
}

/// Faults queued for the next transaction requests, one each.
#[derive(Clone, Default)]
pub struct Faults(Arc<Mutex<VecDeque<Fault>>>);

impl Faults {
    pub fn push(&self, fault: Fault) {
        if let Ok(mut queue) = self.0.lock() {
            queue.push_back(fault);
        }
    }

    pub(crate) fn take(&self) -> Option<Fault> {
        self.0.lock().ok().and_then(|mut queue| queue.pop_front())
    }
}

/// Delivers `response` as `fault` says, after the request was acted on.
pub(crate) async fn deliver(fault: Option<Fault>, response: Response) -> Response {
    match fault {
        Some(Fault::AnswerAfter(delay)) => {
            tokio::time::sleep(delay).await;
            response
        }
        Some(Fault::DropAfterActing) => {
            let (parts, _) = response.into_parts();
            let cut = futures_util::stream::once(async {
                Err::<axum::body::Bytes, _>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "connection dropped by the fake",
                ))
            });
            Response::from_parts(parts, Body::from_stream(cut))
        }
        Some(Fault::ServerError) | None => response,
    }
}

pub(crate) fn server_error() -> Response {
    (
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "internal server error",
    )
        .into_response()
}
