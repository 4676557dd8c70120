//! Which connector takes each city's payments: the city's own processor
//! account when the platform registered one, else the deployment's
//! acquirer (the simulator in a demo). Connectors are built on first use
//! from the settings and the sealed secret, and rebuilt when either
//! changes, so `civicpay city secret set` takes effect without a restart.

use crate::{PayError, PayState};
use civicpay_core::{Processor, ProcessorEnvironment, TenantId};
use civicpay_gateway::{
    AcquirerRecord, AuthorisationOutcome, AuthorisationRequest, AuthorizeNetConnector, BoxFuture,
    Connector, GatewayError, MonerisConnector, RefundInquiry, StatusInquiry, authorize_net,
    moneris,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where each processor is reached. The real services by default; a
/// deployment's configuration (or a test) may point them at the fakes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessorEndpoints {
    pub authorize_net_sandbox: String,
    pub authorize_net_production: String,
    pub moneris_sandbox: String,
    pub moneris_production: String,
}

impl Default for ProcessorEndpoints {
    fn default() -> Self {
        Self {
            authorize_net_sandbox: authorize_net::SANDBOX_URL.into(),
            authorize_net_production: authorize_net::PRODUCTION_URL.into(),
            moneris_sandbox: moneris::SANDBOX_URL.into(),
            moneris_production: moneris::PRODUCTION_URL.into(),
        }
    }
}

impl ProcessorEndpoints {
    /// Every processor at one place (a fake's base address): Authorize.Net's
    /// path is added to it.
    pub fn all_at(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        let authorize_net = format!("{base}/authorize-net/xml/v1/request.api");
        let moneris = format!("{base}/moneris");
        Self {
            authorize_net_sandbox: authorize_net.clone(),
            authorize_net_production: authorize_net,
            moneris_sandbox: moneris.clone(),
            moneris_production: moneris,
        }
    }
}

type Built = (Processor, Vec<u8>, Arc<dyn Connector>);

pub struct Connectors {
    default: Arc<dyn Connector>,
    timeout: Duration,
    endpoints: ProcessorEndpoints,
    built: Mutex<HashMap<TenantId, Built>>,
}

impl Connectors {
    pub fn new(default: Arc<dyn Connector>, timeout: Duration) -> Self {
        Self {
            default,
            timeout,
            endpoints: ProcessorEndpoints::default(),
            built: Mutex::new(HashMap::new()),
        }
    }

    pub fn with_endpoints(mut self, endpoints: ProcessorEndpoints) -> Self {
        self.endpoints = endpoints;
        self
    }

    /// The deployment's own acquirer.
    pub fn default_connector(&self) -> Arc<dyn Connector> {
        self.default.clone()
    }

    fn build(
        &self,
        processor: &Processor,
        secret: zeroize::Zeroizing<String>,
    ) -> Result<Arc<dyn Connector>, GatewayError> {
        let sandbox = processor.environment() == ProcessorEnvironment::Sandbox;
        Ok(match processor {
            Processor::AuthorizeNet { api_login_id, .. } => {
                let url = if sandbox {
                    &self.endpoints.authorize_net_sandbox
                } else {
                    &self.endpoints.authorize_net_production
                };
                Arc::new(AuthorizeNetConnector::new(
                    url.clone(),
                    api_login_id.clone(),
                    secret,
                    self.timeout,
                )?)
            }
            Processor::Moneris {
                client_id,
                merchant_id,
                ..
            } => {
                let url = if sandbox {
                    &self.endpoints.moneris_sandbox
                } else {
                    &self.endpoints.moneris_production
                };
                Arc::new(MonerisConnector::new(
                    url.clone(),
                    client_id.clone(),
                    secret,
                    merchant_id.clone(),
                    self.timeout,
                )?)
            }
        })
    }
}

