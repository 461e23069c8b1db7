"""The background audit against the API-server emulator: PolicyReports, the violation and
certificate-expiry metrics, and `mtls-guard audit`, all driven by real kubectl changes and
checked without sending a single AdmissionReview where the audit alone must notice."""
import base64
import datetime
import json
import os
import pathlib
import subprocess
import time

import pytest
import yaml

from conftest import BIN, ROOT, admission_request, eventually, openssl, requires_kubectl

pytestmark = requires_kubectl

REPORTS = "/apis/wgpolicyk8s.io/v1alpha2/namespaces/{ns}/policyreports"


def wait_for(what, check, timeout=20, interval=0.1):
    return eventually(check, timeout, interval, what)


def make_ca(d, name, days):
    key, crt = d / f"{name}.key", d / f"{name}.crt"
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key),
            "-out", str(crt), "-days", str(days), "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return crt, key


def make_leaf(d, name, ca, days=200):
    key, csr, crt, ext = (d / f"{name}.{x}" for x in ("key", "csr", "crt", "ext"))
    ext.write_text("basicConstraints=CA:FALSE\nsubjectAltName=DNS:cafe.example.com\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out", str(csr),
            "-subj", f"/CN={name}")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]), "-CAcreateserial", "-out", str(crt),
            "-days", str(days), "-extfile", str(ext))
    return crt, key


def not_after(crt):
    out = subprocess.run(["openssl", "x509", "-in", str(crt), "-noout", "-enddate"], capture_output=True, text=True, check=True).stdout
    when = datetime.datetime.strptime(out.strip().split("=", 1)[1], "%b %d %H:%M:%S %Y %Z")
    return int(when.replace(tzinfo=datetime.timezone.utc).timestamp())


def policy(name, ns, secret):
    return {"apiVersion": "k8s.nginx.org/v1", "kind": "Policy", "metadata": {"name": name, "namespace": ns},
            "spec": {"ingressMTLS": {"clientCertSecret": secret, "verifyClient": "on"}}}


