//! `civicpay demo`: two demo cities in a data folder, served.

use crate::config::Config;
use crate::{ServeArgs, init_logging, open_store, serve, serve_flags};
use clap::Args;
use std::path::Path;

#[derive(Args)]
pub(crate) struct DemoArgs {
    #[command(flatten)]
    serve: ServeArgs,
    /// Seed the demo data and exit without serving.
    #[arg(long)]
    no_serve: bool,
}

pub(crate) async fn run(config_file: Option<&Path>, args: DemoArgs) -> anyhow::Result<()> {
    let DemoArgs {
        serve: args,
        no_serve,
    } = args;
    let config = Config::load(config_file, serve_flags(&args))?;
    init_logging(&config);
    let store = open_store(&config).await?;
    let summary = civicpay_store::demo::seed(&store, 100).await?;
    let base = format!("http://{}", config.portal_addr);
    println!(
        "civicpay demo: {} bills in {} cities, data in {}",
        summary.bills,
        summary.tenants.len(),
        config.data_dir.display()
    );
    println!();
    for tenant in &summary.tenants {
        println!("  {base}/{tenant}/");
    }
    println!();
    println!("Bills to try (reference / second value):");
    for sample in summary.samples.iter().step_by(2) {
        println!(
            "  {base}/{}/pay/{}  {}  /  {}",
            sample.tenant, sample.bill_type, sample.reference, sample.verification
        );
    }
    println!();
    println!("Staff console: {base}/springfield/staff/ — make yourself its administrator with");
    println!(
        "  cargo run --release -- staff create --tenant springfield --email you@example.org --role administrator"
    );
    println!("and open the link it prints.");
    println!();
    println!(
        "Resident accounts: {base}/springfield/account/sign-up — the confirmation e-mail lands in {}",
        config.data_dir.join("outbox").display()
    );
    println!();
    if !no_serve {
        serve(&config, store).await?;
    }
    Ok(())
}
