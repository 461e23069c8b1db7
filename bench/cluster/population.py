#!/usr/bin/env python3
"""The cluster population of the live-view benchmark, loaded into the API-server emulator.

10,000 Secrets (half `nginx.org/ca` CA bundles, half `kubernetes.io/tls` pairs, RSA-2048),
5,000 Ingresses, 1,000 Policies (ingressMTLS and egressMTLS, referencing those Secrets) and
500 VirtualServers, spread over 50 namespaces; plus the `bench-flip` namespace whose Policy the
change-latency measurement flips (see measure.py).

Certificates are real (openssl CLI), but only a few dozen are made and reused across objects:
what the benchmark measures is the number and size of objects, not their uniqueness.

Usage: population.py --dir EMULATOR_DIR [--keys CACHE_DIR] [--scale 1.0]
       (posts to the emulator's control API /objects in batches; prints the counts)
"""
import argparse
import base64
import http.client
import json
import pathlib
import subprocess
import sys
import tempfile

NAMESPACES = 50
CA_SECRETS, TLS_SECRETS, INGRESSES, POLICIES, VIRTUALSERVERS = 5000, 5000, 5000, 1000, 500
DISTINCT_CAS, DISTINCT_PAIRS = 12, 24
FLIP_NS = "bench-flip"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=cwd)


def key_material(cache: pathlib.Path):
    """[(ca_pem)], [(crt_pem, key_pem)]: RSA-2048, made once and kept in `cache`."""
    cache.mkdir(parents=True, exist_ok=True)
    done = cache / "done"
    if not done.exists():
        for i in range(DISTINCT_CAS):
            openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"ca{i}.key", "-out", f"ca{i}.crt",
                    "-days", "30", "-subj", f"/CN=bench CA {i}", "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=cache)
        for i in range(DISTINCT_PAIRS):
            (cache / f"leaf{i}.ext").write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                                                f"extendedKeyUsage=serverAuth\nsubjectAltName=DNS:app{i}.bench.example.com\n")
            openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"leaf{i}.key", "-out", f"leaf{i}.csr",
                    "-subj", f"/CN=app{i}.bench.example.com", cwd=cache)
            openssl("x509", "-req", "-in", f"leaf{i}.csr", "-CA", f"ca{i % DISTINCT_CAS}.crt", "-CAkey", f"ca{i % DISTINCT_CAS}.key",
                    "-set_serial", str(1000 + i), "-out", f"leaf{i}.crt", "-days", "30", "-extfile", f"leaf{i}.ext", cwd=cache)
        done.write_text("ok\n")
    b64 = lambda p: base64.b64encode((cache / p).read_bytes()).decode()  # noqa: E731
    cas = [b64(f"ca{i}.crt") for i in range(DISTINCT_CAS)]
    pairs = [(b64(f"leaf{i}.crt"), b64(f"leaf{i}.key")) for i in range(DISTINCT_PAIRS)]
    return cas, pairs


def ns_of(i):
    return f"bench-{i % NAMESPACES:02d}"


