//! `civicpay integrity manifest` and `civicpay monitor`: what this build's
//! card page must look like, and a watcher that fetches the live page as a
//! browser would and raises an alarm on any difference.

use crate::config::Config;
use crate::{DatabaseArgs, database_flags, open_store, tenant_by_slug};
use anyhow::{Context, bail};
use civicpay_audit::{Action, ChainId, NewEntry};
use civicpay_core::Tenant;
use civicpay_pay::integrity::{BUILD_HEADER, Manifest, ObservedPage, compare, compare_saved_card};
use civicpay_store::Store;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Subcommand)]
pub(crate) enum IntegrityCommand {
    /// Print this build's manifest as JSON: build id, every asset's
    /// SHA-256, the card page's exact security headers and its normalised
    /// structure. Keep it with the release; `monitor --manifest` uses it.
    Manifest {
        /// A city pay knows (default: the first).
        #[arg(long, value_name = "SLUG")]
        tenant: Option<String>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Args)]
pub(crate) struct MonitorArgs {
    /// The pay service's base URL, as browsers reach it.
    #[arg(long, value_name = "URL")]
    url: String,
    /// The city whose pay key asks for probe links (default: the first).
    #[arg(long, value_name = "SLUG")]
    tenant: Option<String>,
    /// How often to look: 30s, 5m, 1h.
    #[arg(long, default_value = "5m", value_parser = parse_interval)]
    interval: Duration,
    /// Look once; exit 1 if the page differs from the manifest.
    #[arg(long)]
    once: bool,
    /// The manifest to hold the page to (from `integrity manifest` of the
    /// release); default: this binary's own.
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
    #[command(flatten)]
    database: DatabaseArgs,
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not an interval like 30s, 5m or 1h"))?;
    let secs = match unit {
        "s" | "" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => return Err(format!("{s:?}: the unit must be s, m or h")),
    };
    if secs == 0 {
        return Err("the interval must be at least one second".to_owned());
    }
    Ok(Duration::from_secs(secs))
}

async fn pick_tenant(store: &Store, slug: Option<&str>) -> anyhow::Result<Tenant> {
    match slug {
        Some(slug) => tenant_by_slug(store, slug).await,
        None => store
            .list_tenants()
            .await?
            .into_iter()
            .next()
            .context("no city on this deployment yet"),
    }
}

async fn own_manifest(config: &Config, store: &Store, tenant: &Tenant) -> anyhow::Result<Manifest> {
    let pay = crate::services::prepare_pay(config, store, crate::services::Register::Only(tenant))
        .await?;
    // The manifest is read off a probe served in-process; no acquirer is asked.
    let connector = civicpay_gateway::SimulatorConnector::new(
        "http://127.0.0.1:9".to_owned(),
        Duration::from_secs(1),
    )?;
    let state = crate::services::pay_state(config, pay, connector)?;
    civicpay_pay::integrity::manifest(state, &tenant.id)
        .await
        .map_err(|e| anyhow::anyhow!("cannot read this build's card page: {e}"))
}

pub(crate) async fn manifest(
    config_file: Option<&Path>,
    command: IntegrityCommand,
) -> anyhow::Result<()> {
    let IntegrityCommand::Manifest { tenant, database } = command;
    let config = Config::load(config_file, database_flags(&database))?;
    let store = open_store(&config).await?;
    let tenant = pick_tenant(&store, tenant.as_deref()).await?;
    let manifest = own_manifest(&config, &store, &tenant).await?;
    println!("{}", serde_json::to_string_pretty(&manifest)?);
    Ok(())
}

/// One watched card page: where, for which city, against which manifest.
pub(crate) struct Watch {
    tenant: Tenant,
    url: String,
    manifest: Manifest,
    key: String,
    client: reqwest::Client,
}

impl Watch {
    pub(crate) fn new(
        config: &Config,
        tenant: Tenant,
        url: &str,
        manifest: Manifest,
    ) -> anyhow::Result<Watch> {
        let key =
            civicpay_web::service_key::portal_pay_key(&config.service_key()?, tenant.id.as_str());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()?;
        Ok(Watch {
            tenant,
            url: url.to_owned(),
            manifest,
            key,
            client,
        })
    }

