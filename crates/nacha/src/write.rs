use crate::field::{RecordWriter, ascii_text};
use crate::model::{AchFile, Addenda, Batch, Correction, Entry, EntryPurpose, TransactionCode};
use crate::{BLOCKING_FACTOR, NachaError, RECORD_LENGTH};
use civicpay_core::ach::AccountKind;
use zeroize::Zeroizing;

/// Entry hashes and dollar totals keep their rightmost digits only when they
/// overflow their field (the hash) or refuse to (the totals).
const HASH_MODULUS: u64 = 10_000_000_000;
const TOTAL_MAX: u64 = 999_999_999_999;

/// What a batch control and the file control add up.
#[derive(Default)]
pub(crate) struct Totals {
    pub(crate) entries_and_addenda: u64,
    pub(crate) hash: u64,
    pub(crate) debits: u64,
    pub(crate) credits: u64,
}

impl Totals {
    pub(crate) fn of_batch(batch: &Batch) -> Result<Totals, NachaError> {
        let mut totals = Totals::default();
        for entry in &batch.entries {
            totals.add_entry(entry)?;
        }
        Ok(totals)
    }

    fn add_entry(&mut self, entry: &Entry) -> Result<(), NachaError> {
        let cents = entry_cents(entry)?;
        self.entries_and_addenda += 1 + entry.addenda.len() as u64;
        let dfi: u64 = entry
            .receiving_dfi
            .dfi_identification()
            .parse()
            .map_err(|_| NachaError::File("a receiving bank id is not digits".into()))?;
        self.hash = (self.hash + dfi) % HASH_MODULUS;
        let total = if entry.transaction_code.is_debit() {
            &mut self.debits
        } else {
            &mut self.credits
        };
        *total = total
            .checked_add(cents)
            .filter(|t| *t <= TOTAL_MAX)
            .ok_or_else(|| NachaError::File("a batch's total passes $9,999,999,999.99".into()))?;
        Ok(())
    }

    pub(crate) fn add(&mut self, other: &Totals) -> Result<(), NachaError> {
        self.entries_and_addenda += other.entries_and_addenda;
        self.hash = (self.hash + other.hash) % HASH_MODULUS;
        for (mine, theirs) in [
            (&mut self.debits, other.debits),
            (&mut self.credits, other.credits),
        ] {
            *mine = mine
                .checked_add(theirs)
                .filter(|t| *t <= TOTAL_MAX)
                .ok_or_else(|| {
                    NachaError::File("the file's total passes $9,999,999,999.99".into())
                })?;
        }
        Ok(())
    }

    /// 225 debits only, 220 credits only, 200 both.
    pub(crate) fn service_class(batch: &Batch) -> u64 {
        let debits = batch
            .entries
            .iter()
            .filter(|e| e.transaction_code.is_debit())
            .count();
        match (debits, batch.entries.len() - debits) {
            (_, 0) => 225,
            (0, _) => 220,
            _ => 200,
        }
    }
}

pub(crate) fn entry_cents(entry: &Entry) -> Result<u64, NachaError> {
    let cents = u64::try_from(entry.amount.minor())
        .map_err(|_| NachaError::File(format!("entry {} has a negative amount", entry.trace)))?;
    if cents > 9_999_999_999 {
        return Err(NachaError::File(format!(
            "entry {} passes the largest amount an entry carries, $99,999,999.99",
            entry.trace
        )));
    }
    if entry.transaction_code.is_prenote() && cents != 0 {
        return Err(NachaError::File(format!(
            "entry {} is a prenote, which carries no money",
            entry.trace
        )));
    }
    Ok(cents)
}

