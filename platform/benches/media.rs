//! Media benchmarks: G.711 per 20 ms frame, jitter buffer insert/playout,
//! the timer wheel pacing 1,000 streams and the whole engine with 1,000
//! calls (cost per 1 ms tick). Run: `cargo bench -p vxp-platform --bench media`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use vxp_platform::media::engine::{CallMediaId, MediaEngine};
use vxp_platform::media::g711::Law;
use vxp_platform::media::jitter::{JitterConfig, RtpReceiver};
use vxp_platform::media::rtp::{RtpHeader, RtpPacket};
use vxp_platform::media::sender::SenderInit;
use vxp_platform::media::stream::StreamConfig;
use vxp_platform::media::wheel::TimerWheel;
use vxp_platform::sdp::{Codec, Direction, NegotiatedMedia};

fn g711(c: &mut Criterion) {
    let samples: Vec<i16> = (0..160)
        .map(|i: i32| ((i * 397) % 65536 - 32768) as i16)
        .collect();
    let mut codes = Vec::with_capacity(160);
    let mut back = Vec::with_capacity(160);
    c.bench_function("g711/ulaw encode 160 samples", |b| {
        b.iter(|| Law::Mu.encode(black_box(&samples), &mut codes))
    });
    Law::Mu.encode(&samples, &mut codes);
    c.bench_function("g711/ulaw decode 160 samples", |b| {
        b.iter(|| Law::Mu.decode(black_box(&codes), &mut back))
    });
    c.bench_function("g711/alaw encode 160 samples", |b| {
        b.iter(|| Law::A.encode(black_box(&samples), &mut codes))
    });
    Law::A.encode(&samples, &mut codes);
    c.bench_function("g711/alaw decode 160 samples", |b| {
        b.iter(|| Law::A.decode(black_box(&codes), &mut back))
    });
}

fn jitter(c: &mut Criterion) {
    // 1,000 packets, every 8th pair swapped, then played out.
    let mut order: Vec<u16> = (0..1000).collect();
    for k in (0..1000).step_by(8) {
        order.swap(k, k + 1);
    }
    let packets: Vec<Vec<u8>> = order
        .iter()
        .map(|&seq| {
            let mut b = Vec::new();
            RtpHeader {
                marker: false,
                payload_type: 0,
                sequence: seq,
                timestamp: u32::from(seq) * 160,
                ssrc: 7,
            }
            .write(&[0xff; 160], &mut b);
            b
        })
        .collect();
    let t0 = Instant::now();
    c.bench_function("jitter/insert+playout 1000 packets", |b| {
        b.iter(|| {
            let mut rx = RtpReceiver::new(JitterConfig::default(), t0);
            for (i, p) in packets.iter().enumerate() {
                let p = RtpPacket::parse(p).expect("built above");
                rx.handle_packet(&p, Some(0), t0 + Duration::from_millis(i as u64 * 20));
                black_box(rx.poll_frame());
            }
            rx
        })
    });
}

fn wheel(c: &mut Criterion) {
    // 1,000 streams at 20 ms spread over the ptime; one tick per ms.
    let t0 = Instant::now();
    let mut w = TimerWheel::new(t0, Duration::from_millis(1), 256);
    for i in 0..1000u32 {
        w.insert(t0 + Duration::from_micros(u64::from(i) * 20), i);
    }
    let mut tick = 0u64;
    let mut due = Vec::with_capacity(1000);
    c.bench_function("wheel/1000 streams, one 1 ms tick", |b| {
        b.iter(|| {
            tick += 1;
            let now = t0 + Duration::from_millis(tick);
            w.poll_expired(now, &mut due);
            for k in due.drain(..) {
                w.insert(now + Duration::from_millis(20), k);
            }
            black_box(w.next_deadline())
        })
    });
}

fn engine(c: &mut Criterion) {
    // 1,000 calls sending comfort silence at 20 ms with their first sends
    // spread over one ptime: each 1 ms tick services ~50 calls (packet
    // build, G.711, received-audio VAD, RTCP check).
    let t0 = Instant::now();
    let mut e = MediaEngine::new(t0);
    for i in 0..1000u64 {
        let media = NegotiatedMedia {
            codec: Codec::Pcmu,
            payload_type: 0,
            telephone_event: Some(101),
            ptime: 20,
            direction: Direction::SendRecv,
            remote_rtp: Some("127.0.0.1:40000".parse().expect("literal address")),
            remote_rtcp: Some("127.0.0.1:40001".parse().expect("literal address")),
        };
        let start = t0 + Duration::from_micros(i * 20);
        e.add_call(
            CallMediaId(i),
            StreamConfig::new(media, "bench", 0),
            SenderInit::random(),
            start,
        );
    }
    let mut tick = 0u64;
    c.bench_function("engine/1000 calls, one 1 ms tick", |b| {
        b.iter(|| {
            tick += 1;
            e.handle_timeout(t0 + Duration::from_millis(tick));
            let mut n = 0;
            while let Some(t) = e.poll_transmit() {
                n += t.bytes.len();
            }
            black_box(n)
        })
    });
}

criterion_group!(benches, g711, jitter, wheel, engine);
criterion_main!(benches);
