//! Argon2 runs on at most as many threads as the machine has cores. Each
//! run takes about 19 MiB for a moment; without a bound, a flood of
//! password posts would start one per blocking thread (up to 512) and use
//! gigabytes. Requests beyond the bound wait their turn, briefly.

use crate::error::PortalError;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// How long a request waits for a turn before it is told to come back.
const WAIT: Duration = Duration::from_secs(10);

#[derive(Clone, Debug)]
pub struct PasswordWork {
    turns: Arc<Semaphore>,
}

impl PasswordWork {
    pub fn new(at_once: usize) -> PasswordWork {
        PasswordWork {
            turns: Arc::new(Semaphore::new(at_once.max(1))),
        }
    }

    pub fn sized_to_machine() -> PasswordWork {
        PasswordWork::new(std::thread::available_parallelism().map_or(2, usize::from))
    }

    /// Runs `work` (hashing or checking a password) off the async threads,
    /// once a turn is free.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PortalError> {
        let turn = tokio::time::timeout(WAIT, Arc::clone(&self.turns).acquire_owned())
            .await
            .map_err(|_| PortalError::RateLimited { retry_after: WAIT })?
            .map_err(|_| PortalError::Internal("password work closed"))?;
        tokio::task::spawn_blocking(move || {
            let done = work();
            drop(turn);
            done
        })
        .await
        .map_err(|_| PortalError::Internal("password work failed"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_runs_at_once_than_turns() {
        let work = PasswordWork::new(2);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let flood = (0..40).map(|_| {
            let (work, running, most) = (work.clone(), running.clone(), most.clone());
            tokio::spawn(async move {
                work.run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(5));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
                .unwrap();
            })
        });
        for task in flood.collect::<Vec<_>>() {
            task.await.unwrap();
        }
        assert_eq!(
            most.load(Ordering::SeqCst),
            2,
            "the bound is reached and kept"
        );
    }
}
