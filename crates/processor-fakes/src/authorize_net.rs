//! A fake of Authorize.Net's JSON API (`POST /xml/v1/request.api`).
//!
//! Behaviour and the documents it comes from:
//! - API reference, <https://developer.authorize.net/api/reference/index.html>:
//!   request names and element order (the JSON is validated against the
//!   XML schema, so order matters and an unexpected element is error
//!   E00003); `merchantAuthentication` with `name` and `transactionKey`
//!   (E00007 when wrong); every answer is HTTP 200 with a
//!   `messages.resultCode` of `Ok` or `Error`; `transactionResponse.responseCode`
//!   1 approved, 2 declined, 3 error, 4 held for review; amounts are
//!   decimal dollars; transaction ids are numeric strings.
//! - "JSON Support", same site: responses begin with a UTF-8 byte order mark.
//! - Response reason codes, <https://developer.authorize.net/api/reference/responseCodes.html>:
//!   2 declined, 4 pick up card, 6 invalid card number, 8 expired card,
//!   11 duplicate within the duplicate window, 16 transaction not found,
//!   39 currency not allowed for this merchant, 44/45 card code mismatch,
//!   47 capture above the authorised amount, 54 refund of a transaction not
//!   settled, 55 refunds above the settled amount, 252 held for review by
//!   the fraud detection suite, 310 already voided, 311 already captured.
//! - Testing guide, <https://developer.authorize.net/hello_world/testing_guide.html>:
//!   card 4222222222222 declines with the response reason code equal to
//!   the amount in dollars (2.00 gives 2, 27.00 gives 27, ...); card code
//!   901 does not match; a transaction settles at the daily batch
//!   cut-off ([`AuthorizeNetFake::settle`]).
//! - Transaction Reporting: `getTransactionDetailsRequest` (E00040 when the
//!   transaction is unknown), `getUnsettledTransactionListRequest`,
//!   `getSettledBatchListRequest`, `getTransactionListRequest`; refunds
//!   are their own transactions that point at the original with
//!   `refTransId`.
//! - "Duplicate transaction" (`duplicateWindow` setting, default 120 s):
//!   the same amount, card and invoice number inside the window is refused
//!   with reason 11 and the original transaction's id.
//!
//! Not implemented: eCheck, customer profiles, Accept.js tokens, AVS
//! filters (no billing address is sent), partial authorisations, the
//! 30-day expiry of an uncaptured authorisation.

use crate::faults::{self, Fault, Faults};
use crate::ordered::Node;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The endpoint path, the same in the sandbox and in production.
pub const PATH: &str = "/xml/v1/request.api";

/// The testing guide's card that declines with the amount's reason code.
pub const REASON_CODE_CARD: &str = "4222222222222";
/// The testing guide's card code that does not match.
pub const MISMATCHED_CARD_CODE: &str = "901";

const SCHEMA: &str = "AnetApi/xml/v1/schema/AnetApiSchema.xsd";

/// The XSD's order of `transactionRequestType`'s children.
const TRANSACTION_REQUEST: &[&str] = &[
    "transactionType",
    "amount",
    "currencyCode",
    "payment",
    "profile",
    "solution",
    "callId",
    "terminalNumber",
    "authCode",
    "refTransId",
    "splitTenderId",
    "order",
    "lineItems",
    "tax",
    "duty",
    "shipping",
    "taxExempt",
    "poNumber",
    "customer",
    "billTo",
    "shipTo",
    "customerIP",
    "cardholderAuthentication",
    "retail",
    "employeeId",
    "transactionSettings",
    "userFields",
    "surcharge",
    "merchantDescriptor",
    "subMerchant",
    "tip",
    "processingOptions",
    "subsequentAuthInformation",
    "otherTax",
    "shipFrom",
    "authorizationIndicatorType",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    AuthOnly,
    AuthCapture,
    Refund,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::AuthOnly => "authOnlyTransaction",
            Kind::AuthCapture => "authCaptureTransaction",
            Kind::Refund => "refundTransaction",
        }
    }
}

