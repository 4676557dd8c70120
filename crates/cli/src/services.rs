//! Runs the services of one deployment: the portal and the pay service on
//! their own listeners (two browser origins), and, when no acquirer is
//! configured, an embedded acquirer simulator.

use crate::config::Config;
use anyhow::Context;
use civicpay_core::Tenant;
use civicpay_gateway::SimulatorConnector;
use civicpay_pay::{PayConfig, PayState};
use civicpay_store::Store;
use civicpay_store::pay::PayStore;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The portal's state, linked to the pay service.
pub fn portal_state(config: &Config, store: Store) -> anyhow::Result<civicpay_portal::AppState> {
    let mut portal_config = config.portal();
    portal_config.staff_totp_key = Some(config.staff_totp_key()?);
    portal_config.pay = Some(pay_link(config)?);
    Ok(civicpay_portal::AppState::new(
        store,
        portal_config,
        config.form_key()?,
    ))
}

fn pay_link(config: &Config) -> anyhow::Result<civicpay_portal::PayLink> {
    Ok(civicpay_portal::PayLink {
        api_url: config.pay_public_url(),
        service_key: config.service_key()?,
        portal_public_url: config.portal_public_url(),
        pay_public_url: config.pay_public_url(),
    })
}

/// How this process names itself in job claims.
pub fn runner_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".to_owned());
    format!("{host}:{}", std::process::id())
}

/// Seals any staff authenticator secret an older civicpay stored in clear.
pub async fn seal_clear_totp_secrets(config: &Config, store: &Store) -> anyhow::Result<usize> {
    let key = config.staff_totp_key()?;
    let tenants = store.list_tenants().await?;
    let scopes = std::iter::once(None).chain(tenants.iter().map(|t| Some(&t.id)));
    let mut sealed = 0;
    for scope in scopes {
        for (id, clear) in store.staff_with_clear_totp(scope).await? {
            let Some(secret) = civicpay_identity::TotpSecret::from_base32(&clear) else {
                continue;
            };
            let seal = key
                .seal(&secret, id.as_str())
                .context("sealing an authenticator secret")?;
            if store.seal_staff_totp(scope, &id, &clear, &seal).await? {
                sealed += 1;
            }
        }
    }
    Ok(sealed)
}

/// Opens pay's own database, keeps the platform's key and registers every
/// city of the portal with it, as the platform console does through pay's
/// API (one registration, [`civicpay_portal::PayLink::registration`]).
/// Which cities a command tells pay about when it opens pay's database.
/// A command tells only the city it touched: another process's settings
/// (the portal's public address, so the return origins) are not this
/// one's to overwrite.
pub enum Register<'a> {
    /// `serve`: every city, with this deployment's own settings.
    Every,
    Only(&'a Tenant),
}

/// Opens pay's database, migrated, with the platform's key, and registers
/// the cities `register` names.
pub async fn prepare_pay(
    config: &Config,
    portal: &Store,
    register: Register<'_>,
) -> anyhow::Result<PayStore> {
    let pay = PayStore::connect(&config.pay_database_url()).await?;
    pay.migrate().await?;
    let link = pay_link(config)?;
    pay.ensure_platform_key(&link.platform_key(), "portal")
        .await?;
    let cities = match register {
        Register::Every => portal.list_tenants().await?,
        Register::Only(tenant) => vec![tenant.clone()],
    };
    for tenant in cities {
        let registration = link
            .registration(&tenant)
            .with_context(|| format!("registering {} with pay", tenant.slug))?;
        civicpay_pay::platform::register(&pay, tenant.id.clone(), &registration)
            .await
            .with_context(|| format!("registering {} with pay", tenant.slug))?;
    }
    Ok(pay)
}

async fn start_embedded_simulator(
    config: &Config,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<String> {
    let simulator = civicpay_acquirer_sim::Simulator::open(
        &config.data_dir.join("acquirer-sim"),
        Duration::from_secs(30),
    )
    .await
    .context("cannot open the embedded acquirer simulator's store")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, simulator.router())
            .with_graceful_shutdown(wait(shutdown))
            .await;
    });
    tracing::info!(%addr, "embedded acquirer simulator (no gateway_url configured)");
    Ok(format!("http://{addr}"))
}

