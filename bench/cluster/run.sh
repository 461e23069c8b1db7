#!/usr/bin/env bash
# The live cluster view under a cluster-sized population: `mtls-guard serve --kubeconfig` against
# the API-server emulator (Tests/kube-emulator) holding 10,000 Secrets (half nginx.org/ca, half
# kubernetes.io/tls, RSA-2048), 5,000 Ingresses, 1,000 Policies and 500 VirtualServers.
# Measures, in one run:
#   - time from exec to /readyz 200 (every source listed, 500 per page, and watching);
#   - RSS after sync (VmRSS, and VmHWM the peak) from /proc;
#   - time from a change PUT to the emulator to the first review that shows it, over N changes;
#   - the Ingress review rate (wrk, 16 keep-alive connections) with no changes and while
#     100 changes/s stream in, alternated, repeated 3 times: the ratio churn/idle is the figure;
#     with the server's CPU time per review in both windows (from /proc/PID/stat), which a busy
#     machine disturbs less than the rate;
#   - the server's CPU to ingest 100 changes/s with no reviews, against a quiet window.
# Everything (emulator, churn client, wrk, server) shares this machine's cores: the rates are for
# comparison within the run, not absolute capacity.
# Usage: bench/cluster/run.sh [mtls-guard binary] [seconds per wrk run] [changes]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bin=${1:-.build/release/mtls-guard}
secs=${2:-10}
changes=${3:-1000}
rate=${CHURN_RATE:-100}
source bench/lib.sh
port=${BENCH_PORT:-$(free_port)}
metrics_port=${BENCH_METRICS_PORT:-$(free_port)}

[ -x "$bin" ] || { echo "error: $bin not found: build it first (make release)" >&2; exit 1; }
has_option "$bin" serve --kubeconfig || { echo "error: $bin has no serve --kubeconfig (live cluster view)" >&2; exit 1; }
for tool in wrk curl openssl; do
  command -v $tool >/dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y -qq wrk curl openssl >/dev/null; } || true
  command -v $tool >/dev/null || { echo "error: $tool is required (apt-get install wrk curl openssl)" >&2; exit 1; }
