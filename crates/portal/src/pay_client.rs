//! The portal as a client of the pay API, exactly as any other city system
//! would be: JSON over HTTP with the city's pay key. The portal learns a
//! payment's outcome by asking pay, never from the browser's redirect.

use crate::PayLink;
use crate::error::PortalError;
use civicpay_core::TenantId;
use serde_json::Value;
use std::time::Duration;

pub(crate) struct PayClient<'a> {
    link: &'a PayLink,
    http: reqwest::Client,
}

impl<'a> PayClient<'a> {
    pub fn new(link: &'a PayLink) -> Result<Self, PortalError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|_| PortalError::Internal("cannot build the pay client"))?;
        Ok(Self { link, http })
    }

    fn key(&self, tenant_id: &TenantId) -> String {
        civicpay_web::service_key::portal_pay_key(&self.link.service_key, tenant_id.as_str())
    }

    async fn read(
        response: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<Value, PortalError> {
        let response = response.map_err(|e| {
            tracing::error!(error = %e, "pay service unreachable");
            PortalError::PayUnavailable
        })?;
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .map_err(|_| PortalError::PayUnavailable)?;
        if status.is_success() {
            Ok(body)
        } else {
            tracing::error!(%status, %body, "pay service refused a request");
            Err(PortalError::PayUnavailable)
        }
    }

    pub async fn create_payment(
        &self,
        tenant_id: &TenantId,
        idempotency_key: &str,
        body: &Value,
    ) -> Result<Value, PortalError> {
        let sent = self
            .http
            .post(format!(
                "{}/v1/payments",
                self.link.api_url.trim_end_matches('/')
            ))
            .bearer_auth(self.key(tenant_id))
            .header("Idempotency-Key", idempotency_key)
            .json(body)
            .send()
            .await;
        Self::read(sent).await
    }

    pub async fn payment(
        &self,
        tenant_id: &TenantId,
        payment_id: &str,
    ) -> Result<Value, PortalError> {
        let sent = self
            .http
            .get(format!(
                "{}/v1/payments/{payment_id}",
                self.link.api_url.trim_end_matches('/')
            ))
            .bearer_auth(self.key(tenant_id))
            .send()
            .await;
        Self::read(sent).await
    }

    /// Any GET of the API, `path` with its query already encoded.
    pub async fn get(&self, tenant_id: &TenantId, path: &str) -> Result<Value, PortalError> {
        let sent = self
            .http
            .get(format!("{}{path}", self.link.api_url.trim_end_matches('/')))
            .bearer_auth(self.key(tenant_id))
            .send()
            .await;
        Self::read(sent).await
    }

    /// Any DELETE of the API; true if pay deleted something, false if it
    /// had nothing there.
    pub async fn delete(&self, tenant_id: &TenantId, path: &str) -> Result<bool, PortalError> {
        let response = self
            .http
            .delete(format!("{}{path}", self.link.api_url.trim_end_matches('/')))
            .bearer_auth(self.key(tenant_id))
            .send()
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "pay service unreachable");
                PortalError::PayUnavailable
            })?;
        match response.status() {
            s if s.is_success() => Ok(true),
            reqwest::StatusCode::NOT_FOUND => Ok(false),
            status => {
                tracing::error!(%status, "pay service refused a delete");
                Err(PortalError::PayUnavailable)
            }
        }
    }

    /// Refunds part or all of a payment; the idempotency key makes a retry
    /// (a double click, a timeout) refund once.
    pub async fn refund(
        &self,
        tenant_id: &TenantId,
        payment_id: &str,
        idempotency_key: &str,
        amount_minor: i64,
    ) -> Result<Value, PortalError> {
        let sent = self
            .http
            .post(format!(
                "{}/v1/payments/{payment_id}/refunds",
                self.link.api_url.trim_end_matches('/')
            ))
            .bearer_auth(self.key(tenant_id))
            .header("Idempotency-Key", idempotency_key)
            .json(&serde_json::json!({ "amount": amount_minor }))
            .send()
            .await;
        Self::read(sent).await
    }
}
