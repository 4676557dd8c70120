//! The pay service over HTTP, in-process, against a real acquirer simulator
//! on loopback.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use civicpay_acquirer_sim::Simulator;
use civicpay_core::{Currency, TenantId, TenantSlug};
use civicpay_gateway::SimulatorConnector;
use civicpay_pay::{PayConfig, PayState, app};
use civicpay_store::pay::Merchant;
use civicpay_store::testing::{Schema, TestDb};
/// What pay answered, read whole.
use civicpay_testkit::page::Page as Reply;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

struct Pay {
    router: Router,
    state: PayState,
    key: String,
    merchant: Merchant,
    db: TestDb,
    sim_dir: PathBuf,
}

async fn start_pay(db: TestDb) -> Pay {
    start_pay_with(db, PayConfig::default()).await
}

async fn start_pay_with(db: TestDb, base: PayConfig) -> Pay {
    let sim_dir =
        std::env::temp_dir().join(format!("civicpay-paysim-{}", uuid::Uuid::now_v7().simple()));
    let sim = Simulator::open(&sim_dir, Duration::from_millis(1500))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, sim.router()).await;
    });
    let connector =
        SimulatorConnector::new(format!("http://{addr}"), Duration::from_millis(700)).unwrap();
    let store = db.pay_store();
    let merchant = Merchant {
        tenant_id: TenantId::generate(),
        slug: TenantSlug::parse("springfield").unwrap(),
        name: "City of Springfield".into(),
        currency: Currency::Usd,
        return_origins: vec!["https://city.example".into(), "https://x.example".into()],
        suspended: false,
    };
    store.upsert_merchant(&merchant).await.unwrap();
    let key = store
        .create_pay_api_key(&merchant.tenant_id, "portal")
        .await
        .unwrap()
        .expose()
        .to_owned();
    let config = PayConfig {
        public_url: "http://pay.test".into(),
        vault_keys_dir: base
            .vault_keys_dir
            .clone()
            .or_else(|| Some(sim_dir.join("vault-keys"))),
        ..base
    };
    let state = PayState::new(store.clone(), Arc::new(connector), config, [5; 32]);
    let router = app(state.clone());
    Pay {
        router,
        state,
        key,
        merchant,
        db,
        sim_dir,
    }
}

impl Pay {
    async fn send(&self, request: Request<Body>) -> Reply {
        Reply::read(self.router.clone().oneshot(request).await.unwrap()).await
    }

    async fn api(
        &self,
        method: &str,
        uri: &str,
        body: Option<Value>,
        idempotency_key: Option<&str>,
    ) -> Reply {
        self.api_as(&self.key, method, uri, body, idempotency_key)
            .await
    }

    /// As `api`, with another city's key.
    async fn api_as(
        &self,
        key: &str,
        method: &str,
        uri: &str,
        body: Option<Value>,
        idempotency_key: Option<&str>,
    ) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {key}"));
        if let Some(k) = idempotency_key {
            request = request.header("idempotency-key", k);
        }
        let body = body.map_or(Body::empty(), |b| Body::from(b.to_string()));
        self.send(
            request
                .header(header::CONTENT_TYPE, "application/json")
                .body(body)
                .unwrap(),
        )
        .await
    }

    async fn create(&self, reference: &str) -> Value {
        let reply = self
            .api("POST", "/v1/payments", Some(payment_body(reference)), None)
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.json()
    }

    /// Follows `next_url` like a browser: returns the card page path and the
    /// cookies it set.
    async fn open_card_page(&self, created: &Value) -> (String, String, Reply) {
        let next = created["_links"]["next_url"]["href"]
            .as_str()
            .unwrap()
            .replace("http://pay.test", "");
        let started = self
            .send(Request::get(&next).body(Body::empty()).unwrap())
            .await;
        assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
        let path = started.header("location").unwrap_or_default().to_owned();
        let session = started.cookie("civicpay_card").unwrap_or_default();
        let page = self
            .send(
                Request::get(&path)
                    .header(header::COOKIE, &session)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        let cookies = format!(
            "{session}; {}",
            page.cookie("civicpay_form").unwrap_or_default()
        );
        (path, cookies, page)
    }

    async fn submit(
        &self,
        path: &str,
        cookies: &str,
        token: &str,
        card: &str,
        code: &str,
    ) -> Reply {
        self.submit_with(path, cookies, token, card, code, "").await
    }

    /// As `submit`, with more form fields (`&name=value…`).
    async fn submit_with(
        &self,
        path: &str,
        cookies: &str,
        token: &str,
        card: &str,
        code: &str,
        more: &str,
    ) -> Reply {
        let body = format!(
            "form_token={token}&cardholder_name=Ana+Diaz&card_number={}&expiry=12%2F30&security_code={code}&postal_code=62704&email={more}",
            card.replace(' ', "+")
        );
        self.send(
            Request::post(path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, cookies)
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    async fn finish(self) {
        let _ = std::fs::remove_dir_all(&self.sim_dir);
        self.db.finish().await;
    }
}

fn payment_body(reference: &str) -> Value {
    json!({
        "amount": 4200, "currency": "USD", "reference": reference, "description": "Water bill 1002-34567",
        "return_url": "https://city.example/springfield/payments/return", "language": "en"
    })
}

macro_rules! on_both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let pay = start_pay(TestDb::sqlite_with(Schema::Pay).await.unwrap()).await;
                ($body)(&pay).await;
                pay.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = TestDb::postgres_with(Schema::Pay).await.unwrap() else {
                    eprintln!("skipped: set CIVICPAY_TEST_POSTGRES_URL to run on PostgreSQL");
                    return;
                };
                let pay = start_pay(db).await;
                ($body)(&pay).await;
                pay.finish().await;
            }
        }
    };
}

on_both!(the_api_creates_and_reports_payments, async |pay: &Pay| {
    let anonymous = pay
        .send(
            Request::post("/v1/payments")
                .body(Body::from(payment_body("A").to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.json()["code"], "unauthorized");
    let created = pay.create("REF-1").await;
    assert_eq!(created["state"]["status"], "created");
    assert_eq!(created["amount"], 4200);
    assert!(
        created["_links"]["next_url"]["href"]
            .as_str()
            .unwrap()
            .starts_with("http://pay.test/card/start/")
    );
    let id = created["payment_id"].as_str().unwrap();
    let fetched = pay
        .api("GET", &format!("/v1/payments/{id}"), None, None)
        .await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.json()["reference"], "REF-1");
    assert!(
        fetched.json()["_links"].get("next_url").is_none(),
        "the one-time link is given once"
    );
    let missing = pay.api("GET", "/v1/payments/not-an-id", None, None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
});

// A paused city takes no new payment; what it already has can still be
// read, and once resumed it takes payments again.
on_both!(a_suspended_city_takes_no_new_payment, async |pay: &Pay| {
    let before = pay.create("BEFORE-PAUSE").await;
    let store = pay.db.pay_store();
    let paused = Merchant {
        suspended: true,
        ..pay.merchant.clone()
    };
    store.upsert_merchant(&paused).await.unwrap();
    let refused = pay
        .api("POST", "/v1/payments", Some(payment_body("PAUSED")), None)
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(refused.body.contains("paused"), "{}", refused.body);
    let id = before["payment_id"].as_str().unwrap();
    let read = pay
        .api("GET", &format!("/v1/payments/{id}"), None, None)
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    store.upsert_merchant(&pay.merchant).await.unwrap();
    pay.create("AFTER-PAUSE").await;
});

// Only the platform's key registers a city with pay or pauses it: the
// same registration twice changes nothing, a pause sent through the API
// stops new payments at once, and a city's own key cannot lift it.
on_both!(
    only_the_platform_registers_and_pauses_a_city,
    async |pay: &Pay| {
        let store = pay.db.pay_store();
        let platform = civicpay_web::service_key::platform_pay_key(&[9; 32]);
        store
            .ensure_platform_key(&platform, "portal")
            .await
            .unwrap();
        let city = TenantId::generate();
        let portal_key = civicpay_web::service_key::portal_pay_key(&[9; 32], city.as_str());
        let registration = |suspended: bool| {
            json!({
                "slug": "lac-vert", "name": "Ville de Lac-Vert", "currency": "CAD",
                "return_origins": ["https://portal.example", "https://www.lac-vert.example"],
                "suspended": suspended, "portal_key": portal_key,
                "webhook_url": "https://portal.example/api/v1/pay-webhooks/lac-vert",
                "webhook_secret": "s3cret-for-webhooks"
            })
        };
        let put = async |key: &str, body: Value| {
            pay.send(
                Request::put(format!("/v1/platform/merchants/{city}"))
                    .header(header::AUTHORIZATION, format!("Bearer {key}"))
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(body.to_string()))
                    .unwrap(),
            )
            .await
        };
        // A city's key, or a made-up platform key, opens nothing here.
        for key in [pay.key.clone(), format!("{platform}x")] {
            let refused = put(&key, registration(false)).await;
            assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
        }
        assert!(store.merchant(&city).await.unwrap().is_none());
        for _ in 0..2 {
            let registered = put(&platform, registration(false)).await;
            assert_eq!(registered.status, StatusCode::OK, "{}", registered.body);
            assert_eq!(registered.json()["slug"], "lac-vert");
            assert_eq!(registered.json()["suspended"], false);
        }
        let merchant = store.merchant(&city).await.unwrap().unwrap();
        assert_eq!(merchant.currency, Currency::Cad);
        assert_eq!(merchant.return_origins.len(), 2);
        // The portal's key now opens the city, as a city system's would.
        let payment = json!({
            "amount": 4200, "currency": "CAD", "reference": "LV-1", "description": "Taxe foncière",
            "return_url": "https://www.lac-vert.example/merci", "language": "fr"
        });
        let create = async || {
            pay.send(
                Request::post("/v1/payments")
                    .header(header::AUTHORIZATION, format!("Bearer {portal_key}"))
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(payment.to_string()))
                    .unwrap(),
            )
            .await
        };
        assert_eq!(create().await.status, StatusCode::CREATED);
        assert_eq!(
            put(&platform, registration(true)).await.status,
            StatusCode::OK
        );
        let refused = create().await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
        // Nor can the city's own key resume itself.
        let own = put(&portal_key, registration(false)).await;
        assert_eq!(own.status, StatusCode::UNAUTHORIZED);
        assert!(store.merchant(&city).await.unwrap().unwrap().suspended);
        assert_eq!(
            put(&platform, registration(false)).await.status,
            StatusCode::OK
        );
        assert_eq!(create().await.status, StatusCode::CREATED);
        // A bad registration names its field and changes nothing.
        let mut bad = registration(true);
        bad["return_origins"] = json!(["https://www.lac-vert.example/with/a/path"]);
        let refused = put(&platform, bad).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.body
        );
        assert_eq!(refused.json()["field"], "return_origins");
        assert!(!store.merchant(&city).await.unwrap().unwrap().suspended);
    }
);

on_both!(bad_requests_get_clear_errors, async |pay: &Pay| {
    let cases = [
        (
            json!({"amount": 0, "currency": "USD", "reference": "R", "description": "D", "return_url": "https://x.example/"}),
            "amount",
        ),
        (
            json!({"amount": 100, "currency": "CAD", "reference": "R", "description": "D", "return_url": "https://x.example/"}),
            "currency",
        ),
        (
            json!({"amount": 100, "currency": "USD", "reference": "", "description": "D", "return_url": "https://x.example/"}),
            "reference",
        ),
        (
            json!({"amount": 100, "currency": "USD", "reference": "R", "description": "D", "return_url": "javascript:alert(1)"}),
            "return_url",
        ),
        (
            json!({"amount": 100, "currency": "USD", "reference": "R", "description": "D", "return_url": "https://x.example/", "channel": "pigeon"}),
            "channel",
        ),
    ];
    for (body, field) in cases {
        let reply = pay.api("POST", "/v1/payments", Some(body), None).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            reply.body
        );
        assert_eq!(reply.json()["field"], field);
    }
    // A return URL off the city's allowed origins would widen the card
    // page's form-action: refused, naming the origin.
    for elsewhere in [
        "https://evil.example/return",
        "https://city.example.evil.example/",
        "http://city.example/",
        "https://city.example:8443/",
    ] {
        let reply = pay
            .api(
                "POST",
                "/v1/payments",
                Some(json!({"amount": 100, "currency": "USD", "reference": "R", "description": "D", "return_url": elsewhere})),
                None,
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{elsewhere}"
        );
        assert_eq!(reply.json()["field"], "return_url");
        assert!(
            reply.json()["message"]
                .as_str()
                .unwrap()
                .contains("not one of this city's allowed return origins"),
            "{}",
            reply.body
        );
    }
    let unknown_field = pay
        .api(
            "POST",
            "/v1/payments",
            Some(json!({"amount": 1, "ammount": 2})),
            None,
        )
        .await;
    assert_eq!(unknown_field.status, StatusCode::BAD_REQUEST);
    assert!(
        unknown_field.json()["message"]
            .as_str()
            .unwrap()
            .contains("ammount")
    );
});

