"""The live cluster view end to end: the real `mtls-guard serve --kubeconfig` against the API-server
emulator (Tests/kube-emulator) over real TLS, observed through reviews, /readyz, /metrics and the
emulator's request log. Faults come from the emulator's control API; the binary's hidden timing
flags make backoff and watch timeouts last seconds instead of minutes."""
import json
import pathlib
import re
import shutil
import subprocess
import time

import pytest
import yaml

from conftest import EXAMPLES, PKI, admission_request, eventually, requires_kubectl

FAST = ("--backoff-initial", "0.1", "--backoff-cap", "1")

pytestmark = [requires_kubectl, pytest.mark.usefixtures("generated_secrets")]


@pytest.fixture
def cafe(emulator_factory):
    """An emulator seeded with examples/good (its Secrets included)."""
    return emulator_factory(seeds=[EXAMPLES / "good"])


def serve(server_factory, emu, *extra, wait=True, kubeconfig=None):
    return server_factory("--shutdown-delay", "0", "--kubeconfig", str(kubeconfig or emu.kubeconfig), *FAST, *extra, wait=wait)


def metric(server, name, **labels):
    """The sum of the series of `name` whose labels include `labels`."""
    want = frozenset(labels.items())
    return sum(v for (n, ls), v in server.metrics().items() if n == name and want <= ls)


def wait_listening(server, timeout=20):
    def up():
        try:
            return server.metrics_get("/healthz")[0] == 200
        except OSError:
            return False
    eventually(up, timeout, message="metrics port up")


def readyz(server):
    return server.metrics_get("/readyz")


def objects_of(path):
    docs = []
    for f in sorted(pathlib.Path(path).glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(f.read_text()) if d]
    return docs


def example(kind, name):
    for d in objects_of(EXAMPLES / "good"):
        if d["kind"] == kind and d["metadata"]["name"] == name:
            return json.loads(json.dumps(d))
    raise KeyError(name)


def cafe_ingress_without_tls():
    ing = example("Ingress", "cafe-ingress")
    del ing["spec"]["tls"]
    ing["metadata"]["name"] = "cafe-no-tls"
    return ing


def policy(name, ns="cafe", secret="ingress-mtls-secret"):
    return {"apiVersion": "k8s.nginx.org/v1", "kind": "Policy", "metadata": {"name": name, "namespace": ns},
            "spec": {"ingressMTLS": {"clientCertSecret": secret}}}


def ingress_with(policy_name, name="probe"):
    ing = cafe_ingress_without_tls()
    ing["metadata"]["name"] = name
    ing["metadata"]["annotations"]["nginx.org/policies"] = policy_name
    return ing


def rules_of(response):
    text = json.dumps(response)
    return set(re.findall(r"\(([a-z-]+/[a-z-]+)\)", text))


def create(emu, obj):
    group_version = obj["apiVersion"]
    plural = {"Policy": "policies", "Ingress": "ingresses", "Secret": "secrets", "VirtualServer": "virtualservers"}[obj["kind"]]
    base = f"/api/{group_version}" if "/" not in group_version else f"/apis/{group_version}"
    status, _, body = emu.api("POST", f"{base}/namespaces/{obj['metadata']['namespace']}/{plural}", obj)
    assert status == 201, body
    return json.loads(body)


def requests_for(emu, plural, **query):
    return [r for r in emu.requests() if r["path"].endswith("/" + plural) and all(r["query"].get(k) == v for k, v in query.items())]


def lists_of(emu, plural):
    """mtls-guard's LIST requests of a collection (all namespaces, not a watch)."""
    return [r for r in requests_for(emu, plural) if r["method"] == "GET" and not r["watch"] and "/namespaces/" not in r["path"] and "limit" in r["query"]]


def policy_denies_ingress_without_tls(server, policy_name):
    response = server.review(admission_request(ingress_with(policy_name)))
    return not response["allowed"] and "ingress-mtls/tls-required" in rules_of(response)


# ---------------------------------------------------------------- end to end

