//! Fixed-window rate-limit counters kept in the database, so that every
//! instance behind a load balancer counts against the same limit.

use crate::{Db, StoreError};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    Allowed,
    /// Over the limit; try again after this long.
    Limited {
        retry_after: Duration,
    },
}

impl Db {
    /// Counts one attempt for `bucket` (e.g. `lookup:203.0.113.9`) and says
    /// whether it is within `limit` attempts per `window`.
    ///
    /// The count slides: the previous window's attempts weigh in by the
    /// part of it still inside one `window` of now. A fixed window alone
    /// would let a burst straddling a boundary have twice the limit.
    pub async fn rate_limit_hit(
        &self,
        bucket: &str,
        limit: u32,
        window: Duration,
        now: jiff::Timestamp,
    ) -> Result<RateDecision, StoreError> {
        let window_us = i64::try_from(window.as_micros()).unwrap_or(i64::MAX).max(1);
        let now_us = now.as_microsecond();
        let window_start = now_us - now_us.rem_euclid(window_us);
        let current = self.count_in_window(bucket, window, now).await?;
        let previous: Option<i64> = sqlx::query_scalar(
            "SELECT hits FROM rate_limit_hits WHERE bucket = $1 AND window_start = $2",
        )
        .bind(bucket)
        .bind(window_start.saturating_sub(window_us))
        .fetch_optional(self.writer())
        .await?;
        Ok(sliding_decision(
            i64::from(limit),
            current,
            previous.unwrap_or(0),
            now_us - window_start,
            window_us,
        ))
    }

    /// Counts one more event for `bucket` in the fixed window of length
    /// `window` that holds `now`; returns how many the window has seen.
    pub async fn count_in_window(
        &self,
        bucket: &str,
        window: Duration,
        now: jiff::Timestamp,
    ) -> Result<i64, StoreError> {
        let window_us = i64::try_from(window.as_micros()).unwrap_or(i64::MAX).max(1);
        let now_us = now.as_microsecond();
        let window_start = now_us - now_us.rem_euclid(window_us);
        let hits: i64 = sqlx::query_scalar(
            "INSERT INTO rate_limit_hits (bucket, window_start, hits) VALUES ($1, $2, 1)
             ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limit_hits.hits + 1
             RETURNING hits",
        )
        .bind(bucket)
        .bind(window_start)
        .fetch_one(self.writer())
        .await?;
        Ok(hits)
    }

    /// Drops counters for windows that ended before `before`.
    pub async fn prune_rate_limits(&self, before: jiff::Timestamp) -> Result<u64, StoreError> {
        let result = sqlx::query("DELETE FROM rate_limit_hits WHERE window_start < $1")
            .bind(before.as_microsecond())
            .execute(self.writer())
            .await?;
        Ok(result.rows_affected())
    }
}

/// The decision for `current` attempts in this window and `previous` in the
/// one before, `elapsed_us` into a window of `window_us`.
fn sliding_decision(
    limit: i64,
    current: i64,
    previous: i64,
    elapsed_us: i64,
    window_us: i64,
) -> RateDecision {
    let remaining_us = i128::from(window_us - elapsed_us);
    let weighted = i128::from(previous) * remaining_us;
    if i128::from(current) * i128::from(window_us) + weighted
        <= i128::from(limit) * i128::from(window_us)
    {
        return RateDecision::Allowed;
    }
    // Allowed again once the previous window's weight has fallen enough,
    // or, if this window alone is over, once it has ended.
    let wait_us = if current > limit || previous == 0 {
        remaining_us
    } else {
        let room = i128::from(limit - current);
        let allowed_remaining = room * i128::from(window_us) / i128::from(previous);
        remaining_us - allowed_remaining
    };
    RateDecision::Limited {
        retry_after: Duration::from_micros(u64::try_from(wait_us).unwrap_or(0))
            .max(Duration::from_secs(1)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic)]
    use super::*;

    const MINUTE_US: i64 = 60_000_000;

    #[test]
    fn a_burst_across_a_boundary_stays_limited() {
        // Ten at the end of one window, one just after it: still eleven.
        assert!(matches!(
            sliding_decision(10, 1, 10, 1_000_000, MINUTE_US),
            RateDecision::Limited { .. }
        ));
        assert_eq!(
            sliding_decision(10, 1, 9, 1_000_000, MINUTE_US),
            RateDecision::Allowed
        );
    }

    #[test]
    fn the_previous_window_fades() {
        // Half-way through, ten before count as five.
        assert_eq!(
            sliding_decision(10, 5, 10, MINUTE_US / 2, MINUTE_US),
            RateDecision::Allowed
        );
        let RateDecision::Limited { retry_after } =
            sliding_decision(10, 6, 10, MINUTE_US / 2, MINUTE_US)
        else {
            panic!("eleven by weight is over");
        };
        // Room for four of the previous ten: 40% of the window left.
        assert_eq!(retry_after, Duration::from_secs(6));
    }

    #[test]
    fn over_in_this_window_waits_for_its_end() {
        let RateDecision::Limited { retry_after } =
            sliding_decision(3, 4, 0, 15 * 1_000_000, MINUTE_US)
        else {
            panic!("four of three is over");
        };
        assert_eq!(retry_after, Duration::from_secs(45));
    }
}
