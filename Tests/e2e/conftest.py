"""End-to-end fixtures: the real `mtls-guard serve` binary over real TLS (Python's ssl module).

There is no kube-apiserver on the build machines: these tests play its part, sending
AdmissionReview v1 requests over HTTPS exactly as the API server does (POST, application/json,
?timeout=), and checking the responses against the contract it enforces.
"""
import http.client
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
import uuid

import pytest
import yaml

# The API-server emulator's fixtures (`emulator`, `emulator_factory`) for every test module.
pytest_plugins = ["emulator_fixture"]

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("MTLS_GUARD_BIN", str(ROOT / ".build" / "debug" / "mtls-guard"))
EXAMPLES = ROOT / "examples"

requires_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed (make deps)")


def eventually(check, timeout=10, interval=0.05, message="condition"):
    """`check()`'s first truthy result, polled every `interval` s; fails after `timeout` s."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{message} not met within {timeout}s (last: {last!r})")


def render(path):
    """`kubectl kustomize path` as a list of objects (skips the test where kubectl is missing)."""
    if not shutil.which("kubectl"):
        pytest.skip("kubectl not installed")
    text = subprocess.run(["kubectl", "kustomize", str(path)], capture_output=True, text=True, check=True).stdout
    return [d for d in yaml.safe_load_all(text) if d]


@pytest.fixture(scope="session")
def generated_secrets():
    """The Secrets examples/ needs, made once per run by examples/generate-secrets.sh."""
    subprocess.run(["bash", str(EXAMPLES / "generate-secrets.sh"), str(EXAMPLES)], check=True, capture_output=True)


def parse_metrics(text):
    """Prometheus text as {(name, frozenset(labels)): value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
        if not m:
            continue
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running `mtls-guard serve` with its own development certificates and ports."""

    def __init__(self, tmp, args=(), cert_args=None, env=None, wait=True):
        self.tmp = pathlib.Path(tmp)
        self.certs = self.tmp / "certs"
        self.port = free_port()
        self.metrics_port = free_port()
        self.log_path = self.tmp / "server.log"
        cmd = [BIN, "serve", "--host", "127.0.0.1", "--port", str(self.port),
               "--metrics-port", str(self.metrics_port), "--certs-dir", str(self.certs)]
        cmd += list(cert_args or []) + list(args)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        self.ca_file = self.certs / "ca.crt"
        if wait:
            self.wait_ready()

    def context(self, cert=None, key=None):
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        if cert:
            ctx.load_cert_chain(cert, key)
        return ctx

    def wait_ready(self, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                if self.metrics_get("/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server not ready in {timeout}s:\n{self.logs()}")

    def connection(self, **kw):
        return http.client.HTTPSConnection("localhost", self.port, context=kw.pop("context", None) or self.context(), timeout=10, **kw)

    def request(self, method, path, body=None, headers=None, conn=None):
        own = conn is None
        conn = conn or self.connection()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            if own:
                conn.close()

    def review(self, request, conn=None, path="/validate?timeout=10s"):
        body = review_body(request)
        status, headers, data = self.request("POST", path, body, {"Content-Type": "application/json"}, conn)
        assert status == 200, data
        review = json.loads(data)
        assert review["apiVersion"] == "admission.k8s.io/v1"
        assert review["kind"] == "AdmissionReview"
        assert review["response"]["uid"] == request["uid"]
        assert "patch" not in review["response"] and "patchType" not in review["response"]
        return review["response"]

    def metrics_get(self, path):
        conn = http.client.HTTPConnection("127.0.0.1", self.metrics_port, timeout=5)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read().decode()
        finally:
            conn.close()

    def metrics(self):
        """The metrics port's samples (`parse_metrics`)."""
        status, text = self.metrics_get("/metrics")
        assert status == 200
        return parse_metrics(text)

    def logs(self):
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def log_records(self):
        out = []
        for line in self.logs().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def server_factory(tmp_path):
    servers = []

    def make(*args, **kw):
        sub = tmp_path / f"s{len(servers)}"
        sub.mkdir()
        s = Server(sub, args=args, **kw)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


@pytest.fixture
def server(server_factory):
    return server_factory("--shutdown-delay", "0")


def review_body(request):
    """The AdmissionReview the API server POSTs for `request`, as bytes."""
    return json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}).encode()


def admission_request(obj, operation="CREATE", old=None, dry_run=False, user="alice"):
    """An AdmissionRequest as the API server builds it for `obj` (or `old` on DELETE)."""
    subject = obj if obj is not None else old
    api_version = subject["apiVersion"]
    group, _, version = api_version.rpartition("/")
    kind = subject["kind"]
    resource = kind.lower() + ("es" if kind.endswith("s") else "s")
    meta = subject.get("metadata", {})
    return {
        "uid": str(uuid.uuid4()),
        "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": group, "version": version, "resource": resource},
        "requestKind": {"group": group, "version": version, "kind": kind},
        "name": meta.get("name", ""),
        "namespace": meta.get("namespace", "default"),
        "operation": operation,
        "userInfo": {"username": user, "groups": ["system:authenticated"]},
        "object": obj,
        "oldObject": old,
        "dryRun": dry_run,
        "options": None,
    }


def openssl(*args, cwd=None):
    subprocess.run(["openssl", *args], check=True, cwd=cwd, capture_output=True)


class PKI:
    """Certificates made with the real openssl CLI, independent of mtls-guard's own code."""

    def __init__(self, directory):
        self.dir = pathlib.Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca_key = self.dir / "ca.key"
        self.ca_crt = self.dir / "ca.crt"
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", str(self.ca_key), "-out", str(self.ca_crt), "-days", "30", "-subj", "/CN=e2e test CA",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def leaf(self, name, cn, sans=("DNS:localhost", "IP:127.0.0.1"), client=False, serial=None):
        key = self.dir / f"{name}.key"
        csr = self.dir / f"{name}.csr"
        crt = self.dir / f"{name}.crt"
        ext = self.dir / f"{name}.ext"
        usage = "clientAuth" if client else "serverAuth"
        ext.write_text(f"basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage={usage}\n"
                       + (f"subjectAltName={','.join(sans)}\n" if sans else ""))
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key),
                "-out", str(csr), "-subj", f"/CN={cn}")
        args = ["x509", "-req", "-in", str(csr), "-CA", str(self.ca_crt), "-CAkey", str(self.ca_key),
                "-out", str(crt), "-days", "10", "-extfile", str(ext)]
        args += ["-set_serial", str(serial)] if serial else ["-CAcreateserial"]
        openssl(*args)
        return crt, key


def serial_of_der(der):
    out = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-serial"], input=der,
                         capture_output=True, check=True).stdout.decode()
    return out.strip().split("=", 1)[1].upper()


def serial_of_pem(path):
    out = subprocess.run(["openssl", "x509", "-in", str(path), "-noout", "-serial"], capture_output=True, check=True).stdout.decode()
    return out.strip().split("=", 1)[1].upper()