def test_end_to_end_kubectl_changes_reach_the_next_review(emulator, server_factory):
    server = serve(server_factory, emulator)
    assert "live from the API server" in server.logs()
    # Created with kubectl, reviewed right after: the Policy is seen (watch or one read-through GET).
    emulator.kubectl("create", "-f", EXAMPLES / "good")
    response = server.review(admission_request(cafe_ingress_without_tls()))
    assert not response["allowed"], response
    assert "ingress-mtls/tls-required" in rules_of(response)

    # Deleting the CA Secret in use is denied.
    secret = json.loads(emulator.kubectl("get", "secret", "-n", "cafe", "ingress-mtls-secret", "-o", "json").stdout)
    def delete_denied():
        r = server.review(admission_request(None, operation="DELETE", old=secret))
        return not r["allowed"] and "secret/in-use-delete" in rules_of(r)
    eventually(delete_denied, 5, message="secret/in-use-delete")

    # After kubectl delete of the Policy, the Ingress that names it is warned about.
    emulator.kubectl("delete", "policy", "-n", "cafe", "ingress-mtls-policy")
    ing = example("Ingress", "cafe-ingress")
    def warned_missing():
        r = server.review(admission_request(ing))
        return r["allowed"] and "ingress/policy-ref" in rules_of(r) and any("ingress-mtls-policy" in w for w in r.get("warnings") or [])
    eventually(warned_missing, 5, message="missing-policy warning")


def test_initial_sync_with_paging(emulator, server_factory):
    items = [ingress_with("ingress-mtls-policy", name=f"bulk-{i}") for i in range(1203)]
    result = emulator.control("/objects", {"items": items})
    assert result["created"] == 1203, result
    server = serve(server_factory, emulator)
    assert metric(server, "mtls_guard_cluster_objects", source="ingresses") == 1203
    lists = requests_for(emulator, "ingresses", limit="500")
    lists = [r for r in lists if not r["watch"]]
    assert len(lists) == 3 and sum(1 for r in lists if "continue" in r["query"]) == 2, lists
    for source in ("policies", "ingresses", "virtualservers", "virtualserverroutes", "secrets-ca", "secrets-tls"):
        assert metric(server, "mtls_guard_cluster_synced", source=source) == 1


def test_namespaces_forbidden_leaves_the_webhook_ready_with_its_own_mode(cafe, server_factory):
    """Namespaces only carry the optional per-namespace modes: a ClusterRole without them (an
    upgrade that kept the old role) must not keep the webhook unready; --mode applies everywhere."""
    cafe.control("/fault", {"resource": "namespaces", "code": 403})
    server = serve(server_factory, cafe)
    assert readyz(server)[0] == 200
    assert metric(server, "mtls_guard_cluster_synced", source="namespaces") == 1
    assert "namespaces forbidden" in server.logs()
    response = server.review(admission_request(cafe_ingress_without_tls()))
    assert response["allowed"] is False  # --mode enforce (the default) applies


def test_readyz_fails_until_synced_and_names_the_source(emulator, server_factory):
    emulator.control("/fault", {"resource": "virtualserverroutes", "code": 403})
    server = serve(server_factory, emulator, wait=False)
    wait_listening(server)
    expected = "not ready: cluster view not synced: virtualserverroutes.k8s.nginx.org (forbidden: list; grant get, list, watch)\n"
    eventually(lambda: readyz(server) == (503, expected), 10, message="readiness naming only the forbidden source")
    # The others are unaffected.
    eventually(lambda: metric(server, "mtls_guard_cluster_synced", source="policies") == 1, 10)
    assert metric(server, "mtls_guard_cluster_synced", source="virtualserverroutes") == 0
    # Retried at the backoff cap (1 s here, jittered up to 1.25 s): a bounded request rate.
    emulator.control("/requests/clear")
    time.sleep(4)
    attempts = len(requests_for(emulator, "virtualserverroutes"))
    assert 2 <= attempts <= 5, attempts
    assert metric(server, "mtls_guard_cluster_api_errors_total", source="virtualserverroutes", code="403") >= 3
    # Needs-state rules are skipped (not guessed) while not synced.
    response = server.review(admission_request(cafe_ingress_without_tls()))
    assert any("cluster state unavailable" in w for w in response.get("warnings") or [])
    emulator.control("/clear-faults")
    eventually(lambda: readyz(server)[0] == 200, 10, message="ready after the grant")


