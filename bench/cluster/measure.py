#!/usr/bin/env python3
"""Clients for bench/cluster/run.sh, over real HTTPS (Python's ssl) to both the API-server emulator
and `mtls-guard serve --kubeconfig`.

  measure.py latency --emulator DIR --webhook https://localhost:PORT --ca CA [--changes 1000]
      Flips Policy bench-flip/flip between ingressMTLS and accessControl with a PUT to the API
      server, then reviews Ingress bench-flip/flip-ingress (no TLS, names that Policy) until the
      verdict follows (denied with ingressMTLS, allowed without). Prints p50/p90/p99/max of the
      time from sending the PUT to the first review that shows it, in ms, as JSON, and the PUT's
      own round trip as the reference (what no watcher could beat).
  measure.py churn --emulator DIR --rate 100 --seconds S
      PUTs existing Ingresses, Policies and TLS Secrets (a changed annotation; 2:1:1) at the given
      rate; prints the rate achieved.
  measure.py body --out FILE
      Writes an AdmissionReview of a population Ingress (with an ingressMTLS Policy and TLS) for wrk.
"""
import argparse
import copy
import http.client
import itertools
import json
import pathlib
import ssl
import statistics
import sys
import time
import uuid

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import population  # noqa: E402


class Emulator:
    def __init__(self, d: pathlib.Path):
        self.port = int((d / "port").read_text())
        self.token = (d / "token").read_text().strip()
        self.ctx = ssl.create_default_context(cafile=str(d / "ca.crt"))
        self.conn = None

    def request(self, method, path, body=None):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=30)
            try:
                self.conn.request(method, path, body=json.dumps(body) if body is not None else None,
                                  headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.status >= 300:
                    raise RuntimeError(f"{method} {path}: {resp.status} {data[:300]!r}")
                return json.loads(data)
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise

    def list_all(self, path):
        items, cont = [], ""
        while True:
            page = self.request("GET", f"{path}?limit=500" + (f"&continue={cont}" if cont else ""))
            items += page["items"]
            cont = page["metadata"].get("continue")
            if not cont:
                return items


def admission_review(obj, operation="CREATE"):
    api_version = obj["apiVersion"]
    group, _, version = api_version.rpartition("/")
    kind = obj["kind"]
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": str(uuid.uuid4()), "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": group, "version": version, "resource": kind.lower() + ("es" if kind.endswith("s") else "s")},
        "requestKind": {"group": group, "version": version, "kind": kind},
        "name": obj["metadata"]["name"], "namespace": obj["metadata"]["namespace"], "operation": operation,
        "userInfo": {"username": "bench", "groups": ["system:authenticated"]},
        "object": obj, "oldObject": None, "dryRun": False, "options": None}}


class Webhook:
    def __init__(self, url, ca):
        rest = url.split("://", 1)[1]
        host, port = rest.split("/", 1)[0].rsplit(":", 1)
        self.host, self.port = host, int(port)
        self.ctx = ssl.create_default_context(cafile=ca)
        self.conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=30)

    def allowed(self, body: bytes) -> bool:
        self.conn.request("POST", "/validate?timeout=10s", body=body, headers={"Content-Type": "application/json"})
        resp = self.conn.getresponse()
        answer = json.loads(resp.read())
        return answer["response"]["allowed"]


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))]


def latency(args):
    emu = Emulator(args.emulator)
    hook = Webhook(args.webhook, args.ca)
    body = json.dumps(admission_review(population.flip_ingress())).encode()
    path = f"/apis/k8s.nginx.org/v1/namespaces/{population.FLIP_NS}/policies/flip"
    mtls = False
    emu.request("PUT", path, population.flip_policy(mtls))
    deadline = time.monotonic() + 30
    while not hook.allowed(body):  # the view has the starting state
        if time.monotonic() > deadline:
            sys.exit("latency: the review never became allowed with the accessControl Policy")
    times, puts, reviews, lost = [], [], 0, 0
    for _ in range(args.changes):
        mtls = not mtls
        t0 = time.perf_counter()
        emu.request("PUT", path, population.flip_policy(mtls))
        puts.append((time.perf_counter() - t0) * 1000)
        limit = t0 + 10
        while True:
            reviews += 1
            if hook.allowed(body) == (not mtls):
                times.append((time.perf_counter() - t0) * 1000)
                break
            if time.perf_counter() > limit:
                lost += 1
                break
    print(json.dumps({"changes": args.changes, "unseen_after_10s": lost, "reviews": reviews,
                      "p50_ms": round(percentile(times, 50), 2), "p90_ms": round(percentile(times, 90), 2),
                      "p99_ms": round(percentile(times, 99), 2), "max_ms": round(max(times), 2),
                      "mean_ms": round(statistics.fmean(times), 2),
                      "reference_put_alone_p50_ms": round(percentile(puts, 50), 2),
                      "reference_put_alone_p99_ms": round(percentile(puts, 99), 2)}))


def churn(args):
    emu = Emulator(args.emulator)
    ingresses = emu.list_all("/apis/networking.k8s.io/v1/ingresses")
    policies = [p for p in emu.list_all("/apis/k8s.nginx.org/v1/policies") if p["metadata"]["namespace"] != population.FLIP_NS]
    secrets = emu.request("GET", "/api/v1/secrets?fieldSelector=type%3Dkubernetes.io%2Ftls&limit=2000")["items"]
    pools = [("/apis/networking.k8s.io/v1", "ingresses", ingresses), ("/apis/networking.k8s.io/v1", "ingresses", ingresses),
             ("/apis/k8s.nginx.org/v1", "policies", policies), ("/api/v1", "secrets", secrets)]
    interval = 1.0 / args.rate
    start = time.monotonic()
    n = 0
    for i in itertools.count():
        if time.monotonic() - start >= args.seconds:
            break
        base, plural, pool = pools[i % len(pools)]
        obj = copy.deepcopy(pool[(i // len(pools)) % len(pool)])
        meta = obj["metadata"]
        meta.pop("resourceVersion", None)
        meta.pop("managedFields", None)
        meta.setdefault("annotations", {})["bench/churn"] = str(i)
        emu.request("PUT", f"{base}/namespaces/{meta['namespace']}/{plural}/{meta['name']}", obj)
        n += 1
        wait = start + (i + 1) * interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
    print(json.dumps({"changes": n, "rate": round(n / (time.monotonic() - start), 1)}))


def body(args):
    ing = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
           "metadata": {"name": "bench-review", "namespace": "bench-00", "annotations": {"nginx.org/policies": "ingress-mtls-000"}},
           "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["review.bench.example.com"], "secretName": "tls-0000"}],
                    "rules": [{"host": "review.bench.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix",
                              "backend": {"service": {"name": "svc", "port": {"number": 80}}}}]}}]}}
    review = admission_review(ing)
    review["request"]["uid"] = "bench"
    pathlib.Path(args.out).write_text(json.dumps(review))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("latency")
    p.add_argument("--emulator", type=pathlib.Path, required=True)
    p.add_argument("--webhook", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--changes", type=int, default=1000)
    p = sub.add_parser("churn")
    p.add_argument("--emulator", type=pathlib.Path, required=True)
    p.add_argument("--rate", type=float, default=100)
    p.add_argument("--seconds", type=float, default=10)
    p = sub.add_parser("body")
    p.add_argument("--out", required=True)
    args = ap.parse_args()
    {"latency": latency, "churn": churn, "body": body}[args.cmd](args)


if __name__ == "__main__":
    main()
