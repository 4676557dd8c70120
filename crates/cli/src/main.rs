//! `civicpay`: one binary for every job — serve the sites, run the demo,
//! migrate the database, import bills, manage API keys.

/// mimalloc rather than the system allocator: glibc keeps the 19 MiB each
/// Argon2 run allocates after it is freed, so a flood of sign-ins left the
/// process hundreds of megabytes larger (measured in the security issue's
/// closing note); mimalloc gives it back.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod audit;
mod config;
mod incident;
mod integrity;
mod jobs;
mod keys;
mod services;
mod staff;

use anyhow::{Context, bail};
use civicpay_core::TenantSlug;
use civicpay_store::Store;
use civicpay_store::bill_import::{ImportFormat, ImportOptions};
use clap::{Args, Parser, Subcommand};
use config::{Config, FlagOverrides};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "civicpay",
    version,
    about = "Online payments for local government: bills, residents, staff, and a card page nobody can quietly change.",
    long_about = None,
)]
struct Cli {
    /// TOML configuration file (also CIVICPAY_CONFIG).
    #[arg(long, global = true, env = "CIVICPAY_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone, Default)]
struct ServeArgs {
    /// Folder for the embedded database and generated secrets.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Address the portal (the city's site) listens on.
    #[arg(long, value_name = "HOST:PORT")]
    portal_addr: Option<SocketAddr>,
    /// Address the pay service (the card page) listens on; reserved until
    /// the pay service ships.
    #[arg(long, value_name = "HOST:PORT")]
    pay_addr: Option<SocketAddr>,
}

#[derive(Args, Clone, Default)]
pub(crate) struct DatabaseArgs {
    /// Folder for the embedded database and generated secrets.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL (sqlite://PATH or postgres://…); also DATABASE_URL.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the portal with the configured database.
    Serve(ServeArgs),
    /// Create (or reuse) a data folder with two demo cities and serve them.
    Demo {
        #[command(flatten)]
        serve: ServeArgs,
        /// Seed the demo data and exit without serving.
        #[arg(long)]
        no_serve: bool,
    },
    /// Apply database migrations and exit (serve and demo also migrate).
    Migrate(DatabaseArgs),
    /// Bills from the city's back office.
    Bills {
        #[command(subcommand)]
        command: BillsCommand,
    },
    /// API keys that let a city's back office call the bill API.
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
    /// Run the acquirer simulator: a stand-in card acquirer with documented
    /// test cards (see README), for demos and tests.
    AcquirerSim {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8090", value_name = "HOST:PORT")]
        listen: SocketAddr,
        /// Folder for the simulator's own records.
        #[arg(long, default_value = "civicpay-data/acquirer-sim", value_name = "DIR")]
        data: PathBuf,
        /// Seconds a "slow" or "lost response" test card keeps callers waiting.
        #[arg(long, default_value_t = 30)]
        slow_seconds: u64,
        /// Fault injection, for testing recovery: the share (0 to 1) of
        /// requests whose connection is dropped before the simulator acts.
        #[arg(long, default_value_t = 0.0, value_name = "P")]
        fault_drop_before: f64,
        /// The share of requests whose connection is dropped after the
        /// simulator acted (the caller never hears the answer).
        #[arg(long, default_value_t = 0.0, value_name = "P")]
        fault_drop_after: f64,
        /// The share of requests answered only after --fault-slow-ms.
        #[arg(long, default_value_t = 0.0, value_name = "P")]
        fault_slow: f64,
        /// The share of requests answered with HTTP 500 (half of them after
        /// acting).
        #[arg(long = "fault-5xx", default_value_t = 0.0, value_name = "P")]
        fault_5xx: f64,
        #[arg(long, default_value_t = 3000, value_name = "MS")]
        fault_slow_ms: u64,
    },
    /// Webhooks from the pay service to the cities' systems.
    Webhooks {
        #[command(subcommand)]
        command: WebhooksCommand,
    },
    /// Staff accounts for the console.
    Staff {
        #[command(subcommand)]
        command: staff::StaffCommand,
    },
    /// The card page's build manifest.
    Integrity {
        #[command(subcommand)]
        command: integrity::IntegrityCommand,
    },
    /// Watch the live card page and raise an alarm if it differs from its
    /// build's manifest (PCI DSS 4.0 req. 11.6.1).
    Monitor(integrity::MonitorArgs),
    /// After a suspected breach: who typed into the affected card pages.
    Incident {
        #[command(subcommand)]
        command: incident::IncidentCommand,
    },
    /// The tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// Autopay and bill e-mails: one pass of what `serve` runs every minute.
    Jobs {
        #[command(subcommand)]
        command: jobs::JobsCommand,
    },
    /// The saved-card vault's keys.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// Cities on this deployment.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
}

const IMPORT_HELP: &str = "\
CSV: a header row, then one bill per line. Required columns (any order):
  external_id     the back office's id for the bill; importing again updates it
  bill_type       a bill type of the city, e.g. water or parking
  reference       the number printed on the bill that residents type
  verification    the second look-up value (service ZIP/postal code, licence
                  plate or last name, as the bill type says)
  payer_name      name of the person or business billed
  postal_address  service or mailing address
  email           optional, may be empty
  amount          amount due, a decimal in the city's currency: 84.20
  due_date        ISO 8601 date: 2026-12-31
Optional columns: description and gl_code (the bill's single line item;
default the bill type's name and GL code), status (open or cancelled).

JSON: an array of objects with the same fields, amounts as strings
(\"84.20\"), and instead of description/gl_code an optional
\"line_items\": [{\"description\": \"…\", \"amount\": \"80.00\", \"gl_code\": \"…\"}]
whose amounts add up to amount.

By default the whole file is checked first and nothing is written if any
record is invalid; every problem is listed by line (CSV) or record (JSON)
and column. Importing the same file twice changes nothing.";

#[derive(Subcommand)]
enum BillsCommand {
    /// Import bills from a CSV or JSON file (upsert by external_id).
    #[command(after_long_help = IMPORT_HELP)]
    Import {
        /// The city's short name, as in its URL.
        #[arg(long)]
        tenant: String,
        /// The file to import (.csv or .json).
        file: PathBuf,
        /// csv or json; by default taken from the file's extension.
        #[arg(long)]
        format: Option<String>,
        /// Write the valid records and report the invalid ones.
        #[arg(long)]
        skip_invalid: bool,
        /// Records per transaction.
        #[arg(long, default_value_t = 2000)]
        batch_size: usize,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Create an API key for a city and print it (it is shown only once).
    Create {
        #[arg(long)]
        tenant: String,
        /// `portal`: the bill API; `pay`: the payments API, for a city
        /// system other than the portal.
        #[arg(long, default_value = "portal", value_parser = ["portal", "pay"])]
        service: String,
        /// What the key is for, e.g. "utility billing system".
        #[arg(long, default_value = "back office")]
        label: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Subcommand)]
enum WebhooksCommand {
    /// Queue a delivery again, now (its id is in the pay database's
    /// webhook_deliveries table and in the logs).
    Redeliver {
        /// The delivery's id.
        id: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// List the cities on this deployment.
    List {
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

pub(crate) fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CIVICPAY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
    for name in Config::unknown_environment_variables() {
        tracing::warn!(variable = %name, "unknown CIVICPAY_ environment variable ignored");
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("civicpay: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve_flags(args: &ServeArgs) -> FlagOverrides {
    FlagOverrides {
        data_dir: args.data_dir.clone(),
        portal_addr: args.portal_addr,
        pay_addr: args.pay_addr,
        ..FlagOverrides::default()
    }
}

pub(crate) fn database_flags(args: &DatabaseArgs) -> FlagOverrides {
    FlagOverrides {
        data_dir: args.data_dir.clone(),
        database_url: args.database_url.clone(),
        ..FlagOverrides::default()
    }
}

pub(crate) async fn open_store(config: &Config) -> anyhow::Result<Store> {
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    }
    let store = Store::connect(&config.database_url()).await?;
    store.migrate().await?;
    Ok(store)
}

pub(crate) async fn tenant_by_slug(
    store: &Store,
    slug: &str,
) -> anyhow::Result<civicpay_core::Tenant> {
    let parsed = TenantSlug::parse(slug).map_err(|e| anyhow::anyhow!("--tenant {slug:?} {e}"))?;
    match store.tenant_by_slug(&parsed).await? {
        Some(t) => Ok(t),
        None => {
            let known: Vec<String> = store
                .list_tenants()
                .await?
                .into_iter()
                .map(|t| t.slug.to_string())
                .collect();
            bail!(
                "no city {slug:?} on this deployment (known: {})",
                known.join(", ")
            )
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config_file = cli.config.as_deref();
    match cli.command {
        Command::Serve(args) => {
            let config = Config::load(config_file, serve_flags(&args))?;
            init_logging(&config);
            let store = open_store(&config).await?;
            serve(&config, store).await?;
        }
        Command::Demo {
            serve: args,
            no_serve,
        } => {
            let config = Config::load(config_file, serve_flags(&args))?;
            init_logging(&config);
            let store = open_store(&config).await?;
            let summary = civicpay_store::demo::seed(&store, 100).await?;
            let base = format!("http://{}", config.portal_addr);
            println!(
                "civicpay demo: {} bills in {} cities, data in {}",
                summary.bills,
                summary.tenants.len(),
                config.data_dir.display()
            );
            println!();
            for tenant in &summary.tenants {
                println!("  {base}/{tenant}/");
            }
            println!();
            println!("Bills to try (reference / second value):");
            for sample in summary.samples.iter().step_by(2) {
                println!(
                    "  {base}/{}/pay/{}  {}  /  {}",
                    sample.tenant, sample.bill_type, sample.reference, sample.verification
                );
            }
            println!();
            println!(
                "Staff console: {base}/springfield/staff/ — make yourself its administrator with"
            );
            println!(
                "  cargo run --release -- staff create --tenant springfield --email you@example.org --role administrator"
            );
            println!("and open the link it prints.");
            println!();
            println!(
                "Resident accounts: {base}/springfield/account/sign-up — the confirmation e-mail lands in {}",
                config.data_dir.join("outbox").display()
            );
            println!();
            if !no_serve {
                serve(&config, store).await?;
            }
        }
        Command::Migrate(args) => {
            let config = Config::load(config_file, database_flags(&args))?;
            init_logging(&config);
            open_store(&config).await?;
            println!("migrations applied");
        }
        Command::Bills {
            command:
                BillsCommand::Import {
                    tenant,
                    file,
                    format,
                    skip_invalid,
                    batch_size,
                    database,
                },
        } => {
            let config = Config::load(config_file, database_flags(&database))?;
            init_logging(&config);
            let format = match format {
                Some(f) => ImportFormat::parse(&f).with_context(|| format!("--format {f:?}: use csv or json"))?,
                None => ImportFormat::from_path(&file).with_context(|| {
                    format!("cannot tell the format of {} from its extension: add --format csv or --format json", file.display())
                })?,
            };
            let source = std::fs::File::open(&file)
                .with_context(|| format!("cannot open {}", file.display()))?;
            let store = open_store(&config).await?;
            let tenant = tenant_by_slug(&store, &tenant).await?;
            let options = ImportOptions {
                format,
                skip_invalid,
                batch_size: batch_size.max(1),
            };
            let started = std::time::Instant::now();
            let report = store.import_bills(&tenant, source, options).await?;
            for error in &report.errors {
                eprintln!("{}: {error}", file.display());
            }
            let listed = u64::try_from(report.errors.len()).unwrap_or(u64::MAX);
            if report.invalid > listed {
                eprintln!("… and more: {} invalid records in all", report.invalid);
            }
            if !report.written {
                eprintln!(
                    "nothing imported: {} of {} records are invalid (fix them, or use --skip-invalid to import the rest)",
                    report.invalid, report.records
                );
                return Ok(ExitCode::FAILURE);
            }
            println!(
                "{} records in {:.1}s: {} new, {} updated, {} unchanged, {} skipped as invalid",
                report.records,
                started.elapsed().as_secs_f64(),
                report.counts.inserted,
                report.counts.updated,
                report.counts.unchanged,
                report.invalid
            );
        }
        Command::ApiKey {
            command:
                ApiKeyCommand::Create {
                    tenant,
                    service,
                    label,
                    database,
                },
        } => {
            let config = Config::load(config_file, database_flags(&database))?;
            init_logging(&config);
            let store = open_store(&config).await?;
            let tenant = tenant_by_slug(&store, &tenant).await?;
            let key = if service == "pay" {
                let pay = services::prepare_pay(&config, &store).await?;
                pay.create_pay_api_key(&tenant.id, &label).await?
            } else {
                store.create_api_key(&tenant.id, &label).await?
            };
            println!("{}", key.expose());
            eprintln!(
                "API key for {} created; it is shown only this once.",
                tenant.slug
            );
        }
        Command::AcquirerSim {
            listen,
            data,
            slow_seconds,
            fault_drop_before,
            fault_drop_after,
            fault_slow,
            fault_5xx,
            fault_slow_ms,
        } => {
            init_logging(&Config::default());
            let faults = civicpay_acquirer_sim::Faults {
                drop_before: fault_drop_before,
                drop_after: fault_drop_after,
                slow: fault_slow,
                server_error: fault_5xx,
                slow_delay: std::time::Duration::from_millis(fault_slow_ms),
            };
            faults.validate().map_err(anyhow::Error::msg)?;
            let mut simulator = civicpay_acquirer_sim::Simulator::open(
                &data,
                std::time::Duration::from_secs(slow_seconds),
            )
            .await
            .with_context(|| format!("cannot open the simulator's store in {}", data.display()))?;
            simulator.faults = faults;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            println!(
                "acquirer simulator on http://{listen}, records in {}",
                data.display()
            );
            axum::serve(listener, simulator.router())
                .with_graceful_shutdown(shutdown_signal())
                .await?;
        }
        Command::Webhooks {
            command: WebhooksCommand::Redeliver { id, database },
        } => {
            let config = Config::load(config_file, database_flags(&database))?;
            init_logging(&config);
            if config.database_url.is_none() {
                std::fs::create_dir_all(&config.data_dir)?;
            }
            let pay = civicpay_store::pay::PayStore::connect(&config.pay_database_url()).await?;
            pay.migrate().await?;
            if !pay.redeliver_webhook(&id).await? {
                bail!("no webhook delivery {id:?}");
            }
            println!("delivery {id} queued; a running server sends it within seconds");
        }
        Command::Staff { command } => staff::run(config_file, command).await?,
        Command::Integrity { command } => integrity::manifest(config_file, command).await?,
        Command::Monitor(args) => return integrity::monitor(config_file, args).await,
        Command::Incident { command } => incident::run(config_file, command).await?,
        Command::Audit { command } => return audit::run(config_file, command).await,
        Command::Keys { command } => keys::run(command, config_file).await?,
        Command::Jobs { command } => jobs::run(command, config_file).await?,
        Command::Tenant {
            command: TenantCommand::List { database },
        } => {
            let config = Config::load(config_file, database_flags(&database))?;
            init_logging(&config);
            let store = open_store(&config).await?;
            for t in store.list_tenants().await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    t.slug,
                    t.currency,
                    t.time_zone.as_str(),
                    t.name.get(t.default_language)
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn serve(config: &Config, store: Store) -> anyhow::Result<()> {
    services::serve(config, store).await
}

pub(crate) async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use civicpay_core::import::{CSV_COLUMNS, CSV_OPTIONAL_COLUMNS};
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn import_help_names_every_csv_column() {
        for column in CSV_COLUMNS.iter().chain(CSV_OPTIONAL_COLUMNS.iter()) {
            assert!(
                IMPORT_HELP.contains(column),
                "--help does not document {column}"
            );
        }
    }
}
