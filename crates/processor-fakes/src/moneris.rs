//! A fake of the Moneris API (the REST "Unified API", version 2.6.1).
//!
//! Behaviour and the documents it comes from:
//! - Authentication and API keys,
//!   <https://developer.moneris.com/moneris-api/docs/authentication>: an
//!   OAuth 2.0 client-credentials token from `POST /oauth2/token`, sent as
//!   a bearer token; `Api-Version` and `X-Merchant-Id` (13 characters)
//!   headers on every call.
//! - Payments API (OpenAPI document, operations createPayments,
//!   getPayment, getPayments, completePayment, cancelPayment): request
//!   fields and limits (`idempotencyKey` 1–36, `orderId` up to 50 of
//!   `[A-Za-z0-9_-]` and unique per merchant, amounts in minor units
//!   within 0–999 999 999, card number of 13–19 digits, expiry month and
//!   year, security code of 3–4 digits); `automaticCapture` false holds
//!   the funds (pre-authorisation); `paymentStatus` AUTHORIZED,
//!   SUCCEEDED, DECLINED, CANCELED; ids of 30 characters (`pi01…`);
//!   lists of at most 20 per page, a day at most, with a `next` link.
//! - Response handling, <https://developer.moneris.com/moneris-api/docs/response-handling>:
//!   errors are RFC 7807 problem documents with `title`, `status`,
//!   `category` and `errors[]`; a decline is 422 with category
//!   DECLINED_ERROR; a reused idempotency key with a different request is
//!   409 with category IDEMPOTENCY_ERROR, and with the same request
//!   answers as the first did.
//! - Simulator, <https://developer.moneris.com/moneris-api/docs/simulator>:
//!   in the sandbox the cents of the amount choose the answer (.05 do not
//!   honour, .43 stolen card, .51 insufficient funds, .54 expired card).
//! - Refunds API (createRefund, getRefund): a refund of a completed
//!   payment, never above what was captured; `customData` is echoed back.
//!
//! Not from the documentation, and so marked: the security code 000 is
//! refused as not matching (the public pages do not say how the sandbox
//! simulates a mismatch); cancel after the batch cut-off is refused with
//! 422 (the reference says only that cancel "may not be possible if the
//! payment has gone through").
//!
//! Not implemented: payment methods and customers, 3-D Secure,
//! incremental and multiple completions, convenience fees, Kount.

use crate::faults::{self, Fault, Faults};
use crate::ordered::Node;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Cents that choose a decline in the sandbox's simulator.
pub const DECLINING_CENTS: [(i64, &str, &str, &str); 4] = [
    (5, "05", "481", "DO_NOT_HONOUR"),
    (43, "43", "421", "STOLEN_CARD"),
    (51, "51", "481", "INSUFFICIENT_FUNDS"),
    (54, "54", "482", "EXPIRED_CARD"),
];
/// The fake's own stand-in for a security code that does not match.
pub const MISMATCHED_SECURITY_CODE: &str = "000";

#[derive(Debug, Clone)]
struct Payment {
    id: String,
    order_id: Option<String>,
    status: &'static str,
    amount: i64,
    authorised: i64,
    captured: i64,
    refunded: i64,
    refunds: Vec<String>,
    iso: &'static str,
    response_code: &'static str,
    auth_code: Option<String>,
    message: &'static str,
    last4: String,
    custom: Option<Value>,
    created: jiff::Timestamp,
    settled: bool,
}

#[derive(Debug, Clone)]
struct Refund {
    id: String,
    payment_id: String,
    amount: i64,
    custom: Option<Value>,
    created: jiff::Timestamp,
}

#[derive(Default)]
struct Books {
    payments: Vec<Payment>,
    refunds: Vec<Refund>,
    /// idempotency key → (the request it came with, the answer given).
    replays: HashMap<String, (String, StatusCode, Value)>,
    tokens: Vec<String>,
}

#[derive(Clone)]
pub struct MonerisFake {
    client_id: String,
    client_secret: String,
    merchant_id: String,
    currency: String,
    books: Arc<Mutex<Books>>,
    pub faults: Faults,
}