impl AchFile {
    /// The file's text: records of 94 characters, each ending in a line
    /// break, padded with nines to a whole block of ten. It holds account
    /// numbers, so it is wiped from memory when dropped.
    pub fn write(&self) -> Result<Zeroizing<String>, NachaError> {
        let records = 2 + self
            .batches
            .iter()
            .map(|b| 2 + b.entries.iter().map(|e| 1 + e.addenda.len()).sum::<usize>())
            .sum::<usize>();
        let blocks = records.div_ceil(BLOCKING_FACTOR);
        let mut out = Zeroizing::new(String::with_capacity(
            blocks * BLOCKING_FACTOR * (RECORD_LENGTH + 1),
        ));
        self.write_header(&mut out)?;
        let mut file_totals = Totals::default();
        for batch in &self.batches {
            if batch.entries.is_empty() {
                return Err(NachaError::File(format!(
                    "batch {} has no entries",
                    batch.header.batch_number
                )));
            }
            let totals = Totals::of_batch(batch)?;
            write_batch(batch, &totals, &mut out)?;
            file_totals.add(&totals)?;
        }
        let mut control = RecordWriter::new("file control");
        control
            .exact("9", 1)?
            .number(self.batches.len() as u64, 6)?
            .number(blocks as u64, 6)?
            .number(file_totals.entries_and_addenda, 8)?
            .number(file_totals.hash, 10)?
            .number(file_totals.debits, 12)?
            .number(file_totals.credits, 12)?
            .alpha("", 39);
        control.finish(&mut out)?;
        for _ in records..blocks * BLOCKING_FACTOR {
            out.push_str(&"9".repeat(RECORD_LENGTH));
            out.push('\n');
        }
        Ok(out)
    }

    fn write_header(&self, out: &mut Zeroizing<String>) -> Result<(), NachaError> {
        let h = &self.header;
        let mut id_modifier = [0u8; 4];
        if !h.id_modifier.is_ascii_uppercase() && !h.id_modifier.is_ascii_digit() {
            return Err(NachaError::File(
                "the file id modifier must be A to Z or 0 to 9".into(),
            ));
        }
        let origin: String = ascii_text(&h.immediate_origin).take(10).collect();
        let mut record = RecordWriter::new("file header");
        record
            .exact("101", 3)?
            .exact(" ", 1)?
            .exact(h.immediate_destination.as_str(), 9)?
            .exact(&format!("{origin:>10}"), 10)?
            .date(h.created.date())?
            .number(u64::from(h.created.hour().unsigned_abs()), 2)?
            .number(u64::from(h.created.minute().unsigned_abs()), 2)?
            .exact(h.id_modifier.encode_utf8(&mut id_modifier), 1)?
            .exact("094101", 6)?
            .alpha(&h.destination_name, 23)
            .alpha(&h.origin_name, 23)
            .alpha(&h.reference_code, 8);
        record.finish(out)
    }
}

fn write_batch(
    batch: &Batch,
    totals: &Totals,
    out: &mut Zeroizing<String>,
) -> Result<(), NachaError> {
    let h = &batch.header;
    let service_class = Totals::service_class(batch);
    let mut header = RecordWriter::new("batch header");
    header
        .exact("5", 1)?
        .number(service_class, 3)?
        .alpha(&h.company_name, 16)
        .alpha(&h.discretionary_data, 20)
        .alpha(&h.company_id, 10)
        .exact(h.sec.code(), 3)?
        .alpha(&h.entry_description, 10)
        .alpha(&h.descriptive_date, 6)
        .date(h.effective_date)?
        .alpha(&h.settlement_date, 3)
        .exact("1", 1)?
        .exact(&h.originating_dfi, 8)?
        .number(u64::from(h.batch_number), 7)?;
    header.finish(out)?;
    for entry in &batch.entries {
        write_entry(entry, out)?;
    }
    let mut control = RecordWriter::new("batch control");
    control
        .exact("8", 1)?
        .number(service_class, 3)?
        .number(totals.entries_and_addenda, 6)?
        .number(totals.hash, 10)?
        .number(totals.debits, 12)?
        .number(totals.credits, 12)?
        .alpha(&h.company_id, 10)
        .alpha("", 19)
        .alpha("", 6)
        .exact(&h.originating_dfi, 8)?
        .number(u64::from(h.batch_number), 7)?;
    control.finish(out)
}

