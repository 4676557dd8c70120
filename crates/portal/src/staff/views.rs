//! The console's pages, in the language each staff member chose (the
//! city's default until they do).

use super::guard::StaffContext;
use super::{Access, ROUTES};
use crate::views::{Layout, Link};
use askama::Template;
use civicpay_core::{Language, Tenant};
use civicpay_web::Translator;
use civicpay_web::forms::{Choice, Field, SummaryError};

pub(crate) fn layout(
    t: &Translator,
    title: &str,
    tenant: Option<&Tenant>,
    path: &str,
    has_errors: bool,
) -> Layout {
    let mut layout = Layout::new(t.clone(), title.to_owned(), tenant, path, has_errors);
    layout.languages.clear();
    if let Some(city) = &mut layout.city {
        city.href = format!("{}staff/", city.href);
    }
    layout
}

/// 422 for a form sent back with errors, else 200.
pub(crate) fn form_status(has_errors: bool) -> axum::http::StatusCode {
    if has_errors {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    }
}

pub(crate) struct NavLink {
    pub href: String,
    pub label: String,
    pub current: bool,
}

/// A language the console can be read in, for the chooser.
pub(crate) struct ConsoleLanguage {
    pub code: &'static str,
    pub name: &'static str,
    pub current: bool,
}

/// The strip at the top of every signed-in page: who, what they may open,
/// and the sign-out buttons.
pub(crate) struct Chrome {
    pub who: String,
    pub nav: Vec<NavLink>,
    pub prefix: String,
    pub form_token: String,
    pub languages: Vec<ConsoleLanguage>,
    /// Where the language chooser returns to.
    pub back: String,
}

/// Each console page with the catalogue key of its name in the menu.
const NAV: [(&str, &str); 11] = [
    ("/", "st-nav-home"),
    ("/bills", "st-nav-bills"),
    ("/payments", "st-nav-payments"),
    ("/residents", "st-nav-residents"),
    ("/attention", "st-nav-attention"),
    ("/refunds", "st-nav-refunds"),
    ("/reports/reconciliation", "st-nav-reconciliation"),
    ("/audit", "st-nav-audit"),
    ("/team", "st-nav-team"),
    ("/settings", "st-nav-settings"),
    ("/recovery-codes", ""),
];

impl Chrome {
    pub fn new(ctx: &StaffContext, path: &str, form_token: &str) -> Chrome {
        let prefix = ctx.scope.prefix();
        let t = ctx.t();
        let nav = if ctx.scope.tenant.is_none() {
            vec![NavLink {
                href: format!("{prefix}/"),
                label: t.get("st-nav-cities"),
                current: true,
            }]
        } else {
            NAV.iter()
                .filter(|(_, label)| !label.is_empty())
                .filter(|(route, _)| {
                    ROUTES.iter().any(|r| {
                        r.path == *route
                            && match r.access {
                                Access::SignedIn => true,
                                Access::Needs(p) => ctx.allows(p),
                            }
                    })
                })
                .map(|(route, label)| {
                    let href = if *route == "/" {
                        format!("{prefix}/")
                    } else {
                        format!("{prefix}{route}")
                    };
                    NavLink {
                        current: path == href,
                        href,
                        label: t.get(label),
                    }
                })
                .collect()
        };
        let current = t.language();
        Chrome {
            who: format!("{} ({})", ctx.staff.email, role_name(&t, ctx.staff.role)),
            nav,
            prefix,
            form_token: form_token.to_owned(),
            languages: Language::ALL
                .into_iter()
                .map(|l| ConsoleLanguage {
                    code: l.code(),
                    name: l.endonym(),
                    current: l == current,
                })
                .collect(),
            back: path.to_owned(),
        }
    }
}

/// A role as staff read it in the console.
pub(crate) fn role_name(t: &Translator, role: civicpay_core::Role) -> String {
    t.get(&format!("st-role-{}", role.code().replace('_', "-")))
}

#[derive(Template)]
#[template(path = "staff/sign_in.html")]
pub(crate) struct SignInPage {
    pub layout: Layout,
    pub action: String,
    pub form_token: String,
    pub fields: Vec<Field>,
    pub errors: Vec<SummaryError>,
}

#[derive(Template)]
#[template(path = "staff/second_factor.html")]
pub(crate) struct SecondFactorPage {
    pub layout: Layout,
    pub action: String,
    pub form_token: String,
    pub code: Field,
    pub errors: Vec<SummaryError>,
}

#[derive(Template)]
#[template(path = "staff/enrol.html")]
pub(crate) struct EnrolPage {
    pub layout: Layout,
    pub action: String,
    pub form_token: String,
    pub email: String,
    pub qr_svg: String,
    pub secret: String,
    /// The password and its confirmation, then the code: the QR code
    /// comes between them.
    pub passwords: Vec<Field>,
    pub code: Field,
    pub errors: Vec<SummaryError>,
}

#[derive(Template)]
#[template(path = "staff/codes.html")]
pub(crate) struct RecoveryCodesPage {
    pub layout: Layout,
    pub chrome: Option<Chrome>,
    pub codes: Vec<String>,
    pub next: Link,
}

