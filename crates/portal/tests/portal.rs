//! The portal over HTTP, in-process: resident look-up, errors, languages,
//! security headers, form tokens, rate limits and the bill API.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod account;
mod boundary;
mod browser;
mod staff;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use civicpay_core::TenantSlug;
use civicpay_portal::{AppState, PortalConfig, app};
use civicpay_store::demo::DemoBill;
use civicpay_store::testing::TestDb;
use civicpay_store::{Store, demo};
use civicpay_testkit::page::{Page, form_urlencoded};
use std::net::SocketAddr;
use tower::ServiceExt;

struct Portal {
    router: Router,
    store: Store,
    samples: Vec<DemoBill>,
    db: TestDb,
    /// The client address requests come from.
    peer: std::sync::Mutex<SocketAddr>,
}

impl Portal {
    async fn on(db: TestDb, config: PortalConfig) -> Portal {
        let summary = demo::seed(&db.store, 3).await.unwrap();
        let store = db.store.clone();
        let router = app(AppState::new(store.clone(), config, [42; 32]));
        Portal {
            router,
            store,
            samples: summary.samples,
            db,
            peer: std::sync::Mutex::new(SocketAddr::from(([198, 51, 100, 7], 40000))),
        }
    }

    async fn new() -> Portal {
        Portal::on(TestDb::sqlite().await.unwrap(), PortalConfig::default()).await
    }

    async fn with(config: PortalConfig) -> Portal {
        Portal::on(TestDb::sqlite().await.unwrap(), config).await
    }

    fn sample(&self, tenant: &str, bill_type: &str) -> DemoBill {
        self.samples
            .iter()
            .find(|s| s.tenant == tenant && s.bill_type == bill_type)
            .cloned()
            .unwrap()
    }

    /// The city, the demo sample of `bill_type` and its stored bill.
    /// Credits `bill` with a card payment of its whole balance, as pay's
    /// answer would; returns the portal's payment record id.
    async fn credit_balance(
        &self,
        tenant: &civicpay_core::Tenant,
        bill: &civicpay_core::Bill,
    ) -> String {
        let local = self
            .store
            .create_bill_payment(&tenant.id, &bill.id, bill.balance(), None)
            .await
            .unwrap();
        self.store
            .record_pay_outcome(
                &tenant.id,
                &local,
                &civicpay_pay_api::PaymentOutcome {
                    status: civicpay_core::payment::PaymentStatus::Success,
                    captured: bill.balance(),
                    fee: civicpay_core::Money::zero(bill.balance().currency()),
                    card: None,
                    email: None,
                    language: None,
                },
            )
            .await
            .unwrap();
        local
    }

    async fn sample_bill(
        &self,
        tenant: &str,
        bill_type: &str,
    ) -> (civicpay_core::Tenant, DemoBill, civicpay_core::Bill) {
        let city = self
            .store
            .tenant_by_slug(&TenantSlug::parse(tenant).unwrap())
            .await
            .unwrap()
            .unwrap();
        let sample = self.sample(tenant, bill_type);
        let kind = self
            .store
            .bill_type_by_slug(
                &city.id,
                &civicpay_core::BillTypeSlug::parse(bill_type).unwrap(),
            )
            .await
            .unwrap()
            .unwrap();
        let bill = self
            .store
            .bills_by_reference(
                &city.id,
                &kind.id,
                &civicpay_core::BillReference::parse(&sample.reference).unwrap(),
            )
            .await
            .unwrap()
            .remove(0);
        (city, sample, bill)
    }

    async fn send(&self, request: Request<Body>) -> Page {
        let mut request = request;
        let peer = *self.peer.lock().unwrap();
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        Page::read(self.router.clone().oneshot(request).await.unwrap()).await
    }

