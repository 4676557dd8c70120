//! `civicpay jobs`: the clock-driven work `serve` runs every minute
//! (autopay on due dates, bill e-mails), as one pass on demand.

use crate::config::Config;
use crate::{DatabaseArgs, database_flags, open_store, services};
use civicpay_store::Backend;
use clap::Subcommand;

#[derive(Subcommand)]
pub(crate) enum JobsCommand {
    /// Run one pass of every city's jobs against the running pay service
    /// and print what it did as JSON. On PostgreSQL any number of
    /// instances may run at once; SQLite is for a single instance.
    Run {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The pay service's API (default: the configured pay address).
        #[arg(long, value_name = "URL")]
        pay_url: Option<String>,
    },
}

pub(crate) async fn run(
    command: JobsCommand,
    config_file: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let JobsCommand::Run { database, pay_url } = command;
    let mut config = Config::load(config_file, database_flags(&database))?;
    if let Some(url) = pay_url {
        config.pay_public_url = Some(url);
    }
    crate::init_logging(&config);
    let store = open_store(&config).await?;
    if store.backend() == Backend::Sqlite {
        eprintln!(
            "SQLite mode: run one instance of civicpay at a time; use PostgreSQL to run several."
        );
    }
    let state = services::portal_state(&config, store)?;
    let report = civicpay_portal::jobs::run_once(&state, &services::runner_name()).await?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
