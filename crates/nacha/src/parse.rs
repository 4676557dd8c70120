use crate::field::RecordReader;
use crate::model::{
    AchFile, Addenda, Batch, BatchHeader, Correction, Entry, EntryPurpose, FileHeader,
    TransactionCode,
};
use crate::write::{Totals, entry_cents};
use crate::{BLOCKING_FACTOR, NachaError, RECORD_LENGTH};
use civicpay_core::ach::{ChangeCode, ReturnCode, RoutingNumber, SecCode, TraceNumber};
use civicpay_core::{Currency, Money};
use civicpay_vault::BankAccountNumber;
use jiff::civil::Time;

impl AchFile {
    /// Reads a file with its records on lines (LF or CRLF) or run together,
    /// and checks every batch's and the file's counts, hash and totals.
    pub fn parse(text: &str) -> Result<AchFile, NachaError> {
        let records = records(text)?;
        let mut records = records.iter().copied().peekable();
        let header_record = records
            .next()
            .ok_or_else(|| NachaError::File("the file is empty".into()))?;
        let header = file_header(header_record)?;
        let mut batches = Vec::new();
        let mut file_totals = Totals::default();
        loop {
            let record = records.next().ok_or_else(|| {
                NachaError::File("the file ends without its file control record (type 9)".into())
            })?;
            match record.type_code() {
                "5" => {
                    let batch = batch(record, &mut records)?;
                    file_totals.add(&Totals::of_batch(&batch)?)?;
                    batches.push(batch);
                }
                "9" => {
                    file_control(record, batches.len(), &file_totals)?;
                    break;
                }
                other => {
                    return Err(record.error(format!(
                        "expected a batch header (5) or the file control (9), found record type {other:?}"
                    )));
                }
            }
        }
        for padding in records {
            if padding.text.bytes().any(|b| b != b'9') {
                return Err(padding.error("only records of nines may follow the file control"));
            }
        }
        Ok(AchFile { header, batches })
    }
}

fn records(text: &str) -> Result<Vec<RecordReader<'_>>, NachaError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = if !text.contains('\n') && text.len() > RECORD_LENGTH {
        if !text.is_ascii() || !text.len().is_multiple_of(RECORD_LENGTH) {
            return Err(NachaError::File(format!(
                "a file without line breaks must be records of exactly {RECORD_LENGTH} characters"
            )));
        }
        (0..text.len() / RECORD_LENGTH)
            .filter_map(|i| text.get(i * RECORD_LENGTH..(i + 1) * RECORD_LENGTH))
            .collect()
    } else {
        text.lines().collect()
    };
    let mut records = Vec::with_capacity(lines.len());
    let mut trailing_blank = false;
    for (i, line) in lines.into_iter().enumerate() {
        let number = i + 1;
        if line.trim().is_empty() {
            trailing_blank = true;
            continue;
        }
        if trailing_blank {
            return Err(NachaError::Record {
                line: number,
                problem: "a blank line comes before this record".into(),
            });
        }
        if let Some(at) = line.bytes().position(|b| !(b' '..=b'~').contains(&b)) {
            return Err(NachaError::Record {
                line: number,
                problem: format!(
                    "column {} holds a character that is not printable ASCII",
                    at + 1
                ),
            });
        }
        if line.len() != RECORD_LENGTH {
            return Err(NachaError::Record {
                line: number,
                problem: format!(
                    "is {} characters long; every record is {RECORD_LENGTH}",
                    line.len()
                ),
            });
        }
        records.push(RecordReader {
            line: number,
            text: line,
        });
    }
    if !records.len().is_multiple_of(BLOCKING_FACTOR) {
        return Err(NachaError::File(format!(
            "the file has {} records, not a whole number of blocks of {BLOCKING_FACTOR}",
            records.len()
        )));
    }
    Ok(records)
}