    async fn get(&self, uri: &str) -> Page {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    async fn get_with(&self, uri: &str, name: &str, value: &str) -> Page {
        self.send(
            Request::get(uri)
                .header(name, value)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    /// Submits a form the way a browser would after loading `page`.
    async fn post_form(&self, uri: &str, page: &Page, fields: &[(&str, &str)]) -> Page {
        let mut body = form_urlencoded(&[("form_token", page.form_token().as_str())]);
        body.push('&');
        body.push_str(&form_urlencoded(fields));
        self.send(
            Request::post(uri)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, page.form_cookie())
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    async fn look_up(&self, sample: &DemoBill, reference: &str, verification: &str) -> Page {
        let uri = format!("/{}/pay/{}", sample.tenant, sample.bill_type);
        let form = self.get(&uri).await;
        assert_eq!(form.status, StatusCode::OK);
        self.post_form(
            &uri,
            &form,
            &[("reference", reference), ("verification", verification)],
        )
        .await
    }

    /// Tells the portal, as pay does, that the payment it recorded as
    /// `bill_payment_id` succeeded; `payment` holds its amount, fee and
    /// reference.
    async fn pay_succeeded(
        &self,
        service_key: &[u8; 32],
        tenant: &civicpay_core::Tenant,
        bill_payment_id: &str,
        payment: serde_json::Value,
    ) -> Page {
        let amount = payment["amount"].clone();
        let fee = payment["fee_amount"].as_i64().unwrap_or(0);
        let body = serde_json::json!({
            "id": format!("evt-{bill_payment_id}"), "type": "payment.succeeded",
            "created_at": "2026-11-30T12:00:00Z",
            "payment": {"payment_id": format!("pay-{bill_payment_id}"), "status": "success",
                        "amount": amount, "currency": tenant.currency.code(),
                        "captured_amount": amount, "refunded_amount": 0,
                        "fee_amount": fee, "fee_refundable": false,
                        "reference": payment["reference"],
                        "metadata": {"bill_payment_id": bill_payment_id},
                        "card": {"brand": "visa", "last4": "4242"}}
        })
        .to_string();
        let secret =
            civicpay_web::service_key::portal_webhook_secret(service_key, tenant.id.as_str());
        let signed = civicpay_web::webhook_signature::sign(
            &secret,
            jiff::Timestamp::now().as_second(),
            body.as_bytes(),
        );
        self.send(
            Request::post(format!("/api/v1/pay-webhooks/{}", tenant.slug))
                .header(header::CONTENT_TYPE, "application/json")
                .header("civicpay-signature", signed)
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    async fn finish(self) {
        self.db.finish().await;
    }
}

fn assert_security_headers(page: &Page, what: &str) {
    let csp = page
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"));
    assert!(
        csp.starts_with("default-src 'none'; style-src 'sha256-"),
        "{what}: {csp}"
    );
    for directive in [
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "{what}: CSP lacks {directive}");
    }
    assert!(
        !csp.contains("unsafe-inline"),
        "{what}: CSP allows unsafe-inline"
    );
    assert_eq!(
        page.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        page.header("referrer-policy"),
        Some("no-referrer"),
        "{what}"
    );
    assert!(
        page.header("permissions-policy")
            .is_some_and(|p| p.contains("camera=()")),
        "{what}"
    );
}

#[tokio::test]
async fn every_route_sends_the_security_headers() {
    let portal = Portal::new().await;
    let sample = portal.sample("springfield", "water");
    let form = portal.get("/springfield/pay/water").await;
    let mut pages = vec![
        ("home", portal.get("/").await),
        ("city", portal.get("/springfield/").await),
        ("unknown city", portal.get("/atlantis/").await),
        ("lookup form", portal.get("/springfield/pay/water").await),
        ("health", portal.get("/healthz").await),
        ("favicon", portal.get("/favicon.ico").await),
        (
            "wrong method",
            portal
                .send(Request::delete("/").body(Body::empty()).unwrap())
                .await,
        ),
        (
            "api without key",
            portal
                .send(Request::post("/api/v1/bills").body(Body::empty()).unwrap())
                .await,
        ),
    ];
    pages.push((
        "lookup result",
        portal
            .look_up(&sample, &sample.reference, &sample.verification)
            .await,
    ));
    pages.push((
        "expired form",
        portal
            .post_form("/springfield/pay/water", &form, &[("form_token", "x")])
            .await,
    ));
    for (what, page) in &pages {
        assert_security_headers(page, what);
        assert!(
            page.header("strict-transport-security").is_none(),
            "{what}: HSTS without TLS"
        );
    }
    // The hash in the policy is the hash of the stylesheet the pages carry.
    let csp = pages[0]
        .1
        .header("content-security-policy")
        .unwrap()
        .to_owned();
    assert!(csp.contains(civicpay_web::style::stylesheet_hash()));
    assert!(pages[0].1.body.contains(civicpay_web::style::STYLESHEET));
    assert!(
        !pages[0].1.body.contains("<script"),
        "no JavaScript on resident pages"
    );
    portal.finish().await;
}

#[tokio::test]
async fn hsts_is_sent_when_served_over_tls_and_cookies_are_secure() {
    let portal = Portal::with(PortalConfig {
        served_over_tls: true,
        ..PortalConfig::default()
    })
    .await;
    let page = portal.get("/springfield/pay/water").await;
    assert!(
        page.header("strict-transport-security")
            .is_some_and(|h| h.starts_with("max-age="))
    );
    let cookie = page
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
    portal.finish().await;
}

#[tokio::test]
async fn home_lists_the_cities_and_a_city_lists_its_bill_types() {
    let portal = Portal::new().await;
    let home = portal.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("href=\"/springfield/\""));
    assert!(home.body.contains("href=\"/lac-vert/\""));
    let city = portal.get("/springfield/").await;
    assert!(city.body.contains("<h1>City of Springfield</h1>"));
    assert!(
        city.body
            .contains("href=\"/springfield/pay/parking\">Parking citation</a>")
    );
    assert!(city.body.contains("+1 217-555-0100"));
    let redirect = portal.get("/springfield").await;
    assert_eq!(redirect.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(redirect.header("location"), Some("/springfield/"));
    portal.finish().await;
}

#[tokio::test]
async fn unknown_cities_and_bill_types_get_a_clear_not_found_page() {
    let portal = Portal::new().await;
    for uri in [
        "/atlantis/",
        "/atlantis",
        "/springfield/pay/dog-licence",
        "/Springfield/",
        "/springfield/pay/eau",
        "/a/b/c/d",
    ] {
        let page = portal.get(uri).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(
            page.body.contains("<h1>Page not found</h1>"),
            "{uri}: {}",
            page.body
        );
    }
    let french = portal
        .get_with("/atlantis/", "accept-language", "fr-CA")
        .await;
    assert!(french.body.contains("<h1>Page introuvable</h1>"));
    portal.finish().await;
}

#[tokio::test]
async fn a_resident_finds_a_bill_however_they_type_the_reference() {
    let portal = Portal::new().await;
    let sample = portal.sample("springfield", "parking");
    let sloppy_reference = sample.reference.to_lowercase().replace('-', " ");
    let sloppy_plate = format!(" {} ", sample.verification.to_lowercase());
    let page = portal
        .look_up(&sample, &sloppy_reference, &sloppy_plate)
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains(&format!("Reference {}", sample.reference))
    );
    assert!(page.body.contains("Amount due"));
    assert!(
        page.body.contains("Pay $"),
        "a payable bill has a pay button"
    );
    assert!(page.body.contains("action=\"/springfield/bills/"));

    let bill_type = portal
        .store
        .bill_type_by_slug(
            &portal
                .store
                .tenant_by_slug(&TenantSlug::parse("springfield").unwrap())
                .await
                .unwrap()
                .unwrap()
                .id,
            &civicpay_core::BillTypeSlug::parse("parking").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        bill_type.verification,
        civicpay_core::VerificationKind::LicencePlate
    );
    portal.finish().await;
}

#[tokio::test]
async fn a_wrong_reference_and_a_wrong_verification_look_the_same() {
    let portal = Portal::new().await;
    let sample = portal.sample("springfield", "water");
    let wrong_reference = portal
        .look_up(&sample, "9999-99999", &sample.verification)
        .await;
    let wrong_verification = portal.look_up(&sample, &sample.reference, "00000").await;
    assert_eq!(wrong_reference.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong_verification.status, wrong_reference.status);
    assert!(!wrong_reference.error_summary().is_empty());
    assert_eq!(
        wrong_reference.error_summary(),
        wrong_verification.error_summary()
    );
    assert!(
        wrong_reference
            .error_summary()
            .contains("We could not find a bill with those details")
    );
    assert!(
        wrong_reference.body.contains("<title>Error: "),
        "the title says there is an error"
    );
    portal.finish().await;
}

#[tokio::test]
async fn empty_fields_are_reported_in_the_summary_and_beside_each_field() {
    let portal = Portal::new().await;
    let sample = portal.sample("springfield", "parking");
    let page = portal.look_up(&sample, "", "  ").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let summary = page.error_summary();
    assert!(
        summary.contains("<a href=\"#reference\">Enter the number printed on your bill</a>"),
        "{summary}"
    );
    assert!(
        summary.contains("<a href=\"#verification\">Enter the licence plate</a>"),
        "{summary}"
    );
    assert!(page.body.contains("id=\"reference-error\""));
    assert!(
        page.body
            .contains("aria-describedby=\"verification-hint verification-error\"")
    );
    portal.finish().await;
}

#[tokio::test]
async fn what_a_resident_typed_is_escaped_when_shown_again() {
    let portal = Portal::new().await;
    let sample = portal.sample("springfield", "water");
    let page = portal
        .look_up(&sample, "<script>alert(1)</script>", "\"><img src=x>")
        .await;
    assert!(
        !page.body.contains("<script>alert"),
        "typed markup is escaped"
    );
    assert!(!page.body.contains("<img src=x>"));
    assert!(
        page.body.contains("&#60;script&#62;") || page.body.contains("&lt;script&gt;"),
        "{}",
        page.body
    );
    portal.finish().await;
}

#[tokio::test]
async fn a_post_without_a_valid_form_token_is_refused() {
    let portal = Portal::new().await;
    let sample = portal.sample("springfield", "water");
    let uri = "/springfield/pay/water";
    let fields = form_urlencoded(&[
        ("reference", &sample.reference),
        ("verification", &sample.verification),
    ]);
    let no_cookie = portal
        .send(
            Request::post(uri)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(fields.clone()))
                .unwrap(),
        )
        .await;
    assert_eq!(no_cookie.status, StatusCode::FORBIDDEN);
    assert!(no_cookie.body.contains("This form has expired"));
    let form = portal.get(uri).await;
    let forged = portal
        .send(
            Request::post(uri)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, form.form_cookie())
                .body(Body::from(format!("form_token=forged&{fields}")))
                .unwrap(),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let cross_site = portal
        .send(
            Request::post(uri)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, form.form_cookie())
                .header("sec-fetch-site", "cross-site")
                .header("origin", "https://attacker.example")
                .header("host", "pay.city.example")
                .body(Body::from(format!(
                    "form_token={}&{fields}",
                    form.form_token()
                )))
                .unwrap(),
        )
        .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
    assert!(
        cross_site.body.contains("This form has expired"),
        "the cross-site refusal is a page too"
    );
    portal.finish().await;
}

#[tokio::test]
async fn look_ups_are_rate_limited_per_client_address() {
    let portal = Portal::with(PortalConfig {
        lookup_limit: 3,
        ..PortalConfig::default()
    })
    .await;
    let sample = portal.sample("springfield", "water");
    for _ in 0..3 {
        let page = portal.look_up(&sample, "0000-00000", "00000").await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let limited = portal
        .look_up(&sample, &sample.reference, &sample.verification)
        .await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=600).contains(&retry));
    assert!(limited.body.contains("Too many attempts"));
    assert!(limited.body.contains("Try again in"));
    portal.finish().await;
}

/// An IPv6 subscriber holds a whole /64: changing the low bits of the
/// address does not buy more look-ups, another /64 is someone else.
#[tokio::test]
async fn an_ipv6_client_is_limited_by_its_64() {
    let portal = Portal::with(PortalConfig {
        lookup_limit: 3,
        ..PortalConfig::default()
    })
    .await;
    let sample = portal.sample("springfield", "water");
    let from = |ip: &str| *portal.peer.lock().unwrap() = SocketAddr::new(ip.parse().unwrap(), 443);
    for host in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:a:b:c:d"] {
        from(host);
        let page = portal.look_up(&sample, "0000-00000", "00000").await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{host}");
    }
    from("2001:db8:1:2:ffff::9");
    let limited = portal.look_up(&sample, "0000-00000", "00000").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    from("2001:db8:1:3::1");
    let neighbour = portal.look_up(&sample, "0000-00000", "00000").await;
    assert_eq!(neighbour.status, StatusCode::UNPROCESSABLE_ENTITY);
    portal.finish().await;
}

