//! `cargo run --release -p civicpay-bench -- all` (or one figure by name):
//! each figure is printed with the limit measured beside it in the same
//! run and their ratio. Data is generated with fixed seeds; timings are
//! never asserted, only reported (BENCHMARKS.md records them).

mod audit;
mod card_page;
mod load;
mod memory;
mod nacha;
mod report;
mod scope;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "civicpay-bench", about = "civicpay benchmarks")]
struct Cli {
    #[command(subcommand)]
    figure: Figure,
}

#[derive(Subcommand)]
enum Figure {
    /// Every figure below, one after another.
    All,
    /// Audit chain verification, entries per second, against plain SHA-256
    /// over the same bytes.
    Audit {
        #[arg(long, default_value_t = 1_000_000)]
        entries: u64,
    },
    /// The card page: server time (p50, p99), bytes, JavaScript bytes.
    CardPage {
        #[arg(long, default_value_t = 2_000)]
        requests: u64,
    },
    /// Card payments per second end to end through the release binary,
    /// the submit latency at half that rate, the bare-route and durable
    /// transaction ceilings, and peak memory.
    Load {
        /// Seconds per phase.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
    },
    /// Resident memory of `civicpay demo` (the release binary beside this
    /// one) once it is up and idle.
    Memory,
    /// NACHA files: writing a file of many debits against copying its
    /// bytes, and reading a returns file into its notices.
    Nacha {
        #[arg(long, default_value_t = 100_000)]
        entries: u32,
        #[arg(long, default_value_t = 10_000)]
        returns: u32,
    },
    /// Incident scope over many card attempts, a seven-week window, on
    /// SQLite (and PostgreSQL when CIVICPAY_TEST_POSTGRES_URL is set).
    Scope {
        #[arg(long, default_value_t = 10_000_000)]
        attempts: u64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    report::machine();
    match cli.figure {
        Figure::All => {
            audit::run(1_000_000)?;
            card_page::run(2_000).await?;
            memory::run().await?;
            load::run(20).await?;
            scope::run(10_000_000).await?;
            nacha::run(100_000, 10_000)?;
        }
        Figure::Memory => memory::run().await?,
        Figure::Load { seconds } => load::run(seconds).await?,
        Figure::Audit { entries } => audit::run(entries)?,
        Figure::CardPage { requests } => card_page::run(requests).await?,
        Figure::Scope { attempts } => scope::run(attempts).await?,
        Figure::Nacha { entries, returns } => nacha::run(entries, returns)?,
    }
    Ok(())
}
