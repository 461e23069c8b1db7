"""The API-server emulator (Tests/kube-emulator/emulator.py) as a pytest fixture.

Use it from a test module by importing the fixtures:

    from emulator_fixture import emulator, emulator_factory  # noqa: F401  (pytest fixtures)

    def test_something(emulator):
        emulator.kubectl("create", "-f", "examples/good/")            # real kubectl, its kubeconfig
        status, headers, body = emulator.api("GET", "/api/v1/secrets")  # HTTPS + bearer token
        emulator.control("/fault", {"resource": "policies", "code": 403})
        serve_args = ["--kubeconfig", str(emulator.kubeconfig)]

`emulator` is one emulator started in a fresh temporary folder and stopped (SIGTERM) after the
test; `emulator_factory(seeds=(...), args=(...))` starts more, with `--seed` paths or extra
arguments such as `("--history", "5", "--bookmark-interval", "0.2")`.

An `Emulator` has:
- `dir` (pathlib.Path): ca.crt, server.crt, token, kubeconfig ... as the emulator writes them;
- `port`, `control_port` (int); `kubeconfig`, `ca` (pathlib.Path); `token` (str, read from the
  file each time, so it follows /rotate-token);
- `control(path, body=None, method=None)`: a control API call (POST when a body is given or the
  path is not a GET endpoint), returns the decoded JSON;
- `kubectl(*args, check=True, timeout=60, input=None)`: runs kubectl with `--kubeconfig`,
  returns subprocess.CompletedProcess (text);
- `api(method, path, body=None, token=..., headers=None)`: one HTTPS request (ca.crt verified,
  bearer token) returning (status, headers dict, body bytes);
- `open_watch(path, timeout=10)`: an HTTPS watch stream, returns (connection, response); read
  it with `read_events(response, n)` or `response.readline()`; `connection_reset(connection)`
  tells a TCP reset (what /drop-watches and /restart do) from a clean close;
- `requests()`: the emulator's request log; `stop()`.
"""
import http.client
import json
import os
import pathlib
import signal
import socket
import ssl
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
EMULATOR = ROOT / "Tests" / "kube-emulator" / "emulator.py"
KUBECTL = os.environ.get("KUBECTL", "kubectl")

_UNSET = object()


def _die_with_parent():
    """In the child: SIGTERM when the test process dies, so a killed pytest leaves no emulator."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Emulator:
    """A running emulator in its own folder; see the module docstring."""

    def __init__(self, directory, seeds=(), args=()):
        self.dir = pathlib.Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.dir / "emulator.log"
        self._log = open(self.log_path, "wb")
        cmd = [sys.executable, str(EMULATOR), "--dir", str(self.dir)]
        for seed in seeds:
            cmd += ["--seed", str(seed)]
        cmd += [str(a) for a in args]
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        deadline = time.time() + 30
        while not (self.dir / "ready").exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"emulator exited with {self.proc.returncode}:\n{self.logs()}")
            if time.time() > deadline:
                self.stop()
                raise RuntimeError(f"emulator not ready in 30 s:\n{self.logs()}")
            time.sleep(0.02)
        self.port = int((self.dir / "port").read_text())
        self.control_port = int((self.dir / "control-port").read_text())
        self.kubeconfig = self.dir / "kubeconfig"
        self.ca = self.dir / "ca.crt"

    @property
    def token(self):
        return (self.dir / "token").read_text().strip()

    def ssl_context(self, cafile=None):
        return ssl.create_default_context(cafile=str(cafile or self.ca))

    def connection(self, timeout=10, context=None):
        return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                           context=context or self.ssl_context())

    def api(self, method, path, body=None, token=_UNSET, headers=None, timeout=10):
        token = self.token if token is _UNSET else token
        h = {"Accept": "application/json", **(headers or {})}
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        conn = self.connection(timeout)
        try:
            conn.request(method, path, body=body, headers=h)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def api_json(self, method, path, body=None, **kw):
        status, _, data = self.api(method, path, body, **kw)
        return status, json.loads(data) if data else None

    def open_watch(self, path, timeout=10, token=_UNSET):
        token = self.token if token is _UNSET else token
        conn = self.connection(timeout)
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
        resp = conn.getresponse()
        return conn, resp

    def control(self, path, body=None, method=None):
        method = method or ("GET" if body is None and path in ("/requests", "/healthz") else "POST")
        conn = http.client.HTTPConnection("127.0.0.1", self.control_port, timeout=30)
        try:
            data = json.dumps(body) if body is not None else None
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
            resp = conn.getresponse()
            raw = resp.read()
            if resp.status >= 400 and resp.status != 207:
                raise RuntimeError(f"control {path}: {resp.status} {raw[:500]!r}")
            return json.loads(raw) if raw else None
        finally:
            conn.close()

    def requests(self):
        return self.control("/requests", method="GET")

    def kubectl(self, *args, check=True, timeout=60, input=None):
        out = subprocess.run([KUBECTL, "--kubeconfig", str(self.kubeconfig), *map(str, args)],
                             capture_output=True, text=True, timeout=timeout, input=input, cwd=ROOT)
        if check and out.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(map(str, args))} failed ({out.returncode}):\n{out.stderr}")
        return out

    def logs(self):
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def connection_reset(conn, timeout=5):
    """True when the peer of this (HTTPS) connection resets it with a TCP RST within `timeout`
    seconds; False on a clean close (FIN) or when it stays open. Reads the TCP socket under TLS:
    Python's ssl reports an RST as a plain EOF."""
    raw = socket.socket(fileno=os.dup(conn.sock.fileno()))
    raw.settimeout(timeout)
    try:
        while True:
            if not raw.recv(65536):
                return False
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    finally:
        raw.close()


def read_events(resp, n):
    """The next n watch events of a stream (one JSON object per line)."""
    events = []
    while len(events) < n:
        line = resp.readline()
        if not line:
            break
        events.append(json.loads(line))
    return events


@pytest.fixture
def emulator_factory(tmp_path):
    started = []

    def make(seeds=(), args=()):
        e = Emulator(tmp_path / f"emulator{len(started)}", seeds, args)
        started.append(e)
        return e

    yield make
    for e in started:
        e.stop()


@pytest.fixture
def emulator(emulator_factory):
    return emulator_factory()
