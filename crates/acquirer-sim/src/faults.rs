//! Fault injection: the failures a real acquirer's network shows, at
//! chosen rates, so that connector and recovery code can be tested against
//! them. Each request draws once: the connection dropped before the
//! simulator acts, dropped after it acted (the caller never hears the
//! answer), a slow answer, or a 5xx (half of them after acting).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng;
use std::time::Duration;

/// Per-request probabilities, each in 0..=1; together at most 1.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    pub drop_before: f64,
    pub drop_after: f64,
    pub slow: f64,
    pub server_error: f64,
    /// How long a slow answer takes.
    pub slow_delay: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    DropBefore,
    DropAfter,
    Slow,
    ServerErrorBefore,
    ServerErrorAfter,
}

impl Faults {
    /// Checks the rates: each a probability, and their sum too.
    pub fn validate(&self) -> Result<(), String> {
        let rates = [
            ("drop-before", self.drop_before),
            ("drop-after", self.drop_after),
            ("slow", self.slow),
            ("5xx", self.server_error),
        ];
        for (name, p) in rates {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("--fault-{name} must be between 0 and 1, not {p}"));
            }
        }
        let sum: f64 = rates.iter().map(|(_, p)| p).sum();
        if sum > 1.0 {
            return Err(format!("the fault rates add up to {sum}, more than 1"));
        }
        Ok(())
    }

    pub fn any(&self) -> bool {
        self.drop_before + self.drop_after + self.slow + self.server_error > 0.0
    }

    fn draw(&self, roll: f64) -> Fault {
        let mut edge = self.drop_before;
        if roll < edge {
            return Fault::DropBefore;
        }
        edge += self.drop_after;
        if roll < edge {
            return Fault::DropAfter;
        }
        edge += self.slow;
        if roll < edge {
            return Fault::Slow;
        }
        edge += self.server_error / 2.0;
        if roll < edge {
            return Fault::ServerErrorBefore;
        }
        edge += self.server_error / 2.0;
        if roll < edge {
            return Fault::ServerErrorAfter;
        }
        Fault::None
    }
}

/// A response whose body fails after the head: the connection is cut and
/// the caller gets no answer it can read.
fn dropped() -> Response {
    let broken = futures_util::stream::once(async {
        Err::<axum::body::Bytes, _>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "fault injected: connection dropped",
        ))
    });
    (StatusCode::OK, Body::from_stream(broken)).into_response()
}

fn server_error() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        axum::Json(serde_json::json!({ "code": "fault_injected", "message": "simulated acquirer failure" })),
    )
        .into_response()
}

pub(crate) async fn inject(State(faults): State<Faults>, request: Request, next: Next) -> Response {
    let fault = faults.draw(rand::rng().random_range(0.0..1.0));
    match fault {
        Fault::None => next.run(request).await,
        Fault::DropBefore => dropped(),
        Fault::ServerErrorBefore => server_error(),
        Fault::Slow => {
            tokio::time::sleep(faults.slow_delay).await;
            next.run(request).await
        }
        Fault::DropAfter => {
            let _ = next.run(request).await;
            dropped()
        }
        Fault::ServerErrorAfter => {
            let _ = next.run(request).await;
            server_error()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_follow_the_rates_in_order() {
        let faults = Faults {
            drop_before: 0.1,
            drop_after: 0.1,
            slow: 0.1,
            server_error: 0.2,
            slow_delay: Duration::ZERO,
        };
        assert_eq!(faults.draw(0.05), Fault::DropBefore);
        assert_eq!(faults.draw(0.15), Fault::DropAfter);
        assert_eq!(faults.draw(0.25), Fault::Slow);
        assert_eq!(faults.draw(0.35), Fault::ServerErrorBefore);
        assert_eq!(faults.draw(0.45), Fault::ServerErrorAfter);
        assert_eq!(faults.draw(0.55), Fault::None);
        assert_eq!(Faults::default().draw(0.0), Fault::None);
    }

    #[test]
    fn rates_must_be_probabilities() {
        let bad = Faults {
            drop_before: 1.5,
            ..Faults::default()
        };
        assert!(matches!(bad.validate(), Err(e) if e.contains("drop-before")));
        let too_many = Faults {
            drop_before: 0.6,
            slow: 0.6,
            ..Faults::default()
        };
        assert!(matches!(too_many.validate(), Err(e) if e.contains("add up")));
        assert!(Faults::default().validate().is_ok());
    }
}