/// A page of the signed-in console with free-form sections.
#[derive(Template)]
#[template(path = "staff/message.html")]
pub(crate) struct ConsoleMessage {
    pub layout: Layout,
    pub chrome: Option<Chrome>,
    pub body: Vec<String>,
    pub link: Option<Link>,
}

pub(crate) struct Tile {
    pub href: String,
    pub label: String,
    pub hint: String,
}

#[derive(Template)]
#[template(path = "staff/dashboard.html")]
pub(crate) struct DashboardPage {
    pub layout: Layout,
    pub chrome: Option<Chrome>,
    pub tiles: Vec<Tile>,
    pub recovery_codes_left: u32,
    /// "You have N recovery codes left."
    pub codes_left: String,
    pub codes_action: String,
    pub form_token: String,
}

pub(crate) struct BillRow {
    pub reference: String,
    pub bill_type: String,
    pub payer: String,
    pub due: String,
    pub balance: String,
    pub status: String,
    pub phone_payment: Option<String>,
    /// The balance as the amount field's first value, where the bill's
    /// type takes part payments.
    pub part_amount: Option<String>,
}

#[derive(Template)]
#[template(path = "staff/bills.html")]
pub(crate) struct BillSearchPage {
    pub layout: Layout,
    pub chrome: Option<Chrome>,
    pub search: Field,
    pub searched: bool,
    pub rows: Vec<BillRow>,
    pub form_token: String,
}

pub(crate) struct PaymentRow {
    pub href: String,
    pub created: String,
    pub reference: String,
    pub amount: String,
    pub status: String,
    pub channel: String,
    pub card: String,
}

#[derive(Template)]
#[template(path = "staff/payments.html")]
pub(crate) struct PaymentListPage {
    pub layout: Layout,
    pub chrome: Option<Chrome>,
    pub filters: Vec<Field>,
    pub errors: Vec<SummaryError>,
    pub rows: Vec<PaymentRow>,
    /// The search's ledger lines as CSV, for finance staff.
    pub csv_href: Option<String>,
}

pub(crate) struct Fact {
    pub label: String,
    pub value: String,
}

pub(crate) struct RefundRow {
    pub requested: String,
    pub amount: String,
    pub reason: String,
    pub status: String,
    pub by: String,
}

#[derive(Template)]
#[template(path = "staff/payment.html")]
pub(crate) struct PaymentPage {
    pub layout: Layout,
    pub chrome: Option<Chrome>,
    pub facts: Vec<Fact>,
    pub refunds: Vec<RefundRow>,
    pub refund_action: Option<String>,
    /// What may still be refunded, and when a second person must approve.
    pub refund_limits: String,
    pub form_token: String,
    pub refund_fields: Vec<Field>,
    pub errors: Vec<SummaryError>,
}

pub(crate) struct PendingRefund {
    /// "$20.00 requested …", for the buttons' hidden text.
    pub which: String,
    pub payment_href: String,
    pub requested: String,
    pub amount: String,
    pub reason: String,
    pub by: String,
    pub action: String,
    pub own: bool,
}

#[derive(Template)]
#[template(path = "staff/refunds.html")]
pub(crate) struct RefundApprovalsPage {
    pub layout: Layout,
    pub chrome: Option<Chrome>,
    pub pending: Vec<PendingRefund>,
    pub form_token: String,
}

/// A payment or refund reconciliation could not settle.
pub(crate) struct AttentionRow {
    pub payment_href: String,
    pub what: String,
    pub amount: String,
    pub reason: String,
    pub since: String,
}

#[derive(Template)]
#[template(path = "staff/attention.html")]
pub(crate) struct AttentionPage {
    pub layout: Layout,
    pub chrome: Option<Chrome>,
    pub rows: Vec<AttentionRow>,
    pub overpaid: Vec<OverpaidRow>,
    /// Notices the city's back office has not taken; `None` for a city
    /// with no back office.
    pub notices: Option<Vec<NoticeRow>>,
}

/// A back-office notice still waiting.
pub(crate) struct NoticeRow {
    pub created: String,
    pub event: String,
    pub attempts: u32,
    pub last_error: String,
    pub next_attempt: String,
}

/// A bill paid more than it owed.
pub(crate) struct OverpaidRow {
    pub reference: String,
    pub bill_type: String,
    pub amount_due: String,
    pub amount_paid: String,
    pub over: String,
    /// The bill search that finds it, and from there its payments.
    pub href: String,
}

pub(crate) struct ReconRow {
    pub bill_type: String,
    pub gl_code: String,
    pub captures: String,
    pub refunds: String,
    pub net: String,
}

#[derive(Template)]
#[template(path = "staff/reconciliation.html")]
pub(crate) struct ReconciliationPage {
    pub layout: Layout,
    pub chrome: Option<Chrome>,
    pub day: Field,
    pub date: String,
    pub rows: Vec<ReconRow>,
    pub total_captures: String,
    pub total_refunds: String,
    pub total_net: String,
    pub acquirer: Vec<Fact>,
    pub brands: Vec<BrandRow>,
    pub differences: Vec<String>,
    pub csv_href: Option<String>,
}

