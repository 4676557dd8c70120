//! The portal as a client of the pay API, exactly as any other city system
//! would be: JSON over HTTP with the city's pay key. The portal learns a
//! payment's outcome by asking pay, never from the browser's redirect.

use crate::PayLink;
use crate::error::PortalError;
use civicpay_core::TenantId;
use civicpay_pay_api::{CreatePayment, CreateRefund, MerchantView, PaymentView, RefundView};
use serde::de::DeserializeOwned;
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

    /// A success read as `T`; anything else (a refusal, a body not of the
    /// contract's shape) is logged and pay counts as unavailable.
    async fn read<T: DeserializeOwned>(
        response: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<T, PortalError> {
        let response = response.map_err(|e| {
            tracing::error!(error = %e, "pay service unreachable");
            PortalError::PayUnavailable
        })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|_| PortalError::PayUnavailable)?;
        if !status.is_success() {
            tracing::error!(%status, body = %String::from_utf8_lossy(&body), "pay service refused a request");
            return Err(PortalError::PayUnavailable);
        }
        serde_json::from_slice(&body).map_err(|e| {
            tracing::error!(error = %e, "pay answered outside the contract");
            PortalError::PayUnavailable
        })
    }

    /// Registers a city with pay as it now stands (name, return origins,
    /// paused or not), with the platform's key.
    pub async fn register_city(
        &self,
        tenant: &civicpay_core::Tenant,
    ) -> Result<MerchantView, PortalError> {
        let body = self.link.registration(tenant)?;
        let sent = self
            .http
            .put(format!(
                "{}/v1/platform/merchants/{}",
                self.link.api_url.trim_end_matches('/'),
                tenant.id
            ))
            .bearer_auth(self.link.platform_key())
            .json(&body)
            .send()
            .await;
        Self::read(sent).await
    }

    pub async fn create_payment(
        &self,
        tenant_id: &TenantId,
        idempotency_key: &str,
        body: &CreatePayment,
    ) -> Result<PaymentView, PortalError> {
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
    ) -> Result<PaymentView, PortalError> {
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

    /// Any GET of the API, `path` with its query already encoded, read as
    /// the contract's type for it.
    pub async fn get<T: DeserializeOwned>(
        &self,
        tenant_id: &TenantId,
        path: &str,
    ) -> Result<T, PortalError> {
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
        amount: civicpay_core::Money,
    ) -> Result<RefundView, PortalError> {
        let sent = self
            .http
            .post(format!(
                "{}/v1/payments/{payment_id}/refunds",
                self.link.api_url.trim_end_matches('/')
            ))
            .bearer_auth(self.key(tenant_id))
            .header("Idempotency-Key", idempotency_key)
            .json(&CreateRefund {
                amount: amount.minor(),
            })
            .send()
            .await;
        Self::read(sent).await
    }
}
