//! Rules for resident accounts that need no I/O: which e-mails a bill
//! calls for, and whether autopay may pay it.

use crate::{Bill, BillStatus, Money, ParseError, PartialPayments};
use jiff::civil::Date;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResidentStatus {
    /// Signed up; the e-mail link has not been followed yet.
    Unverified,
    Active,
    /// Erased: no e-mail, no password, no links; payments keep the row.
    Deleted,
}

impl ResidentStatus {
    pub fn code(self) -> &'static str {
        match self {
            ResidentStatus::Unverified => "unverified",
            ResidentStatus::Active => "active",
            ResidentStatus::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Result<ResidentStatus, ParseError> {
        match s {
            "unverified" => Ok(ResidentStatus::Unverified),
            "active" => Ok(ResidentStatus::Active),
            "deleted" => Ok(ResidentStatus::Deleted),
            _ => Err(ParseError::invalid("is not a resident status")),
        }
    }
}

/// Days before the due date a reminder may be asked for.
pub const REMINDER_DAYS: std::ops::RangeInclusive<u32> = 1..=14;

/// An e-mail a linked bill can call for. Each is sent once per bill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillNotice {
    /// A bill that arrived after the account was linked, for a resident
    /// who chose paperless bills.
    NewBill,
    /// The due date is `reminder_days` away or less and the bill is open;
    /// with autopay on, the reminder says when and how much will be paid.
    DueReminder,
}

impl BillNotice {
    pub fn code(self) -> &'static str {
        match self {
            BillNotice::NewBill => "new_bill",
            BillNotice::DueReminder => "due_reminder",
        }
    }
}

/// What one resident should hear about one bill of a linked account
/// today (in the city's time zone). Past-due bills get no reminder: the
/// resident was told before.
pub fn notices_for(
    bill: &Bill,
    today: Date,
    reminder_days: u32,
    paperless: bool,
    linked_at: jiff::Timestamp,
) -> Vec<BillNotice> {
    let open = matches!(bill.status, BillStatus::Open | BillStatus::PartiallyPaid);
    if !open {
        return Vec::new();
    }
    let mut notices = Vec::new();
    if paperless && bill.created_at >= linked_at {
        notices.push(BillNotice::NewBill);
    }
    let days_left = (bill.due_date - today).get_days();
    if (0..=i32::try_from(reminder_days).unwrap_or(0)).contains(&days_left) {
        notices.push(BillNotice::DueReminder);
    }
    notices
}

/// What autopay does with a bill on its due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutopayDecision {
    Pay(Money),
    /// Nothing is owed any more (paid by hand, cancelled).
    NothingToPay,
    /// The balance is more than the resident allowed; they are told to
    /// pay it themselves.
    OverCap {
        balance: Money,
        cap: Money,
    },
}

/// What a resident's standing instruction says to pay of each bill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutopayRule {
    /// The most one payment may take.
    pub cap: Money,
    /// A part to pay of each bill, where its type takes parts; `None`: the
    /// whole balance.
    pub part: Option<Money>,
}

/// The amount autopay takes of a bill: the resident's part when the bill's
/// type still takes that part (a balance below it is paid whole), else the
/// balance; never more than the cap. A part the type no longer allows (the
/// city turned parts off, or raised the minimum) falls back to the
/// balance, which the cap still bounds: the resident never pays more than
/// they allowed.
pub fn autopay_decision(
    bill: &Bill,
    partial: Option<&PartialPayments>,
    rule: AutopayRule,
) -> AutopayDecision {
    if !bill.is_payable() {
        return AutopayDecision::NothingToPay;
    }
    let balance = bill.balance();
    let amount = rule
        .part
        .filter(|part| part.currency() == balance.currency())
        .map(|part| Money::from_minor(part.minor().min(balance.minor()), balance.currency()))
        .and_then(|part| bill.check_amount(partial, part).ok())
        .unwrap_or(balance);
    within_cap(amount, rule.cap)
}

/// A run taken over from a runner that had already asked pay: the amount
/// that runner recorded is asked for again under the same key, whatever the
/// bill says now, and only while the resident's cap still allows it.
pub fn resumed_autopay_decision(recorded: Money, cap: Money) -> AutopayDecision {
    within_cap(recorded, cap)
}

