//! `civicpay staff`: create staff accounts from the command line (the first
//! administrator of a city, or the platform operator).

use crate::config::Config;
use crate::{DatabaseArgs, database_flags, open_store, tenant_by_slug};
use anyhow::bail;
use civicpay_core::Role;
use clap::Subcommand;
use std::path::Path;

#[derive(Subcommand)]
pub(crate) enum StaffCommand {
    /// Invite a staff member: prints a one-time enrolment link (valid 72
    /// hours) where they choose a password and set up an authenticator app.
    Create {
        /// The city; leave out with --role platform_operator.
        #[arg(long, value_name = "SLUG")]
        tenant: Option<String>,
        #[arg(long)]
        email: String,
        /// clerk, supervisor, finance, administrator, auditor or
        /// platform_operator.
        #[arg(long)]
        role: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

pub(crate) async fn run(config_file: Option<&Path>, command: StaffCommand) -> anyhow::Result<()> {
    match command {
        StaffCommand::Create {
            tenant,
            email,
            role,
            database,
        } => {
            let config = Config::load(config_file, database_flags(&database))?;
            let store = open_store(&config).await?;
            let role = Role::parse(&role).map_err(|e| anyhow::anyhow!("--role {role:?} {e}"))?;
            let tenant = match (&tenant, role) {
                (None, Role::PlatformOperator) => None,
                (Some(_), Role::PlatformOperator) => {
                    bail!("--role platform_operator belongs to no city: leave out --tenant")
                }
                (None, _) => bail!("--tenant SLUG is required for a city role"),
                (Some(slug), _) => Some(tenant_by_slug(&store, slug).await?),
            };
            let actor = format!(
                "cli:{}",
                std::env::var("USER").unwrap_or_else(|_| "unknown".into())
            );
            let (_, link) = civicpay_portal::staff::invite_staff(
                &store,
                tenant.as_ref(),
                &email,
                role,
                &actor,
                &config.portal_public_url(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{link}");
            eprintln!(
                "Invitation for {email} ({}) created. Send the link above by a channel you trust: it works once, for 72 hours.",
                role.code()
            );
        }
    }
    Ok(())
}
