//! The Authorize.Net connector (US cities), over its JSON API.
//!
//! Authorize.Net has no idempotency key. It refuses a second transaction
//! with the same amount, card and invoice number inside the duplicate
//! window (reason 11), so every attempt carries an invoice number derived
//! from our reference, a lost answer is settled by looking the invoice
//! number up, and an authorisation is never sent twice on purpose. Our
//! full reference travels in the order description, which the
//! transaction details give back: that is how the orphan sweep names an
//! authorisation.

pub mod wire;

use crate::transport::{self, Trouble, WipedBody};
use crate::{
    AcquirerRecord, AuthorisationOutcome, AuthorisationRequest, BoxFuture, Connector, GatewayError,
    RefundInquiry, StatusInquiry,
};
use civicpay_core::Money;
use std::time::Duration;
use wire::{
    Authenticated, BatchTransactionsRequest, CreateTransaction, CreateTransactionResponse,
    CreditCard, MerchantAuthentication, Order, Payment, ProcessingOptions, Request, Setting,
    SettledBatchesRequest, SettledBatchesResponse, TransactionDetails, TransactionDetailsRequest,
    TransactionDetailsResponse, TransactionListResponse, TransactionRequest, TransactionResponse,
    TransactionSettings, TransactionSummary,
};
use zeroize::Zeroizing;

pub const SANDBOX_URL: &str = "https://apitest.authorize.net/xml/v1/request.api";
pub const PRODUCTION_URL: &str = "https://api.authorize.net/xml/v1/request.api";

/// The duplicate window civicpay asks for, in seconds (the default).
const DUPLICATE_WINDOW: u32 = 120;
/// The reporting API takes at most 31 days of batches per call.
const LONGEST_SEARCH_DAYS: i64 = 31;

const CREDENTIALS: &str =
    "processor.api_login_id and processor.transaction_key (Authorize.Net refused them)";

pub struct AuthorizeNetConnector {
    url: String,
    login: String,
    key: Zeroizing<String>,
    client: reqwest::Client,
}

/// The invoice number that names one attempt or one refund at Authorize.Net
/// (20 characters at most there).
pub fn invoice_number(reference: &str) -> String {
    transport::short_key("civicpay-authorize-net", reference, 20)
}

/// Response reason codes (the API reference's table) that are declines,
/// as the card page explains them.
fn decline_reason(code: u16) -> Option<&'static str> {
    Some(match code {
        2 | 3 | 27 | 127 | 165 => "do_not_honour",
        4 | 41 | 250 | 251 => "stolen_card",
        8 => "expired_card",
        44 | 45 | 65 | 78 => "incorrect_cvc",
        6 | 37 | 315 => "do_not_honour",
        _ => return None,
    })
}

impl AuthorizeNetConnector {
    /// `url` is [`SANDBOX_URL`], [`PRODUCTION_URL`] or a fake's.
    pub fn new(
        url: impl Into<String>,
        api_login_id: impl Into<String>,
        transaction_key: Zeroizing<String>,
        timeout: Duration,
    ) -> Result<Self, GatewayError> {
        Ok(Self {
            url: url.into(),
            login: api_login_id.into(),
            key: transaction_key,
            client: transport::client(timeout)?,
        })
    }

