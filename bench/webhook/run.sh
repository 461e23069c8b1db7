#!/usr/bin/env bash
# Benchmarks mtls-guard's /validate against nginx serving a static AdmissionReview over TLS (the
# ceiling), in the same run, on loopback. Needs: nginx-light, wrk (installed if missing, as root).
# Requests carry ?timeout=10s, as the API server sends them (timeoutSeconds, default 10).
# Each pair (ours, nginx) runs RUNS times (default 3), alternating, and the ratio of each pair is
# reported as median (min-max).
# Usage: bench/webhook/run.sh [seconds-per-run]     MTLS_GUARD_BIN=... to measure another build
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
secs=${1:-10}
runs=${RUNS:-3}
bin=${MTLS_GUARD_BIN:-.build/release/mtls-guard}
for tool in nginx wrk curl openssl; do
  command -v $tool >/dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y -qq nginx-light wrk >/dev/null; } || true
  command -v $tool >/dev/null || { echo "error: $tool is required (apt-get install nginx-light wrk)"; exit 1; }
done
out=$(mktemp -d)
work_dir=$out
source bench/lib.sh
python3 bench/webhook/make_bodies.py "$out/bodies" >/dev/null
state=$(bench_state "$out/examples")

for port in 18443 18444 19090; do
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then echo "error: port $port is in use (a server left running?)" >&2; exit 1; fi
done

# Server (start to ready is measured by bench/startup/run.py: this curl loop would count curl's own start).
"$bin" serve --host 127.0.0.1 --port 18443 --metrics-port 19090 --certs-dir "$out/certs" \
  --state "$state" --shutdown-delay 0 --log-level warning >"$out/server.log" 2>&1 &
pid=$!
track "$pid"
wait_ready http://127.0.0.1:19090/readyz "$pid" "$out/server.log" 30
reset_peak_rss "$pid"

# nginx: same certificate, one worker, static AdmissionReview.
answer='{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"bench","allowed":true}}'
cat >"$out/nginx.conf" <<CONF
worker_processes 1;
pid $out/nginx.pid;
error_log $out/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $out/body; proxy_temp_path $out/proxy;
  fastcgi_temp_path $out/fcgi; uwsgi_temp_path $out/uwsgi; scgi_temp_path $out/scgi;
  client_max_body_size 8m;
  client_body_buffer_size 64k;
  server {
    listen 127.0.0.1:18444 ssl;
    ssl_certificate $out/certs/tls.crt;
    ssl_certificate_key $out/certs/tls.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    keepalive_requests 100000;
    location /validate { default_type application/json; return 200 '$answer'; }
  }
}
CONF
# In the foreground (daemon off) as a job of this script, so cleanup always stops it.
nginx -c "$out/nginx.conf" -p "$out" -g 'daemon off;' &
track "$!"
until curl -sfk -o /dev/null -X POST https://127.0.0.1:18444/validate; do sleep 0.05; done

run() { # url body close delay connections -> "rps p50_ms p99_ms"
  BODY_FILE=$2 CLOSE=$3 DELAY_MS=$4 wrk -t1 -c"$5" -d"${secs}s" --latency -s bench/webhook/post.lua "$1" 2>&1 |
    awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
         function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
         END { printf "%.0f %.2f %.2f", rps, ms(p50), ms(p99) }'
}

printf '%-12s %-10s %12s %12s %22s %10s %10s\n' body transport mtls-guard nginx 'ratio med (min-max)' p50_ms p99_ms
for body in ingress deployment secret; do
  for close in 0 1; do
    transport=$([ $close = 1 ] && echo new-conn || echo keep-alive)
    results=()
    for _ in $(seq 1 "$runs"); do
      read -r ours p50 p99 <<<"$(run "https://127.0.0.1:18443/validate?timeout=10s" "$out/bodies/$body.json" $close 0 16)"
      read -r theirs _ _ <<<"$(run https://127.0.0.1:18444/validate "$out/bodies/$body.json" $close 0 16)"
      results+=("$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }') $ours $theirs $p50 $p99")
    done
    # The median run by ratio gives the rates and latencies shown; min-max is the ratio's spread.
    printf '%s\n' "${results[@]}" | sort -n | awk -v body=$body -v transport=$transport '{ r[NR] = $0 } END {
      split(r[int((NR + 1) / 2)], m, " "); split(r[1], lo, " "); split(r[NR], hi, " ")
      printf "%-12s %-10s %12s %12s %22s %10s %10s\n", body, transport, m[2], m[3], sprintf("%.2f (%.2f-%.2f)", m[1], lo[1], hi[1]), m[4], m[5] }' |
      tee -a "$out/table"
  done
done
max_rps=$(awk '$1 == "ingress" && $2 == "keep-alive" { print $3 }' "$out/table")

# Latency at half the maximum keep-alive rate: 16 connections, each pausing to offer max/2 in all.
delay=$(awk -v m="$max_rps" 'BEGIN { d = 16 * 1000 / (m / 2); printf "%d", (d < 1 ? 1 : d) }')
read -r half p50 p99 <<<"$(run "https://127.0.0.1:18443/validate?timeout=10s" "$out/bodies/ingress.json" 0 "$delay" 16)"
echo "ingress at ~half load (offered $((max_rps / 2))/s, achieved $half/s): p50 ${p50} ms, p99 ${p99} ms"
echo "peak RSS under load (VmHWM reset after start-up): $(peak_rss "$pid")"
echo "start to ready: make bench-startup"
kill -TERM "$pid"
wait "$pid" && echo "server exited cleanly after SIGTERM"
untrack "$pid"