fn problem(
    status: StatusCode,
    title: &str,
    category: &str,
    detail: Option<&str>,
    errors: Value,
) -> (StatusCode, Value) {
    (
        status,
        json!({
            "type": "https://developer.moneris.com/en/More/Testing/Response%20Codes",
            "title": title,
            "status": status.as_u16(),
            "detail": detail,
            "instance": null,
            "category": category,
            "errors": errors,
        }),
    )
}

fn not_found() -> (StatusCode, Value) {
    problem(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "INVALID_REQUEST_ERROR",
        None,
        json!([]),
    )
}

fn invalid(parameter: &str, reason: &str, message: &str) -> (StatusCode, Value) {
    problem(
        StatusCode::BAD_REQUEST,
        "BAD_REQUEST",
        "INVALID_REQUEST_ERROR",
        Some(message),
        json!([{"parameterName": parameter, "parameterValue": null, "reasonCode": reason, "errorMessage": message}]),
    )
}

fn respond((status, body): (StatusCode, Value)) -> Response {
    let content_type = if status.is_success() {
        "application/json"
    } else {
        "application/problem+json"
    };
    (
        status,
        [(header::CONTENT_TYPE, content_type)],
        body.to_string(),
    )
        .into_response()
}

fn resource_id(prefix: &str) -> String {
    format!(
        "{prefix}01{}",
        crate::random_code(26, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    )
}

fn money(amount: i64, currency: &str) -> Value {
    json!({"amount": amount, "currency": currency})
}

impl MonerisFake {
    pub fn new(client_id: &str, client_secret: &str, merchant_id: &str, currency: &str) -> Self {
        Self {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            merchant_id: merchant_id.to_owned(),
            currency: currency.to_owned(),
            books: Arc::new(Mutex::new(Books::default())),
            faults: Faults::default(),
        }
    }

    pub fn router(&self) -> axum::Router {
        axum::Router::new()
            .route("/oauth2/token", post(token))
            .route("/payments", post(create_payment).get(list_payments))
            .route("/payments/{id}", get(get_payment))
            .route("/payments/{id}/complete", post(complete_payment))
            .route("/payments/{id}/cancel", post(cancel_payment))
            .route("/refunds", post(create_refund))
            .route("/refunds/{id}", get(get_refund))
            .with_state(self.clone())
    }

    /// The batch cut-off: today's completed payments can no longer be
    /// cancelled, only refunded.
    pub fn settle(&self) {
        if let Ok(mut books) = self.books.lock() {
            for p in &mut books.payments {
                if p.status == "SUCCEEDED" {
                    p.settled = true;
                }
            }
        }
    }

    /// How many payments the account has (any status).
    pub fn payment_count(&self) -> usize {
        self.books.lock().map_or(0, |b| b.payments.len())
    }

    /// A pre-authorisation made outside civicpay: no order id of ours.
    pub fn plant_authorisation(&self, cents: i64) -> String {
        let Ok(mut books) = self.books.lock() else {
            return String::new();
        };
        let id = resource_id("pi");
        books.payments.push(Payment {
            id: id.clone(),
            order_id: None,
            status: "AUTHORIZED",
            amount: cents,
            authorised: cents,
            captured: 0,
            refunded: 0,
            refunds: Vec::new(),
            iso: "00",
            response_code: "027",
            auth_code: Some(crate::random_code(6, b"0123456789")),
            message: "APPROVED",
            last4: "4242".into(),
            custom: None,
            created: jiff::Timestamp::now(),
            settled: false,
        });
        id
    }

    /// A write's headers checked and its body read, or the answer refusing it.
    fn read(&self, headers: &HeaderMap, raw: &[u8]) -> Result<Node, (StatusCode, Value)> {
        if let Some(refused) = self.check_headers(headers) {
            return Err(refused);
        }
        parse(raw)
    }

    /// The headers every API call needs; `None` when they are right.
    fn check_headers(&self, headers: &HeaderMap) -> Option<(StatusCode, Value)> {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let known = self
            .books
            .lock()
            .ok()
            .is_some_and(|b| bearer.is_some_and(|t| b.tokens.iter().any(|k| k == t)));
        if !known {
            return Some(problem(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED_REQUEST",
                "UNAUTHORIZED_ERROR",
                None,
                json!([]),
            ));
        }
        if headers.get("Api-Version").is_none() {
            return Some(invalid(
                "Api-Version",
                "REQUIRED_FIELD",
                "Api-Version header is required",
            ));
        }
        let merchant = headers.get("X-Merchant-Id").and_then(|v| v.to_str().ok());
        match merchant {
            None => Some(invalid(
                "X-Merchant-Id",
                "REQUIRED_FIELD",
                "X-Merchant-Id header is required",
            )),
            Some(m) if m.len() != 13 => Some(invalid(
                "X-Merchant-Id",
                "INVALID_FORMAT",
                "X-Merchant-Id must be 13 characters",
            )),
            Some(m) if m != self.merchant_id => Some(problem(
                StatusCode::FORBIDDEN,
                "FORBIDDEN_REQUEST",
                "UNAUTHORIZED_ERROR",
                None,
                json!([]),
            )),
            Some(_) => None,
        }
    }

    fn view(&self, p: &Payment) -> Value {
        json!({
            "paymentId": p.id,
            "merchantId": self.merchant_id,
            "orderId": p.order_id,
            "transactionDateTime": p.created.to_string(),
            "createdAt": p.created.to_string(),
            "amount": money(p.amount, &self.currency),
            "authorizedAmount": money(p.authorised, &self.currency),
            "capturableAmount": money(if p.status == "AUTHORIZED" { p.authorised } else { 0 }, &self.currency),
            "paymentMethod": {
                "paymentMethodInformation": {
                    "paymentMethodType": "CARD",
                    "paymentMethodSource": "CARD",
                    "cardInformation": {"lastFour": p.last4},
                    "storePaymentMethod": "DO_NOT_STORE",
                },
            },
            "paymentStatus": p.status,
            "transactionDetails": {
                "isoResponseCode": p.iso,
                "responseCode": p.response_code,
                "authorizationCode": p.auth_code,
                "message": p.message,
                "ecommerceIndicator": "SSL_MERCHANT",
            },
            "verificationDetails": {},
            "refundDetails": if p.refunds.is_empty() { Value::Null } else {
                json!({
                    "refunds": p.refunds.iter().map(|r| json!({"refundId": r, "href": format!("/refunds/{r}")})).collect::<Vec<_>>(),
                    "refundedAmount": money(p.refunded, &self.currency),
                })
            },
            "customData": p.custom,
            "capturedAmount": money(p.captured, &self.currency),
        })
    }

    fn refund_view(&self, r: &Refund) -> Value {
        json!({
            "refundId": r.id,
            "paymentId": r.payment_id,
            "merchantId": self.merchant_id,
            "amount": money(r.amount, &self.currency),
            "refundStatus": "SUCCEEDED",
            "createdAt": r.created.to_string(),
            "customData": r.custom,
        })
    }

    /// Runs `act` once per idempotency key: a repeat of the same request
    /// gets the first answer; a different request with the key, 409.
    fn idempotent(
        &self,
        body: &Node,
        raw: &[u8],
        act: impl FnOnce(&mut Books) -> (StatusCode, Value),
    ) -> (StatusCode, Value) {
        let key = body.get("idempotencyKey").and_then(Node::text);
        let Some(key) = key.filter(|k| (1..=36).contains(&k.len())) else {
            return invalid(
                "idempotencyKey",
                "REQUIRED_FIELD",
                "idempotencyKey must be 1 to 36 characters",
            );
        };
        let Ok(mut books) = self.books.lock() else {
            return problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_SERVER_ERROR",
                "INTERNAL_SERVER_ERROR",
                None,
                json!([]),
            );
        };
        let fingerprint = String::from_utf8_lossy(raw).into_owned();
        if let Some((seen, status, answer)) = books.replays.get(&key) {
            if *seen == fingerprint {
                return (*status, answer.clone());
            }
            return problem(
                StatusCode::CONFLICT,
                "CONFLICT",
                "IDEMPOTENCY_ERROR",
                Some("The idempotency key has already been used."),
                json!([]),
            );
        }
        let (status, answer) = act(&mut books);
        // A request refused as malformed did nothing and may be sent again.
        if status != StatusCode::BAD_REQUEST {
            books
                .replays
                .insert(key, (fingerprint, status, answer.clone()));
        }
        (status, answer)
    }

    fn create(&self, body: &Node, raw: &[u8]) -> (StatusCode, Value) {
        let amount = body.get("amount");
        let cents = amount.and_then(|a| a.get("amount")).and_then(Node::integer);
        let Some(cents) = cents.filter(|c| (0..=999_999_999).contains(c)) else {
            return invalid(
                "amount.amount",
                "INVALID_VALUE",
                "amount must be between 0 and 999999999",
            );
        };
        if amount
            .and_then(|a| a.get("currency"))
            .and_then(Node::text)
            .as_deref()
            != Some(self.currency.as_str())
        {
            return invalid(
                "amount.currency",
                "INVALID_VALUE",
                "currency is not supported for this merchant",
            );
        }
        let order_id = body.get("orderId").and_then(Node::text);
        if let Some(o) = &order_id
            && (o.is_empty()
                || o.len() > 50
                || !o
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        {
            return invalid(
                "orderId",
                "INVALID_FORMAT",
                "orderId does not match ^[a-zA-Z0-9-_]+$",
            );
        }
        let method = body.get("paymentMethod");
        if method
            .and_then(|m| m.get("paymentMethodSource"))
            .and_then(Node::text)
            .as_deref()
            != Some("CARD")
        {
            return invalid(
                "paymentMethod.paymentMethodSource",
                "INVALID_VALUE",
                "only CARD is accepted by this fake",
            );
        }
        let card = method.and_then(|m| m.get("card"));
        let number = card
            .and_then(|c| c.get("cardNumber"))
            .and_then(Node::text)
            .unwrap_or_default();
        if !(13..=19).contains(&number.len()) || !number.chars().all(|c| c.is_ascii_digit()) {
            return invalid(
                "paymentMethod.card.cardNumber",
                "INVALID_FORMAT",
                "cardNumber does not match ^[0-9]{13,19}$",
            );
        }
        let month = card
            .and_then(|c| c.get("expiryMonth"))
            .and_then(Node::integer);
        let year = card
            .and_then(|c| c.get("expiryYear"))
            .and_then(Node::integer);
        let (Some(month), Some(year)) = (
            month.filter(|m| (1..=12).contains(m)),
            year.filter(|y| (2022..=9999).contains(y)),
        ) else {
            return invalid(
                "paymentMethod.card.expiryMonth",
                "INVALID_VALUE",
                "expiryMonth must be 1-12 and expiryYear YYYY",
            );
        };
        let merchant_initiated = method
            .and_then(|m| m.get("credentialOnFileInformation"))
            .and_then(|c| c.get("paymentIndicator"))
            .and_then(Node::text)
            .is_some_and(|i| i != "CUSTOMER_INITIATED");
        let code = card
            .and_then(|c| c.get("cardSecurityCode"))
            .and_then(Node::text);
        match &code {
            Some(c) if (3..=4).contains(&c.len()) && c.chars().all(|d| d.is_ascii_digit()) => {}
            None if merchant_initiated => {}
            _ => {
                return invalid(
                    "paymentMethod.card.cardSecurityCode",
                    "REQUIRED_FIELD",
                    "cardSecurityCode must be 3 or 4 digits",
                );
            }
        }
        let capture = body
            .get("automaticCapture")
            .and_then(Node::boolean)
            .unwrap_or(true);
        let custom = body.get("customData").map(to_value);
        self.idempotent(body, raw, |books| {
            if order_id.is_some() && books.payments.iter().any(|p| p.order_id == order_id) {
                return problem(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "UNPROCESSABLE_ENTITY",
                    "INVALID_REQUEST_ERROR",
                    Some("orderId has already been used"),
                    json!([{"parameterName": "orderId", "reasonCode": "INVALID_VALUE"}]),
                );
            }
            let today = jiff::Zoned::now().date();
            let expired = (year, month) < (i64::from(today.year()), i64::from(today.month()));
            let decline = if !crate::luhn_valid(&number) {
                Some(("14", "477", "INVALID_CARD_NUMBER", "Invalid card number"))
            } else if expired {
                Some(("54", "482", "EXPIRED_CARD", "Expired card"))
            } else if code.as_deref() == Some(MISMATCHED_SECURITY_CODE) {
                Some((
                    "05",
                    "481",
                    "CARD_SECURITY_CODE_MISMATCH",
                    "Card security code does not match",
                ))
            } else {
                DECLINING_CENTS
                    .iter()
                    .find(|(c, ..)| cents % 100 == *c)
                    .map(|(_, iso, rc, title)| (*iso, *rc, *title, "Declined"))
            };
            let mut payment = Payment {
                id: resource_id("pi"),
                order_id: order_id.clone(),
                status: if capture { "SUCCEEDED" } else { "AUTHORIZED" },
                amount: cents,
                authorised: cents,
                captured: if capture { cents } else { 0 },
                refunded: 0,
                refunds: Vec::new(),
                iso: "00",
                response_code: "027",
                auth_code: Some(crate::random_code(6, b"0123456789")),
                message: "APPROVED",
                last4: crate::last4(&number),
                custom: custom.clone(),
                created: jiff::Timestamp::now(),
                settled: false,
            };
            if let Some((iso, response_code, title, message)) = decline {
                payment.status = "DECLINED";
                payment.authorised = 0;
                payment.captured = 0;
                payment.iso = iso;
                payment.response_code = response_code;
                payment.auth_code = None;
                payment.message = message;
                let instance = format!("/payments/{}", payment.id);
                books.payments.push(payment);
                let (status, mut body) = problem(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    title,
                    "DECLINED_ERROR",
                    Some(message),
                    json!([]),
                );
                crate::set(&mut body, "instance", json!(instance));
                return (status, body);
            }
            let view = self.view(&payment);
            books.payments.push(payment);
            (StatusCode::CREATED, view)
        })
    }
}

fn to_value(node: &Node) -> Value {
    match node {
        Node::Null => Value::Null,
        Node::Bool(b) => json!(b),
        Node::Number(n) => Value::Number(n.clone()),
        Node::Text(s) => json!(s),
        Node::List(items) => Value::Array(items.iter().map(to_value).collect()),
        Node::Object(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), to_value(v)))
                .collect(),
        ),
    }
}