def ingress(name, ns, policy_name, tls=True):
    spec = {"ingressClassName": "nginx",
            "rules": [{"host": "cafe.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                "service": {"name": "coffee", "port": {"number": 80}}}}]}}]}
    if tls:
        spec["tls"] = [{"hosts": ["cafe.example.com"], "secretName": "tls-secret"}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": ns, "annotations": {"nginx.org/policies": policy_name}}, "spec": spec}


def apply(emu, *objects):
    emu.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(objects))


def secret(name, ns, type_, **files):
    """A Secret manifest (kubectl's `create secret` generators speak protobuf, which the emulator does not)."""
    data = {key.replace("_", "."): base64.b64encode(pathlib.Path(path).read_bytes()).decode() for key, path in files.items()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns}, "type": type_, "data": data}


def seed_namespace(emu, tmp, ns, ca_days=365):
    """Namespace `ns`: CA Secret `ca-secret`, TLS Secret `tls-secret`, ingressMTLS Policy `mtls`,
    and Ingress `cafe` using it with TLS. No finding unless the CA expires within 30 days."""
    d = tmp / ns
    d.mkdir(exist_ok=True)
    ca = make_ca(d, f"{ns}-ca", ca_days)
    leaf = make_leaf(d, f"{ns}-leaf", ca)
    apply(emu, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
          secret("ca-secret", ns, "nginx.org/ca", ca_crt=ca[0]),
          secret("tls-secret", ns, "kubernetes.io/tls", tls_crt=leaf[0], tls_key=leaf[1]),
          policy("mtls", ns, "ca-secret"), ingress("cafe", ns, "mtls"))
    return ca


def report(emu, ns):
    status, body = emu.api_json("GET", REPORTS.format(ns=ns) + "/mtls-guard")
    return body if status == 200 else None


def findings_of(rep):
    return sorted((r["rule"], r["result"], r["resources"][0]["kind"], r["resources"][0]["name"]) for r in (rep or {}).get("results", []))


def report_writes(emu):
    return [r for r in emu.requests() if "/policyreports" in r["path"] and r["method"] in ("POST", "PUT", "DELETE")]


def metric(server, name, **labels):
    """The series of `name` with exactly `labels`; `None` when it is not exported."""
    return server.metrics().get((name, frozenset(labels.items())))


def start(server_factory, emu, *extra):
    return server_factory("--kubeconfig", str(emu.kubeconfig), "--shutdown-delay", "0", *extra)


@pytest.fixture
def tmp(tmp_path):
    d = tmp_path / "pki"
    d.mkdir()
    return d


def test_violation_before_start_is_reported_and_fixing_it_removes_it(emulator, server_factory, tmp):
    seed_namespace(emulator, tmp, "team-a")
    # Admitted before mtls-guard existed: an ingressMTLS host without TLS.
    apply(emulator, ingress("no-tls", "team-a", "mtls", tls=False))
    server = start(server_factory, emulator)
    rep = wait_for("the PolicyReport of team-a", lambda: report(emulator, "team-a"))
    assert findings_of(rep) == [("ingress-mtls/tls-required", "fail", "Ingress", "no-tls")]
    (result,) = rep["results"]
    assert result["policy"] == "mtls-guard" and result["source"] == "mtls-guard" and result["severity"] == "high"
    assert result["message"].startswith("spec.tls: ")
    res = result["resources"][0]
    assert res["apiVersion"] == "networking.k8s.io/v1" and res["namespace"] == "team-a" and res["uid"]
    assert rep["summary"] == {"pass": 0, "fail": 1, "warn": 0, "error": 0, "skip": 0}
    assert rep["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "mtls-guard"
    assert metric(server, "mtls_guard_violations", rule="ingress-mtls/tls-required", severity="deny", kind="Ingress") == 1
    # No review was ever sent: the audit found it alone.
    assert "mtls_guard_requests_total{" not in server.metrics_get("/metrics")[1]

    # Fixed with kubectl: the finding goes, and with it the namespace's report.
    apply(emulator, ingress("no-tls", "team-a", "mtls", tls=True))
    wait_for("the report to be deleted", lambda: report(emulator, "team-a") is None)
    assert wait_for("the gauge to drop", lambda: metric(server, "mtls_guard_violations", rule="ingress-mtls/tls-required",
                                                         severity="deny", kind="Ingress") == 0)


def test_unchanged_reports_are_not_rewritten(emulator, server_factory, tmp):
    seed_namespace(emulator, tmp, "team-a")
    apply(emulator, ingress("no-tls", "team-a", "mtls", tls=False))
    server = start(server_factory, emulator)
    wait_for("the PolicyReport of team-a", lambda: report(emulator, "team-a"))
    writes = report_writes(emulator)
    assert [w["method"] for w in writes] == ["POST"]
    # A change that re-judges the offending Ingress and its Policy but changes no finding.
    passes = metric(server, "mtls_guard_audit_passes_total", **{"pass": "incremental"}) or 0
    emulator.kubectl("label", "ingress", "no-tls", "-n", "team-a", "touched=yes")
    emulator.kubectl("label", "policies.k8s.nginx.org", "mtls", "-n", "team-a", "touched=yes")
    wait_for("an incremental pass", lambda: (metric(server, "mtls_guard_audit_passes_total", **{"pass": "incremental"}) or 0) > passes)
    time.sleep(0.5)
    assert report_writes(emulator) == writes
    # A restart reads the reports back and rewrites nothing.
    server.stop()
    server = start(server_factory, emulator)
    wait_for("a full pass after restart", lambda: metric(server, "mtls_guard_audit_passes_total", **{"pass": "full"}))
    time.sleep(0.5)
    assert report_writes(emulator) == writes
    # A real change is written once, as a PUT.
    apply(emulator, ingress("no-tls-2", "team-a", "mtls", tls=False))
    wait_for("the second finding", lambda: len(findings_of(report(emulator, "team-a"))) == 2)
    assert [w["method"] for w in report_writes(emulator)] == ["POST", "PUT"]


def test_ca_secret_replaced_by_wrong_type_fails_policy_and_ingress(emulator, server_factory, tmp):
    ca = seed_namespace(emulator, tmp, "team-a")
    server = start(server_factory, emulator)
    wait_for("a full pass", lambda: metric(server, "mtls_guard_audit_passes_total", **{"pass": "full"}))
    assert report(emulator, "team-a") is None  # nothing wrong yet
    # Secret type is immutable: "replace with another type" is delete + create.
    emulator.kubectl("delete", "secret", "ca-secret", "-n", "team-a")
    apply(emulator, secret("ca-secret", "team-a", "Opaque", ca_crt=ca[0]))
    rep = wait_for("Policy and Ingress to fail", lambda: (lambda r: r if len(findings_of(r)) == 2 else None)(report(emulator, "team-a")))
    assert findings_of(rep) == [("ingress-mtls/client-cert-secret-ref", "fail", "Policy", "mtls"),
                                ("ingress/policy-ref", "fail", "Ingress", "cafe")]
    policy_result = next(r for r in rep["results"] if r["resources"][0]["kind"] == "Policy")
    assert "Opaque" in policy_result["message"]
    assert "mtls_guard_requests_total{" not in server.metrics_get("/metrics")[1]
    # Only the Secret's referrers were judged again, not the world.
    assert metric(server, "mtls_guard_audit_last_pass_objects", **{"pass": "incremental"}) <= 3


def test_expiring_ca_is_a_warning_and_an_expiry_metric(emulator, server_factory, tmp):
    ca = seed_namespace(emulator, tmp, "team-a", ca_days=10)
    server = start(server_factory, emulator)
    rep = wait_for("the PolicyReport of team-a", lambda: report(emulator, "team-a"))
    assert findings_of(rep) == [("secret/expiry", "warn", "Secret", "ca-secret")]
    assert rep["results"][0]["severity"] == "medium" and rep["summary"]["warn"] == 1
    assert metric(server, "mtls_guard_mtls_certificate_expiry_timestamp_seconds", namespace="team-a", secret="ca-secret") == not_after(ca[0])
    # The TLS Secret of the host the ingressMTLS Policy protects is published too.
    leaf = tmp / "team-a" / "team-a-leaf.crt"
    assert metric(server, "mtls_guard_mtls_certificate_expiry_timestamp_seconds", namespace="team-a", secret="tls-secret") == not_after(leaf)
    assert metric(server, "mtls_guard_violations", rule="secret/expiry", severity="warn", kind="Secret") == 1


def test_policy_reports_can_be_turned_off(emulator, server_factory, tmp):
    seed_namespace(emulator, tmp, "team-a")
    apply(emulator, ingress("no-tls", "team-a", "mtls", tls=False))
    server = start(server_factory, emulator, "--policy-reports=false")
    wait_for("a full pass", lambda: metric(server, "mtls_guard_audit_passes_total", **{"pass": "full"}))
    assert metric(server, "mtls_guard_violations", rule="ingress-mtls/tls-required", severity="deny", kind="Ingress") == 1
    assert not [r for r in emulator.requests() if "/policyreports" in r["path"]]


def test_audit_command_exits_1_and_lists_what_the_reports_list(emulator, server_factory, tmp):
    ca = seed_namespace(emulator, tmp, "team-a", ca_days=10)
    seed_namespace(emulator, tmp, "team-b")
    apply(emulator, ingress("no-tls", "team-b", "mtls", tls=False))
    server = start(server_factory, emulator)
    wait_for("both reports", lambda: report(emulator, "team-a") and report(emulator, "team-b"))
    from_reports = sorted((ns, rule, "deny" if result == "fail" else "warn", kind, name)
                          for ns in ("team-a", "team-b") for rule, result, kind, name in findings_of(report(emulator, ns)))
    out = subprocess.run([BIN, "audit", "--kubeconfig", str(emulator.kubeconfig), "--output", "json"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1, out.stderr
    data = json.loads(out.stdout)
    from_command = sorted((r["namespace"], f["rule"], f["severity"], r["kind"], r["name"]) for r in data["results"] for f in r["findings"])
    assert from_command == from_reports
    assert ("team-b", "ingress-mtls/tls-required", "deny", "Ingress", "no-tls") in from_command
    assert data["summary"] == {"objects": 9, "denied": 1, "warned": 1}
    assert all(r["source"] == "cluster" for r in data["results"])
    # Text output: one line per finding and the summary; exit 0 once nothing would be denied.
    emulator.kubectl("delete", "ingress", "no-tls", "-n", "team-b")
    out = subprocess.run([BIN, "audit", "--kubeconfig", str(emulator.kubeconfig)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "secret/expiry" in out.stdout and out.stdout.strip().endswith("8 objects, 0 denied, 1 warned")
    del ca, server


def test_audit_command_on_manifests_and_without_a_cluster(tmp_path):
    out = subprocess.run([BIN, "audit", "--state", str(ROOT / "examples" / "broken"), "--output", "json"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1, out.stderr
    assert json.loads(out.stdout)["summary"]["denied"] > 0
    out = subprocess.run([BIN, "audit"], capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert out.returncode == 2 and "no cluster" in out.stderr


def test_policy_reports_component_renders_crd_and_rbac(tmp_path):
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    # kustomize takes directories only as relative paths.
    base = os.path.relpath(ROOT / "manifests", overlay)
    (overlay / "kustomization.yaml").write_text(f"resources: [{base}]\ncomponents: [{base}/components/policy-reports]\n")
    rendered = [d for d in yaml.safe_load_all(subprocess.run(["kubectl", "kustomize", "--load-restrictor=LoadRestrictionsNone", str(overlay)],
                                                              capture_output=True, text=True, check=True).stdout) if d]
    (crd,) = [o for o in rendered if o["kind"] == "CustomResourceDefinition"]
    assert crd["metadata"]["name"] == "policyreports.wgpolicyk8s.io"
    assert [v["name"] for v in crd["spec"]["versions"]] == ["v1alpha2"]
    role = next(o for o in rendered if o["kind"] == "ClusterRole" and o["metadata"]["name"].endswith("policy-reports"))
    assert role["rules"] == [{"apiGroups": ["wgpolicyk8s.io"], "resources": ["policyreports"],
                              "verbs": ["get", "list", "create", "update", "delete"]}]
    binding = next(o for o in rendered if o["kind"] == "ClusterRoleBinding" and o["roleRef"]["name"] == role["metadata"]["name"])
    account = next(o for o in rendered if o["kind"] == "ServiceAccount")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["metadata"]["name"],
                                    "namespace": account["metadata"]["namespace"]}]


def test_namespace_label_overrides_the_mode(emulator, server_factory, tmp):
    seed_namespace(emulator, tmp, "team-a")
    seed_namespace(emulator, tmp, "team-b")
    emulator.kubectl("label", "namespace", "team-a", "mtls-guard.nginx.org/mode=audit")
    server = start(server_factory, emulator, "--mode", "enforce", "--policy-reports=false")

    def review(ns):
        return server.review(admission_request(ingress("no-tls", ns, "mtls", tls=False)))

    # team-a is in audit mode: allowed, nothing returned, but logged with what enforce would do.
    answer = review("team-a")
    assert answer["allowed"] is True and "warnings" not in answer
    line = wait_for("the audit line", lambda: next((r for r in server.log_records()
                                                    if r.get("audit") == "true" and r.get("namespace") == "team-a"), None))
    assert (line["mode"], line["decision"], line["allowed"]) == ("audit", "deny", "true")
    assert any(f["rule"] == "ingress-mtls/tls-required" for f in line["findings"])
    # team-b follows --mode: denied.
    answer = review("team-b")
    assert answer["allowed"] is False and "ingress-mtls/tls-required" in answer["status"]["message"]
    assert metric(server, "mtls_guard_requests_total", kind="Ingress", operation="CREATE", decision="deny", mode="audit", dry_run="false") == 1
    assert metric(server, "mtls_guard_requests_total", kind="Ingress", operation="CREATE", decision="deny", mode="enforce", dry_run="false") == 1

    # The label is read from the live view: a change is seen without restarting, a bad value is ignored.
    emulator.kubectl("label", "namespace", "team-b", "mtls-guard.nginx.org/mode=warn")
    answer = wait_for("team-b in warn mode", lambda: (lambda a: a if a["allowed"] else None)(review("team-b")))
    assert any("ingress-mtls/tls-required" in w for w in answer["warnings"])
    emulator.kubectl("label", "--overwrite", "namespace", "team-a", "mtls-guard.nginx.org/mode=sometimes")
    wait_for("team-a back to enforce", lambda: review("team-a")["allowed"] is False)
    emulator.kubectl("label", "namespace", "team-b", "mtls-guard.nginx.org/mode-")
    wait_for("team-b back to enforce", lambda: review("team-b")["allowed"] is False)
