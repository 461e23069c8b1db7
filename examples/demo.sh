#!/usr/bin/env bash
# `make demo`: start mtls-guard with development certificates and examples/good as the cluster
# view, send the AdmissionReviews in examples/reviews/ over HTTPS as the API server would, print
# each verdict, then stop the server the way Kubernetes does (SIGTERM).
set -euo pipefail
bin=${1:-.build/release/mtls-guard}
root=$(cd "$(dirname "$0")/.." && pwd)
port=${DEMO_PORT:-8443}
metrics_port=${DEMO_METRICS_PORT:-9090}
log=$(mktemp)
cd "$root"

bash examples/generate-secrets.sh examples >/dev/null
"$bin" serve --host 127.0.0.1 --port "$port" --metrics-port "$metrics_port" --certs-dir certs \
  --state examples/good --shutdown-delay 1 >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT

for _ in $(seq 1 100); do
  if [ -f certs/ca.crt ] && curl -sf --cacert certs/ca.crt "https://localhost:$port/readyz" >/dev/null 2>&1; then break; fi
  kill -0 $pid 2>/dev/null || { echo "server failed to start:"; cat "$log"; exit 1; }
  sleep 0.1
done
echo "mtls-guard is up on https://localhost:$port (development CA: certs/ca.crt; metrics: http://127.0.0.1:$metrics_port/metrics)"
echo

for review in examples/reviews/*.json; do
  title=$(basename "$review" .json | sed 's/^[0-9]*-//; s/-/ /g')
  answer=$(curl -sS --cacert certs/ca.crt -H 'Content-Type: application/json' \
    --data-binary @"$review" "https://localhost:$port/validate?timeout=10s")
  python3 - "$title" "$answer" <<'PY'
import json, sys
title, answer = sys.argv[1], json.loads(sys.argv[2])
r = answer["response"]
verdict = "ALLOWED" if r["allowed"] else f"DENIED ({r['status']['code']})"
print(f"== {title}: {verdict}")
if not r["allowed"]:
    for line in r["status"]["message"].splitlines():
        print(f"   {line}")
for w in r.get("warnings") or []:
    print(f"   warning: {w}")
print()
PY
done

echo "== metrics (excerpt)"
curl -s "http://127.0.0.1:$metrics_port/metrics" | grep -E '^mtls_guard_requests_total' || true
echo
kill -TERM $pid
wait $pid && echo "server stopped cleanly (SIGTERM: readiness off, drain, exit 0)"
echo "audit log lines written: $(grep -c '"audit":"true"' "$log" || true)"