fn within_cap(balance: Money, cap: Money) -> AutopayDecision {
    if balance.currency() != cap.currency() || balance.minor() > cap.minor() {
        AutopayDecision::OverCap { balance, cap }
    } else {
        AutopayDecision::Pay(balance)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        BillId, BillReference, BillTypeId, Currency, ExternalId, TenantId, VerificationValue,
    };

    fn date(s: &str) -> Date {
        s.parse().unwrap_or_default()
    }

    fn bill_due(due: &str, amount: i64, paid: i64) -> Bill {
        let money = |m| Money::from_minor(m, Currency::Usd);
        Bill {
            id: BillId::generate(),
            tenant_id: TenantId::generate(),
            bill_type_id: BillTypeId::generate(),
            external_id: ExternalId::parse("B-1").unwrap_or_else(|_| unreachable!()),
            reference: BillReference::parse("1002-34567").unwrap_or_else(|_| unreachable!()),
            verification: VerificationValue::from_canonical("62704".into()),
            payer_name: "Ana Diaz".into(),
            postal_address: "1 Main St".into(),
            email: None,
            line_items: Vec::new(),
            amount_due: money(amount),
            amount_paid: money(paid),
            due_date: date(due),
            status: BillStatus::from_balance(money(amount), money(paid), false),
            created_at: jiff::Timestamp::now(),
            updated_at: jiff::Timestamp::now(),
        }
    }

    #[test]
    fn reminders_come_in_the_window_before_the_due_date_only() {
        let bill = bill_due("2026-12-10", 5_000, 0);
        let linked = jiff::Timestamp::UNIX_EPOCH;
        let on = |today: &str| notices_for(&bill, date(today), 3, false, linked);
        assert_eq!(on("2026-12-06"), vec![]);
        assert_eq!(on("2026-12-07"), vec![BillNotice::DueReminder]);
        assert_eq!(on("2026-12-10"), vec![BillNotice::DueReminder]);
        assert_eq!(on("2026-12-11"), vec![]);
        let paid = bill_due("2026-12-10", 5_000, 5_000);
        assert_eq!(
            notices_for(&paid, date("2026-12-08"), 3, true, linked),
            vec![]
        );
    }

    #[test]
    fn paperless_residents_hear_of_bills_that_arrive_after_linking() {
        let bill = bill_due("2026-12-30", 5_000, 0);
        let created = bill.created_at;
        let today = date("2026-12-01");
        assert_eq!(
            notices_for(&bill, today, 3, true, created),
            vec![BillNotice::NewBill]
        );
        assert_eq!(notices_for(&bill, today, 3, false, created), vec![]);
        let later = created + jiff::SignedDuration::from_secs(1);
        assert_eq!(notices_for(&bill, today, 3, true, later), vec![]);
    }

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::Usd)
    }

    fn balance_up_to(cap: i64) -> AutopayRule {
        AutopayRule {
            cap: usd(cap),
            part: None,
        }
    }

    #[test]
    fn autopay_pays_the_balance_up_to_the_cap() {
        let bill = bill_due("2026-12-10", 12_000, 4_000);
        assert_eq!(
            autopay_decision(&bill, None, balance_up_to(10_000)),
            AutopayDecision::Pay(usd(8_000))
        );
        let big = bill_due("2026-12-10", 12_000, 0);
        assert!(matches!(
            autopay_decision(&big, None, balance_up_to(10_000)),
            AutopayDecision::OverCap { .. }
        ));
        let paid = bill_due("2026-12-10", 12_000, 12_000);
        assert_eq!(
            autopay_decision(&paid, None, balance_up_to(10_000)),
            AutopayDecision::NothingToPay
        );
    }

    #[test]
    fn autopay_pays_the_residents_part_where_the_type_takes_it() {
        let parts = PartialPayments {
            minimum: usd(2_500),
        };
        let rule = AutopayRule {
            cap: usd(10_000),
            part: Some(usd(5_000)),
        };
        let tax = bill_due("2026-12-10", 40_000, 0);
        assert_eq!(
            autopay_decision(&tax, Some(&parts), rule),
            AutopayDecision::Pay(usd(5_000)),
            "the part, though the balance is over the cap"
        );
        let nearly_paid = bill_due("2026-12-10", 40_000, 37_000);
        assert_eq!(
            autopay_decision(&nearly_paid, Some(&parts), rule),
            AutopayDecision::Pay(usd(3_000)),
            "a balance below the part is paid whole"
        );
        assert!(
            matches!(
                autopay_decision(&tax, None, rule),
                AutopayDecision::OverCap { .. }
            ),
            "parts turned off: the balance, bounded by the cap"
        );
        let small = bill_due("2026-12-10", 8_000, 0);
        let higher = PartialPayments {
            minimum: usd(6_000),
        };
        assert_eq!(
            autopay_decision(&small, Some(&higher), rule),
            AutopayDecision::Pay(usd(8_000)),
            "a part below a raised minimum: the balance, within the cap"
        );
    }
}
