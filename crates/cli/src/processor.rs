//! Connecting a city to its card processor: `civicpay city secret set`
//! seals the processor's secret, `civicpay processor check` tries the
//! account, and `civicpay processor-fake` stands in for both processors
//! on this machine.

use crate::config::Config;
use crate::{DatabaseArgs, database_flags, open_store, services, tenant_by_slug};
use anyhow::{Context, bail};
use civicpay_audit::{Action, ChainId, NewEntry};
use civicpay_core::{Money, ProcessorEnvironment};
use civicpay_gateway::{AuthorisationOutcome, AuthorisationRequest, Connector};
use civicpay_vault::{CardNumber, Expiry, SecurityCode};
use clap::Subcommand;
use std::io::{IsTerminal, Read};
use std::time::Instant;

#[derive(Subcommand)]
pub(crate) enum SecretCommand {
    /// Seal a secret of the city's processor, read from standard input
    /// (`processor.transaction_key` for Authorize.Net,
    /// `processor.client_secret` for Moneris). Nothing ever prints it
    /// back; setting it again replaces it.
    Set {
        slug: String,
        name: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

impl SecretCommand {
    pub(crate) fn database(&self) -> &DatabaseArgs {
        match self {
            SecretCommand::Set { database, .. } => database,
        }
    }
}

#[derive(Subcommand)]
pub(crate) enum ProcessorCommand {
    /// Authorise the smallest amount with the processor's test card on the
    /// city's sandbox account, then void it; report how long each took and
    /// what failed, in operator words.
    Check {
        #[arg(long, value_name = "SLUG")]
        tenant: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// Reads one secret from standard input: surrounding blanks and the line
/// end are not part of it.
fn read_secret(input: impl Read) -> anyhow::Result<zeroize::Zeroizing<String>> {
    let mut raw = zeroize::Zeroizing::new(String::new());
    input
        .take(4096)
        .read_to_string(&mut raw)
        .context("cannot read the secret from standard input")?;
    let secret = zeroize::Zeroizing::new(raw.trim().to_owned());
    if secret.is_empty() {
        bail!("no secret on standard input; nothing was changed");
    }
    if secret.len() > 500 || secret.chars().any(|c| c.is_whitespace() || c.is_control()) {
        bail!("the secret must be one line without spaces; nothing was changed");
    }
    Ok(secret)
}

pub(crate) async fn set_secret(
    config: &Config,
    store: &civicpay_store::Store,
    command: SecretCommand,
) -> anyhow::Result<()> {
    let SecretCommand::Set { slug, name, .. } = command;
    let tenant = tenant_by_slug(store, &slug).await?;
    let Some(processor) = &tenant.processor else {
        bail!(
            "city {slug} has no [processor] in its city file: add one and `civicpay city apply` it first"
        );
    };
    if name != processor.secret_name() {
        bail!(
            "{} takes the secret {}, not {name}",
            processor.display_name(),
            processor.secret_name()
        );
    }
    if std::io::stdin().is_terminal() {
        eprintln!(
            "Type or paste {name}, then Enter and Ctrl-D (it shows as typed; `printf %s \"$KEY\" | civicpay city secret set {slug} {name}` does not):"
        );
    }
    let secret = read_secret(std::io::stdin())?;
    let pay = services::prepare_pay(config, store, services::Register::Only(&tenant)).await?;
    let vault = civicpay_pay::vault::Vault::new(pay, config.vault_keys_dir()?);
    vault.put_secret(&tenant.id, &name, &secret).await?;
    // The name only: the audit log never holds a secret.
    store
        .append_audit(NewEntry::new(
            ChainId::Tenant(tenant.id.clone()),
            format!(
                "cli:{}",
                std::env::var("USER").unwrap_or_else(|_| "unknown".into())
            ),
            Action::ProcessorSecretSet,
            "processor",
            serde_json::json!({ "name": name, "processor": processor.kind() }),
        ))
        .await?;
    println!(
        "{slug}: {name} sealed with the city's key-encryption key; it is never shown again. Try it: civicpay processor check --tenant {slug}"
    );
    Ok(())
}

pub(crate) async fn run(
    config_file: Option<&std::path::Path>,
    command: ProcessorCommand,
) -> anyhow::Result<()> {
    let ProcessorCommand::Check { tenant, database } = command;
    let config = Config::load(config_file, database_flags(&database))?;
    crate::init_logging(&config);
    let store = open_store(&config).await?;
    let tenant = tenant_by_slug(&store, &tenant).await?;
    let Some(processor) = tenant.processor.clone() else {
        bail!(
            "city {} has no [processor] in its city file: its payments go to this deployment's acquirer",
            tenant.slug
        );
    };
    if processor.environment() != ProcessorEnvironment::Sandbox {
        bail!(
            "processor check charges a test card, which only a sandbox account takes; {} is set to production",
            tenant.slug
        );
    }
    let pay = services::prepare_pay(&config, &store, services::Register::Only(&tenant)).await?;
    let state = services::pay_state(
        &config,
        pay,
        civicpay_gateway::SimulatorConnector::new(
            "http://127.0.0.1:9",
            std::time::Duration::from_secs(1),
        )?,
    )?;
    let connector = state.connector(&tenant.id).await;
    println!(
        "{}: {} {} account",
        tenant.slug,
        processor.display_name(),
        processor.environment().code()
    );
    check(connector.as_ref(), Money::from_minor(1, tenant.currency)).await
}

/// Authorises `amount` on the processors' common test card and voids it.
async fn check(connector: &dyn Connector, amount: Money) -> anyhow::Result<()> {
    let card = CardNumber::parse("4111111111111111")?;
    let code = SecurityCode::parse("123", card.brand())?;
    let next_year = jiff::Zoned::now().date().year() + 1;
    let expiry = Expiry::parse(&format!("12/{next_year}"), jiff::Zoned::now().date())?;
    let reference = format!("{}.1", uuid::Uuid::now_v7());
    let started = Instant::now();
    let outcome = connector
        .authorise(AuthorisationRequest {
            payment_id: &reference,
            amount,
            card: &card,
            security_code: Some(&code),
            stored_credential: false,
            expiry,
            capture: false,
        })
        .await;
    let took = started.elapsed().as_millis();
    match outcome {
        AuthorisationOutcome::Approved { .. } => {
            println!("  authorised {} in {took} ms", amount.to_decimal_string());
        }
        AuthorisationOutcome::Declined { reason } => bail!(
            "the processor declined its own test card ({reason}) after {took} ms: check that the account is a sandbox account in test mode"
        ),
        AuthorisationOutcome::Failed { detail } => {
            bail!("the authorisation failed after {took} ms: {detail}")
        }
        AuthorisationOutcome::Unknown { detail } => bail!(
            "no answer from the processor after {took} ms ({detail}): check the network path to it and gateway_timeout_secs"
        ),
    }
    let started = Instant::now();
    connector
        .void(&reference)
        .await
        .with_context(|| format!("the test authorisation {reference} could not be voided"))?;
    println!(
        "  voided it in {} ms\n  the account works",
        started.elapsed().as_millis()
    );
    Ok(())
}

#[derive(clap::Args)]
pub(crate) struct FakeArgs {
    /// Where both fakes listen: Authorize.Net under `/authorize-net`,
    /// Moneris under `/moneris` (set `processors_url` to this address).
    #[arg(long, default_value = "127.0.0.1:8095")]
    listen: std::net::SocketAddr,
}

/// The account identifiers the fakes take; their secrets are made fresh
/// at each start and printed once.
const FAKE_LOGIN: &str = "civicpayfake";
const FAKE_CLIENT: &str = "civicpay-fake";
const FAKE_MERCHANT: &str = "0000000000001";

pub(crate) async fn fake(args: FakeArgs) -> anyhow::Result<()> {
    use civicpay_processor_fakes::authorize_net::AuthorizeNetFake;
    use civicpay_processor_fakes::moneris::MonerisFake;
    let key = format!("{:032x}", rand::random::<u128>());
    let secret = format!("{:032x}", rand::random::<u128>());
    let authorize_net = AuthorizeNetFake::new(FAKE_LOGIN, &key, "USD");
    let moneris = MonerisFake::new(FAKE_CLIENT, &secret, FAKE_MERCHANT, "CAD");
    let router = axum::Router::new()
        .nest("/authorize-net", authorize_net.router())
        .nest("/moneris", moneris.router());
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    println!("processor fakes on http://{}", args.listen);
    println!(
        "  Authorize.Net: api_login_id = \"{FAKE_LOGIN}\", processor.transaction_key {key} (USD)"
    );
    println!(
        "  Moneris: client_id = \"{FAKE_CLIENT}\", merchant_id = \"{FAKE_MERCHANT}\", processor.client_secret {secret} (CAD)"
    );
    println!(
        "  point civicpay at them with processors_url = \"http://{}\"",
        args.listen
    );
    axum::serve(listener, router).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::read_secret;

    #[test]
    fn a_secret_is_one_line_without_its_line_end() {
        assert_eq!(
            read_secret("  s3cret-Key\n".as_bytes())
                .ok()
                .as_deref()
                .map(|s| s.as_str()),
            Some("s3cret-Key")
        );
        assert!(read_secret("\n".as_bytes()).is_err());
        assert!(read_secret("two words\n".as_bytes()).is_err());
    }
}