fn parse(raw: &[u8]) -> Result<Node, (StatusCode, Value)> {
    serde_json::from_slice::<Node>(raw).map_err(|e| {
        problem(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "INVALID_REQUEST_ERROR",
            Some(&format!("malformed JSON: {e}")),
            json!([]),
        )
    })
}

#[derive(serde::Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

async fn token(
    State(fake): State<MonerisFake>,
    axum::Form(form): axum::Form<TokenForm>,
) -> Response {
    if form.grant_type.as_deref() != Some("client_credentials") {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "unsupported_grant_type"})),
        )
            .into_response();
    }
    if form.client_id.as_deref() != Some(fake.client_id.as_str())
        || form.client_secret.as_deref() != Some(fake.client_secret.as_str())
    {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let token = crate::random_code(
        40,
        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    );
    if let Ok(mut books) = fake.books.lock() {
        books.tokens.push(token.clone());
    }
    axum::Json(json!({"access_token": token, "token_type": "Bearer", "expires_in": 3600, "scope": "payment.read payment.write refund.read refund.write"})).into_response()
}

async fn create_payment(
    State(fake): State<MonerisFake>,
    headers: HeaderMap,
    raw: axum::body::Bytes,
) -> Response {
    let body = match fake.read(&headers, &raw) {
        Ok(body) => body,
        Err(refused) => return respond(refused),
    };
    let fault = fake.faults.take();
    if fault == Some(Fault::ServerError) {
        return respond(problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_SERVER_ERROR",
            "INTERNAL_SERVER_ERROR",
            None,
            json!([]),
        ));
    }
    let answer = fake.create(&body, &raw);
    faults::deliver(fault, respond(answer)).await
}

