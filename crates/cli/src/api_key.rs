//! `civicpay api-key`: keys that let a city's systems call the bill or payments API.

use crate::config::Config;
use crate::{DatabaseArgs, database_flags, init_logging, open_store, services, tenant_by_slug};
use clap::Subcommand;
use std::path::Path;

#[derive(Subcommand)]
pub(crate) enum ApiKeyCommand {
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

pub(crate) async fn run(config_file: Option<&Path>, command: ApiKeyCommand) -> anyhow::Result<()> {
    let ApiKeyCommand::Create {
        tenant,
        service,
        label,
        database,
    } = command;
    let config = Config::load(config_file, database_flags(&database))?;
    init_logging(&config);
    let store = open_store(&config).await?;
    let tenant = tenant_by_slug(&store, &tenant).await?;
    let key = if service == "pay" {
        let pay = services::prepare_pay(&config, &store, services::Register::Only(&tenant)).await?;
        pay.create_pay_api_key(&tenant.id, &label).await?
    } else {
        store.create_api_key(&tenant.id, &label).await?
    };
    println!("{}", key.expose());
    eprintln!(
        "API key for {} created; it is shown only this once.",
        tenant.slug
    );
    Ok(())
}
