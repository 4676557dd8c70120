//! `civicpay webhooks`: deliveries from pay to the cities' systems.

use crate::config::Config;
use crate::{DatabaseArgs, database_flags, init_logging};
use anyhow::bail;
use clap::Subcommand;
use std::path::Path;

#[derive(Subcommand)]
pub(crate) enum WebhooksCommand {
    /// Queue a delivery again, now (its id is in the pay database's
    /// webhook_deliveries table and in the logs).
    Redeliver {
        /// The delivery's id.
        id: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

pub(crate) async fn run(
    config_file: Option<&Path>,
    command: WebhooksCommand,
) -> anyhow::Result<()> {
    let WebhooksCommand::Redeliver { id, database } = command;
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
    Ok(())
}
