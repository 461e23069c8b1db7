"""The webhook over real HTTPS: contract, modes, limits, TLS operations, shutdown, metrics."""
import http.client
import json
import os
import re
import signal
import socket
import ssl
import time

import pytest

from conftest import PKI, admission_request, eventually, serial_of_der, serial_of_pem
from manifests import ca_secret, deployment, ingress, ingress_mtls_policy, tls_secret


@pytest.fixture
def state_dir(tmp_path):
    """A cluster view: a valid CA Secret, TLS Secret, ingressMTLS Policy and a protected Ingress."""
    pki = PKI(tmp_path / "pki")
    crt, key = pki.leaf("cafe", "cafe.example.com", sans=("DNS:cafe.example.com",))
    state = tmp_path / "state"
    state.mkdir()
    objects = [ca_secret(pki.ca_crt.read_bytes()), tls_secret(crt.read_bytes(), key.read_bytes()),
               ingress_mtls_policy(), ingress(policies="ingress-mtls")]
    (state / "cluster.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
    return state, objects, key.read_text()


def bad_policy():
    return ingress_mtls_policy(verify_client="maybe", verifyDepth=-1)


# --- the AdmissionReview contract -----------------------------------------------------------

def test_valid_policy_is_allowed_and_uid_echoed(server_factory, state_dir):
    state, objects, _ = state_dir
    s = server_factory("--state", str(state))
    response = s.review(admission_request(objects[2]))
    assert response["allowed"] is True
    assert "status" not in response
    assert not response.get("warnings")


def test_enforce_denies_with_every_deny_finding(server):
    response = server.review(admission_request(bad_policy()))
    assert response["allowed"] is False
    assert response["status"]["code"] == 403
    message = response["status"]["message"]
    assert message.startswith("Policy default/ingress-mtls: 2 mTLS violations")
    assert re.search(r'spec\.ingressMTLS\.verifyClient: Unsupported value: "maybe".*\(ingress-mtls/verify-client\)', message)
    assert re.search(r"spec\.ingressMTLS\.verifyDepth: .*\(ingress-mtls/verify-depth\)", message)


def test_unquoted_on_is_denied_with_a_hint_to_quote_it(server):
    response = server.review(admission_request(ingress_mtls_policy(verify_client=True)))
    assert response["allowed"] is False
    assert "(ingress-mtls/verify-client)" in response["status"]["message"]
    assert "quote" in response["status"]["message"].lower()


def test_warn_mode_allows_and_returns_every_finding(server_factory):
    s = server_factory("--mode", "warn")
    response = s.review(admission_request(bad_policy()))
    assert response["allowed"] is True
    assert "status" not in response
    warnings = response["warnings"]
    assert any(w.startswith("[deny] spec.ingressMTLS.verifyClient") and w.endswith("(ingress-mtls/verify-client)") for w in warnings)
    assert any("(ingress-mtls/verify-depth)" in w for w in warnings)


def test_audit_mode_allows_silently_and_writes_audit_line(server_factory):
    s = server_factory("--mode", "audit")
    request = admission_request(bad_policy(), user="bob")
    response = s.review(request)
    assert response == {"uid": request["uid"], "allowed": True}
    deadline = time.time() + 5
    while time.time() < deadline:
        audits = [r for r in s.log_records() if r.get("audit") == "true" and r.get("uid") == request["uid"]]
        if audits:
            break
        time.sleep(0.05)
    assert len(audits) == 1
    line = audits[0]
    assert (line["mode"], line["decision"], line["allowed"], line["user"]) == ("audit", "deny", "true", "bob")
    assert (line["kind"], line["namespace"], line["name"], line["operation"]) == ("Policy", "default", "ingress-mtls", "CREATE")
    assert {f["rule"] for f in line["findings"]} >= {"ingress-mtls/verify-client", "ingress-mtls/verify-depth"}


def test_dry_run_behaves_identically(server):
    a = server.review(admission_request(bad_policy(), dry_run=False))
    b = server.review(admission_request(bad_policy(), dry_run=True))
    a.pop("uid"), b.pop("uid")
    assert a == b and a["allowed"] is False


def test_delete_of_ca_secret_in_use_is_denied(server_factory, state_dir):
    state, objects, _ = state_dir
    s = server_factory("--state", str(state))
    request = admission_request(None, operation="DELETE", old=objects[0])
    assert request["object"] is None
    response = s.review(request)
    assert response["allowed"] is False
    assert "(secret/in-use-delete)" in response["status"]["message"]
    assert "Policy default/ingress-mtls" in response["status"]["message"]


def test_delete_of_unused_secret_is_allowed(server_factory, state_dir):
    state, objects, _ = state_dir
    s = server_factory("--state", str(state))
    unused = dict(objects[0], metadata={"name": "other-ca", "namespace": "default"})
    assert s.review(admission_request(None, operation="DELETE", old=unused))["allowed"] is True


def test_meshed_deployment_with_bad_mode_is_denied(server):
    response = server.review(admission_request(deployment(mode="mutual")))
    assert response["allowed"] is False
    assert "(mesh/mtls-mode-value)" in response["status"]["message"]


def test_missing_state_is_one_warning_not_a_guess(server):
    response = server.review(admission_request(ingress(policies="ingress-mtls")))
    assert response["allowed"] is True
    skipped = [w for w in response["warnings"] if w.startswith("cluster state unavailable")]
    assert len(skipped) == 1 and "ingress/policy-ref" in skipped[0]


def test_warnings_are_truncated_predictably(server_factory, state_dir):
    state, _, _ = state_dir
    s = server_factory("--state", str(state))
    names = ", ".join(f"missing-policy-with-a-rather-long-name-{i:03d}" for i in range(120))
    response = s.review(admission_request(ingress(name="many", policies=names, tls=True)))
    warnings = response["warnings"]
    assert all(len(w) <= 120 for w in warnings)
    assert sum(len(w.encode()) for w in warnings) <= 4096
    # 20 missing Policies are named; the other 100 are counted in one more warning.
    missing = [w for w in warnings if "ingress/policy-ref" in w]
    counted = [re.search(r"(\d+) more finding\(s\)", w) for w in missing]
    assert len(missing) == 21 and sum(1 for m in counted if m and m.group(1) == "100") == 1, warnings


def test_secret_data_never_logged(server_factory, state_dir):
    state, objects, key_pem = state_dir
    s = server_factory("--mode", "audit")
    secret = dict(objects[1], data={"tls.crt": objects[1]["data"]["tls.crt"], "tls.key": objects[0]["data"]["ca.crt"]})
    s.review(admission_request(secret))
    s.review(admission_request(objects[1]))
    logs = s.logs()
    body = key_pem.split("-----")[2].strip().splitlines()[0]
    assert body not in logs
    assert objects[1]["data"]["tls.key"][:40] not in logs


# --- HTTP limits --------------------------------------------------------------------------

@pytest.mark.parametrize("body,fragment", [
    (b"{not json", "malformed AdmissionReview"),
    (b'{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{}}', "v1beta1"),
    (b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}', "request is missing"),
    (b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":5}}', "uid"),
    (b"\xff\xfe\x00garbage", "malformed"),
])
def test_malformed_review_is_400_with_json_error(server, body, fragment):
    status, headers, data = server.request("POST", "/validate", body, {"Content-Type": "application/json"})
    assert status == 400
    error = json.loads(data)
    assert error["kind"] == "Status" and error["code"] == 400 and fragment in error["message"]


def test_http_errors(server):
    status, _, data = server.request("GET", "/nope")
    assert status == 404 and json.loads(data)["code"] == 404
    status, headers, _ = server.request("GET", "/validate")
    assert status == 405 and headers.get("Allow") == "POST"
    status, _, _ = server.request("POST", "/validate", b"{}", {"Content-Type": "text/plain"})
    assert status == 415
    big = b"{" + b" " * (8 * 1024 * 1024) + b"}"
    status, _, _ = server.request("POST", "/validate", big, {"Content-Type": "application/json"})
    assert status == 413
    # The server is still healthy afterwards.
    assert server.request("GET", "/healthz")[0] == 200


def test_413_without_content_length(server):
    conn = server.connection()
    conn.putrequest("POST", "/validate")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    chunk = b" " * (1024 * 1024)
    try:
        for _ in range(8):
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        conn.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
        pass
    assert conn.getresponse().status == 413


def test_keep_alive_serves_many_reviews_on_one_connection(server):
    conn = server.connection()
    for _ in range(5):
        assert server.review(admission_request(bad_policy()), conn=conn)["allowed"] is False
    conn.close()


# --- TLS operations -----------------------------------------------------------------------

def test_garbage_on_tls_port_is_counted_and_harmless(server):
    for payload in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", os.urandom(4096), b"\x16\x03\x01\x00\x05hello"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(payload)
            try:
                sock.recv(1024)
            except OSError:
                pass
    assert server.review(admission_request(bad_policy()))["allowed"] is False
    _, text = server.metrics_get("/metrics")
    m = re.search(r"^mtls_guard_tls_handshake_failures_total (\d+)", text, re.M)
    assert m and int(m.group(1)) >= 2


def test_certificate_rotation_keeps_open_connections(server_factory, tmp_path):
    pki = PKI(tmp_path / "rot")
    crt, key = pki.leaf("serving", "localhost", serial=1001)
    live_crt, live_key = tmp_path / "tls.crt", tmp_path / "tls.key"
    live_crt.write_bytes(crt.read_bytes())
    live_key.write_bytes(key.read_bytes())
    s = server_factory("--cert", str(live_crt), "--key", str(live_key), "--certificate-check-interval", "0.2")
    ctx = ssl.create_default_context(cafile=str(pki.ca_crt))
    old = s.connection(context=ctx)
    assert s.review(admission_request(bad_policy()), conn=old)["allowed"] is False
    assert serial_of_der(old.sock.getpeercert(binary_form=True)) == serial_of_pem(crt)

    new_crt, new_key = pki.leaf("serving2", "localhost", serial=2002)
    # Half-rotated: certificate first, key later, as cert-manager may write them.
    live_crt.write_bytes(new_crt.read_bytes())
    time.sleep(0.8)
    c = s.connection(context=ctx)
    c.connect()
    assert serial_of_der(c.sock.getpeercert(binary_form=True)) == serial_of_pem(crt)
    c.close()
    live_key.write_bytes(new_key.read_bytes())

    deadline = time.time() + 5
    seen = None
    while time.time() < deadline:
        c = s.connection(context=ctx)
        c.connect()
        seen = serial_of_der(c.sock.getpeercert(binary_form=True))
        c.close()
        if seen == serial_of_pem(new_crt):
            break
        time.sleep(0.1)
    assert seen == serial_of_pem(new_crt)
    # The connection opened before the rotation still works, on its old certificate.
    assert s.review(admission_request(bad_policy()), conn=old)["allowed"] is False
    old.close()
    _, text = s.metrics_get("/metrics")
    assert re.search(r"^mtls_guard_certificate_reloads_total 1(\.0)?$", text, re.M)


def test_client_certificate_required(server_factory, tmp_path):
    pki = PKI(tmp_path / "clients")
    good_crt, good_key = pki.leaf("apiserver", "kube-apiserver", sans=None, client=True)
    other_crt, other_key = pki.leaf("other", "someone-else", sans=None, client=True)
    s = server_factory("--client-ca", str(pki.ca_crt), "--client-cn", "kube-apiserver")

    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        s.review(admission_request(bad_policy()))

    response = s.review(admission_request(bad_policy()), conn=s.connection(context=s.context(str(good_crt), str(good_key))))
    assert response["allowed"] is False

    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        s.review(admission_request(bad_policy()), conn=s.connection(context=s.context(str(other_crt), str(other_key))))


# --- operations ---------------------------------------------------------------------------

def test_readiness_turns_off_before_shutdown_and_exit_is_clean(server_factory):
    s = server_factory("--shutdown-delay", "2")
    assert s.request("GET", "/readyz")[0] == 200
    s.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    status, _, body = s.request("GET", "/readyz")
    assert status == 503 and b"shutting down" in body
    # Still serving reviews during the delay: the endpoint is leaving, not gone.
    assert s.review(admission_request(bad_policy()))["allowed"] is False
    assert s.proc.wait(10) == 0


def test_metrics_after_reviews(server):
    server.review(admission_request(bad_policy()))
    server.review(admission_request(bad_policy(), dry_run=True))
    server.review(admission_request(deployment(mode="strict")))
    server.request("GET", "/validate")
    status, text = server.metrics_get("/metrics")
    assert status == 200
    assert re.search(r'mtls_guard_requests_total\{[^}]*kind="Policy"[^}]*\} 1', text)
    assert re.search(r'mtls_guard_requests_total\{(?=[^}]*decision="deny")(?=[^}]*mode="enforce")(?=[^}]*dry_run="true")[^}]*\} 1', text)
    assert re.search(r'mtls_guard_findings_total\{(?=[^}]*rule="ingress-mtls/verify-client")(?=[^}]*severity="deny")[^}]*\} 2', text)
    assert re.search(r'mtls_guard_request_duration_seconds_bucket\{[^}]*le="10(\.0)?"[^}]*\} \d+', text)
    assert "mtls_guard_requests_in_flight 0" in text
    assert re.search(r"^mtls_guard_certificate_expiry_timestamp_seconds \d", text, re.M)
    assert re.search(r'mtls_guard_http_rejected_total\{code="405"\} 1', text)


@pytest.mark.parametrize("timeout", ["infs", "nans", "1e300s", "0x1p80s", "-1s", "9" * 30 + "h", "10"])
def test_hostile_timeout_values_are_harmless(server, timeout):
    response = server.review(admission_request(bad_policy()), path=f"/validate?timeout={timeout}")
    assert response["allowed"] is False
    assert server.request("GET", "/healthz")[0] == 200


def test_made_up_kinds_share_one_metric_label(server):
    for kind in ("Zz1", "Zz2", "Zz3"):
        obj = {"apiVersion": "example.com/v1", "kind": kind, "metadata": {"name": "x", "namespace": "default"}}
        assert server.review(admission_request(obj))["allowed"] is True
    _, text = server.metrics_get("/metrics")
    assert 'kind="Zz1"' not in text
    assert re.search(r'mtls_guard_requests_total\{[^}]*kind="other"[^}]*\} 3', text)


def test_review_cli_answers_byte_for_byte_like_the_server(server, tmp_path):
    import subprocess
    from conftest import BIN, review_body
    request = admission_request(bad_policy())
    body = review_body(request)
    _, _, served = server.request("POST", "/validate", body, {"Content-Type": "application/json"})
    printed = subprocess.run([BIN, "review"], input=body, capture_output=True).stdout
    assert printed.rstrip(b"\n") == served


@pytest.mark.parametrize("headers,status", [
    ("Content-Type: application/json\r\nContent-Length: 104857600", 413),
    ("Content-Type: text/plain\r\nContent-Length: 104857600", 415),
])
def test_refused_body_is_not_read_to_its_end(server, headers, status):
    """After refusing a huge body the server closes the connection instead of draining it."""
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    tls = server.context().wrap_socket(raw, server_hostname="localhost")
    tls.sendall(f"POST /validate HTTP/1.1\r\nHost: localhost\r\n{headers}\r\n\r\n".encode() + b"{" * 4096)
    data = b""
    deadline = time.time() + 5
    closed = False
    while time.time() < deadline:
        try:
            chunk = tls.recv(65536)
        except (ssl.SSLError, ConnectionResetError):
            closed = True
            break
        if not chunk:
            closed = True
            break
        data += chunk
    tls.close()
    assert data.startswith(f"HTTP/1.1 {status}".encode())
    assert b"connection: close" in data.lower()
    assert closed, "server kept the connection open to read the refused body"


def test_bodyless_405_keeps_the_connection(server):
    conn = server.connection()
    status, headers, _ = server.request("GET", "/validate", conn=conn)
    assert status == 405 and headers.get("Connection", "").lower() != "close"
    assert server.review(admission_request(bad_policy()), conn=conn)["allowed"] is False
    conn.close()


def test_connection_cap_reclaims_the_oldest_idle_connection(server_factory):
    s = server_factory("--max-connections", "2", "--shutdown-delay", "0")
    held = [s.connection() for _ in range(2)]
    for conn in held:
        assert s.review(admission_request(bad_policy()), conn=conn)["allowed"] is False
        time.sleep(0.1)
    # A third caller is served at once: the connection idle the longest makes room.
    assert s.review(admission_request(bad_policy()))["allowed"] is False
    with pytest.raises((http.client.HTTPException, OSError)):
        s.review(admission_request(bad_policy()), conn=held[0])
    assert s.review(admission_request(bad_policy()), conn=held[1])["allowed"] is False
    for conn in held:
        conn.close()


# --- resident memory ---------------------------------------------------------------------------

def test_startup_code_pages_are_released_and_reviews_still_answered(server_factory, state_dir):
    """A second after listening, `serve` drops the read-only file pages start-up touched (the kernel maps them
    back as code runs): the log says how much, and every kind of review still runs afterwards,
    including code no request had run before the release."""
    state, objects, _ = state_dir
    s = server_factory("--state", str(state))
    released = eventually(lambda: next((r for r in s.log_records() if r.get("msg") == "start-up code pages released"), None),
                          message="the start-up pages release logged")
    assert int(released["mappings"]) > 0
    assert float(released["residentMBAfter"]) < float(released["residentMBBefore"])
    assert s.review(admission_request(objects[3]))["allowed"] is True
    assert s.review(admission_request(deployment()))["allowed"] is True
    assert s.review(admission_request(bad_policy()))["allowed"] is False
    assert s.review(admission_request(objects[0], operation="UPDATE", old=objects[0]))["allowed"] is True
    assert s.metrics_get("/metrics")[0] == 200