fn file_header(r: RecordReader<'_>) -> Result<FileHeader, NachaError> {
    if r.type_code() != "1" {
        return Err(r.error("the file must start with its file header record (type 1)"));
    }
    r.field("priority code", 2, 3).expect("01")?;
    let destination = r.field("immediate destination", 4, 13);
    if !destination.raw().starts_with(' ') {
        return Err(destination.error("must be a blank and a nine-digit routing number"));
    }
    let time = r.field("file creation time", 30, 33);
    let hhmm = time.number()?;
    let created_time = Time::new(
        i8::try_from(hhmm / 100).unwrap_or(-1),
        i8::try_from(hhmm % 100).unwrap_or(-1),
        0,
        0,
    )
    .map_err(|_| time.error("is not a time of day (HHMM)"))?;
    let modifier = r.field("file id modifier", 34, 34);
    let id_modifier = modifier
        .raw()
        .chars()
        .next()
        .filter(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        .ok_or_else(|| modifier.error("must be A to Z or 0 to 9"))?;
    r.field("record size", 35, 37).expect("094")?;
    r.field("blocking factor", 38, 39).expect("10")?;
    r.field("format code", 40, 40).expect("1")?;
    Ok(FileHeader {
        immediate_destination: r
            .field("immediate destination", 5, 13)
            .parse_with(RoutingNumber::parse)?,
        immediate_origin: r
            .field("immediate origin", 14, 23)
            .text()
            .trim_start()
            .to_owned(),
        created: r
            .field("file creation date", 24, 29)
            .date()?
            .to_datetime(created_time),
        id_modifier,
        destination_name: r.field("immediate destination name", 41, 63).text(),
        origin_name: r.field("immediate origin name", 64, 86).text(),
        reference_code: r.field("reference code", 87, 94).text(),
    })
}

fn batch<'a>(
    r: RecordReader<'a>,
    records: &mut std::iter::Peekable<impl Iterator<Item = RecordReader<'a>>>,
) -> Result<Batch, NachaError> {
    let service_class = r.field("service class code", 2, 4);
    let class = service_class.number()?;
    if !matches!(class, 200 | 220 | 225) {
        return Err(service_class.error("must be 200 (mixed), 220 (credits) or 225 (debits)"));
    }
    r.field("originator status code", 79, 79).expect("1")?;
    let header = BatchHeader {
        company_name: r.field("company name", 5, 20).text(),
        discretionary_data: r.field("company discretionary data", 21, 40).text(),
        company_id: r.field("company identification", 41, 50).text(),
        sec: r
            .field("standard entry class", 51, 53)
            .parse_with(SecCode::parse)?,
        entry_description: r.field("company entry description", 54, 63).text(),
        descriptive_date: r.field("company descriptive date", 64, 69).text(),
        effective_date: r.field("effective entry date", 70, 75).date()?,
        settlement_date: r.field("settlement date", 76, 78).text(),
        originating_dfi: dfi_id(r, "originating DFI identification", 80, 87)?,
        batch_number: batch_number(r)?,
    };
    let mut entries: Vec<Entry> = Vec::new();
    loop {
        let record = records
            .next()
            .ok_or_else(|| r.error("this batch has no batch control record (type 8)"))?;
        match record.type_code() {
            "6" => entries.push(entry(record, header.sec)?),
            "7" => {
                let entry = entries
                    .last_mut()
                    .ok_or_else(|| record.error("an addenda record must follow an entry"))?;
                if !entry.addenda.is_empty() && header.sec != SecCode::Ppd {
                    return Err(record.error("this entry already has its one addenda record"));
                }
                entry.addenda.push(addenda(record, entry)?);
            }
            "8" => {
                if entries.is_empty() {
                    return Err(record.error("a batch holds at least one entry"));
                }
                let batch = Batch { header, entries };
                batch_control(record, class, &batch)?;
                return Ok(batch);
            }
            other => {
                return Err(record.error(format!(
                    "expected an entry (6), an addenda (7) or the batch control (8), found record type {other:?}"
                )));
            }
        }
    }
}

fn dfi_id(
    r: RecordReader<'_>,
    name: &'static str,
    from: usize,
    to: usize,
) -> Result<String, NachaError> {
    let field = r.field(name, from, to);
    field.number()?;
    Ok(field.raw().to_owned())
}

fn batch_number(r: RecordReader<'_>) -> Result<u32, NachaError> {
    let field = r.field("batch number", 88, 94);
    u32::try_from(field.number()?).map_err(|_| field.error("is too large"))
}

