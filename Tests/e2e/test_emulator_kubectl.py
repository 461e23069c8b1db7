"""The API-server emulator's fidelity, checked by a real client: kubectl (client-go) through the
emulator's kubeconfig, and Python's ssl/http.client for what kubectl cannot show (watch streams
cut by TCP reset, in-stream 410, faults). If kubectl cannot use the emulator, the emulator is
wrong, not kubectl; mtls-guard's live-view tests rely on it behaving as kube-apiserver does."""
import http.client
import json
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import EXAMPLES, PKI, requires_kubectl
from emulator_fixture import connection_reset, read_events

pytestmark = [requires_kubectl, pytest.mark.usefixtures("generated_secrets")]


@pytest.fixture
def cafe(emulator):
    """The emulator after `kubectl create -f examples/good/`."""
    out = emulator.kubectl("create", "-f", EXAMPLES / "good")
    assert 'policy.k8s.nginx.org/ingress-mtls-policy created' in out.stdout
    return emulator


def names(items):
    return sorted(i["metadata"]["name"] for i in items)


# ---------------------------------------------------------------- kubectl

def test_kubectl_creates_and_reads_examples(cafe):
    out = json.loads(cafe.kubectl("get", "secrets", "-A", "--field-selector", "type=nginx.org/ca", "-o", "json").stdout)
    assert names(out["items"]) == ["egress-trusted-ca-secret", "ingress-mtls-secret"]
    assert {i["type"] for i in out["items"]} == {"nginx.org/ca"}
    for item in out["items"]:
        meta = item["metadata"]
        assert item["kind"] == "Secret" and item["apiVersion"] == "v1"
        assert meta["namespace"] == "cafe" and meta["uid"] and meta["creationTimestamp"].endswith("Z")
        assert int(meta["resourceVersion"]) > 0

    table = cafe.kubectl("get", "policies.k8s.nginx.org", "-A").stdout.splitlines()
    assert table[0].split()[:2] == ["NAMESPACE", "NAME"]
    assert sorted(line.split()[1] for line in table[1:]) == ["egress-mtls-policy", "ingress-mtls-policy"]

    ing = json.loads(cafe.kubectl("get", "ingress", "-n", "cafe", "cafe-ingress", "-o", "json").stdout)
    assert ing["metadata"]["annotations"]["nginx.org/policies"] == "ingress-mtls-policy"
    assert ing["metadata"]["generation"] == 1
    assert cafe.kubectl("get", "deployments.apps", "-n", "cafe", "-o", "name").stdout.split() == ["deployment.apps/payments"]
    # Every object got its own resourceVersion from the one counter.
    rvs = [int(i["metadata"]["resourceVersion"]) for i in
           json.loads(cafe.kubectl("get", "secrets,policies,virtualservers,ingresses", "-A", "-o", "json").stdout)["items"]]
    assert len(rvs) == len(set(rvs)) == 4 + 2 + 2 + 2


def test_kubectl_create_twice_is_already_exists(cafe):
    out = cafe.kubectl("create", "-f", EXAMPLES / "good" / "egress-mtls.yaml", check=False)
    assert out.returncode != 0
    assert 'policies.k8s.nginx.org "egress-mtls-policy" already exists' in out.stderr


