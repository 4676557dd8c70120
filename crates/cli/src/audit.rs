//! `civicpay audit`: check the audit log's hash chains, and sign their heads
//! so a copy of the log's state lives outside the system.

use crate::config::Config;
use crate::{DatabaseArgs, database_flags, open_store, tenant_by_slug};
use anyhow::{Context, bail};
use civicpay_audit::checkpoint::verifying_key_from_hex;
use civicpay_audit::{ChainId, ChainVerifier, Checkpoint, CheckpointKey};
use civicpay_store::Store;
use civicpay_store::pay::PayStore;
use clap::Subcommand;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub(crate) enum AuditCommand {
    /// Walk every chain (or one city's) and report the first broken link:
    /// an edited, deleted, inserted or reordered entry, or a chain that
    /// ends before its recorded head or a signed checkpoint. Exits 1 if
    /// anything is wrong.
    Verify {
        /// Only this city's chain.
        #[arg(long, value_name = "SLUG")]
        tenant: Option<String>,
        /// Signed checkpoints to hold the log to (JSON Lines, as written by
        /// `audit checkpoint`); default: the configured checkpoint file, if
        /// it exists.
        #[arg(long, value_name = "FILE")]
        checkpoints: Option<PathBuf>,
        /// The public key that signed the checkpoints (hex); default: this
        /// deployment's own checkpoint key.
        #[arg(long, value_name = "HEX")]
        public_key: Option<String>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Sign the head of every chain (or one city's) and append the signed
    /// checkpoints to a file, post them to a witness URL, or both.
    Checkpoint {
        #[arg(long, value_name = "SLUG")]
        tenant: Option<String>,
        /// File to append to; default: `audit_checkpoint_file` from the
        /// configuration.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Witness URL that receives each checkpoint as a JSON POST;
        /// default: `audit_checkpoint_url` from the configuration.
        #[arg(long, value_name = "URL")]
        post: Option<String>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// Chain keys shown as city slugs where we know them.
async fn chain_names(store: &Store) -> anyhow::Result<HashMap<ChainId, String>> {
    Ok(store
        .list_tenants()
        .await?
        .into_iter()
        .map(|t| (ChainId::Tenant(t.id), t.slug.to_string()))
        .collect())
}

fn display(names: &HashMap<ChainId, String>, chain: &ChainId) -> String {
    names.get(chain).map_or_else(
        || chain.key().to_owned(),
        |slug| format!("{slug} ({chain})"),
    )
}

async fn chains(store: &Store, tenant: Option<&str>) -> anyhow::Result<Vec<ChainId>> {
    Ok(match tenant {
        Some(slug) => vec![ChainId::Tenant(tenant_by_slug(store, slug).await?.id)],
        None => store.audit_chains().await?,
    })
}

/// Pay's database, where the money trail is, if this deployment has one
/// here (a portal-only machine does not).
async fn open_pay_store(config: &Config) -> anyhow::Result<Option<PayStore>> {
    if config.pay_database_url.is_none() && !config.data_dir.join("pay.db").exists() {
        return Ok(None);
    }
    let pay = PayStore::connect(&config.pay_database_url()).await?;
    pay.migrate().await?;
    Ok(Some(pay))
}

fn read_checkpoints(path: &Path) -> anyhow::Result<Vec<Checkpoint>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read checkpoints from {}", path.display()))?;
    Checkpoint::parse_lines(&text).with_context(|| path.display().to_string())
}

pub(crate) async fn run(
    config_file: Option<&Path>,
    command: AuditCommand,
) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify {
            tenant,
            checkpoints,
            public_key,
            database,
        } => {
            let config = Config::load(config_file, database_flags(&database))?;
            let store = open_store(&config).await?;
            let file = checkpoints.unwrap_or_else(|| config.audit_checkpoint_file());
            let checkpoints = if file.exists() {
                read_checkpoints(&file)?
            } else {
                Vec::new()
            };
            let trusted = match public_key {
                Some(hex) => verifying_key_from_hex(&hex).context("--public-key")?,
                None => CheckpointKey::from_seed(&config.audit_key_seed()?).verifying_key(),
            };
            let mut vouched: HashMap<ChainId, Vec<(u64, civicpay_audit::ChainHash)>> =
                HashMap::new();
            for checkpoint in &checkpoints {
                let (chain, seq, hash) = checkpoint
                    .verify(&trusted)
                    .with_context(|| format!("in {}", file.display()))?;
                vouched.entry(chain).or_default().push((seq, hash));
            }
            let names = chain_names(&store).await?;
            let mut broken = 0;
            for chain in chains(&store, tenant.as_deref()).await? {
                let held_to = vouched.remove(&chain).unwrap_or_default();
                let count = held_to.len();
                let verifier = ChainVerifier::new(chain.clone(), held_to);
                match store.verify_audit_chain(verifier, &chain).await? {
                    Ok(entries) => println!(
                        "ok      {}: {entries} entries, {count} checkpoints held",
                        display(&names, &chain)
                    ),
                    Err(found) => {
                        broken += 1;
                        println!("BROKEN  {}: {found}", display(&names, &chain));
                    }
                }
            }
            if let Some(pay) = open_pay_store(&config).await? {
                let pay_chains = match &tenant {
                    Some(slug) => vec![ChainId::money(tenant_by_slug(&store, slug).await?.id)],
                    None => pay.money_chains().await?,
                };
                for chain in pay_chains {
                    let Some(city) = chain.tenant().cloned() else {
                        continue;
                    };
                    let held_to = vouched.remove(&chain).unwrap_or_default();
                    let count = held_to.len();
                    let name = display(&names, &ChainId::Tenant(city.clone()));
                    let verifier = ChainVerifier::new(chain.clone(), held_to);
                    match pay.verify_money_trail(verifier, &city).await? {
                        Ok(entries) => println!(
                            "ok      money trail of {name}: {entries} entries, {count} checkpoints held"
                        ),
                        Err(found) => {
                            broken += 1;
                            println!("BROKEN  money trail of {name}: {found}");
                        }
                    }
                }
            }
            for (chain, points) in vouched {
                if tenant.is_none() {
                    broken += 1;
                    println!(
                        "BROKEN  {}: {} signed checkpoints exist but the log has no such chain (it was removed)",
                        display(&names, &chain),
                        points.len()
                    );
                }
            }
            if broken > 0 {
                eprintln!(
                    "civicpay: the audit log has been changed behind the system's back ({broken} chains)"
                );
                return Ok(ExitCode::FAILURE);
            }
        }
        AuditCommand::Checkpoint {
            tenant,
            out,
            post,
            database,
        } => {
            let config = Config::load(config_file, database_flags(&database))?;
            let store = open_store(&config).await?;
            let key = CheckpointKey::from_seed(&config.audit_key_seed()?);
            let out = out.unwrap_or_else(|| config.audit_checkpoint_file());
            let post = post.or_else(|| config.audit_checkpoint_url.clone());
            let mut signed = Vec::new();
            for chain in chains(&store, tenant.as_deref()).await? {
                if let Some((seq, hash)) = store.audit_head(&chain).await? {
                    signed.push(key.sign(&chain, seq, hash, jiff::Timestamp::now()));
                }
            }
            if let Some(pay) = open_pay_store(&config).await? {
                let pay_chains = match &tenant {
                    Some(slug) => vec![ChainId::money(tenant_by_slug(&store, slug).await?.id)],
                    None => pay.money_chains().await?,
                };
                for chain in pay_chains {
                    if let Some((seq, hash)) = pay.money_head(&chain).await? {
                        signed.push(key.sign(&chain, seq, hash, jiff::Timestamp::now()));
                    }
                }
            }
            if signed.is_empty() {
                bail!("the audit log is empty: nothing to checkpoint");
            }
            append_lines(&out, &signed)?;
            if let Some(url) = post {
                post_checkpoints(&url, &signed).await?;
            }
            for checkpoint in &signed {
                println!("{}", checkpoint.to_line());
            }
            eprintln!(
                "{} checkpoints appended to {}; signing key {}",
                signed.len(),
                out.display(),
                key.public_hex()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn append_lines(path: &Path, checkpoints: &[Checkpoint]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    for checkpoint in checkpoints {
        writeln!(file, "{}", checkpoint.to_line())?;
    }
    file.sync_all()?;
    Ok(())
}

async fn post_checkpoints(url: &str, checkpoints: &[Checkpoint]) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(15))
        .build()?;
    for checkpoint in checkpoints {
        let response = client
            .post(url)
            .json(checkpoint)
            .send()
            .await
            .with_context(|| format!("cannot post the checkpoint to {url}"))?;
        if !response.status().is_success() {
            bail!("the witness at {url} answered {}", response.status());
        }
    }
    Ok(())
}