fn entry(r: RecordReader<'_>, sec: SecCode) -> Result<Entry, NachaError> {
    let code_field = r.field("transaction code", 2, 3);
    let transaction_code = u8::try_from(code_field.number()?)
        .ok()
        .and_then(TransactionCode::from_code)
        .ok_or_else(|| {
            code_field.error("must be a checking (21–28) or savings (31–38) entry code")
        })?;
    let receiving_dfi = r
        .field("receiving DFI identification and check digit", 4, 12)
        .parse_with(RoutingNumber::parse)?;
    let account_field = r.field("DFI account number", 13, 29);
    let account = BankAccountNumber::parse(account_field.raw().trim_end())
        .map_err(|e| account_field.error(e.to_string()))?;
    let amount = Money::from_minor(
        i64::try_from(r.field("amount", 30, 39).number()?).unwrap_or(i64::MAX),
        Currency::Usd,
    );
    let indicator = r.field("addenda record indicator", 79, 79);
    if !matches!(indicator.raw(), "0" | "1") {
        return Err(indicator.error("must be 0 or 1"));
    }
    let entry = Entry {
        transaction_code,
        receiving_dfi,
        account,
        amount,
        individual_id: r.field("individual identification number", 40, 54).text(),
        individual_name: r.field("individual name", 55, 76).text(),
        discretionary_data: r.field("discretionary data", 77, 78).text(),
        trace: r
            .field("trace number", 80, 94)
            .parse_with(TraceNumber::parse)?,
        addenda: Vec::new(),
    };
    if transaction_code.is_prenote() && entry.amount.minor() != 0 {
        return Err(r
            .field("amount", 30, 39)
            .error("a prenote carries no money: must be zero"));
    }
    if sec == SecCode::Cor
        && !matches!(
            transaction_code.purpose,
            EntryPurpose::ReturnOfCredit | EntryPurpose::ReturnOfDebit
        )
    {
        return Err(code_field.error("a notice of change uses 21, 26, 31 or 36"));
    }
    Ok(entry)
}

fn addenda(r: RecordReader<'_>, entry: &Entry) -> Result<Addenda, NachaError> {
    let kind = r.field("addenda type code", 2, 3);
    match kind.raw() {
        "05" => {
            let sequence = r.field("addenda sequence number", 84, 87);
            if sequence.number()? != entry.addenda.len() as u64 + 1 {
                return Err(sequence.error("addenda are numbered 1, 2, 3… within their entry"));
            }
            let entry_sequence = r.field("entry detail sequence number", 88, 94);
            if Some(entry_sequence.raw()) != entry.trace.as_str().get(8..) {
                return Err(entry_sequence
                    .error("must be the last seven digits of its entry's trace number"));
            }
            Ok(Addenda::PaymentRelated {
                information: r.field("payment related information", 4, 83).text(),
            })
        }
        "99" => {
            let death = r.field("date of death", 22, 27);
            Ok(Addenda::Return {
                code: r
                    .field("return reason code", 4, 6)
                    .parse_with(ReturnCode::parse)?,
                original_trace: r
                    .field("original entry trace number", 7, 21)
                    .parse_with(TraceNumber::parse)?,
                date_of_death: if death.raw().trim().is_empty() {
                    None
                } else {
                    Some(death.date()?)
                },
                original_receiving_dfi: dfi_id(r, "original receiving DFI identification", 28, 35)?,
                information: r.field("addenda information", 36, 79).text(),
                trace: r
                    .field("trace number", 80, 94)
                    .parse_with(TraceNumber::parse)?,
            })
        }
        "98" => Ok(Addenda::Change {
            correction: correction(r)?,
            original_trace: r
                .field("original entry trace number", 7, 21)
                .parse_with(TraceNumber::parse)?,
            original_receiving_dfi: dfi_id(r, "original receiving DFI identification", 28, 35)?,
            trace: r
                .field("trace number", 80, 94)
                .parse_with(TraceNumber::parse)?,
        }),
        _ => Err(kind.error("must be 05 (payment related), 98 (notice of change) or 99 (return)")),
    }
}

