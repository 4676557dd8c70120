//! The Moneris connector (Canadian cities), over the Moneris API.
//!
//! Every write carries an idempotency key derived from our reference, so
//! the same attempt always sends the same key and a repeat — after a lost
//! answer, after a restart — is answered as the first was instead of
//! charging again. Our full reference travels in `customData`, which
//! Moneris echoes back; the order id is the reference made to fit its
//! alphabet.

pub mod wire;

use crate::transport::{self, Trouble, WipedBody};
use crate::{
    AcquirerRecord, AuthorisationOutcome, AuthorisationRequest, BoxFuture, Connector, GatewayError,
    RefundInquiry, StatusInquiry,
};
use civicpay_core::Money;
use reqwest::{Method, StatusCode};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use wire::{
    Amount, Cancel, Card, Complete, CreatePayment, CreateRefund, CredentialOnFile, CustomData,
    PaymentList, PaymentMethod, PaymentView, Problem, RefundView, TokenAnswer,
};
use zeroize::Zeroizing;

pub const SANDBOX_URL: &str = "https://api.sb.moneris.io";
pub const PRODUCTION_URL: &str = "https://api.moneris.io";
/// The API version civicpay was written against (the `Api-Version` header).
pub const API_VERSION: &str = "2025-08-14";

const CREDENTIALS: &str = "processor.client_id and processor.client_secret (Moneris refused them)";
const MERCHANT: &str = "processor.merchant_id (Moneris refused it)";

pub struct MonerisConnector {
    base_url: String,
    client_id: String,
    client_secret: Zeroizing<String>,
    merchant_id: String,
    client: reqwest::Client,
    token: tokio::sync::Mutex<Option<(Zeroizing<String>, Instant)>>,
    /// Our reference → Moneris's payment id, as learnt; a cache only, the
    /// list of the day is the truth.
    ids: std::sync::Mutex<HashMap<String, String>>,
}

/// The order id Moneris knows an attempt by: our reference with the dot
/// its alphabet lacks made an underscore.
pub fn order_id(reference: &str) -> String {
    reference.replace('.', "_")
}

/// ISO 8583 response codes (Moneris's response code tables) as the card
/// page explains them.
fn decline_reason(iso: &str) -> &'static str {
    match iso {
        "51" | "61" | "65" => "insufficient_funds",
        "54" | "33" => "expired_card",
        "04" | "07" | "41" | "43" => "stolen_card",
        "N7" | "82" => "incorrect_cvc",
        _ => "do_not_honour",
    }
}

/// A decline problem's title, for when no ISO code comes with it.
fn decline_from_title(title: &str) -> &'static str {
    match title {
        "INSUFFICIENT_FUNDS" => "insufficient_funds",
        "EXPIRED_CARD" => "expired_card",
        "STOLEN_CARD" | "LOST_CARD" | "PICK_UP_CARD" => "stolen_card",
        t if t.contains("SECURITY_CODE") || t.contains("CVD") => "incorrect_cvc",
        _ => "do_not_honour",
    }
}

fn money_of(amount: Money) -> Amount<'static> {
    Amount {
        amount: amount.minor(),
        currency: amount.currency().code(),
    }
}

/// What one call came back with.
struct Answer {
    status: StatusCode,
    body: bytes::Bytes,
}

impl Answer {
    fn problem(&self) -> Problem {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }

    fn read<T: serde::de::DeserializeOwned>(&self) -> Result<T, GatewayError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| GatewayError::Protocol(format!("Moneris's answer: {e}")))
    }

    /// The answer as done, or the error the operator should see.
    fn done(&self) -> Result<(), GatewayError> {
        if self.status.is_success() {
            return Ok(());
        }
        Err(self.error())
    }

    fn error(&self) -> GatewayError {
        let problem = self.problem();
        match self.status {
            StatusCode::UNAUTHORIZED => GatewayError::Credentials(CREDENTIALS.into()),
            StatusCode::FORBIDDEN => GatewayError::Credentials(MERCHANT.into()),
            s if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => {
                GatewayError::Unavailable(format!("Moneris answered {s}: {}", problem.describe()))
            }
            s => GatewayError::Refused(format!("Moneris answered {s}: {}", problem.describe())),
        }
    }
}

