//! The staff console at `/{city}/staff/` (and the platform operator's at
//! `/staff/`). Every route is listed once in [`ROUTES`] with the permission
//! it needs; the router is built from that list and a guard checks the
//! session and the role before any handler runs, so a route cannot be
//! added without saying who may use it, and a test walks the whole list
//! for every role.

mod admin;
mod audit_details;
mod bill_types;
mod branding;
mod contact;
mod exports;
mod guard;
mod language;
mod languages;
mod payments;
mod platform;
mod reports;
mod sign_in;
mod support;
mod views;

pub use guard::STAFF_COOKIE;

use crate::AppState;
use crate::error::PortalError;
use axum::Router;
use axum::extract::DefaultBodyLimit;
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

/// One route of a console: its path, who may use it, and what answers.
/// One table says all three, so a route cannot be listed without a
/// handler, nor served without a guard.
pub struct StaffRoute {
    pub path: &'static str,
    pub access: Access,
    handler: fn() -> MethodRouter<AppState>,
}

/// Every signed-in route of a city's console, below `/{tenant}/staff`.
pub const ROUTES: [StaffRoute; 30] = [
    StaffRoute {
        path: "/",
        access: Access::SignedIn,
        handler: || get(admin::dashboard),
    },
    StaffRoute {
        path: "/sign-out-everywhere",
        access: Access::SignedIn,
        handler: || post(sign_in::sign_out_everywhere),
    },
    StaffRoute {
        path: "/language",
        access: Access::SignedIn,
        handler: || post(language::set_language),
    },
    StaffRoute {
        path: "/bills",
        access: Access::Needs(Permission::LookUpBills),
        handler: || get(payments::bill_search),
    },
    StaffRoute {
        path: "/bills/{bill}/phone-payment",
        access: Access::Needs(Permission::TakePhonePayments),
        handler: || post(payments::start_phone_payment),
    },
    StaffRoute {
        path: "/phone-payments/{local}/return",
        access: Access::Needs(Permission::TakePhonePayments),
        handler: || get(payments::phone_payment_return),
    },
    StaffRoute {
        path: "/payments",
        access: Access::Needs(Permission::ViewPayments),
        handler: || get(payments::payment_list),
    },
    StaffRoute {
        path: "/payments.csv",
        access: Access::Needs(Permission::ExportData),
        handler: || get(exports::payments_csv),
    },
    StaffRoute {
        path: "/payments/{payment}",
        access: Access::Needs(Permission::ViewPayments),
        handler: || get(payments::payment_detail),
    },
    StaffRoute {
        path: "/payments/{payment}/refund",
        access: Access::Needs(Permission::RequestRefunds),
        handler: || post(payments::request_refund),
    },
    StaffRoute {
        path: "/refunds",
        access: Access::Needs(Permission::ApproveRefunds),
        handler: || get(payments::pending_refunds),
    },
    StaffRoute {
        path: "/attention",
        access: Access::Needs(Permission::ViewPayments),
        handler: || get(payments::needing_attention),
    },
    StaffRoute {
        path: "/refunds/{request}/decision",
        access: Access::Needs(Permission::ApproveRefunds),
        handler: || post(payments::decide_refund),
    },
    StaffRoute {
        path: "/residents",
        access: Access::Needs(Permission::SupportResidents),
        handler: || get(support::residents),
    },
    StaffRoute {
        path: "/residents/{resident}/two-step-off",
        access: Access::Needs(Permission::SupportResidents),
        handler: || post(support::two_step_off),
    },
    StaffRoute {
        path: "/reports/reconciliation",
        access: Access::Needs(Permission::ViewReports),
        handler: || get(reports::reconciliation),
    },
    StaffRoute {
        path: "/reports/reconciliation.csv",
        access: Access::Needs(Permission::ExportData),
        handler: || get(reports::reconciliation_csv),
    },
    StaffRoute {
        path: "/audit",
        access: Access::Needs(Permission::ViewAuditLog),
        handler: || get(admin::audit_log),
    },
    StaffRoute {
        path: "/team",
        access: Access::Needs(Permission::ManageStaff),
        handler: || get(admin::team),
    },
    StaffRoute {
        path: "/team/invite",
        access: Access::Needs(Permission::ManageStaff),
        handler: || post(admin::invite),
    },
    StaffRoute {
        path: "/team/{staff}",
        access: Access::Needs(Permission::ManageStaff),
        handler: || post(admin::update_member),
    },
    StaffRoute {
        path: "/settings",
        access: Access::Needs(Permission::ManageSettings),
        handler: || get(admin::settings).post(admin::save_settings),
    },
    StaffRoute {
        path: "/settings/contact",
        access: Access::Needs(Permission::ManageSettings),
        handler: || get(contact::contact).post(contact::save_contact),
    },
    StaffRoute {
        path: "/settings/languages",
        access: Access::Needs(Permission::ManageSettings),
        handler: || get(languages::languages).post(languages::save_languages),
    },
    StaffRoute {
        path: "/settings/bill-types",
        access: Access::Needs(Permission::ManageSettings),
        handler: || get(bill_types::bill_types),
    },
    StaffRoute {
        path: "/settings/bill-types/{slug}",
        access: Access::Needs(Permission::ManageSettings),
        handler: || get(bill_types::bill_type).post(bill_types::save_bill_type),
    },
    StaffRoute {
        path: "/settings/branding",
        access: Access::Needs(Permission::ManageSettings),
        handler: || get(branding::branding).post(branding::save_accent),
    },
    StaffRoute {
        path: "/settings/branding/logo",
        access: Access::Needs(Permission::ManageSettings),
        handler: || {
            post(branding::upload_logo)
                .layer(DefaultBodyLimit::max(crate::forms::UPLOAD_BODY_LIMIT))
        },
    },
    StaffRoute {
        path: "/settings/branding/logo/remove",
        access: Access::Needs(Permission::ManageSettings),
        handler: || post(branding::remove_logo),
    },
    StaffRoute {
        path: "/recovery-codes",
        access: Access::SignedIn,
        handler: || post(sign_in::regenerate_recovery_codes),
    },
];

