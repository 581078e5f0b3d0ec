//! Send-time jitter of the media thread: N concurrent calls (default 1,000)
//! each sending G.711 at 20 ms ptime from one `MediaDriver` to a loopback
//! sink; the sink timestamps every packet and reports how far each call's
//! inter-packet gap strays from 20 ms (p50/p99/max), plus the media
//! process's CPU time per call.
//!
//! Run: `cargo bench -p vxp-platform --bench media_jitter -- [calls] [seconds]`

use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vxp_platform::media::driver::{MediaDriver, MediaDriverConfig};
use vxp_platform::media::engine::CallMediaId;
use vxp_platform::media::stream::StreamConfig;
use vxp_platform::media::tts::ToneSynthesizer;
use vxp_platform::sdp::{Codec, Direction, NegotiatedMedia};

fn cpu_seconds() -> f64 {
    // utime and stime of this process, in clock ticks (fields 14 and 15).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let calls: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let secs: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10);

    let sink = UdpSocket::bind("127.0.0.1:0").expect("bind the sink");
    sink.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("set a read timeout");
    let sink_addr = sink.local_addr().expect("sink address");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (media, _events) = MediaDriver::spawn(
        MediaDriverConfig {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            rtp_ports: 0..=0,
            ..MediaDriverConfig::default()
        },
        Arc::new(ToneSynthesizer),
    )
    .expect("media thread");
    rt.block_on(async {
        for i in 0..calls {
            let id = CallMediaId(i);
            media.open(id).await.expect("open a call");
            media.start(
                id,
                StreamConfig::new(
                    NegotiatedMedia {
                        codec: Codec::Pcmu,
                        payload_type: 0,
                        telephone_event: Some(101),
                        ptime: 20,
                        direction: Direction::SendRecv,
                        remote_rtp: Some(sink_addr),
                        remote_rtcp: None,
                    },
                    "bench",
                    0,
                ),
            );
            // Spread the call starts over one ptime as real arrivals would.
            if i % 50 == 49 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    });
    // Let every stream start, then measure.
    std::thread::sleep(Duration::from_millis(500));
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let mut last: HashMap<u32, Instant> = HashMap::new();
    let mut deviations_us: Vec<u64> = Vec::new();
    let mut packets = 0u64;
    let mut buf = [0u8; 2048];
    while start.elapsed() < Duration::from_secs(secs) {
        let Ok((n, _)) = sink.recv_from(&mut buf) else {
            continue;
        };
        let at = Instant::now();
        if n < 12 {
            continue;
        }
        packets += 1;
        let ssrc = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
        if let Some(prev) = last.insert(ssrc, at) {
            let gap = at.duration_since(prev).as_micros() as i64;
            deviations_us.push((gap - 20_000).unsigned_abs());
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    deviations_us.sort_unstable();
    // The report is this program's output (a benchmark, not a library).
    let mut out = std::io::stdout().lock();
    let expected = calls as f64 * elapsed * 50.0;
    let _ = writeln!(
        out,
        "calls={calls} seconds={elapsed:.1} packets={packets} ({:.1}% of {expected:.0} expected)",
        packets as f64 / expected * 100.0
    );
    let _ = writeln!(
        out,
        "send jitter |gap-20ms|: p50={}us p99={}us max={}us",
        percentile(&deviations_us, 0.5),
        percentile(&deviations_us, 0.99),
        deviations_us.last().copied().unwrap_or(0)
    );
    let _ = writeln!(
        out,
        "cpu (media thread + sink) = {:.2} s over {elapsed:.1} s = {:.1}% of one core, {:.3}% per call",
        cpu,
        cpu / elapsed * 100.0,
        cpu / elapsed * 100.0 / calls as f64
    );
}