on_both!(
    an_idempotency_key_returns_the_first_response,
    async |pay: &Pay| {
        let first = pay
            .api(
                "POST",
                "/v1/payments",
                Some(payment_body("IDEM")),
                Some("key-1"),
            )
            .await;
        let again = pay
            .api(
                "POST",
                "/v1/payments",
                Some(payment_body("IDEM")),
                Some("key-1"),
            )
            .await;
        assert_eq!((first.status, &first.body), (again.status, &again.body));
        // The replay carries a working link, though no link is kept.
        let link = first.json()["_links"]["next_url"]["href"]
            .as_str()
            .unwrap()
            .to_owned();
        let token = link.rsplit('/').next().unwrap().to_owned();
        if let Some(dir) = pay.db.sqlite_dir() {
            assert_eq!(
                occurrences(dir, token.as_bytes()),
                0,
                "the link is in the database"
            );
            std::fs::write(dir.join("planted"), format!("x{token}x")).unwrap();
            assert_eq!(
                occurrences(dir, token.as_bytes()),
                1,
                "the scan finds a planted copy"
            );
            std::fs::remove_file(dir.join("planted")).unwrap();
        }
        let opened = pay
            .send(
                Request::get(link.replace("http://pay.test", ""))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.body);
        let different = pay
            .api(
                "POST",
                "/v1/payments",
                Some(payment_body("OTHER")),
                Some("key-1"),
            )
            .await;
        assert_eq!(different.status, StatusCode::CONFLICT);
        assert_eq!(different.json()["code"], "idempotency_key_reused");
    }
);

fn assert_card_page_headers(reply: &Reply) {
    let csp = reply.header("content-security-policy").unwrap_or_default();
    let expected = format!(
        "default-src 'none'; style-src {}; img-src 'self'; form-action 'self' https://city.example; frame-ancestors 'none'; base-uri 'none'; report-uri /csp-reports",
        civicpay_web::style::stylesheet_hash()
    );
    assert_eq!(csp, expected);
    assert_eq!(
        reply.header("cache-control").unwrap_or_default(),
        "no-store"
    );
    assert!(
        !reply.body.to_lowercase().contains("<script"),
        "no JavaScript on the card page"
    );
}

on_both!(a_resident_pays_with_an_approved_card, async |pay: &Pay| {
    let created = pay.create("PAY-1").await;
    let (path, cookies, page) = pay.open_card_page(&created).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_card_page_headers(&page);
    assert!(
        page.body.contains("autocomplete=\"cc-number\"")
            && page.body.contains("autocomplete=\"cc-csc\"")
    );
    assert!(page.body.contains("$42.00"));
    // The link works once.
    let next = created["_links"]["next_url"]["href"]
        .as_str()
        .unwrap()
        .replace("http://pay.test", "");
    let reused = pay
        .send(Request::get(&next).body(Body::empty()).unwrap())
        .await;
    assert_eq!(reused.status, StatusCode::GONE);
    assert!(
        !reused.body.contains("card_number"),
        "never a card form on a spent link"
    );
    // Without the session cookie the page is not there.
    let stranger = pay
        .send(Request::get(&path).body(Body::empty()).unwrap())
        .await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND);

    let done = pay
        .submit(
            &path,
            &cookies,
            &page.form_token(),
            "4242 4242 4242 4242",
            "739",
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        done.header("location").unwrap_or_default(),
        "https://city.example/springfield/payments/return"
    );
    let id = created["payment_id"].as_str().unwrap();
    let fetched = pay
        .api("GET", &format!("/v1/payments/{id}"), None, None)
        .await
        .json();
    assert_eq!(fetched["state"]["status"], "success");
    assert_eq!(fetched["card"], json!({"brand": "visa", "last4": "4242"}));
    assert_eq!(fetched["captured_amount"], 4200);
    let events = pay
        .api("GET", &format!("/v1/payments/{id}/events"), None, None)
        .await
        .json();
    let path_taken: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to"].as_str().unwrap())
        .collect();
    // Authorised and captured are one step: no crash can fall between.
    assert_eq!(path_taken, ["created", "started", "submitted", "success"]);
    assert_eq!(
        events["events"][3]["event"], "authorised_and_captured",
        "{events}"
    );
    // A second post of the same form changes nothing.
    let again = pay
        .submit(
            &path,
            &cookies,
            &page.form_token(),
            "4242 4242 4242 4242",
            "739",
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.body.contains("This payment is complete"));
});

on_both!(declines_allow_retries_up_to_the_limit, async |pay: &Pay| {
    let created = pay.create("PAY-2").await;
    let (path, cookies, page) = pay.open_card_page(&created).await;
    let first = pay
        .submit(
            &path,
            &cookies,
            &page.form_token(),
            "4000 0000 0000 9995",
            "739",
        )
        .await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(
        first.body.contains("there are not enough funds"),
        "{}",
        first.body
    );
    assert!(first.body.contains("You can try 2 more times."));
    assert!(
        !first.body.contains("4000 0000 0000 9995") && !first.body.contains("4000000000009995"),
        "never echoes the card"
    );
    let second = pay
        .submit(
            &path,
            &cookies,
            &page.form_token(),
            "4000 0000 0000 0127",
            "739",
        )
        .await;
    assert!(second.body.contains("The security code is not correct"));
    assert!(second.body.contains("You can try one more time."));
    let third = pay
        .submit(
            &path,
            &cookies,
            &page.form_token(),
            "4000 0000 0000 0002",
            "739",
        )
        .await;
    assert!(
        third.body.contains("Your payment was not taken"),
        "{}",
        third.body
    );
    let id = created["payment_id"].as_str().unwrap();
    let fetched = pay
        .api("GET", &format!("/v1/payments/{id}"), None, None)
        .await
        .json();
    assert_eq!(fetched["state"]["status"], "declined");
    assert_eq!(fetched["state"]["code"], "do_not_honour");
    assert_eq!(fetched["state"]["finished"], true);
});

on_both!(
    bad_card_input_is_explained_and_never_echoed,
    async |pay: &Pay| {
        let created = pay.create("PAY-3").await;
        let (path, cookies, page) = pay.open_card_page(&created).await;
        let reply = pay
            .submit(
                &path,
                &cookies,
                &page.form_token(),
                "4242 4242 4242 4241",
                "73",
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(reply.body.contains("The card number is not valid"));
        assert!(reply.body.contains("<a href=\"#card-number\">"));
        assert!(
            !reply.body.contains("4242 4242 4242 4241") && !reply.body.contains("4242424242424241")
        );
        assert!(
            reply.body.contains("value=\"Ana Diaz\""),
            "what is safe to keep is kept"
        );
        let forged = pay
            .submit(&path, &cookies, "forged", "4242 4242 4242 4242", "739")
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        let id = created["payment_id"].as_str().unwrap();
        let fetched = pay
            .api("GET", &format!("/v1/payments/{id}"), None, None)
            .await
            .json();
        assert_eq!(
            fetched["state"]["status"], "started",
            "bad input moves no money and no state"
        );
    }
);

on_both!(
    a_lost_acquirer_answer_leaves_the_payment_for_reconciliation,
    async |pay: &Pay| {
        let created = pay.create("PAY-4").await;
        let (path, cookies, page) = pay.open_card_page(&created).await;
        let reply = pay
            .submit(
                &path,
                &cookies,
                &page.form_token(),
                "4000 0000 0000 0341",
                "739",
            )
            .await;
        assert!(
            reply.body.contains("We are confirming your payment"),
            "{}",
            reply.body
        );
        let id = created["payment_id"].as_str().unwrap();
        let fetched = pay
            .api("GET", &format!("/v1/payments/{id}"), None, None)
            .await
            .json();
        assert_eq!(
            fetched["state"]["status"], "submitted",
            "unknown is not declined"
        );
    }
);

/// Counts occurrences of `needle` in every file under `dir`.
fn occurrences(dir: &std::path::Path, needle: &[u8]) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut count = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            count += occurrences(&path, needle);
        } else if let Ok(bytes) = std::fs::read(&path) {
            count += bytes.windows(needle.len()).filter(|w| *w == needle).count();
        }
    }
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_file_written_holds_a_card_number_or_security_code() {
    let pay = start_pay(TestDb::sqlite_with(Schema::Pay).await.unwrap()).await;
    // Security codes chosen so they cannot occur by chance next to their marker.
    let cards = [
        ("4242 4242 4242 4242", "917"),
        ("4000 0000 0000 0002", "863"),
        ("3782 822463 10005", "7391"),
    ];
    for (i, (card, code)) in cards.iter().enumerate() {
        let created = pay.create(&format!("CANARY-{i}")).await;
        let (path, cookies, page) = pay.open_card_page(&created).await;
        pay.submit(&path, &cookies, &page.form_token(), card, code)
            .await;
    }
    let dirs = [
        pay.db.sqlite_dir().unwrap().to_path_buf(),
        pay.sim_dir.clone(),
    ];
    for dir in &dirs {
        for (card, code) in cards {
            let compact = card.replace(' ', "");
            assert_eq!(
                occurrences(dir, compact.as_bytes()),
                0,
                "{compact} written under {}",
                dir.display()
            );
            assert_eq!(occurrences(dir, card.as_bytes()), 0);
            assert_eq!(
                occurrences(dir, format!("security_code={code}").as_bytes()),
                0
            );
            assert_eq!(
                occurrences(dir, format!("\"security_code\":\"{code}\"").as_bytes()),
                0
            );
        }
    }
    // The scan finds a copy planted on purpose.
    std::fs::write(dirs[0].join("planted.log"), b"x 4242424242424242 x").unwrap();
    assert_eq!(occurrences(&dirs[0], b"4242424242424242"), 1);
    pay.finish().await;
}

async fn status_of(pay: &Pay, created: &Value) -> Value {
    let id = created["payment_id"].as_str().unwrap();
    pay.api("GET", &format!("/v1/payments/{id}"), None, None)
        .await
        .json()
}

on_both!(
    reconciliation_finds_an_approval_whose_answer_was_lost,
    async |pay: &Pay| {
        let created = pay.create("REC-1").await;
        let (path, cookies, page) = pay.open_card_page(&created).await;
        pay.submit(
            &path,
            &cookies,
            &page.form_token(),
            "4000 0000 0000 0341",
            "739",
        )
        .await;
        assert_eq!(
            status_of(pay, &created).await["state"]["status"],
            "submitted"
        );
        let report =
            civicpay_pay::reconcile::run_once(&pay.state, Duration::ZERO, Duration::from_secs(300))
                .await
                .unwrap();
        assert_eq!((report.checked, report.succeeded), (1, 1));
        let settled = status_of(pay, &created).await;
        assert_eq!(settled["state"]["status"], "success");
        assert_eq!(settled["captured_amount"], 4200);
        let again =
            civicpay_pay::reconcile::run_once(&pay.state, Duration::ZERO, Duration::from_secs(300))
                .await
                .unwrap();
        assert_eq!(again.checked, 0, "nothing is left unknown");
    }
);

on_both!(
    reconciliation_waits_for_a_slow_acquirer,
    async |pay: &Pay| {
        let created = pay.create("REC-2").await;
        let (path, cookies, page) = pay.open_card_page(&created).await;
        pay.submit(
            &path,
            &cookies,
            &page.form_token(),
            "4000 0000 0000 0259",
            "739",
        )
        .await;
        let early =
            civicpay_pay::reconcile::run_once(&pay.state, Duration::ZERO, Duration::from_secs(300))
                .await
                .unwrap();
        assert_eq!(
            (early.checked, early.pending),
            (1, 1),
            "no record yet is not a failure"
        );
        assert_eq!(
            status_of(pay, &created).await["state"]["status"],
            "submitted"
        );
        tokio::time::sleep(Duration::from_millis(1600)).await;
        let late =
            civicpay_pay::reconcile::run_once(&pay.state, Duration::ZERO, Duration::from_secs(300))
                .await
                .unwrap();
        assert_eq!(late.succeeded, 1);
        assert_eq!(status_of(pay, &created).await["state"]["status"], "success");
    }
);

