#!/usr/bin/env bash
# Engine benchmarks (release build):
#  1. reviews/s of a typical Ingress AdmissionReview against snapshots of 300 and 30,000 objects
#     (10,000 each of Policies, Secrets, Ingresses), with JSON parsing of the body as reference;
#  2. `mtls-guard validate` over 5,000 generated manifests: wall time and peak RSS, against
#     PyYAML loading the same files (reference, same machine, same run).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
swift build -c release --product mtls-guard-engine-bench >/dev/null
.build/release/mtls-guard-engine-bench "${1:-20000}"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
python3 bench/engine/make_manifests.py "$out/manifests" 5000
echo
measure() { /usr/bin/time -f "%e %M" "$@" 2>&1 >/dev/null | tail -1; }
read -r ours_s ours_kb <<<"$(measure .build/release/mtls-guard validate "$out/manifests" --output json || true)"
read -r ref_s ref_kb <<<"$(measure python3 -c 'import sys, glob, yaml
L = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
n = sum(1 for f in glob.glob(sys.argv[1] + "/*.yaml") for d in yaml.load_all(open(f), Loader=L) if d)
' "$out/manifests")"
printf 'validate 5,000 manifests: %ss, peak RSS %.1f MB\n' "$ours_s" "$(echo "$ours_kb" | awk '{print $1/1024}')"
printf 'reference PyYAML load:    %ss, peak RSS %.1f MB\n' "$ref_s" "$(echo "$ref_kb" | awk '{print $1/1024}')"
awk -v a="$ours_s" -v b="$ref_s" 'BEGIN { printf "ratio validate / PyYAML load: %.2f (time)\n", a / b }'
