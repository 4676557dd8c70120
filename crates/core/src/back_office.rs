//! What a city's back office is told when a payment is credited to one of
//! its bills: a notice it can post to its own ledger without asking us
//! anything. Amounts are decimal strings in the city's currency; the notice
//! names the bill and the payment, never the payer's card or address.

use crate::{Bill, BillStatus, BillType, Money};
use serde::Serialize;

/// The notice's JSON, as the back office receives it. `notice_id` is the
/// same on every delivery attempt: a receiver that sees it twice ignores
/// the second.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentCredited {
    pub event: &'static str,
    pub notice_id: String,
    pub city: String,
    pub bill: NoticeBill,
    pub payment: NoticePayment,
    /// RFC 3339, UTC.
    pub credited_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticeBill {
    /// The city's own id for the bill, as it was imported.
    pub external_id: String,
    pub reference: String,
    pub bill_type: String,
    pub gl_code: String,
    pub amount_due: String,
    pub amount_paid: String,
    pub balance: String,
    /// `paid` or `partially_paid` after this payment.
    pub status: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticePayment {
    /// Pay's id for the payment, as the console and the CSV exports show it.
    pub id: String,
    pub currency: &'static str,
    /// What was credited to the bill.
    pub amount: String,
    /// The convenience fee, posted to the fee GL code, not to the bill.
    pub fee: String,
    pub fee_gl_code: Option<String>,
}

impl PaymentCredited {
    pub const EVENT: &'static str = "payment.credited";

    /// The notice for `bill` as it stands after being credited `amount`
    /// (the card charged `amount + fee`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        notice_id: String,
        city: &str,
        bill: &Bill,
        bill_type: &BillType,
        payment_id: &str,
        amount: Money,
        fee: Money,
        fee_gl_code: Option<&str>,
        credited_at: jiff::Timestamp,
    ) -> Self {
        let status = if bill.status == BillStatus::Paid {
            "paid"
        } else {
            "partially_paid"
        };
        Self {
            event: Self::EVENT,
            notice_id,
            city: city.to_owned(),
            bill: NoticeBill {
                external_id: bill.external_id.to_string(),
                reference: bill.reference.to_string(),
                bill_type: bill_type.slug.to_string(),
                gl_code: bill_type.gl_code.as_str().to_owned(),
                amount_due: bill.amount_due.to_decimal_string(),
                amount_paid: bill.amount_paid.to_decimal_string(),
                balance: bill.balance().to_decimal_string(),
                status,
            },
            payment: NoticePayment {
                id: payment_id.to_owned(),
                currency: amount.currency().code(),
                amount: amount.to_decimal_string(),
                fee: fee.to_decimal_string(),
                fee_gl_code: (fee.minor() > 0)
                    .then(|| fee_gl_code.map(str::to_owned))
                    .flatten(),
            },
            credited_at: credited_at.to_string(),
        }
    }
}

/// How long after its `attempts`-th failed attempt a notice is tried
/// again: 10 s doubling, at most an hour, so a back office away for a day
/// gets every notice within the hour it returns.
pub fn retry_after(attempts: u32) -> jiff::SignedDuration {
    let seconds = 10_i64.saturating_mul(1 << attempts.min(13)).min(3_600);
    jiff::SignedDuration::from_secs(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_an_hour() {
        let secs = |n| retry_after(n).as_secs();
        assert_eq!(secs(0), 10);
        assert_eq!(secs(1), 20);
        assert_eq!(secs(5), 320);
        assert_eq!(secs(9), 3_600);
        assert_eq!(secs(u32::MAX), 3_600);
    }
}
