#!/usr/bin/env python3
"""The audit benchmark's extra objects and its one change, next to bench/cluster's population.

`load`: namespace `bench-audit` with one CA Secret `shared-ca` named by 100 ingressMTLS Policies,
each used by one Ingress (with TLS from `audit-tls`): a CA in use across a namespace, as a
platform team would share it.
`change`: replaces `shared-ca`'s bundle with another CA (a PUT, as `kubectl apply` would do):
the audit must judge again the Secret, its 100 Policies and their 100 Ingresses, nothing else.

Usage: shared_ca.py load|change --dir EMULATOR_DIR --keys KEY_CACHE
"""
import argparse
import base64
import http.client
import json
import pathlib
import ssl
import sys

NS = "bench-audit"
POLICIES = 100


def b64(path):
    return base64.b64encode(pathlib.Path(path).read_bytes()).decode()


def objects(keys):
    out = [{"apiVersion": "v1", "kind": "Secret", "type": "nginx.org/ca", "metadata": {"name": "shared-ca", "namespace": NS},
            "data": {"ca.crt": b64(keys / "ca0.crt")}},
           {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls", "metadata": {"name": "audit-tls", "namespace": NS},
            "data": {"tls.crt": b64(keys / "leaf0.crt"), "tls.key": b64(keys / "leaf0.key")}}]
    for i in range(POLICIES):
        out.append({"apiVersion": "k8s.nginx.org/v1", "kind": "Policy", "metadata": {"name": f"shared-{i:03d}", "namespace": NS},
                    "spec": {"ingressMTLS": {"clientCertSecret": "shared-ca", "verifyClient": "on", "verifyDepth": 1}}})
        host = f"shared-{i:03d}.audit.bench.example.com"
        out.append({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                    "metadata": {"name": f"shared-{i:03d}", "namespace": NS, "annotations": {"nginx.org/policies": f"shared-{i:03d}"}},
                    "spec": {"ingressClassName": "nginx", "tls": [{"hosts": [host], "secretName": "audit-tls"}],
                             "rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix",
                                        "backend": {"service": {"name": "svc", "port": {"number": 80}}}}]}}]}})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["load", "change"])
    ap.add_argument("--dir", type=pathlib.Path, required=True)
    ap.add_argument("--keys", type=pathlib.Path, required=True)
    ap.add_argument("--generation", type=int, default=1)
    args = ap.parse_args()
    if args.cmd == "load":
        conn = http.client.HTTPConnection("127.0.0.1", int((args.dir / "control-port").read_text()), timeout=300)
        conn.request("POST", "/objects", body=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects(args.keys)}),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        print(resp.read().decode())
        return 0 if resp.status == 200 else 1
    # change: another CA's bundle (alternating, so every run changes the content)
    ctx = ssl.create_default_context(cafile=str(args.dir / "ca.crt"))
    conn = http.client.HTTPSConnection("127.0.0.1", int((args.dir / "port").read_text()), context=ctx, timeout=30)
    token = (args.dir / "token").read_text().strip()
    path = f"/api/v1/namespaces/{NS}/secrets/shared-ca"
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "nginx.org/ca", "metadata": {"name": "shared-ca", "namespace": NS},
              "data": {"ca.crt": b64(args.keys / f"ca{1 + args.generation % 2}.crt")}}
    conn.request("PUT", path, body=json.dumps(secret), headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    resp = conn.getresponse()
    body = resp.read()
    if resp.status != 200:
        print(body.decode(), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