def test_nic_crds_not_installed_count_as_synced_and_empty(emulator, server_factory):
    emulator.control("/fault", {"group": "k8s.nginx.org", "code": 404})
    server = serve(server_factory, emulator, "--resource-recheck-interval", "0.5")
    assert metric(server, "mtls_guard_cluster_objects", source="policies") == 0
    time.sleep(1.5)
    logs = server.logs()
    assert logs.count("NIC CRDs not installed") == 3, logs  # once per custom resource, not per recheck
    emulator.control("/clear-faults")
    create(emulator, policy("after-crd"))
    eventually(lambda: metric(server, "mtls_guard_cluster_objects", source="policies") == 1, 10)


# ---------------------------------------------------------------- changes and the watch protocol

def test_added_modified_deleted_visible_to_the_next_review(cafe, server_factory):
    server = serve(server_factory, cafe)
    created = create(cafe, policy("fresh"))
    assert policy_denies_ingress_without_tls(server, "fresh")

    # MODIFIED: egressMTLS instead of ingressMTLS, the Ingress without TLS is fine then.
    created["spec"] = {"egressMTLS": {"tlsSecret": "tls-secret"}}
    status, _, body = cafe.api("PUT", "/apis/k8s.nginx.org/v1/namespaces/cafe/policies/fresh", created)
    assert status == 200, body
    eventually(lambda: server.review(admission_request(ingress_with("fresh")))["allowed"], 5, message="MODIFIED seen")

    # DELETED: the next review warns that the Policy is missing.
    status, _, _ = cafe.api("DELETE", "/apis/k8s.nginx.org/v1/namespaces/cafe/policies/fresh")
    assert status == 200
    def missing():
        r = server.review(admission_request(ingress_with("fresh")))
        return r["allowed"] and "ingress/policy-ref" in rules_of(r)
    eventually(missing, 5, message="DELETED seen")


def test_read_through_confirms_a_reference_before_calling_it_missing(cafe, server_factory):
    # The Policy stream is stalled: the new Policy reaches the view only through the GET.
    server = serve(server_factory, cafe)
    cafe.control("/stall", {"resource": "policies"})
    create(cafe, policy("just-created"))
    cafe.control("/requests/clear")
    start = time.time()
    assert policy_denies_ingress_without_tls(server, "just-created")
    assert time.time() - start < 2
    gets = [r for r in cafe.requests() if r["path"] == "/apis/k8s.nginx.org/v1/namespaces/cafe/policies/just-created"]
    assert len(gets) == 1 and gets[0]["method"] == "GET"
    cafe.control("/clear-faults")


def test_only_a_reference_the_review_reads_is_confirmed_by_get(cafe, server_factory):
    # Reviews are judged on the view first: an Ingress of a class this controller does not serve
    # never reads the Policy it names, so the view lacking it costs no GET. The same Ingress of the
    # served class reads it: one GET confirms it missing, and the review says so.
    server = serve(server_factory, cafe)
    cafe.control("/requests/clear")
    path = "/apis/k8s.nginx.org/v1/namespaces/cafe/policies/not-there"
    foreign = ingress_with("not-there", name="foreign")
    foreign["spec"]["ingressClassName"] = "other"
    response = server.review(admission_request(foreign))
    assert response["allowed"] and "ingress/policy-ref" not in rules_of(response), response
    assert [r for r in cafe.requests() if r["path"] == path] == []
    response = server.review(admission_request(ingress_with("not-there")))
    assert response["allowed"] and "ingress/policy-ref" in rules_of(response), response
    gets = [r for r in cafe.requests() if r["path"] == path]
    assert len(gets) == 1 and gets[0]["method"] == "GET"


