//! What a returns file tells the city: which entries came back and why,
//! and which accounts' details changed.

use crate::NachaError;
use crate::model::{AchFile, Addenda, Correction, EntryPurpose};
use civicpay_core::Money;
use civicpay_core::ach::{ReturnCode, TraceNumber};
use jiff::civil::Date;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BankNotice {
    Returned {
        /// The trace number civicpay gave the entry, which finds its payment.
        original_trace: TraceNumber,
        code: ReturnCode,
        amount: Money,
        /// The day the return settles.
        effective_date: Date,
    },
    Changed {
        original_trace: TraceNumber,
        correction: Correction,
    },
}

impl BankNotice {
    pub fn original_trace(&self) -> &TraceNumber {
        match self {
            BankNotice::Returned { original_trace, .. }
            | BankNotice::Changed { original_trace, .. } => original_trace,
        }
    }
}

/// Every return and notice of change in a file the bank sent, in file
/// order. An entry that is neither is refused: a returns file holds nothing
/// else, and a file of new debits given by mistake must not pass for one.
pub fn notices(file: &AchFile) -> Result<Vec<BankNotice>, NachaError> {
    let mut notices = Vec::new();
    for batch in &file.batches {
        for entry in &batch.entries {
            if !matches!(
                entry.transaction_code.purpose,
                EntryPurpose::ReturnOfCredit | EntryPurpose::ReturnOfDebit
            ) {
                return Err(NachaError::File(format!(
                    "entry {} in batch {} is a new entry (code {}), not a return or a notice of change: is this the right file?",
                    entry.trace,
                    batch.header.batch_number,
                    entry.transaction_code.code()
                )));
            }
            let notice = match entry.addenda.as_slice() {
                [
                    Addenda::Return {
                        code,
                        original_trace,
                        ..
                    },
                ] => BankNotice::Returned {
                    original_trace: original_trace.clone(),
                    code: *code,
                    amount: entry.amount,
                    effective_date: batch.header.effective_date,
                },
                [
                    Addenda::Change {
                        correction,
                        original_trace,
                        ..
                    },
                ] => BankNotice::Changed {
                    original_trace: original_trace.clone(),
                    correction: correction.clone(),
                },
                _ => {
                    return Err(NachaError::File(format!(
                        "entry {} in batch {} has no return (99) or change (98) addenda",
                        entry.trace, batch.header.batch_number
                    )));
                }
            };
            notices.push(notice);
        }
    }
    Ok(notices)
}
