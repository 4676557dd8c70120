//! The staff console over HTTP: enrolment, sign-in with both factors,
//! lock-out, session expiry, CSRF, and every route for every role.

use super::*;
use civicpay_core::{Language, Role, StaffId, Tenant};
use civicpay_identity::{SessionToken, TotpSecret};
use civicpay_portal::staff::{
    Access, PLATFORM_ROUTES, ROUTES, STAFF_COOKIE, StaffRoute, invite_staff,
};
use civicpay_store::portal::staff::SessionStage;
use std::time::Duration;

mod bill_types;
mod branding;

const PASSWORD: &str = "maple lantern quietly forty herons";

impl Portal {
    async fn tenant(&self, slug: &str) -> Tenant {
        self.store
            .tenant_by_slug(&TenantSlug::parse(slug).unwrap())
            .await
            .unwrap()
            .unwrap()
    }

    async fn send_with_cookies(&self, mut request: Request<Body>, cookies: &[&str]) -> Page {
        if !cookies.is_empty() {
            request
                .headers_mut()
                .insert(header::COOKIE, cookies.join("; ").parse().unwrap());
        }
        self.send(request).await
    }

    async fn get_as(&self, uri: &str, cookie: &str) -> Page {
        self.send_with_cookies(Request::get(uri).body(Body::empty()).unwrap(), &[cookie])
            .await
    }

    /// Posts a form carrying the form token of `page`, with the staff cookie.
    async fn post_as(&self, uri: &str, page: &Page, cookie: &str, fields: &[(&str, &str)]) -> Page {
        let mut body = form_urlencoded(&[("form_token", page.form_token().as_str())]);
        if !fields.is_empty() {
            body.push('&');
            body.push_str(&form_urlencoded(fields));
        }
        let form_cookie = form_cookie_or_default(page);
        self.send_with_cookies(
            Request::post(uri)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
            &[cookie, &form_cookie],
        )
        .await
    }
}