    fn authentication(&self) -> MerchantAuthentication<'_> {
        MerchantAuthentication {
            name: &self.login,
            transaction_key: &self.key,
        }
    }

    /// One call. Answers begin with a byte order mark, which is not JSON.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        request: &Request<'_>,
    ) -> Result<Result<T, GatewayError>, Trouble> {
        let body = WipedBody::json(request).map_err(|e| Trouble::NotSent(e.to_string()))?;
        let sent = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.body())
            .send()
            .await;
        let (status, bytes) = transport::read(sent).await?;
        drop(body);
        if status.is_server_error() {
            return Err(Trouble::NoAnswer(format!(
                "Authorize.Net answered {status}"
            )));
        }
        let text = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&bytes);
        Ok(serde_json::from_slice::<T>(text)
            .map_err(|e| GatewayError::Protocol(format!("Authorize.Net's answer: {e}"))))
    }

    /// A read-only reporting call: safe to repeat, so tried up to three
    /// times when the network fails.
    async fn report<T: serde::de::DeserializeOwned>(
        &self,
        request: &Request<'_>,
    ) -> Result<T, GatewayError> {
        let mut last = Trouble::NotSent(String::new());
        for _ in 0..3 {
            match self.call::<T>(request).await {
                Ok(answer) => return answer,
                Err(trouble) => last = trouble,
            }
        }
        Err(last.into())
    }

    async fn transaction(
        &self,
        reference: &str,
        request: TransactionRequest<'_>,
    ) -> Result<Result<CreateTransactionResponse, GatewayError>, Trouble> {
        let ref_id = invoice_number(reference);
        self.call(&Request::CreateTransaction(CreateTransaction {
            merchant_authentication: self.authentication(),
            ref_id: &ref_id,
            transaction_request: request,
        }))
        .await
    }

    /// The transactions submitted or settled since `since`: unsettled
    /// ones, then each settled batch's.
    async fn transactions_since(
        &self,
        since: jiff::Timestamp,
    ) -> Result<Vec<TransactionSummary>, GatewayError> {
        let unsettled: TransactionListResponse = self
            .report(&Request::UnsettledList(Authenticated {
                merchant_authentication: self.authentication(),
            }))
            .await?;
        api_ok(&unsettled.messages)?;
        let mut all = unsettled.transactions;
        let now = jiff::Timestamp::now();
        let earliest = now
            .checked_sub(jiff::SignedDuration::from_hours(
                LONGEST_SEARCH_DAYS * 24 - 1,
            ))
            .unwrap_or(now);
        let from = since.max(earliest);
        let format = |t: jiff::Timestamp| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let batches: SettledBatchesResponse = self
            .report(&Request::SettledBatches(SettledBatchesRequest {
                merchant_authentication: self.authentication(),
                first_settlement_date: format(from),
                // A batch that closed this second is included.
                last_settlement_date: format(
                    now.checked_add(jiff::SignedDuration::from_mins(1))
                        .unwrap_or(now),
                ),
            }))
            .await?;
        api_ok(&batches.messages)?;
        for batch in batches.batch_list {
            let listing: TransactionListResponse = self
                .report(&Request::BatchTransactions(BatchTransactionsRequest {
                    merchant_authentication: self.authentication(),
                    batch_id: &batch.batch_id,
                }))
                .await?;
            api_ok(&listing.messages)?;
            all.extend(listing.transactions);
        }
        Ok(all)
    }

    async fn details(&self, trans_id: &str) -> Result<TransactionDetails, GatewayError> {
        let answer: TransactionDetailsResponse = self
            .report(&Request::TransactionDetails(TransactionDetailsRequest {
                merchant_authentication: self.authentication(),
                trans_id,
            }))
            .await?;
        api_ok(&answer.messages)?;
        answer.transaction.ok_or_else(|| {
            GatewayError::Protocol("transaction details without a transaction".into())
        })
    }

    /// Our attempt's transaction, found by its invoice number.
    async fn find(
        &self,
        reference: &str,
    ) -> Result<Option<(TransactionDetails, Vec<TransactionSummary>)>, GatewayError> {
        let since = searched_from(reference);
        let all = self.transactions_since(since).await?;
        let invoice = invoice_number(reference);
        let Some(found) = all
            .iter()
            .find(|t| t.invoice_number.as_deref() == Some(invoice.as_str()) && !is_refund(t))
        else {
            return Ok(None);
        };
        let details = self.details(&found.trans_id).await?;
        Ok(Some((details, all)))
    }

    /// What has been refunded against `original`: refunds are their own
    /// transactions, pointing back with `refTransId`.
    async fn refunded(
        &self,
        original: &str,
        all: &[TransactionSummary],
    ) -> Result<i64, GatewayError> {
        let mut total = 0;
        for summary in all.iter().filter(|t| is_refund(t)) {
            let refund = self.details(&summary.trans_id).await?;
            if refund.ref_trans_id.as_deref() == Some(original) {
                total += transport::decimal_to_minor(&refund.settle_amount).unwrap_or(0);
            }
        }
        Ok(total)
    }

    async fn inquiry(
        &self,
        details: &TransactionDetails,
        all: &[TransactionSummary],
    ) -> Result<StatusInquiry, GatewayError> {
        let authorised = transport::decimal_to_minor(&details.auth_amount).unwrap_or(0);
        let settled = transport::decimal_to_minor(&details.settle_amount).unwrap_or(0);
        let code = details.auth_code.clone();
        Ok(match details.transaction_status.as_str() {
            "authorizedPendingCapture" | "FDSPendingReview" | "FDSAuthorizedPendingReview" => {
                StatusInquiry::Approved {
                    amount: authorised,
                    authorisation_code: code,
                }
            }
            "capturedPendingSettlement" | "settledSuccessfully" => StatusInquiry::Captured {
                captured: settled,
                refunded: self.refunded(&details.trans_id, all).await?,
                authorisation_code: code,
            },
            "declined" | "generalError" | "failedReview" => StatusInquiry::Declined {
                reason: details
                    .response_reason_code
                    .and_then(decline_reason)
                    .unwrap_or("do_not_honour")
                    .to_owned(),
            },
            "voided" | "expired" => StatusInquiry::Voided,
            other => {
                return Err(GatewayError::Protocol(format!(
                    "transaction status {other:?} is not one civicpay knows"
                )));
            }
        })
    }

    /// A transaction civicpay asked for (capture, void, refund), read as
    /// done or refused; `tolerated` reason codes mean it was already done.
    fn settled_call(
        answer: Result<Result<CreateTransactionResponse, GatewayError>, Trouble>,
        tolerated: &[u16],
    ) -> Result<(), GatewayError> {
        let answer = answer??;
        let Some(response) = answer.transaction_response else {
            return Err(api_error(&answer.messages));
        };
        if response.response_code == "1" || tolerated.contains(&response.reason_code()) {
            Ok(())
        } else {
            Err(GatewayError::Refused(format!(
                "Authorize.Net reason {}: {}",
                response.reason_code(),
                response.reason_text()
            )))
        }
    }

    async fn authorisation(&self, request: &AuthorisationRequest<'_>) -> AuthorisationOutcome {
        let invoice = invoice_number(request.payment_id);
        let expiry = format!("{:04}-{:02}", request.expiry.year(), request.expiry.month());
        let answer = self
            .transaction(
                request.payment_id,
                TransactionRequest {
                    transaction_type: if request.capture {
                        "authCaptureTransaction"
                    } else {
                        "authOnlyTransaction"
                    },
                    amount: Some(request.amount.to_decimal_string()),
                    currency_code: Some(request.amount.currency().code()),
                    payment: Some(Payment {
                        credit_card: CreditCard {
                            card_number: request.card.expose_digits(),
                            expiration_date: expiry,
                            card_code: request.security_code.map(|c| c.expose_digits()),
                        },
                    }),
                    ref_trans_id: None,
                    order: Some(Order {
                        invoice_number: &invoice,
                        description: request.payment_id,
                    }),
                    transaction_settings: Some(TransactionSettings {
                        setting: vec![Setting {
                            setting_name: "duplicateWindow",
                            setting_value: DUPLICATE_WINDOW.to_string(),
                        }],
                    }),
                    processing_options: request.stored_credential.then_some(ProcessingOptions {
                        is_stored_credentials: "true",
                    }),
                },
            )
            .await;
        let answer = match answer {
            Err(Trouble::NotSent(detail)) => return AuthorisationOutcome::Failed { detail },
            Err(Trouble::NoAnswer(detail)) => return AuthorisationOutcome::Unknown { detail },
            Ok(Err(e)) => {
                return AuthorisationOutcome::Unknown {
                    detail: e.to_string(),
                };
            }
            Ok(Ok(answer)) => answer,
        };
        let Some(response) = answer.transaction_response else {
            return match answer.messages.first_code() {
                // "An error occurred during processing. Please try again."
                "E00001" => AuthorisationOutcome::Unknown {
                    detail: answer.messages.text(),
                },
                _ => AuthorisationOutcome::Failed {
                    detail: api_error(&answer.messages).to_string(),
                },
            };
        };
        self.outcome(request, response).await
    }

    async fn outcome(
        &self,
        request: &AuthorisationRequest<'_>,
        response: TransactionResponse,
    ) -> AuthorisationOutcome {
        let reason = response.reason_code();
        match response.response_code.as_str() {
            "1" => AuthorisationOutcome::Approved {
                authorisation_code: response.auth_code,
                captured: request.capture,
            },
            // Held for review by the fraud detection suite: authorised but
            // not to be counted on. Reported as a decline; the hold is left
            // for the orphan sweep to void, as nothing of ours accounts for it.
            "4" => AuthorisationOutcome::Declined {
                reason: "held_for_review".into(),
            },
            // The first submission went through and its answer was lost:
            // answer with what became of it, never charge again.
            _ if reason == 11 => match self.status(request.payment_id).await {
                Ok(StatusInquiry::Captured {
                    authorisation_code, ..
                }) => AuthorisationOutcome::Approved {
                    authorisation_code,
                    captured: true,
                },
                Ok(StatusInquiry::Approved {
                    authorisation_code, ..
                }) => AuthorisationOutcome::Approved {
                    authorisation_code,
                    captured: false,
                },
                Ok(StatusInquiry::Declined { reason }) => AuthorisationOutcome::Declined { reason },
                other => AuthorisationOutcome::Unknown {
                    detail: format!("duplicate of an earlier submission: {other:?}"),
                },
            },
            _ => match decline_reason(reason) {
                Some(reason) => AuthorisationOutcome::Declined {
                    reason: reason.into(),
                },
                None => AuthorisationOutcome::Failed {
                    detail: format!("Authorize.Net reason {reason}: {}", response.reason_text()),
                },
            },
        }
    }
}