#[derive(Debug, Clone)]
struct Transaction {
    id: String,
    kind: Kind,
    /// The documented `transactionStatus` values.
    status: &'static str,
    response_code: u8,
    reason_code: u16,
    auth_code: String,
    authorised: i64,
    settled: i64,
    invoice: Option<String>,
    description: Option<String>,
    last4: String,
    card_type: &'static str,
    ref_trans_id: Option<String>,
    submitted: jiff::Timestamp,
    batch: Option<usize>,
    /// Amount, last four digits and invoice: what the duplicate window compares.
    duplicate_key: Option<String>,
}

#[derive(Debug, Clone)]
struct Batch {
    id: String,
    settled: jiff::Timestamp,
}

struct Ledger {
    transactions: Vec<Transaction>,
    batches: Vec<Batch>,
    next_id: u64,
}

/// One merchant account.
#[derive(Clone)]
pub struct AuthorizeNetFake {
    login: String,
    key: String,
    currency: String,
    duplicate_window: Duration,
    ledger: Arc<Mutex<Ledger>>,
    pub faults: Faults,
}

impl AuthorizeNetFake {
    /// A merchant account with these credentials, settling in `currency`.
    pub fn new(login: &str, key: &str, currency: &str) -> Self {
        Self {
            login: login.to_owned(),
            key: key.to_owned(),
            currency: currency.to_owned(),
            duplicate_window: Duration::from_secs(120),
            ledger: Arc::new(Mutex::new(Ledger {
                transactions: Vec::new(),
                batches: Vec::new(),
                next_id: 40_000_000_001,
            })),
            faults: Faults::default(),
        }
    }

    pub fn router(&self) -> axum::Router {
        axum::Router::new()
            .route(PATH, post(request))
            .with_state(self.clone())
    }

    /// The daily batch cut-off: captured transactions and refunds settle.
    pub fn settle(&self) {
        let Ok(mut ledger) = self.ledger.lock() else {
            return;
        };
        let batch = ledger.batches.len();
        let id = (ledger.next_id + 7_000_000).to_string();
        ledger.next_id += 1;
        let mut any = false;
        for t in &mut ledger.transactions {
            let settled = match t.status {
                "capturedPendingSettlement" => "settledSuccessfully",
                "refundPendingSettlement" => "refundSettledSuccessfully",
                _ => continue,
            };
            t.status = settled;
            t.batch = Some(batch);
            any = true;
        }
        if any {
            ledger.batches.push(Batch {
                id,
                settled: jiff::Timestamp::now(),
            });
        }
    }

    /// How many transactions the account has (any kind, any status).
    pub fn transaction_count(&self) -> usize {
        self.ledger.lock().map_or(0, |l| l.transactions.len())
    }

    /// An authorisation made outside civicpay (in the merchant interface,
    /// or by a compromised integration): no invoice number, no description.
    pub fn plant_authorisation(&self, cents: i64) -> String {
        let Ok(mut ledger) = self.ledger.lock() else {
            return String::new();
        };
        let id = ledger.next_id.to_string();
        ledger.next_id += 1;
        ledger.transactions.push(Transaction {
            id: id.clone(),
            kind: Kind::AuthOnly,
            status: "authorizedPendingCapture",
            response_code: 1,
            reason_code: 1,
            auth_code: crate::random_code(6, b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"),
            authorised: cents,
            settled: 0,
            invoice: None,
            description: None,
            last4: "1111".into(),
            card_type: "Visa",
            ref_trans_id: None,
            submitted: jiff::Timestamp::now(),
            batch: None,
            duplicate_key: None,
        });
        id
    }
}

/// Errors at the level of the API call, before any transaction.
fn api_error(code: &str, text: &str) -> Value {
    json!({"messages": {"resultCode": "Error", "message": [{"code": code, "text": text}]}})
}

fn ok_messages() -> Value {
    json!({"resultCode": "Ok", "message": [{"code": "I00001", "text": "Successful."}]})
}

/// Every answer: HTTP 200, a byte order mark, then JSON.
fn answer(body: &Value) -> Response {
    let mut bytes = "\u{feff}".as_bytes().to_vec();
    bytes.extend_from_slice(body.to_string().as_bytes());
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        bytes,
    )
        .into_response()
}

