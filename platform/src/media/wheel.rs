//! A hashed timer wheel: the one pacing structure for every RTP stream's
//! next send instant, so the media driver arms one timer per tick instead of
//! one sleeping task per call.
//!
//! ```text
//! let mut wheel = TimerWheel::new(start, Duration::from_millis(1), 256);
//! wheel.insert(first_send, stream_key);
//! loop {
//!     sleep_until(wheel.next_deadline());
//!     wheel.poll_expired(now, &mut due);
//!     for key in due.drain(..) { /* send; wheel.insert(next_send, key) */ }
//! }
//! ```
//!
//! A timer never fires early; it fires at most one `resolution` late.
//! Cancelling is left to the owner: keys of streams that ended are ignored
//! when they come out (e.g. by keeping a generation in the key).

use std::time::{Duration, Instant};

/// Timers keyed by `T`, bucketed by tick.
#[derive(Debug)]
pub struct TimerWheel<T> {
    origin: Instant,
    resolution_ns: u64,
    slots: Vec<Vec<(u64, T)>>,
    /// The next tick `poll_expired` has not yet processed.
    current: u64,
    len: usize,
    /// A bucket's entries while it is being sorted into due and not due
    /// (kept to reuse its allocation).
    scratch: Vec<(u64, T)>,
}

impl<T> TimerWheel<T> {
    /// A wheel starting at `origin` with `slots` buckets of `resolution`
    /// (timers further away than `slots × resolution` wait extra rounds).
    pub fn new(origin: Instant, resolution: Duration, slots: usize) -> Self {
        let slots = slots.max(1);
        TimerWheel {
            origin,
            resolution_ns: (resolution.as_nanos() as u64).max(1),
            slots: (0..slots).map(|_| Vec::new()).collect(),
            current: 0,
            len: 0,
            scratch: Vec::new(),
        }
    }

    fn tick_ceil(&self, at: Instant) -> u64 {
        let ns = at.saturating_duration_since(self.origin).as_nanos() as u64;
        ns.div_ceil(self.resolution_ns)
    }

    fn tick_floor(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.origin).as_nanos() as u64 / self.resolution_ns
    }

    fn slot_of(&self, tick: u64) -> usize {
        (tick % self.slots.len() as u64) as usize
    }

    /// Number of pending timers.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no timer is pending.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Schedules `value` for `at` (a time already past fires at the next poll).
    pub fn insert(&mut self, at: Instant, value: T) {
        let tick = self.tick_ceil(at).max(self.current);
        let slot = self.slot_of(tick);
        self.slots[slot].push((tick, value));
        self.len += 1;
    }

    /// Moves every timer due at `now` into `out`, earliest tick first and,
    /// within a tick, in insertion order.
    pub fn poll_expired(&mut self, now: Instant, out: &mut Vec<T>) {
        let target = self.tick_floor(now);
        if target < self.current {
            return;
        }
        let n = self.slots.len() as u64;
        let steps = (target - self.current + 1).min(n);
        for k in 0..steps {
            let slot = self.slot_of(self.current + k);
            // Due timers leave in the order they were inserted: a stream
            // keeps its place within a tick from one period to the next, so
            // its packets are spaced by the period and not shuffled around
            // inside the tick's burst of sends.
            std::mem::swap(&mut self.slots[slot], &mut self.scratch);
            for (tick, value) in self.scratch.drain(..) {
                if tick <= target {
                    out.push(value);
                    self.len -= 1;
                } else {
                    self.slots[slot].push((tick, value));
                }
            }
        }
        self.current = target + 1;
    }

    /// The instant of the earliest pending timer.
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.len == 0 {
            return None;
        }
        let n = self.slots.len() as u64;
        let found = (0..n).find_map(|k| {
            let tick = self.current + k;
            self.slots[self.slot_of(tick)]
                .iter()
                .any(|(t, _)| *t == tick)
                .then_some(tick)
        });
        let tick = found.or_else(|| self.slots.iter().flatten().map(|(t, _)| *t).min())?;
        Some(self.origin + Duration::from_nanos(tick.saturating_mul(self.resolution_ns)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn fires_on_time_never_early() {
        let t0 = Instant::now();
        let mut w = TimerWheel::new(t0, ms(1), 64);
        w.insert(t0 + ms(20), "a");
        w.insert(t0 + Duration::from_micros(20_500), "b");
        w.insert(t0 + ms(10), "c");
        assert_eq!(w.next_deadline(), Some(t0 + ms(10)));
        let mut out = Vec::new();
        w.poll_expired(t0 + Duration::from_micros(9_999), &mut out);
        assert!(out.is_empty());
        w.poll_expired(t0 + ms(10), &mut out);
        assert_eq!(out, vec!["c"]);
        out.clear();
        w.poll_expired(t0 + ms(20), &mut out);
        assert_eq!(out, vec!["a"]);
        assert_eq!(w.next_deadline(), Some(t0 + ms(21)));
        out.clear();
        w.poll_expired(t0 + ms(21), &mut out);
        assert_eq!(out, vec!["b"]);
        assert!(w.is_empty());
        assert_eq!(w.next_deadline(), None);
    }

    #[test]
    fn timers_beyond_one_round_and_late_polls() {
        let t0 = Instant::now();
        let mut w = TimerWheel::new(t0, ms(1), 8);
        w.insert(t0 + ms(3), 1);
        w.insert(t0 + ms(11), 2);
        w.insert(t0 + ms(100), 3);
        let mut out = Vec::new();
        w.poll_expired(t0 + ms(5), &mut out);
        assert_eq!(out, vec![1]);
        assert_eq!(w.next_deadline(), Some(t0 + ms(11)));
        out.clear();
        // A poll far in the future (the driver was stalled) sees everything.
        w.poll_expired(t0 + ms(1000), &mut out);
        out.sort();
        assert_eq!(out, vec![2, 3]);
        // Inserting in the past fires at the next poll.
        w.insert(t0, 4);
        out.clear();
        w.poll_expired(t0 + ms(1001), &mut out);
        assert_eq!(out, vec![4]);
    }

    #[test]
    fn many_streams_paced_at_20ms() {
        let t0 = Instant::now();
        let mut w = TimerWheel::new(t0, ms(1), 256);
        for i in 0..1000u32 {
            w.insert(t0 + ms(u64::from(i % 20)), i);
        }
        let mut sent = vec![0u32; 1000];
        let mut due = Vec::new();
        for tick in 0..=200u64 {
            let now = t0 + ms(tick);
            w.poll_expired(now, &mut due);
            for k in due.drain(..) {
                sent[k as usize] += 1;
                w.insert(now + ms(20), k);
            }
        }
        // Each stream sent every 20 ms over 200 ms: 10 or 11 packets.
        assert!(sent.iter().all(|&n| n == 10 || n == 11));
        assert_eq!(w.len(), 1000);
    }

    #[test]
    fn a_tick_keeps_insertion_order_period_after_period() {
        let t0 = Instant::now();
        let mut w = TimerWheel::new(t0, ms(1), 256);
        for i in 0..8u32 {
            w.insert(t0 + ms(5), i);
        }
        w.insert(t0 + ms(5 + 256), 99);
        let mut due = Vec::new();
        for period in 0..4u64 {
            let now = t0 + ms(5 + 20 * period);
            w.poll_expired(now, &mut due);
            due.retain(|&k| k != 99);
            assert_eq!(due, (0..8).collect::<Vec<_>>(), "period {period}");
            for k in due.drain(..) {
                w.insert(now + ms(20), k);
            }
        }
    }
}