on_both!(
    reconciliation_fails_a_payment_the_acquirer_never_saw,
    async |pay: &Pay| {
        let created = pay.create("REC-3").await;
        let (_path, _cookies, _page) = pay.open_card_page(&created).await;
        // A crash between recording the submission and calling the acquirer.
        let tenant = pay
            .state
            .store
            .merchant_for_api_key(&pay.key)
            .await
            .unwrap()
            .unwrap()
            .tenant_id;
        let id = civicpay_core::PaymentId::parse(created["payment_id"].as_str().unwrap()).unwrap();
        pay.state
            .store
            .transition(
                &tenant,
                &id,
                civicpay_core::payment::PaymentEvent::CardSubmitted,
                "test",
                civicpay_store::pay::PaymentChange {
                    add_attempt: true,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let within_grace =
            civicpay_pay::reconcile::run_once(&pay.state, Duration::ZERO, Duration::from_secs(300))
                .await
                .unwrap();
        assert_eq!(within_grace.pending, 1);
        let after_grace =
            civicpay_pay::reconcile::run_once(&pay.state, Duration::ZERO, Duration::ZERO)
                .await
                .unwrap();
        assert_eq!(after_grace.failed, 1);
        let settled = status_of(pay, &created).await;
        assert_eq!(settled["state"]["status"], "error");
        assert_eq!(settled["state"]["code"], "not_received_by_acquirer");
    }
);

async fn paid(pay: &Pay, reference: &str) -> String {
    let created = pay.create(reference).await;
    let (path, cookies, page) = pay.open_card_page(&created).await;
    let done = pay
        .submit(
            &path,
            &cookies,
            &page.form_token(),
            "4242 4242 4242 4242",
            "739",
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    created["payment_id"].as_str().unwrap().to_owned()
}

on_both!(
    refunds_are_limited_to_what_was_captured,
    async |pay: &Pay| {
        let id = paid(pay, "REF-A").await;
        let uri = format!("/v1/payments/{id}/refunds");
        let first = pay
            .api("POST", &uri, Some(json!({"amount": 1000})), Some("r-1"))
            .await;
        assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
        assert_eq!(first.json()["status"], "success");
        let replay = pay
            .api("POST", &uri, Some(json!({"amount": 1000})), Some("r-1"))
            .await;
        assert_eq!(
            replay.json()["refund_id"],
            first.json()["refund_id"],
            "the same key refunds once"
        );
        let too_much = pay
            .api("POST", &uri, Some(json!({"amount": 3201})), None)
            .await;
        assert_eq!(too_much.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            too_much.json()["message"]
                .as_str()
                .unwrap()
                .contains("3200")
        );
        let unpaid = pay.create("REF-B").await;
        let refused = pay
            .api(
                "POST",
                &format!(
                    "/v1/payments/{}/refunds",
                    unpaid["payment_id"].as_str().unwrap()
                ),
                Some(json!({"amount": 1})),
                None,
            )
            .await;
        assert_eq!(refused.status, StatusCode::CONFLICT);
        let list = pay.api("GET", &uri, None, None).await.json();
        assert_eq!(list["refunds"].as_array().unwrap().len(), 1);
        let payment = pay
            .api("GET", &format!("/v1/payments/{id}"), None, None)
            .await
            .json();
        assert_eq!(payment["refunded_amount"], 1000);
    }
);

on_both!(
    a_hundred_concurrent_refunds_never_exceed_the_capture,
    async |pay: &Pay| {
        let id = paid(pay, "REF-RACE").await;
        let uri = format!("/v1/payments/{id}/refunds");
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let router = pay.router.clone();
            let uri = uri.clone();
            let key = pay.key.clone();
            tasks.push(tokio::spawn(async move {
                let request = Request::post(&uri)
                    .header(header::AUTHORIZATION, format!("Bearer {key}"))
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(json!({"amount": 100}).to_string()))
                    .unwrap();
                let response = router.oneshot(request).await.unwrap();
                let status = response.status();
                let body = response.into_body().collect().await.unwrap().to_bytes();
                (
                    status,
                    serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null),
                )
            }));
        }
        let mut refunded = 0;
        for t in tasks {
            let (status, body) = t.await.unwrap();
            if status == StatusCode::CREATED && body["status"] == "success" {
                refunded += 100;
            } else {
                assert!(
                    status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::CREATED,
                    "{status}: {body}"
                );
            }
        }
        assert_eq!(refunded, 4200, "exactly the captured amount, never more");
        let payment = pay
            .api("GET", &format!("/v1/payments/{id}"), None, None)
            .await
            .json();
        assert_eq!(payment["refunded_amount"], 4200);
    }
);

