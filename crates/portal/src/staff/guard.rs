//! The console's gate: which console (a city's or the platform's) a
//! request is for, who is signed in, and whether their role allows the
//! route. Handlers behind it receive a [`StaffContext`].

use super::Access;
use crate::AppState;
use crate::error::PortalError;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use civicpay_audit::{Action, ChainId, NewEntry};
use civicpay_core::{Language, Permission, Role, Tenant, TenantId, TenantSlug};
use civicpay_identity::SessionToken;
use civicpay_store::portal::staff::{SessionStage, StaffUser};
use civicpay_web::Translator;
use civicpay_web::form_token::cookie_value;
use std::collections::HashMap;

pub const STAFF_COOKIE: &str = "civicpay_staff";

/// A city's console, or the platform operator's (`tenant = None`).
#[derive(Clone, Debug)]
pub(crate) struct ConsoleScope {
    pub tenant: Option<Tenant>,
}

impl ConsoleScope {
    pub fn prefix(&self) -> String {
        match &self.tenant {
            Some(t) => format!("/{}/staff", t.slug),
            None => "/staff".to_owned(),
        }
    }

    /// The console's language before anyone is signed in: the city's
    /// default (English on the platform's console).
    pub fn language(&self) -> Language {
        self.tenant
            .as_ref()
            .map_or(Language::En, |t| t.default_language)
    }

    pub fn t(&self) -> Translator {
        Translator::new(self.language())
    }

    pub fn tenant_id(&self) -> Option<&TenantId> {
        self.tenant.as_ref().map(|t| &t.id)
    }

    pub fn chain(&self) -> ChainId {
        self.tenant_id()
            .map_or(ChainId::Platform, |id| ChainId::Tenant(id.clone()))
    }

    /// The city, for pages that exist only in a city's console.
    pub fn city(&self) -> Result<&Tenant, PortalError> {
        self.tenant.as_ref().ok_or(PortalError::NotFound)
    }

    /// Sets the session cookie, limited to this console's path.
    pub fn session_cookie(&self, token: &SessionToken, secure: bool) -> String {
        format!(
            "{STAFF_COOKIE}={}; Path={}; HttpOnly; SameSite=Strict{}",
            token.expose(),
            self.prefix(),
            if secure { "; Secure" } else { "" }
        )
    }

    pub fn clear_cookie(&self) -> String {
        format!(
            "{STAFF_COOKIE}=; Path={}; Max-Age=0; HttpOnly; SameSite=Strict",
            self.prefix()
        )
    }

    pub fn note(
        &self,
        actor: &str,
        action: Action,
        target: impl Into<String>,
        details: serde_json::Value,
    ) -> NewEntry {
        NewEntry::new(self.chain(), actor, action, target, details)
    }
}

impl FromRequestParts<AppState> for ConsoleScope {
    type Rejection = PortalError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| PortalError::NotFound)?;
        let tenant = match params.get("tenant") {
            None => None,
            Some(slug) => {
                let slug = TenantSlug::parse(slug).map_err(|_| PortalError::NotFound)?;
                Some(
                    state
                        .store
                        .tenant_by_slug(&slug)
                        .await?
                        .ok_or(PortalError::NotFound)?,
                )
            }
        };
        Ok(ConsoleScope { tenant })
    }
}

/// The signed-in staff member, for handlers behind [`require`].
#[derive(Clone, Debug)]
pub(crate) struct StaffContext {
    pub staff: StaffUser,
    pub scope: ConsoleScope,
}

impl StaffContext {
    pub fn actor(&self) -> String {
        format!("staff:{}", self.staff.email)
    }

    /// The console in the language this person chose, else the city's.
    pub fn t(&self) -> Translator {
        Translator::new(self.staff.language.unwrap_or(self.scope.language()))
    }

    pub fn allows(&self, permission: Permission) -> bool {
        self.staff.role.allows(permission)
    }

    pub fn note(
        &self,
        action: Action,
        target: impl Into<String>,
        details: serde_json::Value,
    ) -> NewEntry {
        self.scope.note(&self.actor(), action, target, details)
    }
}

impl FromRequestParts<AppState> for StaffContext {
    type Rejection = PortalError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<StaffContext>()
            .cloned()
            .ok_or(PortalError::Forbidden)
    }
}

/// The session behind a request's cookie, at the stage asked for.
pub(crate) async fn current_session(
    state: &AppState,
    scope: &ConsoleScope,
    headers: &axum::http::HeaderMap,
    stage: SessionStage,
) -> Result<Option<(StaffUser, String)>, PortalError> {
    let Some(token) = cookie_value(headers, STAFF_COOKIE).and_then(SessionToken::from_cookie)
    else {
        return Ok(None);
    };
    let hash = token.stored_hash();
    let Some(session) = state
        .store
        .staff_session(&hash, state.config.staff_idle_timeout)
        .await?
    else {
        return Ok(None);
    };
    let right_console = session.staff.tenant_id.as_ref() == scope.tenant_id();
    Ok((right_console && session.stage == stage).then_some((session.staff, hash)))
}

pub(crate) async fn require(
    State((state, access)): State<(AppState, Access)>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let scope = match ConsoleScope::from_request_parts(&mut parts, &state).await {
        Ok(scope) => scope,
        Err(e) => return e.into_response(),
    };
    let mut request = Request::from_parts(parts, body);
    let session =
        match current_session(&state, &scope, request.headers(), SessionStage::SignedIn).await {
            Ok(s) => s,
            Err(e) => return e.into_response(),
        };
    let Some((staff, _)) = session else {
        return Redirect::to(&format!("{}/sign-in", scope.prefix())).into_response();
    };
    let allowed = match access {
        Access::SignedIn => true,
        Access::Needs(permission) => staff.role.allows(permission),
    };
    // A platform operator's session never opens a city's console, and the
    // scope check above already keeps city staff out of the platform's.
    if !allowed || (scope.tenant.is_some() && staff.role == Role::PlatformOperator) {
        return PortalError::Forbidden.into_response();
    }
    request
        .extensions_mut()
        .insert(StaffContext { staff, scope });
    next.run(request).await
}
