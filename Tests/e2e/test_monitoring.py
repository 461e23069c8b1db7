"""The monitoring component checked by Prometheus itself.

- `promtool check rules` and `promtool test rules` (Tests/monitoring/alerts.test.yaml) on the
  PrometheusRule's spec;
- a real Prometheus server scrapes a running `serve`, loads the same rules, and its HTTP API
  sees the webhook's metrics after a review;
- every PromQL expression of the Grafana dashboard evaluates on that Prometheus without error,
  and those over metrics the server already exports return data.
"""
import json
import os
import pathlib
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import pytest
import yaml

from conftest import ROOT, admission_request, free_port
from manifests import ingress_mtls_policy

COMPONENT = ROOT / "manifests" / "components" / "monitoring"
UNIT_TESTS = ROOT / "Tests" / "monitoring" / "alerts.test.yaml"
JOB = "mtls-guard"


def tool(name):
    path = shutil.which(name)
    if not path:
        pytest.fail(f"{name} not found: install Debian's prometheus package (make deps does it as root)")
    return path


def write_rules(directory):
    """The PrometheusRule's spec as a plain Prometheus rule file."""
    rule = yaml.safe_load((COMPONENT / "prometheusrule.yaml").read_text())
    assert rule["kind"] == "PrometheusRule"
    path = pathlib.Path(directory) / "rules.yaml"
    path.write_text(yaml.safe_dump(rule["spec"], sort_keys=False))
    return path


def alert_names():
    rule = yaml.safe_load((COMPONENT / "prometheusrule.yaml").read_text())
    return {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r}


def test_promtool_accepts_the_rules(tmp_path):
    rules = write_rules(tmp_path)
    out = subprocess.run([tool("promtool"), "check", "rules", str(rules)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {sum(1 for _ in alert_names())} rules found" in out.stdout


def test_promtool_unit_tests_pass_and_cover_every_alert(tmp_path):
    write_rules(tmp_path)
    tests = tmp_path / "alerts.test.yaml"
    shutil.copy(UNIT_TESTS, tests)
    out = subprocess.run([tool("promtool"), "test", "rules", str(tests)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    spec = yaml.safe_load(UNIT_TESTS.read_text())
    firing, quiet = set(), set()
    for case in spec["tests"]:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert firing == alert_names(), "every alert needs a case where it fires"
    assert quiet == alert_names(), "every alert needs a case where it stays quiet"


def test_component_builds_with_kustomize_and_selects_the_service(tmp_path):
    if not shutil.which("kubectl"):
        pytest.skip("kubectl not installed")
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        # kustomize wants relative paths
        "resources": [os.path.relpath(ROOT / "manifests", overlay)], "components": [os.path.relpath(COMPONENT, overlay)]}))
    text = subprocess.run(["kubectl", "kustomize", str(overlay)], capture_output=True, text=True, check=True, timeout=60).stdout
    objects = [o for o in yaml.safe_load_all(text) if o]
    kinds = {o["kind"]: o for o in objects}
    monitor, service = kinds["ServiceMonitor"], kinds["Service"]
    assert monitor["metadata"]["namespace"] == service["metadata"]["namespace"]
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    assert {e["port"] for e in monitor["spec"]["endpoints"]} <= {p["name"] for p in service["spec"]["ports"]}
    # The Operator names the job after the Service; the rules select on it.
    assert service["metadata"]["name"] == JOB
    assert kinds["PrometheusRule"]["metadata"]["namespace"] == service["metadata"]["namespace"]
    dashboards = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
    assert len(dashboards) == 1
    assert json.loads(dashboards[0]["data"]["mtls-guard.json"])["uid"] == "mtls-guard"


# --- a real Prometheus -------------------------------------------------------------------------

class Prometheus:
    def __init__(self, tmp, target_port, rules):
        self.port = free_port()
        config = tmp / "prometheus.yml"
        config.write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(rules)],
            "scrape_configs": [{"job_name": JOB, "static_configs": [{"targets": [f"127.0.0.1:{target_port}"]}]}],
        }))
        self.log_path = tmp / "prometheus.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [tool("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.wait(lambda: self.get("/-/ready", raw=True) == "ready", 60, "Prometheus ready")

    def get(self, path, raw=False, **params):
        url = f"http://127.0.0.1:{self.port}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                body = resp.read().decode()
        except urllib.error.HTTPError as e:
            body = e.read().decode()
        except OSError:
            return None
        if raw:
            return "ready" if "Ready" in body else body
        return json.loads(body)

    def query(self, expr):
        return self.get("/api/v1/query", query=expr)

    def wait(self, condition, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.proc.returncode}:\n{self.logs()}")
            result = condition()
            if result:
                return result
            time.sleep(0.25)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{self.logs()[-4000:]}")

    def logs(self):
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def prometheus_and_server(server_factory, emulator_factory, generated_secrets, tmp_path):
    # The live view against the API-server emulator, so the cluster-view panels and alerts have
    # their metrics too (examples/good as the cluster, with the Secrets generate-secrets.sh writes).
    cluster = emulator_factory(seeds=[ROOT / "examples" / "good"])
    server = server_factory("--shutdown-delay", "0", "--kubeconfig", str(cluster.kubeconfig))
    prom_dir = tmp_path / "prometheus"
    prom_dir.mkdir()
    prom = Prometheus(prom_dir, server.metrics_port, write_rules(prom_dir))
    yield prom, server
    prom.stop()


