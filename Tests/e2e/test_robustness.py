"""Bounded work, isolation, connection limits, HTTP details and lossless shutdown, over real TLS.

Each test states the bound it asserts; limits are generous (debug build, shared machine).
"""
import http.client
import json
import os
import pathlib
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import BIN, admission_request, review_body
from manifests import deployment, ingress, ingress_mtls_policy


def raise_fd_limit(wanted):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]



def normal_request():
    return admission_request(ingress_mtls_policy(verify_client="maybe"))


@pytest.fixture(scope="module")
def crowded_state(tmp_path_factory):
    """A cluster view where 40,000 Ingresses reference one Policy: an UPDATE of that Policy re-judges
    every one of them, a review that takes seconds in a debug build (a real, if extreme, cluster).
    Sized with a margin: as Ingress reviews got cheaper, 20,000 took under the second the tests
    need on a quiet machine."""
    state = tmp_path_factory.mktemp("crowded-state")
    items = [ingress(name=f"i{i}", policies="ingress-mtls", hosts=(f"h{i}.example.com",)) for i in range(40000)]
    items.append(ingress_mtls_policy())
    (state / "cluster.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    return state


@pytest.fixture
def crowded_server(server_factory, crowded_state):
    return server_factory("--state", str(crowded_state), "--shutdown-delay", "0")


def slow_request():
    return admission_request(ingress_mtls_policy(verify_client="optional"), operation="UPDATE", old=ingress_mtls_policy())


def tls_socket(server, timeout=10):
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    return server.context().wrap_socket(raw, server_hostname="localhost")


def read_until_closed(sock, limit=5):
    """What arrives until the server closes the connection, and whether it did within `limit` s
    (a connection still open then is not closed, however long the socket's own timeout)."""
    data = b""
    deadline = time.time() + limit
    while time.time() < deadline:
        sock.settimeout(max(0.05, deadline - time.time()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return data, False
        except (ssl.SSLError, ConnectionResetError):
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def post_bytes(body, path="/validate?timeout=10s", extra=b""):
    """A `POST` of `body` as the API server sends it, with `extra` header lines."""
    return (b"POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n"
            % (path.encode(), extra, len(body)) + body)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- malformed request objects ------------------------------------------------------------

@pytest.mark.parametrize("operation,field,value", [
    ("CREATE", "object", []), ("CREATE", "object", "a string"), ("CREATE", "object", 42), ("CREATE", "object", None),
    ("UPDATE", "object", [1]), ("UPDATE", "oldObject", "x"), ("DELETE", "oldObject", None), ("DELETE", "oldObject", [1]),
])
def test_malformed_object_is_400_naming_the_field(server, tmp_path, operation, field, value):
    request = admission_request(ingress_mtls_policy(), operation=operation, old=ingress_mtls_policy())
    request[field] = value
    status, _, data = server.request("POST", "/validate", review_body(request), {"Content-Type": "application/json"})
    assert status == 400, data
    error = json.loads(data)
    assert error["kind"] == "Status" and f"request.{field}" in error["message"]
    # `review` refuses it the same way (exit 2, same message).
    out = subprocess.run([BIN, "review"], input=review_body(request), capture_output=True)
    assert out.returncode == 2 and f"request.{field}".encode() in out.stdout + out.stderr


# --- HTTP details ------------------------------------------------------------------------

def test_expect_100_continue_is_answered_before_the_body(server):
    body = review_body(normal_request())
    sock = tls_socket(server)
    sock.sendall(b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                 b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
    sock.settimeout(1.0)
    interim = sock.recv(4096)
    assert interim.startswith(b"HTTP/1.1 100"), interim
    sock.settimeout(10)
    sock.sendall(body)
    answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200"), answer
    sock.close()


def test_connection_close_is_echoed_and_honoured(server):
    body = review_body(normal_request())
    sock = tls_socket(server)
    sock.sendall(post_bytes(body, path="/validate", extra=b"Connection: close\r\n"))
    data, closed = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 200") and b"connection: close" in data.lower() and closed


def test_http_1_0_is_answered_as_1_0_and_closed_unless_keep_alive(server):
    sock = tls_socket(server)
    sock.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
    data, closed = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.0 200") and closed, data
    sock = tls_socket(server)
    sock.settimeout(2)
    sock.sendall(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    data = b""
    while not data.endswith(b"\r\n\r\nok\n"):
        chunk = sock.recv(65536)
        assert chunk, data  # closed before the whole answer
        data += chunk
    assert data.startswith(b"HTTP/1.0 200") and b"connection: keep-alive" in data.lower(), data
    sock.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
    data, closed = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.0 200") and closed


def read_responses(sock, count, limit=10):
    """`count` HTTP/1.1 responses read off `sock`: (status, headers, body) each, in order."""
    data, out = b"", []
    deadline = time.time() + limit
    while len(out) < count and time.time() < deadline:
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            lines = data[:end].decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
            length = int(headers.get("content-length", "0"))
            if len(data) >= end + 4 + length:
                out.append((int(lines[0].split()[1]), headers, data[end + 4:end + 4 + length]))
                data = data[end + 4 + length:]
                continue
        chunk = sock.recv(65536)
        assert chunk, (out, data)
        data += chunk
    assert len(out) == count, (out, data)
    return out


def post_validate(request, path="/validate?timeout=10s", extra=b""):
    return post_bytes(review_body(request), path, extra)


def test_keep_alive_connection_mixes_every_way_a_request_is_answered(server):
    """On one connection: reviews judged on the channel (Ingress, Deployment), on a review worker
    (Policy), a probe and a chunked review (Hummingbird's path), then the channel's path again."""
    conn = server.connection()
    for _ in range(2):
        assert server.review(admission_request(ingress(policies=None)), conn=conn)["allowed"] is True
        assert server.review(admission_request(ingress_mtls_policy(verify_client="maybe")), conn=conn)["allowed"] is False
        status, _, body = server.request("GET", "/healthz", conn=conn)
        assert (status, body) == (200, b"ok\n")
        chunked = admission_request(deployment(mode="off"))
        conn.request("POST", "/validate?timeout=10s", body=iter([review_body(chunked)]),
                     headers={"Content-Type": "application/json"}, encode_chunked=True)
        answer = conn.getresponse()
        assert answer.status == 200
        assert json.loads(answer.read())["response"]["uid"] == chunked["uid"]
        assert server.review(admission_request(deployment()), conn=conn)["allowed"] is True
    conn.close()


def handed_on(server):
    return sum(v for (name, _), v in server.metrics().items() if name == "mtls_guard_http_connections_handed_on_total")


def test_api_server_reviews_stay_on_their_path_and_a_probe_is_handed_on(server):
    """Reviews sent as the API server sends them (HTTP/1.1, Content-Length, JSON), on one keep-alive
    connection, are answered from the bytes: the connection is never handed to the general HTTP
    path. A probe's connection is, once, and `Expect: 100-continue` (which the API server never
    sends) is read there too."""
    before = handed_on(server)
    sock = tls_socket(server)
    for _ in range(3):
        sock.sendall(post_validate(admission_request(ingress(policies=None))))
        assert read_responses(sock, 1)[0][0] == 200
    sock.close()
    assert handed_on(server) == before
    probe = tls_socket(server)
    probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert read_responses(probe, 1)[0][0] == 200
    probe.close()
    assert handed_on(server) == before + 1
    expecting = tls_socket(server)
    expecting.sendall(post_validate(admission_request(ingress(policies=None)), extra=b"Expect: 100-continue\r\n"))
    assert [status for status, _, _ in read_responses(expecting, 2)] == [100, 200]
    expecting.close()
    assert handed_on(server) == before + 2


def test_pipelined_requests_are_answered_in_request_order(server):
    """Requests sent back to back before any answer: the answers come in the same order, whichever
    path judges each (a worker's review finishes after an inline one would)."""
    first, slow, last = (admission_request(ingress(policies=None)), normal_request(), admission_request(deployment()))
    sock = tls_socket(server)
    sock.sendall(post_validate(first) + post_validate(slow) + b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
                 + post_validate(last))
    answers = read_responses(sock, 4)
    assert [status for status, _, _ in answers] == [200, 200, 200, 200]
    assert json.loads(answers[0][2])["response"]["uid"] == first["uid"]
    assert json.loads(answers[1][2])["response"]["uid"] == slow["uid"]
    assert answers[2][2] == b"ok\n"
    assert json.loads(answers[3][2])["response"]["uid"] == last["uid"]
    assert all("date" in headers for _, headers, _ in answers)
    sock.close()


@pytest.mark.parametrize("make", [lambda: admission_request(deployment()), normal_request])
def test_review_body_not_received_in_time_is_504_and_closes(server, make):
    """A review whose body stops halfway: 504 once the API server's timeout has passed (the body
    cannot be judged), and the connection ends; the server serves others meanwhile and after."""
    message = post_validate(make(), path="/validate?timeout=1s")
    sock = tls_socket(server)
    started = time.time()
    sock.sendall(message[:len(message) - 100])
    assert server.review(admission_request(deployment()))["allowed"] is True
    # Closed within 4 s of sending (the deadline is 1 s), as before read_until_closed existed.
    data, closed = read_until_closed(sock, limit=4 - (time.time() - started))
    assert data.startswith(b"HTTP/1.1 504"), data
    assert b"request body not received" in data and closed
    assert 0.9 < time.time() - started
    assert server.review(admission_request(ingress(policies=None)))["allowed"] is True


def reviews_counted(server):
    return sum(v for (name, _), v in server.metrics().items() if name == "mtls_guard_requests_total")


@pytest.mark.parametrize("make", [lambda: admission_request(deployment()), normal_request])
def test_nothing_is_judged_after_an_answer_that_closes(server, make):
    """A review sent with `Connection: close` and another pipelined behind it in the same write:
    the first is answered and the connection ends; the second is not judged (RFC 9112 9.6), so no
    decision is recorded that nobody receives."""
    first, second = make(), make()
    before = reviews_counted(server)
    sock = tls_socket(server)
    sock.sendall(post_validate(first, extra=b"Connection: close\r\n") + post_validate(second))
    data, closed = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 200") and closed, data
    assert first["uid"].encode() in data and second["uid"].encode() not in data
    # A barrier: a review sent after, judged the same way; had the second been judged, it would have
    # been counted before this one (the workers take jobs in order).
    assert server.review(make())
    assert reviews_counted(server) == before + 2


def test_parser_error_behind_a_review_on_a_worker_waits_for_its_answer(server):
    """A Policy review (judged on a worker) and, pipelined behind it, bytes the HTTP parser refuses:
    the review gets its real answer first, then the 400, then the connection ends."""
    request = normal_request()
    sock = tls_socket(server)
    sock.sendall(post_validate(request) + b"GARBAGE / HTTP/1.1\r\n\r\n")
    data, closed = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 200"), data
    assert request["uid"].encode() in data
    assert b"HTTP/1.1 400" in data and closed


def test_http_1_0_review_is_answered_as_1_0_and_closed(server):
    request = admission_request(deployment())
    sock = tls_socket(server)
    sock.sendall(post_validate(request).replace(b"HTTP/1.1", b"HTTP/1.0", 1))
    data, closed = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.0 200") and closed, data
    assert request["uid"].encode() in data


def test_parser_400_carries_the_json_status(server):
    sock = tls_socket(server)
    sock.sendall(b"GARBAGE / HTTP/9\r\n\x00\x01\r\n\r\n")
    data, closed = read_until_closed(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and closed
    status = json.loads(body)
    assert status["kind"] == "Status" and status["code"] == 400


# --- isolation and cancellation ----------------------------------------------------------

def send_review(server, body, path="/validate?timeout=30s"):
    sock = tls_socket(server, timeout=60)
    sock.sendall(post_bytes(body, path))
    return sock


def test_normal_review_and_probe_answered_while_two_slow_reviews_run(crowded_server):
    server = crowded_server
    slow = review_body(slow_request())
    start = time.time()
    reference = send_review(server, slow)
    reference.recv(65536)
    slow_seconds = time.time() - start
    assert slow_seconds > 1.0, f"the slow review is not slow here ({slow_seconds:.2f}s): the test proves nothing"
    reference.close()

    in_flight = [send_review(server, slow) for _ in range(2)]
    time.sleep(0.3)
    start = time.time()
    assert server.review(normal_request())["allowed"] is False
    assert server.metrics_get("/healthz")[0] == 200
    assert server.request("GET", "/readyz")[0] == 200
    assert time.time() - start < 1.0
    for sock in in_flight:
        sock.close()


def test_ingress_review_answered_while_every_worker_is_busy(crowded_server):
    """An Ingress CREATE is judged on the connection's event loop: with more slow Policy UPDATEs
    in flight than there are review workers (four on this machine), it is still answered at once."""
    server = crowded_server
    slow = review_body(slow_request())
    in_flight = [send_review(server, slow) for _ in range(6)]
    time.sleep(0.3)
    start = time.time()
    answer = server.review(admission_request(ingress(name="fresh", policies="ingress-mtls", hosts=("fresh.example.com",))))
    elapsed = time.time() - start
    assert answer["allowed"] is True, answer
    assert elapsed < 1.0, elapsed
    for sock in in_flight:
        sock.close()


def test_deadline_passed_answers_504_and_stops(crowded_server):
    server = crowded_server
    sock = send_review(server, review_body(slow_request()), path="/validate?timeout=500ms")
    start = time.time()
    data = sock.recv(65536)
    assert data.startswith(b"HTTP/1.1 504"), data
    assert time.time() - start < 2.5  # at the deadline (0.5 s), not after the work (seconds); slack for load
    sock.close()
    time.sleep(0.5)
    abandoned = [r for r in server.log_records() if r.get("msg", "").startswith("review abandoned")]
    assert [r.get("reason") for r in abandoned] == ["deadline passed"]


def test_hung_up_client_stops_the_work(crowded_server):
    server = crowded_server
    body = review_body(slow_request())
    socks = [send_review(server, body) for _ in range(2)]
    time.sleep(0.5)  # the bodies are read and being judged
    start = cpu_seconds(server.proc.pid)
    time.sleep(0.5)
    judging_rate = (cpu_seconds(server.proc.pid) - start) / 0.5
    assert judging_rate > 0.1, "the reviews are not running: the test proves nothing"
    for sock in socks:
        sock.close()
    time.sleep(0.5)
    before = cpu_seconds(server.proc.pid)
    time.sleep(1.5)
    after_rate = (cpu_seconds(server.proc.pid) - before) / 1.5
    assert after_rate < judging_rate / 3, f"server kept computing for abandoned reviews: {after_rate:.2f} CPU s/s"
    abandoned = [r for r in server.log_records() if r.get("msg", "").startswith("review abandoned")]
    assert len(abandoned) == 2 and all("client" in r.get("reason", "") for r in abandoned), abandoned


# --- connection limits -------------------------------------------------------------------

def test_new_connection_served_while_more_idle_ones_than_the_limit_are_held(server_factory):
    s = server_factory("--max-connections", "40", "--shutdown-delay", "0")
    held = []
    for _ in range(50):
        raw = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        held.append(raw)  # connected, never sends: an idle slot
    start = time.time()
    assert s.review(normal_request())["allowed"] is False
    assert time.time() - start < 2.0
    for sock in held:
        sock.close()


def test_new_connection_served_while_1100_idle_tls_connections_are_held(server_factory):
    if raise_fd_limit(4096) < 2400:
        pytest.skip("file descriptor limit too low for 1,100 connections")
    s = server_factory("--shutdown-delay", "0")
    held = []
    for _ in range(1100):
        held.append(tls_socket(s))  # handshaken, idle
    start = time.time()
    assert s.review(normal_request())["allowed"] is False
    elapsed = time.time() - start
    for sock in held:
        sock.close()
    assert elapsed < 2.0


def test_healthz_answered_with_the_metrics_port_full_of_idle_clients(server_factory):
    s = server_factory("--shutdown-delay", "0")
    held = [socket.create_connection(("127.0.0.1", s.metrics_port), timeout=5) for _ in range(100)]
    start = time.time()
    assert s.metrics_get("/healthz")[0] == 200
    assert s.metrics_get("/readyz")[0] == 200
    assert time.time() - start < 1.0
    for sock in held:
        sock.close()


def test_slow_request_head_is_cut_by_the_header_read_timeout(server_factory):
    s = server_factory("--header-read-timeout", "1", "--idle-timeout", "60", "--shutdown-delay", "0")
    sock = tls_socket(s)
    sock.sendall(b"POST /validate HTTP/1.1\r\nHost: loc")
    start = time.time()
    _, closed = read_until_closed(sock, limit=5)
    assert closed and time.time() - start < 3.0


def test_idle_keep_alive_connection_outlives_the_header_read_timeout(server_factory):
    s = server_factory("--header-read-timeout", "1", "--shutdown-delay", "0")
    conn = s.connection()
    assert s.review(normal_request(), conn=conn)["allowed"] is False
    time.sleep(1.5)
    assert s.review(normal_request(), conn=conn)["allowed"] is False
    conn.close()


def test_busy_keep_alive_connection_outlives_the_idle_timeout(server_factory):
    """Reviews on one connection, back to back for longer than --idle-timeout: the connection is
    never idle, so it stays open (the timeout counts from the end of an answer, whichever path
    answered it)."""
    s = server_factory("--idle-timeout", "1", "--shutdown-delay", "0")
    sock = tls_socket(s)
    started, answered = time.time(), 0
    while time.time() - started < 2.5:
        request = admission_request(deployment()) if answered % 2 else admission_request(ingress(policies=None))
        sock.sendall(post_validate(request))
        (status, _, body), = read_responses(sock, 1)
        assert status == 200 and json.loads(body)["response"]["uid"] == request["uid"]
        answered += 1
        time.sleep(0.1)
    assert answered >= 3
    sock.close()


def test_idle_keep_alive_connection_is_closed_after_the_idle_timeout(server_factory):
    s = server_factory("--idle-timeout", "1", "--shutdown-delay", "0")
    sock = tls_socket(s)
    sock.sendall(post_validate(admission_request(deployment())))
    assert read_responses(sock, 1)[0][0] == 200
    started = time.time()
    data, closed = read_until_closed(sock, limit=3)  # closed within 3 s (the idle timeout is 1 s)
    assert closed and data == b"", data
    assert 0.8 < time.time() - started


# --- graceful shutdown -------------------------------------------------------------------

def test_sigterm_under_keep_alive_load_answers_every_request_sent(server_factory):
    s = server_factory("--shutdown-delay", "1")
    body = review_body(normal_request())
    lock = threading.Lock()
    totals = {"sent": 0, "answered": 0, "closes": 0}
    failures = []
    stop = threading.Event()

    def client():
        conn = None
        while not stop.is_set():
            if conn is None:
                try:
                    conn = s.connection()
                    conn.connect()
                except OSError:
                    return  # listener closed: nothing sent, nothing lost
            try:
                conn.request("POST", "/validate?timeout=10s", body=body, headers={"Content-Type": "application/json"})
            except OSError:
                conn.close()
                conn = None
                continue  # not sent
            with lock:
                totals["sent"] += 1
            try:
                resp = conn.getresponse()
                resp.read()
                with lock:
                    totals["answered"] += 1
                if resp.getheader("Connection", "").lower() == "close":
                    with lock:
                        totals["closes"] += 1
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as error:
                failures.append(repr(error))
                conn.close()
                conn = None

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    s.proc.send_signal(signal.SIGTERM)
    code = s.proc.wait(20)
    assert code == 0, s.logs()[-2000:]
    stop.set()
    for thread in threads:
        thread.join(10)
    assert totals["sent"] > 50
    assert totals["closes"] > 0, "no answer carried Connection: close during the shutdown delay"
    assert not failures and totals["sent"] == totals["answered"], f"{totals}, {failures[:3]}"


# --- validate on untrusted content -------------------------------------------------------

def test_validate_refuses_an_alias_bomb_naming_file_and_document(tmp_path):
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: bomb}", "data:", "  a0: &a0 [lol]"]
    for level in range(1, 10):
        lines.append(f"  a{level}: &a{level} [" + ",".join([f"*a{level - 1}"] * 9) + "]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    start = time.time()
    out = subprocess.run([BIN, "validate", str(path)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and f"{path}#doc1" in out.stderr and "alias" in out.stderr
    assert time.time() - start < 5


def test_validate_follows_symlinks(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "policy.yaml").write_text(json.dumps(ingress_mtls_policy(verify_client="maybe")))
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "linked.yaml").symlink_to(real / "policy.yaml")
    (tree / "loop").symlink_to(tree)
    out = subprocess.run([BIN, "validate", str(tree)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 1 and "1 objects, 1 denied" in out.stdout, out.stdout + out.stderr


@pytest.mark.skipif(os.geteuid() != 0 and os.geteuid() != 65534, reason="needs root to drop to nobody, or nobody")
def test_validate_names_an_unreadable_directory():
    base = pathlib.Path(tempfile.mkdtemp(dir="/tmp"))  # pytest's own tmp tree is private to root
    request_cleanup = lambda: (os.chmod(base / "tree" / "secret-dir", 0o755), shutil.rmtree(base))
    tree = base / "tree"
    (tree / "secret-dir").mkdir(parents=True)
    (tree / "ok.yaml").write_text(json.dumps(ingress_mtls_policy()))
    os.chmod(tree / "secret-dir", 0)
    for parent in [base, tree]:
        os.chmod(parent, 0o755)

    def as_nobody():
        if os.geteuid() == 0:
            os.setgid(65534)
            os.setuid(65534)

    try:
        out = subprocess.run([BIN, "validate", str(tree)], capture_output=True, text=True, timeout=30, preexec_fn=as_nobody)
    finally:
        request_cleanup()
    assert out.returncode == 2 and "secret-dir" in out.stderr and "ermission denied" in out.stderr, out.stderr


# --- bounded answers ---------------------------------------------------------------------

def test_answer_and_audit_line_stay_small_for_a_hostile_object(server_factory):
    s = server_factory("--mode", "warn", "--shutdown-delay", "0")
    obj = ingress(name="x" * 10000, policies=",".join(f"Bad_{i}" for i in range(6000)))
    request = admission_request(obj)
    request["userInfo"]["username"] = "u" * 10000
    start = time.time()
    status, _, data = s.request("POST", "/validate?timeout=10s", review_body(request), {"Content-Type": "application/json"})
    assert status == 200 and time.time() - start < 2.0
    assert len(data) < 16 * 1024, len(data)
    time.sleep(0.3)
    lines = [line for line in s.logs().splitlines() if '"audit":"true"' in line]
    assert len(lines) == 1 and len(lines[0]) < 32 * 1024, len(lines[0])


@pytest.mark.parametrize("option,value", [("--header-read-timeout", "inf"), ("--header-read-timeout", "1e300"),
                                          ("--header-read-timeout", "0"), ("--max-metrics-connections", "0")])
def test_serve_refuses_out_of_range_limits_before_starting(option, value):
    """A limit from the command line is checked like the others: a clear error, never a trap at start."""
    out = subprocess.run([BIN, "serve", option, value], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and f"{option} must be" in out.stderr, out.stderr
    assert "Fatal error" not in out.stderr and out.returncode not in (-4, -5, 132, 133), out.stderr
