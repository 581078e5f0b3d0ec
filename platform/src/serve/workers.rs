//! The session worker pool: a few OS threads, each running a current-thread
//! tokio runtime with a `LocalSet`, each owning many calls.
//!
//! A VoiceXML [`Session`](vxp_interpreter::vxml::session::Session) holds a boa
//! ECMAScript context, which is not `Send`: a call's session is created on
//! the worker that runs it and never leaves that thread. Calls are handed over
//! as `Send` closures that build their (non-`Send`) future on the worker, and
//! go to the least-loaded worker.
//!
//! Each worker holds at most `calls_per_worker` calls; when every worker is
//! full the pool starts another. boa's collector is per thread and walks
//! every context on it, so this bound is what bounds a collection's pause
//! (about 1 ms for 10 contexts, 4 ms for 25; see docs/PERFORMANCE.md). A
//! worker also collects when it goes idle after its calls have taken steps
//! ([`note_step`]), so collections happen between dialog steps rather than
//! inside one.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
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

thread_local! {
    /// Dialog steps taken on this worker since its last collection.
    static STEPS: Cell<usize> = const { Cell::new(0) };
}

/// Records that a call on this thread ran its session until it waits again.
/// The worker collects its ECMAScript heap when it next goes idle.
pub fn note_step() {
    STEPS.with(|s| s.set(s.get().saturating_add(1)));
}

/// Worker threads running calls.
#[derive(Debug)]
pub struct WorkerPool {
    workers: Mutex<Vec<Worker>>,
    calls_per_worker: usize,
}

impl WorkerPool {
    /// Starts `threads` workers (at least one); more are started when every
    /// worker holds `calls_per_worker` calls (at least one).
    pub fn new(threads: usize, calls_per_worker: usize) -> std::io::Result<Self> {
        let mut workers = Vec::with_capacity(threads.max(1));
        for index in 0..threads.max(1) {
            workers.push(start_worker(index)?);
        }
        Ok(Self {
            workers: Mutex::new(workers),
            calls_per_worker: calls_per_worker.max(1),
        })
    }

    /// Runs `job` on the least-loaded worker, starting a new worker when all
    /// are full; returns the worker's index.
    pub fn spawn(&self, job: CallJob) -> usize {
        let mut workers = self.workers.lock().unwrap_or_else(|e| e.into_inner());
        let least = workers
            .iter()
            .enumerate()
            .min_by_key(|(_, w)| w.load.load(Ordering::Relaxed))
            .map(|(i, w)| (i, w.load.load(Ordering::Relaxed)));
        let index = match least {
            Some((i, load)) if load < self.calls_per_worker => i,
            _ => match start_worker(workers.len()) {
                Ok(worker) => {
                    workers.push(worker);
                    tracing::debug!(workers = workers.len(), "worker started");
                    workers.len() - 1
                }
                Err(err) => {
                    // No new thread: the least-loaded worker takes the call
                    // over its bound rather than losing it.
                    tracing::warn!(%err, "cannot start a worker thread");
                    least.map_or(0, |(i, _)| i)
                }
            },
        };
        let Some(worker) = workers.get(index) else {
            tracing::error!("no worker thread; call dropped");
            return index;
        };
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
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|w| w.load.load(Ordering::Relaxed))
            .collect()
    }
}

/// Starts worker `index`: a thread with a current-thread runtime that runs
/// the calls it is sent and collects its heap when it parks after steps.
fn start_worker(index: usize) -> std::io::Result<Worker> {
    let (jobs, mut rx) = mpsc::unbounded_channel::<CallJob>();
    let load = Arc::new(AtomicUsize::new(0));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .on_thread_park(|| {
            if STEPS.with(|s| s.replace(0)) > 0 {
                vxp_interpreter::script::collect_thread_garbage();
            }
        })
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
    Ok(Worker {
        jobs,
        load,
        thread: Some(thread),
    })
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        let workers = self.workers.get_mut().unwrap_or_else(|e| e.into_inner());
        for worker in workers.iter_mut() {
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
        let pool = WorkerPool::new(2, 10).expect("threads start");
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

    #[test]
    fn a_new_worker_starts_when_every_worker_is_full() {
        let pool = WorkerPool::new(1, 2).expect("threads start");
        let (release_tx, release_rx) = tokio::sync::watch::channel(false);
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let picked: Vec<usize> = (0..5)
            .map(|_| {
                let mut release = release_rx.clone();
                let done = done_tx.clone();
                pool.spawn(Box::new(move || {
                    Box::pin(async move {
                        let _ = release.wait_for(|go| *go).await;
                        note_step();
                        let _ = done.send(());
                    })
                }))
            })
            .collect();
        assert_eq!(picked, vec![0, 0, 1, 1, 2]);
        assert_eq!(pool.loads(), vec![2, 2, 1]);
        release_tx.send(true).expect("receivers alive");
        for _ in 0..5 {
            done_rx
                .recv_timeout(Duration::from_secs(5))
                .expect("call ends");
        }
    }
}
