//! Every form the portal takes, read one way: the body parsed as the
//! form's type and its `form_token` checked against this browser's cookie
//! (CSRF), before the handler runs. A handler that takes a
//! [`CheckedForm`] cannot forget the check, nor do it its own way.

use crate::AppState;
use crate::error::PortalError;
use crate::page::PageContext;
use axum::Form;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// A posted form of type `T` that carries this browser's form token.
pub(crate) struct CheckedForm<T>(pub T);

/// A form that carries nothing but its token: a button.
#[derive(Deserialize)]
pub(crate) struct ButtonForm {}

/// The one field every form carries, read apart from the form's own.
#[derive(Deserialize)]
struct Token {
    #[serde(default)]
    form_token: Option<String>,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for CheckedForm<T> {
    type Rejection = PortalError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, PortalError> {
        let (mut parts, body) = request.into_parts();
        let Ok(ctx) = PageContext::from_request_parts(&mut parts, state).await;
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|e| PortalError::BadRequest(e.body_text()))?;
        let read = |bytes: Bytes| Request::from_parts(parts.clone(), Body::from(bytes));
        let Form(form) = Form::<T>::from_request(read(bytes.clone()), state)
            .await
            .map_err(|e| PortalError::BadRequest(e.body_text()))?;
        let Form(token) = Form::<Token>::from_request(read(bytes), state)
            .await
            .map_err(|e| PortalError::BadRequest(e.body_text()))?;
        if state
            .form_tokens
            .verify(ctx.form_cookie(), token.form_token.as_deref())
        {
            Ok(CheckedForm(form))
        } else {
            Err(PortalError::FormExpired)
        }
    }
}