async fn get_payment(
    State(fake): State<MonerisFake>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = fake.check_headers(&headers) {
        return respond(refused);
    }
    let found = fake
        .books
        .lock()
        .ok()
        .and_then(|b| b.payments.iter().find(|p| p.id == id).cloned());
    match found {
        Some(p) => respond((StatusCode::OK, fake.view(&p))),
        None => respond(not_found()),
    }
}

#[derive(serde::Deserialize)]
struct ListQuery {
    created_from: Option<String>,
    created_to: Option<String>,
    limit: Option<usize>,
    cursor: Option<usize>,
}

async fn list_payments(
    State(fake): State<MonerisFake>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Response {
    if let Some(refused) = fake.check_headers(&headers) {
        return respond(refused);
    }
    let limit = query.limit.unwrap_or(10);
    if !(1..=20).contains(&limit) {
        return respond(invalid(
            "limit",
            "INVALID_VALUE",
            "limit must be between 1 and 20",
        ));
    }
    let parse_time = |s: &Option<String>| s.as_deref().map(|s| s.parse::<jiff::Timestamp>());
    let today = jiff::Zoned::now()
        .date()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp())
        .unwrap_or_default();
    let from = match parse_time(&query.created_from) {
        None => today,
        Some(Ok(t)) => t,
        Some(Err(_)) => {
            return respond(invalid(
                "created_from",
                "INVALID_FORMAT",
                "created_from must be a date-time",
            ));
        }
    };
    let to = match parse_time(&query.created_to) {
        None => jiff::Timestamp::now(),
        Some(Ok(t)) => t,
        Some(Err(_)) => {
            return respond(invalid(
                "created_to",
                "INVALID_FORMAT",
                "created_to must be a date-time",
            ));
        }
    };
    if to.duration_since(from) > jiff::SignedDuration::from_hours(24) {
        return respond(invalid(
            "created_to",
            "INVALID_VALUE",
            "created_to must be no more than 1 day later than created_from",
        ));
    }
    let Ok(books) = fake.books.lock() else {
        return fault_500();
    };
    let all: Vec<&Payment> = books
        .payments
        .iter()
        .filter(|p| p.created >= from && p.created < to)
        .collect();
    let start = query.cursor.unwrap_or(0);
    let page: Vec<Value> = all
        .iter()
        .skip(start)
        .take(limit)
        .map(|p| fake.view(p))
        .collect();
    let next = (start + limit < all.len())
        .then(|| format!("/payments?cursor={}&limit={limit}", start + limit));
    respond((
        StatusCode::OK,
        json!({"data": page, "self": format!("/payments?cursor={start}&limit={limit}"), "next": next, "previous": null, "first": null, "last": null}),
    ))
}

