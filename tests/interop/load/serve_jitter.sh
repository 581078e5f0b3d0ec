#!/usr/bin/env bash
# RTP send jitter of `vxp serve` under sipp load (docs/PERFORMANCE.md, "vxp serve under SIP load").
# usage: [VXP_REALTIME=0] [VXP_WRAP="nice -n -15"] serve_jitter.sh VXP_BINARY [RATE] [CALLS]
# sipp places CALLS calls at RATE calls/s; each plays a 30 s prompt (20 ms PCMU) whose RTP goes to
# rtp_sink.py (every call's SDP names the sink's port), and ends with the platform's BYE.
# The media thread runs SCHED_FIFO when the script may (root or CAP_SYS_NICE); VXP_REALTIME=0 runs
# it in the normal class for comparison. The last line is a one-line summary for the docs.
set -euo pipefail
vxp=$1; rate=${2:-100}; calls=${3:-1000}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d); trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
cp "$here/long.vxml" "$work/"
sox -n -r 8000 -c 1 -b 16 "$work/tone30.wav" synth 30 sine 500 vol 0.3
sink_port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -e "s/m=audio \[media_port\]/m=audio $sink_port/" -e 's/c=IN IP\[media_ip_type\] \[media_ip\]/c=IN IP4 127.0.0.1/' \
    "$here/../sipp/platform_bye.xml" > "$work/load.xml"
config=()
if [ "${VXP_REALTIME:-1}" = 0 ]; then
    printf '[media]\nrealtime = false\nnice = 0\n' > "$work/vxp.toml"
    config=(--config "$work/vxp.toml")
fi
${VXP_WRAP:-} "$vxp" serve "${config[@]}" --sip 127.0.0.1:0 --http 127.0.0.1:0 --root "$work" --default-app long.vxml \
    --workers 2 --max-calls 3000 > "$work/serve.out" 2>&1 &
server=$!
for _ in $(seq 50); do grep -q "sip udp" "$work/serve.out" && break; sleep 0.1; done
sip=$(grep -o "sip udp [0-9.:]*" "$work/serve.out" | awk '{print $3}')
duration=$(( calls / rate + 35 ))
python3 "$here/rtp_sink.py" "$sink_port" "$duration" > "$work/sink.out" &
sink=$!
cpu0=$(awk '{print $14+$15}' /proc/$server/stat)
load0=$(cut -d' ' -f1 /proc/loadavg)
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
media_sched="?"
for t in /proc/$server/task/*; do
    if [ "$(cat "$t/comm")" = vxp-media ]; then
        media_sched=$(awk '{p=$41; r=$40; print (p==1?"SCHED_FIFO "r:(p==2?"SCHED_RR "r:"normal nice "$19))}' "$t/stat")
    fi
done
echo "media thread: $media_sched"
sipp "$sip" -sf "$work/load.xml" -s long -r "$rate" -m "$calls" -l $((calls + 500)) -i 127.0.0.1 \
    -nostdin -timeout $((duration + 30))s -trace_stat -stf "$work/stat.csv" >/dev/null 2>&1 || true
wait $sink || true
sleep 3
cpu1=$(awk '{print $14+$15}' /proc/$server/stat)
load1=$(cut -d' ' -f1 /proc/loadavg)
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$work/sink.out"
sipp_line=$(python3 -c 'import sys; r=[l.split(";") for l in open(sys.argv[1]).read().splitlines()]; h,v=r[0],r[-1]; print(*(f"{k} {v[h.index(k)]}" for k in ("TotalCallCreated","SuccessfulCall(C)","FailedCall(C)")))' "$work/stat.csv")
echo "sipp: $sipp_line"
cpu_ms=$(( (cpu1 - cpu0) * 10 ))
echo "server cpu ${cpu_ms} ms over $calls calls, rss $(awk '/VmHWM/{print $2, $3}' /proc/$server/status)"
python3 - "$work/sink.out" "$sipp_line" "$cpu_ms" "$calls" "$rate" "$media_sched" "$load0" "$load1" <<'PY'
import re, sys
sink, sipp, cpu_ms, calls, rate, sched, load0, load1 = sys.argv[1:]
text = open(sink).read()
num = lambda key: re.search(rf"{key} ([0-9.]+)", text).group(1)
ok = re.search(r"SuccessfulCall\(C\) (\d+)", sipp).group(1)
packets = int(num("packets"))
per_packet = int(cpu_ms) * 1000 / packets if packets else 0
print(f"summary: {calls} calls at {rate}/s, {ok}/{calls} completed, media {sched}, load {load0}->{load1}: "
      f"jitter p50 {num('p50')} p99 {num('p99')} p99.9 {num('p99.9')} max {num('max')} ms, "
      f"{num('over_2ms')} gaps over 2 ms of {num('gaps')}, lost {num('lost')} "
      f"(sink drops {num('drops')}), server cpu {int(cpu_ms) / 1000:.1f} s ({per_packet:.1f} us/packet)")
PY
