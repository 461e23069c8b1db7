#!/usr/bin/env bash
# Instruction profiles (valgrind callgrind: counts instructions, so repeatable on a noisy machine)
# of the two hot paths, release build:
#   engine: decode + review + encode of bench/webhook's Ingress review and freeing the decoded
#           request, N times in-process (the Ingress against a generated view, and against the view
#           bench/webhook gives serve, examples/good with its Secrets),
#           then its Deployment review, and the CA Secret UPDATE with the Secret in use;
#   serve:  the server sampled by perf under wrk load (Deployment reviews, 16 connections).
# Prints the top functions by inclusive instructions per profile (demangled), and instructions
# per request. Usage: bench/profile.sh [engine-iterations]
# ENGINE_BENCH_BIN / MTLS_GUARD_BIN: profile other builds (no build then); PROFILE_DIR keeps the output.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
iterations=${1:-2000}
command -v valgrind >/dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y -qq valgrind >/dev/null; } || true
command -v valgrind >/dev/null || { echo "error: valgrind is required (apt-get install valgrind)" >&2; exit 1; }
[ -n "${ENGINE_BENCH_BIN:-}" ] || swift build -c release --product mtls-guard-engine-bench >/dev/null
[ -n "${MTLS_GUARD_BIN:-}" ] || swift build -c release --product mtls-guard >/dev/null
bench=${ENGINE_BENCH_BIN:-.build/release/mtls-guard-engine-bench}
bin=${MTLS_GUARD_BIN:-.build/release/mtls-guard}
out=${PROFILE_DIR:-$(mktemp -d)}
mkdir -p "$out"
source bench/lib.sh
python3 bench/webhook/make_bodies.py "$out/bodies" >/dev/null
state=$(bench_state "$out/examples")

top() { # callgrind.out label count
  local total
  total=$(callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  echo "== $2: $total instructions in all, $(awk -v t="$total" -v n="$3" 'BEGIN { printf "%.0f", t / n }') per request"
  callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null |
    awk '/^-+$/ {sep++; next} sep >= 3 && NF > 1 && $1 ~ /^[0-9,]+$/' | head -"${TOP:-40}" |
    swift demangle --simplified | sed -E 's/ \[[^]]*\]$//' | cut -c1-200 || true  # head closes the pipe early
}

# valgrind 3.19 cannot read the DWARF 5 the Swift toolchain emits: profile copies without it (the
# symbol table still names every function).
objcopy --strip-debug "$bench" "$out/engine-bench" && bench=$out/engine-bench
objcopy --strip-debug "$bin" "$out/mtls-guard" && bin=$out/mtls-guard
# Only the loop's `fullReview` is counted: decode, review, encode and freeing the decoded request
# (freeing is about a tenth of it); no set-up, no key generation.
collect=(--collect-atstart=no '--toggle-collect=$s23mtls_guard_engine_bench10fullReview*')
engine() { # name body kind count label [top]: one callgrind profile of the bench's review loop
  ENGINE_BENCH_BODY=$out/bodies/$2.json ENGINE_BENCH_STATE=$state valgrind --tool=callgrind "${collect[@]}" --callgrind-out-file="$out/$1.out" \
    "$bench" profile "$4" "$3" >/dev/null 2>&1
  TOP=${6:-25} top "$out/$1.out" "engine, $5 (decode + review + encode + freeing) x $4" "$4"
}
engine engine ingress ingress "$iterations" "Ingress review" "${TOP:-40}"
# The same Ingress against the view bench/webhook's serve has (its Policy, Secrets and Services present).
engine engine-served ingress ingress-served "$iterations" "Ingress review, serve's view"
# The profile's "ingress" loop reviews whatever ENGINE_BENCH_BODY holds: here the Deployment review.
engine deployment deployment ingress "$iterations" "Deployment review"
engine secret ingress secret-update $((iterations / 10)) "CA Secret UPDATE (Secret in use)"

# serve: valgrind 3.19 crashes in libdispatch's thread start-up, so the server is sampled with
# perf (cycles, call graphs) while wrk sends Deployment reviews on 16 keep-alive connections.
port=18463
"$bin" serve --host 127.0.0.1 --port $port --metrics-port 0 --certs-dir "$out/certs" --state "$state" \
  --shutdown-delay 0 --log-level warning >"$out/serve.log" 2>&1 &
pid=$!
track $pid
until curl -skf -o /dev/null https://127.0.0.1:$port/healthz; do sleep 0.1; done
if command -v perf >/dev/null && perf record -o "$out/perf-probe.data" -p $pid -- sleep 0.1 >/dev/null 2>&1; then
  perf record -F 999 -g -o "$out/serve.perf" -p $pid -- sleep "${SERVE_SECONDS:-8}" >/dev/null 2>&1 &
  recorder=$!
  BODY_FILE=$out/bodies/deployment.json CLOSE=0 DELAY_MS=0 wrk -t1 -c16 -d"${SERVE_SECONDS:-8}s" \
    -s bench/webhook/post.lua "https://127.0.0.1:$port/validate?timeout=10s" | grep Requests/sec
  wait $recorder || true
  echo "== serve, Deployment reviews, 16 keep-alive connections: cycles by library"
  perf report -i "$out/serve.perf" --no-children --sort dso --stdio -g none 2>/dev/null | grep '%' | grep -v '^#' | head -12 || true
  echo "== serve: top functions by inclusive cycles"
  perf report -i "$out/serve.perf" --children --sort symbol --stdio -g none 2>/dev/null | grep '%' | grep -v '^#' |
    head -"${TOP:-45}" | swift demangle --simplified | cut -c1-160 || true
else
  echo "(perf cannot sample here: serve not profiled)"
fi
kill -INT $pid
wait $pid || true
echo "profiles kept in $out (callgrind_annotate, kcachegrind, perf report)"
