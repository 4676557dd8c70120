//! `civicpay keys`: the saved-card vault's keys.

use crate::config::Config;
use crate::{DatabaseArgs, database_flags, open_store, services, tenant_by_slug};
use civicpay_audit::{Action, ChainId, NewEntry};
use clap::Subcommand;

#[derive(Subcommand)]
pub(crate) enum KeysCommand {
    /// Make a new key-encryption key for the city, re-wrap its data keys
    /// under it, re-seal every saved card under a new data key in batches
    /// (cards stay usable throughout), then delete the old keys. Safe to
    /// run again if interrupted.
    Rotate {
        #[arg(long, value_name = "SLUG")]
        tenant: String,
        /// Cards re-sealed per batch.
        #[arg(long, default_value_t = 500)]
        batch: i64,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

pub(crate) async fn run(
    command: KeysCommand,
    config_file: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let KeysCommand::Rotate {
        tenant,
        batch,
        database,
    } = command;
    let config = Config::load(config_file, database_flags(&database))?;
    crate::init_logging(&config);
    let store = open_store(&config).await?;
    let tenant = tenant_by_slug(&store, &tenant).await?;
    let pay = services::prepare_pay(&config, &store, services::Register::Only(&tenant)).await?;
    let vault = civicpay_pay::vault::Vault::new(pay, config.vault_keys_dir()?);
    let rotation = vault
        .rotate(&tenant.id, batch, |r| {
            if r.resealed_cards > 0 {
                eprintln!("  {} cards re-sealed", r.resealed_cards);
            }
        })
        .await?;
    // Ids and counts only: nothing here opens a card.
    store
        .append_audit(NewEntry::new(
            ChainId::Tenant(tenant.id.clone()),
            format!(
                "cli:{}",
                std::env::var("USER").unwrap_or_else(|_| "unknown".into())
            ),
            Action::VaultKeysRotated,
            "vault",
            serde_json::json!({
                "new_kek": rotation.new_kek,
                "data_key_version": rotation.new_version,
                "rewrapped_keys": rotation.rewrapped_keys,
                "resealed_cards": rotation.resealed_cards,
                "retired_versions": rotation.retired_versions,
                "removed_keks": rotation.removed_keks,
            }),
        ))
        .await?;
    println!(
        "{}: new key-encryption key {}, data key version {}; {} data keys re-wrapped, {} cards re-sealed, versions retired {:?}, old key-encryption keys deleted {:?}",
        tenant.slug,
        rotation.new_kek,
        rotation.new_version,
        rotation.rewrapped_keys,
        rotation.resealed_cards,
        rotation.retired_versions,
        rotation.removed_keks
    );
    Ok(())
}
