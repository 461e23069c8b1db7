#!/usr/bin/env bash
# `make demo`: the real architecture on one machine. An API server (the emulator in
# Tests/kube-emulator: no kube-apiserver is needed) gets examples/good with kubectl; mtls-guard
# runs with the live cluster view (`serve --kubeconfig`), gets the AdmissionReviews of
# examples/reviews/ over HTTPS as the API server would send them, and prints each verdict; then
# kubectl deletes the ingressMTLS Policy and the verdicts that depended on it change. Emulator and
# server are always stopped on exit.
set -euo pipefail
bin=${1:-.build/release/mtls-guard}
root=$(cd "$(dirname "$0")/.." && pwd)
port=${DEMO_PORT:-8443}
metrics_port=${DEMO_METRICS_PORT:-9090}
work=$(mktemp -d)
log=$work/server.log
cd "$root"
work_dir=$work
source bench/lib.sh

for tool in kubectl curl python3; do
  command -v $tool >/dev/null || { echo "error: $tool is needed (make deps installs it)" >&2; exit 1; }
done
python3 -c 'import aiohttp' 2>/dev/null || { echo "error: aiohttp is needed for the API-server emulator (make deps)" >&2; exit 1; }
bash examples/generate-secrets.sh examples >/dev/null

echo "== API server: the emulator (Tests/kube-emulator), HTTPS on 127.0.0.1, bearer token"
start_emulator "$work/cluster" "$work/emulator.log"
kube() { kubectl --kubeconfig "$work/cluster/kubeconfig" "$@"; }
echo "\$ kubectl create -f examples/good/"
kube create -f examples/good/ | sed 's/^/  /'
echo

# The live view: serve lists and watches the emulator, exactly as it would a real API server.
view=(--kubeconfig "$work/cluster/kubeconfig")
"$bin" serve --host 127.0.0.1 --port "$port" --metrics-port "$metrics_port" --certs-dir certs \
  "${view[@]}" --shutdown-delay 1 >"$log" 2>&1 &
pid=$!
track "$pid"
wait_ready "http://127.0.0.1:$metrics_port/readyz" "$pid" "$log" 30
echo "mtls-guard is up on https://localhost:$port (development CA: certs/ca.crt; metrics: http://127.0.0.1:$metrics_port/metrics)"
grep -i 'cluster view' "$log" | head -1 | python3 -c 'import json,sys
for line in sys.stdin:
    try:
        r = json.loads(line)
        print("  " + r.get("msg", "") + "".join(f", {k} {r[k]}" for k in ("server", "auth") if k in r))
    except ValueError:
        print("  " + line.strip())' || true
echo

review() { # file -> prints the verdict
  local title answer
  title=$(basename "$1" .json | sed 's/^[0-9]*-//; s/-/ /g')
  answer=$(curl -sS --cacert certs/ca.crt -H 'Content-Type: application/json' \
    --data-binary @"$1" "https://localhost:$port/validate?timeout=10s")
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
}

for r in examples/reviews/*.json; do review "$r"; done

echo "== the cluster changes: the ingressMTLS Policy goes"
echo "\$ kubectl delete policy.k8s.nginx.org -n cafe ingress-mtls-policy"
kube delete policy.k8s.nginx.org -n cafe ingress-mtls-policy | sed 's/^/  /'
echo
echo "(same reviews as above, sent right after)"
review examples/reviews/02-ingress-mtls-without-tls.json
review examples/reviews/04-delete-ca-secret-in-use.json

echo "== metrics (excerpt)"
curl -s "http://127.0.0.1:$metrics_port/metrics" | grep -E '^mtls_guard_(requests_total|cluster_objects)' || true
echo
kill -TERM $pid
wait $pid && echo "server stopped cleanly (SIGTERM: readiness off, drain, exit 0)"
untrack "$pid"
echo "audit log lines written: $(grep -c '"audit":"true"' "$log" || true)"
