#!/usr/bin/env bash
# Ingress reviews judged on the live cluster view: `serve --kubeconfig` against the API-server
# emulator (Tests/kube-emulator) seeded with examples/good and its generated Secrets, so the bench
# Ingress finds its Policy and Secrets. For each binary given, alternating, ROUNDS times: a fresh
# server, 2 s of wrk to warm it, then SECS s of wrk (16 keep-alive connections) with the server's
# CPU time over that window (/proc/PID/stat): requests/s and CPU per review. With two binaries
# (before, after) the per-round ratio after/before of CPU per review ends the output, as median
# (min-max). With BIN2 `--state`, the one binary runs on the live view and on `serve --state`
# over the same manifests (the view every other benchmark uses): the ratio is live/state.
# Everything shares this machine's cores: compare within the run.
# Usage: bench/webhook/live.sh BIN [BIN2 | --state] [seconds] [rounds]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
a=${1:?usage: bench/webhook/live.sh BIN [BIN2 | --state] [seconds] [rounds]}
b=${2:-}
secs=${3:-5}
rounds=${4:-3}
for tool in wrk curl openssl bc; do
  command -v $tool >/dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y -qq wrk curl openssl bc >/dev/null; } || true
  command -v $tool >/dev/null || { echo "error: $tool is required (apt-get install wrk curl openssl bc)" >&2; exit 1; }
done
python3 -c 'import aiohttp' 2>/dev/null || { echo "error: aiohttp is required (make deps)" >&2; exit 1; }
out=$(mktemp -d)
work_dir=$out
source bench/lib.sh
state=$(bench_state "$out/state")
python3 bench/webhook/make_bodies.py "$out/bodies" >/dev/null
start_emulator "$out/emu" "$out/emulator.log" --seed "$state"
hz=$(getconf CLK_TCK)
wrk_run() { # SECONDS PORT -> "requests/s requests"
  BODY_FILE="$out/bodies/ingress.json" wrk -t1 -c16 -d"$1s" -s bench/webhook/post.lua "https://localhost:$2/validate" 2>&1 |
    awk '/Requests\/sec/ {rps=$2} / requests in / {n=$1} END {printf "%.0f %d", rps, n}'
}
ratios=()
for round in $(seq "$rounds"); do
  line="round $round:"
  cpu=()
  for side in $( [ "$b" = --state ] && echo "state live" || echo "$a $b" ); do
    bin=$side view=(--kubeconfig "$out/emu/kubeconfig")
    case $side in
      state) bin=$a view=(--state "$state") ;;
      live) bin=$a ;;
    esac
    port=$(free_port); metrics_port=$(free_port)
    "$bin" serve --host 127.0.0.1 --port "$port" --metrics-port "$metrics_port" --certs-dir "$out/certs-$round" \
      "${view[@]}" --shutdown-delay 0 --log-level warning >"$out/server.log" 2>&1 &
    pid=$!
    track "$pid"
    wait_ready "http://127.0.0.1:$metrics_port/readyz" "$pid" "$out/server.log" 60
    wrk_run 2 "$port" >/dev/null
    c0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    read -r rps n <<<"$(wrk_run "$secs" "$port")"
    c1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    kill -TERM "$pid"; wait "$pid" || true; untrack "$pid"
    per=$(echo "scale=1; ($c1 - $c0) * 1000000 / $hz / $n" | bc)
    cpu+=("$per")
    line="$line $side ${rps}/s, ${per} us CPU per review;"
  done
  echo "$line"
  [ -z "$b" ] || ratios+=("$(awk -v x="${cpu[1]}" -v y="${cpu[0]}" 'BEGIN { printf "%.2f", x / y }')")
done
if [ -n "$b" ]; then
  printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "CPU per review, second/first: median %.2f (min %s, max %s) over %d rounds\n", m, v[1], v[NR], NR }'
fi