on_both!(csp_violation_reports_are_kept, async |pay: &Pay| {
    let since = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(1);
    let legacy = json!({"csp-report": {"document-uri": "http://pay.test/card/x/y", "violated-directive": "script-src-elem", "blocked-uri": "https://evil.example/skim.js"}});
    let modern = json!([{"type": "csp-violation", "body": {"documentURL": "http://pay.test/card/x/y", "effectiveDirective": "style-src-elem", "blockedURL": "inline"}}]);
    for (content_type, body) in [
        ("application/csp-report", legacy),
        ("application/reports+json", modern),
    ] {
        let reply = pay
            .send(
                Request::post("/csp-reports")
                    .header(header::CONTENT_TYPE, content_type)
                    .body(Body::from(body.to_string()))
                    .unwrap(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    }
    let bad = pay
        .send(
            Request::post("/csp-reports")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let stored = pay.state.store.csp_reports_since(since).await.unwrap();
    let blocked: Vec<&str> = stored.iter().map(|r| r.blocked_uri.as_str()).collect();
    assert_eq!(blocked, ["https://evil.example/skim.js", "inline"]);
    assert_eq!(stored[0].violated_directive, "script-src-elem");
});

on_both!(
    payments_are_listed_cancelled_and_filtered,
    async |pay: &Pay| {
        let a = pay.create("LIST-A").await;
        let _b = pay.create("LIST-B").await;
        let paid_id = paid(pay, "LIST-A").await;
        let by_reference = pay
            .api("GET", "/v1/payments?reference=LIST-A", None, None)
            .await
            .json();
        assert_eq!(by_reference["results"].as_array().unwrap().len(), 2);
        let successes = pay
            .api(
                "GET",
                "/v1/payments?reference=LIST-A&status=success",
                None,
                None,
            )
            .await
            .json();
        assert_eq!(successes["results"][0]["payment_id"], paid_id.as_str());
        assert_eq!(successes["results"].as_array().unwrap().len(), 1);
        let future = pay
            .api("GET", "/v1/payments?from=2099-01-01T00:00:00Z", None, None)
            .await
            .json();
        assert!(future["results"].as_array().unwrap().is_empty());
        let paged = pay
            .api("GET", "/v1/payments?per_page=1&page=2", None, None)
            .await
            .json();
        assert_eq!(paged["results"].as_array().unwrap().len(), 1);
        let bad = pay.api("GET", "/v1/payments?status=paid", None, None).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(bad.json()["field"], "status");
        let bad_time = pay
            .api("GET", "/v1/payments?from=yesterday", None, None)
            .await;
        assert_eq!(bad_time.json()["field"], "from");
        // Found by API fuzzing: out-of-range paging was silently clamped,
        // and a query of the wrong type was answered in plain text.
        for (query, field) in [
            ("per_page=0", "per_page"),
            ("per_page=501", "per_page"),
            ("page=0", "page"),
            ("amount=lots", "query"),
        ] {
            let refused = pay
                .api("GET", &format!("/v1/payments?{query}"), None, None)
                .await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
            assert_eq!(refused.json()["field"], field, "{query}");
        }
        let autopaid = pay
            .api("GET", "/v1/payments?channel=autopay", None, None)
            .await;
        assert_eq!(autopaid.status, StatusCode::OK, "autopay is a channel too");

        let a_id = a["payment_id"].as_str().unwrap();
        let cancelled = pay
            .api("POST", &format!("/v1/payments/{a_id}/cancel"), None, None)
            .await;
        assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
        assert_eq!(cancelled.json()["state"]["status"], "cancelled");
        let twice = pay
            .api("POST", &format!("/v1/payments/{a_id}/cancel"), None, None)
            .await;
        assert_eq!(twice.status, StatusCode::CONFLICT);
        let next = a["_links"]["next_url"]["href"]
            .as_str()
            .unwrap()
            .replace("http://pay.test", "");
        let started = pay
            .send(Request::get(&next).body(Body::empty()).unwrap())
            .await;
        let page = pay
            .send(
                Request::get(started.header("location").unwrap_or_default())
                    .header(
                        header::COOKIE,
                        started.cookie("civicpay_card").unwrap_or_default(),
                    )
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert!(
            !page.body.contains("card_number"),
            "a cancelled payment shows no card form"
        );
        let capture = pay
            .api(
                "POST",
                &format!("/v1/payments/{paid_id}/capture"),
                None,
                None,
            )
            .await;
        assert_eq!(capture.status, StatusCode::CONFLICT, "already captured");
    }
);

on_both!(
    card_testing_is_slowed_per_card_and_counted,
    async |pay: &Pay| {
        // The same declined card tried on several payments: the fifth attempt
        // within the window is the last the acquirer sees (default limit 5).
        let mut last = None;
        for i in 0..6 {
            let created = pay.create(&format!("TEST-{i}")).await;
            let (path, cookies, page) = pay.open_card_page(&created).await;
            last = Some(
                pay.submit(
                    &path,
                    &cookies,
                    &page.form_token(),
                    "4000 0000 0000 0002",
                    "739",
                )
                .await,
            );
        }
        let last = last.unwrap();
        assert_eq!(last.status, StatusCode::TOO_MANY_REQUESTS, "{}", last.body);
        assert!(last.body.contains("Too many attempts"));
        let alerts = pay
            .api("GET", "/v1/alerts/declines", None, None)
            .await
            .json();
        assert_eq!(
            alerts["declines"], 5,
            "five declines reached the acquirer, the sixth was stopped"
        );
    }
);

/// Every operation the OpenAPI document lists exists with that method (it
/// asks for a key rather than answering 404 or 405), and the document's
/// references resolve.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_matches_the_routes() {
    let pay = start_pay(TestDb::sqlite_with(Schema::Pay).await.unwrap()).await;
    let reply = pay
        .send(
            Request::get("/v1/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc = reply.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let uri = path
                .replace("{id}", &uuid::Uuid::now_v7().to_string())
                .replace("{refund_id}", &uuid::Uuid::now_v7().to_string())
                .replace("{tenant}", &uuid::Uuid::now_v7().to_string());
            let probe = pay
                .send(
                    Request::builder()
                        .method(method.to_uppercase().as_str())
                        .uri(&uri)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await;
            assert_eq!(
                probe.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} is documented but answers {}",
                probe.status
            );
            assert!(operation["operationId"].is_string() && operation["responses"].is_object());
        }
    }
    assert_eq!(operations, 17);
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{name} is referenced but not defined"
        );
    }
    // And a route that is not documented does not exist.
    let undocumented = pay
        .send(Request::delete("/v1/payments").body(Body::empty()).unwrap())
        .await;
    assert_eq!(undocumented.status, StatusCode::METHOD_NOT_ALLOWED);
    pay.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_payment_shows_no_card_form() {
    let config = PayConfig {
        payment_ttl: Duration::from_millis(300),
        ..PayConfig::default()
    };
    let pay = start_pay_with(TestDb::sqlite_with(Schema::Pay).await.unwrap(), config).await;
    // Opened in time, submitted too late.
    let created = pay.create("EXP-1").await;
    let (path, cookies, page) = pay.open_card_page(&created).await;
    assert!(page.body.contains("card_number"));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let late = pay
        .submit(
            &path,
            &cookies,
            &page.form_token(),
            "4242 4242 4242 4242",
            "739",
        )
        .await;
    assert_eq!(late.status, StatusCode::GONE);
    assert!(!late.body.contains("card_number"));
    assert_eq!(
        status_of(&pay, &created).await["state"]["status"],
        "expired"
    );
    // Never opened: the link itself has expired.
    let unopened = pay.create("EXP-2").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let next = unopened["_links"]["next_url"]["href"]
        .as_str()
        .unwrap()
        .replace("http://pay.test", "");
    let reply = pay
        .send(Request::get(&next).body(Body::empty()).unwrap())
        .await;
    assert_eq!(reply.status, StatusCode::GONE);
    assert!(reply.body.contains("This payment link has expired"));
    let report =
        civicpay_pay::reconcile::run_once(&pay.state, Duration::ZERO, Duration::from_secs(300))
            .await
            .unwrap();
    assert_eq!(report.expired, 1, "the expiry job closes the unopened one");
    assert_eq!(
        status_of(&pay, &unopened).await["state"]["status"],
        "expired"
    );
    pay.finish().await;
}

on_both!(
    the_ledger_report_matches_each_payment_with_the_acquirer,
    async |pay: &Pay| {
        let id = paid(pay, "LEDGER-1").await;
        let refund = pay
            .api(
                "POST",
                &format!("/v1/payments/{id}/refunds"),
                Some(json!({"amount": 700})),
                Some("l-1"),
            )
            .await;
        assert_eq!(refund.status, StatusCode::CREATED);
        let unpaid = pay.create("LEDGER-2").await;
        let window = |from: &str, to: &str| format!("/v1/reports/ledger?from={from}&to={to}");
        let day = pay
            .api(
                "GET",
                &window("2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z"),
                None,
                None,
            )
            .await;
        assert_eq!(day.status, StatusCode::OK, "{}", day.body);
        let report = day.json();
        assert_eq!(
            report["by_gl"],
            json!([{ "gl_code": "UNALLOCATED", "captured": 4200, "refunded": 700 }])
        );
        assert_eq!(
            report["acquirer"],
            json!({ "payments_checked": 1, "captured": 4200, "refunded": 700 })
        );
        assert_eq!(
            report["by_brand"],
            json!([{ "brand": "visa", "ours": { "captured": 4200, "refunded": 700 },
                     "acquirer": { "captured": 4200, "refunded": 700 } }])
        );
        assert_eq!(report["differences"], json!([]));
        assert!(
            !report
                .to_string()
                .contains(unpaid["payment_id"].as_str().unwrap())
        );

        let empty = pay
            .api(
                "GET",
                &window("2000-01-01T00:00:00Z", "2000-01-02T00:00:00Z"),
                None,
                None,
            )
            .await;
        assert_eq!(empty.json()["by_gl"], json!([]));
        for bad in [
            "/v1/reports/ledger?from=yesterday&to=2100-01-01T00:00:00Z",
            "/v1/reports/ledger?to=2100-01-01T00:00:00Z",
            "/v1/reports/ledger?from=2100-01-01T00:00:00Z&to=2000-01-01T00:00:00Z",
        ] {
            let refused = pay.api("GET", bad, None, None).await;
            assert_eq!(
                refused.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{bad}: {}",
                refused.body
            );
        }

        let by = |query: &str| {
            let uri = format!("/v1/payments?{query}");
            async move { pay.api("GET", &uri, None, None).await }
        };
        let found = by("card_last4=4242&channel=web&amount=4200").await.json();
        assert_eq!(found["results"].as_array().unwrap().len(), 1);
        assert_eq!(found["results"][0]["payment_id"], id.as_str());
        assert_eq!(by("card_last4=1111").await.json()["results"], json!([]));
        assert_eq!(by("channel=moto").await.json()["results"], json!([]));
        assert_eq!(
            by("card_last4=42").await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            by("channel=fax").await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
);

/// A probe page, fetched as the monitor would: its observed form.
async fn probe(pay: &Pay) -> (Reply, civicpay_pay::integrity::ObservedPage) {
    let created = pay.api("POST", "/v1/probes", None, None).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let link = created.json()["probe_url"].as_str().unwrap().to_owned();
    let as_payment = json!({ "_links": { "next_url": { "href": link } } });
    let (_, _, page) = pay.open_card_page(&as_payment).await;
    let again = pay
        .send(
            Request::get(link.replace("http://pay.test", ""))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(again.status, StatusCode::GONE, "a probe link works once");
    let observed = civicpay_pay::integrity::ObservedPage::new(
        page.status.as_u16(),
        page.headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_str().unwrap())),
        &page.body,
    );
    (page, observed)
}

on_both!(
    a_probe_looks_like_a_payment_and_can_never_be_charged,
    async |pay: &Pay| {
        let shape = json!({ "amount": 28_427, "reference": "1000-61166", "description": "Water and sewer 1000-61166" });
        let created = pay.api("POST", "/v1/probes", Some(shape), None).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let probe = created.json();
        let payment = pay.create("LOOKS-ALIKE").await;
        // The same kind of link, to the same kind of page.
        let shape_of = |url: &str| {
            url.rsplit_once('/')
                .map(|(base, token)| (base.to_owned(), token.len()))
        };
        assert_eq!(
            shape_of(probe["probe_url"].as_str().unwrap()),
            shape_of(payment["_links"]["next_url"]["href"].as_str().unwrap())
        );
        let as_payment = json!({ "_links": { "next_url": { "href": probe["probe_url"] } } });
        let (path, cookies, page) = pay.open_card_page(&as_payment).await;
        let (real_path, _, _) = pay.open_card_page(&payment).await;
        let segments = |p: &str| p.split('/').map(str::len).collect::<Vec<_>>();
        assert_eq!(
            segments(&path),
            segments(&real_path),
            "{path} / {real_path}"
        );
        assert!(page.body.contains("Water and sewer 1000-61166"));
        assert!(page.body.contains("284.27"));
        assert!(!page.body.to_lowercase().contains("probe"));
        assert!(!page.body.to_lowercase().contains("integrity"));

        // Submitted anyway (a skimmer replaying the form): nothing is charged.
        let refused = pay
            .submit(
                &path,
                &cookies,
                &page.form_token(),
                "4242 4242 4242 4242",
                "123",
            )
            .await;
        assert_eq!(refused.status, StatusCode::GONE, "{}", refused.body);
        let id = probe["payment_id"].as_str().unwrap();
        let after = pay
            .api("GET", &format!("/v1/payments/{id}"), None, None)
            .await
            .json();
        assert_eq!(after["captured_amount"], 0);
        assert!(after["card"].is_null(), "{after}");
        // And no listing shows it.
        let listed = pay
            .api("GET", "/v1/payments?reference=1000-61166", None, None)
            .await
            .json();
        assert!(listed["results"].as_array().unwrap().is_empty(), "{listed}");
    }
);

on_both!(
    the_card_page_matches_its_manifest_and_each_tampering_is_named,
    async |pay: &Pay| {
        use civicpay_pay::integrity::{
            BUILD_HEADER, ObservedPage, build_id, compare, manifest, page_structure,
        };
        let merchant = pay
            .state
            .store
            .merchant_for_api_key(&pay.key)
            .await
            .unwrap()
            .unwrap();
        let manifest = manifest(pay.state.clone(), &merchant.tenant_id)
            .await
            .unwrap();
        assert_eq!(manifest.build_id, build_id());
        assert_eq!(manifest.card_page.status, 200);
        assert!(
            manifest.card_page.headers["content-security-policy"].contains("default-src 'none'")
        );
        assert_eq!(manifest.card_page.headers[BUILD_HEADER], build_id());
        assert!(
            manifest
                .card_page
                .structure
                .elements
                .iter()
                .all(|e| e.starts_with("style")),
            "{:?}",
            manifest.card_page.structure.elements
        );

        let (page, observed) = probe(pay).await;
        assert_eq!(compare(&manifest, &observed), Vec::<String>::new());

        // The page a resident with a saved card sees is watched too.
        let saved = pay
            .api(
                "POST",
                "/v1/probes",
                Some(json!({ "saved_card": true })),
                None,
            )
            .await;
        assert_eq!(saved.status, StatusCode::CREATED, "{}", saved.body);
        let as_payment = json!({ "_links": { "next_url": { "href": saved.json()["probe_url"] } } });
        let (_, _, saved_page) = pay.open_card_page(&as_payment).await;
        assert!(saved_page.body.contains("5556"), "{}", saved_page.body);
        let saved_observed = ObservedPage::new(
            saved_page.status.as_u16(),
            saved_page
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.to_str().unwrap())),
            &saved_page.body,
        );
        assert!(manifest.saved_card_page.is_some());
        assert_eq!(
            civicpay_pay::integrity::compare_saved_card(&manifest, &saved_observed),
            Vec::<String>::new()
        );
        assert!(
            !compare(&manifest, &saved_observed).is_empty(),
            "the saved-card page is a page of its own"
        );
        let skimmed = ObservedPage::new(
            200,
            saved_page
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.to_str().unwrap())),
            &saved_page.body.replace(
                "</head>",
                "<script src=\"https://cdn.evil.example/s.js\"></script></head>",
            ),
        );
        assert!(
            civicpay_pay::integrity::compare_saved_card(&manifest, &skimmed)
                .iter()
                .any(|d| d.contains("cdn.evil.example")),
            "a skimmer on the saved-card page is named"
        );
        // The probe is the real page: a payer's card page has the same shape.
        let created = pay.create("PROBE-CHECK").await;
        let (_, _, real) = pay.open_card_page(&created).await;
        assert_eq!(page_structure(&real.body), observed.structure);
        assert_eq!(real.header(BUILD_HEADER), Some(build_id()));

        let tampered = |headers: Vec<(&str, String)>, body: String| {
            ObservedPage::new(200, headers.iter().map(|(k, v)| (*k, v.as_str())), &body)
        };
        let headers_of = |reply: &Reply| -> Vec<(&str, String)> {
            civicpay_pay::integrity::PINNED_HEADERS
                .iter()
                .filter_map(|h| {
                    reply
                        .headers
                        .get(*h)
                        .map(|v| (*h, v.to_str().unwrap().to_owned()))
                })
                .collect()
        };
        let cases: Vec<(&str, ObservedPage, &str)> = vec![
            (
                "a skimmer script",
                tampered(
                    headers_of(&page),
                    page.body.replace(
                        "</head>",
                        "<script src=\"https://cdn.evil.example/s.js\"></script></head>",
                    ),
                ),
                "element added: script src=https://cdn.evil.example/s.js",
            ),
            (
                "a byte of the stylesheet",
                tampered(headers_of(&page), page.body.replacen("{", "{ ", 1)),
                "matches no asset",
            ),
            (
                "the form's action",
                tampered(
                    headers_of(&page),
                    page.body.replace(
                        "action=\"/card/",
                        "action=\"https://collect.evil.example/card/",
                    ),
                ),
                "form added: post https://collect.evil.example/card/{id}/{id}",
            ),
            (
                "a dropped CSP",
                tampered(
                    headers_of(&page)
                        .into_iter()
                        .filter(|(k, _)| *k != "content-security-policy")
                        .collect(),
                    page.body.clone(),
                ),
                "header content-security-policy: missing",
            ),
            (
                "a weakened CSP",
                tampered(
                    headers_of(&page)
                        .into_iter()
                        .map(|(k, v)| {
                            if k == "content-security-policy" {
                                (k, v.replace("default-src 'none'", "default-src *"))
                            } else {
                                (k, v)
                            }
                        })
                        .collect(),
                    page.body.clone(),
                ),
                "header content-security-policy: expected",
            ),
        ];
        for (what, observed, expected) in cases {
            let differences = compare(&manifest, &observed);
            assert!(
                differences.iter().any(|d| d.contains(expected)),
                "{what}: {differences:?}"
            );
        }
    }
);

