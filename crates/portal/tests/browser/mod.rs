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
use civicpay_testkit::{
    Locator, assert_accessible, axe_violations, click_and_wait, enabled, start_browser, text_of,
};
use serde_json::json;
use std::net::SocketAddr;

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
    // And the width check finds a page that runs off a phone's screen,
    // while the page as served fits.
    for width in civicpay_testkit::WIDTHS {
        assert_eq!(
            civicpay_testkit::overflow_at(&client, width).await,
            0,
            "the look-up page fits {width} px"
        );
    }
    client
        .execute(
            "document.querySelector('main').insertAdjacentHTML('beforeend', '<pre>' + 'x'.repeat(400) + '</pre>');",
            vec![],
        )
        .await
        .unwrap();
    for width in civicpay_testkit::WIDTHS {
        assert!(
            civicpay_testkit::overflow_at(&client, width).await > 0,
            "a planted 400-character line runs off {width} px"
        );
    }
    client.close().await.unwrap();
    db.finish().await;
}