fn write_entry(entry: &Entry, out: &mut Zeroizing<String>) -> Result<(), NachaError> {
    let mut record = RecordWriter::new("entry detail");
    record
        .number(6, 1)?
        .number(u64::from(entry.transaction_code.code()), 2)?
        .exact(entry.receiving_dfi.as_str(), 9)?
        .alpha(entry.account.expose_digits(), 17)
        .number(entry_cents(entry)?, 10)?
        .alpha(&entry.individual_id, 15)
        .alpha(&entry.individual_name, 22)
        .alpha(&entry.discretionary_data, 2)
        .exact(if entry.addenda.is_empty() { "0" } else { "1" }, 1)?
        .exact(entry.trace.as_str(), 15)?;
    record.finish(out)?;
    let entry_sequence = entry.trace.as_str().get(8..).unwrap_or_default();
    for (n, addenda) in entry.addenda.iter().enumerate() {
        let mut record = RecordWriter::new("addenda");
        record.exact("7", 1)?;
        match addenda {
            Addenda::PaymentRelated { information } => {
                record
                    .exact("05", 2)?
                    .alpha(information, 80)
                    .number(n as u64 + 1, 4)?
                    .exact(entry_sequence, 7)?;
            }
            Addenda::Return {
                code,
                original_trace,
                date_of_death,
                original_receiving_dfi,
                information,
                trace,
            } => {
                record
                    .exact("99", 2)?
                    .exact(&code.to_string(), 3)?
                    .exact(original_trace.as_str(), 15)?;
                match date_of_death {
                    Some(date) => record.date(*date)?,
                    None => record.alpha("", 6),
                }
                .exact(original_receiving_dfi, 8)?
                .alpha(information, 44)
                .exact(trace.as_str(), 15)?;
            }
            Addenda::Change {
                correction,
                original_trace,
                original_receiving_dfi,
                trace,
            } => {
                record
                    .exact("98", 2)?
                    .exact(correction.code().code(), 3)?
                    .exact(original_trace.as_str(), 15)?
                    .alpha("", 6)
                    .exact(original_receiving_dfi, 8)?
                    .alpha(&corrected_data(correction, entry.transaction_code), 29)
                    .alpha("", 15)
                    .exact(trace.as_str(), 15)?;
            }
        }
        record.finish(out)?;
    }
    Ok(())
}

/// The 29 columns of corrected data, laid out by change code.
fn corrected_data(correction: &Correction, answering: TransactionCode) -> Zeroizing<String> {
    let kind_code = |kind: AccountKind| {
        let purpose = match answering.purpose {
            EntryPurpose::ReturnOfCredit | EntryPurpose::Credit | EntryPurpose::CreditPrenote => {
                EntryPurpose::Credit
            }
            _ => EntryPurpose::Debit,
        };
        TransactionCode::new(kind, purpose).code()
    };
    Zeroizing::new(match correction {
        Correction::AccountNumber(account) => account.expose_digits().to_owned(),
        Correction::RoutingNumber(routing) => routing.as_str().to_owned(),
        Correction::RoutingAndAccount(routing, account) => {
            format!("{routing}   {}", account.expose_digits())
        }
        Correction::Name(name) => name.clone(),
        Correction::AccountKind(kind) => kind_code(*kind).to_string(),
        Correction::AccountAndKind(account, kind) => {
            format!("{:<17}   {}", account.expose_digits(), kind_code(*kind))
        }
        Correction::RoutingAccountAndKind(routing, account, kind) => {
            format!(
                "{routing}{:<17}{}",
                account.expose_digits(),
                kind_code(*kind)
            )
        }
        Correction::IndividualId(id) => id.clone(),
    })
}