fn is_refund(t: &TransactionSummary) -> bool {
    t.transaction_status.starts_with("refund")
}

/// Where to start looking for a reference's transactions: when it was
/// made, less a minute for clocks; two days back if it says nothing.
fn searched_from(reference: &str) -> jiff::Timestamp {
    let now = jiff::Timestamp::now();
    transport::made_at(reference)
        .and_then(|t| t.checked_sub(jiff::SignedDuration::from_mins(1)).ok())
        .unwrap_or_else(|| {
            now.checked_sub(jiff::SignedDuration::from_hours(48))
                .unwrap_or(now)
        })
}

fn api_error(messages: &wire::Messages) -> GatewayError {
    match messages.first_code() {
        "E00007" | "E00008" => GatewayError::Credentials(CREDENTIALS.into()),
        _ => GatewayError::Refused(format!("Authorize.Net: {}", messages.text())),
    }
}

fn api_ok(messages: &wire::Messages) -> Result<(), GatewayError> {
    if messages.result_code == "Ok" {
        Ok(())
    } else {
        Err(api_error(messages))
    }
}

impl Connector for AuthorizeNetConnector {
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
            let Some((details, _)) = self.find(payment_id).await? else {
                return Err(GatewayError::Refused(
                    "Authorize.Net has no transaction for this payment".into(),
                ));
            };
            let request = || TransactionRequest {
                transaction_type: "priorAuthCaptureTransaction",
                amount: Some(amount.to_decimal_string()),
                currency_code: None,
                payment: None,
                ref_trans_id: Some(&details.trans_id),
                order: None,
                transaction_settings: None,
                processing_options: None,
            };
            // Capturing twice is refused as "already captured" (311), so a
            // capture whose answer was lost is safe to send once more.
            let first = self.transaction(payment_id, request()).await;
            let answer = match first {
                Err(Trouble::NoAnswer(_) | Trouble::NotSent(_)) => {
                    self.transaction(payment_id, request()).await
                }
                answer => answer,
            };
            Self::settled_call(answer, &[311])
        })
    }

    fn void<'a>(&'a self, payment_id: &'a str) -> BoxFuture<'a, Result<(), GatewayError>> {
        Box::pin(async move {
            let Some((details, _)) = self.find(payment_id).await? else {
                return Err(GatewayError::Refused(
                    "Authorize.Net has no transaction for this payment".into(),
                ));
            };
            if details.transaction_status == "voided" {
                return Ok(());
            }
            void_by_id(self, payment_id, &details.trans_id).await
        })
    }

    fn refund<'a>(
        &'a self,
        payment_id: &'a str,
        refund_id: &'a str,
        amount: Money,
    ) -> BoxFuture<'a, Result<(), GatewayError>> {
        Box::pin(async move {
            let Some((details, all)) = self.find(payment_id).await? else {
                return Err(GatewayError::Refused(
                    "Authorize.Net has no transaction for this payment".into(),
                ));
            };
            // Refunds are idempotent by refund id: one already made is done.
            let invoice = invoice_number(refund_id);
            if all
                .iter()
                .any(|t| t.invoice_number.as_deref() == Some(invoice.as_str()) && is_refund(t))
            {
                return Ok(());
            }
            let settled = transport::decimal_to_minor(&details.settle_amount).unwrap_or(0);
            match details.transaction_status.as_str() {
                "settledSuccessfully" => {}
                // Not settled yet: only a void can give it all back.
                "capturedPendingSettlement" if amount.minor() == settled => {
                    return void_by_id(self, payment_id, &details.trans_id).await;
                }
                "capturedPendingSettlement" => {
                    return Err(GatewayError::Refused(
                        "Authorize.Net refunds only settled payments; a part refund can be made after the day's batch settles".into(),
                    ));
                }
                other => {
                    return Err(GatewayError::Refused(format!(
                        "Authorize.Net cannot refund a transaction that is {other}"
                    )));
                }
            }
            let last4 = last4_of(&details);
            let description = format!("refund {refund_id}");
            let answer = self
                .transaction(
                    refund_id,
                    TransactionRequest {
                        transaction_type: "refundTransaction",
                        amount: Some(amount.to_decimal_string()),
                        currency_code: None,
                        payment: Some(Payment {
                            credit_card: CreditCard {
                                card_number: &last4,
                                expiration_date: "XXXX".into(),
                                card_code: None,
                            },
                        }),
                        ref_trans_id: Some(&details.trans_id),
                        order: Some(Order {
                            invoice_number: &invoice,
                            description: &description,
                        }),
                        transaction_settings: None,
                        processing_options: None,
                    },
                )
                .await;
            Self::settled_call(answer, &[])
        })
    }

    fn status<'a>(
        &'a self,
        payment_id: &'a str,
    ) -> BoxFuture<'a, Result<StatusInquiry, GatewayError>> {
        Box::pin(async move {
            match self.find(payment_id).await? {
                None => Ok(StatusInquiry::NotFound),
                Some((details, all)) => self.inquiry(&details, &all).await,
            }
        })
    }

    fn refund_status<'a>(
        &'a self,
        payment_id: &'a str,
        refund_id: &'a str,
    ) -> BoxFuture<'a, Result<RefundInquiry, GatewayError>> {
        Box::pin(async move {
            let Some((details, all)) = self.find(payment_id).await? else {
                return Ok(RefundInquiry::NotFound);
            };
            let invoice = invoice_number(refund_id);
            if let Some(refund) = all
                .iter()
                .find(|t| t.invoice_number.as_deref() == Some(invoice.as_str()) && is_refund(t))
            {
                let refund = self.details(&refund.trans_id).await?;
                return Ok(RefundInquiry::Refunded {
                    amount: transport::decimal_to_minor(&refund.settle_amount).unwrap_or(0),
                });
            }
            // A whole refund before settlement was made as a void.
            let settled = transport::decimal_to_minor(&details.settle_amount).unwrap_or(0);
            if details.transaction_status == "voided" && settled > 0 {
                return Ok(RefundInquiry::Refunded { amount: settled });
            }
            Ok(RefundInquiry::NotFound)
        })
    }

    fn authorisations_on<'a>(
        &'a self,
        day: jiff::civil::Date,
    ) -> BoxFuture<'a, Result<Vec<AcquirerRecord>, GatewayError>> {
        Box::pin(async move {
            let start = day
                .to_zoned(jiff::tz::TimeZone::UTC)
                .map_err(|e| GatewayError::Protocol(e.to_string()))?
                .timestamp();
            let all = self.transactions_since(start).await?;
            let mut records = Vec::new();
            for summary in all.iter().filter(|t| !is_refund(t)) {
                let submitted = summary
                    .submit_time_utc
                    .parse::<jiff::Timestamp>()
                    .map_err(|e| GatewayError::Protocol(e.to_string()))?;
                if submitted.to_zoned(jiff::tz::TimeZone::UTC).date() != day
                    || summary.transaction_status == "declined"
                {
                    continue;
                }
                let details = self.details(&summary.trans_id).await?;
                let ours = details
                    .order
                    .as_ref()
                    .and_then(|o| o.description.clone())
                    .filter(|d| {
                        d.get(..36)
                            .is_some_and(|id| transport::made_at(id).is_some())
                    });
                records.push(AcquirerRecord {
                    reference: ours
                        .unwrap_or_else(|| format!("authorize.net:{}", details.trans_id)),
                    inquiry: self.inquiry(&details, &all).await?,
                });
            }
            Ok(records)
        })
    }
}

async fn void_by_id(
    connector: &AuthorizeNetConnector,
    reference: &str,
    trans_id: &str,
) -> Result<(), GatewayError> {
    let request = || TransactionRequest {
        transaction_type: "voidTransaction",
        amount: None,
        currency_code: None,
        payment: None,
        ref_trans_id: Some(trans_id),
        order: None,
        transaction_settings: None,
        processing_options: None,
    };
    // A second void is refused as "already voided" (310): safe to repeat.
    let answer = match connector.transaction(reference, request()).await {
        Err(_) => connector.transaction(reference, request()).await,
        answer => answer,
    };
    AuthorizeNetConnector::settled_call(answer, &[310])
}

fn last4_of(details: &TransactionDetails) -> String {
    let digits: String = details
        .payment
        .as_ref()
        .and_then(|p| p.credit_card.as_ref())
        .map_or("", |c| c.card_number.as_str())
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    digits
        .get(digits.len().saturating_sub(4)..)
        .unwrap_or_default()
        .to_owned()
}
