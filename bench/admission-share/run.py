#!/usr/bin/env python3
"""Share of admission requests the API server sends to mtls-guard, before and after matchConditions.

A synthetic cluster population (the ClusterState benchmark's objects plus the Secrets and Pods
every cluster has in bulk) goes through one CREATE, one UPDATE and one DELETE each; for each
request the API server's selection is computed, with the webhook configuration from before
(before-webhook.yaml: rules and namespaceSelector only) and with the one `kubectl kustomize
manifests` renders now (rules, namespaceSelector, matchConditions evaluated by cel-expr-python,
the same code as Tests/e2e/admission_selection.py).

Usage: python3 bench/admission-share/run.py [--scale 1.0]
"""
import argparse
import base64
import collections
import pathlib
import subprocess
import sys
import time

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests" / "e2e"))
from admission_selection import WebhookConfiguration, admission_request, namespace_labels  # noqa: E402

NAMESPACES = 100
INJECTED_EVERY = 4  # one namespace in four has NSM injection enabled
PEM = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").decode()


def namespace(i):
    return f"team-{i % NAMESPACES}"


def population(scale):
    """(category, object) pairs."""
    def n(count):
        return max(1, int(count * scale))

    def meta(name, i, **extra):
        return {"name": name, "namespace": namespace(i), **extra}

    for i in range(n(5_000)):
        yield "CA Secrets", {"apiVersion": "v1", "kind": "Secret", "type": "nginx.org/ca",
                             "metadata": meta(f"ca-{i}", i), "data": {"ca.crt": PEM}}
    for i in range(n(5_000)):
        yield "TLS Secrets", {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                              "metadata": meta(f"tls-{i}", i), "data": {"tls.crt": PEM, "tls.key": PEM}}
    for i in range(n(5_000)):
        host = f"app-{i}.example.com"
        yield "Ingresses", {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                            "metadata": meta(f"app-{i}", i, annotations={"nginx.org/policies": f"mtls-{i % 1000}"}),
                            "spec": {"ingressClassName": "nginx", "tls": [{"hosts": [host], "secretName": f"tls-{i}"}],
                                     "rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix",
                                                "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}
    for i in range(n(1_000)):
        yield "Policies", {"apiVersion": "k8s.nginx.org/v1", "kind": "Policy", "metadata": meta(f"mtls-{i}", i),
                           "spec": {"ingressMTLS": {"clientCertSecret": f"ca-{i}", "verifyClient": "on"}}}
    for i in range(n(500)):
        yield "VirtualServers", {"apiVersion": "k8s.nginx.org/v1", "kind": "VirtualServer", "metadata": meta(f"vs-{i}", i),
                                 "spec": {"host": f"vs-{i}.example.com", "tls": {"secret": f"tls-{i}"},
                                          "policies": [{"name": f"mtls-{i % 1000}"}],
                                          "upstreams": [{"name": "web", "service": "web", "port": 80}],
                                          "routes": [{"path": "/", "action": {"pass": "web"}}]}}
    for i in range(n(2_500)):
        yield "Opaque Secrets", {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                                 "metadata": meta(f"config-{i}", i), "data": {"password": "aHVudGVyMg=="}}
    for i in range(n(2_500)):
        yield "Helm release Secrets", {"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
                                       "metadata": meta(f"sh.helm.release.v1.app-{i}.v1", i,
                                                        labels={"owner": "helm", "name": f"app-{i}"}),
                                       "data": {"release": "SDRzSUFBQUFBQUFD"}}
    for i in range(n(20_000)):
        yield "Pods owned by ReplicaSets", {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": meta(f"web-{i}-x7k2p", i, labels={"app": "web"},
                             annotations={"config.nsm.nginx.com/mtls-mode": "strict"} if i % 10 == 0 else {},
                             ownerReferences=[{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"web-{i // 50}",
                                               "uid": "6b3e1c1a-0000-4000-8000-000000000001", "controller": True}]),
            "spec": {"containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 8080}]}]}}


def load_webhooks(path_or_text):
    docs = yaml.safe_load_all(path_or_text)
    (config,) = [d for d in docs if d and d.get("kind") == "ValidatingWebhookConfiguration"]
    return WebhookConfiguration(config)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="population size factor (1.0: 41,500 objects)")
    args = parser.parse_args()

    before = load_webhooks((pathlib.Path(__file__).parent / "before-webhook.yaml").read_text())
    rendered = subprocess.run(["kubectl", "kustomize", str(ROOT / "manifests")], capture_output=True, text=True, check=True).stdout
    after = load_webhooks(rendered)

    labels = {}
    for i in range(NAMESPACES):
        name = namespace(i)
        labels[name] = namespace_labels(name, injected=i % INJECTED_EVERY == 0)

    total = collections.Counter()
    sent_before = collections.Counter()
    sent_after = collections.Counter()
    objects = collections.Counter()
    started = time.perf_counter()
    for category, obj in population(args.scale):
        objects[category] += 1
        for operation in ("CREATE", "UPDATE", "DELETE"):
            request = admission_request(obj, operation)
            ns = labels[request["namespace"]]
            total[category] += 1
            sent_before[category] += bool(before.called(request, ns))
            sent_after[category] += bool(after.called(request, ns))
    elapsed = time.perf_counter() - started

    width = max(map(len, objects)) + 2
    print(f"{'objects':<{width}}{'count':>8}{'requests':>10}{'sent before':>13}{'sent after':>12}")
    for category in objects:
        print(f"{category:<{width}}{objects[category]:>8,}{total[category]:>10,}{sent_before[category]:>13,}{sent_after[category]:>12,}")
    all_requests, b, a = sum(total.values()), sum(sent_before.values()), sum(sent_after.values())
    print(f"{'total':<{width}}{sum(objects.values()):>8,}{all_requests:>10,}{b:>13,}{a:>12,}")
    print()
    print(f"share of all requests sent: before {b / all_requests:.1%}, after {a / all_requests:.1%}; "
          f"after/before = {a / b:.1%}")
    judged = {"CA Secrets", "TLS Secrets", "Ingresses", "Policies", "VirtualServers"}
    ob = sum(v for k, v in sent_before.items() if k not in judged)
    oa = sum(v for k, v in sent_after.items() if k not in judged)
    print(f"objects no rule judges (Opaque/Helm Secrets, owned Pods): sent before {ob:,}, after {oa:,}"
          f" ({oa / ob if ob else 0:.1%} of before)")
    print(f"({len(objects)} categories, {all_requests:,} requests x 2 configurations evaluated in {elapsed:.1f} s)")


if __name__ == "__main__":
    main()