impl PayState {
    /// The connector for the city's payments. When its settings or secret
    /// cannot be read, a connector that refuses everything (and says why)
    /// rather than an error: nothing is sent, and reconciliation asks again
    /// later.
    pub async fn connector(&self, tenant: &TenantId) -> Arc<dyn Connector> {
        match self.try_connector(tenant).await {
            Ok(connector) => connector,
            Err(e) => {
                tracing::error!(%tenant, error = %e, "cannot set up the city's processor connector");
                Arc::new(Unconfigured {
                    detail: format!("the city's processor connector cannot be set up: {e}"),
                })
            }
        }
    }

    async fn try_connector(&self, tenant: &TenantId) -> Result<Arc<dyn Connector>, PayError> {
        let Some(processor) = self.store.merchant_processor(tenant).await? else {
            return Ok(self.connectors.default.clone());
        };
        let name = processor.secret_name();
        let sealed = self.store.merchant_secret(tenant, name).await?;
        let (Some(sealed), Some(vault)) = (sealed, self.vault.as_ref()) else {
            return Ok(Arc::new(Unconfigured {
                detail: format!(
                    "{name} is not set for this city: run `civicpay city secret set SLUG {name}`"
                ),
            }));
        };
        if let Ok(built) = self.connectors.built.lock()
            && let Some((p, s, connector)) = built.get(tenant)
            && *p == processor
            && *s == sealed.sealed
        {
            return Ok(connector.clone());
        }
        let Some(secret) = vault.secret(tenant, name).await? else {
            return Err(PayError::Internal("a processor secret vanished"));
        };
        let connector = self
            .connectors
            .build(&processor, secret)
            .map_err(|_| PayError::Internal("cannot build the processor's connector"))?;
        if let Ok(mut built) = self.connectors.built.lock() {
            built.insert(
                tenant.clone(),
                (processor, sealed.sealed, connector.clone()),
            );
        }
        Ok(connector)
    }

    /// Every connector in use: the deployment's acquirer, and each city's
    /// own processor account. The orphan sweep reads each one's day.
    pub async fn connectors_in_use(
        &self,
    ) -> Result<Vec<Arc<dyn Connector>>, civicpay_store::StoreError> {
        let mut all = vec![self.connectors.default.clone()];
        for tenant in self.store.merchants_with_processor().await? {
            all.push(self.connector(&tenant).await);
        }
        Ok(all)
    }
}

/// A city whose processor's secret was never set: every payment fails
/// with the setting to fix, and nothing is sent anywhere.
struct Unconfigured {
    detail: String,
}

impl Connector for Unconfigured {
    fn authorise<'a>(&'a self, _: AuthorisationRequest<'a>) -> BoxFuture<'a, AuthorisationOutcome> {
        Box::pin(async move {
            AuthorisationOutcome::Failed {
                detail: self.detail.clone(),
            }
        })
    }
    fn capture<'a>(
        &'a self,
        _: &'a str,
        _: civicpay_core::Money,
    ) -> BoxFuture<'a, Result<(), GatewayError>> {
        Box::pin(async move { Err(GatewayError::Credentials(self.detail.clone())) })
    }
    fn void<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<(), GatewayError>> {
        Box::pin(async move { Err(GatewayError::Credentials(self.detail.clone())) })
    }
    fn refund<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: civicpay_core::Money,
    ) -> BoxFuture<'a, Result<(), GatewayError>> {
        Box::pin(async move { Err(GatewayError::Credentials(self.detail.clone())) })
    }
    fn status<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<StatusInquiry, GatewayError>> {
        Box::pin(async move { Err(GatewayError::Credentials(self.detail.clone())) })
    }
    fn refund_status<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
    ) -> BoxFuture<'a, Result<RefundInquiry, GatewayError>> {
        Box::pin(async move { Err(GatewayError::Credentials(self.detail.clone())) })
    }
    fn authorisations_on<'a>(
        &'a self,
        _: jiff::civil::Date,
    ) -> BoxFuture<'a, Result<Vec<AcquirerRecord>, GatewayError>> {
        Box::pin(async move { Ok(Vec::new()) })
    }
}