/// E00003, as the schema validator words an element out of place.
fn order_error(parent: &str, node: &Node, expected: &[&str]) -> Option<Value> {
    let mut last = None;
    for key in node.keys() {
        let Some(position) = expected.iter().position(|e| *e == key) else {
            return Some(api_error(
                "E00003",
                &format!(
                    "The element '{parent}' in namespace '{SCHEMA}' has invalid child element '{key}' in namespace '{SCHEMA}'."
                ),
            ));
        };
        if last.is_some_and(|l| position <= l) {
            let rest = expected
                .get(last.map_or(0, |l| l + 1)..)
                .unwrap_or_default()
                .join(", ");
            return Some(api_error(
                "E00003",
                &format!(
                    "The element '{parent}' in namespace '{SCHEMA}' has invalid child element '{key}' in namespace '{SCHEMA}'. List of possible elements expected: '{rest}' in namespace '{SCHEMA}'."
                ),
            ));
        }
        last = Some(position);
    }
    None
}

async fn request(State(fake): State<AuthorizeNetFake>, body: axum::body::Bytes) -> Response {
    let Ok(node) = serde_json::from_slice::<Node>(&body) else {
        return answer(&api_error(
            "E00003",
            "Data at the root level is invalid. Line 1, position 1.",
        ));
    };
    let (name, inner) = match &node {
        Node::Object(entries) if entries.len() == 1 => match entries.first() {
            Some((name, inner)) => (name.as_str(), inner),
            None => return answer(&api_error("E00003", "Root element is missing.")),
        },
        _ => return answer(&api_error("E00003", "Root element is missing.")),
    };
    let children: &[&str] = match name {
        "createTransactionRequest" => &[
            "merchantAuthentication",
            "clientId",
            "refId",
            "transactionRequest",
        ],
        "getTransactionDetailsRequest" => {
            &["merchantAuthentication", "clientId", "refId", "transId"]
        }
        "getUnsettledTransactionListRequest" => &[
            "merchantAuthentication",
            "clientId",
            "refId",
            "status",
            "sorting",
            "paging",
        ],
        "getSettledBatchListRequest" => &[
            "merchantAuthentication",
            "clientId",
            "refId",
            "includeStatistics",
            "firstSettlementDate",
            "lastSettlementDate",
        ],
        "getTransactionListRequest" => &[
            "merchantAuthentication",
            "clientId",
            "refId",
            "batchId",
            "sorting",
            "paging",
        ],
        other => {
            return answer(&api_error(
                "E00003",
                &format!("The element '{other}' in namespace '{SCHEMA}' is not declared."),
            ));
        }
    };
    if let Some(error) = order_error(name, inner, children) {
        return answer(&error);
    }
    let authentication = inner.get("merchantAuthentication");
    if let Some(error) = authentication
        .and_then(|a| order_error("merchantAuthentication", a, &["name", "transactionKey"]))
    {
        return answer(&error);
    }
    let login = authentication
        .and_then(|a| a.get("name"))
        .and_then(Node::text);
    let key = authentication
        .and_then(|a| a.get("transactionKey"))
        .and_then(Node::text);
    if login.as_deref() != Some(fake.login.as_str()) || key.as_deref() != Some(fake.key.as_str()) {
        return answer(&api_error(
            "E00007",
            "User authentication failed due to invalid authentication values.",
        ));
    }
    let ref_id = inner.get("refId").and_then(Node::text);
    let mut result = match name {
        "createTransactionRequest" => {
            let fault = fake.faults.take();
            if fault == Some(Fault::ServerError) {
                return faults::server_error();
            }
            let result = match inner.get("transactionRequest") {
                Some(request) => fake.transaction(request),
                None => api_error(
                    "E00003",
                    "The element 'createTransactionRequest' has incomplete content. List of possible elements expected: 'transactionRequest'.",
                ),
            };
            let mut result = result;
            if let Some(r) = ref_id.clone() {
                crate::set(&mut result, "refId", json!(r));
            }
            return faults::deliver(fault, answer(&result)).await;
        }
        "getTransactionDetailsRequest" => fake.details(inner),
        "getUnsettledTransactionListRequest" => fake.unsettled(),
        "getSettledBatchListRequest" => fake.batches(inner),
        _ => fake.batch_transactions(inner),
    };
    if let Some(r) = ref_id {
        crate::set(&mut result, "refId", json!(r));
    }
    answer(&result)
}

