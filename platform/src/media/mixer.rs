//! Conference audio mixing for CCXML conferences (CCXML 1.0 §10.2.3
//! `<createconference>`, §10.2.5 `<join>` and §10.2.6 `<unjoin>`; §10.2.2
//! join semantics: full duplex both hears and is heard, half duplex one way).
//!
//! A core without I/O on the media thread. Each participant's received
//! audio goes into its own bounded queue ([`Mixer::handle_heard`]); every
//! 20 ms ([`Mixer::handle_timeout`]) each conference takes one frame from
//! every participant that speaks, sums them once, and gives each participant
//! that hears the sum minus its own contribution, clipped to 16 bits. So a
//! participant hears everyone else and never itself, and the work per frame
//! is linear in the number of participants.
//!
//! Every buffer is sized when a participant joins: mixing allocates nothing
//! per packet.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::engine::CallMediaId;

/// Samples per mixing step: 20 ms at 8 kHz.
pub const FRAME: usize = 160;

/// The mixing period.
pub const PERIOD: Duration = Duration::from_millis(20);

/// Samples a participant's queue keeps at most (200 ms): older ones are
/// dropped so clock drift between a caller and the mixer cannot build delay.
const MAX_QUEUED: usize = 1600;

/// Samples a participant must have queued before it is mixed in (and again
/// after it ran dry): absorbs the jitter between its packets and the mixer's
/// period.
const PRIME: usize = 2 * FRAME;

/// Identifies a conference on the media thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConferenceId(pub u64);

/// A request to the mixer, carried to the media thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConferenceOp {
    /// Create an empty conference (`<createconference>`).
    Create(ConferenceId),
    /// Remove a conference and all its participants (`<destroyconference>`).
    Destroy(ConferenceId),
    /// Add a call (or change how it is joined): `hears` the others' mix,
    /// `speaks` into it (`<join>`; full duplex is both).
    Join {
        /// The conference.
        conference: ConferenceId,
        /// The call.
        call: CallMediaId,
        /// Whether the call receives the mix.
        hears: bool,
        /// Whether the call's audio goes into the mix.
        speaks: bool,
    },
    /// Take a call out of its conference (`<unjoin>`).
    Leave(CallMediaId),
}

#[derive(Debug)]
struct Participant {
    call: CallMediaId,
    hears: bool,
    speaks: bool,
    /// Received audio not mixed yet.
    queue: VecDeque<i16>,
    /// Whether the queue has filled up to [`PRIME`] since it last ran dry.
    primed: bool,
    /// This step's contribution.
    frame: [i16; FRAME],
}

#[derive(Debug)]
struct Conference {
    participants: Vec<Participant>,
    /// The sum of this step's contributions.
    sum: [i32; FRAME],
    /// One participant's output, handed to the sink.
    out: [i16; FRAME],
}

/// Every conference of the media thread.
#[derive(Debug)]
pub struct Mixer {
    conferences: HashMap<ConferenceId, Conference>,
    member_of: HashMap<CallMediaId, ConferenceId>,
    next: Instant,
}

impl Mixer {
    /// No conferences; the first step is due at `now`.
    pub fn new(now: Instant) -> Self {
        Mixer {
            conferences: HashMap::new(),
            member_of: HashMap::new(),
            next: now,
        }
    }

    /// Applies a request; returns the calls that left a conference (they
    /// should drop mixed audio still queued for them).
    pub fn handle_op(&mut self, op: ConferenceOp) -> Vec<CallMediaId> {
        match op {
            ConferenceOp::Create(id) => {
                self.conferences.entry(id).or_insert_with(|| Conference {
                    participants: Vec::new(),
                    sum: [0; FRAME],
                    out: [0; FRAME],
                });
                Vec::new()
            }
            ConferenceOp::Destroy(id) => {
                let Some(conf) = self.conferences.remove(&id) else {
                    return Vec::new();
                };
                let left: Vec<CallMediaId> = conf.participants.iter().map(|p| p.call).collect();
                for call in &left {
                    self.member_of.remove(call);
                }
                left
            }
            ConferenceOp::Join {
                conference,
                call,
                hears,
                speaks,
            } => {
                if !self.conferences.contains_key(&conference) {
                    return Vec::new();
                }
                let mut left = Vec::new();
                if self.member_of.get(&call).is_some_and(|c| *c != conference) {
                    left = self.handle_op(ConferenceOp::Leave(call));
                }
                let Some(conf) = self.conferences.get_mut(&conference) else {
                    return left;
                };
                match conf.participants.iter_mut().find(|p| p.call == call) {
                    Some(p) => {
                        p.hears = hears;
                        p.speaks = speaks;
                    }
                    None => conf.participants.push(Participant {
                        call,
                        hears,
                        speaks,
                        queue: VecDeque::with_capacity(MAX_QUEUED + FRAME),
                        primed: false,
                        frame: [0; FRAME],
                    }),
                }
                self.member_of.insert(call, conference);
                left
            }
            ConferenceOp::Leave(call) => {
                let Some(id) = self.member_of.remove(&call) else {
                    return Vec::new();
                };
                if let Some(conf) = self.conferences.get_mut(&id) {
                    conf.participants.retain(|p| p.call != call);
                }
                vec![call]
            }
        }
    }

