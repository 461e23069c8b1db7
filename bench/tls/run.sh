#!/usr/bin/env bash
# TLS server throughput: OpenSSLTLS (TLSBenchResponder, one event loop thread) vs nginx
# (worker_processes 1), same certificate, same body size, loopback only, driven by wrk.
# Prints keep-alive requests/s and new-handshake connections/s (Connection: close) and ratios.
# Usage: bash bench/tls/run.sh   (env: DURATION=10s CONNECTIONS=32 BODY_BYTES=512)
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
BODY_BYTES=${BODY_BYTES:-512}

for tool in nginx wrk openssl; do
  command -v "$tool" >/dev/null || { echo "error: $tool not found (apt-get install nginx-light wrk openssl)" >&2; exit 1; }
done

swift build -c release --product TLSBenchResponder >/dev/null
BIN="$(swift build -c release --show-bin-path)/TLSBenchResponder"

WORK=$(mktemp -d /tmp/mtls-guard-bench-tls.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT


openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
mkdir -p "$WORK/www" "$WORK/logs" "$WORK/tmp"
# nginx workers drop to an unprivileged user when started as root: let them read the body.
chmod 755 "$WORK" "$WORK/www"
head -c "$BODY_BYTES" /dev/zero | tr '\0' 'x' > "$WORK/www/body.txt"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() { for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "error: nothing listens on $1" >&2; exit 1; }

OURS_PORT=$(free_port)
"$BIN" "$WORK/cert.pem" "$WORK/key.pem" "$OURS_PORT" "$BODY_BYTES" >"$WORK/logs/ours.log" 2>&1 &
PIDS+=($!)

NGINX_PORT=$(free_port)
cat > "$WORK/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/tmp/body;
  proxy_temp_path $WORK/tmp/proxy;
  fastcgi_temp_path $WORK/tmp/fastcgi;
  uwsgi_temp_path $WORK/tmp/uwsgi;
  scgi_temp_path $WORK/tmp/scgi;
  keepalive_requests 1000000;
  default_type text/plain;
  server {
    listen 127.0.0.1:$NGINX_PORT ssl;
    ssl_certificate $WORK/cert.pem;
    ssl_certificate_key $WORK/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    root $WORK/www;
  }
}
CONF
nginx -e "$WORK/logs/error.log" -p "$WORK" -c "$WORK/nginx.conf" &
PIDS+=($!)
wait_port "$OURS_PORT"
wait_port "$NGINX_PORT"

rps() { # port [extra wrk args...]
  local port=$1; shift
  wrk -t1 -c"$CONNECTIONS" -d"$DURATION" "$@" "https://127.0.0.1:$port/body.txt" | awk '/Requests\/sec/ {print $2}'
}
check() { curl -sk "https://127.0.0.1:$1/body.txt" | wc -c; }
[ "$(check "$OURS_PORT")" = "$BODY_BYTES" ] && [ "$(check "$NGINX_PORT")" = "$BODY_BYTES" ] || { echo "error: responders disagree on the body" >&2; exit 1; }

echo "wrk -t1 -c$CONNECTIONS -d$DURATION, body $BODY_BYTES bytes, TLS 1.3, ECDSA P-256, loopback"
OURS_KA=$(rps "$OURS_PORT"); NGINX_KA=$(rps "$NGINX_PORT")
OURS_NEW=$(rps "$OURS_PORT" -H 'Connection: close'); NGINX_NEW=$(rps "$NGINX_PORT" -H 'Connection: close')
ratio() { python3 -c "print(f'{float($1)/float($2):.2f}')"; }
printf '%-28s %12s %12s %8s\n' "" "OpenSSLTLS" "nginx" "ratio"
printf '%-28s %12s %12s %8s\n' "keep-alive requests/s" "$OURS_KA" "$NGINX_KA" "$(ratio "$OURS_KA" "$NGINX_KA")"
printf '%-28s %12s %12s %8s\n' "new connections/s (close)" "$OURS_NEW" "$NGINX_NEW" "$(ratio "$OURS_NEW" "$NGINX_NEW")"
