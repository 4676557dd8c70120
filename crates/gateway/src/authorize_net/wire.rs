//! Authorize.Net's JSON API as types, written from its API reference.
//! The JSON is checked against the XML schema, so struct fields are
//! declared in the schema's element order: serde writes them in that
//! order. Optional elements are left out, never sent as `null`.

use serde::{Deserialize, Serialize};

#[derive(Serialize)]
pub enum Request<'a> {
    #[serde(rename = "createTransactionRequest")]
    CreateTransaction(CreateTransaction<'a>),
    #[serde(rename = "getTransactionDetailsRequest")]
    TransactionDetails(TransactionDetailsRequest<'a>),
    #[serde(rename = "getUnsettledTransactionListRequest")]
    UnsettledList(Authenticated<'a>),
    #[serde(rename = "getSettledBatchListRequest")]
    SettledBatches(SettledBatchesRequest<'a>),
    #[serde(rename = "getTransactionListRequest")]
    BatchTransactions(BatchTransactionsRequest<'a>),
}

#[derive(Serialize)]
pub struct MerchantAuthentication<'a> {
    pub name: &'a str,
    #[serde(rename = "transactionKey")]
    pub transaction_key: &'a str,
}

#[derive(Serialize)]
pub struct Authenticated<'a> {
    #[serde(rename = "merchantAuthentication")]
    pub merchant_authentication: MerchantAuthentication<'a>,
}

#[derive(Serialize)]
pub struct CreateTransaction<'a> {
    #[serde(rename = "merchantAuthentication")]
    pub merchant_authentication: MerchantAuthentication<'a>,
    /// Echoed back; at most 20 characters.
    #[serde(rename = "refId")]
    pub ref_id: &'a str,
    #[serde(rename = "transactionRequest")]
    pub transaction_request: TransactionRequest<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionRequest<'a> {
    pub transaction_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<Payment<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ref_trans_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<Order<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_settings: Option<TransactionSettings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_options: Option<ProcessingOptions>,
}

#[derive(Serialize)]
pub struct Payment<'a> {
    #[serde(rename = "creditCard")]
    pub credit_card: CreditCard<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreditCard<'a> {
    /// The whole number for a charge; the last four digits for a refund.
    pub card_number: &'a str,
    /// `YYYY-MM`, or `XXXX` for a refund.
    pub expiration_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_code: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Order<'a> {
    /// At most 20 characters: the processor's duplicate check and the
    /// key civicpay finds a transaction by.
    pub invoice_number: &'a str,
    /// At most 255 characters: civicpay's own reference, in full.
    pub description: &'a str,
}

#[derive(Serialize)]
pub struct TransactionSettings {
    pub setting: Vec<Setting>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Setting {
    pub setting_name: &'static str,
    pub setting_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessingOptions {
    pub is_stored_credentials: &'static str,
}

#[derive(Serialize)]
pub struct TransactionDetailsRequest<'a> {
    #[serde(rename = "merchantAuthentication")]
    pub merchant_authentication: MerchantAuthentication<'a>,
    #[serde(rename = "transId")]
    pub trans_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettledBatchesRequest<'a> {
    pub merchant_authentication: MerchantAuthentication<'a>,
    pub first_settlement_date: String,
    pub last_settlement_date: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchTransactionsRequest<'a> {
    pub merchant_authentication: MerchantAuthentication<'a>,
    pub batch_id: &'a str,
}

#[derive(Debug, Deserialize)]
pub struct Messages {
    #[serde(rename = "resultCode")]
    pub result_code: String,
    #[serde(default)]
    pub message: Vec<Message>,
}

#[derive(Debug, Deserialize)]
pub struct Message {
    pub code: String,
    pub text: String,
}

impl Messages {
    pub fn first_code(&self) -> &str {
        self.message.first().map_or("", |m| m.code.as_str())
    }

    pub fn text(&self) -> String {
        self.message
            .iter()
            .map(|m| format!("{} {}", m.code, m.text))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[derive(Debug, Deserialize)]
pub struct CreateTransactionResponse {
    #[serde(rename = "transactionResponse")]
    pub transaction_response: Option<TransactionResponse>,
    pub messages: Messages,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionResponse {
    pub response_code: String,
    #[serde(default)]
    pub auth_code: String,
    #[serde(default)]
    pub trans_id: String,
    #[serde(default)]
    pub errors: Vec<TransactionError>,
    #[serde(default)]
    pub messages: Vec<TransactionMessage>,
}

impl TransactionResponse {
    /// The response reason code, from `errors` or `messages`.
    pub fn reason_code(&self) -> u16 {
        self.errors
            .first()
            .map(|e| e.error_code.as_str())
            .or_else(|| self.messages.first().map(|m| m.code.as_str()))
            .and_then(|c| c.parse().ok())
            .unwrap_or(0)
    }

    pub fn reason_text(&self) -> String {
        self.errors
            .first()
            .map(|e| e.error_text.clone())
            .or_else(|| self.messages.first().map(|m| m.description.clone()))
            .unwrap_or_default()
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionError {
    pub error_code: String,
    pub error_text: String,
}

#[derive(Debug, Deserialize)]
pub struct TransactionMessage {
    pub code: String,
    pub description: String,
}

#[derive(Debug, Deserialize)]
pub struct TransactionDetailsResponse {
    pub transaction: Option<TransactionDetails>,
    pub messages: Messages,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionDetails {
    pub trans_id: String,
    #[serde(default)]
    pub ref_trans_id: Option<String>,
    #[serde(rename = "submitTimeUTC")]
    pub submit_time_utc: String,
    pub transaction_type: String,
    pub transaction_status: String,
    #[serde(default)]
    pub auth_code: String,
    #[serde(default)]
    pub response_reason_code: Option<u16>,
    pub auth_amount: serde_json::Value,
    pub settle_amount: serde_json::Value,
    #[serde(default)]
    pub order: Option<OrderView>,
    #[serde(default)]
    pub payment: Option<PaymentView>,
}

#[derive(Debug, Deserialize)]
pub struct PaymentView {
    #[serde(rename = "creditCard")]
    pub credit_card: Option<CardView>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CardView {
    /// Masked: `XXXX1111`.
    pub card_number: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    #[serde(default)]
    pub invoice_number: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct TransactionListResponse {
    #[serde(default)]
    pub transactions: Vec<TransactionSummary>,
    pub messages: Messages,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionSummary {
    pub trans_id: String,
    #[serde(rename = "submitTimeUTC")]
    pub submit_time_utc: String,
    pub transaction_status: String,
    #[serde(default)]
    pub invoice_number: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SettledBatchesResponse {
    #[serde(rename = "batchList", default)]
    pub batch_list: Vec<BatchView>,
    pub messages: Messages,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchView {
    pub batch_id: String,
}
