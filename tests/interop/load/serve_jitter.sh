#!/usr/bin/env bash
# RTP send jitter of `vxp serve` under sipp load (docs/PERFORMANCE.md, "vxp serve under SIP load").
# usage: [VXP_WRAP="nice -n -15"] serve_jitter.sh VXP_BINARY [RATE] [CALLS]
# sipp places CALLS calls at RATE calls/s; each plays a 30 s prompt (20 ms PCMU) whose RTP goes to
# rtp_sink.py (every call's SDP names the sink's port), and ends with the platform's BYE.
set -euo pipefail
vxp=$1; rate=${2:-100}; calls=${3:-1000}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d); trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
cp "$here/long.vxml" "$work/"
sox -n -r 8000 -c 1 -b 16 "$work/tone30.wav" synth 30 sine 500 vol 0.3
sink_port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -e "s/m=audio \[media_port\]/m=audio $sink_port/" -e 's/c=IN IP\[media_ip_type\] \[media_ip\]/c=IN IP4 127.0.0.1/' \
    "$here/../sipp/platform_bye.xml" > "$work/load.xml"
${VXP_WRAP:-} "$vxp" serve --sip 127.0.0.1:0 --http 127.0.0.1:0 --root "$work" --default-app long.vxml \
    --workers 2 --max-calls 3000 > "$work/serve.out" 2>&1 &
server=$!
for _ in $(seq 50); do grep -q "sip udp" "$work/serve.out" && break; sleep 0.1; done
sip=$(grep -o "sip udp [0-9.:]*" "$work/serve.out" | awk '{print $3}')
duration=$(( calls / rate + 35 ))
python3 "$here/rtp_sink.py" "$sink_port" "$duration" > "$work/sink.out" &
sink=$!
cpu0=$(awk '{print $14+$15}' /proc/$server/stat)
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
sipp "$sip" -sf "$work/load.xml" -s long -r "$rate" -m "$calls" -l $((calls + 500)) -i 127.0.0.1 \
    -nostdin -timeout $((duration + 30))s -trace_stat -stf "$work/stat.csv" >/dev/null 2>&1 || true
wait $sink || true
sleep 3
cpu1=$(awk '{print $14+$15}' /proc/$server/stat)
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$work/sink.out"
python3 -c 'import sys; r=[l.split(";") for l in open(sys.argv[1]).read().splitlines()]; h,v=r[0],r[-1]; print("sipp:", *(f"{k} {v[h.index(k)]}" for k in ("TotalCallCreated","SuccessfulCall(C)","FailedCall(C)")))' "$work/stat.csv"
echo "server cpu $(( (cpu1 - cpu0) ))0 ms over $calls calls, rss $(awk '/VmHWM/{print $2, $3}' /proc/$server/status)"
