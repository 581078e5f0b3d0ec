#!/usr/bin/env python3
"""RTP send-jitter sink for `vxp serve` load runs (docs/PERFORMANCE.md).

Binds a UDP port that sipp's SDP names as every call's media address, takes
the kernel's receive timestamp of each packet (SO_TIMESTAMPNS, so the sink's
own scheduling delay does not count), and reports how far each stream's
gap between consecutive sequence numbers strays from the 20 ms ptime: p50/p99/max over all gaps,
packets, streams, and the peak number of streams active in one second.

Losses are counted per stream from the sequence numbers (expected minus
received) and set against the kernel's count of datagrams this socket
dropped for want of buffer space (SO_RXQ_OVFL): when the two agree, every
lost packet was lost here, not by the sender.

To measure reliably on a busy machine the sink asks for a 32 MB receive
buffer (SO_RCVBUFFORCE when it may, beyond net.core.rmem_max) and, when it
may, the real-time class SCHED_FIFO at SINK_RT_PRIORITY (default 5: below
the platform's media thread at 10, above every normal process).

usage: rtp_sink.py PORT SECONDS
"""
import os
import socket
import struct
import sys
import time

SO_TIMESTAMPNS = 35
SO_RCVBUFFORCE = 33
SO_RXQ_OVFL = 40
port, seconds = int(sys.argv[1]), float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 32 << 20)
except PermissionError:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
s.setsockopt(socket.SOL_SOCKET, SO_RXQ_OVFL, 1)
s.bind(("127.0.0.1", port))
s.settimeout(0.5)
rcvbuf = s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
priority = int(os.environ.get("SINK_RT_PRIORITY", "5"))
sched = "normal"
if priority > 0:
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
        sched = f"SCHED_FIFO {priority}"
    except (PermissionError, AttributeError, OSError):
        pass
print(f"sink: rcvbuf {rcvbuf} bytes, scheduling {sched}", flush=True)
# ssrc -> [last ts, last seq, first extended seq, highest extended seq, received]
streams = {}
devs = []
packets = 0
skipped = 0
dropped = 0
active = {}
end = time.time() + seconds
while time.time() < end:
    try:
        data, anc, _, _ = s.recvmsg(2048, 128)
    except socket.timeout:
        continue
    if len(data) < 12:
        continue
    ts = None
    for level, kind, payload in anc:
        if level != socket.SOL_SOCKET:
            continue
        if kind == SO_TIMESTAMPNS:
            sec, nsec = struct.unpack("qq", payload[:16])
            ts = sec * 1_000_000_000 + nsec
        elif kind == SO_RXQ_OVFL:
            # The socket's running total of datagrams dropped so far.
            dropped = max(dropped, struct.unpack("I", payload[:4])[0])
    if ts is None:
        continue
    packets += 1
    pt = data[1] & 0x7F
    seq, _, ssrc = struct.unpack("!HII", data[2:12])
    active.setdefault(ts // 1_000_000_000, set()).add(ssrc)
    st = streams.get(ssrc)
    if st is None:
        streams[ssrc] = [ts, seq, seq, seq, 1]
        continue
    # Extend the 16-bit sequence number across wraps (RFC 3550 A.1).
    ext = st[3] + ((seq - st[3]) & 0xFFFF)
    if ((seq - st[3]) & 0xFFFF) > 0x8000:
        ext = st[3] - ((st[3] - seq) & 0xFFFF)
    st[3] = max(st[3], ext)
    st[4] += 1
    prev_ts, prev_seq = st[0], st[1]
    st[0], st[1] = ts, seq
    if pt != 0:
        continue
    if seq == (prev_seq + 1) & 0xFFFF:
        devs.append(abs(ts - prev_ts - 20_000_000))
    else:
        # A packet missing here was dropped by this sink's socket or the
        # loopback (counted apart); a gap across it is not a send gap.
        skipped += 1
devs.sort()
pct = lambda p: devs[min(len(devs) - 1, int(round((len(devs) - 1) * p)))] / 1e6 if devs else 0.0
lost = sum(max(0, st[3] - st[2] + 1 - st[4]) for st in streams.values())
over2 = sum(1 for d in devs if d > 2_000_000)
print(f"packets {packets} streams {len(streams)} gaps {len(devs)} "
      f"seq_jumps {skipped} peak_streams_per_s {max((len(v) for v in active.values()), default=0)}")
print(f"lost {lost} (sink socket drops {dropped})")
print(f"send jitter |gap-20ms| ms: p50 {pct(0.5):.3f} p99 {pct(0.99):.3f} "
      f"p99.9 {pct(0.999):.3f} max {pct(1.0):.3f} over_2ms {over2}")
