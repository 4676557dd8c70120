//! `civicpay tenant`: the cities on this deployment.

use crate::config::Config;
use crate::{DatabaseArgs, database_flags, init_logging, open_store};
use clap::Subcommand;
use std::path::Path;

#[derive(Subcommand)]
pub(crate) enum TenantCommand {
    /// List the cities on this deployment.
    List {
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

pub(crate) async fn run(config_file: Option<&Path>, command: TenantCommand) -> anyhow::Result<()> {
    let TenantCommand::List { database } = command;
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
    Ok(())
}
