#!/usr/bin/env bash
# Instruction profiles (valgrind callgrind: counts instructions, so repeatable on a noisy machine)
# of the two hot paths, release build:
#   engine: decode + review + encode of bench/webhook's Ingress review, N times in-process
#           (and the CA Secret UPDATE with the Secret in use);
#   serve:  the server under valgrind, REQUESTS Deployment reviews over keep-alive TLS from curl.
# Prints the top functions by inclusive instructions per profile (demangled), and instructions
# per request. Usage: bench/profile.sh [engine-iterations] [serve-requests]
# ENGINE_BENCH_BIN / MTLS_GUARD_BIN: profile other builds (no build then); PROFILE_DIR keeps the output.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
iterations=${1:-2000}
requests=${2:-2000}
command -v valgrind >/dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y -qq valgrind >/dev/null; } || true
command -v valgrind >/dev/null || { echo "error: valgrind is required (apt-get install valgrind)" >&2; exit 1; }
[ -n "${ENGINE_BENCH_BIN:-}" ] || swift build -c release --product mtls-guard-engine-bench >/dev/null
[ -n "${MTLS_GUARD_BIN:-}" ] || swift build -c release --product mtls-guard >/dev/null
bench=${ENGINE_BENCH_BIN:-.build/release/mtls-guard-engine-bench}
bin=${MTLS_GUARD_BIN:-.build/release/mtls-guard}
out=${PROFILE_DIR:-$(mktemp -d)}
mkdir -p "$out"
python3 bench/webhook/make_bodies.py "$out/bodies" >/dev/null

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
# Only decode, review and encode are counted (each entered from the loop, none inside another):
# no set-up, no key generation.
collect=(--collect-atstart=no
         '--toggle-collect=$s9KubeModel15AdmissionReviewV13decodeRequest4from*'
         '--toggle-collect=$s7Webhook17AdmissionReviewerV6review_8snapshot*'
         '--toggle-collect=$s7Webhook13AdmissionWireO12responseBody*')
ENGINE_BENCH_BODY=$out/bodies/ingress.json valgrind --tool=callgrind "${collect[@]}" --callgrind-out-file="$out/engine.out" \
  "$bench" profile "$iterations" ingress >/dev/null 2>&1
top "$out/engine.out" "engine, Ingress review (decode + review + encode) x $iterations" "$iterations"
valgrind --tool=callgrind "${collect[@]}" --callgrind-out-file="$out/secret.out" \
  "$bench" profile $((iterations / 10)) secret-update >/dev/null 2>&1
TOP=25 top "$out/secret.out" "engine, CA Secret UPDATE (Secret in use) x $((iterations / 10))" $((iterations / 10))

# serve: one keep-alive connection (curl reuses it across --next), after a warm-up.
port=18463
valgrind --tool=callgrind --callgrind-out-file="$out/serve.out" "$bin" serve --host 127.0.0.1 --port $port \
  --metrics-port 0 --certs-dir "$out/certs" --state examples/good --shutdown-delay 0 --log-level warning \
  >"$out/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
until curl -skf -o /dev/null https://127.0.0.1:$port/healthz; do sleep 0.2; done
post() { # count: POSTs over one keep-alive connection (curl reuses it across --next)
  local args=()
  for _ in $(seq 1 "$1"); do
    args+=(--next -sk -o /dev/null -H 'Content-Type: application/json' --data-binary "@$out/bodies/deployment.json" "https://127.0.0.1:$port/validate")
  done
  curl "${args[@]:1}"
}
post 50                       # warm-up: first-use costs (metric handles, caches) are not per request
callgrind_control -z $pid >/dev/null
post "$requests"
callgrind_control -d $pid >/dev/null
kill -INT $pid
wait $pid || true
serve_out=$(ls -t "$out"/serve.out.* 2>/dev/null | head -1)
TOP=50 top "${serve_out:-$out/serve.out}" "serve, Deployment review x $requests over one keep-alive connection" "$requests"
echo "profiles kept in $out (callgrind_annotate / kcachegrind)"
