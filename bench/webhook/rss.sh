#!/usr/bin/env bash
# Resident memory of `serve` over a long run: Deployment reviews on 16 keep-alive connections over
# loopback TLS until TOTAL requests (default 1,000,000) or MAX_SECONDS (default 300) have passed,
# sampling RSS after each CHUNK-second wrk run. Prints the start-up peak and the idle RSS once the
# start-up pages are released (reset_peak_rss in bench/lib.sh), RSS at the sample nearest 100,000
# requests and at the end, the difference (the aim: flat, within 2 MB), the peak under the load
# (VmHWM, reset after start-up) and the RSS idle again.
# Requests carry ?timeout=10s, as the API server sends them (timeoutSeconds, default 10).
# Usage: bench/webhook/rss.sh        MTLS_GUARD_BIN=... TOTAL=... MAX_SECONDS=... CHUNK=...
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bin=${MTLS_GUARD_BIN:-.build/release/mtls-guard}
total=${TOTAL:-1000000}
max_seconds=${MAX_SECONDS:-300}
chunk=${CHUNK:-5}
connections=${CONNECTIONS:-16}
for tool in wrk curl openssl; do
  command -v $tool >/dev/null || { echo "error: $tool is required (apt-get install wrk curl openssl)"; exit 1; }
done
out=$(mktemp -d)
work_dir=$out
source bench/lib.sh
python3 bench/webhook/make_bodies.py "$out/bodies" >/dev/null
state=$(bench_state "$out/examples")
if (exec 3<>/dev/tcp/127.0.0.1/18453) 2>/dev/null; then echo "error: port 18453 is in use" >&2; exit 1; fi
"$bin" serve --host 127.0.0.1 --port 18453 --metrics-port 19093 --certs-dir "$out/certs" \
  --state "$state" --shutdown-delay 0 --log-level warning >"$out/server.log" 2>&1 &
pid=$!
track "$pid"
wait_ready http://127.0.0.1:19093/readyz "$pid" "$out/server.log" 30
reset_peak_rss "$pid"

done_requests=0
start=$(date +%s)
at_100k=
printf '%12s %10s\n' requests rss_mb
while [ "$done_requests" -lt "$total" ] && [ $(( $(date +%s) - start )) -lt "$max_seconds" ]; do
  n=$(BODY_FILE=$out/bodies/deployment.json CLOSE=0 DELAY_MS=0 wrk -t1 -c"$connections" -d"${chunk}s" \
        -s bench/webhook/post.lua "https://127.0.0.1:18453/validate?timeout=10s" 2>&1 | awk '/requests in/ {print $1}')
  done_requests=$((done_requests + ${n:-0}))
  now=$(rss_mb "$pid")
  printf '%12d %10s\n' "$done_requests" "$now"
  if [ -z "$at_100k" ] && [ "$done_requests" -ge 100000 ]; then at_100k=$now; fi
done
end=$(rss_mb "$pid")
echo "RSS at ~100,000 requests: ${at_100k:-n/a} MB; at $done_requests requests: $end MB;" \
  "difference: $(awk -v a="${at_100k:-$end}" -v b="$end" 'BEGIN { printf "%+.1f", b - a }') MB"
echo "peak RSS under load (VmHWM reset after start-up): $(peak_rss "$pid")"
sleep 1
echo "RSS idle again: $(rss_mb "$pid") MB"
