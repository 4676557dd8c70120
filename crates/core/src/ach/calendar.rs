//! The ACH calendar: entries settle on banking days, which are weekdays the
//! Federal Reserve is open.

use jiff::civil::{Date, Weekday};

/// Banking days after an entry's settlement before it is treated as
/// settled: the window in which a bank returns an entry for funds or a bad
/// account (R01–R04, R09). Unauthorised returns may come later, and are
/// taken whenever they come.
pub const RETURN_WINDOW_DAYS: i32 = 2;

/// Banking days a prenote must stand unreturned before the account's first
/// live debit (Nacha: three banking days after the prenote's settlement).
pub const PRENOTE_WAIT_DAYS: i32 = 3;

/// When the city's bank settles what it sends: the same banking day (the
/// file goes before the bank's same-day cut-off) or the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EffectiveDateRule {
    SameDay,
    NextDay,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct BankingCalendar;

impl BankingCalendar {
    /// A weekday that is not a Federal Reserve holiday. A holiday on a
    /// Sunday closes the Monday after; one on a Saturday closes nothing (the
    /// Federal Reserve stays open on the Friday before).
    pub fn is_banking_day(&self, date: Date) -> bool {
        !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) && !is_closed_weekday(date)
    }

    /// The first banking day on or after `date`.
    pub fn on_or_after(&self, date: Date) -> Date {
        let mut day = date;
        while !self.is_banking_day(day) {
            day = next_day(day);
        }
        day
    }

    /// `n` banking days after `date` (`n` = 0 gives `date` itself when it is a
    /// banking day, otherwise the next one).
    pub fn add_banking_days(&self, date: Date, n: i32) -> Date {
        let mut day = self.on_or_after(date);
        for _ in 0..n.max(0) {
            day = self.on_or_after(next_day(day));
        }
        day
    }

    /// The effective entry date for a file made on `today`: with same-day
    /// settlement, today if it is a banking day and the file goes before
    /// the cut-off; otherwise the next banking day after the day it goes.
    pub fn effective_date(
        &self,
        rule: EffectiveDateRule,
        today: Date,
        before_cutoff: bool,
    ) -> Date {
        let sending_day = if before_cutoff && self.is_banking_day(today) {
            today
        } else {
            self.on_or_after(next_day(today))
        };
        match rule {
            EffectiveDateRule::SameDay => sending_day,
            EffectiveDateRule::NextDay => self.add_banking_days(sending_day, 1),
        }
    }
}

fn next_day(date: Date) -> Date {
    date.tomorrow().unwrap_or(date)
}

/// A weekday on which the Federal Reserve observes a holiday.
fn is_closed_weekday(date: Date) -> bool {
    let year = date.year();
    let fixed = |month: i8, day: i8| {
        Date::new(year, month, day).is_ok_and(|holiday| {
            holiday == date || (holiday.weekday() == Weekday::Sunday && next_day(holiday) == date)
        })
    };
    let nth = |month: i8, n: i8, weekday: Weekday| {
        Date::new(year, month, 1)
            .and_then(|first| first.nth_weekday_of_month(n, weekday))
            .is_ok_and(|holiday| holiday == date)
    };
    fixed(1, 1)
        || nth(1, 3, Weekday::Monday) // Birthday of Martin Luther King, Jr.
        || nth(2, 3, Weekday::Monday) // Washington's Birthday
        || nth(5, -1, Weekday::Monday) // Memorial Day
        || (year >= 2022 && fixed(6, 19)) // Juneteenth
        || fixed(7, 4)
        || nth(9, 1, Weekday::Monday) // Labor Day
        || nth(10, 2, Weekday::Monday) // Columbus Day
        || fixed(11, 11) // Veterans Day
        || nth(11, 4, Weekday::Thursday) // Thanksgiving
        || fixed(12, 25)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    /// The Federal Reserve's published closures for 2026 and 2027, with the
    /// Sunday holidays moved to Monday.
    #[test]
    fn the_published_federal_reserve_closures_are_not_banking_days() {
        let closures = [
            date(2026, 1, 1),
            date(2026, 1, 19),
            date(2026, 2, 16),
            date(2026, 5, 25),
            date(2026, 6, 19),
            date(2026, 9, 7),
            date(2026, 10, 12),
            date(2026, 11, 11),
            date(2026, 11, 26),
            date(2026, 12, 25),
            date(2027, 1, 1),
        ];
        let cal = BankingCalendar;
        for day in closures {
            assert!(!cal.is_banking_day(day), "{day} should be closed");
        }
        // 4 July 2026 and Juneteenth 2027 fall on Saturdays: the Fridays
        // before stay open, and so do the Mondays after.
        assert!(cal.is_banking_day(date(2026, 7, 3)));
        assert!(cal.is_banking_day(date(2026, 7, 6)));
        assert!(cal.is_banking_day(date(2027, 6, 18)));
        assert!(cal.is_banking_day(date(2027, 6, 21)));
        // Christmas 2022 was a Sunday: Monday the 26th was closed.
        assert!(!cal.is_banking_day(date(2022, 12, 26)));
        assert!(cal.is_banking_day(date(2026, 12, 2)));
    }

    #[test]
    fn effective_dates_skip_weekends_and_holidays() {
        let cal = BankingCalendar;
        // Wednesday before Thanksgiving 2026, before the cut-off.
        let wednesday = date(2026, 11, 25);
        assert_eq!(
            cal.effective_date(EffectiveDateRule::SameDay, wednesday, true),
            wednesday
        );
        // Next-day skips Thanksgiving to Friday.
        assert_eq!(
            cal.effective_date(EffectiveDateRule::NextDay, wednesday, true),
            date(2026, 11, 27)
        );
        // After the cut-off on Friday, same-day goes to Monday; next-day to Tuesday.
        let friday = date(2026, 11, 27);
        assert_eq!(
            cal.effective_date(EffectiveDateRule::SameDay, friday, false),
            date(2026, 11, 30)
        );
        assert_eq!(
            cal.effective_date(EffectiveDateRule::NextDay, friday, false),
            date(2026, 12, 1)
        );
        // Made on Christmas Eve 2026 (Thursday) for next day: Christmas is
        // closed, then a weekend, so Monday the 28th.
        assert_eq!(
            cal.effective_date(EffectiveDateRule::NextDay, date(2026, 12, 24), true),
            date(2026, 12, 28)
        );
    }

    #[test]
    fn return_windows_count_banking_days() {
        let cal = BankingCalendar;
        // Settled Wednesday 25 Nov 2026: two banking days are Friday the 27th
        // and Monday the 30th.
        assert_eq!(
            cal.add_banking_days(date(2026, 11, 25), RETURN_WINDOW_DAYS),
            date(2026, 11, 30)
        );
        assert_eq!(
            cal.add_banking_days(date(2026, 11, 28), 0),
            date(2026, 11, 30)
        );
    }
}