impl MonerisConnector {
    /// `base_url` is [`SANDBOX_URL`], [`PRODUCTION_URL`] or a fake's.
    pub fn new(
        base_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: Zeroizing<String>,
        merchant_id: impl Into<String>,
        timeout: Duration,
    ) -> Result<Self, GatewayError> {
        Ok(Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            client_id: client_id.into(),
            client_secret,
            merchant_id: merchant_id.into(),
            client: transport::client(timeout)?,
            token: tokio::sync::Mutex::new(None),
            ids: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// A bearer token, from the cache while it has a minute left.
    async fn token(&self, renew: bool) -> Result<Zeroizing<String>, GatewayError> {
        let mut cached = self.token.lock().await;
        if !renew
            && let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let form = WipedBody::bytes(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "client_credentials")
                .append_pair("client_id", &self.client_id)
                .append_pair("client_secret", &self.client_secret)
                .append_pair(
                    "scope",
                    "payment.read payment.write refund.read refund.write",
                )
                .finish()
                .into_bytes(),
        );
        let sent = self
            .client
            .post(format!("{}/oauth2/token", self.base_url))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form.body())
            .send()
            .await;
        let (status, body) = transport::read(sent).await?;
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::BAD_REQUEST {
            return Err(GatewayError::Credentials(CREDENTIALS.into()));
        }
        if !status.is_success() {
            return Err(GatewayError::Unavailable(format!(
                "Moneris's token service answered {status}"
            )));
        }
        let answer: TokenAnswer = serde_json::from_slice(&body)
            .map_err(|e| GatewayError::Protocol(format!("Moneris's token: {e}")))?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(300).saturating_sub(60));
        let token = Zeroizing::new(answer.access_token);
        *cached = Some((token.clone(), Instant::now() + lifetime));
        Ok(token)
    }

    /// One call. A 401 means the token lapsed and nothing was done: a new
    /// token is fetched and the call made once more.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&WipedBody>,
        correlation: &str,
    ) -> Result<Result<Answer, GatewayError>, Trouble> {
        let mut renew = false;
        loop {
            let token = match self.token(renew).await {
                Ok(token) => token,
                Err(e) => return Ok(Err(e)),
            };
            let mut request = self
                .client
                .request(method.clone(), format!("{}{path}", self.base_url))
                .bearer_auth(token.as_str())
                .header("Api-Version", API_VERSION)
                .header("X-Merchant-Id", &self.merchant_id)
                .header("X-Correlation-Id", correlation)
                .header(reqwest::header::ACCEPT_LANGUAGE, "en");
            if let Some(body) = body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.body());
            }
            let (status, body) = transport::read(request.send().await).await?;
            if status == StatusCode::UNAUTHORIZED && !renew {
                renew = true;
                continue;
            }
            return Ok(Ok(Answer { status, body }));
        }
    }

    /// A read: safe to repeat, so tried up to three times.
    async fn get(&self, path: &str, correlation: &str) -> Result<Answer, GatewayError> {
        let mut last = Trouble::NotSent(String::new());
        for _ in 0..3 {
            match self.call(Method::GET, path, None, correlation).await {
                Ok(answer) => return answer,
                Err(trouble) => last = trouble,
            }
        }
        Err(last.into())
    }

    /// A write with an idempotency key: documented as safe to repeat, so
    /// sent once more when the connection broke before the answer. A
    /// timeout is not repeated — a slow processor is not made slower.
    async fn write(
        &self,
        path: &str,
        body: &WipedBody,
        correlation: &str,
    ) -> Result<Result<Answer, GatewayError>, Trouble> {
        match self.call(Method::POST, path, Some(body), correlation).await {
            Err(Trouble::NoAnswer(detail)) if detail != "timed out" => {
                self.call(Method::POST, path, Some(body), correlation).await
            }
            other => other,
        }
    }

    fn remember(&self, reference: &str, payment_id: &str) {
        if let Ok(mut ids) = self.ids.lock() {
            if ids.len() > 10_000 {
                ids.clear();
            }
            ids.insert(reference.to_owned(), payment_id.to_owned());
        }
    }

    /// Every payment made in `[from, to)`, page by page (a day at most).
    async fn payments_between(
        &self,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> Result<Vec<PaymentView>, GatewayError> {
        let mut all = Vec::new();
        let mut path = format!("/payments?created_from={from}&created_to={to}&limit=20");
        loop {
            let answer = self.get(&path, "civicpay-listing").await?;
            answer.done()?;
            let page: PaymentList = answer.read()?;
            all.extend(page.data);
            match page.next {
                Some(next) if !next.is_empty() => {
                    path = if next.contains("created_from") {
                        next
                    } else {
                        format!("{next}&created_from={from}&created_to={to}")
                    };
                }
                _ => return Ok(all),
            }
        }
    }

    /// Our attempt's payment at Moneris.
    async fn find(&self, reference: &str) -> Result<Option<PaymentView>, GatewayError> {
        let known = self
            .ids
            .lock()
            .ok()
            .and_then(|ids| ids.get(reference).cloned());
        if let Some(id) = known {
            let answer = self.get(&format!("/payments/{id}"), reference).await?;
            answer.done()?;
            return answer.read().map(Some);
        }
        let Some(made) = transport::made_at(reference) else {
            return Ok(None);
        };
        let from = made
            .checked_sub(jiff::SignedDuration::from_mins(1))
            .unwrap_or(made);
        let to = from
            .checked_add(jiff::SignedDuration::from_hours(24))
            .unwrap_or(from);
        let order = order_id(reference);
        let found = self
            .payments_between(from, to)
            .await?
            .into_iter()
            .find(|p| p.order_id.as_deref() == Some(order.as_str()));
        if let Some(p) = &found {
            self.remember(reference, &p.payment_id);
        }
        Ok(found)
    }

    async fn authorisation(&self, request: &AuthorisationRequest<'_>) -> AuthorisationOutcome {
        let key = transport::derived_uuid("moneris-payment", request.payment_id);
        let order = order_id(request.payment_id);
        let body = WipedBody::json(&CreatePayment {
            idempotency_key: &key,
            order_id: &order,
            amount: money_of(request.amount),
            payment_method: PaymentMethod {
                payment_method_source: "CARD",
                card: Card {
                    card_number: request.card.expose_digits(),
                    expiry_month: request.expiry.month(),
                    expiry_year: request.expiry.year(),
                    card_security_code: request.security_code.map(|c| c.expose_digits()),
                },
                store_payment_method: "DO_NOT_STORE",
                credential_on_file_information: request.stored_credential.then_some(
                    CredentialOnFile {
                        payment_indicator: "MERCHANT_INITIATED",
                        payment_information: "SUBSEQUENT",
                    },
                ),
            },
            automatic_capture: request.capture,
            custom_data: CustomData {
                reference: Some(request.payment_id.to_owned()),
                refund: None,
            },
        });
        let body = match body {
            Ok(body) => body,
            Err(e) => {
                return AuthorisationOutcome::Failed {
                    detail: e.to_string(),
                };
            }
        };
        let answer = self.write("/payments", &body, request.payment_id).await;
        drop(body);
        let answer = match answer {
            Err(Trouble::NotSent(detail)) => return AuthorisationOutcome::Failed { detail },
            Err(Trouble::NoAnswer(detail)) => return AuthorisationOutcome::Unknown { detail },
            Ok(Err(GatewayError::Unavailable(detail))) => {
                return AuthorisationOutcome::Unknown { detail };
            }
            Ok(Err(e)) => {
                return AuthorisationOutcome::Failed {
                    detail: e.to_string(),
                };
            }
            Ok(Ok(answer)) => answer,
        };
        match answer.status {
            s if s.is_success() => match answer.read::<PaymentView>() {
                Ok(view) => {
                    self.remember(request.payment_id, &view.payment_id);
                    outcome_of(&view)
                }
                Err(e) => AuthorisationOutcome::Unknown {
                    detail: e.to_string(),
                },
            },
            StatusCode::UNPROCESSABLE_ENTITY
                if answer.problem().category.as_deref() == Some("DECLINED_ERROR") =>
            {
                AuthorisationOutcome::Declined {
                    reason: decline_from_title(answer.problem().title.as_deref().unwrap_or(""))
                        .into(),
                }
            }
            // The key was used with a different request: this attempt was
            // already sent. Answer with what became of it.
            StatusCode::CONFLICT => match self.status(request.payment_id).await {
                Ok(inquiry) => from_inquiry(inquiry),
                Err(e) => AuthorisationOutcome::Unknown {
                    detail: e.to_string(),
                },
            },
            s if s.is_server_error() => AuthorisationOutcome::Unknown {
                detail: format!("Moneris answered {s}"),
            },
            _ => AuthorisationOutcome::Failed {
                detail: answer.error().to_string(),
            },
        }
    }

    async fn located(&self, reference: &str) -> Result<PaymentView, GatewayError> {
        self.find(reference).await?.ok_or_else(|| {
            GatewayError::Refused("Moneris has no payment for this reference".into())
        })
    }
}

