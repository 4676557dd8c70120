//! The chaos test: residents pay bills through the real binary (`serve`,
//! with a separate `acquirer-sim` process that drops, delays and fails
//! requests), staff refund some of them through the API, and `serve` is
//! killed with SIGKILL at random moments and restarted (the simulator
//! too, once). Then reconciliation is left to settle everything, and pay,
//! the acquirer and the portal are compared: nothing lost, nothing charged
//! twice, nothing left waiting, the books balanced, the money trail intact.
//!
//! A short run is part of `cargo test`. `CIVICPAY_CHAOS_SECONDS=600` runs
//! it for ten minutes, and `CIVICPAY_CHAOS_KILLS=off` runs it without
//! kills or faults, for the throughput to compare with (see BENCHMARKS.md
//! for the figures and the commands).

use super::*;
use civicpay_core::payment::PaymentStatus;
use civicpay_gateway::{AcquirerRecord, Connector, SimulatorConnector, StatusInquiry};
use civicpay_store::Store;
use civicpay_store::pay::{PayStore, PaymentFilter};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

const SHORT_RUN_SECONDS: u64 = 20;
const PAYERS: u64 = 6;

fn kills_on() -> bool {
    std::env::var("CIVICPAY_CHAOS_KILLS").map_or(true, |v| v != "off")
}

fn run_seconds() -> u64 {
    std::env::var("CIVICPAY_CHAOS_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SHORT_RUN_SECONDS)
}

/// A small deterministic generator: the kill times vary, the run can be
/// repeated from its seed.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below.max(1)
    }
}

/// Each bill is paid with a card of its own, so the per-card velocity
/// limit never trips.
fn card_for(n: u64) -> String {
    civicpay_acquirer_sim::approved_card_number(n)
}

fn plate(n: u64) -> String {
    format!("CH{n:05}")
}

fn reference(n: u64) -> String {
    format!("CHAOS-{n:06}")
}

struct Processes {
    dir: std::path::PathBuf,
    env: Vec<(String, String)>,
    sim_port: u16,
    faults: bool,
    serve: Option<Child>,
    sim: Option<Child>,
}

