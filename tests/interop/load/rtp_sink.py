#!/usr/bin/env python3
"""RTP send-jitter sink for `vxp serve` load runs (docs/PERFORMANCE.md).

Binds a UDP port that sipp's SDP names as every call's media address, takes
the kernel's receive timestamp of each packet (SO_TIMESTAMPNS, so the sink's
own scheduling delay does not count), and reports how far each stream's
gap between consecutive sequence numbers strays from the 20 ms ptime: p50/p99/max over all gaps,
packets, streams, and the peak number of streams active in one second.

usage: rtp_sink.py PORT SECONDS
"""
import socket
import struct
import sys
import time

SO_TIMESTAMPNS = 35
port, seconds = int(sys.argv[1]), float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
s.bind(("127.0.0.1", port))
s.settimeout(0.5)
last = {}
devs = []
packets = 0
skipped = 0
active = {}
end = time.time() + seconds
while time.time() < end:
    try:
        data, anc, _, _ = s.recvmsg(2048, 64)
    except socket.timeout:
        continue
    if len(data) < 12:
        continue
    ts = None
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            sec, nsec = struct.unpack("qq", payload[:16])
            ts = sec * 1_000_000_000 + nsec
    if ts is None:
        continue
    packets += 1
    pt = data[1] & 0x7F
    seq, _, ssrc = struct.unpack("!HII", data[2:12])
    active.setdefault(ts // 1_000_000_000, set()).add(ssrc)
    if pt != 0:
        continue
    prev = last.get(ssrc)
    last[ssrc] = (ts, seq)
    if prev is None:
        continue
    if seq == (prev[1] + 1) & 0xFFFF:
        devs.append(abs(ts - prev[0] - 20_000_000))
    else:
        # A packet missing here was dropped by this sink's socket or the
        # loopback (counted apart); a gap across it is not a send gap.
        skipped += 1
devs.sort()
pct = lambda p: devs[min(len(devs) - 1, int(round((len(devs) - 1) * p)))] / 1e6 if devs else 0.0
print(f"packets {packets} streams {len(last)} gaps {len(devs)} "
      f"seq_jumps {skipped} peak_streams_per_s {max((len(v) for v in active.values()), default=0)}")
print(f"send jitter |gap-20ms| ms: p50 {pct(0.5):.3f} p99 {pct(0.99):.3f} "
      f"p99.9 {pct(0.999):.3f} max {pct(1.0):.3f}")