def nonempty(prom, expr):
    def check():
        answer = prom.query(expr)
        return answer and answer["status"] == "success" and answer["data"]["result"]
    return check


def dashboard_expressions():
    dashboard = json.loads((COMPONENT / "grafana-dashboard.json").read_text())
    exprs = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            exprs.append((panel["title"], target["expr"]))
    return exprs


def as_promql(expr):
    """Grafana's template variables replaced as Grafana would for job=mtls-guard."""
    expr = expr.replace("$__rate_interval", "1m").replace("$job", JOB)
    assert "$" not in expr, f"unknown template variable in {expr}"
    return expr


def test_prometheus_scrapes_serve_and_sees_reviews(prometheus_and_server):
    prom, server = prometheus_and_server
    prom.wait(nonempty(prom, f'up{{job="{JOB}"}} == 1'), 30, "a successful scrape of serve")
    assert server.review(admission_request(ingress_mtls_policy(verify_client="maybe")))["allowed"] is False
    allowed = server.review(admission_request(ingress_mtls_policy()))
    # Allowed, with a warning: the live view has no Secret of the name the test Policy gives.
    assert allowed["allowed"] is True and allowed.get("warnings")
    result = prom.wait(nonempty(prom, f'mtls_guard_requests_total{{job="{JOB}"}}'), 30, "mtls_guard_requests_total")
    decisions = {r["metric"]["decision"]: float(r["value"][1]) for r in result}
    assert decisions == {"deny": 1.0, "warn": 1.0}
    assert {r["metric"]["kind"] for r in result} == {"Policy"}

    # Prometheus loaded the component's rules and evaluates them without error.
    def rules_evaluated():
        groups = prom.get("/api/v1/rules")["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        return rules if rules and all(r.get("lastEvaluation", "").startswith("20") for r in rules) else None
    rules = prom.wait(rules_evaluated, 30, "rules evaluated")
    assert {r["name"] for r in rules} == alert_names()
    assert all(r["health"] == "ok" for r in rules), [(r["name"], r.get("lastError")) for r in rules]
    # A replica that answers scrapes and is ready: the availability alerts stay quiet.
    states = {r["name"]: r["state"] for r in rules}
    assert states["MTLSGuardDown"] == states["MTLSGuardNotReady"] == states["MTLSGuardInstanceDown"] == "inactive"


def test_every_dashboard_expression_evaluates(prometheus_and_server):
    prom, server = prometheus_and_server
    # Give every panel something to show: a review with findings, a refused request, a failed handshake.
    server.review(admission_request(ingress_mtls_policy(verify_client="maybe")))
    assert server.request("POST", "/validate", b"{}", {"Content-Type": "text/plain"})[0] == 415
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            raw.recv(100)
        except OSError:
            pass
    # Two scrapes after the last counter moved, so rate() has a pair of samples everywhere.
    prom.wait(nonempty(prom, f'mtls_guard_tls_handshake_failures_total{{job="{JOB}"}} >= 1'), 30, "the handshake failure scraped")
    prom.wait(nonempty(prom, f'count_over_time(mtls_guard_http_rejected_total{{job="{JOB}"}}[1m]) >= 2'), 30, "two scrapes of the refusal")

    expressions = dashboard_expressions()
    assert len(expressions) >= 10
    for title, expr in expressions:
        answer = prom.query(as_promql(expr))
        assert answer is not None and answer["status"] == "success", (title, expr, answer)
        assert answer["data"]["result"], f"panel {title!r}: {expr} returned nothing"