#[tokio::test]
async fn the_language_follows_choice_then_browser_then_city() {
    let portal = Portal::new().await;
    let chosen = portal.get("/springfield/?lang=fr").await;
    assert!(chosen.body.contains("<html lang=\"fr\">"));
    assert!(chosen.body.contains("Que souhaitez-vous payer?"));
    let cookie = chosen.header("set-cookie").unwrap();
    assert!(cookie.starts_with("civicpay_lang=fr;"));
    let remembered = portal
        .get_with("/springfield/", "cookie", "civicpay_lang=es")
        .await;
    assert!(remembered.body.contains("<html lang=\"es\">"));
    let browser = portal
        .get_with("/springfield/", "accept-language", "es-MX,es;q=0.9")
        .await;
    assert!(browser.body.contains("¿Qué desea pagar?"));
    let city_default = portal.get("/lac-vert/").await;
    assert!(
        city_default.body.contains("<html lang=\"fr\">"),
        "Lac-Vert speaks French by default"
    );
    assert!(city_default.body.contains("Ville de Lac-Vert"));
    assert!(
        city_default.body.contains("hreflang=\"en\""),
        "the language switch is on the page"
    );
    portal.finish().await;
}

/// A city that offers French and English only: its switch shows those
/// two, a resident who asks for Spanish (by link, cookie or browser) reads
/// the city's default, and another city still speaks all three.
#[tokio::test]
async fn a_city_speaks_only_the_languages_it_offers() {
    on_both(async |db| {
        let portal = Portal::on(db, PortalConfig::default()).await;
        let two = include_str!("../../../examples/cities/lac-vert.toml").replace(
            "default_language = \"fr\"",
            "default_language = \"fr\"\nlanguages = [\"fr\", \"en\"]",
        );
        let file = civicpay_core::city_file::parse(&two).unwrap();
        let applied = portal.store.apply_city(&file, "test").await.unwrap();
        assert_eq!(applied.changes.len(), 1, "{:?}", applied.changes);
        let switch = |page: &Page| {
            ["en", "fr", "es"]
                .into_iter()
                .filter(|l| page.body.contains(&format!("hreflang=\"{l}\"")))
                .collect::<Vec<_>>()
        };
        let asked_spanish = [
            portal.get("/lac-vert/?lang=es").await,
            portal
                .get_with("/lac-vert/", "cookie", "civicpay_lang=es")
                .await,
            portal
                .get_with("/lac-vert/", "accept-language", "es-MX,es;q=0.9")
                .await,
            portal.get("/lac-vert/pay/eau?lang=es").await,
        ];
        for page in &asked_spanish {
            assert_eq!(page.status, StatusCode::OK);
            assert!(
                page.body.contains("<html lang=\"fr\">"),
                "the default instead"
            );
            assert_eq!(switch(page), ["en", "fr"]);
        }
        let english = portal.get("/lac-vert/?lang=en").await;
        assert!(english.body.contains("<html lang=\"en\">"));
        let other = portal.get("/springfield/?lang=es").await;
        assert!(other.body.contains("<html lang=\"es\">"));
        assert_eq!(switch(&other), ["en", "fr", "es"]);
        portal.finish().await;
    })
    .await;
}

#[tokio::test]
async fn every_page_is_fully_translated_in_every_language() {
    let portal = Portal::with(PortalConfig {
        lookup_limit: 1000,
        ..PortalConfig::default()
    })
    .await;
    for lang in ["en", "fr", "es"] {
        let mut bodies = Vec::new();
        for uri in ["/", "/springfield/", "/lac-vert/", "/atlantis/"] {
            bodies.push(portal.get(&format!("{uri}?lang={lang}")).await.body);
        }
        for sample in &portal.samples {
            let uri = format!("/{}/pay/{}?lang={lang}", sample.tenant, sample.bill_type);
            let form = portal.get(&uri).await;
            let cookie = format!("{}; civicpay_lang={lang}", form.form_cookie());
            let post = |fields: String| {
                Request::post(format!("/{}/pay/{}", sample.tenant, sample.bill_type))
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(header::COOKIE, cookie.clone())
                    .body(Body::from(format!(
                        "form_token={}&{fields}",
                        form.form_token()
                    )))
                    .unwrap()
            };
            let found = portal
                .send(post(form_urlencoded(&[
                    ("reference", &sample.reference),
                    ("verification", &sample.verification),
                ])))
                .await;
            assert_eq!(found.status, StatusCode::OK, "{lang} {uri}");
            let empty = portal
                .send(post(form_urlencoded(&[
                    ("reference", ""),
                    ("verification", ""),
                ])))
                .await;
            let invalid = portal
                .send(post(form_urlencoded(&[
                    ("reference", &"x".repeat(70)),
                    ("verification", "--"),
                ])))
                .await;
            bodies.extend([form.body, found.body, empty.body, invalid.body]);
        }
        for body in &bodies {
            assert!(body.contains(&format!("<html lang=\"{lang}\">")));
            assert!(
                !body.contains(civicpay_web::i18n::MISSING_MARK),
                "{lang}: untranslated key in {body}"
            );
        }
    }
    portal.finish().await;
}

