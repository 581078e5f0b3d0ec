//! Load benchmark of the VoiceXML session core: 10,000 sessions live at once,
//! each looping through a DTMF menu, spread over worker threads that each own
//! at most K sessions (boa's garbage-collected heap is per thread, so K bounds
//! what one collection has to walk).
//!
//! One step is `handle_dtmf` until the next `Output::Listen` has been drained
//! (VoiceXML 2.0 §2.1.6: interpretation, `<filled>`, `<goto>` back to the
//! menu, dialog initialization, prompt selection, grammar activation). Every
//! step's wall time and thread CPU time go into histograms; steps above 1 ms
//! are stalls (a collection, or the scheduler preempting the worker: CPU time
//! tells them apart).
//!
//! At most `--running` workers (default: the number of CPUs) execute a step
//! at any moment; the others wait for a permit, as idle calls wait for their
//! caller.
//!
//! Each K runs in a child process of its own so the resident-memory figures of
//! one run are not blurred by memory a previous run freed but kept.
//!
//! Run: `cargo bench -p vxp-interpreter --bench sessions_load -- [--sessions 10000]
//! [--per-thread 10,25,50,100,200] [--threads N] [--steps 100000] [--running CPUs] [--warmup 0]`.
//! `--threads N` replaces the K list: the sessions are split evenly over N threads. `--warmup T`
//! runs T unmeasured turns per session during setup, so the measured steps show a session past
//! its first turns. `--collect-every N` collects each worker's boa heap after every N of its steps,
//! outside the measured step, as a worker does when none of its callers has input waiting; the
//! collections' CPU time is reported apart.
#![allow(clippy::print_stdout)]

use std::any::Any;
use std::collections::BTreeMap;
use std::process::Command;
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rustix::time::{ClockId, clock_gettime};
use url::Url;
use vxp_interpreter::script::collect_thread_garbage;
use vxp_interpreter::vxml::parse;
use vxp_interpreter::vxml::session::{FetchResult, Fetched, Output, Session, SessionConfig};

/// A menu as applications write them: document counters, a form variable
/// built from them, a prompt with a `<value>`, an inline DTMF grammar with
/// SISR tags, and a `<filled>` that assigns, branches, logs and goes back to
/// the menu, so every turn re-initializes the dialog and waits for input.
const PAGE: &str = include_str!("fixtures/menu_loop.vxml");
const PAGE_URL: &str = "http://bench.test/menu_loop.vxml";

/// Steps slower than this count as stalls.
const STALL: Duration = Duration::from_millis(1);

/// The command line.
#[derive(Debug, Clone)]
struct Args {
    sessions: usize,
    per_thread: Vec<usize>,
    threads: Option<usize>,
    steps: usize,
    running: usize,
    warmup: usize,
    collect_every: usize,
    child: bool,
}

impl Args {
    fn parse() -> Result<Args, String> {
        let mut a = Args {
            sessions: 10_000,
            per_thread: vec![10, 25, 50, 100, 200],
            threads: None,
            steps: 100_000,
            running: thread::available_parallelism().map_or(2, |n| n.get()),
            warmup: 0,
            collect_every: 0,
            child: false,
        };
        let mut it = std::env::args().skip(1);
        while let Some(arg) = it.next() {
            let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
            match arg.as_str() {
                "--sessions" => a.sessions = number(&value("--sessions")?)?,
                "--per-thread" => {
                    a.per_thread = value("--per-thread")?
                        .split(',')
                        .map(number)
                        .collect::<Result<_, _>>()?
                }
                "--threads" => a.threads = Some(number(&value("--threads")?)?),
                "--steps" => a.steps = number(&value("--steps")?)?,
                "--running" => a.running = number(&value("--running")?)?,
                "--warmup" => a.warmup = number(&value("--warmup")?)?,
                "--collect-every" => a.collect_every = number(&value("--collect-every")?)?,
                "--child" => a.child = true,
                // `cargo bench` passes `--bench`; criterion-style filters are
                // meaningless here.
                _ => {}
            }
        }
        if a.sessions == 0 || a.running == 0 || a.per_thread.contains(&0) || a.threads == Some(0) {
            return Err("counts must be positive".to_string());
        }
        Ok(a)
    }

