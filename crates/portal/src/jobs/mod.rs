//! Work that runs on a clock rather than a request: autopay on due dates,
//! e-mails about linked bills and notices to cities' back offices. `civicpay serve` runs a pass every
//! minute; `civicpay jobs run` runs one pass and reports it. Each city's
//! "today" is its own time zone's date.

mod autopay;
mod back_office;
mod reminders;

use crate::AppState;
use crate::error::PortalError;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct JobReport {
    /// Bills newly taken on by autopay.
    pub scheduled: u64,
    pub paid: u64,
    pub failed: u64,
    /// Over the resident's cap, or nothing left to pay.
    pub skipped: u64,
    /// Claimed, but pay has no final answer yet (or could not be
    /// reached): taken up again once the claim goes stale.
    pub unsettled: u64,
    pub emails: u64,
    /// Back-office notices the back office took, and attempts it did not.
    pub notices_sent: u64,
    pub notices_failed: u64,
}

/// One pass over every city. `runner` names this instance in claims.
pub async fn run_once(state: &AppState, runner: &str) -> Result<JobReport, PortalError> {
    let mut report = JobReport::default();
    for tenant in state.store.list_tenants().await? {
        let today = jiff::Timestamp::now()
            .to_zoned(tenant.time_zone.time_zone())
            .date();
        // Notices of payments already made go out even while paused.
        back_office::run(state, &tenant, &mut report).await?;
        // A paused city takes no payment: no reminder to pay, no autopay.
        if tenant.suspended {
            continue;
        }
        reminders::run(state, &tenant, today, &mut report).await?;
        autopay::run(state, &tenant, today, runner, &mut report).await?;
    }
    Ok(report)
}
