//! Real-browser tests: headless Chromium, driven through chromedriver,
//! walks the resident flow and runs axe-core on every page it visits,
//! failing on any WCAG 2.2 A/AA violation.
//!
//! They run when `CIVICPAY_BROWSER_TESTS=1` (CI sets it); elsewhere they
//! say they were skipped. `CIVICPAY_CHROMIUM` and `CIVICPAY_CHROMEDRIVER`
//! override the browser and driver paths.

use civicpay_portal::{AppState, PortalConfig, app};
use civicpay_store::demo;
use civicpay_store::testing::TestDb;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const AXE_SOURCE: &str = include_str!("vendor/axe-core/axe.min.js");

const AXE_RUN: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } })
  .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')) }))))
  .catch(e => done([{ id: 'axe-error', help: String(e), nodes: [] }]));
"#;

fn enabled() -> bool {
    std::env::var("CIVICPAY_BROWSER_TESTS").is_ok_and(|v| v == "1")
}

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_browser() -> (Driver, Client, tempdir::Dir) {
    let port = free_port();
    let driver_path =
        std::env::var("CIVICPAY_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let driver = Driver(
        Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {driver_path}: {e} (install chromium-driver)")
            }),
    );
    let profile = tempdir::Dir::new("civicpay-chromium");
    let chromium =
        std::env::var("CIVICPAY_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let capabilities = json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1024,900",
                format!("--user-data-dir={}", profile.path().display()),
            ]
        }
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    let url = format!("http://127.0.0.1:{port}");
    let mut last_error = String::new();
    for _ in 0..50 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return (driver, client, profile),
            Err(e) => last_error = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("chromedriver did not start a session: {last_error}");
}

mod tempdir {
    pub struct Dir(std::path::PathBuf);

    impl Dir {
        pub fn new(prefix: &str) -> Dir {
            let path = std::env::temp_dir().join(format!("{prefix}-{}", uuid_like()));
            std::fs::create_dir_all(&path).unwrap();
            Dir(path)
        }

        pub fn path(&self) -> &std::path::Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn uuid_like() -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        format!("{}-{nanos}", std::process::id())
    }
}

/// Runs axe-core on the current page and returns its WCAG A/AA violations.
async fn axe_violations(client: &Client) -> Vec<Value> {
    let loaded = client
        .execute("return typeof axe !== 'undefined';", vec![])
        .await
        .unwrap();
    if loaded != Value::Bool(true) {
        client.execute(AXE_SOURCE, vec![]).await.unwrap();
    }
    match client.execute_async(AXE_RUN, vec![]).await.unwrap() {
        Value::Array(violations) => violations,
        other => panic!("axe returned {other}"),
    }
}

async fn assert_accessible(client: &Client, what: &str) {
    let violations = axe_violations(client).await;
    assert!(
        violations.is_empty(),
        "{what} ({}): WCAG violations:\n{}",
        client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default(),
        serde_json::to_string_pretty(&violations).unwrap_or_default()
    );
}