    /// Looks once; reports (and raises the alarm on) every difference.
    pub(crate) async fn check(&self, config: &Config, store: &Store) -> Vec<String> {
        // The page a guest sees, and (when saved cards are on) the page a
        // resident with a saved card sees: each against its expectation.
        let mut differences = Vec::new();
        let variants: [(bool, &str, Comparison); 2] = [
            (false, "", compare),
            (true, "saved-card page: ", compare_saved_card),
        ];
        for (saved_card, label, compare_with) in variants {
            if saved_card && self.manifest.saved_card_page.is_none() {
                continue;
            }
            let shape = probe_shape(store, &self.tenant, saved_card).await;
            let found = match observe(&self.client, &self.url, &self.key, shape).await {
                Ok(observed) => {
                    let mut found = compare_with(&self.manifest, &observed);
                    if let Some(served) = observed.headers.get(BUILD_HEADER)
                        && served != &self.manifest.build_id
                    {
                        found.insert(
                            0,
                            format!(
                                "the page says it is build {served:?}, the manifest is for {:?}",
                                self.manifest.build_id
                            ),
                        );
                    }
                    found
                }
                Err(e) => vec![format!("the card page could not be checked: {e:#}")],
            };
            differences.extend(found.into_iter().map(|d| format!("{label}{d}")));
        }
        if differences.is_empty() {
            println!("ok: {} matches build {}", self.url, self.manifest.build_id);
            tracing::info!(url = %self.url, build = %self.manifest.build_id, "card page matches its manifest");
        } else {
            println!(
                "ALARM: {} differs from build {}:",
                self.url, self.manifest.build_id
            );
            for d in &differences {
                println!("  - {d}");
            }
            raise_alarm(config, store, &self.tenant, &self.url, &differences).await;
        }
        differences
    }
}

