# Shell pieces shared by the benchmarks and examples/demo.sh: background processes stopped on exit,
# free ports, waiting for the API-server emulator and for `serve` to be ready. Source it after
# `set -euo pipefail`; it sets an EXIT trap that stops every process passed to `track` and removes
# the directory in $work_dir (when set).

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "${work_dir:-}" ]; then rm -rf "$work_dir"; fi
}
trap cleanup EXIT

# track PID: stop it on exit. untrack PID: it has been stopped already.
track() { pids+=("$1"); }
untrack() { local kept=() p; for p in "${pids[@]}"; do [ "$p" = "$1" ] || kept+=("$p"); done; pids=("${kept[@]}"); }

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# has_option BIN SUBCOMMAND OPTION: whether `BIN SUBCOMMAND --help` lists OPTION. The help is read
# whole first: `| grep -q` under pipefail fails when grep's early exit cuts the writer off.
has_option() { local help; help=$("$1" "$2" --help 2>&1) || true; [[ "$help" == *"$3"* ]]; }

# start_emulator DIR LOG [ARGS...]: the API-server emulator in the background, ready within 30 s.
start_emulator() {
  local dir=$1 log=$2; shift 2
  python3 Tests/kube-emulator/emulator.py --dir "$dir" "$@" >"$log" 2>&1 &
  track "$!"
  for _ in $(seq 1 300); do [ -f "$dir/ready" ] && return 0; sleep 0.1; done
  echo "error: the emulator did not start:" >&2; cat "$log" >&2; exit 1
}

# wait_ready URL PID LOG SECONDS: poll URL until it answers 2xx; fail if PID exits or time runs out.
wait_ready() {
  local url=$1 pid=$2 log=$3 limit=$4 t0
  t0=$(date +%s)
  until curl -sf -o /dev/null "$url"; do
    kill -0 "$pid" 2>/dev/null || { echo "error: the server exited:" >&2; tail -20 "$log" >&2; exit 1; }
    [ $(( $(date +%s) - t0 )) -lt "$limit" ] || { echo "error: not ready in $limit s:" >&2; tail -20 "$log" >&2; exit 1; }
    sleep 0.005
  done
}

# rss_mb PID: resident memory (VmRSS) in MB. peak_rss PID: the kernel's peak resident mark (VmHWM) in MB. reset_peak_rss PID: prints the
# start-up peak and resets the mark (/proc/PID/clear_refs, value 5), so a later peak_rss measures
# what follows alone. It waits 1.5 s first: `serve` releases its start-up code pages a second
# after it starts listening.
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
peak_rss() { awk '/VmHWM/ {printf "%.1f MB", $2/1024}' "/proc/$1/status"; }
reset_peak_rss() {
  sleep 1.5
  echo "start-up peak RSS: $(peak_rss "$1"); idle after release of start-up pages: $(rss_mb "$1") MB"
  echo 5 >"/proc/$1/clear_refs"
}

# bench_state DIR: the cluster view the benchmarks give `serve --state`: examples/good with the
# Secrets its objects name, made now by examples/generate-secrets.sh, in DIR/good (printed). The
# Secrets are git-ignored and exist in the repository only after `make demo`: without them every
# bench Ingress review would carry a missing-Secret warning, and a fresh clone would measure
# another review than a machine that ran the demo.
bench_state() {
  mkdir -p "$1/good" "$1/broken"
  cp examples/good/*.yaml "$1/good/"
  bash examples/generate-secrets.sh "$1" >/dev/null
  echo "$1/good"
}
