use std::time::Duration;

/// Failed sign-ins allowed before the account is locked.
pub const LOCKOUT_THRESHOLD: u32 = 5;

/// How long an account stays locked after `failures` consecutive failures:
/// nothing below the threshold, then one minute, doubling with each further
/// failure, never more than an hour, so a guesser gets a few dozen tries a
/// day while the real person is delayed, not shut out.
pub fn lockout_after(failures: u32) -> Option<Duration> {
    let over = failures.checked_sub(LOCKOUT_THRESHOLD)?;
    let minutes = 1u64.checked_shl(over.min(6)).unwrap_or(64).min(60);
    Some(Duration::from_secs(minutes * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_and_is_capped() {
        assert_eq!(lockout_after(4), None);
        assert_eq!(lockout_after(5), Some(Duration::from_secs(60)));
        assert_eq!(lockout_after(6), Some(Duration::from_secs(120)));
        assert_eq!(lockout_after(8), Some(Duration::from_secs(480)));
        assert_eq!(lockout_after(11), Some(Duration::from_secs(3600)));
        assert_eq!(lockout_after(u32::MAX), Some(Duration::from_secs(3600)));
    }
}