/// Decimal dollars, at most two places, to cents.
fn cents(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || fraction.len() > 2
        || !fraction.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
    whole.checked_mul(100)?.checked_add(fraction)
}

fn dollars(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn card_type(digits: &str) -> &'static str {
    match digits.chars().next() {
        Some('4') => "Visa",
        Some('5') | Some('2') => "MasterCard",
        Some('3') => "AmericanExpress",
        Some('6') => "Discover",
        _ => "Other",
    }
}

/// `expirationDate` as the API takes it: `YYYY-MM`, `MMYY` or `MM/YY`.
fn expired(expiry: &str) -> Option<bool> {
    let (year, month) = if let Some((y, m)) = expiry.split_once('-') {
        (y.parse::<i16>().ok()?, m.parse::<i8>().ok()?)
    } else {
        let digits: String = expiry.chars().filter(char::is_ascii_digit).collect();
        if digits.len() != 4 {
            return None;
        }
        let m = digits.get(..2)?.parse::<i8>().ok()?;
        let y = digits.get(2..)?.parse::<i16>().ok()?;
        (2000 + y, m)
    };
    if !(1..=12).contains(&month) {
        return None;
    }
    let today = jiff::Zoned::now().date();
    Some((year, month) < (today.year(), today.month()))
}

/// The `transactionResponse` of a transaction request.
fn transaction_response(
    response_code: u8,
    reason_code: u16,
    text: &str,
    transaction: Option<&Transaction>,
) -> Value {
    let mut response = json!({
        "responseCode": response_code.to_string(),
        "authCode": transaction.map(|t| t.auth_code.clone()).unwrap_or_default(),
        "avsResultCode": "P",
        "cvvResultCode": "",
        "cavvResultCode": "",
        "transId": transaction.map_or("0".to_owned(), |t| t.id.clone()),
        "refTransID": transaction.and_then(|t| t.ref_trans_id.clone()).unwrap_or_default(),
        "transHash": "",
        "testRequest": "0",
        "accountNumber": transaction.map(|t| format!("XXXX{}", t.last4)).unwrap_or_default(),
        "accountType": transaction.map(|t| t.card_type).unwrap_or_default(),
    });
    if response_code == 1 || response_code == 4 {
        crate::set(
            &mut response,
            "messages",
            json!([{"code": reason_code.to_string(), "description": text}]),
        );
    } else {
        crate::set(
            &mut response,
            "errors",
            json!([{"errorCode": reason_code.to_string(), "errorText": text}]),
        );
    }
    let messages = if response_code == 1 || response_code == 4 {
        ok_messages()
    } else {
        json!({"resultCode": "Error", "message": [{"code": "E00027", "text": "The transaction was unsuccessful."}]})
    };
    json!({"transactionResponse": response, "messages": messages})
}

fn refused(reason: u16, text: &str) -> Value {
    transaction_response(3, reason, text, None)
}

