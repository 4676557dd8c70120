//! The Moneris API's payments and refunds as types, written from its
//! OpenAPI document (version 2.6.1). Amounts are in minor units.

use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize, Clone, Copy)]
pub struct Amount<'a> {
    pub amount: i64,
    pub currency: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatePayment<'a> {
    pub idempotency_key: &'a str,
    /// Unique per merchant, `[A-Za-z0-9_-]{1,50}`.
    pub order_id: &'a str,
    pub amount: Amount<'a>,
    pub payment_method: PaymentMethod<'a>,
    /// `false` holds the funds (a pre-authorisation).
    pub automatic_capture: bool,
    /// Echoed back in every answer: our reference, in full.
    pub custom_data: CustomData,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentMethod<'a> {
    pub payment_method_source: &'static str,
    pub card: Card<'a>,
    pub store_payment_method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_on_file_information: Option<CredentialOnFile>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Card<'a> {
    pub card_number: &'a str,
    pub expiry_month: i8,
    pub expiry_year: i16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_security_code: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialOnFile {
    pub payment_indicator: &'static str,
    pub payment_information: &'static str,
}

#[derive(Serialize, Deserialize, Default, Debug, Clone)]
pub struct CustomData {
    #[serde(
        rename = "civicpayReference",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub reference: Option<String>,
    #[serde(
        rename = "civicpayRefund",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub refund: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Complete<'a> {
    pub idempotency_key: &'a str,
    pub amount: Amount<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cancel<'a> {
    pub idempotency_key: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRefund<'a> {
    pub idempotency_key: &'a str,
    pub payment_id: &'a str,
    pub amount: Amount<'a>,
    pub custom_data: CustomData,
}

#[derive(Debug, Deserialize)]
pub struct Money {
    pub amount: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentView {
    pub payment_id: String,
    #[serde(default)]
    pub order_id: Option<String>,
    pub created_at: String,
    pub amount: Money,
    pub authorized_amount: Money,
    pub payment_status: String,
    pub transaction_details: Details,
    #[serde(default)]
    pub refund_details: Option<RefundDetails>,
    #[serde(default)]
    pub custom_data: Option<CustomData>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Details {
    #[serde(default)]
    pub iso_response_code: Option<String>,
    #[serde(default)]
    pub authorization_code: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundDetails {
    #[serde(default)]
    pub refunds: Vec<RefundReference>,
    pub refunded_amount: Money,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundReference {
    pub refund_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundView {
    pub amount: Money,
    #[serde(default)]
    pub custom_data: Option<CustomData>,
}

#[derive(Debug, Deserialize)]
pub struct PaymentList {
    pub data: Vec<PaymentView>,
    #[serde(default)]
    pub next: Option<String>,
}

/// An RFC 7807 problem, as every Moneris error is written.
#[derive(Debug, Deserialize, Default)]
pub struct Problem {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub errors: Vec<ParameterError>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterError {
    pub parameter_name: String,
    #[serde(default)]
    pub error_message: Option<String>,
}

impl Problem {
    pub fn describe(&self) -> String {
        let mut text = self.title.clone().unwrap_or_else(|| "error".into());
        if let Some(detail) = &self.detail {
            text.push_str(": ");
            text.push_str(detail);
        }
        for e in &self.errors {
            text.push_str(&format!(
                "; {} {}",
                e.parameter_name,
                e.error_message.as_deref().unwrap_or_default()
            ));
        }
        text
    }
}

#[derive(Deserialize)]
pub struct TokenAnswer {
    pub access_token: String,
    #[serde(default)]
    pub expires_in: Option<u64>,
}
