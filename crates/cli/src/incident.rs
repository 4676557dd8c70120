//! `civicpay incident scope`: everyone who typed into the card page in a
//! time window or through a given page build, read from pay's database in
//! one pass, as CSV (one line per attempt) or JSON (people and a summary
//! for the regulator; the input of `incident letters`).

use crate::config::Config;
use crate::{DatabaseArgs, database_flags, open_store, tenant_by_slug};
use anyhow::{Context, bail};
use civicpay_audit::{Action, ChainId, NewEntry};
use civicpay_core::export::csv_cell;
use civicpay_core::incident::{AffectedPerson, PeopleIndex, ScopeAttempt, ScopeSummary};
use civicpay_core::{Money, Tenant};
use civicpay_store::pay::{PayStore, ScopeFilter, ScopedAttempt};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub(crate) enum IncidentCommand {
    /// List every card attempt in scope (succeeded or not: a skimmer takes
    /// what was typed) with the people behind them, exactly and once each.
    Scope(ScopeArgs),
    /// Write one PDF notice letter per person in a JSON scope, a mailing
    /// list for a mail house, and the breach record to keep.
    Letters(LettersArgs),
}

#[derive(Args)]
pub(crate) struct LettersArgs {
    /// The JSON written by `incident scope --format json`.
    #[arg(long, value_name = "FILE")]
    scope: PathBuf,
    /// What the city says: discovered_on, what_happened, what_we_are_doing,
    /// contact_phone, and optionally what_you_can_do, contact_hours,
    /// steps_taken (TOML).
    #[arg(long, value_name = "FILE")]
    incident: PathBuf,
    #[arg(long, value_parser = ["california", "generic"])]
    template: String,
    /// Folder for the letters, mailing.csv and breach-record.txt.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

#[derive(Args)]
pub(crate) struct ScopeArgs {
    #[arg(long, value_name = "SLUG")]
    tenant: String,
    /// First day (in the city's time zone) or RFC 3339 time.
    #[arg(long, value_name = "DATE", requires = "to")]
    from: Option<String>,
    /// Last day, inclusive, or RFC 3339 time (exclusive).
    #[arg(long, value_name = "DATE", requires = "from")]
    to: Option<String>,
    /// Only attempts typed into this page build (see `integrity manifest`).
    #[arg(long, value_name = "BUILD_ID", required_unless_present = "from")]
    build: Option<String>,
    #[arg(long, value_parser = ["web", "moto"])]
    channel: Option<String>,
    #[arg(long, default_value = "csv", value_parser = ["csv", "json"])]
    format: String,
    /// Write here instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    database: DatabaseArgs,
}

/// The JSON scope: what `incident letters` reads.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ScopeReport {
    pub city: ScopeCity,
    pub window: ScopeWindow,
    pub summary: ScopeSummary,
    pub people: Vec<AffectedPerson>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ScopeCity {
    pub slug: String,
    pub name: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub contact_email: String,
    pub time_zone: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ScopeWindow {
    pub from: Option<jiff::Timestamp>,
    pub to: Option<jiff::Timestamp>,
    pub build: Option<String>,
    pub channel: Option<String>,
}

/// A day in the city's zone (its start, or for `end` the next day's
/// start) or an exact RFC 3339 time.
fn instant(tenant: &Tenant, value: &str, end: bool, flag: &str) -> anyhow::Result<jiff::Timestamp> {
    if let Ok(t) = value.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    let date: jiff::civil::Date = value.parse().with_context(|| {
        format!("--{flag} {value:?}: use a date like 2026-10-01 or an RFC 3339 time")
    })?;
    let day = if end { date.tomorrow()? } else { date };
    Ok(day.to_zoned(tenant.time_zone.time_zone())?.timestamp())
}

fn as_attempt(a: &ScopedAttempt) -> ScopeAttempt {
    ScopeAttempt {
        name: a
            .payer_name
            .clone()
            .unwrap_or_else(|| a.attempt.cardholder_name.clone()),
        postal_address: a
            .payer_address
            .clone()
            .unwrap_or_else(|| a.attempt.postal_code.clone()),
        email: a.attempt.email.clone(),
        language: a.attempt.language.clone(),
        channel: a.attempt.channel.clone(),
        card: a.attempt.card_last4.as_ref().map(|l| {
            format!(
                "{} •••• {l}",
                match civicpay_core::export::card_brand_name(a.attempt.card_brand.as_deref()) {
                    "" => "Card",
                    name => name,
                }
            )
        }),
        at: a.attempt.at,
        elements: a
            .attempt
            .elements
            .split(',')
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect(),
    }
}

const CSV_HEADER: &str = "person,payer_name,cardholder_name,postal_address,postal_code,email,card_brand,card_last4,channel,time,amount,currency,reference,payment_status,build_id,data_elements,language\n";

pub(crate) async fn run(
    config_file: Option<&Path>,
    command: IncidentCommand,
) -> anyhow::Result<()> {
    match command {
        IncidentCommand::Scope(args) => scope(config_file, args).await,
        IncidentCommand::Letters(args) => letters(&args),
    }
}

fn file_name(n: usize, name: &str) -> String {
    let slug: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    format!(
        "{n:05}-{}.pdf",
        slug.get(..40.min(slug.len())).unwrap_or("person")
    )
}

fn letters(args: &LettersArgs) -> anyhow::Result<()> {
    let report: ScopeReport = serde_json::from_str(
        &std::fs::read_to_string(&args.scope)
            .with_context(|| format!("cannot read {}", args.scope.display()))?,
    )
    .with_context(|| {
        format!(
            "{} is not a scope from `incident scope --format json`",
            args.scope.display()
        )
    })?;
    let incident = civicpay_notices::Incident::parse(
        &std::fs::read_to_string(&args.incident)
            .with_context(|| format!("cannot read {}", args.incident.display()))?,
    )
    .with_context(|| args.incident.display().to_string())?;
    let template = civicpay_notices::LetterTemplate::parse(&args.template)
        .context("--template: california or generic")?;
    let time_zone = jiff::tz::TimeZone::get(&report.city.time_zone)
        .with_context(|| format!("unknown time zone {:?} in the scope", report.city.time_zone))?;
    let dir = args.out.join("letters");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let contact = format!(
        "{} · {} · {}",
        report.city.contact_name, report.city.contact_phone, report.city.contact_email
    );
    let today = jiff::Timestamp::now().to_zoned(time_zone.clone()).date();
    let mut mailing = String::from("letter,name,postal_address,language,email\n");
    for (i, person) in report.people.iter().enumerate() {
        let name = file_name(i + 1, &person.name);
        let pdf = civicpay_notices::render_letter(&civicpay_notices::Letter {
            city: &report.city.name,
            city_contact: &contact,
            city_email: &report.city.contact_email,
            time_zone: &time_zone,
            person,
            incident: &incident,
            template,
            dated: today,
        });
        std::fs::write(dir.join(&name), pdf)?;
        mailing.push_str(&format!(
            "letters/{name},{},{},{},{}\n",
            csv_cell(&person.name),
            csv_cell(&person.postal_address),
            person.language,
            csv_cell(person.email.as_deref().unwrap_or_default())
        ));
    }
    std::fs::write(args.out.join("mailing.csv"), mailing)?;
    let summary = &report.summary;
    let when = |t: Option<jiff::Timestamp>| {
        t.map_or_else(
            || "-".to_owned(),
            |t| t.to_zoned(time_zone.clone()).to_string(),
        )
    };
    let steps = if incident.steps_taken.is_empty() {
        "-".to_owned()
    } else {
        incident
            .steps_taken
            .iter()
            .map(|s| format!("- {s}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let record = format!(
        "Record of breach of security safeguards\n\
         Organisation: {city}\n\
         Prepared: {today}\n\n\
         What happened:\n{happened}\n\n\
         When it happened: card details typed between {first} and {last}{build}\n\
         When it was discovered: {discovered}\n\
         Number of people affected: {people} ({attempts} card attempts; {channels})\n\
         Personal information involved: {elements}\n\n\
         Steps taken:\n{steps}\n\n\
         What we are doing:\n{doing}\n\n\
         Notification: {people} letters written on {today} ({template} template); mailing list in mailing.csv.\n\
         Keep this record for at least 24 months.\n",
        city = report.city.name,
        happened = incident.what_happened,
        first = when(summary.first),
        last = when(summary.last),
        build = report
            .window
            .build
            .as_ref()
            .map(|b| format!(", through page build {b}"))
            .unwrap_or_default(),
        discovered = incident.discovered_on,
        people = summary.people,
        attempts = summary.attempts,
        channels = summary
            .attempts_per_channel
            .iter()
            .map(|(c, n)| format!("{c}: {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        elements = summary
            .data_elements
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
        doing = incident.what_we_are_doing,
        template = args.template,
    );
    std::fs::write(args.out.join("breach-record.txt"), record)?;
    eprintln!(
        "{} letters, mailing.csv and breach-record.txt written to {}",
        report.people.len(),
        args.out.display()
    );
    Ok(())
}

async fn scope(config_file: Option<&Path>, args: ScopeArgs) -> anyhow::Result<()> {
    let config = Config::load(config_file, database_flags(&args.database))?;
    let store = open_store(&config).await?;
    let tenant = tenant_by_slug(&store, &args.tenant).await?;
    let pay = PayStore::connect(&config.pay_database_url()).await?;
    pay.migrate().await?;
    let filter = ScopeFilter {
        from: args
            .from
            .as_deref()
            .map(|v| instant(&tenant, v, false, "from"))
            .transpose()?,
        to: args
            .to
            .as_deref()
            .map(|v| instant(&tenant, v, true, "to"))
            .transpose()?,
        build_id: args.build.clone(),
        channel: args.channel.clone(),
    };
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && to <= from
    {
        bail!("--to must be after --from");
    }
    let mut out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let csv = args.format == "csv";
    if csv {
        out.write_all(CSV_HEADER.as_bytes())?;
    }
    let tz = tenant.time_zone.time_zone();
    let mut index = PeopleIndex::default();
    let mut per_channel = std::collections::BTreeMap::<String, u64>::new();
    let mut write_error = None;
    pay.incident_scope(&tenant.id, &filter, |a| {
        let person = index.add(as_attempt(&a)) + 1;
        *per_channel.entry(a.attempt.channel.clone()).or_default() += 1;
        if csv && write_error.is_none() {
            let currency =
                civicpay_core::Currency::parse(&a.attempt.currency).unwrap_or(tenant.currency);
            let line = [
                person.to_string(),
                csv_cell(a.payer_name.as_deref().unwrap_or_default()),
                csv_cell(&a.attempt.cardholder_name),
                csv_cell(a.payer_address.as_deref().unwrap_or_default()),
                csv_cell(&a.attempt.postal_code),
                csv_cell(a.attempt.email.as_deref().unwrap_or_default()),
                a.attempt.card_brand.clone().unwrap_or_default(),
                a.attempt.card_last4.clone().unwrap_or_default(),
                a.attempt.channel.clone(),
                a.attempt
                    .at
                    .to_zoned(tz.clone())
                    .strftime("%Y-%m-%dT%H:%M:%S%:z")
                    .to_string(),
                Money::from_minor(a.attempt.amount, currency).to_decimal_string(),
                a.attempt.currency.clone(),
                csv_cell(&a.reference),
                a.payment_status.clone(),
                a.attempt.build_id.clone(),
                csv_cell(&a.attempt.elements.replace(',', " ")),
                a.attempt.language.clone(),
            ]
            .join(",");
            if let Err(e) = writeln!(out, "{line}") {
                write_error = Some(e);
            }
        }
        Ok(())
    })
    .await?;
    if let Some(e) = write_error {
        return Err(e.into());
    }
    let (people, mut summary) = index.finish();
    summary.attempts_per_channel = per_channel;
    eprintln!(
        "{}: {} people, {} card attempts ({}), {} to {}",
        tenant.slug,
        summary.people,
        summary.attempts,
        summary
            .attempts_per_channel
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        summary
            .first
            .map_or_else(|| "-".to_owned(), |t| t.to_zoned(tz.clone()).to_string()),
        summary
            .last
            .map_or_else(|| "-".to_owned(), |t| t.to_zoned(tz.clone()).to_string()),
    );
    store
        .append_audit(NewEntry::new(
            ChainId::Tenant(tenant.id.clone()),
            format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into())),
            Action::IncidentScopeRun,
            "incident-scope",
            serde_json::json!({ "from": filter.from.map(|t| t.to_string()), "to": filter.to.map(|t| t.to_string()), "build": filter.build_id, "channel": filter.channel, "people": summary.people, "attempts": summary.attempts }),
        ))
        .await?;
    if !csv {
        let report = ScopeReport {
            city: ScopeCity {
                slug: tenant.slug.to_string(),
                name: tenant.name.get(tenant.default_language).to_owned(),
                contact_name: tenant.contact.name.clone(),
                contact_phone: tenant.contact.phone.clone(),
                contact_email: tenant.contact.email.clone(),
                time_zone: tenant.time_zone.as_str().to_owned(),
            },
            window: ScopeWindow {
                from: filter.from,
                to: filter.to,
                build: filter.build_id,
                channel: filter.channel,
            },
            summary,
            people,
        };
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    }
    out.flush()?;
    Ok(())
}
