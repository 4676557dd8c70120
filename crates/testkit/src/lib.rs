//! Test support: a resident paying over HTTP ([`resident`]), and the
//! real-browser harness: headless Chromium through chromedriver, with
//! axe-core (vendored, MPL-2.0) for WCAG checks. Browser tests run when
//! `CIVICPAY_BROWSER_TESTS=1`; `CIVICPAY_CHROMIUM` and
//! `CIVICPAY_CHROMEDRIVER` override the browser and driver paths.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod amounts;
pub mod page;
pub mod resident;

use fantoccini::ClientBuilder;
pub use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const AXE_SOURCE: &str = include_str!("../vendor/axe-core/axe.min.js");

const AXE_RUN: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } })
  .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')) }))))
  .catch(e => done([{ id: 'axe-error', help: String(e), nodes: [] }]));
"#;

pub fn enabled() -> bool {
    std::env::var("CIVICPAY_BROWSER_TESTS").is_ok_and(|v| v == "1")
}

pub struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub async fn start_browser() -> (Driver, Client, tempdir::Dir) {
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

pub mod tempdir {
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
pub async fn axe_violations(client: &Client) -> Vec<Value> {
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

pub async fn assert_accessible(client: &Client, what: &str) {
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

/// The window widths a page must fit without scrolling sideways: a
/// desktop at 1200 px and a phone at 390 px.
pub const WIDTHS: [u32; 2] = [1200, 390];

/// How many CSS pixels the page runs off the right of a `width`-pixel
/// window (0 when it fits). A wide table may scroll inside its own region;
/// the page itself must not.
pub async fn overflow_at(client: &Client, width: u32) -> i64 {
    client.set_window_size(width, 900).await.unwrap();
    // On a busy machine the page may lay out at the new width a moment
    // after the resize returns: wait for it (2 s at most) before measuring.
    let mut inner = 0;
    for _ in 0..40 {
        let measured = client
            .execute(
                "return [window.innerWidth, document.documentElement.scrollWidth - document.documentElement.clientWidth];",
                vec![],
            )
            .await
            .unwrap();
        let read = |i: usize| measured.get(i).and_then(Value::as_i64).unwrap_or_default();
        inner = read(0);
        if (inner - i64::from(width)).abs() <= 20 {
            return read(1);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the window did not take a {width} px width (inner width {inner})");
}

/// Fails when the page runs off the window at any of [`WIDTHS`]; leaves
/// the window at the browser's usual width.
pub async fn assert_fits(client: &Client, what: &str) {
    for width in WIDTHS {
        let over = overflow_at(client, width).await;
        if over > 0 {
            // Name the element that reaches furthest, to say what to fix.
            let widest = client
                .execute(
                    "let best = null, right = 0; for (const e of document.querySelectorAll('body *')) { const r = e.getBoundingClientRect().right; if (r > right) { right = r; best = e; } } return best ? best.outerHTML.slice(0, 200) : '';",
                    vec![],
                )
                .await
                .unwrap_or_default();
            panic!("{what}: the page runs {over} px off a {width} px window; furthest: {widest}");
        }
    }
    client.set_window_size(1024, 900).await.unwrap();
}

/// Clicks and waits for the next page to load: a form post or a link
/// navigates asynchronously, and reading the old page would race.
pub async fn click_and_wait(client: &Client, locator: Locator<'_>) {
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

pub async fn text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// E-mails in a file outbox, read the way a mail client would (MIME parts,
/// transfer encodings and encoded headers undone) by `mail-parser`, so a
/// test asserts on what the resident reads.
pub mod outbox {
    pub struct Email {
        pub to: String,
        pub subject: String,
        pub text: String,
        pub html: Option<String>,
        /// The raw message, for checks on what was actually sent.
        pub raw: Vec<u8>,
    }

    /// Every message in `dir`, oldest first.
    pub fn read(dir: &std::path::Path) -> Vec<Email> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map(|entries| entries.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files
            .iter()
            .map(|path| {
                let raw = std::fs::read(path).unwrap();
                let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
                Email {
                    to: message
                        .to()
                        .and_then(|a| a.first())
                        .and_then(|a| a.address())
                        .unwrap_or_default()
                        .to_owned(),
                    subject: message.subject().unwrap_or_default().to_owned(),
                    text: message
                        .body_text(0)
                        .map(|t| t.into_owned())
                        .unwrap_or_default(),
                    html: message.body_html(0).map(|h| h.into_owned()),
                    raw: raw.clone(),
                }
            })
            .collect()
    }

    /// The messages to one address, oldest first.
    pub fn to(dir: &std::path::Path, address: &str) -> Vec<Email> {
        read(dir).into_iter().filter(|m| m.to == address).collect()
    }

    /// The first link in a message's text that contains `part`.
    pub fn link(email: &Email, part: &str) -> String {
        email
            .text
            .split_whitespace()
            .find(|w| w.starts_with("http") && w.contains(part))
            .unwrap_or_else(|| panic!("no link with {part:?} in {}", email.text))
            .to_owned()
    }
}