/// The serve process watching its own card page, when
/// `monitor_interval_secs` is set.
pub(crate) async fn watch_self(config: Config, store: Store) {
    let Some(every) = config.monitor_interval_secs.filter(|s| *s > 0) else {
        return;
    };
    let watch = match pick_tenant(&store, None).await {
        Ok(tenant) => match own_manifest(&config, &store, &tenant).await {
            Ok(manifest) => Watch::new(&config, tenant, &config.pay_public_url(), manifest),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let watch = match watch {
        Ok(w) => w,
        Err(e) => {
            tracing::error!(error = %e, "the card page monitor could not start");
            return;
        }
    };
    let mut ticks = tokio::time::interval(Duration::from_secs(every));
    loop {
        ticks.tick().await;
        watch.check(&config, &store).await;
    }
}

/// What a payer's browser says it is; the monitor says the same, so a page
/// altered to spare the monitor cannot pick it out.
const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// A probe that looks like one of the city's own payments: one of its bill
/// types, a plausible reference and amount.
async fn probe_shape(store: &Store, tenant: &Tenant, saved_card: bool) -> serde_json::Value {
    use rand::Rng;
    let bill_types = store.bill_types(&tenant.id).await.unwrap_or_default();
    let mut rng = rand::rng();
    let reference = format!(
        "{}-{:05}",
        rng.random_range(1000..10000),
        rng.random_range(0..100_000)
    );
    let amount: i64 = rng.random_range(1_500..40_000);
    let language = tenant.default_language;
    let description = bill_types
        .get(rng.random_range(0..bill_types.len().max(1)))
        .map_or_else(
            || format!("Payment {reference}"),
            |b| format!("{} {reference}", b.name.get(language)),
        );
    serde_json::json!({
        "amount": amount,
        "reference": reference,
        "description": description,
        "language": language.code(),
        "saved_card": saved_card,
    })
}

/// Compares one observed page with its expectation in the manifest.
type Comparison = fn(&Manifest, &ObservedPage) -> Vec<String>;

/// Opens the card page through a fresh probe's one-time link, as a payer's
/// browser would: the link, then the page it leads to, with its cookie.
async fn observe(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    shape: serde_json::Value,
) -> anyhow::Result<ObservedPage> {
    let base = url.trim_end_matches('/');
    let created = client
        .post(format!("{base}/v1/probes"))
        .bearer_auth(key)
        .json(&shape)
        .send()
        .await
        .with_context(|| format!("cannot reach {base}"))?;
    if !created.status().is_success() {
        bail!("{base} refused a probe: {}", created.status());
    }
    let body: serde_json::Value = created.json().await?;
    let probe_url = body
        .get("probe_url")
        .and_then(|v| v.as_str())
        .context("the probe answer has no probe_url")?
        .to_owned();
    let opened = client
        .get(&probe_url)
        .header("accept", "text/html")
        .header("user-agent", BROWSER)
        .send()
        .await
        .with_context(|| format!("cannot open {probe_url}"))?;
    let (location, cookie) = {
        let header = |name: &str| {
            opened
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        (header("location"), header("set-cookie"))
    };
    let (Some(location), Some(cookie)) = (location, cookie) else {
        bail!(
            "the probe link answered {} without leading to a card page",
            opened.status()
        );
    };
    drop(opened);
    let page_url = if location.starts_with('/') {
        format!("{base}{location}")
    } else {
        location
    };
    let page = client
        .get(&page_url)
        .header("accept", "text/html")
        .header("user-agent", BROWSER)
        .header("cookie", cookie.split(';').next().unwrap_or_default())
        .send()
        .await
        .with_context(|| format!("cannot fetch {page_url}"))?;
    let status = page.status().as_u16();
    let headers: Vec<(String, String)> = page
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let html = page.text().await?;
    Ok(ObservedPage::new(
        status,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        &html,
    ))
}

/// Tells everyone configured: the log (error level), the city's audit log,
/// the city's security contact by e-mail, and a signed webhook.
async fn raise_alarm(
    config: &Config,
    store: &Store,
    tenant: &Tenant,
    url: &str,
    differences: &[String],
) {
    tracing::error!(city = %tenant.slug, url, differences = ?differences, "TAMPER ALARM: the card page differs from its build manifest");
    let entry = NewEntry::new(
        ChainId::Tenant(tenant.id.clone()),
        "system:monitor",
        Action::TamperAlarm,
        url,
        serde_json::json!({ "differences": differences }),
    );
    if let Err(e) = store.append_audit(entry).await {
        tracing::error!(error = %e, "could not write the alarm to the audit log");
    }
    let body = format!(
        "The card page at {url} no longer matches the manifest of the build it runs.\n\
         Someone may have changed it. Differences:\n\n{}\n\n\
         Treat this as a possible skimming attack: take the payment page offline, \
         then run `civicpay incident scope` for the affected window.",
        differences
            .iter()
            .map(|d| format!("- {d}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    if let Some(mail) = config.portal().mail
        && let Err(e) = mail
            .send_text(
                &tenant.contact.email,
                &format!("SECURITY ALARM: card page changed ({})", tenant.slug),
                &body,
            )
            .await
    {
        tracing::error!(error = %e, "could not e-mail the alarm");
    }
    if let Some(hook) = &config.alarm_webhook_url {
        let payload = serde_json::json!({ "type": "integrity.tamper_alarm", "city": tenant.slug.to_string(), "url": url, "differences": differences }).to_string();
        let secret = config
            .service_key()
            .map(|k| civicpay_web::service_key::portal_webhook_secret(&k, "alarms"))
            .unwrap_or_default();
        let signature = civicpay_web::webhook_signature::sign(
            &secret,
            jiff::Timestamp::now().as_second(),
            payload.as_bytes(),
        );
        let sent = reqwest::Client::new()
            .post(hook)
            .header("content-type", "application/json")
            .header(civicpay_web::webhook_signature::HEADER, signature)
            .body(payload)
            .send()
            .await;
        if let Err(e) = sent {
            tracing::error!(error = %e, "could not send the alarm webhook");
        }
    }
}

pub(crate) async fn monitor(
    config_file: Option<&Path>,
    args: MonitorArgs,
) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_file, database_flags(&args.database))?;
    let store = open_store(&config).await?;
    let tenant = pick_tenant(&store, args.tenant.as_deref()).await?;
    let manifest: Manifest = match &args.manifest {
        Some(file) => serde_json::from_str(
            &std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?,
        )
        .with_context(|| format!("{} is not a civicpay manifest", file.display()))?,
        None => own_manifest(&config, &store, &tenant).await?,
    };
    let watch = Watch::new(&config, tenant, &args.url, manifest)?;
    loop {
        let differences = watch.check(&config, &store).await;
        if args.once {
            return Ok(if differences.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        tokio::select! {
            _ = tokio::time::sleep(args.interval) => {}
            _ = crate::shutdown_signal() => return Ok(ExitCode::SUCCESS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_read_as_people_write_them() {
        assert_eq!(parse_interval("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_interval("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_interval("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_interval("90"), Ok(Duration::from_secs(90)));
        assert!(parse_interval("0s").is_err());
        assert!(parse_interval("5 minutes").is_err());
        assert!(parse_interval("m").is_err());
    }
}