/// One card brand's day: our records beside the processor's.
pub(crate) struct BrandRow {
    pub brand: String,
    pub our_captured: String,
    pub our_refunded: String,
    pub their_captured: String,
    pub their_refunded: String,
}

pub(crate) struct AuditRow {
    pub seq: u64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    /// (label, value) lines.
    pub details: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "staff/audit.html")]
pub(crate) struct AuditPage {
    pub layout: Layout,
    pub chrome: Option<Chrome>,
    pub filters: Vec<Field>,
    pub rows: Vec<AuditRow>,
    pub older: Option<String>,
}

pub(crate) struct MemberRow {
    pub email: String,
    pub role: String,
    pub status: String,
    pub action: Option<String>,
    pub roles: Vec<Choice>,
    pub disabled: bool,
}

#[derive(Template)]
#[template(path = "staff/team.html")]
pub(crate) struct TeamPage {
    pub layout: Layout,
    pub chrome: Option<Chrome>,
    pub members: Vec<MemberRow>,
    pub invite: Vec<Field>,
    pub form_token: String,
    pub invite_action: String,
    pub errors: Vec<SummaryError>,
    pub enrolment_link: Option<String>,
}

#[derive(Template)]
#[template(path = "staff/settings.html")]
pub(crate) struct SettingsPage {
    pub layout: Layout,
    pub chrome: Option<Chrome>,
    pub form_token: String,
    pub fields: Vec<Field>,
    pub errors: Vec<SummaryError>,
    pub saved: bool,
    /// Other settings pages.
    pub links: Vec<Link>,
}

pub(crate) struct BillTypeRow {
    pub name: String,
    pub slug: String,
    pub gl_code: String,
    pub partial: String,
    pub offered: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "staff/bill_types.html")]
pub(crate) struct BillTypesPage {
    pub layout: Layout,
    pub chrome: Option<Chrome>,
    pub rows: Vec<BillTypeRow>,
    pub back: String,
}

#[derive(Template)]
#[template(path = "staff/branding.html")]
pub(crate) struct BrandingPage {
    pub layout: Layout,
    pub chrome: Option<Chrome>,
    pub form_token: String,
    pub accent: Field,
    pub logo_field: Field,
    /// The stored logo's address, for its preview.
    pub logo: Option<String>,
    pub errors: Vec<SummaryError>,
    pub saved: Option<String>,
    pub accent_action: String,
    pub logo_action: String,
    pub remove_action: String,
    pub links: Vec<Link>,
}

pub(crate) struct PlatformCity {
    pub href: String,
    pub name: String,
    pub slug: String,
    pub currency: &'static str,
    pub time_zone: String,
    pub paused: bool,
}

#[derive(Template)]
#[template(path = "staff/platform.html")]
pub(crate) struct PlatformPage {
    pub layout: Layout,
    pub chrome: Option<Chrome>,
    pub cities: Vec<PlatformCity>,
}

#[derive(Template)]
#[template(path = "staff/platform_new_city.html")]
pub(crate) struct PlatformNewCityPage {
    pub layout: Layout,
    pub chrome: Option<Chrome>,
    pub form_token: String,
    pub fields: Vec<Field>,
    pub errors: Vec<SummaryError>,
}

#[derive(Template)]
#[template(path = "staff/platform_city.html")]
pub(crate) struct PlatformCityPage {
    pub layout: Layout,
    pub chrome: Option<Chrome>,
    pub form_token: String,
    pub action: String,
    pub slug: String,
    pub currency: &'static str,
    pub time_zone: String,
    pub contact: civicpay_core::Contact,
    pub bill_types: Vec<String>,
    pub paused: bool,
    /// Pay just took the city's settings again.
    pub sent: bool,
    /// "e-mail (status)" of each administrator.
    pub administrators: Vec<String>,
    pub invite: Vec<Field>,
    pub errors: Vec<SummaryError>,
    pub enrolment_link: Option<String>,
}

#[derive(Template)]
#[template(path = "staff/residents.html")]
pub(crate) struct ResidentSupportPage {
    pub layout: Layout,
    pub chrome: Option<Chrome>,
    pub form_token: String,
    pub search: Vec<Field>,
    pub facts: Vec<Fact>,
    /// (bill type, reference, linked on)
    pub bills: Vec<(String, String, String)>,
    /// (when, subject, sent or not)
    pub mail: Vec<(String, String, String)>,
    pub reset: Vec<Field>,
    pub reset_action: Option<String>,
    pub errors: Vec<SummaryError>,
    pub done: bool,
}

crate::views::pages!(
    SignInPage,
    SecondFactorPage,
    EnrolPage,
    RecoveryCodesPage,
    ConsoleMessage,
    DashboardPage,
    BillSearchPage,
    PaymentListPage,
    PaymentPage,
    RefundApprovalsPage,
    AttentionPage,
    ReconciliationPage,
    AuditPage,
    TeamPage,
    SettingsPage,
    BrandingPage,
    BillTypesPage,
    PlatformPage,
    PlatformNewCityPage,
    PlatformCityPage,
    ResidentSupportPage,
);