impl AuthorizeNetFake {
    fn transaction(&self, request: &Node) -> Value {
        if let Some(error) = order_error("transactionRequest", request, TRANSACTION_REQUEST) {
            return error;
        }
        let Some(kind) = request.get("transactionType").and_then(Node::text) else {
            return api_error(
                "E00003",
                "The element 'transactionRequest' has incomplete content. List of possible elements expected: 'transactionType'.",
            );
        };
        let amount = request.get("amount").and_then(Node::text);
        let amount = match amount.as_deref().map(cents) {
            Some(Some(c)) if c > 0 => Some(c),
            Some(_) => return refused(5, "A valid amount is required."),
            None => None,
        };
        if let Some(code) = request.get("currencyCode").and_then(Node::text)
            && code != self.currency
        {
            return refused(
                39,
                "The supplied currency code is either invalid, not supported, not allowed for this merchant or doesn't have an exchange rate.",
            );
        }
        let ref_trans_id = request.get("refTransId").and_then(Node::text);
        let Ok(mut ledger) = self.ledger.lock() else {
            return api_error(
                "E00001",
                "An error occurred during processing. Please try again.",
            );
        };
        match kind.as_str() {
            "authOnlyTransaction" | "authCaptureTransaction" => {
                let Some(amount) = amount else {
                    return refused(5, "A valid amount is required.");
                };
                let kind = if kind == "authOnlyTransaction" {
                    Kind::AuthOnly
                } else {
                    Kind::AuthCapture
                };
                self.authorise(&mut ledger, kind, amount, request)
            }
            "priorAuthCaptureTransaction" => {
                let Some(t) = ref_trans_id.and_then(|id| find(&mut ledger, &id)) else {
                    return refused(16, "The transaction cannot be found.");
                };
                match t.status {
                    "authorizedPendingCapture" => {}
                    "capturedPendingSettlement" | "settledSuccessfully" => {
                        return refused(311, "This transaction has already been captured.");
                    }
                    _ => return refused(16, "The transaction cannot be found."),
                }
                let amount = amount.unwrap_or(t.authorised);
                if amount > t.authorised {
                    return refused(
                        47,
                        "The amount requested for settlement cannot be greater than the original amount authorized.",
                    );
                }
                t.status = "capturedPendingSettlement";
                t.settled = amount;
                let t = t.clone();
                transaction_response(1, 1, "This transaction has been approved.", Some(&t))
            }
            "voidTransaction" => {
                let Some(t) = ref_trans_id.and_then(|id| find(&mut ledger, &id)) else {
                    return refused(16, "The transaction cannot be found.");
                };
                match t.status {
                    "authorizedPendingCapture"
                    | "capturedPendingSettlement"
                    | "refundPendingSettlement"
                    | "FDSPendingReview"
                    | "FDSAuthorizedPendingReview" => {}
                    "voided" => return refused(310, "This transaction has already been voided."),
                    _ => return refused(16, "The transaction cannot be found."),
                }
                t.status = "voided";
                let t = t.clone();
                transaction_response(1, 1, "This transaction has been approved.", Some(&t))
            }
            "refundTransaction" => self.refund(&mut ledger, amount, ref_trans_id, request),
            _ => api_error(
                "E00003",
                &format!(
                    "The '{kind}' value is invalid according to its datatype 'transactionTypeEnum'."
                ),
            ),
        }
    }