def objects(cas, pairs, scale=1.0):
    n = lambda x: max(NAMESPACES, int(x * scale))  # noqa: E731
    out = []
    for i in range(n(CA_SECRETS)):
        out.append({"apiVersion": "v1", "kind": "Secret", "type": "nginx.org/ca",
                    "metadata": {"name": f"ca-{i // NAMESPACES:04d}", "namespace": ns_of(i), "labels": {"bench": "ca"}},
                    "data": {"ca.crt": cas[i % len(cas)]}})
    for i in range(n(TLS_SECRETS)):
        crt, key = pairs[i % len(pairs)]
        out.append({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                    "metadata": {"name": f"tls-{i // NAMESPACES:04d}", "namespace": ns_of(i), "labels": {"bench": "tls"}},
                    "data": {"tls.crt": crt, "tls.key": key}})
    per_ns_ca = n(CA_SECRETS) // NAMESPACES
    per_ns_tls = n(TLS_SECRETS) // NAMESPACES
    per_ns_pol = max(2, n(POLICIES) // NAMESPACES)
    for i in range(n(POLICIES)):
        k = i // NAMESPACES
        if k % 2 == 0:
            spec = {"ingressMTLS": {"clientCertSecret": f"ca-{k % per_ns_ca:04d}", "verifyClient": "on", "verifyDepth": 1}}
            name = f"ingress-mtls-{k:03d}"
        else:
            spec = {"egressMTLS": {"tlsSecret": f"tls-{k % per_ns_tls:04d}", "trustedCertSecret": f"ca-{k % per_ns_ca:04d}",
                                   "verifyServer": True, "verifyDepth": 2, "serverName": True,
                                   "sslName": f"app{k}.bench.example.com", "protocols": "TLSv1.2 TLSv1.3"}}
            name = f"egress-mtls-{k:03d}"
        out.append({"apiVersion": "k8s.nginx.org/v1", "kind": "Policy",
                    "metadata": {"name": name, "namespace": ns_of(i)}, "spec": spec})
    for i in range(n(INGRESSES)):
        k = i // NAMESPACES
        host = f"ing-{k:04d}.{ns_of(i)}.bench.example.com"
        pol = f"ingress-mtls-{(k % per_ns_pol) // 2 * 2:03d}"
        out.append({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                    "metadata": {"name": f"ing-{k:04d}", "namespace": ns_of(i),
                                 "annotations": {"nginx.org/policies": pol} if k % 2 == 0 else {}},
                    "spec": {"ingressClassName": "nginx",
                             "tls": [{"hosts": [host], "secretName": f"tls-{k % per_ns_tls:04d}"}],
                             "rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix",
                                        "backend": {"service": {"name": f"svc-{k:04d}", "port": {"number": 80}}}}]}}]}})
    for i in range(n(VIRTUALSERVERS)):
        k = i // NAMESPACES
        pol = f"ingress-mtls-{(k % per_ns_pol) // 2 * 2:03d}"
        out.append({"apiVersion": "k8s.nginx.org/v1", "kind": "VirtualServer",
                    "metadata": {"name": f"vs-{k:03d}", "namespace": ns_of(i)},
                    "spec": {"host": f"vs-{k:03d}.{ns_of(i)}.bench.example.com", "tls": {"secret": f"tls-{k % per_ns_tls:04d}"},
                             "policies": [{"name": pol}],
                             "upstreams": [{"name": "app", "service": f"svc-{k:03d}", "port": 80}],
                             "routes": [{"path": "/", "action": {"pass": "app"}}]}})
    out += flip_objects(cas)
    return out


def flip_policy(mtls: bool):
    """The Policy measure.py flips: ingressMTLS (an Ingress without TLS naming it is denied) or
    accessControl (the same Ingress is allowed)."""
    spec = ({"ingressMTLS": {"clientCertSecret": "flip-ca", "verifyClient": "on", "verifyDepth": 1}} if mtls
            else {"accessControl": {"allow": ["10.0.0.0/8"]}})
    return {"apiVersion": "k8s.nginx.org/v1", "kind": "Policy", "metadata": {"name": "flip", "namespace": FLIP_NS}, "spec": spec}


def flip_ingress():
    """The Ingress measure.py reviews: no TLS, names Policy `flip`."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "flip-ingress", "namespace": FLIP_NS, "annotations": {"nginx.org/policies": "flip"}},
            "spec": {"ingressClassName": "nginx", "rules": [{"host": "flip.bench.example.com", "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "flip", "port": {"number": 80}}}}]}}]}}


def flip_objects(cas):
    return [{"apiVersion": "v1", "kind": "Secret", "type": "nginx.org/ca",
             "metadata": {"name": "flip-ca", "namespace": FLIP_NS}, "data": {"ca.crt": cas[0]}},
            flip_policy(False)]


def post(control_port, items, batch=2000):
    created = 0
    for start in range(0, len(items), batch):
        conn = http.client.HTTPConnection("127.0.0.1", control_port, timeout=300)
        conn.request("POST", "/objects", body=json.dumps({"apiVersion": "v1", "kind": "List", "items": items[start:start + batch]}),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        answer = json.loads(resp.read())
        conn.close()
        if answer["errors"]:
            sys.exit(f"population: emulator refused objects: {answer['errors'][:3]}")
        created += answer["created"]
    return created


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", required=True, type=pathlib.Path, help="the emulator's --dir")
    ap.add_argument("--keys", type=pathlib.Path, default=None, help="where to keep the generated keys (default: a temp dir)")
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cas, pairs = key_material(args.keys or pathlib.Path(tmp))
    items = objects(cas, pairs, args.scale)
    created = post(int((args.dir / "control-port").read_text()), items)
    counts = {}
    for o in items:
        counts[o["kind"]] = counts.get(o["kind"], 0) + 1
    size = sum(len(json.dumps(o)) for o in items if o["kind"] == "Secret")
    print(json.dumps({"created": created, "kinds": counts, "secretBytes": size}))


if __name__ == "__main__":
    main()
