//! `civicpay acquirer-sim`: the stand-in card acquirer, for demos and tests.

use crate::config::Config;
use crate::{init_logging, shutdown_signal};
use anyhow::Context;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct AcquirerSimArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090", value_name = "HOST:PORT")]
    pub(crate) listen: SocketAddr,
    /// Folder for the simulator's own records.
    #[arg(long, default_value = "civicpay-data/acquirer-sim", value_name = "DIR")]
    pub(crate) data: PathBuf,
    /// Seconds a "slow" or "lost response" test card keeps callers waiting.
    #[arg(long, default_value_t = 30)]
    pub(crate) slow_seconds: u64,
    /// Fault injection, for testing recovery: the share (0 to 1) of
    /// requests whose connection is dropped before the simulator acts.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub(crate) fault_drop_before: f64,
    /// The share of requests whose connection is dropped after the
    /// simulator acted (the caller never hears the answer).
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub(crate) fault_drop_after: f64,
    /// The share of requests answered only after --fault-slow-ms.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub(crate) fault_slow: f64,
    /// The share of requests answered with HTTP 500 (half of them after
    /// acting).
    #[arg(long = "fault-5xx", default_value_t = 0.0, value_name = "P")]
    pub(crate) fault_5xx: f64,
    #[arg(long, default_value_t = 3000, value_name = "MS")]
    pub(crate) fault_slow_ms: u64,
}

pub(crate) async fn run(args: AcquirerSimArgs) -> anyhow::Result<()> {
    let AcquirerSimArgs {
        listen,
        data,
        slow_seconds,
        fault_drop_before,
        fault_drop_after,
        fault_slow,
        fault_5xx,
        fault_slow_ms,
    } = args;
    init_logging(&Config::default());
    let faults = civicpay_acquirer_sim::Faults {
        drop_before: fault_drop_before,
        drop_after: fault_drop_after,
        slow: fault_slow,
        server_error: fault_5xx,
        slow_delay: std::time::Duration::from_millis(fault_slow_ms),
    };
    faults.validate().map_err(anyhow::Error::msg)?;
    let mut simulator =
        civicpay_acquirer_sim::Simulator::open(&data, std::time::Duration::from_secs(slow_seconds))
            .await
            .with_context(|| format!("cannot open the simulator's store in {}", data.display()))?;
    simulator.faults = faults;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    println!(
        "acquirer simulator on http://{listen}, records in {}",
        data.display()
    );
    axum::serve(listener, simulator.router())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}
