//! NACHA files: writing a city's file of 100,000 debits, against copying
//! the same bytes with no logic; and reading a returns file of 10,000
//! entries into its notices. Peak memory is the process's high-water mark
//! above what it held before the step.

use crate::memory::status_kb;
use crate::report::{line, rate};
use civicpay_core::ach::{AccountKind, ReturnCode, RoutingNumber, SecCode, TraceNumber};
use civicpay_core::{Currency, Money};
use civicpay_nacha::{
    AchFile, Addenda, Batch, BatchHeader, Entry, EntryPurpose, FileHeader, TransactionCode, notices,
};
use civicpay_vault::BankAccountNumber;
use std::time::Instant;

const BANKS: [&str; 6] = [
    "011000015",
    "021000021",
    "026009593",
    "121000358",
    "091000019",
    "322271627",
];

fn file(entries: u32, purpose: EntryPurpose, returned: bool) -> anyhow::Result<AchFile> {
    let odfi = RoutingNumber::parse("021000021")?;
    let banks = BANKS
        .iter()
        .map(|b| RoutingNumber::parse(b))
        .collect::<Result<Vec<_>, _>>()?;
    let r01 = ReturnCode::parse("R01")?;
    let mut list = Vec::with_capacity(entries as usize);
    for n in 1..=entries {
        let trace = TraceNumber::new(&odfi, n)?;
        let addenda = if returned {
            vec![Addenda::Return {
                code: r01,
                original_trace: trace.clone(),
                date_of_death: None,
                original_receiving_dfi: "01100001".into(),
                information: String::new(),
                trace: trace.clone(),
            }]
        } else {
            Vec::new()
        };
        list.push(Entry {
            transaction_code: TransactionCode::new(AccountKind::Checking, purpose),
            receiving_dfi: banks.get(n as usize % banks.len()).copied().unwrap_or(odfi),
            account: BankAccountNumber::parse(&format!("{:010}", u64::from(n) * 7919))?,
            amount: Money::from_minor(i64::from(n % 50_000) + 100, Currency::Usd),
            individual_id: format!("PAY{n:012}"),
            individual_name: "RESIDENT OF SPRINGFIELD".into(),
            discretionary_data: "S".into(),
            trace,
            addenda,
        });
    }
    Ok(AchFile {
        header: FileHeader {
            immediate_destination: odfi,
            immediate_origin: "1234567890".into(),
            created: jiff::civil::date(2026, 12, 2).at(14, 30, 0, 0),
            id_modifier: 'A',
            destination_name: "JPMORGAN CHASE".into(),
            origin_name: "CITY OF SPRINGFIELD".into(),
            reference_code: String::new(),
        },
        batches: vec![Batch {
            header: BatchHeader {
                company_name: "SPRINGFIELD UTIL".into(),
                discretionary_data: String::new(),
                company_id: "1234567890".into(),
                sec: SecCode::Web,
                entry_description: "UTILITY".into(),
                descriptive_date: String::new(),
                effective_date: jiff::civil::date(2026, 12, 3),
                settlement_date: String::new(),
                originating_dfi: odfi.dfi_identification().to_owned(),
                batch_number: 1,
            },
            entries: list,
        }],
    })
}

fn peak_above(before_kb: u64) -> String {
    let peak = status_kb(std::process::id(), "VmHWM:").unwrap_or(0);
    format!(
        "{:.1} MB peak",
        peak.saturating_sub(before_kb) as f64 / 1024.0
    )
}

pub fn run(entries: u32, returns: u32) -> anyhow::Result<()> {
    let debits = file(entries, EntryPurpose::Debit, false)?;
    let before = status_kb(std::process::id(), "VmRSS:").unwrap_or(0);
    let started = Instant::now();
    let text = debits.write().map_err(|e| anyhow::anyhow!("{e}"))?;
    let write = started.elapsed();
    let memory = peak_above(before);

    // The limit: the same bytes, already laid out, copied into a new buffer.
    let lines: Vec<&str> = text.lines().collect();
    let started = Instant::now();
    let mut copy = String::with_capacity(text.len());
    for l in &lines {
        copy.push_str(l);
        copy.push('\n');
    }
    let bare = started.elapsed();
    std::hint::black_box(&copy);
    let (ours, limit) = (
        rate(u64::from(entries), write),
        rate(u64::from(entries), bare),
    );
    line(
        &format!("NACHA file of {entries} debits (entries/s)"),
        format!(
            "{ours:.0} ({:.0} ms, {memory})",
            write.as_secs_f64() * 1000.0
        ),
        format!("{limit:.0} (copy)"),
        Some(ours / limit),
    );
    drop(copy);
    drop(lines);
    drop(text);
    drop(debits);

    let returned = file(returns, EntryPurpose::ReturnOfDebit, true)?
        .write()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let before = status_kb(std::process::id(), "VmRSS:").unwrap_or(0);
    let started = Instant::now();
    let parsed = AchFile::parse(&returned).map_err(|e| anyhow::anyhow!("{e}"))?;
    let found = notices(&parsed).map_err(|e| anyhow::anyhow!("{e}"))?;
    let read = started.elapsed();
    anyhow::ensure!(found.len() == returns as usize, "every return is read");
    let rate_read = rate(u64::from(returns), read);
    line(
        &format!("returns file of {returns} entries read (entries/s)"),
        format!(
            "{rate_read:.0} ({:.1} ms, {})",
            read.as_secs_f64() * 1000.0,
            peak_above(before)
        ),
        "-".into(),
        None,
    );
    Ok(())
}