    fn authorise(&self, ledger: &mut Ledger, kind: Kind, amount: i64, request: &Node) -> Value {
        let card = request.get("payment").and_then(|p| p.get("creditCard"));
        let Some(card) = card else {
            return refused(33, "Credit card number is required.");
        };
        if let Some(error) = order_error(
            "creditCard",
            card,
            &[
                "cardNumber",
                "expirationDate",
                "cardCode",
                "isPaymentToken",
                "cryptogram",
                "tokenRequestorName",
                "tokenRequestorId",
                "tokenRequestorEci",
            ],
        ) {
            return error;
        }
        let number = card
            .get("cardNumber")
            .and_then(Node::text)
            .unwrap_or_default();
        if !(13..=16).contains(&number.len()) || !crate::luhn_valid(&number) {
            return refused(6, "The credit card number is invalid.");
        }
        let Some(expiry) = card.get("expirationDate").and_then(Node::text) else {
            return refused(33, "Expiration date is required.");
        };
        match expired(&expiry) {
            None => return refused(7, "Credit card expiration date is invalid."),
            Some(true) => return refused(8, "The credit card has expired."),
            Some(false) => {}
        }
        let order = request.get("order");
        let invoice = order
            .and_then(|o| o.get("invoiceNumber"))
            .and_then(Node::text);
        if invoice.as_ref().is_some_and(|i| i.len() > 20) {
            return api_error("E00015", "The field length is invalid for Invoice Number.");
        }
        let description = order
            .and_then(|o| o.get("description"))
            .and_then(Node::text);
        let last4 = crate::last4(&number);
        let duplicate_key = format!(
            "{}|{amount}|{last4}|{}",
            kind.name(),
            invoice.clone().unwrap_or_default()
        );
        let now = jiff::Timestamp::now();
        let window = jiff::SignedDuration::try_from(self.duplicate_window).unwrap_or_default();
        if let Some(original) = ledger.transactions.iter().find(|t| {
            t.duplicate_key.as_deref() == Some(duplicate_key.as_str())
                && now.duration_since(t.submitted) < window
        }) {
            return transaction_response(
                3,
                11,
                "A duplicate transaction has been submitted.",
                Some(original),
            );
        }
        let code = card.get("cardCode").and_then(Node::text);
        let (response_code, reason_code, status, text) = if number == REASON_CODE_CARD {
            let reason = u16::try_from(amount / 100).unwrap_or(2);
            match reason {
                252 | 253 => (
                    4,
                    reason,
                    "FDSPendingReview",
                    "Your order has been received. Thank you for your business!",
                ),
                4 => (2, 4, "declined", "This transaction has been declined."),
                1 => (1, 1, "", "This transaction has been approved."),
                _ => (2, reason, "declined", "This transaction has been declined."),
            }
        } else if code.as_deref() == Some(MISMATCHED_CARD_CODE) {
            (2, 44, "declined", "This transaction has been declined.")
        } else if code.is_none() && !stored_credential(request) {
            (2, 45, "declined", "This transaction has been declined.")
        } else {
            (1, 1, "", "This transaction has been approved.")
        };
        let status = match (response_code, kind) {
            (1, Kind::AuthOnly) => "authorizedPendingCapture",
            (1, _) => "capturedPendingSettlement",
            _ => status,
        };
        let id = ledger.next_id.to_string();
        ledger.next_id += 1;
        let approved = response_code == 1 || response_code == 4;
        let transaction = Transaction {
            id,
            kind,
            status,
            response_code,
            reason_code,
            auth_code: if approved {
                crate::random_code(6, b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789")
            } else {
                String::new()
            },
            authorised: amount,
            settled: if status == "capturedPendingSettlement" {
                amount
            } else {
                0
            },
            invoice,
            description,
            last4,
            card_type: card_type(&number),
            ref_trans_id: None,
            submitted: now,
            batch: None,
            duplicate_key: Some(duplicate_key),
        };
        let response = transaction_response(response_code, reason_code, text, Some(&transaction));
        ledger.transactions.push(transaction);
        response
    }

    fn refund(
        &self,
        ledger: &mut Ledger,
        amount: Option<i64>,
        ref_trans_id: Option<String>,
        request: &Node,
    ) -> Value {
        let Some(amount) = amount else {
            return refused(5, "A valid amount is required.");
        };
        let last4 = request
            .get("payment")
            .and_then(|p| p.get("creditCard"))
            .and_then(|c| c.get("cardNumber"))
            .and_then(Node::text);
        let Some(original) = ref_trans_id.and_then(|id| find(ledger, &id)).cloned() else {
            return refused(16, "The transaction cannot be found.");
        };
        if last4.as_deref().map(crate::last4) != Some(original.last4.clone()) {
            return refused(
                54,
                "The referenced transaction does not meet the criteria for issuing a credit.",
            );
        }
        if original.status != "settledSuccessfully" {
            return refused(
                54,
                "The referenced transaction does not meet the criteria for issuing a credit.",
            );
        }
        let refunded: i64 = ledger
            .transactions
            .iter()
            .filter(|t| {
                t.kind == Kind::Refund
                    && t.ref_trans_id.as_deref() == Some(&original.id)
                    && t.status != "voided"
            })
            .map(|t| t.settled)
            .sum();
        if refunded + amount > original.settled {
            return refused(
                55,
                "The sum of credits against the referenced transaction would exceed original debit amount.",
            );
        }
        let order = request.get("order");
        let id = ledger.next_id.to_string();
        ledger.next_id += 1;
        let transaction = Transaction {
            id,
            kind: Kind::Refund,
            status: "refundPendingSettlement",
            response_code: 1,
            reason_code: 1,
            auth_code: String::new(),
            authorised: amount,
            settled: amount,
            invoice: order
                .and_then(|o| o.get("invoiceNumber"))
                .and_then(Node::text),
            description: order
                .and_then(|o| o.get("description"))
                .and_then(Node::text),
            last4: original.last4.clone(),
            card_type: original.card_type,
            ref_trans_id: Some(original.id.clone()),
            submitted: jiff::Timestamp::now(),
            batch: None,
            duplicate_key: None,
        };
        let response = transaction_response(
            1,
            1,
            "This transaction has been approved.",
            Some(&transaction),
        );
        ledger.transactions.push(transaction);
        response
    }

    fn details(&self, inner: &Node) -> Value {
        let Ok(ledger) = self.ledger.lock() else {
            return api_error(
                "E00001",
                "An error occurred during processing. Please try again.",
            );
        };
        let id = inner
            .get("transId")
            .and_then(Node::text)
            .unwrap_or_default();
        let Some(t) = ledger.transactions.iter().find(|t| t.id == id) else {
            return api_error("E00040", "The record cannot be found.");
        };
        let mut transaction = json!({
            "transId": t.id,
            "submitTimeUTC": t.submitted.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            "transactionType": t.kind.name(),
            "transactionStatus": t.status,
            "responseCode": t.response_code,
            "responseReasonCode": t.reason_code,
            "authCode": t.auth_code,
            "authAmount": dollars(t.authorised),
            "settleAmount": dollars(t.settled),
            "payment": {"creditCard": {"cardNumber": format!("XXXX{}", t.last4), "expirationDate": "XXXX", "cardType": t.card_type}},
        });
        if let Some(r) = &t.ref_trans_id {
            crate::set(&mut transaction, "refTransId", json!(r));
        }
        if t.invoice.is_some() || t.description.is_some() {
            crate::set(
                &mut transaction,
                "order",
                json!({"invoiceNumber": t.invoice, "description": t.description}),
            );
        }
        if let Some(batch) = t.batch.and_then(|b| ledger.batches.get(b)) {
            crate::set(
                &mut transaction,
                "batch",
                json!({
                    "batchId": batch.id,
                    "settlementTimeUTC": batch.settled.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                    "settlementState": "settledSuccessfully",
                }),
            );
        }
        json!({"transaction": transaction, "messages": ok_messages()})
    }

    fn unsettled(&self) -> Value {
        let Ok(ledger) = self.ledger.lock() else {
            return api_error(
                "E00001",
                "An error occurred during processing. Please try again.",
            );
        };
        let list: Vec<Value> = ledger
            .transactions
            .iter()
            .filter(|t| t.batch.is_none() && t.status != "declined")
            .map(summary)
            .collect();
        listing(list)
    }

    fn batches(&self, inner: &Node) -> Value {
        let Ok(ledger) = self.ledger.lock() else {
            return api_error(
                "E00001",
                "An error occurred during processing. Please try again.",
            );
        };
        let bound = |key: &str| {
            inner
                .get(key)
                .and_then(Node::text)
                .and_then(|t| {
                    t.trim_end_matches('Z')
                        .parse::<jiff::civil::DateTime>()
                        .ok()
                })
                .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
                .map(|z| z.timestamp())
        };
        let (first, last) = (bound("firstSettlementDate"), bound("lastSettlementDate"));
        if let (Some(f), Some(l)) = (first, last)
            && l.duration_since(f) > jiff::SignedDuration::from_hours(31 * 24)
        {
            return api_error("E00013", "The date range cannot exceed 31 days.");
        }
        let list: Vec<Value> = ledger
            .batches
            .iter()
            .filter(|b| first.is_none_or(|f| b.settled >= f) && last.is_none_or(|l| b.settled <= l))
            .map(|b| {
                json!({
                    "batchId": b.id,
                    "settlementTimeUTC": b.settled.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    "settlementState": "settledSuccessfully",
                    "paymentMethod": "creditCard",
                })
            })
            .collect();
        let mut body = json!({"messages": ok_messages()});
        if !list.is_empty() {
            crate::set(&mut body, "batchList", json!(list));
        }
        body
    }

    fn batch_transactions(&self, inner: &Node) -> Value {
        let Ok(ledger) = self.ledger.lock() else {
            return api_error(
                "E00001",
                "An error occurred during processing. Please try again.",
            );
        };
        let id = inner
            .get("batchId")
            .and_then(Node::text)
            .unwrap_or_default();
        let Some(batch) = ledger.batches.iter().position(|b| b.id == id) else {
            return api_error("E00040", "The record cannot be found.");
        };
        let list: Vec<Value> = ledger
            .transactions
            .iter()
            .filter(|t| t.batch == Some(batch))
            .map(summary)
            .collect();
        listing(list)
    }
}

fn stored_credential(request: &Node) -> bool {
    request
        .get("processingOptions")
        .and_then(|p| p.get("isStoredCredentials"))
        .and_then(Node::text)
        .as_deref()
        == Some("true")
}

fn find<'a>(ledger: &'a mut Ledger, id: &str) -> Option<&'a mut Transaction> {
    ledger
        .transactions
        .iter_mut()
        .find(|t| t.id == id && t.kind != Kind::Refund)
}