done
python3 -c 'import aiohttp' 2>/dev/null || { echo "error: aiohttp is required (make deps)" >&2; exit 1; }
for p in $port $metrics_port; do
  if (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "error: port $p is in use (a server left running?)" >&2; exit 1; fi
done

out=$(mktemp -d)
work_dir=$out
keys=bench/cluster/out/keys   # generated RSA material, reused across runs (git-ignored)
mkdir -p bench/cluster/out

echo "== emulator and population"
start_emulator "$out/emu" "$out/emulator.log" --history 20000 --bookmark-interval 5
t=$(date +%s%N)
python3 bench/cluster/population.py --dir "$out/emu" --keys "$keys"
echo "loaded in $(( ($(date +%s%N) - t) / 1000000 )) ms (including key generation on the first run)"

echo "== mtls-guard serve --kubeconfig"
t0=$(date +%s%N)
"$bin" serve --host 127.0.0.1 --port "$port" --metrics-port "$metrics_port" --certs-dir "$out/certs" \
  --kubeconfig "$out/emu/kubeconfig" --shutdown-delay 0 --log-level warning >"$out/server.log" 2>&1 &
pid=$!
track "$pid"
wait_ready "http://127.0.0.1:$metrics_port/readyz" "$pid" "$out/server.log" 120
ready_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' /proc/$pid/stat; }
sleep 1
rss=$(rss_mb "$pid")
hwm=$(awk '/VmHWM/ {printf "%.1f", $2/1024}' /proc/$pid/status)
echo "start to ready: ${ready_ms} ms"
echo "RSS after sync: ${rss} MB (peak so far ${hwm} MB)"

echo "== change visible to the next review ($changes changes)"
lat=$(python3 bench/cluster/measure.py latency --emulator "$out/emu" --webhook "https://localhost:$port" \
  --ca "$out/certs/ca.crt" --changes "$changes")
echo "$lat"

echo "RSS after the changes: $(rss_mb "$pid") MB"

echo "== Ingress review rate: idle vs $rate changes/s (wrk -c16, ${secs}s each, 3 rounds)"
python3 bench/cluster/measure.py body --out "$out/review.json"
wrk_run() { # -> "requests/s requests"
  BODY_FILE="$out/review.json" wrk -t1 -c16 -d"${secs}s" -s bench/webhook/post.lua "https://localhost:$port/validate" 2>&1 |
    awk '/Requests\/sec/ {rps=$2} / requests in / {n=$1} END {printf "%.0f %d", rps, n}'
}
ratios=()
cpu_ratios=()
for round in 1 2 3; do
  c0=$(cpu_ticks); read -r idle idle_n <<<"$(wrk_run)"; c1=$(cpu_ticks)
  python3 bench/cluster/measure.py churn --emulator "$out/emu" --rate "$rate" --seconds $((secs + 4)) >"$out/churn.json" &
  churn_pid=$!
  sleep 3   # the churn client lists its objects first, then streams
  c2=$(cpu_ticks); read -r busy busy_n <<<"$(wrk_run)"; c3=$(cpu_ticks)
  wait $churn_pid
  ratio=$(awk -v a="$busy" -v b="$idle" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
  ratios+=("$ratio")
  cpu_idle=$(awk -v t=$((c1 - c0)) -v n="$idle_n" -v hz="$hz" 'BEGIN { printf "%.1f", (n > 0 ? t * 1e6 / hz / n : 0) }')
  cpu_busy=$(awk -v t=$((c3 - c2)) -v n="$busy_n" -v hz="$hz" 'BEGIN { printf "%.1f", (n > 0 ? t * 1e6 / hz / n : 0) }')
  cpu_ratio=$(awk -v a="$cpu_idle" -v b="$cpu_busy" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
  cpu_ratios+=("$cpu_ratio")
  echo "round $round: idle ${idle}/s, under churn ${busy}/s ($(cat "$out/churn.json")), ratio $ratio;" \
       "server CPU per review ${cpu_idle} us idle, ${cpu_busy} us under churn (ratio $cpu_ratio); RSS $(rss_mb "$pid") MB"
done
median3() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { printf "median %s (min %s, max %s)", v[2], v[1], v[3] }'; }
echo "review rate churn/idle: $(median3 "${ratios[@]}")"
echo "server CPU per review idle/churn (the rate ratio a CPU-bound server reaches): $(median3 "${cpu_ratios[@]}")"

echo "== server CPU to ingest changes, no reviews (${secs}s windows)"
c0=$(cpu_ticks); sleep "$secs"; c1=$(cpu_ticks)
python3 bench/cluster/measure.py churn --emulator "$out/emu" --rate "$rate" --seconds $((secs + 4)) >"$out/churn.json" &
churn_pid=$!
sleep 3
c2=$(cpu_ticks); sleep "$secs"; c3=$(cpu_ticks)
wait $churn_pid
awk -v quiet=$((c1 - c0)) -v busy=$((c3 - c2)) -v secs="$secs" -v rate="$rate" -v hz="$hz" 'BEGIN {
  printf "quiet: %.1f%% of a core; %s changes/s: %.1f%% of a core, %.0f us CPU per change\n",
    quiet * 100 / hz / secs, rate, busy * 100 / hz / secs, (busy - quiet) * 1e6 / hz / (rate * secs) }'
hwm=$(awk '/VmHWM/ {printf "%.1f", $2/1024}' /proc/$pid/status)
rss=$(rss_mb "$pid")
echo "RSS at the end: ${rss} MB (peak ${hwm} MB)"
errors=$(curl -s "http://127.0.0.1:$metrics_port/metrics" | grep -E '^mtls_guard_cluster_(relists|watch_restarts|api_errors)' || true)
[ -z "$errors" ] || { echo "== live-view counters"; echo "$errors"; }
kill -TERM "$pid"
wait "$pid" && echo "server exited cleanly after SIGTERM"