fn from_inquiry(inquiry: StatusInquiry) -> AuthorisationOutcome {
    match inquiry {
        StatusInquiry::Approved {
            authorisation_code, ..
        } => AuthorisationOutcome::Approved {
            authorisation_code,
            captured: false,
        },
        StatusInquiry::Captured {
            authorisation_code, ..
        } => AuthorisationOutcome::Approved {
            authorisation_code,
            captured: true,
        },
        StatusInquiry::Declined { reason } => AuthorisationOutcome::Declined { reason },
        other => AuthorisationOutcome::Unknown {
            detail: format!("an earlier submission of this attempt is {other:?}"),
        },
    }
}

fn outcome_of(view: &PaymentView) -> AuthorisationOutcome {
    from_inquiry(inquiry_of(view).unwrap_or(StatusInquiry::NotFound))
}

fn inquiry_of(view: &PaymentView) -> Result<StatusInquiry, GatewayError> {
    let code = view
        .transaction_details
        .authorization_code
        .clone()
        .unwrap_or_default();
    Ok(match view.payment_status.as_str() {
        "AUTHORIZED" | "INCREMENTED" => StatusInquiry::Approved {
            amount: view.authorized_amount.amount,
            authorisation_code: code,
        },
        "SUCCEEDED" | "PARTIALLY_COMPLETED" => StatusInquiry::Captured {
            captured: view.amount.amount,
            refunded: view
                .refund_details
                .as_ref()
                .map_or(0, |r| r.refunded_amount.amount),
            authorisation_code: code,
        },
        "DECLINED" | "DECLINED_RETRY" => StatusInquiry::Declined {
            reason: decline_reason(
                view.transaction_details
                    .iso_response_code
                    .as_deref()
                    .unwrap_or_default(),
            )
            .into(),
        },
        "CANCELED" => StatusInquiry::Voided,
        other => {
            return Err(GatewayError::Unavailable(format!(
                "Moneris has the payment as {other}; ask again later"
            )));
        }
    })
}