fn summary(t: &Transaction) -> Value {
    json!({
        "transId": t.id,
        "submitTimeUTC": t.submitted.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "transactionStatus": t.status,
        "invoiceNumber": t.invoice,
        "accountType": t.card_type,
        "accountNumber": format!("XXXX{}", t.last4),
        "settleAmount": dollars(if t.settled > 0 { t.settled } else { t.authorised }),
    })
}

fn listing(list: Vec<Value>) -> Value {
    let count = list.len();
    let mut body = json!({"messages": ok_messages(), "totalNumInResultSet": count});
    if !list.is_empty() {
        crate::set(&mut body, "transactions", json!(list));
    }
    body
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn an_element_out_of_schema_order_is_refused_as_the_validator_words_it() {
        let node: Node =
            serde_json::from_str(r#"{"amount":"1.00","transactionType":"authCaptureTransaction"}"#)
                .unwrap();
        let error = order_error("transactionRequest", &node, TRANSACTION_REQUEST).unwrap();
        assert_eq!(error["messages"]["message"][0]["code"], "E00003");
        assert!(
            error
                .to_string()
                .contains("invalid child element 'transactionType'"),
            "{error}"
        );
        let node: Node =
            serde_json::from_str(r#"{"transactionType":"authCaptureTransaction","amount":"1.00"}"#)
                .unwrap();
        assert_eq!(
            order_error("transactionRequest", &node, TRANSACTION_REQUEST),
            None
        );
        let node: Node = serde_json::from_str(r#"{"transactionType":"x","colour":"red"}"#).unwrap();
        assert!(order_error("transactionRequest", &node, TRANSACTION_REQUEST).is_some());
    }

    #[tokio::test]
    async fn answers_begin_with_a_byte_order_mark() {
        let body = axum::body::to_bytes(answer(&json!({"a": 1})).into_body(), usize::MAX)
            .await
            .unwrap();
        assert!(body.starts_with(&[0xEF, 0xBB, 0xBF]));
        assert!(
            serde_json::from_slice::<Value>(&body).is_err(),
            "a BOM is not JSON"
        );
        assert!(serde_json::from_slice::<Value>(body.get(3..).unwrap()).is_ok());
    }

    #[test]
    fn amounts_are_decimal_dollars_with_at_most_two_places() {
        assert_eq!(cents("42.00"), Some(4200));
        assert_eq!(cents("42.5"), Some(4250));
        assert_eq!(cents("42"), Some(4200));
        assert_eq!(cents("42.001"), None);
        assert_eq!(cents("4200 cents"), None);
    }
}