fn fault_500() -> Response {
    respond(problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL_SERVER_ERROR",
        "INTERNAL_SERVER_ERROR",
        None,
        json!([]),
    ))
}

async fn complete_payment(
    State(fake): State<MonerisFake>,
    headers: HeaderMap,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> Response {
    let body = match fake.read(&headers, &raw) {
        Ok(body) => body,
        Err(refused) => return respond(refused),
    };
    let amount = body
        .get("amount")
        .and_then(|a| a.get("amount"))
        .and_then(Node::integer);
    let answer = fake.idempotent(&body, &raw, |books| {
        let Some(p) = books.payments.iter_mut().find(|p| p.id == id) else {
            return not_found();
        };
        if p.status != "AUTHORIZED" {
            return problem(
                StatusCode::CONFLICT,
                "CONFLICT",
                "INVALID_REQUEST_ERROR",
                Some("the payment is not awaiting completion"),
                json!([]),
            );
        }
        let amount = amount.unwrap_or(p.authorised);
        if amount > p.authorised || amount < 0 {
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "UNPROCESSABLE_ENTITY",
                "INVALID_REQUEST_ERROR",
                Some("completion amount exceeds the authorized amount"),
                json!([{"parameterName": "amount.amount", "reasonCode": "INVALID_VALUE"}]),
            );
        }
        p.status = "SUCCEEDED";
        p.captured = amount;
        p.amount = amount;
        let p = p.clone();
        (StatusCode::OK, fake.view(&p))
    });
    respond(answer)
}

