//! The connector for `civicpay acquirer-sim`.

pub mod wire;

use crate::{
    AcquirerRecord, AuthorisationOutcome, AuthorisationRequest, BoxFuture, Connector, GatewayError,
    RefundInquiry, StatusInquiry,
};
use civicpay_core::Money;
use std::borrow::Cow;
use std::time::Duration;
use wire::{
    AmountRequest, AuthorisationView as View, AuthoriseRequest, DayListing, RefundRequest,
    RefundView,
};

pub struct SimulatorConnector {
    base_url: String,
    client: reqwest::Client,
}

impl SimulatorConnector {
    /// `timeout` bounds every call; an authorisation that outlasts it is
    /// reported as unknown.
    pub fn new(base_url: impl Into<String>, timeout: Duration) -> Result<Self, GatewayError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        Ok(Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            client,
        })
    }

    async fn post(&self, path: &str, body: &impl serde::Serialize) -> Result<View, GatewayError> {
        let response = self
            .client
            .post(format!("{}{path}", self.base_url))
            .json(body)
            .send()
            .await
            .map_err(|e| GatewayError::Unavailable(without_url(&e)))?;
        read_view(response).await
    }

    /// A GET that reads `T`; `None` when the acquirer has no such thing.
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Option<T>, GatewayError> {
        let response = self
            .client
            .get(format!("{}{path}", self.base_url))
            .send()
            .await
            .map_err(|e| GatewayError::Unavailable(without_url(&e)))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(GatewayError::Unavailable(format!(
                "acquirer answered {}",
                response.status()
            )));
        }
        response
            .json::<T>()
            .await
            .map(Some)
            .map_err(|e| GatewayError::Protocol(e.to_string()))
    }
}

/// reqwest errors name the URL; ours carry no secrets, but keep messages
/// short and stable.
fn without_url(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        "request failed".to_owned()
    }
}

async fn read_view(response: reqwest::Response) -> Result<View, GatewayError> {
    let status = response.status();
    if status.is_success() {
        return response.json::<View>().await.map_err(|e| {
            if e.is_timeout() {
                GatewayError::Unavailable("timed out".into())
            } else {
                GatewayError::Protocol(e.to_string())
            }
        });
    }
    let detail = response.text().await.unwrap_or_default();
    if status.is_server_error() {
        Err(GatewayError::Unavailable(format!("{status}: {detail}")))
    } else {
        Err(GatewayError::Refused(format!("{status}: {detail}")))
    }
}

fn outcome(view: View) -> AuthorisationOutcome {
    match view.status.as_str() {
        "approved" | "captured" => AuthorisationOutcome::Approved {
            authorisation_code: view.authorisation_code.unwrap_or_default(),
            captured: view.status == "captured",
        },
        "declined" => AuthorisationOutcome::Declined {
            reason: view
                .decline_reason
                .unwrap_or_else(|| "do_not_honour".into()),
        },
        other => AuthorisationOutcome::Unknown {
            detail: format!("unexpected status {other:?}"),
        },
    }
}