/// Clicks and waits for the next page to load: a form post or a link
/// navigates asynchronously, and reading the old page would race.
async fn click_and_wait(client: &Client, locator: Locator<'_>) {
    client
        .execute("window.__civicpayOldPage = true;", vec![])
        .await
        .unwrap();
    client.find(locator).await.unwrap().click().await.unwrap();
    for _ in 0..100 {
        let state = client
            .execute(
                "return window.__civicpayOldPage === undefined && document.readyState === 'complete';",
                vec![],
            )
            .await;
        if matches!(state, Ok(Value::Bool(true))) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the page did not change after a click");
}

async fn text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn serve_demo() -> (SocketAddr, Vec<demo::DemoBill>, TestDb) {
    let db = TestDb::sqlite().await.unwrap();
    let summary = demo::seed(&db.store, 5).await.unwrap();
    let router = app(AppState::new(
        db.store.clone(),
        PortalConfig::default(),
        [9; 32],
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    (addr, summary.samples, db)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_finds_a_bill_in_a_real_browser_and_every_page_is_accessible() {
    if !enabled() {
        eprintln!(
            "browser tests skipped: set CIVICPAY_BROWSER_TESTS=1 (needs chromium and chromium-driver)"
        );
        return;
    }
    let (addr, samples, db) = serve_demo().await;
    let (_driver, client, _profile) = start_browser().await;
    let base = format!("http://{addr}");
    let sample = samples
        .iter()
        .find(|s| s.bill_type == "parking")
        .unwrap()
        .clone();

    client.goto(&format!("{base}/")).await.unwrap();
    assert_accessible(&client, "home").await;
    click_and_wait(&client, Locator::LinkText("City of Springfield")).await;
    assert_accessible(&client, "city").await;
    click_and_wait(&client, Locator::LinkText("Parking citation")).await;
    assert_eq!(
        text_of(&client, "h1").await,
        "Parking citation\nFind your bill"
    );
    assert_accessible(&client, "look-up form").await;

    // Submitting nothing shows the error summary, linked to the fields.
    click_and_wait(&client, Locator::Css("button[type=submit]")).await;
    assert!(
        text_of(&client, ".error-summary")
            .await
            .contains("Enter the licence plate")
    );
    assert_accessible(&client, "look-up form with errors").await;
    client
        .find(Locator::Css(".error-summary a[href='#verification']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let focused = client
        .execute("return document.activeElement.id;", vec![])
        .await
        .unwrap();
    assert_eq!(
        focused,
        json!("verification"),
        "the summary link takes the resident to the field"
    );

    // A wrong value, then the right ones.
    client
        .find(Locator::Id("reference"))
        .await
        .unwrap()
        .send_keys(&sample.reference)
        .await
        .unwrap();
    client
        .find(Locator::Id("verification"))
        .await
        .unwrap()
        .send_keys("ZZZ0000")
        .await
        .unwrap();
    click_and_wait(&client, Locator::Css("button[type=submit]")).await;
    assert!(
        text_of(&client, ".error-summary")
            .await
            .contains("could not find a bill")
    );
    let verification = client.find(Locator::Id("verification")).await.unwrap();
    verification.clear().await.unwrap();
    verification
        .send_keys(&sample.verification.to_lowercase())
        .await
        .unwrap();
    click_and_wait(&client, Locator::Css("button[type=submit]")).await;
    assert!(text_of(&client, "main").await.contains(&sample.reference));
    assert!(text_of(&client, "main").await.contains("Amount due"));
    assert_accessible(&client, "bill").await;

    click_and_wait(&client, Locator::Css(".bill form button")).await;
    assert_eq!(
        text_of(&client, "h1").await,
        "Online payment is not available yet"
    );
    assert_accessible(&client, "payment not available").await;

    // The same pages in French and Spanish.
    for (lang, heading) in [
        ("fr", "Que souhaitez-vous payer?"),
        ("es", "¿Qué desea pagar?"),
    ] {
        client
            .goto(&format!("{base}/springfield/?lang={lang}"))
            .await
            .unwrap();
        assert!(text_of(&client, "main").await.contains(heading));
        assert_accessible(&client, &format!("city in {lang}")).await;
        client
            .goto(&format!("{base}/springfield/pay/parking"))
            .await
            .unwrap();
        click_and_wait(&client, Locator::Css("button[type=submit]")).await;
        assert_accessible(&client, &format!("form errors in {lang}")).await;
    }
    client.goto(&format!("{base}/atlantis/")).await.unwrap();
    assert_accessible(&client, "not found").await;

    client.close().await.unwrap();
    db.finish().await;
}

/// The scan is only worth something if it finds a violation that is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axe_finds_a_violation_planted_on_purpose() {
    if !enabled() {
        eprintln!(
            "browser tests skipped: set CIVICPAY_BROWSER_TESTS=1 (needs chromium and chromium-driver)"
        );
        return;
    }
    let (addr, _, db) = serve_demo().await;
    let (_driver, client, _profile) = start_browser().await;
    client
        .goto(&format!("http://{addr}/springfield/pay/water"))
        .await
        .unwrap();
    client
        .execute(
            "document.querySelector('label[for=reference]').remove();",
            vec![],
        )
        .await
        .unwrap();
    let violations = axe_violations(&client).await;
    let ids: Vec<&str> = violations.iter().filter_map(|v| v["id"].as_str()).collect();
    assert!(
        ids.contains(&"label"),
        "axe should report the unlabelled field, found {ids:?}"
    );
    client.close().await.unwrap();
    db.finish().await;
}