/// The platform operator's console, below `/staff`.
pub const PLATFORM_ROUTES: [StaffRoute; 9] = [
    StaffRoute {
        path: "/",
        access: Access::Needs(Permission::ManageTenants),
        handler: || get(platform::home),
    },
    StaffRoute {
        path: "/sign-out-everywhere",
        access: Access::SignedIn,
        handler: || post(sign_in::sign_out_everywhere),
    },
    StaffRoute {
        path: "/language",
        access: Access::SignedIn,
        handler: || post(language::set_language),
    },
    StaffRoute {
        path: "/new-city",
        access: Access::Needs(Permission::ManageTenants),
        handler: || get(platform::new_city).post(platform::create_city),
    },
    StaffRoute {
        path: "/cities/{slug}",
        access: Access::Needs(Permission::ManageTenants),
        handler: || get(platform::city),
    },
    StaffRoute {
        path: "/cities/{slug}/pause",
        access: Access::Needs(Permission::ManageTenants),
        handler: || post(platform::pause),
    },
    StaffRoute {
        path: "/cities/{slug}/resume",
        access: Access::Needs(Permission::ManageTenants),
        handler: || post(platform::resume),
    },
    StaffRoute {
        path: "/cities/{slug}/register",
        access: Access::Needs(Permission::ManageTenants),
        handler: || post(platform::register),
    },
    StaffRoute {
        path: "/cities/{slug}/administrators",
        access: Access::Needs(Permission::ManageTenants),
        handler: || post(platform::invite_administrator),
    },
];

fn console(prefix: &str, state: &AppState, routes: &[StaffRoute]) -> Router<AppState> {
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
    for route in routes {
        let full = if route.path == "/" {
            format!("{prefix}/")
        } else {
            format!("{prefix}{}", route.path)
        };
        router = router.route(
            &full,
            (route.handler)().route_layer(middleware::from_fn_with_state(
                (state.clone(), route.access),
                guard::require,
            )),
        );
    }
    router
}

pub(crate) fn router(state: &AppState) -> Router<AppState> {
    console("/{tenant}/staff", state, &ROUTES).merge(console("/staff", state, &PLATFORM_ROUTES))
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
