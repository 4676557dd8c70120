//! The staff console at `/{city}/staff/` (and the platform operator's at
//! `/staff/`). Every route is listed once in [`ROUTES`] with the permission
//! it needs; the router is built from that list and a guard checks the
//! session and the role before any handler runs, so a route cannot be
//! added without saying who may use it, and a test walks the whole list
//! for every role.

mod admin;
mod guard;
mod payments;
mod reports;
mod sign_in;
mod views;

pub use guard::STAFF_COOKIE;

use crate::AppState;
use crate::error::PortalError;
use axum::Router;
use axum::middleware;
use axum::routing::{MethodRouter, get, post};
use civicpay_audit::{Action, ChainId, NewEntry};
use civicpay_core::{Permission, Role, StaffId, Tenant};
use civicpay_identity::SessionToken;
use civicpay_store::Store;

/// Who may use a route: any signed-in member of the console's city (or the
/// platform operator on the platform console), or only roles with a
/// permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    SignedIn,
    Needs(Permission),
}

/// Every signed-in route of a city's console, below `/{tenant}/staff`.
pub const ROUTES: [(&str, Access); 19] = [
    ("/", Access::SignedIn),
    ("/sign-out-everywhere", Access::SignedIn),
    ("/bills", Access::Needs(Permission::LookUpBills)),
    (
        "/bills/{bill}/phone-payment",
        Access::Needs(Permission::TakePhonePayments),
    ),
    (
        "/phone-payments/{local}/return",
        Access::Needs(Permission::TakePhonePayments),
    ),
    ("/payments", Access::Needs(Permission::ViewPayments)),
    (
        "/payments/{payment}",
        Access::Needs(Permission::ViewPayments),
    ),
    (
        "/payments/{payment}/refund",
        Access::Needs(Permission::RequestRefunds),
    ),
    ("/refunds", Access::Needs(Permission::ApproveRefunds)),
    ("/attention", Access::Needs(Permission::ViewPayments)),
    (
        "/refunds/{request}/decision",
        Access::Needs(Permission::ApproveRefunds),
    ),
    (
        "/reports/reconciliation",
        Access::Needs(Permission::ViewReports),
    ),
    (
        "/reports/reconciliation.csv",
        Access::Needs(Permission::ExportData),
    ),
    ("/audit", Access::Needs(Permission::ViewAuditLog)),
    ("/team", Access::Needs(Permission::ManageStaff)),
    ("/team/invite", Access::Needs(Permission::ManageStaff)),
    ("/team/{staff}", Access::Needs(Permission::ManageStaff)),
    ("/settings", Access::Needs(Permission::ManageSettings)),
    ("/recovery-codes", Access::SignedIn),
];

/// The platform operator's console, below `/staff`.
pub const PLATFORM_ROUTES: [(&str, Access); 2] = [
    ("/", Access::Needs(Permission::ManageTenants)),
    ("/sign-out-everywhere", Access::SignedIn),
];

fn handlers(path: &str) -> MethodRouter<AppState> {
    match path {
        "/" => get(admin::dashboard),
        "/sign-out-everywhere" => post(sign_in::sign_out_everywhere),
        "/bills" => get(payments::bill_search),
        "/bills/{bill}/phone-payment" => post(payments::start_phone_payment),
        "/phone-payments/{local}/return" => get(payments::phone_payment_return),
        "/payments" => get(payments::payment_list),
        "/payments/{payment}" => get(payments::payment_detail),
        "/payments/{payment}/refund" => post(payments::request_refund),
        "/refunds" => get(payments::pending_refunds),
        "/attention" => get(payments::needing_attention),
        "/refunds/{request}/decision" => post(payments::decide_refund),
        "/reports/reconciliation" => get(reports::reconciliation),
        "/reports/reconciliation.csv" => get(reports::reconciliation_csv),
        "/audit" => get(admin::audit_log),
        "/team" => get(admin::team),
        "/team/invite" => post(admin::invite),
        "/team/{staff}" => post(admin::update_member),
        "/settings" => get(admin::settings).post(admin::save_settings),
        "/recovery-codes" => post(sign_in::regenerate_recovery_codes),
        _ => MethodRouter::new(),
    }
}

fn platform_handlers(path: &str) -> MethodRouter<AppState> {
    match path {
        "/" => get(admin::platform_home),
        "/sign-out-everywhere" => post(sign_in::sign_out_everywhere),
        _ => MethodRouter::new(),
    }
}

fn console(
    prefix: &str,
    state: &AppState,
    routes: &[(&str, Access)],
    handlers: fn(&str) -> MethodRouter<AppState>,
) -> Router<AppState> {
    let mut router = Router::new()
        .route(
            &format!("{prefix}/sign-in"),
            get(sign_in::sign_in_form).post(sign_in::sign_in_submit),
        )
        .route(
            &format!("{prefix}/second-factor"),
            get(sign_in::second_factor_form).post(sign_in::second_factor_submit),
        )
        .route(
            &format!("{prefix}/enrol/{{token}}"),
            get(sign_in::enrol_form).post(sign_in::enrol_submit),
        )
        .route(&format!("{prefix}/sign-out"), post(sign_in::sign_out));
    for &(path, access) in routes {
        let full = if path == "/" {
            format!("{prefix}/")
        } else {
            format!("{prefix}{path}")
        };
        router = router.route(
            &full,
            handlers(path).route_layer(middleware::from_fn_with_state(
                (state.clone(), access),
                guard::require,
            )),
        );
    }
    router
}

pub(crate) fn router(state: &AppState) -> Router<AppState> {
    console("/{tenant}/staff", state, &ROUTES, handlers).merge(console(
        "/staff",
        state,
        &PLATFORM_ROUTES,
        platform_handlers,
    ))
}

/// Creates an invited account and returns the one-time enrolment link.
/// Used by `civicpay staff create` and by a city administrator's console.
pub async fn invite_staff(
    store: &Store,
    tenant: Option<&Tenant>,
    email: &str,
    role: Role,
    actor: &str,
    portal_public_url: &str,
) -> Result<(StaffId, String), PortalError> {
    let email = civicpay_core::import::parse_email(email)
        .map_err(|e| PortalError::BadRequest(format!("e-mail address {e}")))?
        .to_lowercase();
    if tenant.is_some() == (role == Role::PlatformOperator) {
        return Err(PortalError::BadRequest(
            "the platform operator role belongs to no city, and every other role to one".to_owned(),
        ));
    }
    let token = SessionToken::generate();
    let expires = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(72))
        .map_err(|_| PortalError::Internal("clock out of range"))?;
    let chain = tenant.map_or(ChainId::Platform, |t| ChainId::Tenant(t.id.clone()));
    let audit = NewEntry::new(
        chain,
        actor,
        Action::StaffCreated,
        format!("staff:{email}"),
        serde_json::json!({ "email": email, "role": role.code() }),
    );
    let id = store
        .invite_staff(
            tenant.map(|t| &t.id),
            &email,
            role,
            &token.stored_hash(),
            expires,
            audit,
        )
        .await
        .map_err(|e| match e {
            civicpay_store::StoreError::AlreadyExists(what) => {
                PortalError::BadRequest(format!("{what} already exists"))
            }
            other => PortalError::Store(other),
        })?;
    let prefix = tenant.map_or_else(String::new, |t| format!("/{}", t.slug));
    let link = format!(
        "{}{prefix}/staff/enrol/{}",
        portal_public_url.trim_end_matches('/'),
        token.expose()
    );
    Ok((id, link))
}