on_both!(
    every_card_submission_is_recorded_with_the_build_that_took_it,
    async |pay: &Pay| {
        let created = pay.create("ATTEMPTS-1").await;
        let (path, cookies, page) = pay.open_card_page(&created).await;
        let declined = pay
            .submit(
                &path,
                &cookies,
                &page.form_token(),
                "4000 0000 0000 0002",
                "123",
            )
            .await;
        assert_eq!(declined.status, StatusCode::OK);
        let mistyped = pay
            .submit(
                &path,
                &cookies,
                &page.form_token(),
                "4242 4242 4242 4243",
                "123",
            )
            .await;
        assert_eq!(mistyped.status, StatusCode::UNPROCESSABLE_ENTITY);
        let paid = pay
            .submit(
                &path,
                &cookies,
                &page.form_token(),
                "4242 4242 4242 4242",
                "123",
            )
            .await;
        assert_eq!(paid.status, StatusCode::SEE_OTHER);
        let merchant = pay
            .state
            .store
            .merchant_for_api_key(&pay.key)
            .await
            .unwrap()
            .unwrap();
        let mut seen = Vec::new();
        let count = pay
            .state
            .store
            .incident_scope(
                &merchant.tenant_id,
                &civicpay_store::pay::ScopeFilter::default(),
                |a| {
                    seen.push(a);
                    Ok(())
                },
            )
            .await
            .unwrap();
        assert_eq!(
            count, 3,
            "the mistyped attempt counts: it was typed into the page"
        );
        let last4: Vec<_> = seen
            .iter()
            .map(|a| a.attempt.card_last4.clone().unwrap())
            .collect();
        assert_eq!(last4, ["0002", "4243", "4242"]);
        assert!(
            seen.iter()
                .all(|a| a.attempt.build_id == civicpay_pay::integrity::build_id())
        );
        assert_eq!(
            seen[0].attempt.elements,
            "name,card_number,expiry,security_code,postal_code"
        );
        assert_eq!(seen[0].attempt.cardholder_name, "Ana Diaz");
        assert_eq!(
            seen[1].attempt.card_brand, None,
            "a number that fails its check digit has no brand"
        );
        let other_build = pay
            .state
            .store
            .incident_scope(
                &merchant.tenant_id,
                &civicpay_store::pay::ScopeFilter {
                    build_id: Some("0.0.0+other".into()),
                    ..Default::default()
                },
                |_| Ok(()),
            )
            .await
            .unwrap();
        assert_eq!(other_build, 0);
    }
);

on_both!(
    a_csp_report_on_a_card_page_raises_an_alarm_to_the_city,
    async |pay: &Pay| {
        let merchant = pay
            .state
            .store
            .merchant_for_api_key(&pay.key)
            .await
            .unwrap()
            .unwrap();
        let created = pay.create("CSP-ALARM").await;
        let id = created["payment_id"].as_str().unwrap().to_owned();
        let report = |uri: String| {
            json!({"csp-report": {"document-uri": uri, "violated-directive": "script-src-elem", "blocked-uri": "https://cdn.evil.example/skim.js"}}).to_string()
        };
        let post = |body: String| {
            pay.send(
                Request::post("/csp-reports")
                    .header(header::CONTENT_TYPE, "application/csp-report")
                    .body(Body::from(body))
                    .unwrap(),
            )
        };
        let on_card = post(report(format!(
            "http://pay.test/card/{}/{id}",
            merchant.tenant_id
        )))
        .await;
        assert_eq!(on_card.status, StatusCode::NO_CONTENT);
        let deliveries = pay
            .state
            .store
            .webhook_deliveries(&merchant.tenant_id, &id)
            .await
            .unwrap();
        let alarms: Vec<_> = deliveries
            .iter()
            .filter(|d| d.event_type == "integrity.csp_violation")
            .collect();
        assert_eq!(alarms.len(), 1, "{deliveries:?}");
        // Elsewhere on pay (an error page), stored but no alarm to a city.
        let elsewhere = post(report("http://pay.test/healthz".into())).await;
        assert_eq!(elsewhere.status, StatusCode::NO_CONTENT);
        assert_eq!(
            pay.state
                .store
                .webhook_deliveries(&merchant.tenant_id, "")
                .await
                .unwrap()
                .len(),
            0
        );

        let huge = post(format!(
            "{{\"csp-report\": {{\"document-uri\": \"{}\"}}}}",
            "x".repeat(100 * 1024)
        ))
        .await;
        assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
        let mut statuses = Vec::new();
        for _ in 0..40 {
            statuses.push(post(report("http://pay.test/healthz".into())).await.status);
        }
        assert!(
            statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
            "reports are rate-limited per address"
        );
    }
);

on_both!(
    forged_csp_reports_cannot_drown_a_real_skimmer_alarm,
    async |pay: &Pay| {
        let merchant = pay
            .state
            .store
            .merchant_for_api_key(&pay.key)
            .await
            .unwrap()
            .unwrap();
        let city = merchant.tenant_id.clone();
        let own = pay.create("CSP-FORGER").await["payment_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let victim = pay.create("CSP-VICTIM").await["payment_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let report = |payment: &str, blocked: &str| {
            json!({"type": "csp-violation", "body": {
                "documentURL": format!("http://pay.test/card/{city}/{payment}"),
                "effectiveDirective": "script-src-elem",
                "blockedURL": blocked,
            }})
        };
        let post_from = |address: [u8; 4], body: Value| {
            let mut request = Request::post("/csp-reports")
                .header(header::CONTENT_TYPE, "application/reports+json")
                .body(Body::from(body.to_string()))
                .unwrap();
            request.extensions_mut().insert(axum::extract::ConnectInfo(
                std::net::SocketAddr::from((address, 5000)),
            ));
            pay.send(request)
        };
        let alarms = async |payment: &str| {
            pay.state
                .store
                .webhook_deliveries(&city, payment)
                .await
                .unwrap()
                .into_iter()
                .filter(|d| d.event_type == "integrity.csp_violation")
                .collect::<Vec<_>>()
        };
        // One body of 200 forged reports on the forger's own payment page,
        // and 200 naming payments that do not exist.
        let flood = Value::Array(
            (0..200)
                .map(|_| report(&own, "https://noise.example/x.js"))
                .collect(),
        );
        assert_eq!(
            post_from([203, 0, 113, 66], flood).await.status,
            StatusCode::TOO_MANY_REQUESTS,
            "every report counts against its sender"
        );
        let invented_ids: Vec<String> = (0..20).map(|_| uuid::Uuid::now_v7().to_string()).collect();
        let invented = Value::Array(
            invented_ids
                .iter()
                .map(|id| report(id, "https://noise.example/x.js"))
                .collect(),
        );
        assert_eq!(
            post_from([203, 0, 113, 67], invented).await.status,
            StatusCode::NO_CONTENT
        );
        let forged = alarms(&own).await;
        assert_eq!(
            forged.len(),
            2,
            "30 reports counted: alarms at the 1st and the 10th, not 30: {forged:?}"
        );
        for id in &invented_ids {
            assert!(
                alarms(id).await.is_empty(),
                "invented payments raise nothing"
            );
        }

        // A real skimmer on a resident's page is still an alarm of its own.
        let real = post_from(
            [198, 51, 100, 20],
            Value::Array(vec![report(&victim, "https://cdn.evil.example/skim.js")]),
        )
        .await;
        assert_eq!(real.status, StatusCode::NO_CONTENT);
        assert_eq!(alarms(&victim).await.len(), 1);
    }
);

on_both!(
    a_resident_saves_a_card_only_when_they_ask_and_can_forget_it,
    async |pay: &Pay| {
        let for_resident = |reference: &str| {
            let mut body = payment_body(reference);
            body["customer"] = json!("resident-7");
            body
        };
        let pay_with = async |body: Value, card: &str, more: &str| {
            let created = pay.api("POST", "/v1/payments", Some(body), None).await;
            assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
            let (path, cookies, page) = pay.open_card_page(&created.json()).await;
            let offered = page.body.contains("name=\"save_card\"");
            let reply = pay
                .submit_with(&path, &cookies, &page.form_token(), card, "123", more)
                .await;
            (offered, page, reply)
        };
        let cards = async |customer: &str| {
            let reply = pay
                .api(
                    "GET",
                    &format!("/v1/customers/{customer}/cards"),
                    None,
                    None,
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            assert!(!reply.body.contains("4242424242424242"));
            reply.json()["cards"].as_array().unwrap().clone()
        };

        // Offered to a signed-in resident, with the consent text; saved
        // only when ticked and only once the acquirer approved.
        let (offered, page, paid) =
            pay_with(for_resident("S-1"), "4242 4242 4242 4242", "&save_card=yes").await;
        assert!(offered);
        assert!(page.body.contains("never its security code"));
        assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.body);
        let saved = cards("resident-7").await;
        assert_eq!(saved.len(), 1);
        assert_eq!(
            (
                &saved[0]["brand"],
                &saved[0]["last4"],
                &saved[0]["exp_month"],
                &saved[0]["exp_year"]
            ),
            (&json!("visa"), &json!("4242"), &json!(12), &json!(2030))
        );
        let token = saved[0]["token"].as_str().unwrap().to_owned();

        let (_, _, unticked) = pay_with(for_resident("S-2"), "5555 5555 5555 4444", "").await;
        assert_eq!(unticked.status, StatusCode::SEE_OTHER);
        let (_, _, declined) =
            pay_with(for_resident("S-3"), "4000 0000 0000 0002", "&save_card=yes").await;
        assert_ne!(declined.status, StatusCode::SEE_OTHER);
        // A guest's page has no offer, and a forged tick saves nothing.
        let (offered, _, guest) =
            pay_with(payment_body("S-4"), "4111 1111 1111 1111", "&save_card=yes").await;
        assert!(!offered);
        assert_eq!(guest.status, StatusCode::SEE_OTHER, "{}", guest.body);
        assert_eq!(cards("resident-7").await.len(), 1);

        // The number is sealed at rest; the city sees brand and last four.
        let stored = pay
            .state
            .store
            .saved_card(
                &pay.state
                    .store
                    .merchant_for_api_key(&pay.key)
                    .await
                    .unwrap()
                    .unwrap()
                    .tenant_id,
                &token,
            )
            .await
            .unwrap()
            .unwrap();
        assert!(!format!("{stored:?}").contains("4242424242424242"));

        // Phone payments never save cards.
        let mut moto = for_resident("S-5");
        moto["channel"] = json!("moto");
        let refused = pay.api("POST", "/v1/payments", Some(moto), None).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refused.json()["field"], "customer");

        // Only its owner forgets it.
        let other = pay
            .api(
                "DELETE",
                &format!("/v1/customers/resident-8/cards/{token}"),
                None,
                None,
            )
            .await;
        assert_eq!(other.status, StatusCode::NOT_FOUND);
        let forgotten = pay
            .api(
                "DELETE",
                &format!("/v1/customers/resident-7/cards/{token}"),
                None,
                None,
            )
            .await;
        assert_eq!(forgotten.status, StatusCode::NO_CONTENT);
        assert!(cards("resident-7").await.is_empty());
    }
);

on_both!(
    autopay_charges_a_saved_card_once_without_its_security_code,
    async |pay: &Pay| {
        let mut body = payment_body("AP-0");
        body["customer"] = json!("resident-9");
        let created = pay.api("POST", "/v1/payments", Some(body), None).await;
        let (path, cookies, page) = pay.open_card_page(&created.json()).await;
        let saved = pay
            .submit_with(
                &path,
                &cookies,
                &page.form_token(),
                "4242 4242 4242 4242",
                "123",
                "&save_card=yes",
            )
            .await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
        let cards = pay
            .api("GET", "/v1/customers/resident-9/cards", None, None)
            .await;
        let token = cards.json()["cards"][0]["token"]
            .as_str()
            .unwrap()
            .to_owned();

        let autopay = |customer: &str, token: &str, channel: &str| {
            json!({
                "amount": 3100, "currency": "USD", "reference": "AP-1", "description": "Water bill, autopay",
                "return_url": "https://city.example/springfield/account", "customer": customer,
                "saved_card": token, "channel": channel
            })
        };
        let first = pay
            .api(
                "POST",
                "/v1/payments",
                Some(autopay("resident-9", &token, "autopay")),
                Some("autopay-AP-1"),
            )
            .await;
        assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
        let charged = first.json();
        assert_eq!(charged["state"]["status"], "success", "{charged}");
        assert_eq!(charged["channel"], "autopay");
        assert!(
            charged["_links"]["next_url"].is_null(),
            "no card page for autopay"
        );

        // The same instruction again (a retried job) is reported, not charged again.
        let again = pay
            .api(
                "POST",
                "/v1/payments",
                Some(autopay("resident-9", &token, "autopay")),
                Some("autopay-AP-1"),
            )
            .await;
        assert_eq!(again.json()["payment_id"], charged["payment_id"]);
        assert_eq!(again.json()["state"]["status"], "success");
        let events = pay
            .api(
                "GET",
                &format!(
                    "/v1/payments/{}/events",
                    charged["payment_id"].as_str().unwrap()
                ),
                None,
                None,
            )
            .await;
        assert_eq!(
            events.json()["events"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["event"] == "authorised_and_captured")
                .count(),
            1,
            "{}",
            events.body
        );

        // Another resident cannot use it; the rules of the request are enforced.
        for (body, field) in [
            (autopay("resident-10", &token, "autopay"), "saved_card"),
            (autopay("resident-9", "", "autopay"), "saved_card"),
            (autopay("resident-9", &token, "web"), "channel"),
            (autopay("", &token, "autopay"), "customer"),
        ] {
            let refused = pay.api("POST", "/v1/payments", Some(body), None).await;
            assert_eq!(
                refused.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{}",
                refused.body
            );
            assert_eq!(refused.json()["field"], field, "{}", refused.body);
        }
    }
);

