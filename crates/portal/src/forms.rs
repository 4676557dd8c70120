//! Every form the portal takes, read one way: the body parsed as the
//! form's type and its `form_token` checked against this browser's cookie
//! (CSRF), before the handler runs. A handler that takes a
//! [`CheckedForm`] cannot forget the check, nor do it its own way.

use crate::AppState;
use crate::error::PortalError;
use crate::page::PageContext;
use axum::Form;
use axum::body::{Body, Bytes};
use axum::extract::multipart::{Multipart, MultipartError};
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

/// A posted `multipart/form-data` form (a file upload), read whole within
/// the route's body limit, with the same token check as [`CheckedForm`].
pub(crate) struct CheckedUpload {
    text: Vec<(String, String)>,
    files: Vec<(String, Vec<u8>)>,
}

impl CheckedUpload {
    /// The file posted as `name`; empty when none was chosen.
    pub(crate) fn file(&self, name: &str) -> &[u8] {
        self.files
            .iter()
            .find(|(n, _)| n == name)
            .map_or(&[], |(_, bytes)| bytes.as_slice())
    }
}

impl FromRequest<AppState> for CheckedUpload {
    type Rejection = PortalError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, PortalError> {
        let (mut parts, body) = request.into_parts();
        let Ok(ctx) = PageContext::from_request_parts(&mut parts, state).await;
        let mut multipart = Multipart::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|e| PortalError::BadRequest(e.body_text()))?;
        let mut upload = CheckedUpload {
            text: Vec::new(),
            files: Vec::new(),
        };
        let read_error = |e: MultipartError| match e.status() {
            axum::http::StatusCode::PAYLOAD_TOO_LARGE => PortalError::TooLarge {
                limit: UPLOAD_BODY_LIMIT,
            },
            _ => PortalError::BadRequest(e.body_text()),
        };
        while let Some(field) = multipart.next_field().await.map_err(read_error)? {
            let name = field.name().unwrap_or_default().to_owned();
            if field.file_name().is_some() {
                let bytes = field.bytes().await.map_err(read_error)?;
                upload.files.push((name, bytes.to_vec()));
            } else {
                let text = field.text().await.map_err(read_error)?;
                upload.text.push((name, text));
            }
        }
        let token = upload
            .text
            .iter()
            .find(|(name, _)| name == "form_token")
            .map(|(_, value)| value.as_str());
        if state.form_tokens.verify(ctx.form_cookie(), token) {
            Ok(upload)
        } else {
            Err(PortalError::FormExpired)
        }
    }
}

/// The body limit on upload routes: above the largest file any form takes,
/// so a file a little too large gets the form's own message, not this one.
pub(crate) const UPLOAD_BODY_LIMIT: usize = 4 * 1024 * 1024;
