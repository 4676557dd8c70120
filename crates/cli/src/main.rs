//! `civicpay`: one binary for every job — serve the sites, run the demo,
//! migrate the database, import bills, manage API keys.

/// mimalloc rather than the system allocator: glibc keeps the 19 MiB each
/// Argon2 run allocates after it is freed, so a flood of sign-ins left the
/// process hundreds of megabytes larger (measured in the security issue's
/// closing note); mimalloc gives it back.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod acquirer_sim;
mod api_key;
mod audit;
mod bills;
mod city;
mod config;
mod demo;
mod incident;
mod integrity;
mod jobs;
mod keys;
mod processor;
mod services;
mod staff;
mod webhooks;

use anyhow::{Context, bail};
use civicpay_core::TenantSlug;
use civicpay_store::Store;
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
    /// Address the pay service (the card page and its API) listens on.
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
    Demo(demo::DemoArgs),
    /// Apply database migrations and exit (serve and demo also migrate).
    Migrate(DatabaseArgs),
    /// Bills from the city's back office.
    Bills {
        #[command(subcommand)]
        command: bills::BillsCommand,
    },
    /// API keys that let a city's back office call the bill API.
    ApiKey {
        #[command(subcommand)]
        command: api_key::ApiKeyCommand,
    },
    /// Run the acquirer simulator: a stand-in card acquirer with documented
    /// test cards (see README), for demos and tests.
    AcquirerSim(acquirer_sim::AcquirerSimArgs),
    /// Webhooks from the pay service to the cities' systems.
    Webhooks {
        #[command(subcommand)]
        command: webhooks::WebhooksCommand,
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
    /// A city's card processor account: try it.
    Processor {
        #[command(subcommand)]
        command: processor::ProcessorCommand,
    },
    /// Fakes of Authorize.Net and Moneris on this machine, to try a city's
    /// processor settings without an account (never in production).
    ProcessorFake(processor::FakeArgs),
    /// Cities on this deployment, each declared in a file.
    City {
        #[command(subcommand)]
        command: city::CityCommand,
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
        Command::Demo(args) => demo::run(config_file, args).await?,
        Command::Bills { command } => return bills::run(config_file, command).await,
        Command::ApiKey { command } => api_key::run(config_file, command).await?,
        Command::AcquirerSim(args) => acquirer_sim::run(args).await?,
        Command::Webhooks { command } => webhooks::run(config_file, command).await?,
        Command::Migrate(args) => {
            let config = Config::load(config_file, database_flags(&args))?;
            init_logging(&config);
            open_store(&config).await?;
            println!("migrations applied");
        }
        Command::Staff { command } => staff::run(config_file, command).await?,
        Command::Integrity { command } => integrity::manifest(config_file, command).await?,
        Command::Monitor(args) => return integrity::monitor(config_file, args).await,
        Command::Incident { command } => incident::run(config_file, command).await?,
        Command::Audit { command } => return audit::run(config_file, command).await,
        Command::Keys { command } => keys::run(command, config_file).await?,
        Command::Jobs { command } => jobs::run(command, config_file).await?,
        Command::City { command } => city::run(config_file, command).await?,
        Command::Processor { command } => processor::run(config_file, command).await?,
        Command::ProcessorFake(args) => processor::fake(args).await?,
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
                bills::IMPORT_HELP.contains(column),
                "--help does not document {column}"
            );
        }
    }
}
