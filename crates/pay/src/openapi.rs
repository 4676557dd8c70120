//! The API's routes as one table, from which both the router and the
//! OpenAPI 3.1 document (`GET /v1/openapi.json`) are built: the document
//! cannot list a route that does not exist, nor miss one that does.

use crate::{PayState, api};
use axum::routing::{MethodRouter, delete, get, post, put};
use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Value, json};

/// One operation: (HTTP method, operation id, summary).
pub(crate) type Operation = (&'static str, &'static str, &'static str);

/// One API path: its documented operations and the handlers that serve
/// them, side by side so neither can be added without the other.
pub(crate) struct ApiPath {
    pub path: &'static str,
    pub operations: &'static [Operation],
    pub handlers: fn() -> MethodRouter<PayState>,
}

/// Every API path.
pub(crate) const API: [ApiPath; 15] = [
    ApiPath {
        path: "/v1/payments",
        operations: &[
            (
                "post",
                "createPayment",
                "Create a payment; returns next_url, the one-time link to the card page",
            ),
            (
                "get",
                "listPayments",
                "List payments by reference, status and creation time, newest first",
            ),
        ],
        handlers: || post(api::create_payment).get(api::list_payments),
    },
    ApiPath {
        path: "/v1/payments/{id}",
        operations: &[("get", "getPayment", "A payment and its state")],
        handlers: || get(api::get_payment),
    },
    ApiPath {
        path: "/v1/payments/{id}/events",
        operations: &[(
            "get",
            "getPaymentEvents",
            "Every state change of a payment, with time and cause",
        )],
        handlers: || get(api::payment_events),
    },
    ApiPath {
        path: "/v1/payments/{id}/cancel",
        operations: &[(
            "post",
            "cancelPayment",
            "Cancel a payment not yet submitted, or void an uncaptured authorisation",
        )],
        handlers: || post(api::cancel_payment),
    },
    ApiPath {
        path: "/v1/payments/{id}/capture",
        operations: &[("post", "capturePayment", "Capture an authorised payment")],
        handlers: || post(api::capture_payment),
    },
    ApiPath {
        path: "/v1/payments/{id}/refunds",
        operations: &[
            (
                "post",
                "createRefund",
                "Refund part or all of a captured payment",
            ),
            ("get", "listRefunds", "A payment's refunds"),
        ],
        handlers: || post(api::create_refund).get(api::list_refunds),
    },
    ApiPath {
        path: "/v1/payments/{id}/refunds/{refund_id}",
        operations: &[("get", "getRefund", "One refund of a payment")],
        handlers: || get(api::get_refund),
    },
    ApiPath {
        path: "/v1/probes",
        operations: &[(
            "post",
            "createProbe",
            "A probe for the tamper monitor: a payment that opens like any other and can never be charged; returns its one-time card link",
        )],
        handlers: || post(crate::probes::create_probe),
    },
    ApiPath {
        path: "/v1/reports/ledger",
        operations: &[(
            "get",
            "getLedgerReport",
            "Captures and refunds per GL code between two times, each payment matched against the acquirer",
        )],
        handlers: || get(crate::reports::ledger_report),
    },
    ApiPath {
        path: "/v1/reports/gl-lines",
        operations: &[(
            "get",
            "listGlLines",
            "The ledger's revenue lines in a window (payment, fee and refund lines), oldest first, a page at a time",
        )],
        handlers: || get(crate::reports::gl_lines),
    },
    ApiPath {
        path: "/v1/alerts/attention",
        operations: &[(
            "get",
            "getNeedingAttention",
            "Payments and refunds reconciliation could not settle: each needs a person",
        )],
        handlers: || get(api::attention),
    },
    ApiPath {
        path: "/v1/alerts/declines",
        operations: &[(
            "get",
            "getDeclines",
            "Declined card attempts in the last hour, for card-testing alerts",
        )],
        handlers: || get(api::declines),
    },
    ApiPath {
        path: "/v1/customers/{customer}/cards",
        operations: &[(
            "get",
            "listSavedCards",
            "A resident's saved cards: token, brand, last four and expiry (never the number)",
        )],
        handlers: || get(crate::saved_cards::list),
    },
    ApiPath {
        path: "/v1/customers/{customer}/cards/{token}",
        operations: &[(
            "delete",
            "deleteSavedCard",
            "Forget a resident's saved card",
        )],
        handlers: || delete(crate::saved_cards::forget),
    },
    ApiPath {
        path: "/v1/platform/merchants/{tenant}",
        operations: &[(
            "put",
            "registerMerchant",
            "Platform key only: register a city, change what pay keeps of it, or pause or resume its payments",
        )],
        handlers: || put(crate::platform::register_merchant),
    },
];

fn error_responses() -> Value {
    json!({
        "400": { "description": "The body or query is not what the operation reads (not JSON, a wrong type)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        "401": { "description": "Missing or unknown API key", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        "404": { "description": "No such payment for this city", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        "409": { "description": "Idempotency-Key reused with another request or still being processed, or a state that does not allow this", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        "422": { "description": "A field is not valid; `field` names it", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
    })
}

/// The query parameters an operation reads.
fn query_parameters(operation: &str) -> Vec<Value> {
    let param = |name: &str, required: bool, schema: Value, description: &str| json!({ "name": name, "in": "query", "required": required, "schema": schema, "description": description });
    let time = json!({ "type": "string", "format": "date-time" });
    match operation {
        "listPayments" => vec![
            param(
                "reference",
                false,
                json!({ "type": "string" }),
                "the bill reference, exactly",
            ),
            param(
                "status",
                false,
                json!({ "type": "string" }),
                "a status code, e.g. success",
            ),
            param(
                "channel",
                false,
                json!({ "type": "string", "enum": ["web", "moto", "autopay"] }),
                "how the payment was taken",
            ),
            param(
                "amount",
                false,
                json!({ "type": "integer" }),
                "in minor units",
            ),
            param(
                "card_last4",
                false,
                json!({ "type": "string" }),
                "the card's last four digits",
            ),
            param("from", false, time.clone(), "created at or after"),
            param("to", false, time, "created before"),
            param(
                "page",
                false,
                json!({ "type": "integer", "minimum": 1 }),
                "from 1",
            ),
            param(
                "per_page",
                false,
                json!({ "type": "integer", "minimum": 1, "maximum": 500 }),
                "at most 500; 50 if not given",
            ),
        ],
        "getLedgerReport" => vec![
            param("from", true, time.clone(), "the window's start (RFC 3339)"),
            param("to", true, time, "the window's end, after from"),
        ],
        "listGlLines" => vec![
            param("from", true, time.clone(), "the window's start (RFC 3339)"),
            param("to", true, time, "the window's end, after from"),
            param(
                "after",
                false,
                json!({ "type": "string" }),
                "the next of the page before",
            ),
            param(
                "limit",
                false,
                json!({ "type": "integer", "minimum": 1, "maximum": 1000 }),
                "at most 1000 (the default)",
            ),
        ],
        _ => Vec::new(),
    }
}

fn body_schema(operation: &str, schemas: &mut SchemaGenerator) -> Option<Value> {
    match operation {
        "createPayment" => Some(json!({ "$ref": "#/components/schemas/CreatePayment" })),
        "registerMerchant" => Some(
            schemas
                .subschema_for::<civicpay_pay_api::RegisterMerchant>()
                .to_value(),
        ),
        "createRefund" => Some(
            json!({ "type": "object", "required": ["amount"], "properties": { "amount": { "type": "integer", "minimum": 1 } }, "additionalProperties": false }),
        ),
        "createProbe" => Some(json!({ "type": "object", "properties": {
                "amount": { "type": "integer", "minimum": 1, "maximum": 99_999_999 },
                "reference": { "type": "string", "minLength": 1, "maxLength": 255, "pattern": "\\S" },
                "description": { "type": "string", "minLength": 1, "maxLength": 255, "pattern": "\\S" },
                "language": { "type": "string", "enum": ["en", "fr", "es"] },
                "saved_card": { "type": "boolean", "description": "open it as a resident with a saved card sees it" }
            }, "additionalProperties": false })),
        _ => None,
    }
}

/// The schema of an operation's success body, from the pay-api type the
/// handler serialises; `None` where the body is not one of those types.
fn response_schema(operation: &str, schemas: &mut SchemaGenerator) -> Option<Value> {
    use civicpay_pay_api as t;
    let schema = match operation {
        "createPayment" | "getPayment" | "cancelPayment" | "capturePayment" => {
            schemas.subschema_for::<t::PaymentView>()
        }
        "listPayments" => schemas.subschema_for::<t::PaymentList>(),
        "getPaymentEvents" => schemas.subschema_for::<t::PaymentEvents>(),
        "createRefund" | "getRefund" => schemas.subschema_for::<t::RefundView>(),
        "listRefunds" => schemas.subschema_for::<t::RefundList>(),
        "getLedgerReport" => schemas.subschema_for::<t::LedgerReport>(),
        "listGlLines" => schemas.subschema_for::<t::GlLinePage>(),
        "getNeedingAttention" => schemas.subschema_for::<t::AttentionList>(),
        "getDeclines" => schemas.subschema_for::<t::Declines>(),
        "listSavedCards" => schemas.subschema_for::<t::SavedCardList>(),
        "registerMerchant" => schemas.subschema_for::<t::MerchantView>(),
        _ => return None,
    };
    Some(schema.to_value())
}

pub(crate) fn document() -> Value {
    let mut schemas = SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator();
    let mut paths = serde_json::Map::new();
    for ApiPath {
        path, operations, ..
    } in &API
    {
        let mut item = serde_json::Map::new();
        for (method, id, summary) in *operations {
            let mut operation = json!({
                "operationId": id,
                "summary": summary,
                "security": [{ "bearer": [] }],
                "responses": error_responses(),
            });
            if let Some(map) = operation.as_object_mut() {
                let mut params = Vec::new();
                for name in ["id", "refund_id", "customer", "token", "tenant"] {
                    if path.contains(&format!("{{{name}}}")) {
                        let format = if name.ends_with("id") || name == "tenant" {
                            "uuid"
                        } else {
                            "string"
                        };
                        params.push(json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string", "format": format } }));
                    }
                }
                params.extend(query_parameters(id));
                if !params.is_empty() {
                    map.insert("parameters".into(), Value::Array(params));
                }
                if let Some(schema) = body_schema(id, &mut schemas) {
                    let required = *id != "createProbe";
                    map.insert("requestBody".into(), json!({ "required": required, "content": { "application/json": { "schema": schema } } }));
                }
                if *method == "post" {
                    let mut params = map.get("parameters").cloned().unwrap_or_else(|| json!([]));
                    if let Some(list) = params.as_array_mut() {
                        list.push(json!({ "name": "Idempotency-Key", "in": "header", "required": false, "description": "a retry with the same key gets the first response again, with the header Idempotent-Replayed: true", "schema": { "type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]([ -~]*[!-~])?$" } }));
                    }
                    map.insert("parameters".into(), params);
                }
                if let Some(responses) = map.get_mut("responses").and_then(Value::as_object_mut) {
                    let (code, description) = if *method == "post" && id.starts_with("create") {
                        ("201", "Created")
                    } else {
                        ("200", "OK")
                    };
                    let schema = response_schema(id, &mut schemas)
                        .unwrap_or_else(|| json!({ "type": "object" }));
                    let mut success = json!({ "description": description, "content": { "application/json": { "schema": schema } } });
                    if *id == "createPayment" {
                        // What a client does next with the payment it made.
                        let links: serde_json::Map<String, Value> = [
                            "getPayment",
                            "getPaymentEvents",
                            "cancelPayment",
                            "capturePayment",
                            "createRefund",
                            "listRefunds",
                        ]
                        .into_iter()
                        .map(|op| {
                            (
                                op.to_owned(),
                                json!({ "operationId": op, "parameters": { "id": "$response.body#/payment_id" } }),
                            )
                        })
                        .collect();
                        if let Some(success) = success.as_object_mut() {
                            success.insert("links".into(), Value::Object(links));
                        }
                    }
                    responses.insert(code.into(), success);
                }
            }
            item.insert((*method).to_owned(), operation);
        }
        paths.insert((*path).to_owned(), Value::Object(item));
    }
    let mut document = json!({
        "openapi": "3.1.0",
        "info": { "title": "civicpay pay API", "version": env!("CARGO_PKG_VERSION"), "license": { "name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later" } },
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "description": "The city's pay API key (cpay_…); the platform's key (cpplat_…) for /v1/platform" } },
            "schemas": {
                "Error": { "type": "object", "required": ["code", "message"], "properties": { "code": { "type": "string" }, "message": { "type": "string" }, "field": { "type": "string" } } },
                "CreatePayment": {
                    "type": "object",
                    "required": ["amount", "currency", "reference", "description", "return_url"],
                    "additionalProperties": false,
                    "properties": {
                        "amount": { "type": "integer", "minimum": 1, "description": "minor units (cents)" },
                        "currency": { "type": "string", "enum": ["USD", "CAD"] },
                        "reference": { "type": "string", "maxLength": 255 },
                        "description": { "type": "string", "maxLength": 255 },
                        "return_url": { "type": "string", "format": "uri" },
                        "email": { "type": "string", "format": "email" },
                        "language": { "type": "string", "enum": ["en", "fr", "es"] },
                        "metadata": { "type": "object" },
                        "channel": { "type": "string", "enum": ["web", "moto", "autopay"] },
                        "saved_card": { "type": "string", "description": "with channel autopay and customer: charge this saved card now, without the card page" },
                        "customer": { "type": "string", "maxLength": 100, "description": "the signed-in resident paying (opaque); only then does the card page offer to save the card" },
                        "allocations": { "type": "array", "items": { "type": "object", "required": ["gl_code", "amount"], "properties": { "gl_code": { "type": "string" }, "amount": { "type": "integer", "minimum": 1 } } } },
                        "fee": { "type": "object", "required": ["amount", "gl_code"], "additionalProperties": false, "description": "the convenience fee included in amount: shown apart on the card page, posted to its own GL code", "properties": { "amount": { "type": "integer", "minimum": 0, "description": "minor units, less than amount" }, "gl_code": { "type": "string" }, "refundable": { "type": "boolean", "description": "whether a refund gives the fee back (default false)" } } }
                    }
                }
            }
        }
    });
    if let Some(components) = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        components.extend(schemas.take_definitions(true));
    }
    document
}

pub(crate) async fn serve_document() -> axum::Json<Value> {
    axum::Json(document())
}
