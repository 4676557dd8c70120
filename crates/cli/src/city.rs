//! `civicpay city`: the cities on this deployment, each declared in a file
//! (see `examples/cities/`).

use crate::config::Config;
use crate::services::{Register, prepare_pay};
use crate::{DatabaseArgs, database_flags, init_logging, open_store, tenant_by_slug};
use anyhow::{Context, bail};
use civicpay_core::city_file;
use clap::Subcommand;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub(crate) enum CityCommand {
    /// List the cities on this deployment.
    List {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Create a city from its file, or bring it in line with the file.
    /// Applying the same file twice changes nothing; each change is audited.
    Apply {
        /// The city file (TOML; see examples/cities/springfield.toml).
        file: PathBuf,
        /// Print what would change, change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Print a city's file, as `apply` reads it.
    Export {
        slug: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Pause a city's payments: residents are told payments are paused,
    /// pay takes no new payment; staff can still read and refund.
    Suspend {
        slug: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Let a paused city take payments again.
    Resume {
        slug: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// A secret of the city's card processor, sealed in pay's database.
    Secret {
        #[command(subcommand)]
        command: crate::processor::SecretCommand,
    },
    /// Print the key a city's back office checks notices with (the
    /// `Civicpay-Signature` header), and the notices it has not yet taken.
    WebhookSecret {
        slug: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

pub(crate) async fn run(config_file: Option<&Path>, command: CityCommand) -> anyhow::Result<()> {
    let database = match &command {
        CityCommand::List { database }
        | CityCommand::Apply { database, .. }
        | CityCommand::Export { database, .. }
        | CityCommand::Suspend { database, .. }
        | CityCommand::Resume { database, .. }
        | CityCommand::WebhookSecret { database, .. } => database.clone(),
        CityCommand::Secret { command } => command.database().clone(),
    };
    let config = Config::load(config_file, database_flags(&database))?;
    init_logging(&config);
    let store = open_store(&config).await?;
    match command {
        CityCommand::Secret { command } => {
            crate::processor::set_secret(&config, &store, command).await?;
        }
        CityCommand::List { .. } => {
            for t in store.list_tenants().await? {
                println!(
                    "{}\t{}\t{}\t{}{}",
                    t.slug,
                    t.currency,
                    t.time_zone.as_str(),
                    t.name.get(t.default_language),
                    if t.suspended { "\tpaused" } else { "" }
                );
            }
        }
        CityCommand::Apply { file, dry_run, .. } => {
            let source = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let city = match city_file::parse(&source) {
                Ok(city) => city,
                Err(problems) => {
                    for problem in &problems {
                        eprintln!("{}: {problem}", file.display());
                    }
                    bail!(
                        "{} has {} problem(s); nothing was applied",
                        file.display(),
                        problems.len()
                    );
                }
            };
            let changes = if dry_run {
                store.city_file_changes(&city).await?
            } else {
                let applied = store.apply_city(&city, "cli").await?;
                // Pay learns of the city now, not at the next start.
                prepare_pay(&config, &store, Register::Only(&applied.tenant)).await?;
                applied.changes
            };
            for change in &changes {
                println!("{change}");
            }
            let verb = if dry_run { "would change" } else { "changed" };
            eprintln!("city {}: {verb} {} field(s)", city.slug, changes.len());
        }
        CityCommand::Export { slug, .. } => {
            let tenant = tenant_by_slug(&store, &slug).await?;
            let types = store.bill_types(&tenant.id).await?;
            print!("{}", city_file::export(&tenant, &types)?);
        }
        CityCommand::Suspend { slug, .. } => suspend(&config, &store, &slug, true).await?,
        CityCommand::Resume { slug, .. } => suspend(&config, &store, &slug, false).await?,
        CityCommand::WebhookSecret { slug, .. } => {
            let tenant = tenant_by_slug(&store, &slug).await?;
            let Some(url) = &tenant.back_office else {
                bail!(
                    "city {slug} has no back_office_webhook in its city file: nobody is sent notices"
                );
            };
            println!(
                "{}",
                civicpay_web::service_key::back_office_secret(
                    &config.service_key()?,
                    tenant.id.as_str()
                )
            );
            let waiting = store.undelivered_back_office_notices(&tenant.id).await?;
            eprintln!(
                "notices go to {}; {} not yet taken",
                url.as_str(),
                waiting.len()
            );
        }
    }
    Ok(())
}

/// Pauses or resumes a city, then tells pay (which keeps the flag in its
/// own database), the way the platform console does.
async fn suspend(
    config: &Config,
    store: &civicpay_store::Store,
    slug: &str,
    suspend: bool,
) -> anyhow::Result<()> {
    let tenant = tenant_by_slug(store, slug).await?;
    let changed = store.set_tenant_suspended(&tenant, suspend, "cli").await?;
    let tenant = tenant_by_slug(store, slug).await?;
    prepare_pay(config, store, Register::Only(&tenant)).await?;
    let state = if suspend { "paused" } else { "taking payments" };
    if changed {
        eprintln!("city {slug}: {state}");
    } else {
        eprintln!("city {slug}: already {state}; nothing changed");
    }
    Ok(())
}
