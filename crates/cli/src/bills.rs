//! `civicpay bills`: bills from the city's back office.

use crate::config::Config;
use crate::{DatabaseArgs, database_flags, init_logging, open_store, tenant_by_slug};
use anyhow::Context;
use civicpay_store::portal::bill_import::{ImportFormat, ImportOptions};
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub(crate) const IMPORT_HELP: &str = "\
CSV: a header row, then one bill per line. Required columns (any order):
  external_id     the back office's id for the bill; importing again updates it
  bill_type       a bill type of the city, e.g. water or parking
  reference       the number printed on the bill that residents type
  verification    the second look-up value (service ZIP/postal code, licence
                  plate or last name, as the bill type says)
  payer_name      name of the person or business billed
  postal_address  service or mailing address
  email           optional, may be empty
  amount          amount due, a decimal in the city's currency: 84.20
  due_date        ISO 8601 date: 2026-12-31
Optional columns: description and gl_code (the bill's single line item;
default the bill type's name and GL code), status (open or cancelled).

JSON: an array of objects with the same fields, amounts as strings
(\"84.20\"), and instead of description/gl_code an optional
\"line_items\": [{\"description\": \"…\", \"amount\": \"80.00\", \"gl_code\": \"…\"}]
whose amounts add up to amount.

By default the whole file is checked first and nothing is written if any
record is invalid; every problem is listed by line (CSV) or record (JSON)
and column. Importing the same file twice changes nothing.";

#[derive(Subcommand)]
pub(crate) enum BillsCommand {
    /// Import bills from a CSV or JSON file (upsert by external_id).
    #[command(after_long_help = IMPORT_HELP)]
    Import {
        /// The city's short name, as in its URL.
        #[arg(long)]
        tenant: String,
        /// The file to import (.csv or .json).
        file: PathBuf,
        /// csv or json; by default taken from the file's extension.
        #[arg(long)]
        format: Option<String>,
        /// Write the valid records and report the invalid ones.
        #[arg(long)]
        skip_invalid: bool,
        /// Records per transaction.
        #[arg(long, default_value_t = 2000)]
        batch_size: usize,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

pub(crate) async fn run(
    config_file: Option<&Path>,
    command: BillsCommand,
) -> anyhow::Result<ExitCode> {
    let BillsCommand::Import {
        tenant,
        file,
        format,
        skip_invalid,
        batch_size,
        database,
    } = command;
    let config = Config::load(config_file, database_flags(&database))?;
    init_logging(&config);
    let format = match format {
        Some(f) => ImportFormat::parse(&f).with_context(|| format!("--format {f:?}: use csv or json"))?,
        None => ImportFormat::from_path(&file).with_context(|| {
            format!("cannot tell the format of {} from its extension: add --format csv or --format json", file.display())
        })?,
    };
    let source =
        std::fs::File::open(&file).with_context(|| format!("cannot open {}", file.display()))?;
    let store = open_store(&config).await?;
    let tenant = tenant_by_slug(&store, &tenant).await?;
    let options = ImportOptions {
        format,
        skip_invalid,
        batch_size: batch_size.max(1),
    };
    let started = std::time::Instant::now();
    let report = store.import_bills(&tenant, source, options).await?;
    for error in &report.errors {
        eprintln!("{}: {error}", file.display());
    }
    let listed = u64::try_from(report.errors.len()).unwrap_or(u64::MAX);
    if report.invalid > listed {
        eprintln!("… and more: {} invalid records in all", report.invalid);
    }
    if !report.written {
        eprintln!(
            "nothing imported: {} of {} records are invalid (fix them, or use --skip-invalid to import the rest)",
            report.invalid, report.records
        );
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "{} records in {:.1}s: {} new, {} updated, {} unchanged, {} skipped as invalid",
        report.records,
        started.elapsed().as_secs_f64(),
        report.counts.inserted,
        report.counts.updated,
        report.counts.unchanged,
        report.invalid
    );
    Ok(ExitCode::SUCCESS)
}