on_both!(
    a_resident_pays_again_with_a_saved_card_and_a_fresh_security_code,
    async |pay: &Pay| {
        let for_resident = |reference: &str, customer: &str| {
            let mut body = payment_body(reference);
            body["customer"] = json!(customer);
            body
        };
        let created = pay
            .api(
                "POST",
                "/v1/payments",
                Some(for_resident("RE-1", "resident-11")),
                None,
            )
            .await;
        let (path, cookies, page) = pay.open_card_page(&created.json()).await;
        assert!(
            !page.body.contains("name=\"saved_card\""),
            "nothing saved yet, nothing offered"
        );
        let saved = pay
            .submit_with(
                &path,
                &cookies,
                &page.form_token(),
                "4242 4242 4242 4242",
                "123",
                "&save_card=yes",
            )
            .await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);

        let created = pay
            .api(
                "POST",
                "/v1/payments",
                Some(for_resident("RE-2", "resident-11")),
                None,
            )
            .await;
        let (path, cookies, page) = pay.open_card_page(&created.json()).await;
        assert!(page.body.contains("Pay with a saved card"), "{}", page.body);
        assert!(page.body.contains("Visa •••• 4242 (12/2030)"));
        let token = page
            .body
            .split("name=\"saved_card\" value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        let use_saved = async |card: &str, code: &str| {
            pay.send(
                Request::post(format!("{path}/saved"))
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(header::COOKIE, &cookies)
                    .body(Body::from(format!(
                        "form_token={}&saved_card={card}&security_code={code}",
                        page.form_token()
                    )))
                    .unwrap(),
            )
            .await
        };
        let no_code = use_saved(&token, "").await;
        assert_eq!(
            no_code.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "the code is asked again"
        );
        assert!(no_code.body.contains("href=\"#saved-security-code\""));
        let not_theirs = use_saved("someone-elses-token", "123").await;
        assert_eq!(not_theirs.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(not_theirs.body.contains("Choose one of your saved cards"));
        let paid = use_saved(&token, "123").await;
        assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.body);
        let status = status_of(pay, &created.json()).await;
        assert_eq!(status["state"]["status"], "success", "{status}");
        assert_eq!(status["card"]["last4"], "4242");

        // Another resident's page offers nothing of resident-11's, and a
        // guest's page offers no saved cards at all.
        for body in [for_resident("RE-3", "resident-12"), payment_body("RE-4")] {
            let created = pay.api("POST", "/v1/payments", Some(body), None).await;
            let (_, _, page) = pay.open_card_page(&created.json()).await;
            assert!(!page.body.contains("name=\"saved_card\""));
        }
    }
);

/// The city's id behind the test key.
async fn tenant_of(pay: &Pay) -> TenantId {
    pay.state
        .store
        .merchant_for_api_key(&pay.key)
        .await
        .unwrap()
        .unwrap()
        .tenant_id
}

/// Moves a created payment to `submitted` (attempt 1), as the card page
/// does just before it calls the acquirer.
async fn submitted_payment(pay: &Pay, reference: &str) -> (TenantId, civicpay_core::PaymentId) {
    use civicpay_core::payment::PaymentEvent;
    let created = pay.create(reference).await;
    let tenant = tenant_of(pay).await;
    let id = civicpay_core::PaymentId::parse(created["payment_id"].as_str().unwrap()).unwrap();
    for (event, change) in [
        (
            PaymentEvent::CardPageOpened,
            civicpay_store::pay::PaymentChange::default(),
        ),
        (
            PaymentEvent::CardSubmitted,
            civicpay_store::pay::PaymentChange {
                add_attempt: true,
                ..Default::default()
            },
        ),
    ] {
        pay.state
            .store
            .transition(&tenant, &id, event, "test", change)
            .await
            .unwrap();
    }
    (tenant, id)
}

/// Authorises attempt 1 at the acquirer behind pay's back, as a request
/// whose answer was lost would have.
async fn authorise_at_acquirer(pay: &Pay, id: &civicpay_core::PaymentId, capture: bool) {
    use civicpay_gateway::{AuthorisationOutcome, AuthorisationRequest};
    use civicpay_vault::{CardNumber, Expiry, SecurityCode};
    let card = CardNumber::parse("4242 4242 4242 4242").unwrap();
    let code = SecurityCode::parse("739", card.brand()).unwrap();
    let outcome = pay
        .state
        .connectors
        .default_connector()
        .authorise(AuthorisationRequest {
            payment_id: &format!("{id}.1"),
            amount: civicpay_core::Money::from_minor(4200, Currency::Usd),
            card: &card,
            security_code: Some(&code),
            stored_credential: false,
            expiry: Expiry::parse("12/39", jiff::civil::date(2026, 1, 1)).unwrap(),
            capture,
        })
        .await;
    assert!(
        matches!(outcome, AuthorisationOutcome::Approved { .. }),
        "{outcome:?}"
    );
}

async fn sweep(pay: &Pay, grace: Duration) -> civicpay_pay::reconcile::ReconcileReport {
    civicpay_pay::reconcile::run_once(&pay.state, Duration::ZERO, grace)
        .await
        .unwrap()
}

on_both!(
    a_crash_between_authorised_and_captured_is_settled,
    async |pay: &Pay| {
        use civicpay_core::payment::PaymentEvent;
        // The acquirer captured; pay recorded only the authorisation and
        // died: the payer was charged, the bill not credited.
        let (tenant, charged) = submitted_payment(pay, "CRASH-1").await;
        authorise_at_acquirer(pay, &charged, true).await;
        pay.state
            .store
            .transition(
                &tenant,
                &charged,
                PaymentEvent::Authorised,
                "test",
                Default::default(),
            )
            .await
            .unwrap();
        // Authorised only (capture due), and died before capturing.
        let (_, due) = submitted_payment(pay, "CRASH-2").await;
        authorise_at_acquirer(pay, &due, false).await;
        pay.state
            .store
            .transition(
                &tenant,
                &due,
                PaymentEvent::Authorised,
                "test",
                Default::default(),
            )
            .await
            .unwrap();
        let report = sweep(pay, Duration::from_secs(300)).await;
        assert_eq!((report.checked, report.succeeded), (2, 2), "{report:?}");
        for id in [&charged, &due] {
            let p = pay.state.store.payment(&tenant, id).await.unwrap().unwrap();
            assert_eq!(p.status, civicpay_core::payment::PaymentStatus::Success);
            assert_eq!(p.captured.minor(), 4200);
            let inquiry = pay
                .state
                .connectors
                .default_connector()
                .status(&format!("{id}.1"))
                .await
                .unwrap();
            assert!(
                matches!(
                    inquiry,
                    civicpay_gateway::StatusInquiry::Captured { captured: 4200, .. }
                ),
                "{inquiry:?}"
            );
        }
        let (total, unbalanced) = pay.state.store.ledger_check(&tenant).await.unwrap();
        assert_eq!((total, unbalanced), (0, 0));
        assert_eq!(sweep(pay, Duration::from_secs(300)).await.checked, 0);
    }
);

on_both!(
    a_refund_whose_answer_was_lost_is_settled_not_released,
    async |pay: &Pay| {
        let id = paid(pay, "LOST-REFUND").await;
        let tenant = tenant_of(pay).await;
        let pid = civicpay_core::PaymentId::parse(&id).unwrap();
        // Paid by the acquirer, answer lost.
        let paid_refund = pay
            .state
            .store
            .reserve_refund(&tenant, &pid, 1000, None)
            .await
            .unwrap()
            .unwrap();
        pay.state
            .connectors
            .default_connector()
            .refund(
                &format!("{id}.1"),
                paid_refund.id.as_str(),
                civicpay_core::Money::from_minor(1000, Currency::Usd),
            )
            .await
            .unwrap();
        // Never sent: a crash after the reservation.
        let unsent = pay
            .state
            .store
            .reserve_refund(&tenant, &pid, 500, None)
            .await
            .unwrap()
            .unwrap();
        let early = sweep(pay, Duration::from_secs(300)).await;
        assert_eq!(
            (early.refunds_checked, early.refunds_settled),
            (2, 1),
            "{early:?}"
        );
        let p = pay
            .state
            .store
            .payment(&tenant, &pid)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            p.refunded.minor(),
            1500,
            "the unsent one stays reserved within the grace"
        );
        let late = sweep(pay, Duration::ZERO).await;
        assert_eq!(late.refunds_settled, 1, "sent again after the grace");
        let refunds = pay.state.store.refunds(&tenant, &pid).await.unwrap();
        assert!(refunds.iter().all(|r| r.status == "success"), "{refunds:?}");
        assert!(refunds.iter().any(|r| r.id == unsent.id));
        let at_acquirer = pay
            .state
            .connectors
            .default_connector()
            .status(&format!("{id}.1"))
            .await
            .unwrap();
        assert!(
            matches!(
                at_acquirer,
                civicpay_gateway::StatusInquiry::Captured { refunded: 1500, .. }
            ),
            "{at_acquirer:?}"
        );
        assert_eq!(pay.state.store.ledger_check(&tenant).await.unwrap(), (0, 0));
    }
);

on_both!(
    an_acquirer_5xx_leaves_the_payment_being_confirmed,
    async |pay: &Pay| {
        let created = pay.create("FIVE-XX").await;
        let (path, cookies, page) = pay.open_card_page(&created).await;
        pay.submit(
            &path,
            &cookies,
            &page.form_token(),
            "4000 0000 0000 0119",
            "739",
        )
        .await;
        assert_eq!(
            status_of(pay, &created).await["state"]["status"],
            "submitted",
            "a 5xx is not a decline: the resident must not be invited to pay again"
        );
        assert_eq!(sweep(pay, Duration::from_secs(300)).await.pending, 1);
        let settled = sweep(pay, Duration::ZERO).await;
        assert_eq!(settled.failed, 1);
        assert_eq!(
            status_of(pay, &created).await["state"]["code"],
            "not_received_by_acquirer"
        );
    }
);

on_both!(
    a_late_authorisation_nobody_accounts_for_is_voided_and_recorded,
    async |pay: &Pay| {
        let (tenant, id) = submitted_payment(pay, "LATE-1").await;
        // We gave up on it; then the acquirer's approval landed.
        pay.state
            .store
            .transition(
                &tenant,
                &id,
                civicpay_core::payment::PaymentEvent::Failed,
                "test",
                Default::default(),
            )
            .await
            .unwrap();
        authorise_at_acquirer(pay, &id, false).await;
        let (_, captured_late) = submitted_payment(pay, "LATE-2").await;
        pay.state
            .store
            .transition(
                &tenant,
                &captured_late,
                civicpay_core::payment::PaymentEvent::Failed,
                "test",
                Default::default(),
            )
            .await
            .unwrap();
        authorise_at_acquirer(pay, &captured_late, true).await;
        let report = sweep(pay, Duration::from_secs(300)).await;
        assert_eq!(report.orphans, 2, "{report:?}");
        assert_eq!(
            pay.state
                .connectors
                .default_connector()
                .status(&format!("{id}.1"))
                .await
                .unwrap(),
            civicpay_gateway::StatusInquiry::Voided
        );
        assert!(matches!(
            pay.state
                .connectors
                .default_connector()
                .status(&format!("{captured_late}.1"))
                .await
                .unwrap(),
            civicpay_gateway::StatusInquiry::Captured { refunded: 4200, .. }
        ));
        // Written to the money trail, and the trail verifies.
        let chain = civicpay_audit::ChainId::money(tenant.clone());
        let verified = pay
            .state
            .store
            .verify_money_trail(civicpay_audit::ChainVerifier::new(chain, []), &tenant)
            .await
            .unwrap();
        assert!(verified.is_ok(), "{verified:?}");
        assert_eq!(
            sweep(pay, Duration::from_secs(300)).await.orphans,
            0,
            "settled once"
        );
    }
);