/// Reads the corrected data (columns 36–64) as its change code lays it out.
fn correction(r: RecordReader<'_>) -> Result<Correction, NachaError> {
    let code = r.field("change code", 4, 6).parse_with(ChangeCode::parse)?;
    let data = r.field("corrected data", 36, 64);
    let part = |from: usize, to: usize| data.raw().get(from..to).unwrap_or_default().trim_end();
    let routing = |text: &str| RoutingNumber::parse(text).map_err(|e| data.error(e.to_string()));
    let account = |text: &str| {
        BankAccountNumber::parse(text)
            .map_err(|e| data.error(format!("the corrected account number: {e}")))
    };
    let kind = |text: &str| {
        text.parse::<u8>()
            .ok()
            .and_then(TransactionCode::from_code)
            .map(|c| c.account)
            .ok_or_else(|| data.error("the corrected transaction code must be 22–38"))
    };
    Ok(match code {
        ChangeCode::AccountNumber => Correction::AccountNumber(account(part(0, 17))?),
        ChangeCode::RoutingNumber => Correction::RoutingNumber(routing(part(0, 9))?),
        ChangeCode::RoutingAndAccount => {
            Correction::RoutingAndAccount(routing(part(0, 9))?, account(part(12, 29))?)
        }
        ChangeCode::Name => Correction::Name(data.text()),
        ChangeCode::AccountKind => Correction::AccountKind(kind(part(0, 2))?),
        ChangeCode::AccountAndKind => {
            Correction::AccountAndKind(account(part(0, 17))?, kind(part(20, 22))?)
        }
        ChangeCode::RoutingAccountAndKind => Correction::RoutingAccountAndKind(
            routing(part(0, 9))?,
            account(part(9, 26))?,
            kind(part(26, 28))?,
        ),
        ChangeCode::IndividualId => Correction::IndividualId(data.text()),
    })
}

fn batch_control(r: RecordReader<'_>, class: u64, batch: &Batch) -> Result<(), NachaError> {
    let totals = Totals::of_batch(batch)?;
    for entry in &batch.entries {
        entry_cents(entry)?;
    }
    if r.field("service class code", 2, 4).number()? != class {
        return Err(r
            .field("service class code", 2, 4)
            .error("differs from the batch header's"));
    }
    let debits = batch.entries.iter().any(|e| e.transaction_code.is_debit());
    let credits = batch.entries.iter().any(|e| !e.transaction_code.is_debit());
    if (class == 220 && debits) || (class == 225 && credits) {
        return Err(r.error(format!(
            "service class {class} does not allow the {} this batch holds",
            if class == 220 { "debits" } else { "credits" }
        )));
    }
    check(r, "entry/addenda count", 5, 10, totals.entries_and_addenda)?;
    check(r, "entry hash", 11, 20, totals.hash)?;
    check(r, "total debit entry dollar amount", 21, 32, totals.debits)?;
    check(
        r,
        "total credit entry dollar amount",
        33,
        44,
        totals.credits,
    )?;
    if r.field("company identification", 45, 54).text() != batch.header.company_id {
        return Err(r
            .field("company identification", 45, 54)
            .error("differs from the batch header's"));
    }
    if r.field("originating DFI identification", 80, 87).raw() != batch.header.originating_dfi {
        return Err(r
            .field("originating DFI identification", 80, 87)
            .error("differs from the batch header's"));
    }
    if batch_number(r)? != batch.header.batch_number {
        return Err(r
            .field("batch number", 88, 94)
            .error("differs from the batch header's"));
    }
    Ok(())
}

fn file_control(r: RecordReader<'_>, batches: usize, totals: &Totals) -> Result<(), NachaError> {
    check(r, "batch count", 2, 7, batches as u64)?;
    check(r, "entry/addenda count", 14, 21, totals.entries_and_addenda)?;
    check(r, "entry hash", 22, 31, totals.hash)?;
    check(
        r,
        "total debit entry dollar amount in file",
        32,
        43,
        totals.debits,
    )?;
    check(
        r,
        "total credit entry dollar amount in file",
        44,
        55,
        totals.credits,
    )?;
    let records = r.line; // the control's own line, counting every record before it
    let blocks = r.field("block count", 8, 13).number()?;
    if blocks != (records as u64).div_ceil(BLOCKING_FACTOR as u64) {
        return Err(r.field("block count", 8, 13).error(format!(
            "says {blocks} but the records up to here fill {}",
            (records as u64).div_ceil(BLOCKING_FACTOR as u64)
        )));
    }
    Ok(())
}

fn check(
    r: RecordReader<'_>,
    name: &'static str,
    from: usize,
    to: usize,
    computed: u64,
) -> Result<(), NachaError> {
    let field = r.field(name, from, to);
    let stated = field.number()?;
    if stated != computed {
        return Err(field.error(format!(
            "says {stated} but the records add up to {computed}"
        )));
    }
    Ok(())
}
