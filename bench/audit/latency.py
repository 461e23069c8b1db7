#!/usr/bin/env python3
"""Review latency at a fixed request rate (not wrk's closed loop, where any CPU taken elsewhere
shows up as queueing): one keep-alive HTTPS connection, one AdmissionReview every 1/rate s,
latency measured from the scheduled send time (so a stall is not hidden by sending later).
Prints "p50_ms p99_ms max_ms count".

Usage: latency.py --url https://localhost:PORT/validate --ca CA --body FILE [--rate 100] [--seconds 10]
"""
import argparse
import http.client
import ssl
import time
import urllib.parse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--body", required=True)
    ap.add_argument("--rate", type=float, default=100)
    ap.add_argument("--seconds", type=float, default=10)
    args = ap.parse_args()
    url = urllib.parse.urlparse(args.url)
    body = open(args.body, "rb").read()
    conn = http.client.HTTPSConnection(url.hostname, url.port, context=ssl.create_default_context(cafile=args.ca), timeout=30)
    headers = {"Content-Type": "application/json"}
    conn.request("POST", url.path, body, headers)  # warm the connection
    conn.getresponse().read()
    samples = []
    interval = 1 / args.rate
    start = time.perf_counter()
    n = int(args.rate * args.seconds)
    for i in range(n):
        scheduled = start + i * interval
        now = time.perf_counter()
        if now < scheduled:
            time.sleep(scheduled - now)
        conn.request("POST", url.path, body, headers)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200, resp.status
        samples.append((time.perf_counter() - scheduled) * 1000)
    samples.sort()
    pick = lambda p: samples[min(len(samples) - 1, int(p * len(samples)))]  # noqa: E731
    print(f"{pick(0.5):.2f} {pick(0.99):.2f} {samples[-1]:.2f} {len(samples)}")


if __name__ == "__main__":
    main()
