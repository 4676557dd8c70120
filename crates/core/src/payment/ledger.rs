//! Double-entry postings in integer minor units. A journal entry that does
//! not balance cannot be built, and splitting a payment across a bill's GL
//! codes never creates or loses a cent.

use crate::{GlCode, Money};
use serde::Serialize;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "gl_code", rename_all = "snake_case")]
pub enum LedgerAccount {
    /// Money the acquirer owes the city for captured payments.
    AcquirerClearing,
    /// Revenue of one general-ledger / fund code.
    Revenue(GlCode),
}

/// One line: a debit when positive, a credit when negative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Posting {
    pub account: LedgerAccount,
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalEntry {
    postings: Vec<Posting>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LedgerError {
    #[error("a journal entry needs at least two postings")]
    TooFewPostings,
    #[error("postings mix currencies")]
    MixedCurrencies,
    #[error("postings do not balance: they sum to {0}")]
    Unbalanced(i64),
    #[error("nothing to allocate against")]
    NoWeights,
    #[error("amount out of range")]
    Overflow,
}

impl JournalEntry {
    pub fn new(postings: Vec<Posting>) -> Result<JournalEntry, LedgerError> {
        let Some(first) = postings.first() else {
            return Err(LedgerError::TooFewPostings);
        };
        if postings.len() < 2 {
            return Err(LedgerError::TooFewPostings);
        }
        let currency = first.amount.currency();
        let mut sum: i64 = 0;
        for p in &postings {
            if p.amount.currency() != currency {
                return Err(LedgerError::MixedCurrencies);
            }
            sum = sum
                .checked_add(p.amount.minor())
                .ok_or(LedgerError::Overflow)?;
        }
        if sum != 0 {
            return Err(LedgerError::Unbalanced(sum));
        }
        Ok(JournalEntry { postings })
    }

    /// A capture: the acquirer owes the city the amount, credited to revenue:
    /// the convenience fee (if any, and never more than the amount) to the
    /// fee's GL code as its own line, the rest split across the bill's GL
    /// codes in proportion to its line items.
    pub fn capture(
        amount: Money,
        fee: Option<(&GlCode, Money)>,
        line_items: &[(GlCode, Money)],
    ) -> Result<JournalEntry, LedgerError> {
        let mut postings = vec![Posting {
            account: LedgerAccount::AcquirerClearing,
            amount,
        }];
        let mut rest = amount;
        if let Some((gl, fee)) = fee {
            let part = fee.minor().clamp(0, amount.minor().max(0));
            if part > 0 {
                postings.push(Posting {
                    account: LedgerAccount::Revenue(gl.clone()),
                    amount: Money::from_minor(-part, amount.currency()),
                });
                rest = Money::from_minor(amount.minor() - part, amount.currency());
            }
        }
        let parts = if rest.minor() > 0 || postings.len() == 1 {
            allocate(rest, line_items)?
        } else {
            Vec::new()
        };
        for (gl, part) in parts {
            postings.push(Posting {
                account: LedgerAccount::Revenue(gl),
                amount: Money::from_minor(-part.minor(), part.currency()),
            });
        }
        JournalEntry::new(postings)
    }

    /// A refund reverses a capture's split for the refunded amount; `fee`
    /// is the part of it that gives the fee back.
    pub fn refund(
        amount: Money,
        fee: Option<(&GlCode, Money)>,
        line_items: &[(GlCode, Money)],
    ) -> Result<JournalEntry, LedgerError> {
        let reversed = JournalEntry::capture(amount, fee, line_items)?;
        JournalEntry::new(
            reversed
                .postings
                .into_iter()
                .map(|p| Posting {
                    amount: Money::from_minor(-p.amount.minor(), p.amount.currency()),
                    account: p.account,
                })
                .collect(),
        )
    }

    pub fn postings(&self) -> &[Posting] {
        &self.postings
    }
}

/// Splits `amount` across `weights` in proportion, by the largest-remainder
/// method: every part is a whole number of minor units and the parts add up
/// to `amount` exactly. Zero-weight parts are dropped.
pub fn allocate(
    amount: Money,
    weights: &[(GlCode, Money)],
) -> Result<Vec<(GlCode, Money)>, LedgerError> {
    let total: i128 = weights
        .iter()
        .map(|(_, w)| i128::from(w.minor().max(0)))
        .sum();
    if total == 0 {
        return Err(LedgerError::NoWeights);
    }
    if weights
        .iter()
        .any(|(_, w)| w.currency() != amount.currency())
    {
        return Err(LedgerError::MixedCurrencies);
    }
    let target = i128::from(amount.minor());
    let mut parts: Vec<(usize, i128, i128)> = weights
        .iter()
        .enumerate()
        .map(|(i, (_, w))| {
            let exact = target * i128::from(w.minor().max(0));
            (i, exact.div_euclid(total), exact.rem_euclid(total))
        })
        .collect();
    let assigned: i128 = parts.iter().map(|(_, q, _)| q).sum();
    let mut leftover = target - assigned;
    // Hand the remaining units to the largest remainders, earliest first.
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|a, b| {
        let ra = parts.get(*a).map_or(0, |p| p.2);
        let rb = parts.get(*b).map_or(0, |p| p.2);
        rb.cmp(&ra).then(a.cmp(b))
    });
    for i in order {
        if leftover <= 0 {
            break;
        }
        if let Some(part) = parts.get_mut(i)
            && part.2 > 0
        {
            part.1 += 1;
            leftover -= 1;
        }
    }
    let mut out = Vec::with_capacity(parts.len());
    for (i, quotient, _) in parts {
        if quotient == 0 {
            continue;
        }
        let minor = i64::try_from(quotient).map_err(|_| LedgerError::Overflow)?;
        if let Some((gl, _)) = weights.get(i) {
            out.push((gl.clone(), Money::from_minor(minor, amount.currency())));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::Currency;
    use proptest::prelude::*;

    fn usd(m: i64) -> Money {
        Money::from_minor(m, Currency::Usd)
    }

    fn gl(s: &str) -> GlCode {
        GlCode::parse(s).unwrap()
    }

    #[test]
    fn an_unbalanced_entry_cannot_be_built() {
        let entry = JournalEntry::new(vec![
            Posting {
                account: LedgerAccount::AcquirerClearing,
                amount: usd(100),
            },
            Posting {
                account: LedgerAccount::Revenue(gl("A")),
                amount: usd(-99),
            },
        ]);
        assert_eq!(entry, Err(LedgerError::Unbalanced(1)));
        assert_eq!(JournalEntry::new(vec![]), Err(LedgerError::TooFewPostings));
    }

    #[test]
    fn a_partial_payment_is_split_without_losing_a_cent() {
        let items = [
            (gl("WATER"), usd(6_000)),
            (gl("SEWER"), usd(3_000)),
            (gl("FEE"), usd(1_000)),
        ];
        let parts = allocate(usd(3_333), &items).unwrap();
        let amounts: Vec<i64> = parts.iter().map(|(_, m)| m.minor()).collect();
        assert_eq!(amounts, vec![2_000, 1_000, 333]);
        let capture = JournalEntry::capture(usd(3_333), None, &items).unwrap();
        assert_eq!(capture.postings().len(), 4);
        let refund = JournalEntry::refund(usd(3_333), None, &items).unwrap();
        assert_eq!(refund.postings()[0].amount, usd(-3_333));
    }

    proptest! {
        #[test]
        fn allocation_always_adds_up(amount in 0i64..100_000_000, weights in proptest::collection::vec(0i64..10_000_000, 1..8)) {
            prop_assume!(weights.iter().any(|w| *w > 0));
            let items: Vec<(GlCode, Money)> = weights.iter().enumerate().map(|(i, w)| (gl(&format!("GL{i}")), usd(*w))).collect();
            let parts = allocate(usd(amount), &items).unwrap();
            let sum: i64 = parts.iter().map(|(_, m)| m.minor()).sum();
            prop_assert_eq!(sum, amount);
            prop_assert!(parts.iter().all(|(_, m)| m.minor() > 0));
            let total: i64 = weights.iter().sum();
            if amount <= total {
                for (gl_code, part) in &parts {
                    let weight = items.iter().find(|(g, _)| g == gl_code).map(|(_, w)| w.minor()).unwrap();
                    prop_assert!(part.minor() <= weight, "never more than a line's own amount when paying at most the total");
                }
            }
            let entry = JournalEntry::capture(usd(amount.max(1)), None, &items).unwrap();
            let balance: i64 = entry.postings().iter().map(|p| p.amount.minor()).sum();
            prop_assert_eq!(balance, 0);
        }

        /// The fee is its own line of exactly the fee, and the bill's lines
        /// and the fee's add up to what was captured.
        #[test]
        fn payment_and_fee_postings_sum_to_the_capture(
            bill in 1i64..100_000_000,
            fee in 0i64..1_000_000,
            weights in proptest::collection::vec(1i64..10_000_000, 1..5),
        ) {
            let items: Vec<(GlCode, Money)> = weights.iter().enumerate().map(|(i, w)| (gl(&format!("GL{i}")), usd(*w))).collect();
            let fee_gl = gl("FEES");
            let captured = usd(bill + fee);
            let entry = JournalEntry::capture(captured, Some((&fee_gl, usd(fee))), &items).unwrap();
            let credited: i64 = entry.postings().iter().filter(|p| matches!(p.account, LedgerAccount::Revenue(_))).map(|p| -p.amount.minor()).sum();
            prop_assert_eq!(credited, captured.minor());
            let to_fee: i64 = entry.postings().iter().filter(|p| p.account == LedgerAccount::Revenue(fee_gl.clone())).map(|p| -p.amount.minor()).sum();
            prop_assert_eq!(to_fee, fee);
        }
    }
}