    /// Whether `call` is in a conference.
    pub fn is_member(&self, call: CallMediaId) -> bool {
        self.member_of.contains_key(&call)
    }

    /// Whether any conference exists (the engine then keeps the mixer's
    /// timer running).
    pub fn is_empty(&self) -> bool {
        self.conferences.is_empty()
    }

    /// Audio received from `call` (any frame size).
    pub fn handle_heard(&mut self, call: CallMediaId, samples: &[i16]) {
        let Some(conf) = self
            .member_of
            .get(&call)
            .and_then(|id| self.conferences.get_mut(id))
        else {
            return;
        };
        let Some(p) = conf
            .participants
            .iter_mut()
            .find(|p| p.call == call && p.speaks)
        else {
            return;
        };
        // Trim first so the queue never grows past the capacity it was
        // given at the join.
        let samples = &samples[samples.len().saturating_sub(MAX_QUEUED)..];
        let excess = (p.queue.len() + samples.len()).saturating_sub(MAX_QUEUED);
        p.queue.drain(..excess.min(p.queue.len()));
        p.queue.extend(samples.iter().copied());
        if p.queue.len() >= PRIME {
            p.primed = true;
        }
    }

    /// When the next mixing step is due (none without conferences).
    pub fn poll_timeout(&self) -> Option<Instant> {
        (!self.conferences.is_empty()).then_some(self.next)
    }

    /// Runs the mixing steps due at `now`; `sink` gets each hearing
    /// participant's 20 ms of mixed audio.
    pub fn handle_timeout(&mut self, now: Instant, mut sink: impl FnMut(CallMediaId, &[i16])) {
        if self.conferences.is_empty() {
            self.next = now;
            return;
        }
        let mut steps = 0;
        while self.next <= now {
            // After a stall (the thread was descheduled) catch up at most a
            // few steps rather than bursting: the callers' queues are bounded.
            steps += 1;
            if steps > 5 {
                self.next = now + PERIOD;
                break;
            }
            for conf in self.conferences.values_mut() {
                conf.step(&mut sink);
            }
            self.next += PERIOD;
        }
    }
}

