//! What only the platform may ask of pay: register a city, change what pay
//! keeps of it, pause it and resume it. The platform's key
//! (`Authorization: Bearer cpplat_…`) opens this and nothing else; a city's
//! key cannot lift its own pause.

use crate::PayState;
use crate::api::{bounded, invalid, web_url};
use crate::error::PayError;
use crate::extract::bearer_key;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use civicpay_core::{TenantId, TenantSlug};
use civicpay_pay_api::{MerchantView, RegisterMerchant};
use civicpay_store::pay::{Merchant, PayStore};

/// A request signed with the platform's key; anything else is 401.
pub(crate) struct PlatformCaller;

impl FromRequestParts<PayState> for PlatformCaller {
    type Rejection = PayError;

    async fn from_request_parts(parts: &mut Parts, state: &PayState) -> Result<Self, PayError> {
        if state.store.is_platform_key(bearer_key(parts)?).await? {
            Ok(PlatformCaller)
        } else {
            Err(PayError::Unauthorized)
        }
    }
}

/// `PUT /v1/platform/merchants/{tenant}`
pub(crate) async fn register_merchant(
    State(state): State<PayState>,
    _platform: PlatformCaller,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Result<Json<MerchantView>, PayError> {
    let tenant_id = TenantId::parse(&tenant).map_err(|e| invalid("tenant", e.to_string()))?;
    let request: RegisterMerchant =
        serde_json::from_slice(&body).map_err(|e| PayError::BadJson(e.to_string()))?;
    let merchant = register(&state.store, tenant_id, &request).await?;
    tracing::info!(tenant = %merchant.tenant_id, suspended = merchant.suspended, "city registered by the platform");
    Ok(Json(MerchantView {
        tenant_id: merchant.tenant_id,
        slug: merchant.slug.as_str().to_owned(),
        suspended: merchant.suspended,
    }))
}

/// Checks a registration and keeps it, whole or not at all. The API above
/// and a deployment's start-up (`civicpay serve`) both register this way.
pub async fn register(
    store: &PayStore,
    tenant_id: TenantId,
    request: &RegisterMerchant,
) -> Result<Merchant, PayError> {
    let merchant = Merchant {
        tenant_id,
        slug: TenantSlug::parse(&request.slug).map_err(|e| invalid("slug", e.to_string()))?,
        name: bounded("name", &request.name, 200)?,
        currency: request.currency,
        return_origins: request
            .return_origins
            .iter()
            .map(|o| origin(o))
            .collect::<Result<_, _>>()?,
        suspended: request.suspended,
    };
    web_url("webhook_url", &request.webhook_url)?;
    let secret = bounded("webhook_secret", &request.webhook_secret, 200)?;
    let key = bounded("portal_key", &request.portal_key, 100)?;
    if !key.starts_with("cpay_") {
        return Err(invalid("portal_key", "portal_key must begin cpay_"));
    }
    if let Some(processor) = &request.processor {
        processor
            .check_currency(merchant.currency)
            .map_err(|e| invalid("processor", e.to_string()))?;
    }
    store
        .register_merchant(
            &merchant,
            &key,
            request.webhook_url.trim(),
            &secret,
            request.processor.as_ref(),
        )
        .await?;
    Ok(merchant)
}

/// An origin exactly as browsers write it (`https://city.example`).
fn origin(value: &str) -> Result<String, PayError> {
    let url = web_url("return_origins", value)?;
    let origin = url.origin().ascii_serialization();
    if origin != value.trim() {
        return Err(invalid(
            "return_origins",
            format!("{value:?} is not an origin; did you mean {origin:?}?"),
        ));
    }
    Ok(origin)
}
