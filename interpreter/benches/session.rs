//! VoiceXML session step: one DTMF key in, the next `Listen` out, on a page
//! compiled once and shared by every session (criterion), plus a latency
//! distribution and memory figure with 10,000 sessions alive.
//!
//! Run: `cargo bench -p vxp-interpreter --bench session`.
#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use url::Url;
use vxp_interpreter::vxml::session::{FetchResult, Fetched, Output, Session, SessionConfig};

const PAGE: &str = r#"<?xml version="1.0"?>
<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml">
  <var name="turns" expr="0"/>
  <form id="loop">
    <field name="choice">
      <prompt>Press 1 for sales or 2 for support.</prompt>
      <grammar mode="dtmf" version="1.0" root="r" xmlns="http://www.w3.org/2001/06/grammar">
        <rule id="r"><one-of><item>1<tag>out="sales";</tag></item><item>2<tag>out="support";</tag></item></one-of></rule>
      </grammar>
      <filled>
        <assign name="turns" expr="turns + 1"/>
        <clear namelist="choice"/>
      </filled>
    </field>
  </form>
</vxml>
"#;

/// A session past its first `Listen`, with the compiled page shared.
fn start(
    url: &Url,
    compiled: &mut Option<Arc<dyn std::any::Any + Send + Sync>>,
    now: Instant,
) -> Session {
    let mut s = Session::new(SessionConfig::new(url.clone()), now);
    drain(&mut s, url, compiled, now);
    s
}

/// Answers fetches and plays until the session listens; returns whether it did.
fn drain(
    s: &mut Session,
    url: &Url,
    compiled: &mut Option<Arc<dyn std::any::Any + Send + Sync>>,
    now: Instant,
) -> bool {
    let mut listened = false;
    while let Some(out) = s.poll_output() {
        match out {
            Output::Fetch(req) => s.handle_fetched(
                req.id,
                FetchResult::Ok(Fetched {
                    url: url.clone(),
                    content_type: None,
                    bytes: Arc::from(PAGE.as_bytes()),
                    compiled: compiled.clone(),
                }),
                now,
            ),
            Output::Compiled { compiled: c, .. } if compiled.is_none() => *compiled = Some(c),
            Output::Play(p) => s.handle_play_done(p.id, now),
            Output::Listen(_) => listened = true,
            _ => {}
        }
    }
    listened
}

fn step(c: &mut Criterion) {
    let url = Url::parse("http://bench.test/loop.vxml").expect("static URL");
    let now = Instant::now();
    let mut compiled = None;
    let mut s = start(&url, &mut compiled, now);
    c.bench_function("session/dtmf_to_listen", |b| {
        b.iter(|| {
            s.handle_dtmf('1', now);
            assert!(drain(&mut s, &url, &mut compiled, now));
        })
    });
}

/// CPU time the current thread has run (`/proc/thread-self/schedstat`), to
/// tell work from waiting on a shared machine.
fn thread_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn rss_kib() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4)
}

/// p50/p99/p99.9 of one step with many sessions alive, and memory per session.
fn population() {
    const SESSIONS: usize = 10_000;
    const STEPS: usize = 50_000;
    let url = Url::parse("http://bench.test/loop.vxml").expect("static URL");
    let now = Instant::now();
    let mut compiled = None;
    let before = rss_kib();
    let mut sessions: Vec<Session> = (0..SESSIONS)
        .map(|_| start(&url, &mut compiled, now))
        .collect();
    let after = rss_kib();
    let mut samples: Vec<Duration> = Vec::with_capacity(STEPS);
    let cpu_start = thread_cpu_time();
    let wall_start = Instant::now();
    for i in 0..STEPS {
        let s = &mut sessions[(i * 7919) % SESSIONS];
        let t = Instant::now();
        s.handle_dtmf(if i % 2 == 0 { '1' } else { '2' }, now);
        let ok = drain(s, &url, &mut compiled, now);
        samples.push(t.elapsed());
        assert!(ok, "the session stopped listening");
    }
    let wall = wall_start.elapsed();
    if let (Some(a), Some(b)) = (cpu_start, thread_cpu_time()) {
        println!(
            "session/population: thread CPU time {:?} of {:?} wall: {:?} CPU per step",
            b.saturating_sub(a),
            wall,
            b.saturating_sub(a) / STEPS as u32
        );
    }
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    println!(
        "session/population: {SESSIONS} sessions, {STEPS} steps: p50 {:?}, p99 {:?}, p99.9 {:?}, max {:?}",
        pct(0.5),
        pct(0.99),
        pct(0.999),
        samples[samples.len() - 1]
    );
    if let (Some(b), Some(a)) = (before, after) {
        println!(
            "session/population: RSS {} KiB before, {} KiB after: {:.0} KiB per live session",
            b,
            a,
            (a.saturating_sub(b)) as f64 / SESSIONS as f64
        );
    }
    drop(sessions);
}

criterion_group!(benches, step);

fn main() {
    benches();
    // The population run follows the criterion one in `cargo bench`; it is
    // skipped under `--profile-time` so a profiler sees the step alone.
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--profile-time") {
        population();
    }
    Criterion::default().configure_from_args().final_summary();
}
