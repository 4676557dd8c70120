//! Card payments under load, end to end through the release binary on
//! loopback: the back office creates a payment through pay's API, a
//! simulated payer follows the one-time link (303 + session cookie), reads
//! the card page and parses its form with html5ever the way a browser
//! does, fills the visible fields and submits; pay authorises and captures
//! with the embedded acquirer simulator, writes the ledger and audit, and
//! queues the city's webhook before answering 303 to the city's return URL.
//!
//! Beside it, in the same run: the same client against the server's bare
//! `/healthz` (the HTTP ceiling), and small durable insert transactions on
//! the same database with the same durability settings (the storage
//! ceiling). Then an open-loop run at half the measured rate gives the
//! submit latency without coordinated omission, and /proc gives the peak
//! resident set of the server.

use crate::memory::{binary, free_port, status_kb};
use crate::report::{line, rate};
use hdrhistogram::Histogram;
use scraper::{Html, Selector};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Virtual users in the closed loop. The client shares the two cores with
/// the server, so more users only queue.
const USERS: usize = 16;

/// Where the server keeps its data, and how to make a store like it.
#[derive(Clone)]
enum Database {
    Sqlite,
    Postgres { admin_url: String },
}

impl Database {
    fn name(&self) -> &'static str {
        match self {
            Database::Sqlite => "SQLite",
            Database::Postgres { .. } => "PostgreSQL",
        }
    }
}

/// The release `civicpay demo`, killed on drop.
struct Server {
    child: std::process::Child,
    pay: String,
    key: String,
    dir: PathBuf,
    databases: Vec<String>,
    admin_url: Option<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Database names are made here from the process id, never from input.
async fn postgres_database(admin_url: &str, name: &str) -> anyhow::Result<String> {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name}"
    )))
    .execute(&mut admin)
    .await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await?;
    let mut url = url::Url::parse(admin_url)?;
    url.set_path(name);
    Ok(url.to_string())
}

async fn drop_databases(admin_url: &str, names: &[String]) {
    use sqlx::Connection;
    if let Ok(mut admin) = sqlx::PgConnection::connect(admin_url).await {
        for name in names {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await;
        }
    }
}

