//! A city as the platform registers it with pay. Only the platform's key
//! may send this: a city's own key can neither register another city nor
//! lift its own pause.

use civicpay_core::{Currency, Processor, TenantId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `PUT /v1/platform/merchants/{tenant}`: everything pay keeps of a city,
/// sent whole each time, so sending it again changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterMerchant {
    /// The city's slug (`springfield`).
    pub slug: String,
    /// The name the card page shows, in the city's default language.
    pub name: String,
    pub currency: Currency,
    /// Origins (`https://city.example`) a payment's return URL may lead to.
    pub return_origins: Vec<String>,
    /// Paused by the platform: no new payment; captures, refunds and reads
    /// go on.
    pub suspended: bool,
    /// The portal's key for this city (pay keeps only its hash).
    pub portal_key: String,
    /// Where pay sends this city's webhooks, and the secret that signs them.
    pub webhook_url: String,
    pub webhook_secret: String,
    /// The city's card processor account; absent: the deployment's
    /// acquirer. Its secret is never sent: `civicpay city secret set`
    /// seals it on pay's side.
    #[serde(default)]
    pub processor: Option<Processor>,
}

/// What pay answers once a city is registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MerchantView {
    pub tenant_id: TenantId,
    pub slug: String,
    pub suspended: bool,
}