impl Processes {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_civicpay"));
        command
            .args(args)
            .env_remove("DATABASE_URL")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) -> String {
        let output = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "civicpay {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    fn log(&self, name: &str) -> Stdio {
        Stdio::from(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.join(name))
                .unwrap(),
        )
    }

    fn start_serve(&mut self) {
        let child = self
            .command(&["serve"])
            .stderr(self.log("serve.log"))
            .spawn()
            .unwrap();
        self.serve = Some(child);
    }

    fn start_sim(&mut self) {
        let listen = format!("127.0.0.1:{}", self.sim_port);
        let data = self.dir.join("acquirer").display().to_string();
        let mut args = vec!["acquirer-sim", "--listen", &listen, "--data", &data];
        if self.faults {
            args.extend([
                "--fault-drop-before",
                "0.02",
                "--fault-drop-after",
                "0.03",
                "--fault-slow",
                "0.02",
                "--fault-5xx",
                "0.03",
                "--fault-slow-ms",
                "2500",
            ]);
        }
        let child = self
            .command(&args)
            .stderr(self.log("acquirer.log"))
            .spawn()
            .unwrap();
        self.sim = Some(child);
    }

    fn kill(child: &mut Option<Child>) {
        if let Some(mut c) = child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        Self::kill(&mut self.serve);
        Self::kill(&mut self.sim);
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

async fn wait_until_up(url: &str) {
    for _ in 0..600 {
        if reqwest::get(url).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} did not start within a minute");
}

/// One resident paying bill `n` through the portal and the card page, from
/// an address of their own (through the trusted proxy). `Some(payment)` if
/// the card page answered; `None` if a kill cut the way there.
async fn pay_bill(portal: &str, pay: &str, n: u64) -> Result<Option<String>, reqwest::Error> {
    let mut headers = reqwest::header::HeaderMap::new();
    let [_, _, _, _, _, a, b, c] = n.to_be_bytes();
    headers.insert(
        "x-forwarded-for",
        format!("10.{a}.{b}.{c}").parse().unwrap(),
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .default_headers(headers)
        .build()?;
    let mut jar = Jar::default();
    let send = async |request: reqwest::RequestBuilder, jar: &mut Jar| {
        let response = request.header("cookie", jar.header()).send().await?;
        jar.take(&response);
        Ok::<_, reqwest::Error>(response)
    };
    let lookup_url = format!("{portal}/springfield/pay/parking");
    let form = send(client.get(&lookup_url), &mut jar)
        .await?
        .text()
        .await?;
    let Some(token) = field(&form, "name=\"form_token\" value=\"") else {
        return Ok(None);
    };
    let bill_page = send(
        client
            .post(&lookup_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "form_token={token}&reference={}&verification={}",
                reference(n),
                plate(n)
            )),
        &mut jar,
    )
    .await?
    .text()
    .await?;
    let Some(action) = field(&bill_page, "<form method=\"post\" action=\"") else {
        return Ok(None);
    };
    let started = send(
        client
            .post(format!("{portal}{action}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("form_token={token}")),
        &mut jar,
    )
    .await?;
    let Some(next) = started
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    let opened = send(client.get(next), &mut jar).await?;
    let Some(card_path) = opened
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    let card_url = format!("{pay}{card_path}");
    let payment = card_path.rsplit('/').next().unwrap_or_default().to_owned();
    let page = send(client.get(&card_url), &mut jar).await?.text().await?;
    let Some(card_token) = field(&page, "name=\"form_token\" value=\"") else {
        return Ok(None);
    };
    send(
        client
            .post(&card_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "form_token={card_token}&cardholder_name=Ana+Diaz&card_number={}&expiry=12%2F39&security_code=123&postal_code=62704&email=",
                card_for(n)
            )),
        &mut jar,
    )
    .await?;
    Ok(Some(payment))
}

fn field(page: &str, start: &str) -> Option<String> {
    let from = page.find(start)? + start.len();
    let len = page.get(from..)?.find('"')?;
    page.get(from..from + len).map(str::to_owned)
}

/// A partial refund through pay's API, as the city's back office would
/// send it; retried with its idempotency key when the answer is lost.
async fn refund_some(pay: &str, key: &str, payment: &str) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    for _ in 0..5 {
        let sent = client
            .post(format!("{pay}/v1/payments/{payment}/refunds"))
            .bearer_auth(key)
            .header("idempotency-key", format!("chaos-refund-{payment}"))
            .json(&serde_json::json!({ "amount": 100 }))
            .send()
            .await;
        if sent.is_ok_and(|r| r.status().is_success() || r.status().is_client_error()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

struct Books {
    pay: PayStore,
    portal: Store,
    tenant: civicpay_core::Tenant,
}

impl Books {
    async fn open(env: &[(String, String)], dir: &std::path::Path) -> Books {
        let var = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let pay_url = var("CIVICPAY_PAY_DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}", dir.join("pay.db").display()));
        let portal_url = var("DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}", dir.join("portal.db").display()));
        let portal = Store::connect(&portal_url).await.unwrap();
        let tenant = portal
            .tenant_by_slug(&civicpay_core::TenantSlug::parse("springfield").unwrap())
            .await
            .unwrap()
            .unwrap();
        Books {
            pay: PayStore::connect(&pay_url).await.unwrap(),
            portal,
            tenant,
        }
    }

    /// Payments and refunds still waiting on the acquirer.
    async fn waiting(&self) -> (usize, usize) {
        let far = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
        let payments = self
            .pay
            .payments_awaiting_outcome(far, far, 100_000)
            .await
            .unwrap()
            .len();
        let refunds = self
            .pay
            .refunds_awaiting_outcome(far, far, 100_000)
            .await
            .unwrap()
            .len();
        (payments, refunds)
    }

    /// Payments and refunds still waiting on the acquirer, and successes
    /// not yet credited by the portal.
    async fn unsettled(&self, all: &[civicpay_core::payment::Payment]) -> (usize, usize, usize) {
        let (payments, refunds) = self.waiting().await;
        let mut uncredited = 0;
        for p in all {
            if p.status == PaymentStatus::Success
                && let Some(local) = p.metadata["bill_payment_id"].as_str()
            {
                let credited = self
                    .portal
                    .bill_payment(&self.tenant.id, local)
                    .await
                    .unwrap();
                if credited.is_none_or(|b| b.applied_at.is_none()) {
                    uncredited += 1;
                }
            }
        }
        (payments, refunds, uncredited)
    }

    async fn payments(&self) -> Vec<civicpay_core::payment::Payment> {
        self.pay
            .list_payments(
                &self.tenant.id,
                &PaymentFilter {
                    limit: 1_000_000,
                    ..PaymentFilter::default()
                },
            )
            .await
            .unwrap()
    }
}

/// Every authorisation the acquirer holds for yesterday and today.
async fn acquirer_records(acquirer: &SimulatorConnector) -> Vec<AcquirerRecord> {
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let mut records = Vec::new();
    for day in [today.yesterday().unwrap(), today] {
        // The simulator still injects faults: ask until it answers.
        let mut listed = None;
        for _ in 0..50 {
            if let Ok(list) = acquirer.authorisations_on(day).await {
                listed = Some(list);
                break;
            }
        }
        records.extend(listed.expect("the acquirer's listing"));
    }
    records
}

/// Authorisations that hold money no successful payment accounts for.
fn unaccounted(records: &[AcquirerRecord], payments: &[civicpay_core::payment::Payment]) -> usize {
    let by_id: HashMap<String, &civicpay_core::payment::Payment> =
        payments.iter().map(|p| (p.id.to_string(), p)).collect();
    records
        .iter()
        .filter(|record| {
            let Some((id, attempt)) = record.reference.rsplit_once('.') else {
                return true;
            };
            let ours = by_id.get(id).is_some_and(|p| {
                p.status == PaymentStatus::Success && p.attempts.to_string() == attempt
            });
            match &record.inquiry {
                StatusInquiry::Approved { .. } => true,
                StatusInquiry::Captured {
                    captured, refunded, ..
                } => !ours && captured != refunded,
                _ => false,
            }
        })
        .count()
}

async fn chaos(name: &str, database_env: &[(&str, &str)]) {
    let seconds = run_seconds();
    let kills = kills_on();
    // More bills than the payers can pay in the time.
    let bills_count = 4_000.max(seconds * 150);
    let dir = std::env::temp_dir().join(format!("civicpay-chaos-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (portal_port, pay_port, sim_port) = (free_port(), free_port(), free_port());
    let mut env: Vec<(String, String)> = [
        ("CIVICPAY_DATA_DIR", dir.display().to_string()),
        ("CIVICPAY_LOG", "warn".to_owned()),
        ("CIVICPAY_PORTAL_ADDR", format!("127.0.0.1:{portal_port}")),
        ("CIVICPAY_PAY_ADDR", format!("127.0.0.1:{pay_port}")),
        (
            "CIVICPAY_GATEWAY_URL",
            format!("http://127.0.0.1:{sim_port}"),
        ),
        ("CIVICPAY_GATEWAY_TIMEOUT_SECS", "2".to_owned()),
        ("CIVICPAY_RECONCILE_INTERVAL_SECS", "1".to_owned()),
        ("CIVICPAY_ACQUIRER_GRACE_SECS", "5".to_owned()),
        ("CIVICPAY_ORPHAN_SWEEP_INTERVAL_SECS", "5".to_owned()),
        ("CIVICPAY_TRUSTED_PROXIES", r#"["127.0.0.1"]"#.to_owned()),
        ("CIVICPAY_LOOKUP_LIMIT", "100000000".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    env.extend(
        database_env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let mut processes = Processes {
        dir: dir.clone(),
        env,
        sim_port,
        faults: kills,
        serve: None,
        sim: None,
    };
    processes.run(&["demo", "--no-serve"]);
    let mut csv = String::from(
        "external_id,bill_type,reference,verification,payer_name,postal_address,email,amount,due_date\n",
    );
    for n in 0..bills_count {
        csv.push_str(&format!(
            "chaos-{n},parking,{},{},Ana Diaz,1 Elm St,,{}.{:02},2026-12-31\n",
            reference(n),
            plate(n),
            10 + n % 40,
            n % 100
        ));
    }
    let bills = dir.join("chaos-bills.csv");
    std::fs::write(&bills, csv).unwrap();
    processes.run(&[
        "bills",
        "import",
        "--tenant",
        "springfield",
        &bills.display().to_string(),
    ]);
    let key = processes
        .run(&[
            "api-key",
            "create",
            "--service",
            "pay",
            "--tenant",
            "springfield",
        ])
        .trim()
        .to_owned();
    processes.start_sim();
    processes.start_serve();
    let (portal, pay) = (
        format!("http://127.0.0.1:{portal_port}"),
        format!("http://127.0.0.1:{pay_port}"),
    );
    wait_until_up(&format!(
        "http://127.0.0.1:{sim_port}/v1/authorisations?day=2026-01-01"
    ))
    .await;
    wait_until_up(&format!("{portal}/healthz")).await;
    wait_until_up(&format!("{pay}/healthz")).await;

    let next_bill = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let reached_card_page = Arc::new(AtomicU64::new(0));
    let mut payers = Vec::new();
    for _ in 0..PAYERS {
        let (next_bill, stop, reached) =
            (next_bill.clone(), stop.clone(), reached_card_page.clone());
        let (portal, pay, key) = (portal.clone(), pay.clone(), key.clone());
        payers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let n = next_bill.fetch_add(1, Ordering::Relaxed);
                if n >= bills_count {
                    break;
                }
                match pay_bill(&portal, &pay, n).await {
                    Ok(Some(payment)) => {
                        reached.fetch_add(1, Ordering::Relaxed);
                        if n % 4 == 0 {
                            refund_some(&pay, &key, &payment).await;
                        }
                    }
                    // Cut off by a kill: this resident gives up.
                    Ok(None) | Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
        }));
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut dice = Dice(0x9E37_79B9_7F4A_7C15 ^ u64::from(std::process::id()));
    let (mut serve_kills, mut sim_kills) = (0u64, 0u64);
    let mut last_restart = Instant::now();
    while kills && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(800 + dice.roll(2400))).await;
        if Instant::now() >= deadline {
            break;
        }
        // The acquirer dies alone at least once (the third event), and
        // now and then after that.
        if serve_kills + sim_kills == 2 || dice.roll(8) == 0 {
            Processes::kill(&mut processes.sim);
            sim_kills += 1;
            tokio::time::sleep(Duration::from_millis(500 + dice.roll(1000))).await;
            processes.start_sim();
        } else {
            Processes::kill(&mut processes.serve);
            serve_kills += 1;
            tokio::time::sleep(Duration::from_millis(100 + dice.roll(600))).await;
            processes.start_serve();
            last_restart = Instant::now();
        }
    }
    if let Some(wait) = deadline.checked_duration_since(Instant::now()) {
        tokio::time::sleep(wait).await;
    }
    stop.store(true, Ordering::Relaxed);
    for payer in payers {
        payer.await.unwrap();
    }
    let paying_time = started.elapsed();
    if processes.sim.is_none() {
        processes.start_sim();
    }

    // Everything must settle without help: our waiting rows, the portal's
    // credits, and the acquirer's side (orphans voided or refunded).
    let books = Books::open(&processes.env, &dir).await;
    let acquirer = SimulatorConnector::new(
        format!("http://127.0.0.1:{sim_port}"),
        Duration::from_secs(10),
    )
    .unwrap();
    // Pay's own waiting rows first (a cheap check, polled often): the time
    // reconciliation takes after the last restart.
    let mut pay_settled_after = None;
    for _ in 0..720 {
        if books.waiting().await == (0, 0) {
            pay_settled_after = Some(last_restart.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut settled_after = None;
    let mut left = (0, 0, 0, 0);
    for _ in 0..180 {
        let everything = books.payments().await;
        let (payments, refunds, uncredited) = books.unsettled(&everything).await;
        let orphans = unaccounted(&acquirer_records(&acquirer).await, &everything);
        left = (payments, refunds, uncredited, orphans);
        if left == (0, 0, 0, 0) {
            settled_after = Some(last_restart.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(
        left,
        (0, 0, 0, 0),
        "payments waiting on the acquirer, refunds waiting, successes not credited on the portal, \
         authorisations at the acquirer no payment accounts for"
    );

    // Pay against the acquirer.
    let records = acquirer_records(&acquirer).await;
    let payments = books.payments().await;
    let by_id: HashMap<String, &civicpay_core::payment::Payment> =
        payments.iter().map(|p| (p.id.to_string(), p)).collect();
    let mut captures_per_payment: HashMap<String, u32> = HashMap::new();
    for record in &records {
        let (id, attempt) = record.reference.rsplit_once('.').unwrap();
        let attempt: i64 = attempt.parse().unwrap();
        match &record.inquiry {
            StatusInquiry::Approved { .. } => {
                panic!(
                    "{} is authorised and neither captured nor voided",
                    record.reference
                )
            }
            StatusInquiry::Captured {
                captured, refunded, ..
            } => {
                let ours = by_id.get(id).copied();
                let accounted = ours
                    .is_some_and(|p| p.status == PaymentStatus::Success && p.attempts == attempt);
                if accounted {
                    let p = ours.unwrap();
                    *captures_per_payment.entry(id.to_owned()).or_default() += 1;
                    assert_eq!(
                        *captured,
                        p.captured.minor(),
                        "{}: captured amounts differ",
                        record.reference
                    );
                    assert_eq!(
                        *refunded,
                        p.refunded.minor(),
                        "{}: refunded amounts differ",
                        record.reference
                    );
                } else {
                    assert_eq!(
                        captured, refunded,
                        "{}: captured at the acquirer, accounted for by no successful payment, and not refunded",
                        record.reference
                    );
                }
            }
            StatusInquiry::Declined { .. } | StatusInquiry::Voided | StatusInquiry::NotFound => {}
        }
    }
    let successes: Vec<_> = payments
        .iter()
        .filter(|p| p.status == PaymentStatus::Success)
        .collect();
    for p in &successes {
        assert_eq!(
            captures_per_payment.get(p.id.as_str()),
            Some(&1),
            "{}: a success must hold exactly one capture at the acquirer",
            p.id
        );
        for refund in books.pay.refunds(&books.tenant.id, &p.id).await.unwrap() {
            assert_ne!(
                refund.status, "submitted",
                "refund {} left waiting",
                refund.id
            );
        }
    }
    for p in &payments {
        assert!(
            civicpay_core::payment::Waiting::of_payment(p.status).is_none(),
            "{} left {:?}",
            p.id,
            p.status
        );
    }
    assert_eq!(
        books.pay.ledger_check(&books.tenant.id).await.unwrap(),
        (0, 0),
        "the ledger balances"
    );

    // The portal credited every paid bill exactly once.
    let mut paid_per_bill: HashMap<String, i64> = HashMap::new();
    for p in &successes {
        if let Some(bill) = p.metadata["bill_id"].as_str() {
            *paid_per_bill.entry(bill.to_owned()).or_default() += p.captured.minor();
        }
    }
    for (bill, paid) in &paid_per_bill {
        let bill = civicpay_core::BillId::parse(bill).unwrap();
        let stored = books
            .portal
            .bill(&books.tenant.id, &bill)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            stored.amount_paid.minor(),
            *paid,
            "bill {} credited {} for {} paid",
            stored.reference,
            stored.amount_paid.minor(),
            paid
        );
    }

    // The money trail survived every kill.
    let verified = processes
        .command(&["audit", "verify"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&verified.stdout).into_owned();
    assert!(
        verified.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    assert!(
        said.contains("ok      money trail of springfield"),
        "{said}"
    );

    let refunded: i64 = successes.iter().map(|p| p.refunded.minor()).sum();
    println!(
        "chaos {name}: {} s paying, {} payments reached the card page, {} in pay, {} succeeded ({:.1}/s), {} refunded cents; \
         {serve_kills} kills of serve, {sim_kills} of the acquirer; lost 0, charged twice 0, left waiting 0; \
         nothing waiting in pay {:.1} s and all checks passed {:.1} s after the last restart",
        paying_time.as_secs(),
        reached_card_page.load(Ordering::Relaxed),
        payments.len(),
        successes.len(),
        successes.len() as f64 / paying_time.as_secs_f64(),
        refunded,
        pay_settled_after.map_or(0.0, |d| d.as_secs_f64()),
        settled_after.map_or(0.0, |d| d.as_secs_f64()),
    );
    assert!(
        !kills || (serve_kills > 0 && sim_kills > 0),
        "the run killed serve and the acquirer"
    );
    assert!(!successes.is_empty(), "some payments went through");
    books.pay.close().await;
    books.portal.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_on_sqlite_nothing_lost_nothing_twice_nothing_waiting() {
    chaos("sqlite", &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_on_postgres_nothing_lost_nothing_twice_nothing_waiting() {
    on_postgres(async |env| chaos("postgres", env).await).await;
}
