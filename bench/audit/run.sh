#!/usr/bin/env bash
# The background audit under bench/cluster's population (10,000 Secrets, 5,000 Ingresses,
# 1,000 Policies, 500 VirtualServers; every certificate expires within 30 days, so every Secret
# has a finding and 50 namespaces get a PolicyReport) plus `bench-audit`: one CA Secret named by
# 100 ingressMTLS Policies, each used by one Ingress (shared_ca.py).
#
# Alternates two servers on the same emulator, 3 rounds:
#   A: `serve --audit-interval 1h`: time of the first full pass (from its log line), then one
#      change of the shared CA Secret and the incremental pass it causes (objects re-judged,
#      seconds); then Ingress review latency with wrk while the audit is idle (the reference);
#   B: `serve --audit-interval 1s`: full passes back to back; review latency with wrk while they
#      run, and RSS sampled during the passes.
# Everything shares this machine's cores: compare within the run.
#   Latency is taken at a fixed 100 reviews/s (latency.py: what a stall costs a request) and
#   saturated with wrk (where any CPU the audit takes shows as queueing).
# Usage: bench/audit/run.sh [mtls-guard binary] [seconds per wrk run]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bin=${1:-.build/release/mtls-guard}
secs=${2:-10}
source bench/lib.sh

[ -x "$bin" ] || { echo "error: $bin not found: build it first (make release)" >&2; exit 1; }
has_option "$bin" serve --audit-interval || { echo "error: $bin has no serve --audit-interval" >&2; exit 1; }
for tool in wrk curl openssl; do
  command -v $tool >/dev/null || { echo "error: $tool is required (apt-get install wrk curl openssl)" >&2; exit 1; }
done

out=$(mktemp -d)
work_dir=$out
keys=bench/cluster/out/keys
mkdir -p bench/cluster/out

echo "== emulator and population"
start_emulator "$out/emu" "$out/emulator.log" --history 50000 --bookmark-interval 5
python3 bench/cluster/population.py --dir "$out/emu" --keys "$keys"
python3 bench/audit/shared_ca.py load --dir "$out/emu" --keys "$keys" >/dev/null
python3 bench/cluster/measure.py body --out "$out/review.json"

pid=""
start_server() { # interval
  port=$(free_port); metrics_port=$(free_port)
  "$bin" serve --host 127.0.0.1 --port "$port" --metrics-port "$metrics_port" --certs-dir "$out/certs" \
    --kubeconfig "$out/emu/kubeconfig" --shutdown-delay 0 --audit-interval "$1" >"$out/server.log" 2>&1 &
  pid=$!
  track "$pid"
  wait_ready "http://127.0.0.1:$metrics_port/readyz" "$pid" "$out/server.log" 180
}
stop_server() { kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; }
# The n-th "audit pass" log line matching a filter, as "judged seconds".
pass_line() { # jq-like filter on full: true|false ; waits up to 300 s
  local full=$1 n=${2:-1} t0=$(date +%s)
  while :; do
    line=$(grep '"audit pass"' "$out/server.log" | grep "\"full\":\"$full\"" | sed -n "${n}p" || true)
    [ -n "$line" ] && break
    [ $(( $(date +%s) - t0 )) -lt 300 ] || { echo "no audit pass ($full) in 300 s" >&2; tail -5 "$out/server.log" >&2; exit 1; }
    sleep 0.1
  done
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["judged"], r["seconds"])' "$line"
}
wrk_p99() { # -> "p99_ms requests/s"
  BODY_FILE="$out/review.json" wrk -t1 -c8 -d"${secs}s" --latency -s bench/webhook/post.lua "https://localhost:$port/validate" 2>&1 |
    awk '/^ +99%/ { v=$2; if (v ~ /us$/) { sub(/us/,"",v); v/=1000 } else if (v ~ /ms$/) { sub(/ms/,"",v) } else if (v ~ /s$/) { sub(/s/,"",v); v*=1000 } p=v }
         /Requests\/sec/ { r=$2 } END { printf "%.2f %.0f", p, r }'
}
fixed_rate() { # -> "p50 p99 max count" at 100 reviews/s
  python3 bench/audit/latency.py --url "https://localhost:$port/validate" --ca "$out/certs/ca.crt" --body "$out/review.json" \
    --rate 100 --seconds "$secs"
}
passes() { curl -s "http://127.0.0.1:$metrics_port/metrics" | awk '/^mtls_guard_audit_passes_total\{pass="full"\}/ {print $2}'; }

ratios=()
for round in 1 2 3; do
  echo "== round $round"
  start_server 1h
  read -r judged seconds <<<"$(pass_line true 1)"
  echo "A first full pass: $judged objects in $seconds s; RSS $(rss_mb "$pid") MB"
  python3 bench/audit/shared_ca.py change --dir "$out/emu" --keys "$keys" --generation "$round"
  read -r rejudged rseconds <<<"$(pass_line false 1)"
  echo "A shared CA changed: $rejudged objects re-judged in $rseconds s"
  sleep 1
  read -r idle_p50 idle_p99 idle_max _ <<<"$(fixed_rate)"
  read -r idle_wrk_p99 idle_rps <<<"$(wrk_p99)"
  echo "A audit idle: at 100 reviews/s p50 ${idle_p50} ms p99 ${idle_p99} ms max ${idle_max} ms;" \
       "saturated (wrk -c8) p99 ${idle_wrk_p99} ms at ${idle_rps}/s; RSS $(rss_mb "$pid") MB"
  stop_server

  start_server 1s
  pass_line true 1 >/dev/null
  before=$(passes)
  max_rss=0
  ( while kill -0 "$pid" 2>/dev/null; do awk '/VmRSS/ {print $2}' /proc/$pid/status; sleep 0.2; done ) >"$out/rss.txt" 2>/dev/null &
  sampler=$!
  read -r busy_p50 busy_p99 busy_max _ <<<"$(fixed_rate)"
  read -r busy_wrk_p99 busy_rps <<<"$(wrk_p99)"
  kill "$sampler" 2>/dev/null || true
  after=$(passes)
  max_rss=$(sort -n "$out/rss.txt" | tail -1 | awk '{printf "%.1f", $1/1024}')
  read -r fj fs <<<"$(pass_line true 2)"
  echo "B passes back to back ($((after - before)) full passes completed while measuring, e.g. $fj objects in $fs s):" \
       "at 100 reviews/s p50 ${busy_p50} ms p99 ${busy_p99} ms max ${busy_max} ms;" \
       "saturated p99 ${busy_wrk_p99} ms at ${busy_rps}/s; max RSS during passes ${max_rss} MB"
  ratios+=("$(awk -v a="$busy_p99" -v b="$idle_p99" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')")
  stop_server
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { printf "review p99 at 100/s during passes / idle: median %s (min %s, max %s)\n", v[2], v[1], v[3] }'
