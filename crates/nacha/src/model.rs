//! A NACHA file as values: what the records say, without the counts,
//! hashes, totals and padding the writer derives and the parser checks.

use civicpay_core::Money;
use civicpay_core::ach::{
    AccountKind, ChangeCode, ReturnCode, RoutingNumber, SecCode, TraceNumber,
};
use civicpay_vault::BankAccountNumber;
use jiff::civil::{Date, DateTime};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AchFile {
    pub header: FileHeader,
    pub batches: Vec<Batch>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileHeader {
    /// The bank the file goes to (the city's bank, or its ACH operator).
    pub immediate_destination: RoutingNumber,
    /// Who sends it: ten characters, usually the city's company id.
    pub immediate_origin: String,
    /// To the minute.
    pub created: DateTime,
    /// Tells apart files made the same day: `A`–`Z` or `0`–`9`.
    pub id_modifier: char,
    pub destination_name: String,
    pub origin_name: String,
    pub reference_code: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub header: BatchHeader,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchHeader {
    /// What the resident's statement shows as the payee (16 characters).
    pub company_name: String,
    pub discretionary_data: String,
    /// The city's ACH company id (10 characters).
    pub company_id: String,
    pub sec: SecCode,
    /// What the statement shows as the purpose, like `UTILITY` (10).
    pub entry_description: String,
    pub descriptive_date: String,
    pub effective_date: Date,
    /// Filled in by the ACH operator; blank in a file civicpay writes.
    pub settlement_date: String,
    /// The originating bank's eight-digit DFI identification.
    pub originating_dfi: String,
    pub batch_number: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub transaction_code: TransactionCode,
    /// The receiving bank, whose check digit travels in its own column.
    pub receiving_dfi: RoutingNumber,
    pub account: BankAccountNumber,
    /// US dollars; a prenote's is zero.
    pub amount: Money,
    /// civicpay's reference for the payment (15 characters).
    pub individual_id: String,
    pub individual_name: String,
    /// For WEB debits the payment type: `R` recurring, `S` single.
    pub discretionary_data: String,
    pub trace: TraceNumber,
    pub addenda: Vec<Addenda>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addenda {
    /// Type 05: up to 80 characters the receiver's bank may show.
    PaymentRelated { information: String },
    /// Type 99: the bank sends the entry back.
    Return {
        code: ReturnCode,
        original_trace: TraceNumber,
        date_of_death: Option<Date>,
        original_receiving_dfi: String,
        information: String,
        trace: TraceNumber,
    },
    /// Type 98: the entry posted, but details must change before the next.
    Change {
        correction: Correction,
        original_trace: TraceNumber,
        original_receiving_dfi: String,
        trace: TraceNumber,
    },
}

/// A notice of change's corrected data, read by its change code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Correction {
    AccountNumber(BankAccountNumber),
    RoutingNumber(RoutingNumber),
    RoutingAndAccount(RoutingNumber, BankAccountNumber),
    Name(String),
    AccountKind(AccountKind),
    AccountAndKind(BankAccountNumber, AccountKind),
    RoutingAccountAndKind(RoutingNumber, BankAccountNumber, AccountKind),
    IndividualId(String),
}

impl Correction {
    pub fn code(&self) -> ChangeCode {
        match self {
            Correction::AccountNumber(_) => ChangeCode::AccountNumber,
            Correction::RoutingNumber(_) => ChangeCode::RoutingNumber,
            Correction::RoutingAndAccount(..) => ChangeCode::RoutingAndAccount,
            Correction::Name(_) => ChangeCode::Name,
            Correction::AccountKind(_) => ChangeCode::AccountKind,
            Correction::AccountAndKind(..) => ChangeCode::AccountAndKind,
            Correction::RoutingAccountAndKind(..) => ChangeCode::RoutingAccountAndKind,
            Correction::IndividualId(_) => ChangeCode::IndividualId,
        }
    }
}

/// What an entry does, which with the account kind makes its two-digit
/// transaction code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryPurpose {
    /// A return or notice of change answering a credit (x1).
    ReturnOfCredit,
    /// Money to the account: an e-check refund (x2).
    Credit,
    /// A zero-dollar credit that checks the account (x3).
    CreditPrenote,
    /// A return or notice of change answering a debit (x6).
    ReturnOfDebit,
    /// Money from the account: a payment (x7).
    Debit,
    /// A zero-dollar debit that checks the account before the first (x8).
    DebitPrenote,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransactionCode {
    pub account: AccountKind,
    pub purpose: EntryPurpose,
}

impl TransactionCode {
    pub fn new(account: AccountKind, purpose: EntryPurpose) -> Self {
        TransactionCode { account, purpose }
    }

    pub fn code(self) -> u8 {
        let tens = match self.account {
            AccountKind::Checking => 20,
            AccountKind::Savings => 30,
        };
        tens + match self.purpose {
            EntryPurpose::ReturnOfCredit => 1,
            EntryPurpose::Credit => 2,
            EntryPurpose::CreditPrenote => 3,
            EntryPurpose::ReturnOfDebit => 6,
            EntryPurpose::Debit => 7,
            EntryPurpose::DebitPrenote => 8,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        let account = match code / 10 {
            2 => AccountKind::Checking,
            3 => AccountKind::Savings,
            _ => return None,
        };
        let purpose = match code % 10 {
            1 => EntryPurpose::ReturnOfCredit,
            2 => EntryPurpose::Credit,
            3 => EntryPurpose::CreditPrenote,
            6 => EntryPurpose::ReturnOfDebit,
            7 => EntryPurpose::Debit,
            8 => EntryPurpose::DebitPrenote,
            _ => return None,
        };
        Some(TransactionCode { account, purpose })
    }

    /// Counted in the debit total (the NACHA rule: a last digit of 5 to 9).
    pub fn is_debit(self) -> bool {
        self.code() % 10 >= 5
    }

    pub fn is_prenote(self) -> bool {
        matches!(
            self.purpose,
            EntryPurpose::CreditPrenote | EntryPurpose::DebitPrenote
        )
    }
}
