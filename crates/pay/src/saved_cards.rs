//! The pay API's view of a resident's saved cards: what the portal may
//! show (token, brand, last four, expiry), forgetting one, and charging one
//! on the resident's standing instruction (autopay).

use crate::api::{invalid, record};
use crate::extract::ApiMerchant;
use crate::vault::SavedCard;
use crate::{PayError, PayState};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use civicpay_core::payment::{Payment, PaymentEvent, PaymentStatus};
use civicpay_core::{PaymentId, TenantId};
use civicpay_gateway::{AuthorisationOutcome, AuthorisationRequest};
use civicpay_pay_api::{SavedCardList, SavedCardView};
use civicpay_store::pay::{PaymentChange, TransitionError};
use civicpay_vault::Expiry;

/// `GET /v1/customers/{customer}/cards`
pub(crate) async fn list(
    State(state): State<PayState>,
    ApiMerchant(merchant): ApiMerchant,
    Path(customer): Path<String>,
) -> Result<Response, PayError> {
    let cards: Vec<_> = state
        .store
        .saved_cards_of(&merchant.tenant_id, &customer)
        .await?
        .iter()
        .map(|c| {
            let card = SavedCard::from(c);
            SavedCardView {
                token: card.token,
                brand: card.brand,
                last4: card.last4,
                exp_month: card.exp_month,
                exp_year: card.exp_year,
            }
        })
        .collect();
    Ok(Json(SavedCardList { cards }).into_response())
}

/// `DELETE /v1/customers/{customer}/cards/{token}`
pub(crate) async fn forget(
    State(state): State<PayState>,
    ApiMerchant(merchant): ApiMerchant,
    Path((customer, token)): Path<(String, String)>,
) -> Result<Response, PayError> {
    if state
        .store
        .delete_saved_card(&merchant.tenant_id, &customer, &token)
        .await?
    {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(PayError::NotFound)
    }
}

/// Charges `token`, a saved card of the payment's resident, for a payment
/// still `created`: the merchant-initiated path autopay uses. Reported, not
/// repeated, once charged. No security code exists to send (it is never
/// stored); the acquirer is told the card is on file.
pub(crate) async fn charge(
    state: &PayState,
    tenant: &TenantId,
    id: &PaymentId,
    token: &str,
) -> Result<Payment, PayError> {
    let payment = state
        .store
        .payment(tenant, id)
        .await?
        .ok_or(PayError::NotFound)?;
    if payment.status != PaymentStatus::Created {
        return Ok(payment);
    }
    let vault = state.vault.as_ref().ok_or_else(|| {
        invalid(
            "saved_card",
            "saved cards are not enabled on this deployment",
        )
    })?;
    let customer = payment
        .customer
        .as_deref()
        .ok_or_else(|| invalid("customer", "a saved card is charged only for its resident"))?;
    let (saved, number) = match vault.open(tenant, customer, token).await {
        Ok(found) => found,
        Err(PayError::NotFound) => {
            return Err(invalid(
                "saved_card",
                "this resident has no saved card with that token",
            ));
        }
        Err(e) => return Err(e),
    };
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let expiry = Expiry::parse(
        &format!("{:02}/{:02}", saved.exp_month, saved.exp_year % 100),
        today,
    )
    .map_err(|_| invalid("saved_card", "the saved card has expired"))?;
    let submitted = match state
        .store
        .transition(
            tenant,
            id,
            PaymentEvent::SavedCardCharged,
            "saved card charged",
            PaymentChange {
                card_brand: Some(saved.brand.clone()),
                card_last4: Some(saved.last4.clone()),
                add_attempt: true,
                ..PaymentChange::default()
            },
        )
        .await
    {
        Ok(p) => p,
        // A concurrent retry got there first: report, do not charge twice.
        Err(TransitionError::Illegal(_)) => {
            return state
                .store
                .payment(tenant, id)
                .await?
                .ok_or(PayError::NotFound);
        }
        Err(TransitionError::NotFound) => return Err(PayError::NotFound),
        Err(TransitionError::Store(e)) => return Err(e.into()),
    };
    let outcome = state
        .connector(tenant)
        .await
        .authorise(AuthorisationRequest {
            payment_id: &submitted.acquirer_reference(),
            amount: submitted.amount,
            card: &number,
            security_code: None,
            stored_credential: true,
            expiry,
            capture: true,
        })
        .await;
    drop(number);
    match outcome {
        AuthorisationOutcome::Approved {
            authorisation_code,
            captured,
        } => crate::api::record_approval(state, &submitted, authorisation_code, captured).await,
        AuthorisationOutcome::Declined { reason } => {
            record(
                state,
                &submitted,
                PaymentEvent::Declined,
                "acquirer declined the saved card",
                PaymentChange {
                    failure_code: Some(reason),
                    ..PaymentChange::default()
                },
            )
            .await
        }
        AuthorisationOutcome::Failed { detail } => {
            tracing::warn!(payment = %submitted.id, detail, "acquirer failed on a saved card");
            record(
                state,
                &submitted,
                PaymentEvent::Failed,
                "acquirer error",
                PaymentChange {
                    failure_code: Some("acquirer_error".into()),
                    ..PaymentChange::default()
                },
            )
            .await
        }
        // Reconciliation settles it from the acquirer's own record.
        AuthorisationOutcome::Unknown { detail } => {
            tracing::warn!(payment = %submitted.id, detail, "saved-card outcome unknown; left for reconciliation");
            Ok(submitted)
        }
    }
}