/// A chain's newest hundred entries, of one action if given.
async fn audit_log(
    store: &civicpay_store::Store,
    chain: &civicpay_audit::ChainId,
    action: Option<&str>,
) -> Vec<civicpay_audit::Entry> {
    store
        .audit_entries(
            chain,
            &civicpay_store::audit_log::AuditFilter {
                action: action.map(str::to_owned),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap()
}

/// The form cookie `page` set, or the one every test browser uses.
fn form_cookie_or_default(page: &Page) -> String {
    page.cookie("civicpay_form")
        .unwrap_or_else(|| FORM_COOKIE.get().cloned().unwrap_or_default())
}

/// Tests keep one form cookie per browser; pages after the first do not
/// set it again.
static FORM_COOKIE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn now() -> u64 {
    jiff::Timestamp::now().as_second() as u64
}

/// Invites and enrols someone through the real pages; returns their
/// authenticator secret.
async fn enrol(portal: &Portal, tenant: &str, email: &str, role: Role) -> TotpSecret {
    let city = portal.tenant(tenant).await;
    let (_, link) = invite_staff(
        &portal.store,
        Some(&city),
        email,
        role,
        "test",
        "http://portal.test",
    )
    .await
    .unwrap();
    let path = link.strip_prefix("http://portal.test").unwrap();
    let page = portal.get(path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("<svg"),
        "the QR code is drawn on the server"
    );
    assert!(!page.body.contains("<script"));
    let secret =
        TotpSecret::from_base32(&page.between("<code class=\"secret\">", "</code>")).unwrap();
    let _ = FORM_COOKIE.set(page.form_cookie());

    let weak = portal
        .post_form(
            path,
            &page,
            &[
                ("password", "password1234"),
                ("confirm", "password1234"),
                ("code", &secret.code_at(now())),
            ],
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        weak.error_summary().contains("too common"),
        "{}",
        weak.error_summary()
    );

    let done = portal
        .post_form(
            path,
            &page,
            &[
                ("password", PASSWORD),
                ("confirm", PASSWORD),
                ("code", &secret.code_at(now())),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("recovery codes"));
    let again = portal.get(path).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "the link works once");
    // The database holds the authenticator secret sealed, never as the app
    // was given it.
    let stored = portal
        .store
        .staff_by_email(Some(&city.id), &email.to_lowercase())
        .await
        .unwrap()
        .unwrap()
        .totp_secret
        .unwrap();
    assert!(
        civicpay_identity::TotpKey::is_sealed(&stored) && !stored.contains(secret.base32()),
        "stored in clear: {stored}"
    );
    secret
}

/// Signs in through both steps and returns the session cookie.
async fn sign_in(portal: &Portal, tenant: &str, email: &str, secret: &TotpSecret) -> String {
    let prefix = format!("/{tenant}/staff");
    let form = portal.get(&format!("{prefix}/sign-in")).await;
    let step_one = portal
        .post_form(
            &format!("{prefix}/sign-in"),
            &form,
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(step_one.status, StatusCode::SEE_OTHER, "{}", step_one.body);
    assert_eq!(step_one.location(), format!("{prefix}/second-factor"));
    let half = step_one.cookie(STAFF_COOKIE).unwrap();
    // The password alone opens nothing.
    let refused = portal.get_as(&format!("{prefix}/"), &half).await;
    assert_eq!(refused.location(), format!("{prefix}/sign-in"));

    let code_page = portal
        .get_as(&format!("{prefix}/second-factor"), &half)
        .await;
    assert_eq!(code_page.status, StatusCode::OK);
    // The code one step ahead: the one enrolment used is spent.
    let step_two = portal
        .post_as(
            &format!("{prefix}/second-factor"),
            &code_page,
            &half,
            &[("code", &secret.code_at(now() + 30))],
        )
        .await;
    assert_eq!(step_two.status, StatusCode::SEE_OTHER, "{}", step_two.body);
    let full = step_two.cookie(STAFF_COOKIE).unwrap();
    assert_ne!(full, half, "the session token changes at sign-in");
    full
}

#[tokio::test]
async fn a_clerk_enrols_and_signs_in_with_password_and_code() {
    clerk_signs_in(Portal::new().await).await;
}

#[tokio::test]
async fn a_clerk_enrols_and_signs_in_on_postgres() {
    let Some(db) = TestDb::postgres().await.unwrap() else {
        eprintln!("skipped: set CIVICPAY_TEST_POSTGRES_URL to run this test on PostgreSQL");
        return;
    };
    clerk_signs_in(Portal::on(db, PortalConfig::default()).await).await;
}

async fn clerk_signs_in(portal: Portal) {
    let secret = enrol(&portal, "springfield", "Ana@Springfield.gov", Role::Clerk).await;
    let cookie = sign_in(&portal, "springfield", "ana@springfield.gov", &secret).await;
    let home = portal.get_as("/springfield/staff/", &cookie).await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    assert!(home.body.contains("ana@springfield.gov (clerk)"));
    assert!(home.body.contains("Find a bill"));
    assert!(
        !home.body.contains("Audit log"),
        "a clerk's menu shows only what a clerk may open"
    );
    assert_security_headers(&home, "staff console");

    // A wrong code is refused and counted; a replayed one too.
    let form = portal.get("/springfield/staff/sign-in").await;
    let half = portal
        .post_form(
            "/springfield/staff/sign-in",
            &form,
            &[("email", "ana@springfield.gov"), ("password", PASSWORD)],
        )
        .await
        .cookie(STAFF_COOKIE)
        .unwrap();
    let code_page = portal
        .get_as("/springfield/staff/second-factor", &half)
        .await;
    let replay = portal
        .post_as(
            "/springfield/staff/second-factor",
            &code_page,
            &half,
            &[("code", &secret.code_at(now() + 30))],
        )
        .await;
    assert_eq!(
        replay.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a code works once"
    );
    // The same session cookie in another city's console opens nothing.
    let elsewhere = portal.get_as("/lac-vert/staff/", &cookie).await;
    assert_eq!(elsewhere.location(), "/lac-vert/staff/sign-in");

    // Signing out ends the session on the server.
    let out = portal
        .post_as("/springfield/staff/sign-out", &home, &cookie, &[])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let after = portal.get_as("/springfield/staff/", &cookie).await;
    assert_eq!(after.location(), "/springfield/staff/sign-in");

    // Every step is in the city's audit log.
    let chain = civicpay_audit::ChainId::Tenant(portal.tenant("springfield").await.id);
    let entries = audit_log(&portal.store, &chain, None).await;
    let actions: Vec<&str> = entries.iter().rev().map(|e| e.action.as_str()).collect();
    for expected in [
        "staff.created",
        "second_factor.enrolled",
        "sign_in.succeeded",
        "sign_in.failed",
        "sign_out",
    ] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    portal.finish().await;
}

#[tokio::test]
async fn wrong_passwords_lock_the_account_and_messages_do_not_say_which_emails_exist() {
    let portal = Portal::new().await;
    let _secret = enrol(
        &portal,
        "springfield",
        "bo@springfield.gov",
        Role::Supervisor,
    )
    .await;
    let form = portal.get("/springfield/staff/sign-in").await;
    let unknown = portal
        .post_form(
            "/springfield/staff/sign-in",
            &form,
            &[("email", "nobody@springfield.gov"), ("password", PASSWORD)],
        )
        .await;
    let wrong = portal
        .post_form(
            "/springfield/staff/sign-in",
            &form,
            &[
                ("email", "bo@springfield.gov"),
                ("password", "not the password at all"),
            ],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        unknown.error_summary(),
        wrong.error_summary().replace("bo@", "nobody@")
    );
    for _ in 0..4 {
        portal
            .post_form(
                "/springfield/staff/sign-in",
                &form,
                &[
                    ("email", "bo@springfield.gov"),
                    ("password", "still not it, sorry"),
                ],
            )
            .await;
    }
    let locked = portal
        .post_form(
            "/springfield/staff/sign-in",
            &form,
            &[("email", "bo@springfield.gov"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(locked.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        locked.cookie(STAFF_COOKIE).is_none(),
        "the right password does not get in while locked"
    );
    // A locked account answers as an unknown address does: the lock does
    // not tell a stranger that the address has an account.
    let stranger = portal
        .post_form(
            "/springfield/staff/sign-in",
            &form,
            &[("email", "nobody@springfield.gov"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        locked.error_summary(),
        stranger.error_summary().replace("nobody@", "bo@")
    );
    assert!(
        locked.error_summary().contains("locked"),
        "{}",
        locked.error_summary()
    );
    let chain = civicpay_audit::ChainId::Tenant(portal.tenant("springfield").await.id);
    let lock_noted = audit_log(&portal.store, &chain, Some("sign_in.locked")).await;
    assert_eq!(
        lock_noted.len(),
        1,
        "the city's log still says it was the lock"
    );
    portal.finish().await;
}

#[tokio::test]
async fn an_idle_session_expires() {
    let portal = Portal::with(PortalConfig {
        staff_idle_timeout: Duration::from_millis(300),
        ..PortalConfig::default()
    })
    .await;
    let secret = enrol(&portal, "springfield", "cy@springfield.gov", Role::Finance).await;
    let cookie = sign_in(&portal, "springfield", "cy@springfield.gov", &secret).await;
    assert_eq!(
        portal.get_as("/springfield/staff/", &cookie).await.status,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let expired = portal.get_as("/springfield/staff/", &cookie).await;
    assert_eq!(expired.status, StatusCode::SEE_OTHER);
    assert_eq!(expired.location(), "/springfield/staff/sign-in");
    portal.finish().await;
}

#[tokio::test]
async fn staff_forms_without_a_form_token_are_refused() {
    let portal = Portal::new().await;
    let secret = enrol(
        &portal,
        "springfield",
        "dee@springfield.gov",
        Role::Administrator,
    )
    .await;
    let cookie = sign_in(&portal, "springfield", "dee@springfield.gov", &secret).await;
    for (uri, body) in [
        (
            "/springfield/staff/sign-in",
            "email=dee%40springfield.gov&password=x",
        ),
        (
            "/springfield/staff/team/invite",
            "email=new%40springfield.gov&role=clerk",
        ),
        ("/springfield/staff/settings", "threshold=1.00"),
        ("/springfield/staff/sign-out-everywhere", ""),
    ] {
        let refused = portal
            .send_with_cookies(
                Request::post(uri)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(body))
                    .unwrap(),
                &[&cookie],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{uri}");
    }
    let limits = portal
        .store
        .refund_limits(&portal.tenant("springfield").await.id)
        .await
        .unwrap();
    assert_eq!(limits.threshold, 10_000, "nothing changed");
    portal.finish().await;
}

/// A signed-in session made directly in the store, for the role matrix.
async fn session(portal: &Portal, tenant: Option<&Tenant>, role: Role) -> (StaffId, String) {
    let email = format!("{}-{}@city.gov", role.code(), uuid_suffix());
    let (id, link) = invite_staff(
        &portal.store,
        tenant,
        &email,
        role,
        "test",
        "http://portal.test",
    )
    .await
    .unwrap();
    let token_hash = SessionToken::from_cookie(link.rsplit('/').next().unwrap())
        .unwrap()
        .stored_hash();
    portal
        .store
        .complete_enrolment(
            tenant.map(|t| &t.id),
            &id,
            &token_hash,
            civicpay_store::portal::staff::Enrolment {
                password_hash: "x",
                totp_secret: "JBSWY3DPEHPK3PXP",
                totp_step: 1,
                recovery_code_hashes: &[],
            },
            civicpay_audit::NewEntry::new(
                civicpay_audit::ChainId::Platform,
                "test",
                civicpay_audit::Action::StaffEnrolled,
                "x",
                serde_json::json!({}),
            ),
        )
        .await
        .unwrap();
    let token = SessionToken::generate();
    portal
        .store
        .create_staff_session(
            &token.stored_hash(),
            &id,
            SessionStage::SignedIn,
            jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1),
        )
        .await
        .unwrap();
    (id, format!("{STAFF_COOKIE}={}", token.expose()))
}

fn uuid_suffix() -> String {
    civicpay_core::StaffId::generate().as_str().replace('-', "")
}

/// What a role gets at a route: GET, or POST with a valid form token,
/// whichever the route answers.
async fn try_route(
    portal: &Portal,
    prefix: &str,
    route: &str,
    cookie: &str,
    token_page: &Page,
) -> Page {
    let dummy = "0194a1a2-0000-7000-8000-000000000000";
    let path = route
        .replace("{bill}", dummy)
        .replace("{local}", dummy)
        .replace("{payment}", dummy)
        .replace("{request}", dummy)
        .replace("{staff}", dummy)
        .replace("{resident}", dummy)
        .replace("{slug}", "springfield");
    let uri = if path == "/" {
        format!("{prefix}/")
    } else {
        format!("{prefix}{path}")
    };
    let got = portal.get_as(&uri, cookie).await;
    if got.status != StatusCode::METHOD_NOT_ALLOWED {
        return got;
    }
    portal
        .post_as(
            &uri,
            token_page,
            cookie,
            &[
                ("role", "clerk"),
                ("decision", "approve"),
                ("language", "en"),
            ],
        )
        .await
}

#[tokio::test]
async fn every_route_admits_exactly_the_roles_that_may_use_it() {
    let portal = Portal::new().await;
    let springfield = portal.tenant("springfield").await;
    let token_page = portal.get("/springfield/staff/sign-in").await;
    let _ = FORM_COOKIE.set(token_page.form_cookie());
    let mut checked = 0;
    for role in Role::CITY_ROLES {
        let (_, cookie) = session(&portal, Some(&springfield), role).await;
        // Signing out everywhere ends the session, so it goes last.
        let ordered = ROUTES
            .iter()
            .filter(|r| r.path != "/sign-out-everywhere")
            .chain(ROUTES.iter().filter(|r| r.path == "/sign-out-everywhere"));
        for StaffRoute {
            path: route,
            access,
            ..
        } in ordered
        {
            let (route, access) = (*route, *access);
            let allowed = match access {
                Access::SignedIn => true,
                Access::Needs(p) => role.allows(p),
            };
            let page = try_route(&portal, "/springfield/staff", route, &cookie, &token_page).await;
            let what = format!(
                "{} at {route}: {} {}",
                role.code(),
                page.status,
                page.location()
            );
            if allowed {
                assert_ne!(page.status, StatusCode::FORBIDDEN, "{what}");
                assert!(
                    !page.location().ends_with("/sign-in") || route == "/sign-out-everywhere",
                    "{what}"
                );
                assert!(
                    page.status != StatusCode::INTERNAL_SERVER_ERROR,
                    "{what}: {}",
                    page.body
                );
            } else {
                assert_eq!(page.status, StatusCode::FORBIDDEN, "{what}");
            }
            checked += 1;
        }
        // A city's staff cannot open the platform console, and without a
        // session nothing opens at all.
        for StaffRoute { path: route, .. } in &PLATFORM_ROUTES {
            let platform = try_route(&portal, "/staff", route, &cookie, &token_page).await;
            assert_eq!(
                platform.location(),
                "/staff/sign-in",
                "{} at the platform's {route}",
                role.code()
            );
        }
    }
    for StaffRoute { path: route, .. } in &ROUTES {
        let anonymous = try_route(&portal, "/springfield/staff", route, "x=y", &token_page).await;
        assert_eq!(
            anonymous.location(),
            "/springfield/staff/sign-in",
            "anonymous at {route}"
        );
    }
    let (_, operator) = session(&portal, None, Role::PlatformOperator).await;
    let cities = portal.get_as("/staff/", &operator).await;
    assert!(cities.body.contains("/lac-vert/"), "{}", cities.body);
    for StaffRoute { path: route, .. } in &ROUTES {
        let page = try_route(&portal, "/springfield/staff", route, &operator, &token_page).await;
        assert!(
            page.status == StatusCode::FORBIDDEN || page.location().ends_with("/sign-in"),
            "the platform operator sees no city's console: {route} {}",
            page.status
        );
    }
    let platform_routes = PLATFORM_ROUTES
        .iter()
        .filter(|r| r.path != "/sign-out-everywhere")
        .chain(
            PLATFORM_ROUTES
                .iter()
                .filter(|r| r.path == "/sign-out-everywhere"),
        );
    for StaffRoute { path: route, .. } in platform_routes {
        let page = try_route(&portal, "/staff", route, &operator, &token_page).await;
        assert!(
            page.status.is_success()
                || page.status == StatusCode::SEE_OTHER
                || page.status == StatusCode::UNPROCESSABLE_ENTITY,
            "operator at {route}: {}",
            page.status
        );
        assert!(!page.location().ends_with("/sign-in") || *route == "/sign-out-everywhere");
    }
    assert_eq!(checked, ROUTES.len() * Role::CITY_ROLES.len());
    portal.finish().await;
}

#[tokio::test]
async fn an_administrator_invites_staff_and_sets_the_refund_threshold() {
    let portal = Portal::new().await;
    let springfield = portal.tenant("springfield").await;
    let (_, admin) = session(&portal, Some(&springfield), Role::Administrator).await;
    let team = portal.get_as("/springfield/staff/team", &admin).await;
    assert_eq!(team.status, StatusCode::OK);
    let _ = FORM_COOKIE.set(form_cookie_or_default(&team));
    let invited = portal
        .post_as(
            "/springfield/staff/team/invite",
            &team,
            &admin,
            &[("email", "eve@springfield.gov"), ("role", "supervisor")],
        )
        .await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    assert!(invited.body.contains("/springfield/staff/enrol/"));
    let duplicate = portal
        .post_as(
            "/springfield/staff/team/invite",
            &team,
            &admin,
            &[("email", "eve@springfield.gov"), ("role", "clerk")],
        )
        .await;
    assert_eq!(duplicate.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(duplicate.body.contains("already exists"));
    let bad_role = portal
        .post_as(
            "/springfield/staff/team/invite",
            &team,
            &admin,
            &[
                ("email", "x@springfield.gov"),
                ("role", "platform_operator"),
            ],
        )
        .await;
    assert_eq!(bad_role.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The error is on the field it is about, the summary links to it, and
    // what was typed is kept.
    assert!(
        bad_role.body.contains(r##"<a href="#role">"##),
        "{}",
        bad_role.body
    );
    assert!(bad_role.body.contains(r#"id="role-error""#));
    assert!(bad_role.body.contains(r#"value="x@springfield.gov""#));

    let settings = portal.get_as("/springfield/staff/settings", &admin).await;
    let bad = portal
        .post_as(
            "/springfield/staff/settings",
            &settings,
            &admin,
            &[("threshold", "lots")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("is not an amount"));
    assert!(bad.body.contains(r##"<a href="#threshold">"##));
    assert!(bad.body.contains(r#"aria-describedby="threshold-error""#));
    assert!(bad.body.contains(r#"value="lots""#));
    let saved = portal
        .post_as(
            "/springfield/staff/settings",
            &settings,
            &admin,
            &[("threshold", "250.00"), ("daily_limit", "many")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        saved
            .body
            .contains("Daily limit: &#34;many&#34; is not an amount"),
        "{}",
        saved.body
    );
    let saved = portal
        .post_as(
            "/springfield/staff/settings",
            &settings,
            &admin,
            &[("threshold", "250.00"), ("daily_limit", "1,000.00")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK);
    let limits = portal.store.refund_limits(&springfield.id).await.unwrap();
    assert_eq!(limits.threshold, 25_000);
    assert_eq!(limits.per_staff_daily, Some(100_000));

    let (_, auditor) = session(&portal, Some(&springfield), Role::Auditor).await;
    let log = portal
        .get_as("/springfield/staff/audit?action=setting.changed", &auditor)
        .await;
    assert_eq!(log.status, StatusCode::OK);
    // Details read as labelled fields, a change as before → after.
    assert!(
        log.body.contains(
            "<dt>refund approval threshold</dt><dd>10000 → 25000</dd><dt>refund daily limit per staff</dt><dd>none → 100000</dd>"
        ),
        "{}",
        log.body
    );
    assert!(log.body.contains("staff:administrator-"));
    portal.finish().await;
}

/// The platform operator adds a city from the console's form (refused
/// field by field first, by the checks `city apply` makes), pay is told of
/// it, residents can reach it; pausing it tells pay and shows residents the
/// paused page; and its first administrator is invited.
#[tokio::test]
async fn the_platform_operator_adds_a_city_pauses_it_and_invites_its_administrator() {
    on_both(async |db| {
        let pay = FakePay::start().await;
        let portal = pay.portal(db).await;
        let (_, operator) = session(&portal, None, Role::PlatformOperator).await;
        let form = portal.get_as("/staff/new-city", &operator).await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let _ = FORM_COOKIE.set(form_cookie_or_default(&form));
        let mut fields = vec![
            ("slug", "riverton"),
            ("name_en", "City of Riverton"),
            ("name_es", "Ciudad de Riverton"),
            ("currency", "USD"),
            ("time_zone", "America/Chikago"),
            ("default_language", "en"),
            ("contact_name", "Riverton Treasury"),
            ("contact_postal_address", "1 Main St, Riverton, WY 82501"),
            ("contact_phone", "+1 307-555-0100"),
            ("contact_email", "treasury@riverton.example"),
            ("bill_slug", "water"),
            ("bill_kind", "utility"),
            ("bill_name_en", "Water"),
            ("bill_gl_code", ""),
        ];
        let refused = portal
            .post_as("/staff/new-city", &form, &operator, &fields)
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.body
        );
        for id in ["time_zone", "bill_gl_code"] {
            assert!(
                refused.body.contains(&format!(r##"<a href="#{id}">"##)),
                "{id} is named: {}",
                refused.body
            );
        }
        assert!(refused.body.contains(r#"value="City of Riverton""#));
        let riverton = TenantSlug::parse("riverton").unwrap();
        assert!(
            portal
                .store
                .tenant_by_slug(&riverton)
                .await
                .unwrap()
                .is_none()
        );
        fields.retain(|(k, _)| !matches!(*k, "time_zone" | "bill_gl_code"));
        fields.extend([
            ("time_zone", "America/Denver"),
            ("bill_gl_code", "100-4410"),
        ]);
        let created = portal
            .post_as("/staff/new-city", &form, &operator, &fields)
            .await;
        assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
        assert_eq!(created.location(), "/staff/cities/riverton");
        let city = portal.tenant("riverton").await;
        assert_eq!(city.time_zone.as_str(), "America/Denver");
        assert_eq!(
            portal.store.bill_types(&city.id).await.unwrap()[0]
                .gl_code
                .as_str(),
            "100-4410"
        );
        let registered = |suspended: bool| {
            pay.bodies
                .lock()
                .unwrap()
                .iter()
                .filter(|b| b["slug"] == "riverton" && b["suspended"] == suspended)
                .count()
        };
        assert_eq!(registered(false), 1, "pay is told of the new city");
        assert_eq!(portal.get("/riverton/").await.status, StatusCode::OK);
        // The same slug again is refused, on its field.
        let again = portal
            .post_as("/staff/new-city", &form, &operator, &fields)
            .await;
        assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(again.body.contains("already a city"), "{}", again.body);

        let page = portal.get_as("/staff/cities/riverton", &operator).await;
        assert!(page.body.contains("Pause payments"), "{}", page.body);
        let paused = portal
            .post_as("/staff/cities/riverton/pause", &page, &operator, &[])
            .await;
        assert_eq!(paused.status, StatusCode::SEE_OTHER, "{}", paused.body);
        assert!(portal.tenant("riverton").await.suspended);
        assert_eq!(registered(true), 1, "pay is told of the pause");
        assert_eq!(
            portal.get("/riverton/").await.status,
            StatusCode::SERVICE_UNAVAILABLE
        );
        let list = portal.get_as("/staff/", &operator).await;
        assert!(list.body.contains("Paused"), "{}", list.body);
        let page = portal.get_as("/staff/cities/riverton", &operator).await;
        let resumed = portal
            .post_as("/staff/cities/riverton/resume", &page, &operator, &[])
            .await;
        assert_eq!(resumed.status, StatusCode::SEE_OTHER);
        assert!(!portal.tenant("riverton").await.suspended);
        assert_eq!(registered(false), 2);
        assert_eq!(portal.get("/riverton/").await.status, StatusCode::OK);
        // Sending the city to pay again (after pay was away) sends the
        // same registration, and says so.
        let sent = portal
            .post_as("/staff/cities/riverton/register", &page, &operator, &[])
            .await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
        assert_eq!(sent.location(), "/staff/cities/riverton?sent=1");
        assert_eq!(registered(false), 3);
        let told = portal.get_as(sent.location(), &operator).await;
        assert!(told.body.contains("Pay has the city&#39;s settings."));

        let bad = portal
            .post_as(
                "/staff/cities/riverton/administrators",
                &page,
                &operator,
                &[("email", "not an address")],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains(r##"<a href="#email">"##), "{}", bad.body);
        let invited = portal
            .post_as(
                "/staff/cities/riverton/administrators",
                &page,
                &operator,
                &[("email", "clerk.admin@riverton.example")],
            )
            .await;
        assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
        assert!(
            invited.body.contains("/riverton/staff/enrol/"),
            "{}",
            invited.body
        );
        let staff = portal.store.list_staff(Some(&city.id)).await.unwrap();
        assert_eq!(staff.len(), 1);
        assert_eq!(staff[0].role, Role::Administrator);
        let page = portal.get_as("/staff/cities/riverton", &operator).await;
        assert!(
            page.body
                .contains("<li>clerk.admin@riverton.example (invited)</li>"),
            "the operator sees who was invited and whether they enrolled: {}",
            page.body
        );
        // Each act is the platform operator's, on the record.
        let platform = audit_log(&portal.store, &civicpay_audit::ChainId::Platform, None).await;
        for action in ["tenant.suspended", "tenant.resumed"] {
            assert!(
                platform
                    .iter()
                    .any(|e| e.action == action && e.actor.starts_with("staff:platform_operator-")),
                "{action}"
            );
        }
        portal.finish().await;
    })
    .await;
}

/// The password step for `email`: the half-way session cookie.
async fn password_step(portal: &Portal, email: &str) -> String {
    let form = portal.get("/springfield/staff/sign-in").await;
    let step = portal
        .post_form(
            "/springfield/staff/sign-in",
            &form,
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(step.status, StatusCode::SEE_OTHER, "{}", step.body);
    step.cookie(STAFF_COOKIE).unwrap()
}

/// Someone who has the password cannot guess the second factor: one
/// half-way session at a time, every guess counted before it is checked
/// (concurrent guesses too), the lock refused on the code step as on the
/// password step, and every half-way session ended by the lock.
async fn second_factor_guessing(portal: Portal) {
    let secret = enrol(&portal, "springfield", "cy@springfield.gov", Role::Clerk).await;
    let first = password_step(&portal, "cy@springfield.gov").await;
    let second = password_step(&portal, "cy@springfield.gov").await;
    let gone = portal
        .get_as("/springfield/staff/second-factor", &first)
        .await;
    assert_eq!(
        gone.location(),
        "/springfield/staff/sign-in",
        "a new password step ends the earlier half-way session"
    );
    let code_page = std::sync::Arc::new(
        portal
            .get_as("/springfield/staff/second-factor", &second)
            .await,
    );
    assert_eq!(code_page.status, StatusCode::OK);
    // Twenty guesses at once on one session: only five are ever checked.
    let portal = std::sync::Arc::new(portal);
    let guesses: Vec<_> = (0..20)
        .map(|i| {
            let (portal, second, code_page) = (portal.clone(), second.clone(), code_page.clone());
            tokio::spawn(async move {
                let wrong = format!("{:06}", (i * 7919 + 13) % 1_000_000);
                portal
                    .post_as(
                        "/springfield/staff/second-factor",
                        &code_page,
                        &second,
                        &[("code", &wrong)],
                    )
                    .await
            })
        })
        .collect();
    for guess in guesses {
        let answer = guess.await.unwrap();
        // Refused with the form again, or (once the lock ended the
        // session) sent back to sign in; never into the console.
        assert!(
            answer.status != StatusCode::SEE_OTHER
                || answer.location() == "/springfield/staff/sign-in",
            "no guess gets in: {} {}",
            answer.status,
            answer.location()
        );
        assert!(
            answer.cookie(STAFF_COOKIE).is_none_or(|c| c.ends_with('=')),
            "no session for a guess"
        );
    }
    let chain = civicpay_audit::ChainId::Tenant(portal.tenant("springfield").await.id);
    let entries = audit_log(&portal.store, &chain, Some("sign_in.failed")).await;
    let checked = entries
        .iter()
        .filter(|e| e.details.contains("wrong second factor"))
        .count();
    assert_eq!(
        checked, 5,
        "exactly the allowed number of codes were checked"
    );
    // Locked: the half-way session is over, and the right code does not
    // help on a fresh one either (the password step refuses while locked).
    let after = portal
        .get_as("/springfield/staff/second-factor", &second)
        .await;
    assert_eq!(after.location(), "/springfield/staff/sign-in");
    let form = portal.get("/springfield/staff/sign-in").await;
    let refused = portal
        .post_form(
            "/springfield/staff/sign-in",
            &form,
            &[("email", "cy@springfield.gov"), ("password", PASSWORD)],
        )
        .await;
    assert!(refused.body.contains("locked"), "{}", refused.body);
    assert!(refused.cookie(STAFF_COOKIE).is_none());
    // A half-way session started before the lock refuses even the right code.
    let user = portal
        .store
        .staff_by_email(
            Some(&portal.tenant("springfield").await.id),
            "cy@springfield.gov",
        )
        .await
        .unwrap()
        .unwrap();
    let token = SessionToken::generate();
    portal
        .store
        .start_second_factor_session(
            &token.stored_hash(),
            &user.id,
            jiff::Timestamp::now() + jiff::SignedDuration::from_mins(5),
        )
        .await
        .unwrap();
    let planted = format!("{STAFF_COOKIE}={}", token.expose());
    let page = portal
        .get_as("/springfield/staff/second-factor", &planted)
        .await;
    let right = portal
        .post_as(
            "/springfield/staff/second-factor",
            &page,
            &planted,
            &[("code", &secret.code_at(now() + 30))],
        )
        .await;
    assert_ne!(
        right.status,
        StatusCode::SEE_OTHER,
        "the lock holds on the code step"
    );
    assert!(right.body.contains("locked"), "{}", right.body);
    std::sync::Arc::into_inner(portal).unwrap().finish().await;
}

#[tokio::test]
async fn the_second_factor_cannot_be_guessed_once_the_password_is_known() {
    second_factor_guessing(Portal::new().await).await;
}

#[tokio::test]
async fn the_second_factor_cannot_be_guessed_on_postgres() {
    let Some(db) = TestDb::postgres().await.unwrap() else {
        eprintln!("skipped: set CIVICPAY_TEST_POSTGRES_URL to run this test on PostgreSQL");
        return;
    };
    second_factor_guessing(Portal::on(db, PortalConfig::default()).await).await;
}

/// New recovery codes need the password and a current code again; an open
/// session alone is refused, and the refusal counts towards the lock.
async fn recovery_codes_need_reauthentication(portal: Portal) {
    let secret = enrol(&portal, "springfield", "di@springfield.gov", Role::Clerk).await;
    let cookie = sign_in(&portal, "springfield", "di@springfield.gov", &secret).await;
    let home = portal.get_as("/springfield/staff/", &cookie).await;
    let city = portal.tenant("springfield").await;
    let me = portal
        .store
        .staff_by_email(Some(&city.id), "di@springfield.gov")
        .await
        .unwrap()
        .unwrap();
    let before = portal.store.unused_recovery_codes(&me.id).await.unwrap();
    for fields in [
        vec![],
        vec![("password", PASSWORD), ("code", "000000")],
        vec![
            ("password", "not my password at all"),
            ("code", &*secret.code_at(now() + 60)),
        ],
    ] {
        let refused = portal
            .post_as("/springfield/staff/recovery-codes", &home, &cookie, &fields)
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{fields:?}"
        );
        assert!(refused.body.contains("not changed"), "{}", refused.body);
    }
    assert_eq!(
        portal.store.unused_recovery_codes(&me.id).await.unwrap(),
        before
    );
    let counted = portal
        .store
        .staff_by_email(Some(&city.id), "di@springfield.gov")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        counted.failed_sign_ins, 3,
        "each refusal counts towards the lock"
    );
    // Sign-in spent the newest code the clock allows; as if a minute had
    // passed, the authenticator's next code is acceptable again.
    civicpay_store::testing::execute_behind_the_back(
        &portal.store,
        &format!(
            "UPDATE staff_users SET totp_last_step = 0 WHERE id = '{}'",
            me.id
        ),
    )
    .await
    .unwrap();
    let made = portal
        .post_as(
            "/springfield/staff/recovery-codes",
            &home,
            &cookie,
            &[("password", PASSWORD), ("code", &secret.code_at(now()))],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    assert!(made.body.contains("new recovery codes"), "{}", made.body);
    portal.finish().await;
}

#[tokio::test]
async fn new_recovery_codes_need_the_password_and_a_code() {
    recovery_codes_need_reauthentication(Portal::new().await).await;
}

#[tokio::test]
async fn new_recovery_codes_need_the_password_and_a_code_on_postgres() {
    let Some(db) = TestDb::postgres().await.unwrap() else {
        eprintln!("skipped: set CIVICPAY_TEST_POSTGRES_URL to run this test on PostgreSQL");
        return;
    };
    recovery_codes_need_reauthentication(Portal::on(db, PortalConfig::default()).await).await;
}

/// A pay that holds `lines` ledger lines and serves them a page of 1000 at
/// a time, counting the pages asked for.
async fn pay_with_gl_lines(
    lines: usize,
) -> (
    civicpay_portal::PayLink,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let pages = std::sync::Arc::new(AtomicUsize::new(0));
    let asked = std::sync::Arc::clone(&pages);
    let pay = axum::Router::new()
        .route(
            "/v1/payments",
            axum::routing::get(|| async {
                axum::Json(serde_json::json!({"page": 1, "per_page": 200, "results": []}))
            }),
        )
        .route(
            "/v1/reports/gl-lines",
            axum::routing::get(
                move |axum::extract::Query(q): axum::extract::Query<
                    std::collections::HashMap<String, String>,
                >| {
                    let asked = std::sync::Arc::clone(&asked);
                    async move {
                        asked.fetch_add(1, Ordering::SeqCst);
                        assert!(q.contains_key("from") && q.contains_key("to"));
                        let start: usize = q.get("after").map_or(0, |a| a.parse().unwrap());
                        let end = (start + 1000).min(lines);
                        let body: Vec<serde_json::Value> = (start..end)
                            .map(|i| {
                                let reference = if i == 7 {
                                    "=HYPERLINK(\"http://evil.example\")".to_owned()
                                } else {
                                    format!("R-{i}")
                                };
                                serde_json::json!({
                                    "posted_at": "2026-11-20T15:00:00Z",
                                    "payment_id": "0194a1a2-0000-7000-8000-000000000001",
                                    "refund_id": null,
                                    "kind": if i % 3 == 2 { "fee" } else { "payment" },
                                    "gl_code": "100-4410",
                                    "amount": 1234,
                                    "currency": "USD",
                                    "reference": reference,
                                    "channel": if i % 10 == 0 { "moto" } else { "web" },
                                })
                            })
                            .collect();
                        axum::Json(serde_json::json!({
                            "lines": body,
                            "next": (end < lines).then(|| end.to_string()),
                        }))
                    }
                },
            ),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, pay).await });
    let link = civicpay_portal::PayLink {
        api_url: url,
        service_key: [5; 32],
        portal_public_url: "http://portal.test".into(),
        pay_public_url: "http://pay.test".into(),
    };
    (link, pages)
}

/// Finance staff download a payment search as one CSV row per GL line,
/// read from pay a page at a time to the end, formula-safe, and the
/// download is on the record.
#[tokio::test]
async fn finance_downloads_a_payment_search_as_gl_lines() {
    let (link, pages) = pay_with_gl_lines(2_500).await;
    let portal = Portal::with(PortalConfig {
        pay: Some(link),
        ..PortalConfig::default()
    })
    .await;
    let springfield = portal.tenant("springfield").await;
    let (_, finance) = session(&portal, Some(&springfield), Role::Finance).await;
    let csv = portal
        .get_as(
            "/springfield/staff/payments.csv?from=2026-11-01&to=2026-11-30",
            &finance,
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    assert_eq!(pages.load(std::sync::atomic::Ordering::SeqCst), 3);
    let rows: Vec<&str> = csv.body.lines().collect();
    assert_eq!(rows.len(), 2_501, "a header and every line");
    assert_eq!(
        rows[0],
        "posted_at,payment_id,refund_id,kind,gl_code,amount,currency,reference,channel"
    );
    assert_eq!(
        rows[1],
        "2026-11-20T09:00:00-06:00,0194a1a2-0000-7000-8000-000000000001,,payment,100-4410,12.34,USD,R-0,moto"
    );
    assert!(rows[3].contains(",fee,"), "{}", rows[3]);
    assert!(
        rows[8].contains(r#","'=HYPERLINK(""http://evil.example"")",web"#),
        "a formula is defused: {}",
        rows[8]
    );
    assert_eq!(rows[2_500].split(',').nth(7), Some("R-2499"));

    // The search's channel narrows the lines.
    let phone = portal
        .get_as("/springfield/staff/payments.csv?channel=moto", &finance)
        .await;
    assert_eq!(phone.body.lines().count(), 251);
    let bad = portal
        .get_as("/springfield/staff/payments.csv?from=yesterday", &finance)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // The search page offers it to finance staff, not to a clerk.
    let search = portal.get_as("/springfield/staff/payments", &finance).await;
    assert!(
        search.body.contains("/springfield/staff/payments.csv?"),
        "{}",
        search.body
    );
    let (_, clerk) = session(&portal, Some(&springfield), Role::Clerk).await;
    let search = portal.get_as("/springfield/staff/payments", &clerk).await;
    assert!(!search.body.contains("payments.csv"));
    let chain = civicpay_audit::ChainId::Tenant(springfield.id.clone());
    let downloads = audit_log(&portal.store, &chain, Some("export.downloaded")).await;
    assert_eq!(downloads.len(), 2, "each download is on the record");
    portal.finish().await;
}

/// A resident who lost their authenticator: a supervisor finds the account
/// by its address (the look-up is audited), sees the e-mails sent to it,
/// cannot turn off its two-step sign-in without writing down how they
/// checked who is asking, then does; the note is in the audit log and the
/// resident is e-mailed.
#[tokio::test]
async fn a_supervisor_helps_a_resident_who_lost_their_authenticator() {
    on_both(async |db| {
        let portal = Portal::on(db, PortalConfig::default()).await;
        let city = portal.tenant("springfield").await;
        let store = &portal.store;
        let id = store
            .create_resident(
                &city.id,
                "lena@example.org",
                "hash",
                civicpay_core::Language::Fr,
                "verify-lena",
                jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1),
            )
            .await
            .unwrap();
        store
            .confirm_resident(&city.id, "verify-lena")
            .await
            .unwrap();
        store
            .set_resident_totp(
                &city.id,
                &id,
                Some(("JBSWY3DPEHPK3PXP", 1)),
                &["h".into()],
                None,
            )
            .await
            .unwrap();
        store
            .note_mail_sent(
                &city.id,
                "lena@example.org",
                "Confirmez votre adresse",
                true,
            )
            .await
            .unwrap();
        let (_, supervisor) = session(&portal, Some(&city), Role::Supervisor).await;
        let missing = portal
            .get_as(
                "/springfield/staff/residents?email=nobody%40example.org",
                &supervisor,
            )
            .await;
        assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            missing.body.contains("No resident account"),
            "{}",
            missing.body
        );
        let found = portal
            .get_as(
                "/springfield/staff/residents?email=Lena%40Example.org",
                &supervisor,
            )
            .await;
        assert_eq!(found.status, StatusCode::OK, "{}", found.body);
        assert!(
            found.body.contains("on (one recovery code left)"),
            "{}",
            found.body
        );
        assert!(found.body.contains("Confirmez votre adresse"));
        let action = format!("/springfield/staff/residents/{id}/two-step-off");
        assert!(found.body.contains(&action));
        let _ = FORM_COOKIE.set(form_cookie_or_default(&found));
        let unchecked = portal
            .post_as(&action, &found, &supervisor, &[("identity_check", "ok")])
            .await;
        assert_eq!(unchecked.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(unchecked.body.contains(r##"<a href="#identity_check">"##));
        let resident = store.resident(&city.id, &id).await.unwrap().unwrap();
        assert!(resident.totp_secret.is_some(), "nothing changed");
        let note =
            "Called back on the number on water account 1000-61166; she gave the last amount paid";
        let reset = portal
            .post_as(&action, &found, &supervisor, &[("identity_check", note)])
            .await;
        assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
        assert!(
            reset.body.contains("Two-step sign-in is off"),
            "{}",
            reset.body
        );
        let resident = store.resident(&city.id, &id).await.unwrap().unwrap();
        assert!(resident.totp_secret.is_none());
        assert_eq!(
            store
                .resident_recovery_codes_left(&city.id, &id)
                .await
                .unwrap(),
            0
        );
        // The resident was written to, in French (no mail server here, so
        // it is noted as not sent).
        let mail = store
            .mail_sent_to(&city.id, "lena@example.org", 10)
            .await
            .unwrap();
        assert_eq!(
            mail[0].subject,
            "La connexion en deux étapes a été modifiée"
        );
        let entries = audit_log(
            store,
            &civicpay_audit::ChainId::Tenant(city.id.clone()),
            None,
        )
        .await;
        let reset = entries
            .iter()
            .find(|e| e.action == "resident.two_step_reset")
            .expect("the reset is audited");
        assert!(reset.details.contains("Called back"), "{}", reset.details);
        assert!(reset.actor.starts_with("staff:supervisor-"));
        assert!(entries.iter().any(|e| e.action == "resident.looked_up"));
        portal.finish().await;
    })
    .await;
}

/// A clerk taking a property tax by phone may take part of it, between the
/// type's minimum and the balance; the fee is worked out on the part, and
/// an amount out of bounds is refused before pay is asked.
#[tokio::test]
async fn a_clerk_takes_part_of_a_property_tax_by_phone() {
    let pay = FakePay::start().await;
    let portal = pay.portal(TestDb::sqlite().await.unwrap()).await;
    let (city, sample, bill) = portal.sample_bill("springfield", "property-tax").await;
    let (_, clerk) = session(&portal, Some(&city), Role::Clerk).await;
    let found = portal
        .get_as(
            &format!("/springfield/staff/bills?q={}", sample.reference),
            &clerk,
        )
        .await;
    let balance = bill.balance().to_plain(civicpay_core::DecimalStyle::Point);
    assert!(
        found
            .body
            .contains(&format!(r#"name="amount" value="{balance}""#)),
        "{}",
        found.body
    );
    let _ = FORM_COOKIE.set(form_cookie_or_default(&found));
    let action = format!("/springfield/staff/bills/{}/phone-payment", bill.id);
    let sent = || pay.bodies.lock().unwrap().len();
    let before = sent();
    let too_much = portal
        .post_as(&action, &found, &clerk, &[("amount", "999999.00")])
        .await;
    assert_eq!(too_much.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_much.body.contains("more than"), "{}", too_much.body);
    assert_eq!(sent(), before, "nothing reached pay");
    // A part: pay is asked for it plus the phone fee on it.
    let _ = portal
        .post_as(&action, &found, &clerk, &[("amount", "30.00")])
        .await;
    let body = pay.bodies.lock().unwrap().last().cloned().unwrap();
    assert_eq!(body["channel"], "moto", "{body}");
    let fee = body["fee"]["amount"].as_i64().unwrap();
    assert!(fee > 0, "{body}");
    assert_eq!(body["amount"].as_i64().unwrap() - fee, 3_000, "{body}");
    portal.finish().await;
}

/// An administrator changes whom residents contact: checked by the city
/// file's rules (each problem on its field, nothing saved), then saved with
/// an audit entry of what changed from what; saving it unchanged writes
/// nothing; the city's file says the new contact.
#[tokio::test]
async fn an_administrator_keeps_the_contact_residents_see() {
    on_both(async |db| {
        let portal = Portal::on(db, PortalConfig::default()).await;
        let city = portal.tenant("springfield").await;
        let (_, admin) = session(&portal, Some(&city), Role::Administrator).await;
        let settings = portal.get_as("/springfield/staff/settings", &admin).await;
        assert!(
            settings
                .body
                .contains("/springfield/staff/settings/contact")
        );
        let page = portal
            .get_as("/springfield/staff/settings/contact", &admin)
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains(&city.contact.phone), "{}", page.body);
        let _ = FORM_COOKIE.set(form_cookie_or_default(&page));
        let mut fields = vec![
            ("name", city.contact.name.as_str()),
            ("postal_address", city.contact.postal_address.as_str()),
            ("phone", ""),
            ("email", "not an address"),
        ];
        let refused = portal
            .post_as(
                "/springfield/staff/settings/contact",
                &page,
                &admin,
                &fields,
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        for id in ["phone", "email"] {
            assert!(
                refused.body.contains(&format!(r##"<a href="#{id}">"##)),
                "{id}"
            );
        }
        assert!(refused.body.contains(r#"value="not an address""#));
        assert_eq!(portal.tenant("springfield").await.contact, city.contact);
        fields[2] = ("phone", "+1 217-555-0199");
        fields[3] = ("email", "help@springfield.example");
        let audits = async || {
            audit_log(
                &portal.store,
                &civicpay_audit::ChainId::Tenant(city.id.clone()),
                Some("setting.changed"),
            )
            .await
        };
        let before = audits().await.len();
        for _ in 0..2 {
            let saved = portal
                .post_as(
                    "/springfield/staff/settings/contact",
                    &page,
                    &admin,
                    &fields,
                )
                .await;
            assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
            assert!(saved.body.contains("Saved."));
        }
        let after = portal.tenant("springfield").await;
        assert_eq!(after.contact.phone, "+1 217-555-0199");
        let entries = audits().await;
        assert_eq!(entries.len(), before + 1, "the second save changed nothing");
        let details = &entries[0].details;
        assert!(
            details.contains(&format!(
                r#""phone":{{"from":"{}","to":"+1 217-555-0199"}}"#,
                city.contact.phone
            )),
            "{details}"
        );
        assert!(
            !details.contains("postal_address"),
            "only what changed: {details}"
        );
        let types = portal.store.bill_types(&city.id).await.unwrap();
        let file = civicpay_core::city_file::export(&after, &types).unwrap();
        assert!(file.contains("help@springfield.example"), "{file}");
        portal.finish().await;
    })
    .await;
}

/// A pause pay could not take changes nothing, so the operator's retry is
/// the same button.
#[tokio::test]
async fn a_pause_pay_cannot_take_changes_nothing() {
    let portal = Portal::with(PortalConfig {
        pay: Some(civicpay_portal::PayLink {
            api_url: "http://127.0.0.1:9".into(),
            service_key: [5; 32],
            portal_public_url: "http://portal.test".into(),
            pay_public_url: "http://pay.test".into(),
        }),
        ..PortalConfig::default()
    })
    .await;
    let (_, operator) = session(&portal, None, Role::PlatformOperator).await;
    let page = portal.get_as("/staff/cities/springfield", &operator).await;
    let _ = FORM_COOKIE.set(form_cookie_or_default(&page));
    let refused = portal
        .post_as("/staff/cities/springfield/pause", &page, &operator, &[])
        .await;
    assert_eq!(refused.status, StatusCode::BAD_GATEWAY, "{}", refused.body);
    assert!(!portal.tenant("springfield").await.suspended);
    let page = portal.get_as("/staff/cities/springfield", &operator).await;
    assert!(
        page.body.contains("Pause payments"),
        "the button is still there to retry"
    );
    let unsent = portal
        .post_as("/staff/cities/springfield/register", &page, &operator, &[])
        .await;
    assert_eq!(
        unsent.status,
        StatusCode::BAD_GATEWAY,
        "pay away: said, not hidden"
    );
    portal.finish().await;
}

/// Every console page a role opens, in each language: no key without a
/// translation, the page's language declared, and the choice remembered
/// on the person (the city's default language until they choose).
#[tokio::test]
async fn the_console_reads_in_each_language_and_remembers_the_choice() {
    let portal = Portal::new().await;
    let springfield = portal.tenant("springfield").await;
    let lac_vert = portal.tenant("lac-vert").await;
    let token_page = portal.get("/springfield/staff/sign-in").await;
    let _ = FORM_COOKIE.set(token_page.form_cookie());
    assert!(token_page.body.contains(r#"<html lang="en">"#));
    let french_city = portal.get("/lac-vert/staff/sign-in").await;
    assert!(
        french_city.body.contains(r#"<html lang="fr">"#)
            && french_city.body.contains("Connexion du personnel"),
        "a city's console starts in the city's language: {}",
        french_city.body
    );
    let (_, lac_vert_clerk) = session(&portal, Some(&lac_vert), Role::Clerk).await;
    let home = portal.get_as("/lac-vert/staff/", &lac_vert_clerk).await;
    assert!(
        home.body.contains("Se déconnecter partout"),
        "{}",
        home.body
    );
    let mut checked = 0;
    for language in Language::ALL {
        let code = language.code();
        for role in Role::CITY_ROLES {
            let (id, cookie) = session(&portal, Some(&springfield), role).await;
            let home = portal.get_as("/springfield/staff/", &cookie).await;
            assert!(
                home.body.contains("Sign out everywhere"),
                "English by default"
            );
            let chosen = portal
                .post_as(
                    "/springfield/staff/language",
                    &home,
                    &cookie,
                    &[("language", code), ("back", "/springfield/staff/payments")],
                )
                .await;
            assert_eq!(chosen.status, StatusCode::SEE_OTHER, "{}", chosen.body);
            assert_eq!(chosen.location(), "/springfield/staff/payments");
            let stored = portal
                .store
                .staff_by_id(Some(&springfield.id), &id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(stored.language, Some(language));
            for route in ROUTES.iter().filter(|r| !r.path.contains('{')) {
                let uri = format!("/springfield/staff{}", route.path);
                let page = portal.get_as(&uri, &cookie).await;
                if !(page.status.is_success() || page.status == StatusCode::UNPROCESSABLE_ENTITY)
                    || !page.body.contains("staff-bar")
                {
                    continue;
                }
                let what = format!("{} in {code} at {uri}", role.code());
                assert!(
                    page.body.contains(&format!(r#"<html lang="{code}">"#)),
                    "{what}"
                );
                assert!(
                    !page.body.contains(civicpay_web::i18n::MISSING_MARK),
                    "{what}: untranslated key in {}",
                    page.body
                );
                if language != Language::En {
                    assert!(
                        !page.body.contains("Sign out everywhere"),
                        "{what}: still in English"
                    );
                }
                checked += 1;
            }
        }
    }
    // Each role's own pages: home, bills, residents, audit, staff and
    // the settings pages, as each role may open them.
    assert!(checked >= 3 * 12, "only {checked} pages read");
    let (_, cookie) = session(&portal, Some(&springfield), Role::Clerk).await;
    let home = portal.get_as("/springfield/staff/", &cookie).await;
    for (language, back) in [("xx", "/springfield/staff/"), ("es", "https://evil.test/")] {
        let answer = portal
            .post_as(
                "/springfield/staff/language",
                &home,
                &cookie,
                &[("language", language), ("back", back)],
            )
            .await;
        if language == "xx" {
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
        } else {
            assert_eq!(answer.location(), "/springfield/staff/");
        }
    }
    portal.finish().await;
}

/// An administrator chooses the languages residents read the city in: the
/// first must be offered, a refused form changes nothing, and a change is
/// audited with before and after and reaches the residents' pages.
#[tokio::test]
async fn an_administrator_sets_the_languages_residents_read() {
    on_both(async |db| {
        let portal = Portal::on(db, PortalConfig::default()).await;
        let city = portal.tenant("springfield").await;
        let (_, admin) = session(&portal, Some(&city), Role::Administrator).await;
        let uri = "/springfield/staff/settings/languages";
        let page = portal.get_as(uri, &admin).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let _ = FORM_COOKIE.set(form_cookie_or_default(&page));
        let refused = portal
            .post_as(
                uri,
                &page,
                &admin,
                &[("default_language", "fr"), ("offer_en", "yes")],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains(r##"<a href="#default_language">"##));
        assert_eq!(portal.tenant("springfield").await.languages, city.languages);
        let before = audit_log(
            &portal.store,
            &civicpay_audit::ChainId::Tenant(city.id.clone()),
            Some("setting.changed"),
        )
        .await
        .len();
        let fields = [
            ("default_language", "es"),
            ("offer_en", "yes"),
            ("offer_es", "yes"),
        ];
        for _ in 0..2 {
            let saved = portal.post_as(uri, &page, &admin, &fields).await;
            assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
        }
        let after = portal.tenant("springfield").await;
        assert_eq!(after.default_language, Language::Es);
        assert_eq!(after.languages, [Language::En, Language::Es]);
        let entries = audit_log(
            &portal.store,
            &civicpay_audit::ChainId::Tenant(city.id.clone()),
            Some("setting.changed"),
        )
        .await;
        assert_eq!(entries.len(), before + 1, "the second save changed nothing");
        assert!(
            entries[0]
                .details
                .contains(r#""languages":{"from":["en","es","fr"],"to":["en","es"]}"#),
            "{}",
            entries[0].details
        );
        let home = portal.get("/springfield/").await;
        assert!(
            home.body.contains(r#"<html lang="es">"#),
            "the new first language"
        );
        assert!(
            !home.body.contains("?lang=fr"),
            "French is no longer offered"
        );
        portal.finish().await;
    })
    .await;
}

/// A bill two payments each paid in full is listed under Needs attention
/// with what it was paid over, for staff to refund.
#[tokio::test]
async fn a_bill_paid_twice_over_is_shown_for_a_refund() {
    let pay = FakePay::start().await;
    let portal = pay.portal(TestDb::sqlite().await.unwrap()).await;
    let (tenant, _, bill) = portal.sample_bill("springfield", "water").await;
    let (_, clerk) = session(&portal, Some(&tenant), Role::Clerk).await;
    let attention = "/springfield/staff/attention";
    let clear = portal.get_as(attention, &clerk).await;
    assert_eq!(clear.status, StatusCode::OK, "{}", clear.body);
    assert!(
        clear
            .body
            .contains("No bill has been paid more than it owes.")
    );
    for _ in 0..2 {
        portal.credit_balance(&tenant, &bill).await;
    }
    let flagged = portal.get_as(attention, &clerk).await;
    assert_eq!(flagged.status, StatusCode::OK, "{}", flagged.body);
    assert!(
        flagged.body.contains(&format!(
            r#"<td class="amount">{}</td></tr>"#,
            bill.balance().format(Language::En)
        )),
        "over by the balance paid twice: {}",
        flagged.body
    );
    assert!(flagged.body.contains(&format!(
        "/springfield/staff/payments?reference={}",
        bill.reference
    )));
    portal.finish().await;
}

/// A French-speaking administrator writes amounts as French readers do:
/// the refund threshold shows `100,00` and `150,00` saves 150.
#[tokio::test]
async fn console_amounts_are_written_the_way_the_reader_writes_them() {
    let portal = Portal::new().await;
    let city = portal.tenant("springfield").await;
    let (id, admin) = session(&portal, Some(&city), Role::Administrator).await;
    portal
        .store
        .set_staff_language(Some(&city.id), &id, Language::Fr)
        .await
        .unwrap();
    let uri = "/springfield/staff/settings";
    let page = portal.get_as(uri, &admin).await;
    let threshold = portal
        .store
        .refund_limits(&city.id)
        .await
        .unwrap()
        .threshold;
    let shown = civicpay_core::Money::from_minor(threshold, city.currency)
        .to_plain(civicpay_core::DecimalStyle::for_language(Language::Fr));
    assert!(shown.contains(','), "{shown}");
    assert!(
        page.body.contains(&format!(r#"value="{shown}""#)),
        "{}",
        page.body
    );
    let _ = FORM_COOKIE.set(form_cookie_or_default(&page));
    let saved = portal
        .post_as(
            uri,
            &page,
            &admin,
            &[("threshold", "150,00"), ("daily_limit", "")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(
        portal
            .store
            .refund_limits(&city.id)
            .await
            .unwrap()
            .threshold,
        15_000
    );
    let refused = portal
        .post_as(
            uri,
            &page,
            &admin,
            &[("threshold", "cent"), ("daily_limit", "")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("comme 100,00"),
        "the example in French: {}",
        refused.body
    );
    portal.finish().await;
}

/// Staff see the notices their back office has not taken, with its last
/// answer, until it takes them; a city with no back office has no such list.
#[tokio::test]
async fn staff_see_the_notices_the_back_office_has_not_taken() {
    let office = BackOffice::start().await;
    let pay = FakePay::start().await;
    let portal = pay.portal(TestDb::sqlite().await.unwrap()).await;
    let city = portal.tenant("springfield").await;
    let (_, clerk) = session(&portal, Some(&city), Role::Clerk).await;
    let attention = "/springfield/staff/attention";
    let title = "Notices the back office has not taken";
    assert!(!portal.get_as(attention, &clerk).await.body.contains(title));
    let file = include_str!("../../../../examples/cities/springfield.toml").replace(
        "# back_office_webhook = \"https://erp.springfield.example/civicpay\"",
        &format!("back_office_webhook = \"{}\"", office.url),
    );
    portal
        .store
        .apply_city(&civicpay_core::city_file::parse(&file).unwrap(), "test")
        .await
        .unwrap();
    let (tenant, _, bill) = portal.sample_bill("springfield", "water").await;
    portal.credit_balance(&tenant, &bill).await;
    let state = AppState::new(
        portal.store.clone(),
        PortalConfig {
            pay: Some(pay.link()),
            ..PortalConfig::default()
        },
        [42; 32],
    );
    civicpay_portal::jobs::run_once(&state, "runner")
        .await
        .unwrap();
    let waiting = portal.get_as(attention, &clerk).await;
    assert_eq!(waiting.status, StatusCode::OK, "{}", waiting.body);
    assert!(waiting.body.contains(title));
    assert!(
        waiting
            .body
            .contains("<td>payment.credited</td><td>1</td><td>the back office answered 503 Service Unavailable</td>"),
        "{}",
        waiting.body
    );
    office
        .status
        .store(200, std::sync::atomic::Ordering::SeqCst);
    civicpay_store::testing::execute_behind_the_back(
        &portal.store,
        "UPDATE back_office_notices SET next_attempt_at = 0",
    )
    .await
    .unwrap();
    civicpay_portal::jobs::run_once(&state, "runner")
        .await
        .unwrap();
    let taken = portal.get_as(attention, &clerk).await;
    assert!(
        taken
            .body
            .contains("The back office has taken every notice of a payment."),
        "{}",
        taken.body
    );
    portal.finish().await;
}