on_both!(
    a_payment_reconciliation_cannot_settle_is_flagged_once_and_listed,
    async |pay: &Pay| {
        // We recorded an approval the acquirer has never heard of.
        let (tenant, id) = submitted_payment(pay, "ALARM-1").await;
        pay.state
            .store
            .transition(
                &tenant,
                &id,
                civicpay_core::payment::PaymentEvent::Authorised,
                "test",
                Default::default(),
            )
            .await
            .unwrap();
        for _ in 0..2 {
            let report = sweep(pay, Duration::from_secs(300)).await;
            assert_eq!(report.attention, 1, "{report:?}");
        }
        let alarms: Vec<_> = pay
            .state
            .store
            .webhook_deliveries(&tenant, id.as_str())
            .await
            .unwrap()
            .into_iter()
            .filter(|d| d.event_type == "payment.needs_attention")
            .collect();
        assert_eq!(alarms.len(), 1, "the city is alarmed once, not every sweep");
        let listed = pay
            .api("GET", "/v1/alerts/attention", None, None)
            .await
            .json();
        assert_eq!(listed["results"][0]["payment_id"], id.as_str(), "{listed}");
        assert_eq!(listed["results"][0]["reason"], "acquirer_has_no_record");
        assert_eq!(
            status_of(pay, &json!({ "payment_id": id.as_str() })).await["state"]["status"],
            "authorised",
            "the money is held as it stands"
        );
        // Once the acquirer has it (someone settled it by hand there), the
        // next sweep finishes the payment and it leaves the list.
        authorise_at_acquirer(pay, &id, true).await;
        assert_eq!(sweep(pay, Duration::from_secs(300)).await.succeeded, 1);
        let listed = pay
            .api("GET", "/v1/alerts/attention", None, None)
            .await
            .json();
        assert_eq!(listed["results"], json!([]));
    }
);

on_both!(
    cancel_and_capture_answer_a_retry_with_their_first_response,
    async |pay: &Pay| {
        let created = pay.create("RETRY-1").await;
        let id = created["payment_id"].as_str().unwrap();
        let cancel = format!("/v1/payments/{id}/cancel");
        let first = pay.api("POST", &cancel, None, Some("cancel-1")).await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.body);
        assert_eq!(first.json()["state"]["status"], "cancelled");
        assert_eq!(first.header("idempotent-replayed").unwrap_or_default(), "");

        // The retry gets the same answer, marked as a replay, and changes nothing.
        let retry = pay.api("POST", &cancel, None, Some("cancel-1")).await;
        assert_eq!(retry.status, StatusCode::OK);
        assert_eq!(retry.body, first.body);
        assert_eq!(
            retry.header("idempotent-replayed").unwrap_or_default(),
            "true"
        );
        let events = pay
            .api("GET", &format!("/v1/payments/{id}/events"), None, None)
            .await;
        let cancels = events.json()["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["to"] == "cancelled")
            .count();
        assert_eq!(cancels, 1, "{}", events.body);

        // A new key is a new request: the payment is already cancelled.
        let again = pay.api("POST", &cancel, None, Some("cancel-2")).await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        assert_eq!(again.json()["code"], "invalid_state");

        // The key sent with another request is refused, whichever it is.
        let capture = format!("/v1/payments/{id}/capture");
        let reused = pay.api("POST", &capture, None, Some("cancel-1")).await;
        assert_eq!(reused.status, StatusCode::CONFLICT);
        assert_eq!(reused.json()["code"], "idempotency_key_reused");

        // A refusal is an answer too: its retry gets it again.
        let refused = pay.api("POST", &capture, None, Some("capture-1")).await;
        assert_eq!(refused.status, StatusCode::CONFLICT);
        let refused_again = pay.api("POST", &capture, None, Some("capture-1")).await;
        assert_eq!(refused_again.status, StatusCode::CONFLICT);
        assert_eq!(refused_again.body, refused.body);
        assert_eq!(
            refused_again
                .header("idempotent-replayed")
                .unwrap_or_default(),
            "true"
        );
    }
);