impl Connector for SimulatorConnector {
    fn authorise<'a>(
        &'a self,
        request: AuthorisationRequest<'a>,
    ) -> BoxFuture<'a, AuthorisationOutcome> {
        Box::pin(async move {
            let body = AuthoriseRequest {
                payment_id: Cow::Borrowed(request.payment_id),
                amount: request.amount.minor(),
                currency: Cow::Borrowed(request.amount.currency().code()),
                card_number: Cow::Borrowed(request.card.expose_digits()),
                security_code: request
                    .security_code
                    .map(|code| Cow::Borrowed(code.expose_digits())),
                stored_credential: request.stored_credential,
                expiry: Cow::Owned(request.expiry.to_string()),
                capture: request.capture,
            };
            let sent = self
                .client
                .post(format!("{}/v1/authorisations", self.base_url))
                .json(&body)
                .send()
                .await;
            drop(body);
            let response = match sent {
                Ok(r) => r,
                // The request may have reached the acquirer: unknown, not failed.
                Err(e) if e.is_connect() => {
                    return AuthorisationOutcome::Failed {
                        detail: "could not connect".into(),
                    };
                }
                Err(e) => {
                    return AuthorisationOutcome::Unknown {
                        detail: without_url(&e),
                    };
                }
            };
            // A 5xx says the acquirer broke, not that it did nothing: it may
            // have authorised before failing. Only an inquiry can tell.
            if response.status().is_server_error() {
                let status = response.status();
                return AuthorisationOutcome::Unknown {
                    detail: format!("acquirer answered {status}"),
                };
            }
            match read_view(response).await {
                Ok(view) => outcome(view),
                Err(GatewayError::Refused(detail)) => AuthorisationOutcome::Failed { detail },
                Err(e) => AuthorisationOutcome::Unknown {
                    detail: e.to_string(),
                },
            }
        })
    }

    fn capture<'a>(
        &'a self,
        payment_id: &'a str,
        amount: Money,
    ) -> BoxFuture<'a, Result<(), GatewayError>> {
        Box::pin(async move {
            self.post(
                &format!("/v1/authorisations/{payment_id}/capture"),
                &AmountRequest {
                    amount: amount.minor(),
                },
            )
            .await
            .map(|_| ())
        })
    }

    fn void<'a>(&'a self, payment_id: &'a str) -> BoxFuture<'a, Result<(), GatewayError>> {
        Box::pin(async move {
            self.post(
                &format!("/v1/authorisations/{payment_id}/void"),
                &serde_json::Map::new(),
            )
            .await
            .map(|_| ())
        })
    }

    fn refund<'a>(
        &'a self,
        payment_id: &'a str,
        refund_id: &'a str,
        amount: Money,
    ) -> BoxFuture<'a, Result<(), GatewayError>> {
        Box::pin(async move {
            self.post(
                &format!("/v1/authorisations/{payment_id}/refunds"),
                &RefundRequest {
                    refund_id: refund_id.to_owned(),
                    amount: amount.minor(),
                },
            )
            .await
            .map(|_| ())
        })
    }

    fn status<'a>(
        &'a self,
        payment_id: &'a str,
    ) -> BoxFuture<'a, Result<StatusInquiry, GatewayError>> {
        Box::pin(async move {
            let response = self
                .client
                .get(format!("{}/v1/authorisations/{payment_id}", self.base_url))
                .send()
                .await
                .map_err(|e| GatewayError::Unavailable(without_url(&e)))?;
            if response.status() == reqwest::StatusCode::NOT_FOUND {
                return Ok(StatusInquiry::NotFound);
            }
            inquiry(read_view(response).await?)
        })
    }

    fn refund_status<'a>(
        &'a self,
        payment_id: &'a str,
        refund_id: &'a str,
    ) -> BoxFuture<'a, Result<RefundInquiry, GatewayError>> {
        Box::pin(async move {
            let path = format!("/v1/authorisations/{payment_id}/refunds/{refund_id}");
            Ok(match self.get::<RefundView>(&path).await? {
                Some(view) => RefundInquiry::Refunded {
                    amount: view.amount,
                },
                None => RefundInquiry::NotFound,
            })
        })
    }

    fn authorisations_on<'a>(
        &'a self,
        day: jiff::civil::Date,
    ) -> BoxFuture<'a, Result<Vec<AcquirerRecord>, GatewayError>> {
        Box::pin(async move {
            let path = format!("/v1/authorisations?day={day}");
            let listing = self
                .get::<DayListing>(&path)
                .await?
                .ok_or_else(|| GatewayError::Unavailable("acquirer answered 404".into()))?;
            listing
                .authorisations
                .into_iter()
                .map(|view| {
                    Ok(AcquirerRecord {
                        reference: view.payment_id.clone(),
                        inquiry: inquiry(view)?,
                    })
                })
                .collect()
        })
    }
}

fn inquiry(view: View) -> Result<StatusInquiry, GatewayError> {
    let code = view.authorisation_code.clone().unwrap_or_default();
    Ok(match view.status.as_str() {
        "approved" => StatusInquiry::Approved {
            amount: view.amount,
            authorisation_code: code,
        },
        "captured" => StatusInquiry::Captured {
            captured: view.captured,
            refunded: view.refunded,
            authorisation_code: code,
        },
        "declined" => StatusInquiry::Declined {
            reason: view.decline_reason.unwrap_or_default(),
        },
        "voided" => StatusInquiry::Voided,
        other => return Err(GatewayError::Protocol(format!("unknown status {other:?}"))),
    })
}
