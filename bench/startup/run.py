#!/usr/bin/env python3
"""Start to ready: time from exec to the first `200` of `GET /readyz`, for `mtls-guard serve` and,
as the reference in the same run, for nginx (one worker, the same certificate, a plain-HTTP
`/readyz` location). Polls every 0.5 ms over a raw socket, so the figure is not the cost of
spawning a poller. Also reports the idle resident memory of the ready server (VmRSS, read 1.5 s
after ready: `serve` releases the code pages its start-up touched a second after it listens), how
much of it is anonymous memory (heap, stacks) rather than file-backed pages of the binary and
its libraries, and the start-up peak (VmHWM).

Usage: bench/startup/run.py BINARY [BINARY ...] [--runs N]
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def ready(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
            s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def time_to_ready(argv, port, env=None, settle=0.0):
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        while not ready(port):
            if proc.poll() is not None:
                raise SystemExit(f"error: {argv[0]} exited with {proc.returncode} before it was ready")
            if time.perf_counter() - start > 10:
                raise SystemExit(f"error: {argv[0]} not ready within 10 s")
            time.sleep(0.0005)
        elapsed = time.perf_counter() - start
        time.sleep(settle)
        memory = {}
        with open(f"/proc/{proc.pid}/status") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                    memory[key] = int(value.split()[0]) / 1024
        return elapsed * 1000, memory
    finally:
        proc.terminate()
        proc.wait()


def summary(values):
    values = sorted(values)
    return f"median {statistics.median(values):6.1f} (min {values[0]:.1f}, max {values[-1]:.1f})"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binaries", nargs="+")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    work = tempfile.mkdtemp()
    try:
        # The view bench/webhook gives serve (bench/lib.sh's bench_state): examples/good with the
        # Secrets it names, made now, so a fresh clone loads the same state as a machine that ran the demo.
        state = os.path.join(work, "examples", "good")
        os.makedirs(os.path.join(work, "examples", "broken"))
        shutil.copytree(os.path.join(root, "examples", "good"), state)
        subprocess.run(["bash", os.path.join(root, "examples", "generate-secrets.sh"), os.path.join(work, "examples")],
                       check=True, stdout=subprocess.DEVNULL)
        certs = os.path.join(work, "certs")
        # Certificates are created once, outside the timed runs.
        time_to_ready([args.binaries[0], "serve", "--host", "127.0.0.1", "--port", "18473", "--metrics-port", "19193",
                       "--certs-dir", certs, "--state", state, "--shutdown-delay", "0"], 19193)
        conf = os.path.join(work, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {work}/body; proxy_temp_path {work}/proxy;
  fastcgi_temp_path {work}/fcgi; uwsgi_temp_path {work}/uwsgi; scgi_temp_path {work}/scgi;
  server {{
    listen 127.0.0.1:18474 ssl;
    ssl_certificate {certs}/tls.crt;
    ssl_certificate_key {certs}/tls.key;
    location /validate {{ return 200 'ok'; }}
  }}
  server {{ listen 127.0.0.1:19194; location /readyz {{ return 200 'ok'; }} }}
}}
""")
        env = dict(os.environ)
        results = {name: ([], []) for name in args.binaries + ["nginx"]}
        for _ in range(args.runs):  # alternating, so drift on a shared machine hits both alike
            for binary in args.binaries:
                ms, memory = time_to_ready([binary, "serve", "--host", "127.0.0.1", "--port", "18473",
                                            "--metrics-port", "19193", "--certs-dir", certs,
                                            "--state", state, "--shutdown-delay", "0",
                                            "--log-level", "warning"], 19193, env, settle=1.5)
                results[binary][0].append(ms)
                results[binary][1].append(memory)
            ms, _ = time_to_ready([nginx, "-c", conf, "-p", work, "-g", "daemon off;"], 19194)
            results["nginx"][0].append(ms)
        reference = statistics.median(results["nginx"][0])
        for name, (times, memories) in results.items():
            line = f"{name}: start to ready {summary(times)} ms"
            if name != "nginx":
                ratios = [t / reference for t in times]
                line += f"; ratio to nginx {summary(ratios)}"
                rss = statistics.median(m["VmRSS"] for m in memories)
                anon = statistics.median(m["RssAnon"] for m in memories)
                peak = statistics.median(m["VmHWM"] for m in memories)
                line += f"; idle RSS {rss:.1f} MB ({anon:.1f} MB anonymous, {rss - anon:.1f} MB file-backed); start-up peak {peak:.1f} MB"
            print(line)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