def test_bookmarks_advance_the_resource_version_without_changes(emulator_factory, server_factory):
    emu = emulator_factory(seeds=[EXAMPLES / "good"], args=("--bookmark-interval", "0.2"))
    server = serve(server_factory, emu, "--watch-timeout-seconds", "2")
    # Ready means listed; the first watch follows the list, so it may reach the emulator a moment later.
    first = eventually(lambda: requests_for(emu, "policies", watch="true"), 5, message="the first policies watch")
    list_rv = first[0]["query"]["resourceVersion"]
    # Changes elsewhere move the global resourceVersion; policies only hear of it by bookmark.
    for i in range(3):
        create(emu, {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": f"o{i}", "namespace": "cafe"}})
    def rewatched_later():
        watches = requests_for(emu, "policies", watch="true")
        return [w for w in watches[1:] if int(w["query"]["resourceVersion"]) > int(list_rv)]
    eventually(rewatched_later, 8, message="re-watch from a bookmark's resourceVersion")
    assert len(lists_of(emu, "policies")) == 1, "no relist"
    assert metric(server, "mtls_guard_cluster_seconds_since_last_event", source="policies") < 2


def test_clean_timeout_rewatches_from_the_last_version(cafe, server_factory):
    server = serve(server_factory, cafe, "--watch-timeout-seconds", "1")
    time.sleep(3.5)
    watches = requests_for(cafe, "ingresses", watch="true")
    assert len(watches) >= 3, watches
    assert all(w["query"]["allowWatchBookmarks"] == "true" and w["query"]["timeoutSeconds"] == "1" for w in watches)
    assert len(lists_of(cafe, "ingresses")) == 1, "a clean end never relists"
    assert metric(server, "mtls_guard_cluster_watch_restarts_total", source="ingresses", reason="timeout") >= 2


def test_in_stream_410_relists_and_deleted_objects_disappear(cafe, server_factory):
    server = serve(server_factory, cafe)
    create(cafe, policy("doomed"))
    eventually(lambda: metric(server, "mtls_guard_cluster_objects", source="policies") == 3, 5)
    # The DELETE never reaches the watch: stalled, then history compacted and the stream reset.
    cafe.control("/stall", {"resource": "policies"})
    assert cafe.api("DELETE", "/apis/k8s.nginx.org/v1/namespaces/cafe/policies/doomed")[0] == 200
    cafe.control("/compact")
    cafe.control("/drop-watches", {"mode": "reset"})
    cafe.control("/clear-faults")
    eventually(lambda: metric(server, "mtls_guard_cluster_relists_total", source="policies", reason="expired") >= 1, 10)
    eventually(lambda: metric(server, "mtls_guard_cluster_objects", source="policies") == 2, 5)
    assert cafe.api("GET", "/apis/k8s.nginx.org/v1/namespaces/cafe/policies/doomed")[0] == 404


def test_expired_continue_token_restarts_the_list(emulator, server_factory):
    emulator.control("/objects", {"items": [policy(f"p{i}") for i in range(300)]})
    server = serve(server_factory, emulator, "--page-size", "1", wait=False)
    def continued():
        return [r for r in requests_for(emulator, "policies") if "continue" in r["query"]]
    eventually(continued, 20, interval=0.01, message="a continue request")
    emulator.control("/expire-continue")
    server.wait_ready(60)
    assert metric(server, "mtls_guard_cluster_relists_total", source="policies", reason="expired-continue") >= 1
    assert metric(server, "mtls_guard_cluster_objects", source="policies") == 300
    expired = [r for r in requests_for(emulator, "policies") if r["status"] == 410]
    assert expired and "continue" in expired[0]["query"]


@pytest.mark.parametrize("mode", ["reset", "mid-event"])
def test_dropped_watch_loses_and_duplicates_nothing(cafe, server_factory, mode):
    server = serve(server_factory, cafe)
    before = metric(server, "mtls_guard_cluster_objects", source="policies")
    cafe.control("/drop-watches", {"mode": mode})
    for i in range(5):
        create(cafe, policy(f"after-drop-{i}"))
    eventually(lambda: metric(server, "mtls_guard_cluster_objects", source="policies") == before + 5, 10)
    assert metric(server, "mtls_guard_cluster_watch_restarts_total", source="policies", reason="closed") >= 1
    status, listed = cafe.api_json("GET", "/apis/k8s.nginx.org/v1/policies")
    assert metric(server, "mtls_guard_cluster_objects", source="policies") == len(listed["items"])
    for i in range(5):
        assert policy_denies_ingress_without_tls(server, f"after-drop-{i}")
    assert len(lists_of(cafe, "policies")) == 1, "re-watched, not relisted"


def test_emulator_restart_with_new_history(cafe, server_factory):
    server = serve(server_factory, cafe)
    cafe.control("/restart")
    create(cafe, policy("after-restart"))
    eventually(lambda: policy_denies_ingress_without_tls(server, "after-restart"), 10)
    status, listed = cafe.api_json("GET", "/apis/k8s.nginx.org/v1/policies")
    eventually(lambda: metric(server, "mtls_guard_cluster_objects", source="policies") == len(listed["items"]), 5)


def test_token_rotation(cafe, server_factory):
    server = serve(server_factory, cafe, "--token-reload-interval", "3600")
    # The log is cleared before the rotation, so a request the server makes with the old token in
    # between (a watch's renewal) is not wiped with it: that race made this test flaky.
    cafe.control("/requests/clear")
    cafe.control("/rotate-token")
    cafe.control("/drop-watches", {"mode": "reset"})
    create(cafe, policy("after-rotation"))
    eventually(lambda: metric(server, "mtls_guard_cluster_objects", source="policies") == 3, 10)
    log = cafe.requests()
    refused = [r for r in log if r["status"] == 401]
    accepted = [r for r in log if r["status"] == 200 and r["watch"]]
    assert refused, "the old token was refused"
    assert accepted and accepted[-1]["time"] > refused[0]["time"], "the new token was read at once after the 401"


def test_429_retry_after_is_honoured(emulator, server_factory):
    emulator.control("/fault", {"resource": "policies", "code": 429, "retryAfter": 2, "count": 1})
    server = serve(server_factory, emulator, wait=False)
    server.wait_ready(20)
    lists = lists_of(emulator, "policies")
    assert lists[0]["status"] == 429 and lists[1]["status"] == 200
    assert lists[1]["time"] - lists[0]["time"] >= 1.9, lists


def test_stalled_stream_is_abandoned(cafe, server_factory):
    server = serve(server_factory, cafe, "--watch-timeout-seconds", "1", "--watch-idle-grace", "1")
    cafe.control("/stall", {"resource": "policies"})
    create(cafe, policy("behind-stall"))
    eventually(lambda: metric(server, "mtls_guard_cluster_watch_restarts_total", source="policies", reason="stalled") >= 1, 10)
    cafe.control("/clear-faults")
    eventually(lambda: metric(server, "mtls_guard_cluster_objects", source="policies") == 3, 10)


def test_secrets_of_other_types_are_never_requested(cafe, server_factory):
    serve(server_factory, cafe, "--watch-timeout-seconds", "1")
    create(cafe, {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": "app-password", "namespace": "cafe"},
                  "data": {"password": "aHVudGVyMg=="}})
    time.sleep(2)
    secret_requests = [r for r in cafe.requests() if "/secrets" in r["path"] and r["method"] == "GET"]
    assert secret_requests
    for r in secret_requests:
        assert r["path"] == "/api/v1/secrets", r
        assert r["query"].get("fieldSelector") in ("type=nginx.org/ca", "type=kubernetes.io/tls"), r


# ---------------------------------------------------------------- transport and trust

def test_api_server_verified_by_ip_san(cafe, server_factory):
    server = serve(server_factory, cafe)
    assert readyz(server)[0] == 200
    assert "127.0.0.1" in yaml.safe_load(cafe.kubeconfig.read_text())["clusters"][0]["cluster"]["server"]


@pytest.mark.parametrize("change", ["wrong-ca", "wrong-name"])
def test_untrusted_api_server_is_refused(cafe, server_factory, tmp_path, change):
    config = yaml.safe_load(cafe.kubeconfig.read_text())
    cluster = config["clusters"][0]["cluster"]
    if change == "wrong-ca":
        cluster["certificate-authority"] = str(PKI(tmp_path / "pki").ca_crt)
    else:
        cluster["tls-server-name"] = "kubernetes.default.svc"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    server = serve(server_factory, cafe, wait=False, kubeconfig=kubeconfig)
    wait_listening(server)
    eventually(lambda: metric(server, "mtls_guard_cluster_api_errors_total", code="connection") >= 6, 10)
    assert readyz(server)[0] == 503
    expected = "certificate verify failed" if change == "wrong-ca" else "mismatch"
    assert expected in server.logs()
    assert not [r for r in cafe.requests() if r["path"].startswith("/apis/k8s.nginx.org")], "no request got through TLS"


def test_token_is_never_logged(cafe, server_factory):
    server = serve(server_factory, cafe, "--log-level", "trace")
    create(cafe, policy("logged"))
    eventually(lambda: metric(server, "mtls_guard_cluster_objects", source="policies") == 3, 5)
    assert cafe.token not in server.logs()


def test_in_pod_configuration_by_service_account(cafe, server_factory, tmp_path):
    # What a pod sees: KUBERNETES_SERVICE_HOST/PORT (an IP) and the mounted token and CA.
    account = tmp_path / "serviceaccount"
    account.mkdir()
    shutil.copy(cafe.dir / "token", account / "token")
    shutil.copy(cafe.ca, account / "ca.crt")
    env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(cafe.port), "KUBECONFIG": ""}
    server = server_factory("--shutdown-delay", "0", "--service-account-dir", str(account), *FAST, env=env)
    assert "in-cluster service account" in server.logs()
    assert policy_denies_ingress_without_tls(server, "ingress-mtls-policy")


def test_no_cluster_and_state_are_said_at_start(server_factory):
    server = server_factory("--shutdown-delay", "0", "--no-cluster", env={"KUBECONFIG": ""})
    assert "cluster view: none (--no-cluster)" in server.logs()
    response = server.review(admission_request(cafe_ingress_without_tls()))
    assert response["allowed"] and any("cluster state unavailable" in w for w in response.get("warnings") or [])
    state = server_factory("--shutdown-delay", "0", "--state", str(EXAMPLES / "good"), env={"KUBECONFIG": ""})
    assert "cluster view: manifests (--state)" in state.logs()
    assert policy_denies_ingress_without_tls(state, "ingress-mtls-policy")


def test_exec_users_are_refused_with_a_clear_message(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "current-context": "c",
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
        "clusters": [{"name": "k", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"exec": {"command": "aws", "apiVersion": "client.authentication.k8s.io/v1"}}}],
    }))
    from conftest import BIN
    out = subprocess.run([BIN, "serve", "--kubeconfig", str(kubeconfig), "--certs-dir", str(tmp_path / "certs"),
                          "--port", "0", "--metrics-port", "0"], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "exec plugin" in out.stderr, out.stderr


def test_policy_naming_a_secret_of_the_wrong_type_is_denied(cafe, server_factory):
    server = serve(server_factory, cafe)
    # A TLS Secret (watched) and an Opaque one (never watched: found by the read-through GET).
    for secret_name in ("tls-secret", "opaque-ca"):
        if secret_name == "opaque-ca":
            create(cafe, {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": secret_name, "namespace": "cafe"},
                          "data": {"ca.crt": "bm90IGEgY2VydA=="}})
        response = server.review(admission_request(policy(f"uses-{secret_name}", secret=secret_name)))
        assert not response["allowed"], response
        assert "ingress-mtls/client-cert-secret-ref" in rules_of(response)
        assert "nginx.org/ca" in response["status"]["message"]
    assert "bm90IGEgY2VydA==" not in server.logs()


def test_reviews_go_on_from_the_last_view_when_the_api_server_is_gone(cafe, server_factory):
    server = serve(server_factory, cafe)
    cafe.stop()
    start = time.time()
    # Known Policy: judged from the view; unknown one: the read-through fails fast, it stays missing.
    assert policy_denies_ingress_without_tls(server, "ingress-mtls-policy")
    response = server.review(admission_request(ingress_with("never-created")))
    assert response["allowed"] and "ingress/policy-ref" in rules_of(response)
    assert time.time() - start < 3
    assert readyz(server)[0] == 200, "synced once is ready: the view is kept, not dropped"