async fn wait(mut shutdown: watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// The pay service's state as this deployment configures it.
pub fn pay_state(
    config: &Config,
    store: PayStore,
    connector: SimulatorConnector,
) -> anyhow::Result<PayState> {
    Ok(PayState::new(
        store,
        Arc::new(connector),
        PayConfig {
            public_url: config.pay_public_url(),
            served_over_tls: config.served_over_tls,
            trusted_proxies: config.trusted_proxies.clone(),
            vault_keys_dir: Some(config.vault_keys_dir()?),
            processor_timeout: Duration::from_secs(config.gateway_timeout_secs.max(1)),
            processor_endpoints: config
                .processors_url
                .as_deref()
                .map(civicpay_pay::connectors::ProcessorEndpoints::all_at)
                .unwrap_or_default(),
            ..PayConfig::default()
        },
        config.pay_form_key()?,
    ))
}

pub async fn serve(config: &Config, portal_store: Store) -> anyhow::Result<()> {
    let (stop, shutdown) = watch::channel(false);
    let pay_store = prepare_pay(config, &portal_store, Register::Every).await?;
    let gateway_url = match &config.gateway_url {
        Some(url) => url.clone(),
        None => start_embedded_simulator(config, shutdown.clone()).await?,
    };
    let connector = SimulatorConnector::new(
        gateway_url,
        Duration::from_secs(config.gateway_timeout_secs.max(1)),
    )?;
    let pay_state = pay_state(config, pay_store, connector)?;
    let sealed = seal_clear_totp_secrets(config, &portal_store).await?;
    if sealed > 0 {
        tracing::info!(sealed, "sealed staff authenticator secrets stored in clear");
    }
    let portal_state = portal_state(config, portal_store.clone())?;

    let portal_listener = tokio::net::TcpListener::bind(config.portal_addr)
        .await
        .with_context(|| format!("cannot listen on {} (portal)", config.portal_addr))?;
    let pay_listener = tokio::net::TcpListener::bind(config.pay_addr)
        .await
        .with_context(|| format!("cannot listen on {} (pay)", config.pay_addr))?;
    tracing::info!(addr = %config.portal_addr, "portal listening");
    tracing::info!(addr = %config.pay_addr, "pay service listening");

    let reconciling = {
        let state = pay_state.clone();
        let sweep = civicpay_pay::reconcile::Sweep {
            // Never ask about a payment whose own request may still be in
            // flight.
            settle_after: Duration::from_secs(config.gateway_timeout_secs.max(1) + 5),
            not_found_grace: Duration::from_secs(config.acquirer_grace_secs),
            alarm_after: Duration::from_secs(config.attention_after_secs),
            // A status inquiry and a capture or refund, each bounded by the
            // gateway timeout, with room to spare.
            claim_for: Duration::from_secs(config.gateway_timeout_secs.max(1) * 4),
            orphans: false,
        };
        let interval = Duration::from_secs(config.reconcile_interval_secs.max(1));
        let orphans_every = Duration::from_secs(config.orphan_sweep_interval_secs.max(1));
        tokio::spawn(async move {
            let mut every = tokio::time::interval(interval);
            let mut orphans_swept: Option<std::time::Instant> = None;
            loop {
                every.tick().await;
                let orphans = orphans_swept.is_none_or(|at| at.elapsed() >= orphans_every);
                if orphans {
                    orphans_swept = Some(std::time::Instant::now());
                }
                let sweep = civicpay_pay::reconcile::Sweep { orphans, ..sweep };
                match civicpay_pay::reconcile::run(&state, sweep).await {
                    Ok(report) if report != civicpay_pay::reconcile::ReconcileReport::default() => {
                        tracing::info!(?report, "reconciliation")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "reconciliation failed"),
                }
            }
        })
    };
    let delivering = {
        let state = pay_state.clone();
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut every = tokio::time::interval(Duration::from_secs(2));
            loop {
                every.tick().await;
                if let Err(e) = civicpay_pay::webhooks::deliver_due(&state, &client).await {
                    tracing::warn!(error = %e, "webhook delivery failed");
                }
            }
        })
    };
    let watching = tokio::spawn(crate::integrity::watch_self(
        config.clone(),
        portal_store.clone(),
    ));
    let scheduling = {
        let state = portal_state.clone();
        tokio::spawn(async move {
            let runner = runner_name();
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                match civicpay_portal::jobs::run_once(&state, &runner).await {
                    Ok(report) if report != civicpay_portal::jobs::JobReport::default() => {
                        tracing::info!(?report, "jobs")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "jobs failed"),
                }
            }
        })
    };
    let pruning = {
        let pay_store = pay_state.store.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(3600));
            loop {
                every.tick().await;
                // Deletes of old rows only: two instances doing it at once
                // delete each row once.
                let cutoff = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24);
                if let Err(e) = portal_store.prune_rate_limits(cutoff).await {
                    tracing::warn!(error = %e, "could not prune rate-limit counters");
                }
                if let Err(e) = pay_store.prune_rate_limits(cutoff).await {
                    tracing::warn!(error = %e, "could not prune pay's velocity counters");
                }
                if let Err(e) = pay_store.prune_idempotency_keys(cutoff).await {
                    tracing::warn!(error = %e, "could not prune idempotency keys");
                }
            }
        })
    };
    tokio::spawn(async move {
        crate::shutdown_signal().await;
        let _ = stop.send(true);
    });
    let portal = axum::serve(
        portal_listener,
        civicpay_portal::app(portal_state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(wait(shutdown.clone()));
    let pay = axum::serve(
        pay_listener,
        civicpay_pay::app(pay_state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(wait(shutdown));
    let (portal_result, pay_result) = tokio::join!(portal, pay);
    pruning.abort();
    watching.abort();
    reconciling.abort();
    delivering.abort();
    scheduling.abort();
    portal_result?;
    pay_result?;
    Ok(())
}