#[tokio::test]
async fn bad_form_bodies_get_a_clear_error_not_a_crash() {
    let portal = Portal::new().await;
    let form = portal.get("/springfield/pay/water").await;
    for (content_type, body) in [
        ("application/json", "{\"reference\": 1}".to_owned()),
        ("application/x-www-form-urlencoded", "%zz=%%%".to_owned()),
        (
            "application/x-www-form-urlencoded",
            format!("reference={}", "9".repeat(3_000_000)),
        ),
    ] {
        let page = portal
            .send(
                Request::post("/springfield/pay/water")
                    .header(header::CONTENT_TYPE, content_type)
                    .header(header::COOKIE, form.form_cookie())
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await;
        assert!(
            page.status.is_client_error(),
            "{content_type}: {}",
            page.status
        );
        assert!(
            page.body.contains("<h1>"),
            "an error page, not a bare message"
        );
    }
    portal.finish().await;
}

#[tokio::test]
async fn the_pay_button_says_payment_is_not_yet_available() {
    let portal = Portal::new().await;
    let sample = portal.sample("lac-vert", "eau");
    let bill_page = portal
        .look_up(&sample, &sample.reference, &sample.verification)
        .await;
    let marker = "action=\"/lac-vert/bills/";
    let start = bill_page.body.find(marker).unwrap() + "action=\"".len();
    let action = &bill_page.body[start..start + bill_page.body[start..].find('"').unwrap()];
    let form = portal.get("/lac-vert/pay/eau").await;
    let page = portal.post_form(action, &form, &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("Le paiement en ligne n&#39;est pas encore offert"),
        "{}",
        page.body
    );
    // The same bill id under another city is not found.
    let elsewhere = action.replace("/lac-vert/", "/springfield/");
    assert_eq!(
        portal.post_form(&elsewhere, &form, &[]).await.status,
        StatusCode::NOT_FOUND
    );
    portal.finish().await;
}

/// Runs a test on SQLite, then on PostgreSQL when
/// `CIVICPAY_TEST_POSTGRES_URL` is set.
async fn on_both<F, Fut>(test: F)
where
    F: Fn(TestDb) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    test(TestDb::sqlite().await.unwrap()).await;
    match TestDb::postgres().await.unwrap() {
        Some(db) => test(db).await,
        None => eprintln!("PostgreSQL skipped: set CIVICPAY_TEST_POSTGRES_URL"),
    }
}

/// Stands in for pay: every resident has one saved card, a city's
/// registration is taken, every request's JSON body is kept, and no payment
/// is ever made (the portal sees pay as unavailable).
struct FakePay {
    url: String,
    bodies: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
}

impl FakePay {
    async fn start() -> FakePay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let bodies: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>> =
            std::sync::Arc::default();
        let kept = std::sync::Arc::clone(&bodies);
        let pay = axum::Router::new().fallback(
            move |uri: axum::http::Uri, body: axum::body::Bytes| async move {
                let json: serde_json::Value =
                    serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                if !json.is_null() {
                    kept.lock().unwrap().push(json.clone());
                }
                if uri.path() == "/v1/alerts/attention" {
                    return axum::Json(serde_json::json!({ "results": [] }));
                }
                if let Some(tenant) = uri.path().strip_prefix("/v1/platform/merchants/") {
                    return axum::Json(serde_json::json!({
                        "tenant_id": tenant, "slug": json["slug"], "suspended": json["suspended"]
                    }));
                }
                axum::Json(serde_json::json!({"cards": [
                    {"token": "card_tok_household", "last4": "4242", "exp_month": 12, "exp_year": 2040, "brand": "visa"}
                ]}))
            },
        );
        tokio::spawn(async move { axum::serve(listener, pay).await });
        FakePay {
            url: format!("http://{addr}"),
            bodies,
        }
    }

    /// A portal on `db` that reaches this pay.
    async fn portal(&self, db: TestDb) -> Portal {
        Portal::on(
            db,
            PortalConfig {
                pay: Some(self.link()),
                ..PortalConfig::default()
            },
        )
        .await
    }

    fn link(&self) -> civicpay_portal::PayLink {
        civicpay_portal::PayLink {
            api_url: self.url.clone(),
            service_key: [5; 32],
            portal_public_url: "http://portal.test".into(),
            pay_public_url: "http://pay.test".into(),
        }
    }

    fn payments_for(&self, bill_payment_id: &str) -> Vec<serde_json::Value> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .filter(|b| b["metadata"]["bill_payment_id"] == bill_payment_id)
            .cloned()
            .collect()
    }
}