async fn cancel_payment(
    State(fake): State<MonerisFake>,
    headers: HeaderMap,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> Response {
    let body = match fake.read(&headers, &raw) {
        Ok(body) => body,
        Err(refused) => return respond(refused),
    };
    let answer = fake.idempotent(&body, &raw, |books| {
        let Some(p) = books.payments.iter_mut().find(|p| p.id == id) else {
            return not_found();
        };
        let cancellable =
            p.status == "AUTHORIZED" || (p.status == "SUCCEEDED" && !p.settled && p.refunded == 0);
        if !cancellable {
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "UNPROCESSABLE_ENTITY",
                "INVALID_REQUEST_ERROR",
                Some("the payment can no longer be canceled"),
                json!([]),
            );
        }
        p.status = "CANCELED";
        let p = p.clone();
        (StatusCode::OK, fake.view(&p))
    });
    respond(answer)
}

async fn create_refund(
    State(fake): State<MonerisFake>,
    headers: HeaderMap,
    raw: axum::body::Bytes,
) -> Response {
    let body = match fake.read(&headers, &raw) {
        Ok(body) => body,
        Err(refused) => return respond(refused),
    };
    let payment_id = body
        .get("paymentId")
        .and_then(Node::text)
        .unwrap_or_default();
    let amount = body
        .get("amount")
        .and_then(|a| a.get("amount"))
        .and_then(Node::integer);
    let Some(amount) = amount.filter(|a| *a > 0) else {
        return respond(invalid(
            "amount.amount",
            "INVALID_VALUE",
            "amount is required",
        ));
    };
    let custom = body.get("customData").map(to_value);
    let answer = fake.idempotent(&body, &raw, |books| {
        let Some(p) = books.payments.iter_mut().find(|p| p.id == payment_id) else {
            return not_found();
        };
        if p.status != "SUCCEEDED" {
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "UNPROCESSABLE_ENTITY",
                "INVALID_REQUEST_ERROR",
                Some("only a completed payment can be refunded"),
                json!([]),
            );
        }
        if p.refunded + amount > p.captured {
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "UNPROCESSABLE_ENTITY",
                "INVALID_REQUEST_ERROR",
                Some("refund amount exceeds the amount available to refund"),
                json!([{"parameterName": "amount.amount", "reasonCode": "INVALID_VALUE"}]),
            );
        }
        let refund = Refund {
            id: resource_id("ri"),
            payment_id: p.id.clone(),
            amount,
            custom: custom.clone(),
            created: jiff::Timestamp::now(),
        };
        p.refunded += amount;
        p.refunds.push(refund.id.clone());
        let view = fake.refund_view(&refund);
        books.refunds.push(refund);
        (StatusCode::CREATED, view)
    });
    respond(answer)
}

async fn get_refund(
    State(fake): State<MonerisFake>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = fake.check_headers(&headers) {
        return respond(refused);
    }
    let found = fake
        .books
        .lock()
        .ok()
        .and_then(|b| b.refunds.iter().find(|r| r.id == id).cloned());
    match found {
        Some(r) => respond((StatusCode::OK, fake.refund_view(&r))),
        None => respond(not_found()),
    }
}