async fn start(database: &Database) -> anyhow::Result<Server> {
    let binary = binary()?;
    let dir = std::env::temp_dir().join(format!(
        "civicpay-bench-load-{}-{}",
        std::process::id(),
        database.name()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let mut env = vec![
        ("CIVICPAY_DATA_DIR".to_owned(), dir.display().to_string()),
        ("CIVICPAY_LOG".to_owned(), "warn".to_owned()),
        // The load comes through "our proxy" on loopback, which names each
        // payer's own address.
        (
            "CIVICPAY_TRUSTED_PROXIES".to_owned(),
            r#"["127.0.0.1"]"#.to_owned(),
        ),
    ];
    let mut databases = Vec::new();
    let mut admin = None;
    if let Database::Postgres { admin_url } = database {
        let suffix = std::process::id();
        let portal = format!("civicpay_bench_portal_{suffix}");
        let pay = format!("civicpay_bench_pay_{suffix}");
        env.push((
            "CIVICPAY_DATABASE_URL".into(),
            postgres_database(admin_url, &portal).await?,
        ));
        env.push((
            "CIVICPAY_PAY_DATABASE_URL".into(),
            postgres_database(admin_url, &pay).await?,
        ));
        databases = vec![portal, pay];
        admin = Some(admin_url.clone());
    }
    let run = |args: &[&str]| -> anyhow::Result<String> {
        let output = std::process::Command::new(&binary)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()?;
        anyhow::ensure!(
            output.status.success(),
            "civicpay {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    run(&["demo", "--no-serve"])?;
    let key = run(&[
        "api-key",
        "create",
        "--tenant",
        "springfield",
        "--service",
        "pay",
        "--label",
        "bench",
    ])?;
    let (portal_port, pay_port) = (free_port()?, free_port()?);
    let child = std::process::Command::new(&binary)
        .args([
            "demo",
            "--portal-addr",
            &format!("127.0.0.1:{portal_port}"),
            "--pay-addr",
            &format!("127.0.0.1:{pay_port}"),
        ])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let server = Server {
        child,
        pay: format!("http://127.0.0.1:{pay_port}"),
        key,
        dir,
        databases,
        admin_url: admin,
    };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", pay_port))
            .await
            .is_ok()
        {
            return Ok(server);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("civicpay demo did not answer on port {pay_port}")
}

fn micros(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
}

/// The card form as a browser sees it: where it posts and every named
/// control with its value.
#[derive(Debug, PartialEq)]
struct Form {
    action: String,
    fields: Vec<(String, String)>,
}

fn parse_form(html: &str) -> anyhow::Result<Form> {
    let document = Html::parse_document(html);
    let form_selector = Selector::parse("form[method=post]").map_err(|e| anyhow::anyhow!("{e}"))?;
    let controls = Selector::parse("input[name], select[name], textarea[name]")
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let form = document
        .select(&form_selector)
        .next()
        .ok_or_else(|| anyhow::anyhow!("the card page has no form"))?;
    let action = form.value().attr("action").unwrap_or_default().to_owned();
    let fields = form
        .select(&controls)
        .filter_map(|c| {
            let name = c.value().attr("name")?;
            Some((
                name.to_owned(),
                c.value().attr("value").unwrap_or_default().to_owned(),
            ))
        })
        .collect();
    Ok(Form { action, fields })
}

/// Payer `n`'s own approved card: on a real peak day every payer brings a
/// different card, and the card velocity limit would otherwise stop a
/// benchmark that reuses one.
fn card_for(n: u64) -> String {
    civicpay_acquirer_sim::approved_card_number(n)
}

/// The address payer `n` comes from, as the trusted proxy in front of pay
/// reports it (on a real day each payer has their own).
fn address_for(n: u64) -> String {
    let [_, _, _, _, _, a, b, c] = n.to_be_bytes();
    format!("10.{a}.{b}.{c}")
}

/// What payer `n` types into the visible fields; hidden ones keep their value.
fn fill(form: &mut Form, n: u64) {
    let card = card_for(n);
    for (name, value) in &mut form.fields {
        let typed = match name.as_str() {
            "cardholder_name" => "Ana Diaz",
            "card_number" => card.as_str(),
            "expiry" => "12/30",
            "security_code" => "123",
            "postal_code" => "62704",
            _ => continue,
        };
        typed.clone_into(value);
    }
}

/// Cookies of one payer's visit, as a browser keeps them for one host.
#[derive(Default)]
struct Jar(Vec<(String, String)>);

impl Jar {
    fn take(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all("set-cookie") {
            let Some((name, value)) = value
                .to_str()
                .ok()
                .and_then(|v| v.split(';').next())
                .and_then(|pair| pair.split_once('='))
            else {
                continue;
            };
            self.0.retain(|(n, _)| n != name);
            self.0
                .push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn resolve(base: &str, location: &str) -> String {
    if location.starts_with("http") {
        location.to_owned()
    } else {
        format!("{base}{location}")
    }
}

/// The steps of one payment, as the client times them.
const STEPS: [&str; 4] = ["create (API)", "start link", "card page", "card submit"];
type Steps = [Duration; 4];

/// One payer, start to finish, each step timed.
async fn pay_once(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    n: u64,
) -> anyhow::Result<Steps> {
    /// The portal's own address (the default `portal_public_url`): the only
    /// return origin the demo allows.
    const RETURN: &str = "http://127.0.0.1:8080/return";
    let mut steps = Steps::default();
    let clock = Instant::now();
    let created: serde_json::Value = client
        .post(format!("{base}/v1/payments"))
        .bearer_auth(key)
        .json(&serde_json::json!({
            "amount": 4200, "currency": "USD", "reference": format!("LOAD-{n}"),
            "description": "Water bill", "return_url": RETURN,
            "payer": {"name": "Ana Diaz", "postal_address": "12 Elm St"}
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let next = created
        .pointer("/_links/next_url/href")
        .and_then(|v| v.as_str())
        .ok_or_else(|| anyhow::anyhow!("no next_url in {created}"))?;
    steps[0] = clock.elapsed();
    let clock = Instant::now();
    let started = client.get(next).send().await?;
    anyhow::ensure!(started.status() == 303, "start link: {}", started.status());
    let header = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let card_url = resolve(base, &header(&started, "location"));
    let mut jar = Jar::default();
    jar.take(&started);
    steps[1] = clock.elapsed();
    let clock = Instant::now();
    let page = client
        .get(&card_url)
        .header("cookie", jar.header())
        .send()
        .await?
        .error_for_status()?;
    jar.take(&page);
    let page = page.text().await?;
    steps[2] = clock.elapsed();
    let mut form = parse_form(&page)?;
    fill(&mut form, n);
    let action = if form.action.is_empty() {
        card_url
    } else {
        resolve(base, &form.action)
    };
    let clock = Instant::now();
    let paid = client
        .post(action)
        .header("cookie", jar.header())
        .header("x-forwarded-for", address_for(n))
        .form(&form.fields)
        .send()
        .await?;
    steps[3] = clock.elapsed();
    if !(paid.status() == 303 && header(&paid, "location").starts_with(RETURN)) {
        let status = paid.status();
        anyhow::bail!(
            "card submission answered {status} {}",
            header(&paid, "location")
        );
    }
    Ok(steps)
}

fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(USERS * 2)
        .build()?)
}

struct Closed {
    done: u64,
    failed: u64,
    elapsed: Duration,
    steps: [Histogram<u64>; 4],
    first_error: Option<String>,
}

/// `USERS` virtual users, each starting its next request when the last
/// one answered, for `seconds`.
async fn closed_loop<F, Fut>(seconds: u64, work: F) -> anyhow::Result<Closed>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<Steps>> + Send,
{
    let work = Arc::new(work);
    let counter = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let empty = Histogram::<u64>::new(3)?;
    let histogram = Arc::new(Mutex::new([(); 4].map(|()| empty.clone())));
    let first_error = Arc::new(Mutex::new(None));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let clock = Instant::now();
    let mut users = Vec::new();
    for _ in 0..USERS {
        let (work, counter, failed, histogram, first_error) = (
            work.clone(),
            counter.clone(),
            failed.clone(),
            histogram.clone(),
            first_error.clone(),
        );
        users.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                match work(n).await {
                    Ok(steps) => {
                        let mut histograms = histogram.lock().await;
                        for (h, took) in histograms.iter_mut().zip(steps) {
                            let _ = h.record(micros(took));
                        }
                    }
                    Err(e) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        first_error.lock().await.get_or_insert(e.to_string());
                    }
                }
            }
        }));
    }
    for user in users {
        user.await?;
    }
    let elapsed = clock.elapsed();
    let steps = histogram.lock().await.clone();
    let failed = failed.load(Ordering::Relaxed);
    let first_error = first_error.lock().await.take();
    Ok(Closed {
        done: steps[3].len(),
        failed,
        elapsed,
        steps,
        first_error,
    })
}

/// Payments started at a fixed rate whatever the server does, so a slow
/// answer delays no later start (no coordinated omission).
async fn open_loop(
    client: reqwest::Client,
    server: (String, String),
    per_second: f64,
    seconds: u64,
    first: u64,
) -> anyhow::Result<(Histogram<u64>, u64)> {
    let histogram = Arc::new(Mutex::new(Histogram::<u64>::new(3)?));
    let failed = Arc::new(AtomicU64::new(0));
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / per_second.max(1.0)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let total = (per_second * seconds as f64) as u64;
    let mut flights = tokio::task::JoinSet::new();
    let server = Arc::new(server);
    for n in 0..total {
        ticker.tick().await;
        let (client, server, histogram, failed) = (
            client.clone(),
            server.clone(),
            histogram.clone(),
            failed.clone(),
        );
        flights.spawn(async move {
            match pay_once(&client, &server.0, &server.1, first + n).await {
                Ok(steps) => {
                    let _ = histogram.lock().await.record(micros(steps[3]));
                }
                Err(_) => {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while flights.join_next().await.is_some() {}
    let histogram = histogram.lock().await.clone();
    Ok((histogram, failed.load(Ordering::Relaxed)))
}

/// Small durable insert transactions on a fresh database beside the
/// server's, with the store's own durability settings, `USERS` writers.
async fn durable_transactions(
    database: &Database,
    dir: &Path,
    seconds: u64,
) -> anyhow::Result<f64> {
    let pool: sqlx::AnyPool;
    let mut cleanup = None;
    sqlx::any::install_default_drivers();
    match database {
        Database::Sqlite => {
            let path = dir.join("bench-raw.db");
            // One writing connection, as the store writes.
            pool = sqlx::any::AnyPoolOptions::new()
                .max_connections(1)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        sqlx::raw_sql(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA busy_timeout = 10000;",
                        )
                        .execute(conn)
                        .await?;
                        Ok(())
                    })
                })
                .connect(&format!("sqlite://{}?mode=rwc", path.display()))
                .await?;
        }
        Database::Postgres { admin_url } => {
            let name = format!("civicpay_bench_raw_{}", std::process::id());
            let url = postgres_database(admin_url, &name).await?;
            pool = sqlx::any::AnyPoolOptions::new()
                .max_connections(16)
                .connect(&url)
                .await?;
            cleanup = Some((admin_url.clone(), name));
        }
    }
    sqlx::raw_sql("CREATE TABLE raw (id BIGINT PRIMARY KEY, body TEXT NOT NULL)")
        .execute(&pool)
        .await?;
    let counter = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let clock = Instant::now();
    let mut writers = Vec::new();
    for _ in 0..USERS {
        let (pool, counter) = (pool.clone(), counter.clone());
        writers.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let mut tx = pool.begin().await?;
                sqlx::query("INSERT INTO raw (id, body) VALUES ($1, $2)")
                    .bind(i64::try_from(n).unwrap_or(i64::MAX))
                    .bind("a small durable row")
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            anyhow::Ok(())
        }));
    }
    for writer in writers {
        writer.await??;
    }
    let per_second = rate(counter.load(Ordering::Relaxed), clock.elapsed());
    pool.close().await;
    if let Some((admin, name)) = cleanup {
        drop_databases(&admin, &[name]).await;
    }
    Ok(per_second)
}

async fn one(database: Database, seconds: u64) -> anyhow::Result<()> {
    let name = database.name();
    let server = start(&database).await?;
    let client = client()?;
    let pid = server.child.id();

    let bare = {
        let (client, url) = (client.clone(), format!("{}/healthz", server.pay));
        closed_loop(seconds, move |_| {
            let (client, url) = (client.clone(), url.clone());
            async move {
                let clock = Instant::now();
                client
                    .get(&url)
                    .send()
                    .await?
                    .error_for_status()?
                    .bytes()
                    .await?;
                let mut steps = Steps::default();
                steps[3] = clock.elapsed();
                Ok(steps)
            }
        })
        .await?
    };
    let bare_rate = rate(bare.done, bare.elapsed);

    let payments = {
        let (client, base, key) = (client.clone(), server.pay.clone(), server.key.clone());
        closed_loop(seconds, move |n| {
            let (client, base, key) = (client.clone(), base.clone(), key.clone());
            async move { pay_once(&client, &base, &key, n).await }
        })
        .await?
    };
    let pay_rate = rate(payments.done, payments.elapsed);
    if let Some(error) = &payments.first_error {
        println!("  {} failed payments; the first: {error}", payments.failed);
    }
    let (half, half_failed) = open_loop(
        client.clone(),
        (server.pay.clone(), server.key.clone()),
        pay_rate / 2.0,
        seconds,
        payments.done + payments.failed + 1_000_000,
    )
    .await?;
    let peak = status_kb(pid, "VmHWM:");
    let raw = durable_transactions(&database, &server.dir, seconds.min(10)).await?;

    let target = match database {
        Database::Sqlite => 1_500.0,
        Database::Postgres { .. } => 1_000.0,
    };
    line(
        &format!("card payments/s end to end, {name}"),
        format!("{pay_rate:.0} ({} paid)", payments.done),
        format!("{raw:.0} durable tx/s"),
        Some(pay_rate / raw.max(1e-9)),
    );
    println!("  target {target:.0}/s; failed {}", payments.failed);
    line(
        &format!("HTTP ceiling, bare /healthz, {name}"),
        format!("{bare_rate:.0} req/s"),
        format!("payments {pay_rate:.0}/s"),
        Some(pay_rate / bare_rate.max(1e-9)),
    );
    line(
        &format!("card submit at full load p50 / p99 (ms), {name}"),
        format!(
            "{:.1} / {:.1}",
            payments.steps[3].value_at_quantile(0.5) as f64 / 1000.0,
            payments.steps[3].value_at_quantile(0.99) as f64 / 1000.0
        ),
        "-".into(),
        None,
    );
    line(
        &format!(
            "card submit at {:.0}/s p50 / p99 (ms), {name}",
            pay_rate / 2.0
        ),
        format!(
            "{:.1} / {:.1}",
            half.value_at_quantile(0.5) as f64 / 1000.0,
            half.value_at_quantile(0.99) as f64 / 1000.0
        ),
        "25 (p99 target)".into(),
        None,
    );
    let steps: Vec<String> = STEPS
        .iter()
        .zip(&payments.steps)
        .map(|(name, h)| format!("{name} {:.1}", h.value_at_quantile(0.5) as f64 / 1000.0))
        .collect();
    println!("  p50 per step at full load (ms): {}", steps.join(", "));
    if half_failed > 0 {
        println!("  {half_failed} failed at half rate");
    }
    line(
        &format!("peak RSS of civicpay demo under load (MB), {name}"),
        peak.map_or_else(|| "?".to_owned(), |kb| format!("{:.1}", kb as f64 / 1024.0)),
        "200 (target)".into(),
        None,
    );
    if let Some(admin) = &server.admin_url {
        let (admin, databases) = (admin.clone(), server.databases.clone());
        drop(server);
        drop_databases(&admin, &databases).await;
    }
    Ok(())
}

/// SQLite always; PostgreSQL too when `CIVICPAY_TEST_POSTGRES_URL` is set.
pub async fn run(seconds: u64) -> anyhow::Result<()> {
    one(Database::Sqlite, seconds).await?;
    match std::env::var(civicpay_store::testing::POSTGRES_URL_VAR) {
        Ok(admin_url) => one(Database::Postgres { admin_url }, seconds).await?,
        Err(_) => println!(
            "  (PostgreSQL skipped: set {})",
            civicpay_store::testing::POSTGRES_URL_VAR
        ),
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_form_is_read_as_a_browser_reads_it() {
        let html = r#"<!doctype html><form method="get" action="/search"><input name="q"></form>
            <form method=post action="/card/abc"><input type=hidden name=form_token value="t1">
            <label>Name <input name="cardholder_name" value=""></label>
            <input name="card_number"><select name="expiry"><option>1</option></select>
            <button>Pay</button></form>"#;
        let mut form = parse_form(html).unwrap();
        assert_eq!(form.action, "/card/abc");
        fill(&mut form, 7);
        assert_eq!(
            form.fields,
            vec![
                ("form_token".to_owned(), "t1".to_owned()),
                ("cardholder_name".to_owned(), "Ana Diaz".to_owned()),
                ("card_number".to_owned(), card_for(7)),
                ("expiry".to_owned(), "12/30".to_owned()),
            ]
        );
        assert!(parse_form("<p>no form</p>").is_err());
    }

    #[test]
    fn every_payer_brings_a_valid_card_of_their_own() {
        let (a, b) = (card_for(1), card_for(2));
        assert_ne!(a, b);
        for n in [0, 1, 2, 999_999, u64::MAX] {
            let card = civicpay_vault::CardNumber::parse(&card_for(n)).unwrap();
            assert_eq!(card.last4().len(), 4);
        }
        let good = card_for(5);
        let (body, check) = good.split_at(good.len() - 1);
        let wrong = (check.parse::<u32>().unwrap() + 1) % 10;
        assert!(civicpay_vault::CardNumber::parse(&format!("{body}{wrong}")).is_err());
        assert_ne!(address_for(1), address_for(2));
    }
}
