//! The session worker pool: a few OS threads, each running a current-thread
//! tokio runtime with a `LocalSet`, each owning many calls.
//!
//! A VoiceXML [`Session`](vxp_interpreter::vxml::session::Session) holds a boa
//! ECMAScript context, which is not `Send`: a call's session is created on
//! the worker that runs it and never leaves that thread. Calls are handed over
//! as `Send` closures that build their (non-`Send`) future on the worker, and
//! go to the least-loaded worker.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

use tokio::sync::mpsc;

/// A call to run: a `Send` closure that builds the call's future on its worker.
pub type CallJob = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()>>> + Send>;

#[derive(Debug)]
struct Worker {
    jobs: mpsc::UnboundedSender<CallJob>,
    load: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

/// Worker threads running calls.
#[derive(Debug)]
pub struct WorkerPool {
    workers: Vec<Worker>,
}

impl WorkerPool {
    /// Starts `threads` workers (at least one).
    pub fn new(threads: usize) -> std::io::Result<Self> {
        let mut workers = Vec::with_capacity(threads.max(1));
        for index in 0..threads.max(1) {
            let (jobs, mut rx) = mpsc::unbounded_channel::<CallJob>();
            let load = Arc::new(AtomicUsize::new(0));
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let thread_load = load.clone();
            let thread = std::thread::Builder::new()
                .name(format!("vxp-worker-{index}"))
                .spawn(move || {
                    let local = tokio::task::LocalSet::new();
                    local.block_on(&runtime, async move {
                        while let Some(job) = rx.recv().await {
                            let load = thread_load.clone();
                            tokio::task::spawn_local(async move {
                                job().await;
                                load.fetch_sub(1, Ordering::Relaxed);
                            });
                        }
                    });
                })?;
            workers.push(Worker {
                jobs,
                load,
                thread: Some(thread),
            });
        }
        Ok(Self { workers })
    }

    /// Runs `job` on the least-loaded worker; returns the worker's index.
    pub fn spawn(&self, job: CallJob) -> usize {
        let (index, worker) = self
            .workers
            .iter()
            .enumerate()
            .min_by_key(|(_, w)| w.load.load(Ordering::Relaxed))
            .expect("the pool has at least one worker");
        worker.load.fetch_add(1, Ordering::Relaxed);
        if worker.jobs.send(job).is_err() {
            // The worker thread is gone (it panicked): the call is dropped.
            worker.load.fetch_sub(1, Ordering::Relaxed);
            tracing::error!(worker = index, "worker thread has stopped; call dropped");
        }
        index
    }

    /// Calls running on each worker.
    pub fn loads(&self) -> Vec<usize> {
        self.workers
            .iter()
            .map(|w| w.load.load(Ordering::Relaxed))
            .collect()
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        for worker in &mut self.workers {
            // Closing the job channel ends the worker's loop; running calls
            // are dropped with its runtime.
            let (closed, _) = mpsc::unbounded_channel();
            worker.jobs = closed;
            if let Some(thread) = worker.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;
    use std::time::Duration;

    use super::*;

    #[test]
    fn calls_go_to_the_least_loaded_worker_and_may_hold_non_send_state() {
        let pool = WorkerPool::new(2).expect("threads start");
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = tokio::sync::watch::channel(false);
        let mut picked = Vec::new();
        for n in 0..4 {
            let done = done_tx.clone();
            let mut release = release_rx.clone();
            picked.push(pool.spawn(Box::new(move || {
                Box::pin(async move {
                    // Rc is not Send: the future lives on one thread.
                    let state = Rc::new(n);
                    let _ = release.wait_for(|go| *go).await;
                    let _ = done.send((*state, std::thread::current().name().map(str::to_owned)));
                })
            })));
        }
        assert_eq!(picked, vec![0, 1, 0, 1]);
        assert_eq!(pool.loads(), vec![2, 2]);
        release_tx.send(true).expect("receivers alive");
        let mut seen: Vec<_> = (0..4)
            .map(|_| {
                done_rx
                    .recv_timeout(Duration::from_secs(5))
                    .expect("call ends")
            })
            .collect();
        seen.sort();
        assert_eq!(seen[0].1.as_deref(), Some("vxp-worker-0"));
        assert_eq!(seen[1].1.as_deref(), Some("vxp-worker-1"));
    }
}