def test_kubectl_delete_and_not_found(cafe):
    out = cafe.kubectl("delete", "policy.k8s.nginx.org", "-n", "cafe", "ingress-mtls-policy")
    assert 'policy.k8s.nginx.org "ingress-mtls-policy" deleted' in out.stdout
    gone = cafe.kubectl("get", "policy.k8s.nginx.org", "-n", "cafe", "ingress-mtls-policy", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr
    left = json.loads(cafe.kubectl("get", "policies.k8s.nginx.org", "-A", "-o", "json").stdout)
    assert names(left["items"]) == ["egress-mtls-policy"]


def test_kubectl_paging_follows_continue(cafe):
    cafe.control("/requests/clear")
    out = json.loads(cafe.kubectl("get", "secrets", "-A", "--chunk-size=2", "-o", "json").stdout)
    assert names(out["items"]) == ["egress-mtls-secret", "egress-trusted-ca-secret", "ingress-mtls-secret", "tls-secret"]
    lists = [r for r in cafe.requests() if r["path"] == "/api/v1/secrets"]
    assert [r["query"].get("limit") for r in lists] == ["2", "2"]
    assert "continue" not in lists[0]["query"] and lists[1]["query"]["continue"]


def test_kubectl_apply_label_and_edit_paths(cafe):
    cafe.kubectl("label", "secret", "-n", "cafe", "tls-secret", "tier=edge")
    out = json.loads(cafe.kubectl("get", "secrets", "-A", "-l", "tier=edge", "-o", "json").stdout)
    assert names(out["items"]) == ["tls-secret"]
    out = json.loads(cafe.kubectl("get", "secrets", "-A", "-l", "tier!=edge", "-o", "json").stdout)
    assert "tls-secret" not in names(out["items"]) and len(out["items"]) == 3


def test_kubectl_watch_sees_changes(cafe):
    proc = subprocess.Popen(["kubectl", "--kubeconfig", str(cafe.kubeconfig), "get", "policies.k8s.nginx.org", "-n", "cafe",
                             "--watch", "--output-watch-events", "-o", "json", "--request-timeout=30s"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    events, done = [], threading.Event()

    def reader():
        decoder, buf = json.JSONDecoder(), ""
        for line in proc.stdout:
            buf += line
            try:
                obj, end = decoder.raw_decode(buf.strip())
            except ValueError:
                continue
            events.append(obj)
            buf = ""
            if obj["type"] == "DELETED":
                done.set()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        deadline = time.time() + 20
        while len(events) < 2 and time.time() < deadline:
            time.sleep(0.05)
        assert sorted(e["object"]["metadata"]["name"] for e in events) == ["egress-mtls-policy", "ingress-mtls-policy"]
        cafe.kubectl("annotate", "policy.k8s.nginx.org", "-n", "cafe", "egress-mtls-policy", "touched=yes")
        cafe.kubectl("delete", "policy.k8s.nginx.org", "-n", "cafe", "ingress-mtls-policy")
        assert done.wait(20), f"kubectl --watch saw no DELETED: {events}"
    finally:
        proc.kill()
        proc.wait()
    kinds = [(e["type"], e["object"]["metadata"]["name"]) for e in events[2:]]
    assert kinds == [("MODIFIED", "egress-mtls-policy"), ("DELETED", "ingress-mtls-policy")]
    assert events[2]["object"]["metadata"]["annotations"]["touched"] == "yes"


def test_kubectl_reads_the_rotated_token(emulator):
    emulator.control("/rotate-token")
    assert "default" in emulator.kubectl("get", "namespaces", "-o", "name").stdout


# ---------------------------------------------------------------- TLS and authentication

def test_certificate_has_only_an_ip_san_and_verifies_against_ca(emulator, tmp_path):
    text = subprocess.run(["openssl", "x509", "-in", str(emulator.dir / "server.crt"), "-noout", "-ext", "subjectAltName"],
                          capture_output=True, text=True, check=True).stdout
    assert text.split("\n", 1)[1].strip() == "IP Address:127.0.0.1"
    # By IP (what a client in a pod does: no SNI, IP SAN): verified.
    with socket.create_connection(("127.0.0.1", emulator.port)) as raw:
        with emulator.ssl_context().wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.getpeercert()["subjectAltName"] == (("IP Address", "127.0.0.1"),)
    # By name: no DNS SAN, refused.
    with pytest.raises(ssl.SSLCertVerificationError):
        with socket.create_connection(("127.0.0.1", emulator.port)) as raw:
            emulator.ssl_context().wrap_socket(raw, server_hostname="localhost")
    # Another CA: refused.
    other = PKI(tmp_path / "other")
    with pytest.raises(ssl.SSLCertVerificationError):
        with socket.create_connection(("127.0.0.1", emulator.port)) as raw:
            emulator.ssl_context(other.ca_crt).wrap_socket(raw, server_hostname="127.0.0.1")


def test_bearer_token_required_and_rotated(emulator):
    for token in (None, "wrong"):
        status, body = emulator.api_json("GET", "/api/v1/secrets", token=token)
        assert status == 401
        assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    old = emulator.token
    assert emulator.api("GET", "/api/v1/secrets")[0] == 200
    new = emulator.control("/rotate-token")["token"]
    assert new != old and emulator.token == new
    assert emulator.api("GET", "/api/v1/secrets", token=old)[0] == 401
    assert emulator.api("GET", "/api/v1/secrets", token=new)[0] == 200


# ---------------------------------------------------------------- API behaviour

def secret(name, type_="nginx.org/ca", ns="cafe", labels=None):
    return {"apiVersion": "v1", "kind": "Secret", "type": type_,
            "metadata": {"name": name, "namespace": ns, **({"labels": labels} if labels else {})},
            "data": {"ca.crt": "Cg=="}}


def create(emulator, obj):
    ns = obj["metadata"]["namespace"]
    status, body = emulator.api_json("POST", f"/api/v1/namespaces/{ns}/secrets", obj)
    assert status == 201, body
    return int(body["metadata"]["resourceVersion"])


def test_discovery(emulator):
    _, apis = emulator.api_json("GET", "/apis")
    groups = {g["name"]: g["preferredVersion"]["groupVersion"] for g in apis["groups"]}
    assert groups["k8s.nginx.org"] == "k8s.nginx.org/v1" and groups["networking.k8s.io"] == "networking.k8s.io/v1"
    _, nginx = emulator.api_json("GET", "/apis/k8s.nginx.org/v1")
    assert {r["name"] for r in nginx["resources"] if "/" not in r["name"]} == {"policies", "virtualservers", "virtualserverroutes"}
    _, core = emulator.api_json("GET", "/api/v1")
    secrets = next(r for r in core["resources"] if r["name"] == "secrets")
    assert secrets["namespaced"] and {"list", "watch", "get"} <= set(secrets["verbs"])
    assert emulator.api_json("GET", "/api")[1]["versions"] == ["v1"]


def test_field_selectors(emulator):
    create(emulator, secret("ca"))
    create(emulator, secret("tls", "kubernetes.io/tls"))
    create(emulator, secret("other", "Opaque", ns="default"))
    _, body = emulator.api_json("GET", "/api/v1/secrets?fieldSelector=type%3Dkubernetes.io%2Ftls")
    assert names(body["items"]) == ["tls"]
    _, body = emulator.api_json("GET", "/api/v1/secrets?fieldSelector=metadata.namespace%3Dcafe,type!%3DOpaque")
    assert names(body["items"]) == ["ca", "tls"]
    _, body = emulator.api_json("GET", "/api/v1/namespaces/cafe/secrets?fieldSelector=metadata.name%3Dca")
    assert names(body["items"]) == ["ca"]
    status, body = emulator.api_json("GET", "/api/v1/secrets?fieldSelector=data.key%3Dx")
    assert status == 400 and body["kind"] == "Status" and body["reason"] == "BadRequest"
    status, body = emulator.api_json("GET", "/apis/k8s.nginx.org/v1/policies?fieldSelector=type%3Dx")
    assert status == 400


def test_update_conflict_and_generation(emulator):
    pol = {"apiVersion": "k8s.nginx.org/v1", "kind": "Policy", "metadata": {"name": "p", "namespace": "cafe"},
           "spec": {"ingressMTLS": {"clientCertSecret": "ca"}}}
    status, created = emulator.api_json("POST", "/apis/k8s.nginx.org/v1/namespaces/cafe/policies", pol)
    assert status == 201 and created["metadata"]["generation"] == 1
    created["spec"]["ingressMTLS"]["verifyDepth"] = 2
    status, updated = emulator.api_json("PUT", "/apis/k8s.nginx.org/v1/namespaces/cafe/policies/p", created)
    assert status == 200 and updated["metadata"]["generation"] == 2
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    assert updated["metadata"]["uid"] == created["metadata"]["uid"]
    status, body = emulator.api_json("PUT", "/apis/k8s.nginx.org/v1/namespaces/cafe/policies/p", created)  # stale RV
    assert status == 409 and body["reason"] == "Conflict"


def test_list_paging_and_expired_continue(emulator):
    for i in range(5):
        create(emulator, secret(f"s{i}"))
    status, page1 = emulator.api_json("GET", "/api/v1/namespaces/cafe/secrets?limit=2")
    token = page1["metadata"]["continue"]
    assert names(page1["items"]) == ["s0", "s1"] and page1["metadata"]["remainingItemCount"] == 3
    # A change after the first page does not show in the next ones: one consistent snapshot.
    create(emulator, secret("s10"))
    status, page2 = emulator.api_json("GET", f"/api/v1/namespaces/cafe/secrets?limit=2&continue={token}")
    assert names(page2["items"]) == ["s2", "s3"]
    assert page2["metadata"]["resourceVersion"] == page1["metadata"]["resourceVersion"]
    emulator.control("/expire-continue")
    status, body = emulator.api_json("GET", f"/api/v1/namespaces/cafe/secrets?limit=2&continue={page2['metadata']['continue']}")
    assert status == 410 and body["reason"] == "Expired" and body["code"] == 410
    status, body = emulator.api_json("GET", "/api/v1/namespaces/cafe/secrets?limit=2&continue=garbage")
    assert status == 400


def test_watch_from_exact_resource_version(emulator):
    rvs = [create(emulator, secret(f"w{i}")) for i in range(4)]
    conn, resp = emulator.open_watch(f"/api/v1/secrets?watch=true&resourceVersion={rvs[1]}")
    assert resp.status == 200 and resp.getheader("Content-Type") == "application/json"
    events = read_events(resp, 2)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "w2"), ("ADDED", "w3")]
    status, body = emulator.api_json("DELETE", "/api/v1/namespaces/cafe/secrets/w0")
    assert status == 200
    (ev,) = read_events(resp, 1)
    assert ev["type"] == "DELETED" and ev["object"]["metadata"]["name"] == "w0"
    assert int(ev["object"]["metadata"]["resourceVersion"]) == rvs[-1] + 1
    conn.close()


def test_watch_without_resource_version_starts_with_synthetic_added(emulator):
    create(emulator, secret("a"))
    create(emulator, secret("b", "Opaque"))
    conn, resp = emulator.open_watch("/api/v1/secrets?watch=1&fieldSelector=type%3Dnginx.org%2Fca")
    (ev,) = read_events(resp, 1)
    assert ev["type"] == "ADDED" and ev["object"]["metadata"]["name"] == "a"
    create(emulator, secret("c", "Opaque"))  # filtered out
    create(emulator, secret("d"))
    (ev,) = read_events(resp, 1)
    assert ev["object"]["metadata"]["name"] == "d"
    conn.close()


def test_watch_bookmarks_and_clean_timeout(emulator_factory):
    e = emulator_factory(args=("--bookmark-interval", "0.2"))
    rv = create(e, secret("x"))
    conn, resp = e.open_watch(f"/api/v1/secrets?watch=true&resourceVersion={rv}&allowWatchBookmarks=true&timeoutSeconds=1")
    started = time.time()
    events = [json.loads(line) for line in resp.read().splitlines()]  # read() fails on an unclean end
    assert 0.9 < time.time() - started < 5
    assert events and {ev["type"] for ev in events} == {"BOOKMARK"}
    assert events[0]["object"] == {"kind": "Secret", "apiVersion": "v1", "metadata": {"resourceVersion": str(rv)}}
    conn.close()


def test_watch_of_old_resource_version_gets_410_in_stream(emulator_factory):
    e = emulator_factory(args=("--history", "3"))
    rvs = [create(e, secret(f"h{i}")) for i in range(6)]
    conn, resp = e.open_watch(f"/api/v1/secrets?watch=true&resourceVersion={rvs[0]}")
    assert resp.status == 200
    lines = resp.read().splitlines()
    assert len(lines) == 1
    ev = json.loads(lines[0])
    assert ev["type"] == "ERROR"
    assert ev["object"]["kind"] == "Status" and ev["object"]["code"] == 410 and ev["object"]["reason"] == "Expired"
    # Inside the history: fine.
    conn, resp = e.open_watch(f"/api/v1/secrets?watch=true&resourceVersion={rvs[3]}")
    assert [x["object"]["metadata"]["name"] for x in read_events(resp, 2)] == ["h4", "h5"]
    conn.close()
    # Compaction: every earlier resourceVersion is now too old.
    e.control("/compact")
    conn, resp = e.open_watch(f"/api/v1/secrets?watch=true&resourceVersion={rvs[4]}")
    assert json.loads(resp.read().splitlines()[0])["object"]["code"] == 410


def test_drop_watches_by_reset(emulator):
    conn, resp = emulator.open_watch("/api/v1/secrets?watch=true")
    create(emulator, secret("r"))
    assert read_events(resp, 1)[0]["object"]["metadata"]["name"] == "r"
    assert emulator.control("/drop-watches", {"mode": "reset"})["dropped"] == 1
    assert connection_reset(conn)
    conn.close()
    # A clean end (timeoutSeconds, connection kept alive) is not a reset.
    conn, resp = emulator.open_watch("/api/v1/secrets?watch=true&timeoutSeconds=1")
    assert not connection_reset(conn, timeout=2.5)
    conn.close()


def test_drop_watches_mid_event(emulator):
    conn, resp = emulator.open_watch("/api/v1/secrets?watch=true")
    emulator.control("/drop-watches", {"mode": "mid-event"})
    status, _, full = emulator.api("POST", "/api/v1/namespaces/cafe/secrets", secret("half"))
    assert status == 201
    got = b""
    with pytest.raises(http.client.IncompleteRead):  # no chunked terminator: not a clean end
        while True:
            chunk = resp.read1(65536)
            if not chunk:
                break
            got += chunk
    line = b'{"type":"ADDED","object":' + full + b"}\n"
    assert 0 < len(got) < len(line) and line.startswith(got)
    conn.close()


def test_restart_drops_watches_and_keeps_counting(emulator):
    rv = create(emulator, secret("before"))
    conn, resp = emulator.open_watch(f"/api/v1/secrets?watch=true&resourceVersion={rv}")
    emulator.control("/restart")
    assert connection_reset(conn)
    after = create(emulator, secret("after"))
    assert after == rv + 1
    conn, resp = emulator.open_watch(f"/api/v1/secrets?watch=true&resourceVersion={rv - 1}")
    assert json.loads(resp.readline())["object"]["code"] == 410
    _, body = emulator.api_json("GET", "/api/v1/secrets")
    assert names(body["items"]) == ["after", "before"]


def test_faults_403_429_500(emulator):
    emulator.control("/fault", {"resource": "policies", "code": 403})
    status, body = emulator.api_json("GET", "/apis/k8s.nginx.org/v1/policies")
    assert status == 403 and body["reason"] == "Forbidden"
    assert 'cannot list resource "policies" in API group "k8s.nginx.org"' in body["message"]
    assert emulator.api("GET", "/apis/k8s.nginx.org/v1/policies?watch=true")[0] == 403
    assert emulator.api("GET", "/api/v1/secrets")[0] == 200  # other sources unaffected
    emulator.control("/clear-faults")
    assert emulator.api("GET", "/apis/k8s.nginx.org/v1/policies")[0] == 200

    emulator.control("/fault", {"resource": "secrets", "code": 429, "retryAfter": 2, "count": 2})
    for _ in range(2):
        status, headers, raw = emulator.api("GET", "/api/v1/secrets")
        assert status == 429 and headers["Retry-After"] == "2"
        assert json.loads(raw)["details"]["retryAfterSeconds"] == 2
    assert emulator.api("GET", "/api/v1/secrets")[0] == 200  # count exhausted

    emulator.control("/fault", {"resource": "ingresses", "code": 500, "count": 1})
    status, body = emulator.api_json("GET", "/apis/networking.k8s.io/v1/ingresses")
    assert status == 500 and body["reason"] == "InternalError"
    log = [r for r in emulator.requests() if r["path"] == "/apis/networking.k8s.io/v1/ingresses"]
    assert [r["status"] for r in log] == [500]


def test_group_not_installed(emulator):
    emulator.control("/fault", {"group": "k8s.nginx.org", "code": 404})
    _, apis = emulator.api_json("GET", "/apis")
    assert "k8s.nginx.org" not in {g["name"] for g in apis["groups"]}
    status, body = emulator.api_json("GET", "/apis/k8s.nginx.org/v1/policies")
    assert status == 404 and body["reason"] == "NotFound"


def test_stalled_stream_sends_nothing_until_cleared(emulator):
    emulator.control("/stall", {"resource": "secrets"})
    conn, resp = emulator.open_watch("/api/v1/secrets?watch=true", timeout=1.5)
    create(emulator, secret("quiet"))
    with pytest.raises((socket.timeout, TimeoutError)):
        resp.readline()
    conn.close()
    conn, resp = emulator.open_watch("/api/v1/secrets?watch=true", timeout=5)
    emulator.control("/clear-faults")
    assert json.loads(resp.readline())["object"]["metadata"]["name"] == "quiet"
    conn.close()


def test_request_log_and_bulk_objects(emulator):
    items = [secret(f"bulk{i}", "kubernetes.io/tls" if i % 2 else "nginx.org/ca", ns=f"ns{i % 3}") for i in range(30)]
    assert emulator.control("/objects", {"apiVersion": "v1", "kind": "List", "items": items})["created"] == 30
    emulator.control("/requests/clear")
    _, body = emulator.api_json("GET", "/api/v1/secrets?fieldSelector=type%3Dnginx.org%2Fca&limit=500")
    assert len(body["items"]) == 15
    conn, resp = emulator.open_watch(f"/api/v1/secrets?watch=true&resourceVersion={body['metadata']['resourceVersion']}")
    log = emulator.requests()
    assert [(r["method"], r["path"], r["status"], r["watch"]) for r in log] == [
        ("GET", "/api/v1/secrets", 200, False), ("GET", "/api/v1/secrets", 200, True)]
    assert log[0]["query"] == {"fieldSelector": "type=nginx.org/ca", "limit": "500"}
    conn.close()


def test_streaming_list_ends_initial_events_with_a_bookmark(emulator):
    create(emulator, secret("one"))
    create(emulator, secret("two"))
    conn, resp = emulator.open_watch("/api/v1/secrets?watch=true&sendInitialEvents=true&allowWatchBookmarks=true"
                                     "&resourceVersionMatch=NotOlderThan")
    events = read_events(resp, 3)
    assert [e["type"] for e in events] == ["ADDED", "ADDED", "BOOKMARK"]
    assert events[2]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    conn.close()
    status, body = emulator.api_json("GET", "/api/v1/secrets?watch=true&sendInitialEvents=true")
    assert status == 422 and body["reason"] == "Invalid"


def test_unknown_paths_and_public_endpoints(emulator):
    status, body = emulator.api_json("GET", "/apis/example.com/v1/widgets")
    assert status == 404 and body["kind"] == "Status" and body["reason"] == "NotFound"
    status, body = emulator.api_json("GET", "/api/v1/pods")
    assert status == 404 and body["kind"] == "Status"
    assert emulator.api("GET", "/version", token=None)[0] == 200
    assert emulator.api("GET", "/api/v1/namespaces", token=None)[0] == 401


def test_seeds_from_yaml_dirs_json_files_and_lists(emulator_factory, tmp_path):
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [secret("from-list"), secret("other", ns="default")]}))
    e = emulator_factory(seeds=[EXAMPLES / "good", listed])
    _, body = e.api_json("GET", "/api/v1/secrets")
    assert names(body["items"]) == ["egress-mtls-secret", "egress-trusted-ca-secret", "from-list", "ingress-mtls-secret",
                                    "other", "tls-secret"]
    _, body = e.api_json("GET", "/apis/k8s.nginx.org/v1/namespaces/cafe/policies")
    assert names(body["items"]) == ["egress-mtls-policy", "ingress-mtls-policy"]
    # Seeded objects are created objects: each has its own resourceVersion.
    assert len({i["metadata"]["resourceVersion"] for i in body["items"]}) == 2