/// The document's response schemas are derived from the types pay
/// serialises: a real payment, its list and its events have exactly the
/// properties their schemas name, and every required one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_response_schemas_describe_real_responses() {
    let pay = start_pay(TestDb::sqlite_with(Schema::Pay).await.unwrap()).await;
    let doc = pay
        .send(
            Request::get("/v1/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .json();
    let schema_of = |path: &str, method: &str, status: &str| -> Value {
        let schema = &doc["paths"][path][method]["responses"][status]["content"]["application/json"]
            ["schema"];
        let name = schema["$ref"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has a named schema: {schema}"))
            .trim_start_matches("#/components/schemas/");
        doc["components"]["schemas"][name].clone()
    };
    let conforms = |what: &str, body: &Value, schema: &Value| {
        let properties = schema["properties"].as_object().unwrap();
        for key in body.as_object().unwrap().keys() {
            assert!(
                properties.contains_key(key),
                "{what}: {key} is not in the schema"
            );
        }
        for required in schema["required"].as_array().unwrap() {
            let key = required.as_str().unwrap();
            assert!(body.get(key).is_some(), "{what}: required {key} is missing");
        }
    };
    let created = pay.create("SCHEMA-1").await;
    conforms(
        "created payment",
        &created,
        &schema_of("/v1/payments", "post", "201"),
    );
    let id = created["payment_id"].as_str().unwrap();
    let got = pay
        .api("GET", &format!("/v1/payments/{id}"), None, None)
        .await
        .json();
    conforms(
        "payment",
        &got,
        &schema_of("/v1/payments/{id}", "get", "200"),
    );
    let list = pay.api("GET", "/v1/payments", None, None).await.json();
    conforms("list", &list, &schema_of("/v1/payments", "get", "200"));
    let events = pay
        .api("GET", &format!("/v1/payments/{id}/events"), None, None)
        .await
        .json();
    conforms(
        "events",
        &events,
        &schema_of("/v1/payments/{id}/events", "get", "200"),
    );
    // The check itself: a property the schema does not name is caught.
    let mut planted = got.clone();
    planted["surprise"] = Value::Bool(true);
    let caught = std::panic::catch_unwind(|| {
        conforms(
            "planted",
            &planted,
            &schema_of("/v1/payments/{id}", "get", "200"),
        );
    });
    assert!(caught.is_err(), "an undocumented property is caught");
    pay.finish().await;
}

/// Creates and pays a payment of $86.52 of which $2.32 is a fee.
async fn paid_with_fee(pay: &Pay, reference: &str, refundable: bool) -> (String, Reply) {
    let mut body = payment_body(reference);
    body["amount"] = json!(8_652);
    body["allocations"] = json!([
        { "gl_code": "100-4410", "amount": 6_000 },
        { "gl_code": "100-4420", "amount": 2_420 }
    ]);
    body["fee"] = json!({ "amount": 232, "gl_code": "100-3990", "refundable": refundable });
    let created = pay.api("POST", "/v1/payments", Some(body), None).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let created = created.json();
    assert_eq!(created["fee_amount"], 232);
    let (path, cookies, page) = pay.open_card_page(&created).await;
    let done = pay
        .submit(
            &path,
            &cookies,
            &page.form_token(),
            "4242 4242 4242 4242",
            "739",
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    (created["payment_id"].as_str().unwrap().to_owned(), page)
}

on_both!(
    a_convenience_fee_is_shown_charged_posted_apart_and_kept_or_refunded,
    async |pay: &Pay| {
        let (kept, page) = paid_with_fee(pay, "FEE-1", false).await;
        assert!(
            page.body
                .contains("Amount $84.20 + service fee $2.32 = $86.52"),
            "the card page states the fee: {}",
            page.body
        );
        let fetched = pay
            .api("GET", &format!("/v1/payments/{kept}"), None, None)
            .await
            .json();
        assert_eq!(fetched["captured_amount"], 8_652, "the card pays both");

        // The city keeps this fee: at most the bill's part comes back.
        let too_much = pay
            .api(
                "POST",
                &format!("/v1/payments/{kept}/refunds"),
                Some(json!({"amount": 8_652})),
                Some("fee-1"),
            )
            .await;
        assert_eq!(
            too_much.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            too_much.body
        );
        assert!(too_much.body.contains("8420"), "{}", too_much.body);
        let all_but_fee = pay
            .api(
                "POST",
                &format!("/v1/payments/{kept}/refunds"),
                Some(json!({"amount": 8_420})),
                Some("fee-2"),
            )
            .await;
        assert_eq!(
            all_but_fee.status,
            StatusCode::CREATED,
            "{}",
            all_but_fee.body
        );

        // This one's fee goes back with a full refund.
        let (returned, _) = paid_with_fee(pay, "FEE-2", true).await;
        let full = pay
            .api(
                "POST",
                &format!("/v1/payments/{returned}/refunds"),
                Some(json!({"amount": 8_652})),
                Some("fee-3"),
            )
            .await;
        assert_eq!(full.status, StatusCode::CREATED, "{}", full.body);

        let report = pay
            .api(
                "GET",
                "/v1/reports/ledger?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z",
                None,
                None,
            )
            .await
            .json();
        assert_eq!(
            report["by_gl"],
            json!([
                { "gl_code": "100-3990", "captured": 464, "refunded": 232 },
                { "gl_code": "100-4410", "captured": 12_000, "refunded": 12_000 },
                { "gl_code": "100-4420", "captured": 4_840, "refunded": 4_840 },
            ]),
            "the fee is its own line; the kept fee stays, the refunded one goes back"
        );
        assert_eq!(report["differences"], json!([]));

        let bad = |fee: Value| {
            let mut body = payment_body("FEE-BAD");
            body["fee"] = fee;
            async move { pay.api("POST", "/v1/payments", Some(body), None).await }
        };
        for (fee, field) in [
            (
                json!({ "amount": 4_200, "gl_code": "100-3990" }),
                "fee.amount",
            ),
            (json!({ "amount": -1, "gl_code": "100-3990" }), "fee.amount"),
            (json!({ "amount": 10, "gl_code": "" }), "fee.gl_code"),
        ] {
            let refused = bad(fee).await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(refused.body.contains(field), "{}", refused.body);
        }
    }
);

// The ledger line by line: each payment's GL parts and its fee as money
// in, each refund line as money out, read a page at a time to the end, in
// order, each line once; the lines add up to what the window's ledger
// report says.
on_both!(
    the_ledger_reads_line_by_line_a_page_at_a_time,
    async |pay: &Pay| {
        let (kept, _) = paid_with_fee(pay, "GL-1", false).await;
        let refund = pay
            .api(
                "POST",
                &format!("/v1/payments/{kept}/refunds"),
                Some(json!({"amount": 1_000})),
                Some("gl-1"),
            )
            .await;
        assert_eq!(refund.status, StatusCode::CREATED, "{}", refund.body);
        let (returned, _) = paid_with_fee(pay, "GL-2", true).await;
        let full = pay
            .api(
                "POST",
                &format!("/v1/payments/{returned}/refunds"),
                Some(json!({"amount": 8_652})),
                Some("gl-2"),
            )
            .await;
        assert_eq!(full.status, StatusCode::CREATED, "{}", full.body);
        let window = "from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z";
        let mut lines = Vec::new();
        let mut after = String::new();
        let mut pages = 0;
        loop {
            let page = pay
                .api(
                    "GET",
                    &format!("/v1/reports/gl-lines?{window}&limit=2{after}"),
                    None,
                    None,
                )
                .await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            let page = page.json();
            pages += 1;
            lines.extend(page["lines"].as_array().unwrap().iter().cloned());
            match page["next"].as_str() {
                Some(next) => after = format!("&after={next}"),
                None => break,
            }
        }
        // 3 lines per payment, 2 for the part refund, 3 for the full one.
        assert_eq!(lines.len(), 11, "{lines:#?}");
        assert!(pages >= 6, "two lines a page: {pages}");
        let kinds = |payment: &str| {
            let mut k: Vec<(String, String, i64)> = lines
                .iter()
                .filter(|l| l["payment_id"] == payment)
                .map(|l| {
                    (
                        l["kind"].as_str().unwrap().to_owned(),
                        l["gl_code"].as_str().unwrap().to_owned(),
                        l["amount"].as_i64().unwrap(),
                    )
                })
                .collect();
            k.sort();
            k
        };
        let line = |kind: &str, gl: &str, amount: i64| (kind.to_owned(), gl.to_owned(), amount);
        assert_eq!(
            kinds(&kept),
            [
                line("fee", "100-3990", 232),
                line("payment", "100-4410", 6_000),
                line("payment", "100-4420", 2_420),
                line("refund", "100-4410", -713),
                line("refund", "100-4420", -287),
            ]
        );
        assert_eq!(
            kinds(&returned),
            [
                line("fee", "100-3990", 232),
                line("fee_refund", "100-3990", -232),
                line("payment", "100-4410", 6_000),
                line("payment", "100-4420", 2_420),
                line("refund", "100-4410", -6_000),
                line("refund", "100-4420", -2_420),
            ]
        );
        assert!(
            lines
                .iter()
                .all(|l| l["reference"].as_str().unwrap().starts_with("GL-"))
        );
        let times: Vec<&str> = lines
            .iter()
            .map(|l| l["posted_at"].as_str().unwrap())
            .collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "oldest first");
        let total: i64 = lines.iter().map(|l| l["amount"].as_i64().unwrap()).sum();
        assert_eq!(total, 8_652 - 1_000, "what the city keeps");
        for (query, field) in [
            ("from=2000-01-01T00:00:00Z", "to"),
            (&format!("{window}&limit=0") as &str, "limit"),
            (&format!("{window}&limit=1001"), "limit"),
            (&format!("{window}&after=1.not-a-cursor.2"), "after"),
        ] {
            let refused = pay
                .api("GET", &format!("/v1/reports/gl-lines?{query}"), None, None)
                .await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
            assert_eq!(refused.json()["field"], field, "{query}");
        }
    }
);

/// Fakes of both processors, on one address as `processors_url` has them.
struct Fakes {
    base: String,
    authorize_net: civicpay_processor_fakes::authorize_net::AuthorizeNetFake,
    moneris: civicpay_processor_fakes::moneris::MonerisFake,
}

async fn start_fakes() -> Fakes {
    use civicpay_processor_fakes::{authorize_net::AuthorizeNetFake, moneris::MonerisFake};
    let authorize_net = AuthorizeNetFake::new("civicpaylogin", "transaction-key-1", "USD");
    let moneris = MonerisFake::new("civicpay-client", "client-secret-1", "0123456789101", "CAD");
    let router = Router::new()
        .nest("/authorize-net", authorize_net.router())
        .nest("/moneris", moneris.router());
    let base = format!(
        "http://{}",
        civicpay_processor_fakes::serve(router).await.unwrap()
    );
    Fakes {
        base,
        authorize_net,
        moneris,
    }
}

/// Pay with every city's processor at `fakes`.
async fn start_pay_on_fakes(db: TestDb, fakes: &Fakes) -> Pay {
    start_pay_with(
        db,
        PayConfig {
            processor_endpoints: civicpay_pay::connectors::ProcessorEndpoints::all_at(&fakes.base),
            processor_timeout: Duration::from_secs(3),
            ..PayConfig::default()
        },
    )
    .await
}

/// A second city on `pay`, with its own account at `kind`'s fake.
struct ProcessorCity {
    tenant: TenantId,
    key: String,
    currency: &'static str,
    /// A security code the processor approves, and one it declines.
    approving_code: &'static str,
    declining_code: &'static str,
    secret_name: &'static str,
}

/// Registers the city with its processor, as the portal does from the
/// city file, and seals its secret when there is one.
async fn processor_city(pay: &Pay, kind: &str, secret: Option<&str>) -> ProcessorCity {
    use civicpay_core::{Processor, ProcessorEnvironment};
    let (processor, currency, secret_name, declining_code) = match kind {
        "authorize_net" => (
            Processor::AuthorizeNet {
                environment: ProcessorEnvironment::Sandbox,
                api_login_id: "civicpaylogin".into(),
            },
            Currency::Usd,
            "processor.transaction_key",
            civicpay_processor_fakes::authorize_net::MISMATCHED_CARD_CODE,
        ),
        _ => (
            Processor::Moneris {
                environment: ProcessorEnvironment::Sandbox,
                client_id: "civicpay-client".into(),
                merchant_id: "0123456789101".into(),
            },
            Currency::Cad,
            "processor.client_secret",
            civicpay_processor_fakes::moneris::MISMATCHED_SECURITY_CODE,
        ),
    };
    let tenant = TenantId::generate();
    let key = format!("cpay_{}", uuid::Uuid::now_v7().simple());
    civicpay_pay::platform::register(
        &pay.state.store,
        tenant.clone(),
        &civicpay_pay_api::RegisterMerchant {
            slug: format!("city-{}", kind.replace('_', "-")),
            name: "A city with its own processor".into(),
            currency,
            return_origins: vec!["https://city.example".into()],
            suspended: false,
            portal_key: key.clone(),
            webhook_url: "https://city.example/hooks".into(),
            webhook_secret: "hook-secret".into(),
            processor: Some(processor),
        },
    )
    .await
    .unwrap();
    if let Some(secret) = secret {
        pay.state
            .vault
            .as_ref()
            .unwrap()
            .put_secret(&tenant, secret_name, secret)
            .await
            .unwrap();
    }
    ProcessorCity {
        tenant,
        key,
        currency: currency.code(),
        approving_code: "739",
        declining_code,
        secret_name,
    }
}

impl Pay {
    /// Pays a new payment of `city` with `code`; returns the payment id and
    /// pay's answer to the card form.
    async fn pay_city(&self, city: &ProcessorCity, reference: &str, code: &str) -> (String, Reply) {
        let created = self
            .api_as(
                &city.key,
                "POST",
                "/v1/payments",
                Some(json!({
                    "amount": 4200, "currency": city.currency, "reference": reference,
                    "description": "Water bill", "return_url": "https://city.example/return"
                })),
                None,
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let created = created.json();
        let (path, cookies, page) = self.open_card_page(&created).await;
        let answer = self
            .submit(
                &path,
                &cookies,
                &page.form_token(),
                "4242 4242 4242 4242",
                code,
            )
            .await;
        (created["payment_id"].as_str().unwrap().to_owned(), answer)
    }
}

macro_rules! on_each_processor {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            async fn run(db: TestDb, kind: &str) {
                let fakes = start_fakes().await;
                let pay = start_pay_on_fakes(db, &fakes).await;
                ($body)(&pay, &fakes, kind).await;
                pay.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn authorize_net_sqlite() {
                run(
                    TestDb::sqlite_with(Schema::Pay).await.unwrap(),
                    "authorize_net",
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn moneris_sqlite() {
                run(TestDb::sqlite_with(Schema::Pay).await.unwrap(), "moneris").await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn authorize_net_postgres() {
                let Some(db) = TestDb::postgres_with(Schema::Pay).await.unwrap() else {
                    eprintln!("skipped: set CIVICPAY_TEST_POSTGRES_URL to run on PostgreSQL");
                    return;
                };
                run(db, "authorize_net").await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn moneris_postgres() {
                let Some(db) = TestDb::postgres_with(Schema::Pay).await.unwrap() else {
                    eprintln!("skipped: set CIVICPAY_TEST_POSTGRES_URL to run on PostgreSQL");
                    return;
                };
                run(db, "moneris").await;
            }
        }
    };
}

fn fake_count(fakes: &Fakes, kind: &str) -> usize {
    match kind {
        "authorize_net" => fakes.authorize_net.transaction_count(),
        _ => fakes.moneris.payment_count(),
    }
}

on_each_processor!(
    a_city_with_its_own_processor_is_charged_and_refunded_there,
    async |pay: &Pay, fakes: &Fakes, kind: &str| {
        let city = processor_city(
            pay,
            kind,
            Some(match kind {
                "authorize_net" => "transaction-key-1",
                _ => "client-secret-1",
            }),
        )
        .await;
        let (id, answer) = pay.pay_city(&city, "OWN-1", city.approving_code).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        assert_eq!(fake_count(fakes, kind), 1, "the city's processor took it");
        let reference = format!("{id}.1");
        let connector = pay.state.connector(&city.tenant).await;
        assert!(matches!(
            connector.status(&reference).await.unwrap(),
            civicpay_gateway::StatusInquiry::Captured { captured: 4200, .. }
        ));
        assert_eq!(
            pay.state
                .connectors
                .default_connector()
                .status(&reference)
                .await
                .unwrap(),
            civicpay_gateway::StatusInquiry::NotFound,
            "nothing went to the deployment's acquirer"
        );
        let payment = pay
            .api_as(&city.key, "GET", &format!("/v1/payments/{id}"), None, None)
            .await
            .json();
        assert_eq!(payment["state"]["status"], "success", "{payment}");

        // The whole amount back, the same day: a void at Authorize.Net
        // (nothing settled yet), a refund at Moneris.
        let refund = pay
            .api_as(
                &city.key,
                "POST",
                &format!("/v1/payments/{id}/refunds"),
                Some(json!({"amount": 4200})),
                Some("refund-1"),
            )
            .await;
        assert_eq!(refund.status, StatusCode::CREATED, "{}", refund.body);
        assert_eq!(refund.json()["status"], "success", "{}", refund.body);
        assert!(matches!(
            connector.status(&reference).await.unwrap(),
            civicpay_gateway::StatusInquiry::Voided
                | civicpay_gateway::StatusInquiry::Captured { refunded: 4200, .. }
        ));

        // A decline reads as one on the card page, with no charge.
        let (declined, answer) = pay.pay_city(&city, "OWN-2", city.declining_code).await;
        assert_eq!(answer.status, StatusCode::OK, "the card page again");
        assert!(answer.body.contains("security code"), "{}", answer.body);
        let payment = pay
            .api_as(
                &city.key,
                "GET",
                &format!("/v1/payments/{declined}"),
                None,
                None,
            )
            .await
            .json();
        assert_ne!(payment["state"]["status"], "success", "{payment}");
    }
);

on_each_processor!(
    a_city_whose_processor_secret_was_never_set_sends_nothing,
    async |pay: &Pay, fakes: &Fakes, kind: &str| {
        let city = processor_city(pay, kind, None).await;
        let (id, answer) = pay.pay_city(&city, "NOKEY-1", city.approving_code).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_eq!(fake_count(fakes, kind), 0, "nothing was sent");
        let payment = pay
            .api_as(&city.key, "GET", &format!("/v1/payments/{id}"), None, None)
            .await
            .json();
        assert_ne!(payment["state"]["status"], "success", "{payment}");
        let failure = pay
            .state
            .connector(&city.tenant)
            .await
            .status(&format!("{id}.1"))
            .await
            .unwrap_err()
            .to_string();
        assert!(failure.contains(city.secret_name), "{failure}");
        assert!(failure.contains("city secret set"), "{failure}");
    }
);

fn fake_secret(kind: &str) -> &'static str {
    match kind {
        "authorize_net" => "transaction-key-1",
        _ => "client-secret-1",
    }
}

on_each_processor!(
    a_lost_answer_at_the_citys_processor_is_settled_once,
    async |pay: &Pay, fakes: &Fakes, kind: &str| {
        use civicpay_processor_fakes::Fault;
        let city = processor_city(pay, kind, Some(fake_secret(kind))).await;
        match kind {
            "authorize_net" => fakes.authorize_net.faults.push(Fault::DropAfterActing),
            _ => fakes.moneris.faults.push(Fault::DropAfterActing),
        }
        // The processor charges the card, then the connection drops before
        // its answer: Authorize.Net's connector says "unknown" and leaves it
        // to reconciliation; Moneris's sends the same idempotency key again
        // and is answered as the first time.
        let (id, _) = pay.pay_city(&city, "LOST-1", city.approving_code).await;
        let before = pay
            .api_as(&city.key, "GET", &format!("/v1/payments/{id}"), None, None)
            .await
            .json();
        let expected = if kind == "authorize_net" {
            "submitted"
        } else {
            "success"
        };
        assert_eq!(before["state"]["status"], expected, "{before}");
        civicpay_pay::reconcile::run_once(&pay.state, Duration::ZERO, Duration::from_secs(300))
            .await
            .unwrap();
        let payment = pay
            .api_as(&city.key, "GET", &format!("/v1/payments/{id}"), None, None)
            .await
            .json();
        assert_eq!(payment["state"]["status"], "success", "{payment}");
        assert_eq!(payment["captured_amount"], 4200, "{payment}");
        assert_eq!(fake_count(fakes, kind), 1, "charged once at the processor");
        let again =
            civicpay_pay::reconcile::run_once(&pay.state, Duration::ZERO, Duration::from_secs(300))
                .await
                .unwrap();
        assert_eq!(again.checked, 0, "nothing is left unknown");
    }
);
