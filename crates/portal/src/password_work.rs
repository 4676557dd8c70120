//! Argon2 runs on a few threads of its own, one per core. Each run takes
//! about 19 MiB for a moment; on tokio's blocking pool a flood of password
//! posts would start one per blocking thread (up to 512) and use gigabytes,
//! and even one at a time, every new thread's allocator arena keeps its
//! own 19 MiB after the run. A fixed set of threads bounds both: a flood
//! costs at most one Argon2 block per thread (see the closing note of the
//! security issue for the measurement). Requests beyond the queue, or kept
//! waiting too long, are told to come back.

use crate::error::PortalError;
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a request waits for its turn before it is told to come back.
const WAIT: Duration = Duration::from_secs(10);
/// Runs waiting at most; past this a request is told to come back at once.
const QUEUE: usize = 256;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone, Debug)]
pub struct PasswordWork {
    jobs: SyncSender<Job>,
}

impl PasswordWork {
    pub fn new(threads: usize) -> PasswordWork {
        let (jobs, queue) = sync_channel::<Job>(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("password-work-{n}"))
                .spawn(move || {
                    loop {
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password thread");
            }
        }
        PasswordWork { jobs }
    }

    pub fn sized_to_machine() -> PasswordWork {
        PasswordWork::new(std::thread::available_parallelism().map_or(2, usize::from))
    }

    /// Runs `work` (hashing or checking a password) on one of the password
    /// threads, once one is free.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PortalError> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // The request gave up waiting: spend nothing on it.
            if !done.is_closed() {
                let _ = done.send(work());
            }
        });
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(PortalError::RateLimited { retry_after: WAIT });
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(PortalError::Internal("password work stopped"));
            }
        }
        tokio::time::timeout(WAIT, answer)
            .await
            .map_err(|_| PortalError::RateLimited { retry_after: WAIT })?
            .map_err(|_| PortalError::Internal("password work failed"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_runs_at_once_than_threads() {
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

    #[tokio::test]
    async fn past_the_queue_a_request_is_told_to_come_back() {
        let work = PasswordWork::new(1);
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let hold = Arc::new(Mutex::new(hold));
        let blocker = {
            let hold = Arc::clone(&hold);
            let work = work.clone();
            tokio::spawn(async move { work.run(move || hold.lock().unwrap().recv()).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let queued: Vec<_> = (0..QUEUE)
            .map(|_| {
                let work = work.clone();
                tokio::spawn(async move { work.run(|| ()).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(matches!(
            work.run(|| ()).await,
            Err(PortalError::RateLimited { .. })
        ));
        release.send(()).unwrap();
        blocker.await.unwrap().unwrap().unwrap();
        for q in queued {
            q.await.unwrap().unwrap();
        }
    }
}