/// A bill type with a web fee states it, and the total, before the card
/// page; one without says nothing of fees.
#[tokio::test]
async fn a_bill_with_a_convenience_fee_states_the_fee_and_the_total_before_paying() {
    let service_key = [78u8; 32];
    let portal = Portal::with(PortalConfig {
        pay: Some(civicpay_portal::PayLink {
            api_url: "http://127.0.0.1:9".into(),
            service_key,
            portal_public_url: "http://portal.test".into(),
            pay_public_url: "http://pay.test".into(),
        }),
        ..PortalConfig::default()
    })
    .await;
    let (tenant, sample, bill) = portal.sample_bill("springfield", "property-tax").await;
    use civicpay_testkit::amounts::{dollars, springfield_web_fee};
    let balance = bill.balance().minor();
    let fee = springfield_web_fee(balance);
    let page = portal
        .look_up(&sample, &sample.reference, &sample.verification)
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(&format!(
            "A service fee of {} applies to card payments for this bill. You will pay {}. \
             If you pay less, the next page shows the fee before you pay.",
            dollars(fee),
            dollars(balance + fee)
        )),
        "{}",
        page.body
    );
    let parking = portal.sample("springfield", "parking");
    let page = portal
        .look_up(&parking, &parking.reference, &parking.verification)
        .await;
    assert!(!page.body.contains("service fee"), "{}", page.body);

    // Pay captures the balance and the fee; the bill is credited with its
    // balance only, and is paid.
    let local = portal
        .store
        .create_bill_payment(&tenant.id, &bill.id, bill.balance(), None)
        .await
        .unwrap();
    let reply = portal
        .pay_succeeded(
            &service_key,
            &tenant,
            &local,
            serde_json::json!({"amount": balance + fee, "fee_amount": fee,
                               "reference": sample.reference}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let credited = portal
        .store
        .bill(&tenant.id, &bill.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        credited.amount_paid,
        bill.balance(),
        "the fee is not the bill's"
    );
    assert_eq!(credited.status, civicpay_core::BillStatus::Paid);
    portal.finish().await;
}

/// A bill type that takes part payments asks how much, refuses an amount
/// outside the minimum and the balance with a message that says which,
/// asks pay for the chosen amount and its own fee, and leaves the rest
/// owing once pay says it succeeded; a type paid whole refuses a part.
async fn part_payments(db: TestDb) {
    use civicpay_core::BillStatus;
    let pay = FakePay::start().await;
    let config = PortalConfig {
        pay: Some(pay.link()),
        ..PortalConfig::default()
    };
    let portal = Portal::on(db, config).await;
    let (tenant, sample, bill) = portal.sample_bill("springfield", "property-tax").await;
    let balance = bill.balance();
    assert!(balance.minor() > 10_000, "the sample owes more than $100");
    let plain = |m: civicpay_core::Money| m.to_decimal_string();

    let page = portal
        .look_up(&sample, &sample.reference, &sample.verification)
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("<label for=\"amount-1\">Amount to pay</label>"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(&format!("value=\"{}\"", plain(balance))),
        "the amount starts at the balance"
    );
    assert!(
        page.body
            .contains("at least $25.00, at most the amount due of")
    );
    assert!(page.body.contains("Continue to payment"));
    let action = {
        let start = page.body.find("action=\"/springfield/bills/").unwrap() + "action=\"".len();
        page.body[start..start + page.body[start..].find('"').unwrap()].to_owned()
    };

    // The bill page sets no form cookie of its own: post as from the
    // look-up form, the way the browser holds its cookie.
    let form = portal.get("/springfield/pay/property-tax").await;
    let over = plain(
        balance
            .checked_add(civicpay_core::Money::from_minor(1, tenant.currency))
            .unwrap(),
    );
    for (typed, message) in [
        ("10.00", "The amount must be at least $25.00".to_owned()),
        (
            over.as_str(),
            format!(
                "The amount cannot be more than the amount due of {}",
                balance.format(civicpay_core::Language::En)
            ),
        ),
        (
            "ten dollars",
            "Enter the amount as a number, like 25.50".to_owned(),
        ),
        ("", "Enter the amount to pay".to_owned()),
        ("-30.00", "Enter an amount more than zero".to_owned()),
    ] {
        let refused = portal.post_form(&action, &form, &[("amount", typed)]).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{typed}: {}",
            refused.body
        );
        assert!(refused.body.contains(&message), "{typed}: {}", refused.body);
        assert!(
            refused.body.contains("<a href=\"#amount-1\">"),
            "{typed}: the summary links the field"
        );
        assert!(
            refused.body.contains(&format!("value=\"{typed}\"")),
            "{typed}: what was typed is kept"
        );
    }
    assert!(
        pay.bodies.lock().unwrap().is_empty(),
        "nothing refused reached pay"
    );

    // $100.00 now: pay is asked for it and its own fee (2.35 %, at least $1).
    portal
        .post_form(&action, &form, &[("amount", "100.00")])
        .await;
    let asked = pay.bodies.lock().unwrap().clone();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0]["amount"], 10_000 + 235);
    assert_eq!(asked[0]["fee"]["amount"], 235);
    let local = asked[0]["metadata"]["bill_payment_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let recorded = portal
        .store
        .bill_payment(&tenant.id, &local)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(recorded.amount.minor(), 10_000);
    let reply = portal
        .pay_succeeded(
            &pay.link().service_key,
            &tenant,
            &local,
            serde_json::json!({"amount": 10_235, "fee_amount": 235, "reference": sample.reference}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let credited = portal
        .store
        .bill(&tenant.id, &bill.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        credited.amount_paid.minor(),
        bill.amount_paid.minor() + 10_000
    );
    assert_eq!(credited.status, BillStatus::PartiallyPaid);
    let left = balance.checked_sub(recorded.amount).unwrap();
    assert_eq!(credited.balance(), left);
    let again = portal
        .look_up(&sample, &sample.reference, &sample.verification)
        .await;
    assert!(
        again.body.contains(&format!("value=\"{}\"", plain(left))),
        "{}",
        again.body
    );

    // Parking tickets are paid whole: no amount field, and a posted part
    // is refused.
    let parking = portal.sample("springfield", "parking");
    let ticket = portal
        .look_up(&parking, &parking.reference, &parking.verification)
        .await;
    assert!(!ticket.body.contains("id=\"amount-1\""), "{}", ticket.body);
    let start = ticket.body.find("action=\"/springfield/bills/").unwrap() + "action=\"".len();
    let ticket_action = &ticket.body[start..start + ticket.body[start..].find('"').unwrap()];
    let refused = portal
        .post_form(ticket_action, &form, &[("amount", "1.00")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("This bill is paid in full"),
        "{}",
        refused.body
    );
    assert_eq!(
        pay.bodies.lock().unwrap().len(),
        1,
        "the refused part reached no one"
    );
    portal.finish().await;
}

#[tokio::test]
async fn a_resident_pays_part_of_a_bill_that_takes_part_payments() {
    on_both(part_payments).await;
}

/// Lac-Vert's taxes in French: the amount is shown and read with a
/// decimal comma.
#[tokio::test]
async fn a_part_payment_is_typed_with_a_decimal_comma_in_french() {
    let pay = FakePay::start().await;
    let portal = pay.portal(TestDb::sqlite().await.unwrap()).await;
    let sample = portal.sample("lac-vert", "taxes");
    let page = portal
        .look_up(&sample, &sample.reference, &sample.verification)
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Montant à payer"), "{}", page.body);
    let start = page.body.find("id=\"amount-1\"").unwrap();
    let value_at = start + page.body[start..].find("value=\"").unwrap() + "value=\"".len();
    let value = &page.body[value_at..value_at + page.body[value_at..].find('"').unwrap()];
    assert!(value.contains(',') && !value.contains('.'), "{value}");
    let form = portal.get("/lac-vert/pay/taxes").await;
    let action = {
        let start = page.body.find("action=\"/lac-vert/bills/").unwrap() + "action=\"".len();
        page.body[start..start + page.body[start..].find('"').unwrap()].to_owned()
    };
    portal
        .post_form(&action, &form, &[("amount", "30,50")])
        .await;
    let asked = pay.bodies.lock().unwrap().clone();
    assert_eq!(asked.len(), 1, "{asked:?}");
    let fee = asked[0]["fee"]["amount"].as_i64().unwrap_or(0);
    assert_eq!(asked[0]["amount"].as_i64().unwrap() - fee, 3_050);
    let refused = portal
        .post_form(&action, &form, &[("amount", "30,555")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("par exemple 25,50"),
        "{}",
        refused.body
    );
    portal.finish().await;
}

/// A city the platform paused tells residents so (with whom to call) on
/// every page that leads to paying, and starts no payment; another city
/// goes on; resumed, the city's pages are back.
async fn paused_city(db: TestDb) {
    let pay = FakePay::start().await;
    let portal = pay.portal(db).await;
    let (tenant, sample, bill) = portal.sample_bill("springfield", "water").await;
    let form = portal.get("/springfield/pay/water").await;
    assert!(
        portal
            .store
            .set_tenant_suspended(&tenant, true, "ops")
            .await
            .unwrap()
    );
    for page in [
        portal.get("/springfield/").await,
        portal.get("/springfield/pay/water").await,
        portal
            .post_form(
                "/springfield/pay/water",
                &form,
                &[
                    ("reference", &sample.reference),
                    ("verification", &sample.verification),
                ],
            )
            .await,
        portal
            .post_form(&format!("/springfield/bills/{}/pay", bill.id), &form, &[])
            .await,
    ] {
        assert_eq!(
            page.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            page.body
        );
        assert!(page.body.contains("Payments are paused"), "{}", page.body);
        assert!(page.body.contains(&tenant.contact.phone), "{}", page.body);
    }
    assert!(
        pay.bodies.lock().unwrap().is_empty(),
        "no payment was started"
    );
    assert_eq!(portal.get("/lac-vert/").await.status, StatusCode::OK);
    portal
        .store
        .set_tenant_suspended(&tenant, false, "ops")
        .await
        .unwrap();
    let back = portal.get("/springfield/").await;
    assert_eq!(back.status, StatusCode::OK);
    assert!(!back.body.contains("Payments are paused"));
    portal.finish().await;
}

#[tokio::test]
async fn a_paused_city_tells_residents_and_starts_no_payment() {
    on_both(paused_city).await;
}

async fn api_post(portal: &Portal, key: Option<&str>, body: &str) -> Page {
    let mut request =
        Request::post("/api/v1/bills").header(header::CONTENT_TYPE, "application/json");
    if let Some(key) = key {
        request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    portal
        .send(request.body(Body::from(body.to_owned())).unwrap())
        .await
}

const API_BILL: &str = r#"[{"external_id":"API-1","bill_type":"water","reference":"2000-12345","verification":"62704",
  "payer_name":"Ana Diaz","postal_address":"1 Elm St","amount":"42.00","due_date":"2026-12-31"}]"#;

#[tokio::test]
async fn the_bill_api_needs_a_key_and_writes_only_to_the_keys_city() {
    let portal = Portal::new().await;
    let springfield = portal
        .store
        .tenant_by_slug(&TenantSlug::parse("springfield").unwrap())
        .await
        .unwrap()
        .unwrap();
    let lac_vert = portal
        .store
        .tenant_by_slug(&TenantSlug::parse("lac-vert").unwrap())
        .await
        .unwrap()
        .unwrap();

    let anonymous = api_post(&portal, None, API_BILL).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let error: serde_json::Value = serde_json::from_str(&anonymous.body).unwrap();
    assert_eq!(error["code"], "unauthorized");
    assert_eq!(
        api_post(&portal, Some("cpk_not-a-key"), API_BILL)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    let key = portal
        .store
        .create_api_key(&springfield.id, "test")
        .await
        .unwrap();
    let created = api_post(&portal, Some(key.expose()), API_BILL).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let report: serde_json::Value = serde_json::from_str(&created.body).unwrap();
    assert_eq!(report["inserted"], 1);
    let again: serde_json::Value =
        serde_json::from_str(&api_post(&portal, Some(key.expose()), API_BILL).await.body).unwrap();
    assert_eq!(again["unchanged"], 1);

    let external = civicpay_core::ExternalId::parse("API-1").unwrap();
    assert!(
        portal
            .store
            .bill_by_external_id(&springfield.id, &external)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        portal
            .store
            .bill_by_external_id(&lac_vert.id, &external)
            .await
            .unwrap()
            .is_none()
    );

    // Lac-Vert's key cannot use Springfield's bill types, let alone its bills.
    let other_key = portal
        .store
        .create_api_key(&lac_vert.id, "test")
        .await
        .unwrap();
    let refused = api_post(&portal, Some(other_key.expose()), API_BILL).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let report: serde_json::Value = serde_json::from_str(&refused.body).unwrap();
    assert_eq!(report["written"], false);
    assert_eq!(report["errors"][0]["record"], 1);
    assert_eq!(report["errors"][0]["field"], "bill_type");
    portal.finish().await;
}

#[tokio::test]
async fn the_bill_api_reports_bad_json_clearly() {
    let portal = Portal::new().await;
    let springfield = portal
        .store
        .tenant_by_slug(&TenantSlug::parse("springfield").unwrap())
        .await
        .unwrap()
        .unwrap();
    let key = portal
        .store
        .create_api_key(&springfield.id, "test")
        .await
        .unwrap();
    for body in ["", "{", "{\"bills\": []}", "[1, 2]"] {
        let page = api_post(&portal, Some(key.expose()), body).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{body:?}");
        let report: serde_json::Value = serde_json::from_str(&page.body).unwrap();
        assert!(
            !report["errors"][0]["message"].as_str().unwrap().is_empty(),
            "{body:?}"
        );
    }
    portal.finish().await;
}

/// The resident flow on PostgreSQL too, when a server is configured.
#[tokio::test]
async fn a_resident_finds_a_bill_on_postgres() {
    let Some(db) = TestDb::postgres().await.unwrap() else {
        eprintln!(
            "skipped: set {} to run on PostgreSQL",
            civicpay_store::testing::POSTGRES_URL_VAR
        );
        return;
    };
    let portal = Portal::on(db, PortalConfig::default()).await;
    let sample = portal.sample("lac-vert", "stationnement");
    let found = portal
        .look_up(&sample, &sample.reference, &sample.verification)
        .await;
    assert_eq!(found.status, StatusCode::OK);
    assert!(found.body.contains(&sample.reference));
    let missing = portal.look_up(&sample, &sample.reference, "ZZZ999").await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    portal.finish().await;
}

/// Whatever arrives, the answer is a page or a clear error, never a 5xx:
/// random paths, random form bodies and random API bodies.
#[test]
fn arbitrary_requests_never_cause_a_server_error() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let portal = runtime.block_on(Portal::with(PortalConfig {
        lookup_limit: 100_000,
        ..PortalConfig::default()
    }));
    let key = runtime.block_on(async {
        let tenant = portal
            .store
            .tenant_by_slug(&TenantSlug::parse("springfield").unwrap())
            .await
            .unwrap()
            .unwrap();
        portal
            .store
            .create_api_key(&tenant.id, "fuzz")
            .await
            .unwrap()
    });
    let form = runtime.block_on(portal.get("/springfield/pay/water"));
    let segment = "[a-zA-Z0-9%._~!$&'()*+,;=:@-]{0,12}";
    let strategy = (
        proptest::collection::vec(segment, 0..5),
        "\\PC{0,200}",
        prop_oneof![Just("GET"), Just("POST")],
        prop_oneof![
            Just("/springfield/pay/water"),
            Just("/api/v1/bills"),
            Just("/lac-vert/bills/x/pay")
        ],
    );
    let mut runner = TestRunner::new(Config {
        cases: 300,
        ..Config::default()
    });
    runner
        .run(&strategy, |(segments, body, method, post_target)| {
            let path = format!("/{}", segments.join("/"));
            let (uri, body) = if method == "GET" {
                (path, String::new())
            } else {
                (
                    post_target.to_owned(),
                    format!(
                        "form_token={}&reference={body}&verification={body}",
                        form.form_token()
                    ),
                )
            };
            let Ok(request) = Request::builder()
                .method(method)
                .uri(&uri)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, form.form_cookie())
                .header(header::AUTHORIZATION, format!("Bearer {}", key.expose()))
                .body(Body::from(body))
            else {
                return Ok(());
            };
            let page = runtime.block_on(portal.send(request));
            prop_assert!(
                page.status.as_u16() < 500,
                "{method} {uri}: {}",
                page.status
            );
            Ok(())
        })
        .unwrap();
    runtime.block_on(portal.finish());
}

/// Pay's webhook: refused unless signed with the city's secret, and a bill
/// is credited once however often it arrives.
#[tokio::test]
async fn pay_webhooks_are_verified_and_credit_a_bill_once() {
    let service_key = [77u8; 32];
    let config = PortalConfig {
        pay: Some(civicpay_portal::PayLink {
            api_url: "http://127.0.0.1:9".into(),
            service_key,
            portal_public_url: "http://portal.test".into(),
            pay_public_url: "http://pay.test".into(),
        }),
        ..PortalConfig::default()
    };
    let portal = Portal::with(config).await;
    let tenant = portal
        .store
        .tenant_by_slug(&TenantSlug::parse("springfield").unwrap())
        .await
        .unwrap()
        .unwrap();
    let sample = portal.sample("springfield", "water");
    let water = portal
        .store
        .bill_type_by_slug(
            &tenant.id,
            &civicpay_core::BillTypeSlug::parse("water").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    let bill = portal
        .store
        .bills_by_reference(
            &tenant.id,
            &water.id,
            &civicpay_core::BillReference::parse(&sample.reference).unwrap(),
        )
        .await
        .unwrap()
        .remove(0);
    let local = portal
        .store
        .create_bill_payment(&tenant.id, &bill.id, bill.balance(), None)
        .await
        .unwrap();
    let body = serde_json::json!({
        "id": "d1", "type": "payment.succeeded", "created_at": "2026-11-30T12:00:00Z",
        "payment": {"payment_id": "p1", "status": "success", "amount": bill.balance().minor(), "currency": "USD",
                    "captured_amount": bill.balance().minor(), "refunded_amount": 0, "reference": "W-1",
                    "metadata": {"bill_payment_id": local}, "card": {"brand": "visa", "last4": "4242"}}
    })
    .to_string();
    let send = |signature: String| {
        Request::post("/api/v1/pay-webhooks/springfield")
            .header(header::CONTENT_TYPE, "application/json")
            .header("civicpay-signature", signature)
            .body(Body::from(body.clone()))
            .unwrap()
    };
    let now = jiff::Timestamp::now().as_second();
    let secret = civicpay_web::service_key::portal_webhook_secret(&service_key, tenant.id.as_str());
    let forged = civicpay_web::webhook_signature::sign("not-the-secret", now, body.as_bytes());
    assert_eq!(
        portal.send(send(forged)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let stale = civicpay_web::webhook_signature::sign(&secret, now - 3600, body.as_bytes());
    assert_eq!(
        portal.send(send(stale)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let other_city = portal
        .store
        .tenant_by_slug(&TenantSlug::parse("lac-vert").unwrap())
        .await
        .unwrap()
        .unwrap();
    let wrong_city = civicpay_web::webhook_signature::sign(
        &civicpay_web::service_key::portal_webhook_secret(&service_key, other_city.id.as_str()),
        now,
        body.as_bytes(),
    );
    assert_eq!(
        portal.send(send(wrong_city)).await.status,
        StatusCode::UNAUTHORIZED
    );
    for _ in 0..3 {
        let good = civicpay_web::webhook_signature::sign(&secret, now, body.as_bytes());
        assert_eq!(portal.send(send(good)).await.status, StatusCode::OK);
    }
    let credited = portal
        .store
        .bill(&tenant.id, &bill.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        credited.amount_paid,
        bill.balance(),
        "three deliveries, one credit"
    );
    assert_eq!(credited.status, civicpay_core::BillStatus::Paid);

    // A payment that names, in its metadata, a bill payment it did not
    // start is not credited to that bill.
    let started = portal
        .store
        .create_bill_payment(
            &tenant.id,
            &bill.id,
            civicpay_core::Money::from_minor(100, tenant.currency),
            None,
        )
        .await
        .unwrap();
    portal
        .store
        .attach_pay_payment(&tenant.id, &started, "pay-real")
        .await
        .unwrap();
    let forged_body = serde_json::json!({
        "id": "d2", "type": "payment.succeeded", "created_at": "2026-11-30T12:00:00Z",
        "payment": {"payment_id": "pay-forged", "status": "success", "amount": 100, "currency": "USD",
                    "captured_amount": 100, "refunded_amount": 0, "reference": "W-1",
                    "metadata": {"bill_payment_id": started}, "card": null}
    })
    .to_string();
    let signed = civicpay_web::webhook_signature::sign(&secret, now, forged_body.as_bytes());
    let reply = portal
        .send(
            Request::post("/api/v1/pay-webhooks/springfield")
                .header(header::CONTENT_TYPE, "application/json")
                .header("civicpay-signature", signed)
                .body(Body::from(forged_body))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let record = portal
        .store
        .bill_payment(&tenant.id, &started)
        .await
        .unwrap()
        .unwrap();
    assert!(
        record.applied_at.is_none(),
        "not credited from another payment's webhook"
    );
    let after = portal
        .store
        .bill(&tenant.id, &bill.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        after.amount_paid, credited.amount_paid,
        "nothing more was credited"
    );

    // An event type this version does not know is acknowledged (pay stops
    // retrying it); a payment event without its payment is refused.
    for (event, expected) in [
        (
            r#"{"id":"d3","type":"payment.disputed","created_at":"2026-11-30T12:00:00Z"}"#,
            StatusCode::OK,
        ),
        (
            r#"{"id":"d4","type":"payment.succeeded","created_at":"2026-11-30T12:00:00Z"}"#,
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let signed = civicpay_web::webhook_signature::sign(&secret, now, event.as_bytes());
        let reply = portal
            .send(
                Request::post("/api/v1/pay-webhooks/springfield")
                    .header(header::CONTENT_TYPE, "application/json")
                    .header("civicpay-signature", signed)
                    .body(Body::from(event))
                    .unwrap(),
            )
            .await;
        assert_eq!(reply.status, expected, "{event}");
    }
    portal.finish().await;
}

/// Sends pay's signed alarm `kind` with `alarm` to the portal; returns the
/// city's audit entries of `action` and the e-mails its contact received.
async fn alarm_from_pay(
    kind: &str,
    alarm: serde_json::Value,
    action: &str,
) -> (Vec<civicpay_audit::Entry>, Vec<String>, String) {
    let service_key = [78u8; 32];
    let outbox = std::env::temp_dir().join(format!(
        "civicpay-alarm-outbox-{}",
        civicpay_core::StaffId::generate()
    ));
    let config = PortalConfig {
        pay: Some(civicpay_portal::PayLink {
            api_url: "http://127.0.0.1:9".into(),
            service_key,
            portal_public_url: "http://portal.test".into(),
            pay_public_url: "http://pay.test".into(),
        }),
        mail: Some(civicpay_portal::Mail {
            config: civicpay_portal::MailConfig::Outbox(outbox.clone()),
            from: "civicpay <alarms@city.test>".into(),
        }),
        ..PortalConfig::default()
    };
    let portal = Portal::with(config).await;
    let tenant = portal
        .store
        .tenant_by_slug(&TenantSlug::parse("springfield").unwrap())
        .await
        .unwrap()
        .unwrap();
    let body = serde_json::json!({ "id": "a1", "type": kind, "created_at": "2026-11-30T12:00:00Z", "alarm": alarm }).to_string();
    let secret = civicpay_web::service_key::portal_webhook_secret(&service_key, tenant.id.as_str());
    let signed = civicpay_web::webhook_signature::sign(
        &secret,
        jiff::Timestamp::now().as_second(),
        body.as_bytes(),
    );
    let reply = portal
        .send(
            Request::post("/api/v1/pay-webhooks/springfield")
                .header(header::CONTENT_TYPE, "application/json")
                .header("civicpay-signature", signed)
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let chain = civicpay_audit::ChainId::Tenant(tenant.id.clone());
    let entries = portal
        .store
        .audit_entries(
            &chain,
            &civicpay_store::audit_log::AuditFilter {
                action: Some(action.into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mails: Vec<String> = std::fs::read_dir(&outbox)
        .unwrap()
        .flatten()
        .map(|m| std::fs::read_to_string(m.path()).unwrap())
        .collect();
    let _ = std::fs::remove_dir_all(outbox);
    portal.finish().await;
    (entries, mails, tenant.contact.email.clone())
}

#[tokio::test]
async fn a_csp_alarm_from_pay_lands_in_the_audit_log_and_the_contacts_inbox() {
    let (entries, mails, contact) = alarm_from_pay(
        "integrity.csp_violation",
        serde_json::json!({"document_uri": "https://pay.city/card/x/y", "violated_directive": "script-src-elem", "blocked_uri": "https://cdn.evil.example/skim.js", "received_at": "2026-11-30T12:00:00Z", "reports_in_window": 1}),
        "integrity.csp_violation",
    )
    .await;
    assert_eq!(entries.len(), 1);
    assert!(entries[0].details.contains("cdn.evil.example"));
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].contains("SECURITY ALARM") && mails[0].contains(&contact),
        "{}",
        mails[0]
    );
}

#[tokio::test]
async fn a_payment_reconciliation_cannot_settle_reaches_the_audit_log_and_the_contact() {
    let (entries, mails, contact) = alarm_from_pay(
        "payment.needs_attention",
        serde_json::json!({"payment_id": "pay_0193a4f2-7c11-7d3e-9a52-5e1d0c7b9f01", "reason": "not_settled_in_time", "at": "2026-11-30T12:00:00Z"}),
        "payment.needs_attention",
    )
    .await;
    assert_eq!(entries.len(), 1);
    assert!(entries[0].details.contains("not_settled_in_time"));
    assert_eq!(
        entries[0].target,
        "payment:pay_0193a4f2-7c11-7d3e-9a52-5e1d0c7b9f01"
    );
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].contains("Payment needs attention")
            && mails[0].contains(&contact)
            && mails[0].contains("pay_0193a4f2-7c11-7d3e-9a52-5e1d0c7b9f01"),
        "{}",
        mails[0]
    );
}

#[tokio::test]
async fn starting_payments_is_limited_per_bill_and_per_address() {
    let portal = Portal::new().await;
    let mut bills = Vec::new();
    for kind in ["water", "parking", "permits"] {
        let (_, _, bill) = portal.sample_bill("springfield", kind).await;
        bills.push(bill.id);
    }
    let form = portal.get("/springfield/pay/water").await;
    let start = async |bill: &civicpay_core::BillId| {
        portal
            .post_form(&format!("/springfield/bills/{bill}/pay"), &form, &[])
            .await
            .status
    };
    // Ten starts of one bill, then that bill is limited.
    for _ in 0..10 {
        assert_ne!(start(&bills[0]).await, StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(start(&bills[0]).await, StatusCode::TOO_MANY_REQUESTS);
    for _ in 0..10 {
        assert_ne!(start(&bills[1]).await, StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(start(&bills[1]).await, StatusCode::TOO_MANY_REQUESTS);
    // Thirty from one address in all, whatever the bills.
    for _ in 0..8 {
        assert_ne!(start(&bills[2]).await, StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(
        start(&bills[2]).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the address is limited though this bill was started only eight times"
    );
    portal.finish().await;
}

/// A back office that answers each notice with the status it is set to,
/// keeping what it was sent.
struct BackOffice {
    url: String,
    status: std::sync::Arc<std::sync::atomic::AtomicU16>,
    /// (signature header, notice header, body) of each request.
    seen: std::sync::Arc<std::sync::Mutex<Vec<(String, String, String)>>>,
}

impl BackOffice {
    async fn start() -> BackOffice {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let status = std::sync::Arc::new(std::sync::atomic::AtomicU16::new(503));
        let seen: std::sync::Arc<std::sync::Mutex<Vec<(String, String, String)>>> =
            std::sync::Arc::default();
        let (answer, kept) = (status.clone(), seen.clone());
        let app = Router::new().route(
            "/hook",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: String| async move {
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    kept.lock().unwrap().push((
                        header("civicpay-signature"),
                        header("civicpay-notice"),
                        body,
                    ));
                    StatusCode::from_u16(answer.load(std::sync::atomic::Ordering::SeqCst)).unwrap()
                },
            ),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        BackOffice {
            url: format!("http://{addr}/hook"),
            status,
            seen,
        }
    }
}

/// A payment credited to a bill reaches the city's back office, signed
/// with the city's own key: tried again, the same notice, until the back
/// office takes it, and then not again.
async fn back_office_notices(db: TestDb) {
    let office = BackOffice::start().await;
    let pay = FakePay::start().await;
    let config = PortalConfig {
        pay: Some(pay.link()),
        ..PortalConfig::default()
    };
    let portal = Portal::on(db, config.clone()).await;
    let file = include_str!("../../../examples/cities/springfield.toml").replace(
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
    let state = AppState::new(portal.store.clone(), config, [42; 32]);
    let first = civicpay_portal::jobs::run_once(&state, "runner")
        .await
        .unwrap();
    assert_eq!((first.notices_sent, first.notices_failed), (0, 1));
    let secret = civicpay_web::service_key::back_office_secret(&[5; 32], tenant.id.as_str());
    {
        let seen = office.seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        let (signature, _, body) = &seen[0];
        let now = jiff::Timestamp::now().as_second();
        civicpay_web::webhook_signature::verify(&secret, signature, body.as_bytes(), now, 300)
            .expect("signed with the city's key");
        assert!(
            civicpay_web::webhook_signature::verify(
                "another key",
                signature,
                body.as_bytes(),
                now,
                300
            )
            .is_err()
        );
        assert!(body.contains(&bill.reference.to_string()), "{body}");
    }
    let again = civicpay_portal::jobs::run_once(&state, "runner")
        .await
        .unwrap();
    assert_eq!(
        (again.notices_sent, again.notices_failed),
        (0, 0),
        "not before its retry"
    );
    civicpay_store::testing::execute_behind_the_back(
        &portal.store,
        "UPDATE back_office_notices SET next_attempt_at = 0",
    )
    .await
    .unwrap();
    office
        .status
        .store(200, std::sync::atomic::Ordering::SeqCst);
    let taken = civicpay_portal::jobs::run_once(&state, "runner")
        .await
        .unwrap();
    assert_eq!((taken.notices_sent, taken.notices_failed), (1, 0));
    let after = civicpay_portal::jobs::run_once(&state, "runner")
        .await
        .unwrap();
    assert_eq!(after.notices_sent, 0, "taken once, sent no more");
    let seen = office.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].1, seen[1].1, "the same notice id on each attempt");
    assert_eq!(seen[0].2, seen[1].2, "and the same body");
    assert!(
        portal
            .store
            .undelivered_back_office_notices(&tenant.id)
            .await
            .unwrap()
            .is_empty()
    );
    portal.finish().await;
}

#[tokio::test]
async fn a_credited_payment_reaches_the_back_office_signed_once_taken() {
    on_both(back_office_notices).await;
}
