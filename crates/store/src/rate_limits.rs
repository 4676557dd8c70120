//! Fixed-window rate-limit counters kept in the database, so that every
//! instance behind a load balancer counts against the same limit.

use crate::{Store, StoreError};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    Allowed,
    /// Over the limit; try again after this long.
    Limited {
        retry_after: Duration,
    },
}

impl Store {
    /// Counts one attempt for `bucket` (e.g. `lookup:203.0.113.9`) and says
    /// whether it is within `limit` attempts per `window`.
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
        let hits = self.count_in_window(bucket, window, now).await?;
        if hits <= i64::from(limit) {
            return Ok(RateDecision::Allowed);
        }
        let remaining_us = u64::try_from(window_start + window_us - now_us).unwrap_or(0);
        Ok(RateDecision::Limited {
            retry_after: Duration::from_micros(remaining_us).max(Duration::from_secs(1)),
        })
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