impl Connector for MonerisConnector {
    fn authorise<'a>(
        &'a self,
        request: AuthorisationRequest<'a>,
    ) -> BoxFuture<'a, AuthorisationOutcome> {
        Box::pin(async move { self.authorisation(&request).await })
    }

    fn capture<'a>(
        &'a self,
        payment_id: &'a str,
        amount: Money,
    ) -> BoxFuture<'a, Result<(), GatewayError>> {
        Box::pin(async move {
            let payment = self.located(payment_id).await?;
            let key = transport::derived_uuid(
                "moneris-complete",
                &format!("{payment_id}:{}", amount.minor()),
            );
            let body = WipedBody::json(&Complete {
                idempotency_key: &key,
                amount: money_of(amount),
            })?;
            let path = format!("/payments/{}/complete", payment.payment_id);
            let answer = self.write(&path, &body, payment_id).await??;
            if answer.status == StatusCode::CONFLICT {
                // Not awaiting completion: done already, if for this amount.
                return match inquiry_of(&self.located(payment_id).await?)? {
                    StatusInquiry::Captured { captured, .. } if captured == amount.minor() => {
                        Ok(())
                    }
                    other => Err(GatewayError::Refused(format!(
                        "Moneris cannot complete a payment that is {other:?}"
                    ))),
                };
            }
            answer.done()
        })
    }

    fn void<'a>(&'a self, payment_id: &'a str) -> BoxFuture<'a, Result<(), GatewayError>> {
        Box::pin(async move {
            let payment = self.located(payment_id).await?;
            if payment.payment_status == "CANCELED" {
                return Ok(());
            }
            let key = transport::derived_uuid("moneris-cancel", payment_id);
            let body = WipedBody::json(&Cancel {
                idempotency_key: &key,
            })?;
            let path = format!("/payments/{}/cancel", payment.payment_id);
            self.write(&path, &body, payment_id).await??.done()
        })
    }

    fn refund<'a>(
        &'a self,
        payment_id: &'a str,
        refund_id: &'a str,
        amount: Money,
    ) -> BoxFuture<'a, Result<(), GatewayError>> {
        Box::pin(async move {
            let payment = self.located(payment_id).await?;
            // The key covers the amount too: a refund refused for its amount
            // may be asked again for less under the same refund id.
            let key = transport::derived_uuid(
                "moneris-refund",
                &format!("{refund_id}:{}", amount.minor()),
            );
            let body = WipedBody::json(&CreateRefund {
                idempotency_key: &key,
                payment_id: &payment.payment_id,
                amount: money_of(amount),
                custom_data: CustomData {
                    reference: Some(payment_id.to_owned()),
                    refund: Some(refund_id.to_owned()),
                },
            })?;
            self.write("/refunds", &body, payment_id).await??.done()
        })
    }

    fn status<'a>(
        &'a self,
        payment_id: &'a str,
    ) -> BoxFuture<'a, Result<StatusInquiry, GatewayError>> {
        Box::pin(async move {
            match self.find(payment_id).await? {
                None => Ok(StatusInquiry::NotFound),
                Some(view) => inquiry_of(&view),
            }
        })
    }

    fn refund_status<'a>(
        &'a self,
        payment_id: &'a str,
        refund_id: &'a str,
    ) -> BoxFuture<'a, Result<RefundInquiry, GatewayError>> {
        Box::pin(async move {
            let Some(payment) = self.find(payment_id).await? else {
                return Ok(RefundInquiry::NotFound);
            };
            let refunds = payment
                .refund_details
                .map(|r| r.refunds)
                .unwrap_or_default();
            for reference in refunds {
                let answer = self
                    .get(&format!("/refunds/{}", reference.refund_id), payment_id)
                    .await?;
                answer.done()?;
                let refund: RefundView = answer.read()?;
                if refund.custom_data.and_then(|c| c.refund).as_deref() == Some(refund_id) {
                    return Ok(RefundInquiry::Refunded {
                        amount: refund.amount.amount,
                    });
                }
            }
            Ok(RefundInquiry::NotFound)
        })
    }

    fn authorisations_on<'a>(
        &'a self,
        day: jiff::civil::Date,
    ) -> BoxFuture<'a, Result<Vec<AcquirerRecord>, GatewayError>> {
        Box::pin(async move {
            let zoned = |d: jiff::civil::Date| {
                d.to_zoned(jiff::tz::TimeZone::UTC)
                    .map(|z| z.timestamp())
                    .map_err(|e| GatewayError::Protocol(e.to_string()))
            };
            let from = zoned(day)?;
            let to = zoned(
                day.tomorrow()
                    .map_err(|e| GatewayError::Protocol(e.to_string()))?,
            )?;
            let mut records = Vec::new();
            for view in self.payments_between(from, to).await? {
                if view.payment_status.starts_with("DECLINED") {
                    continue;
                }
                let reference = view
                    .custom_data
                    .as_ref()
                    .and_then(|c| c.reference.clone())
                    .unwrap_or_else(|| format!("moneris:{}", view.payment_id));
                records.push(AcquirerRecord {
                    reference,
                    inquiry: inquiry_of(&view)?,
                });
            }
            Ok(records)
        })
    }
}