impl Conference {
    /// One 20 ms step: contributions in, one mix per hearing participant out.
    fn step(&mut self, sink: &mut impl FnMut(CallMediaId, &[i16])) {
        self.sum = [0; FRAME];
        for p in &mut self.participants {
            p.frame = [0; FRAME];
            if !p.speaks || !p.primed {
                continue;
            }
            let k = p.queue.len().min(FRAME);
            for (dst, src) in p.frame.iter_mut().zip(p.queue.drain(..k)) {
                *dst = src;
            }
            if p.queue.is_empty() {
                p.primed = false;
            }
            for (s, x) in self.sum.iter_mut().zip(p.frame.iter()) {
                *s += i32::from(*x);
            }
        }
        for p in &self.participants {
            if !p.hears {
                continue;
            }
            for ((o, s), own) in self.out.iter_mut().zip(self.sum.iter()).zip(p.frame.iter()) {
                let v = s - i32::from(*own);
                *o = v.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
            }
            sink(p.call, &self.out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: CallMediaId = CallMediaId(1);
    const B: CallMediaId = CallMediaId(2);
    const C: CallMediaId = CallMediaId(3);
    const CONF: ConferenceId = ConferenceId(9);

    fn join(m: &mut Mixer, call: CallMediaId, hears: bool, speaks: bool) {
        m.handle_op(ConferenceOp::Join {
            conference: CONF,
            call,
            hears,
            speaks,
        });
    }

    /// A conference of A, B and C, all full duplex.
    fn three(t: Instant) -> Mixer {
        let mut m = Mixer::new(t);
        m.handle_op(ConferenceOp::Create(CONF));
        for call in [A, B, C] {
            join(&mut m, call, true, true);
        }
        m
    }

    /// Feeds each call a constant level for two frames (priming), runs one
    /// step, and returns what each call was given (once per mixer: later
    /// steps would still hold the second frame).
    fn step(m: &mut Mixer, t: Instant, levels: &[(CallMediaId, i16)]) -> Vec<(CallMediaId, i16)> {
        for (call, level) in levels {
            m.handle_heard(*call, &[*level; PRIME]);
        }
        let mut got = Vec::new();
        m.handle_timeout(t, |call, s| {
            assert_eq!(s.len(), FRAME);
            assert!(s.iter().all(|x| *x == s[0]), "a constant input mixes flat");
            got.push((call, s[0]));
        });
        got.sort();
        got
    }

    #[test]
    fn each_participant_hears_the_exact_sum_of_the_others() {
        let t = Instant::now();
        let mut m = three(t);
        let got = step(&mut m, t, &[(A, 100), (B, 20), (C, -3)]);
        assert_eq!(got, vec![(A, 17), (B, 97), (C, 120)]);
    }

    #[test]
    fn sums_clip_to_sixteen_bits() {
        let t = Instant::now();
        let got = step(&mut three(t), t, &[(A, 30_000), (B, 30_000), (C, -32_000)]);
        assert_eq!(got, vec![(A, -2_000), (B, -2_000), (C, i16::MAX)]);
        let got = step(&mut three(t), t, &[(A, -30_000), (B, -30_000), (C, 0)]);
        assert_eq!(got, vec![(A, -30_000), (B, -30_000), (C, i16::MIN)]);
    }

    #[test]
    fn half_duplex_participants_only_listen_or_only_speak() {
        let t = Instant::now();
        let mut m = Mixer::new(t);
        m.handle_op(ConferenceOp::Create(CONF));
        join(&mut m, A, true, true);
        join(&mut m, B, true, false); // listens only
        join(&mut m, C, false, true); // speaks only
        let got = step(&mut m, t, &[(A, 10), (B, 1000), (C, 5)]);
        // B's audio is not mixed; C is given nothing.
        assert_eq!(got, vec![(A, 5), (B, 15)]);
    }

    #[test]
    fn unjoin_and_destroy_take_participants_out() {
        let t = Instant::now();
        let mut m = three(t);
        assert_eq!(m.handle_op(ConferenceOp::Leave(B)), vec![B]);
        assert!(!m.is_member(B));
        let got = step(&mut m, t, &[(A, 7), (B, 1000), (C, 3)]);
        assert_eq!(got, vec![(A, 3), (C, 7)]);
        let mut left = m.handle_op(ConferenceOp::Destroy(CONF));
        left.sort();
        assert_eq!(left, vec![A, C]);
        assert!(m.is_empty() && !m.is_member(A));
        assert_eq!(m.poll_timeout(), None);
    }

    #[test]
    fn a_participant_is_mixed_only_once_primed_and_queues_are_bounded() {
        let t = Instant::now();
        let mut m = Mixer::new(t);
        m.handle_op(ConferenceOp::Create(CONF));
        join(&mut m, A, true, true);
        join(&mut m, B, true, true);
        m.handle_heard(A, &[50; FRAME / 2]);
        let mut got = Vec::new();
        m.handle_timeout(t, |call, s| got.push((call, s[0])));
        assert_eq!(got, vec![(A, 0), (B, 0)], "not primed yet: silence");
        m.handle_heard(A, &[50; 10 * MAX_QUEUED]);
        let queued = m.conferences[&CONF].participants[0].queue.len();
        assert_eq!(queued, MAX_QUEUED);
    }

    #[test]
    fn steps_follow_the_period_and_catch_up_boundedly() {
        let t = Instant::now();
        let mut m = Mixer::new(t);
        assert_eq!(m.poll_timeout(), None);
        m.handle_op(ConferenceOp::Create(CONF));
        join(&mut m, A, true, true);
        let mut n = 0;
        m.handle_timeout(t, |_, _| n += 1);
        assert_eq!(n, 1);
        assert_eq!(m.poll_timeout(), Some(t + PERIOD));
        m.handle_timeout(t + PERIOD * 100, |_, _| n += 1);
        assert_eq!(n, 1 + 5, "a stall is not replayed in a burst");
        assert!(m.poll_timeout().is_some_and(|d| d > t + PERIOD * 100));
    }
}