    /// Threads and the most sessions one of them owns, for the K at hand.
    fn layout(&self, k: usize) -> (usize, usize) {
        let threads = self.threads.unwrap_or_else(|| self.sessions.div_ceil(k));
        (threads, self.sessions.div_ceil(threads))
    }
}

fn number(s: &str) -> Result<usize, String> {
    s.replace('_', "")
        .parse()
        .map_err(|_| format!("{s:?} is not a count"))
}

/// Resident set size in KiB (`/proc/self/statm`, second field, 4 KiB pages).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4)
}

/// CPU time consumed by the calling thread.
fn thread_cpu() -> Duration {
    let t = clock_gettime(ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

fn histogram() -> Histogram<u64> {
    // 1 ns to 100 s at 3 significant digits.
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("static histogram bounds")
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Run permits: at most this many workers execute a step at once, as on a
/// platform where calls wait on the caller most of the time and the runnable
/// workers never outnumber the cores. Without it every worker would be
/// runnable at once and a step's wall time would measure the kernel
/// scheduler's round over hundreds of busy threads, not the session.
struct Cores {
    free: Mutex<usize>,
    freed: Condvar,
}

impl Cores {
    fn new(n: usize) -> Cores {
        Cores {
            free: Mutex::new(n),
            freed: Condvar::new(),
        }
    }

    fn acquire(&self) {
        let mut free = self.free.lock().expect("no worker panics holding the lock");
        while *free == 0 {
            free = self
                .freed
                .wait(free)
                .expect("no worker panics holding the lock");
        }
        *free -= 1;
    }

    fn release(&self) {
        *self.free.lock().expect("no worker panics holding the lock") += 1;
        self.freed.notify_one();
    }
}

/// What one worker thread saw.
#[derive(Debug)]
struct Tally {
    wall: Histogram<u64>,
    cpu: Histogram<u64>,
    steps: u64,
    wall_stalls: u64,
    cpu_stalls: u64,
    /// Error events and ends of session, by name, with one message each.
    errors: BTreeMap<String, (u64, String)>,
    ended: u64,
    no_listen: u64,
    timeouts: u64,
    fetches: u64,
    logs: u64,
    setup: Duration,
    /// CPU time of each collection run between steps (`--collect-every`).
    idle_gc: Histogram<u64>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            wall: histogram(),
            cpu: histogram(),
            steps: 0,
            wall_stalls: 0,
            cpu_stalls: 0,
            errors: BTreeMap::new(),
            ended: 0,
            no_listen: 0,
            timeouts: 0,
            fetches: 0,
            logs: 0,
            setup: Duration::ZERO,
            idle_gc: histogram(),
        }
    }

    fn error(&mut self, name: String, message: String) {
        self.errors.entry(name).or_insert((0, message)).0 += 1;
    }

    fn merge(&mut self, o: Tally) {
        self.wall.add(&o.wall).expect("same histogram bounds");
        self.cpu.add(&o.cpu).expect("same histogram bounds");
        self.idle_gc.add(&o.idle_gc).expect("same histogram bounds");
        self.steps += o.steps;
        self.wall_stalls += o.wall_stalls;
        self.cpu_stalls += o.cpu_stalls;
        for (name, (n, msg)) in o.errors {
            self.errors.entry(name).or_insert((0, msg)).0 += n;
        }
        self.ended += o.ended;
        self.no_listen += o.no_listen;
        self.timeouts += o.timeouts;
        self.fetches += o.fetches;
        self.logs += o.logs;
        self.setup = self.setup.max(o.setup);
    }

    fn error_count(&self) -> u64 {
        self.errors.values().map(|(n, _)| n).sum::<u64>() + self.ended + self.no_listen
    }
}

/// A fake platform for one session: answers fetches with the shared compiled
/// page, finishes prompts at once, records what would be errors.
struct Live {
    s: Session,
    ended: bool,
}

type Compiled = Arc<dyn Any + Send + Sync>;

/// Drains the session's outputs; returns whether a `Listen` came out.
fn drain(live: &mut Live, url: &Url, page: &Compiled, now: Instant, t: &mut Tally) -> bool {
    let mut listened = false;
    while let Some(out) = live.s.poll_output() {
        match out {
            Output::Fetch(req) => {
                t.fetches += 1;
                live.s.handle_fetched(
                    req.id,
                    FetchResult::Ok(Fetched {
                        url: url.clone(),
                        content_type: None,
                        bytes: Arc::from(PAGE.as_bytes()),
                        compiled: Some(page.clone()),
                    }),
                    now,
                );
            }
            Output::Play(p) => live.s.handle_play_done(p.id, now),
            Output::Listen(_) => listened = true,
            Output::Log { .. } => t.logs += 1,
            Output::Event { name, message, .. } if name.starts_with("error.") => {
                t.error(name, message.unwrap_or_default())
            }
            Output::Error { event, message } => {
                live.ended = true;
                t.ended += 1;
                t.error(format!("ended: {event}"), message);
            }
            Output::Exit { values } => {
                live.ended = true;
                t.ended += 1;
                t.error("ended: exit".into(), format!("{values:?}"));
            }
            Output::Disconnect { .. } => {
                live.ended = true;
                t.ended += 1;
                t.error("ended: disconnect".into(), String::new());
            }
            _ => {}
        }
    }
    listened
}

/// What a worker is told.
#[derive(Clone)]
struct Work {
    sessions: usize,
    steps: u64,
    warmup: usize,
    collect_every: u64,
    page: Compiled,
    cores: Arc<Cores>,
    created: Arc<Barrier>,
    go: Arc<Barrier>,
    done: Arc<Barrier>,
    measured: Arc<Barrier>,
}

/// One worker thread: creates its sessions, waits until every thread has,
/// then steps them round-robin on a simulated clock.
fn worker(w: Work) -> Tally {
    let url = Url::parse(PAGE_URL).expect("static URL");
    let mut t = Tally::new();
    let base = Instant::now();
    let started = Instant::now();
    let mut lives: Vec<Live> = (0..w.sessions)
        .map(|_| {
            w.cores.acquire();
            let mut live = Live {
                s: Session::new(SessionConfig::new(url.clone()), base),
                ended: false,
            };
            if !drain(&mut live, &url, &w.page, base, &mut t) {
                t.no_listen += 1;
            }
            for turn in 0..w.warmup {
                live.s.handle_dtmf(['1', '2', '3'][turn % 3], base);
                drain(&mut live, &url, &w.page, base, &mut t);
            }
            w.cores.release();
            live
        })
        .collect();
    t.setup = started.elapsed();
    w.created.wait();
    w.go.wait();
    // Each caller presses a key once per simulated second, well inside the
    // default 5 s noinput timeout.
    let tick = Duration::from_secs(1) / u32::try_from(w.sessions.max(1)).unwrap_or(u32::MAX);
    let mut now = base;
    let digits = ['1', '2', '3'];
    for i in 0..w.steps {
        now += tick;
        let n = usize::try_from(i).unwrap_or(usize::MAX);
        let Some(live) = lives.get_mut(n % w.sessions) else {
            continue;
        };
        if live.ended {
            continue;
        }
        w.cores.acquire();
        if live.s.poll_timeout().is_some_and(|d| d <= now) {
            t.timeouts += 1;
            live.s.handle_timeout(now);
            drain(live, &url, &w.page, now, &mut t);
        }
        let digit = digits[(n / w.sessions) % digits.len()];
        let cpu0 = thread_cpu();
        let t0 = Instant::now();
        live.s.handle_dtmf(digit, now);
        let listened = drain(live, &url, &w.page, now, &mut t);
        let wall = t0.elapsed();
        let cpu = thread_cpu().saturating_sub(cpu0);
        // Idle time on a platform: no caller of this worker has input
        // waiting, so the worker collects its heap outside any step.
        if w.collect_every > 0 && (i + 1) % w.collect_every == 0 {
            let gc0 = thread_cpu();
            collect_thread_garbage();
            t.idle_gc
                .saturating_record(nanos(thread_cpu().saturating_sub(gc0)));
        }
        w.cores.release();
        t.steps += 1;
        if !listened && !live.ended {
            t.no_listen += 1;
        }
        t.wall.saturating_record(nanos(wall));
        t.cpu.saturating_record(nanos(cpu));
        if wall > STALL {
            t.wall_stalls += 1;
        }
        if cpu > STALL {
            t.cpu_stalls += 1;
        }
    }
    // Keep the sessions alive until the main thread has read the resident
    // size after the steps (growth there would be a leak or uncollected garbage).
    w.done.wait();
    w.measured.wait();
    drop(lives);
    t
}

fn us(h: &Histogram<u64>, q: f64) -> String {
    format!("{:.0}", h.value_at_quantile(q) as f64 / 1_000.0)
}

/// One run with `k` sessions per thread, in this process.
fn run(args: &Args, k: usize) -> Result<(), String> {
    let url = Url::parse(PAGE_URL).expect("static URL");
    let doc = parse::compile(PAGE, &url).map_err(|e| format!("page: {e}"))?;
    let page: Compiled = doc;
    let (threads, per_thread) = args.layout(k);
    let rss_before = rss_kib();
    let cores = Arc::new(Cores::new(args.running));
    let created = Arc::new(Barrier::new(threads + 1));
    let go = Arc::new(Barrier::new(threads + 1));
    let done = Arc::new(Barrier::new(threads + 1));
    let measured = Arc::new(Barrier::new(threads + 1));
    let steps = u64::try_from(args.steps).unwrap_or(u64::MAX);
    let threads_u64 = u64::try_from(threads).unwrap_or(u64::MAX);
    let mut left = args.sessions;
    let mut handles = Vec::with_capacity(threads);
    let setup_started = Instant::now();
    for i in 0..threads {
        let sessions = per_thread.min(left);
        left -= sessions;
        let i = u64::try_from(i).unwrap_or(u64::MAX);
        let w = Work {
            sessions,
            steps: steps / threads_u64 + u64::from(i < steps % threads_u64),
            warmup: args.warmup,
            collect_every: u64::try_from(args.collect_every).unwrap_or(u64::MAX),
            page: page.clone(),
            cores: cores.clone(),
            created: created.clone(),
            go: go.clone(),
            done: done.clone(),
            measured: measured.clone(),
        };
        let h = thread::Builder::new()
            .name(format!("worker-{i}"))
            .spawn(move || worker(w))
            .map_err(|e| format!("spawning a worker: {e}"))?;
        handles.push(h);
    }
    created.wait();
    let setup = setup_started.elapsed();
    let rss_live = rss_kib();
    go.wait();
    let started = Instant::now();
    done.wait();
    let elapsed = started.elapsed();
    let rss_end = rss_kib();
    measured.wait();
    let mut total = Tally::new();
    for h in handles {
        total.merge(
            h.join()
                .map_err(|_| "a worker thread panicked".to_string())?,
        );
    }
    let per_session = rss_live.saturating_sub(rss_before) as f64 / args.sessions as f64;
    let per_session_end = rss_end.saturating_sub(rss_before) as f64 / args.sessions as f64;
    let throughput = total.steps as f64 / elapsed.as_secs_f64();
    println!(
        "run: {} sessions on {threads} threads (at most {per_thread} per thread, {} stepping at once), {} steps in {:.2} s",
        args.sessions,
        args.running,
        total.steps,
        elapsed.as_secs_f64()
    );
    println!(
        "  setup: {:.2} s to create every session up to its first Listen",
        setup.as_secs_f64()
    );
    println!(
        "  step wall time (µs): p50 {} p99 {} p99.9 {} max {}; steps > 1 ms: {}",
        us(&total.wall, 0.5),
        us(&total.wall, 0.99),
        us(&total.wall, 0.999),
        us(&total.wall, 1.0),
        total.wall_stalls
    );
    println!(
        "  step thread CPU time (µs): p50 {} p99 {} p99.9 {} max {}; steps > 1 ms: {}",
        us(&total.cpu, 0.5),
        us(&total.cpu, 0.99),
        us(&total.cpu, 0.999),
        us(&total.cpu, 1.0),
        total.cpu_stalls
    );
    println!(
        "  RSS: {rss_before} KiB before, {rss_live} KiB with every session live, {rss_end} KiB after the steps (sessions still live): {per_session:.0} KiB per live session at creation, {per_session_end:.0} KiB after the steps"
    );
    println!(
        "  throughput {throughput:.0} steps/s; logs {}, fetches {}, noinput timeouts {}",
        total.logs, total.fetches, total.timeouts
    );
    if !total.idle_gc.is_empty() {
        println!(
            "  collections between steps: {} (every {} steps of a thread), CPU (µs) p50 {} max {}: {:.0} µs per step",
            total.idle_gc.len(),
            args.collect_every,
            us(&total.idle_gc, 0.5),
            us(&total.idle_gc, 1.0),
            total.idle_gc.mean() * total.idle_gc.len() as f64 / total.steps.max(1) as f64 / 1_000.0
        );
    }
    println!(
        "  errors: {} ({} sessions ended, {} steps without a Listen)",
        total.error_count(),
        total.ended,
        total.no_listen
    );
    for (name, (n, msg)) in &total.errors {
        println!("    {n} × {name}: {msg}");
    }
    println!(
        "ROW | {per_thread} | {threads} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {throughput:.0} | {per_session:.0} | {per_session_end:.0} |",
        total.steps,
        total.error_count(),
        us(&total.wall, 0.5),
        us(&total.wall, 0.99),
        us(&total.wall, 0.999),
        us(&total.wall, 1.0),
        total.wall_stalls,
        us(&total.cpu, 0.99),
        us(&total.cpu, 0.999),
        us(&total.cpu, 1.0),
        total.cpu_stalls,
    );
    Ok(())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_default()
}

fn main() -> Result<(), String> {
    let args = Args::parse()?;
    if args.child {
        let k = args.per_thread.first().copied().unwrap_or(100);
        return run(&args, k);
    }
    println!(
        "machine: {} CPUs ({}), load average {}",
        thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model(),
        load_average()
    );
    let exe = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
    let ks: Vec<usize> = match args.threads {
        Some(_) => vec![args.layout(1).1],
        None => args.per_thread.clone(),
    };
    let mut rows = Vec::new();
    for k in ks {
        let mut cmd = Command::new(&exe);
        cmd.args([
            "--child",
            "--sessions",
            &args.sessions.to_string(),
            "--per-thread",
            &k.to_string(),
            "--steps",
            &args.steps.to_string(),
            "--running",
            &args.running.to_string(),
            "--warmup",
            &args.warmup.to_string(),
            "--collect-every",
            &args.collect_every.to_string(),
        ]);
        if let Some(n) = args.threads {
            cmd.args(["--threads", &n.to_string()]);
        }
        let load = load_average();
        let out = cmd
            .output()
            .map_err(|e| format!("starting the run for K={k}: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        for line in text.lines() {
            match line.strip_prefix("ROW ") {
                Some(row) => rows.push(format!("{row} {load} |")),
                None => println!("{line}"),
            }
        }
        if !out.status.success() {
            return Err(format!(
                "the run for K={k} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    println!();
    println!(
        "| K | threads | steps | errors | wall p50 µs | p99 | p99.9 | max | wall > 1 ms | CPU p99 µs | CPU p99.9 | CPU max | CPU > 1 ms | steps/s | KiB/session created | KiB/session after steps | load avg at start |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
    Ok(())
}
