"""The deployment manifests build with kustomize and agree with the binary they run."""
import subprocess

import pytest

from conftest import BIN, ROOT, render


@pytest.fixture(scope="module")
def rendered():
    return render(ROOT / "manifests")


def by_kind(objects, kind):
    return [o for o in objects if o["kind"] == kind]


def test_webhook_configuration_matches_the_server_contract(rendered):
    (config,) = by_kind(rendered, "ValidatingWebhookConfiguration")
    hooks = config["webhooks"]
    assert [h["name"] for h in hooks] == ["nic.mtls-guard.nginx.org", "mesh-injected.mtls-guard.nginx.org",
                                          "mesh-annotated.mtls-guard.nginx.org"]
    for hook in hooks:
        assert hook["admissionReviewVersions"] == ["v1"]
        assert hook["sideEffects"] == "None"
        assert hook["clientConfig"]["service"]["path"] == "/validate"
        # mtls-guard's own namespace is never intercepted: its serving Secret must renew while it is down.
        assert {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", "mtls-guard"]} \
            in hook["namespaceSelector"]["matchExpressions"]
    resources = {r for hook in hooks for rule in hook["rules"] for r in rule["resources"]}
    assert {"policies", "virtualservers", "virtualserverroutes", "ingresses", "secrets", "pods",
            "deployments", "statefulsets", "daemonsets", "replicasets", "replicationcontrollers", "jobs", "cronjobs"} <= resources
    delete_resources = {r for hook in hooks for rule in hook["rules"] if "DELETE" in rule["operations"] for r in rule["resources"]}
    assert delete_resources == {"policies", "secrets"}  # policy/in-use-delete and secret/in-use-delete; no other rule judges a DELETE


def test_availability_settings(rendered):
    (deployment,) = by_kind(rendered, "Deployment")
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    assert spec["replicas"] >= 2 and spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    (pdb,) = by_kind(rendered, "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1 and pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (priority,) = by_kind(rendered, "PriorityClass")
    assert pod["priorityClassName"] == priority["metadata"]["name"] and 0 < priority["value"] < 1_000_000_000
    hostname = [c for c in pod["topologySpreadConstraints"] if c["topologyKey"] == "kubernetes.io/hostname"]
    assert hostname and hostname[0]["labelSelector"]["matchLabels"].items() <= labels.items()
    (container,) = pod["containers"]
    assert "cpu" not in container["resources"]["limits"]
    (policy,) = by_kind(rendered, "NetworkPolicy")
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    webhook_rule, metrics_rule = policy["spec"]["ingress"]
    assert "from" not in webhook_rule and [p["port"] for p in webhook_rule["ports"]] == ["https"]
    assert metrics_rule["from"] and [p["port"] for p in metrics_rule["ports"]] == ["metrics"]
    port_names = {p["name"] for p in container["ports"]}
    assert {"https", "metrics"} <= port_names


def test_memory_limit_covers_the_measured_peak(rendered):
    """The Deployment's memory limit holds, with a quarter to spare, the worst case README's
    "Memory budget" adds up from measured peaks: the live view during an audit pass, the most idle
    connections the listener holds, and the request bodies it admits at once."""
    import re
    (deployment,) = by_kind(rendered, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    limit = container["resources"]["limits"]["memory"]
    assert limit.endswith("Mi")
    readme = (ROOT / "README.md").read_text()
    pattern = r"Memory budget: (\d+) MB live view and audit \+ (\d+) MB connections \+ (\d+) MB request bodies"
    budget = re.search(pattern.replace(" ", r"\s+"), readme)
    assert budget, "README no longer states the memory budget the limit is sized from"
    worst_mb = sum(int(g) for g in budget.groups())
    limit_mb = int(limit[:-2]) * 2**20 / 1_000_000
    assert limit_mb >= 1.25 * worst_mb, f"limit {limit} leaves too little over the measured worst case {worst_mb} MB"


def test_service_and_certificate_names_agree(rendered):
    (service,) = by_kind(rendered, "Service")
    (config,) = by_kind(rendered, "ValidatingWebhookConfiguration")
    refs = {(w["clientConfig"]["service"]["name"], w["clientConfig"]["service"]["namespace"]) for w in config["webhooks"]}
    (ref,) = [dict(zip(("name", "namespace"), r)) for r in refs]
    assert (ref["name"], ref["namespace"]) == (service["metadata"]["name"], service["metadata"]["namespace"])
    (cert,) = by_kind(rendered, "Certificate")
    assert f"{ref['name']}.{ref['namespace']}.svc" in cert["spec"]["dnsNames"]
    (deployment,) = by_kind(rendered, "Deployment")
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    assert any(v.get("secret", {}).get("secretName") == cert["spec"]["secretName"] for v in volumes)


def test_deployment_args_are_accepted_by_the_binary(rendered):
    (deployment,) = by_kind(rendered, "Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[0] == "serve"
    help_text = subprocess.run([BIN, "serve", "--help"], capture_output=True, text=True, check=True).stdout
    for arg in args[1:]:
        flag = arg.split("=", 1)[0]
        assert flag in help_text, f"{flag} is not an option of `mtls-guard serve`"


def test_live_view_rbac_is_exactly_get_list_watch_on_the_sources(rendered):
    (account,) = by_kind(rendered, "ServiceAccount")
    (role,) = by_kind(rendered, "ClusterRole")
    (binding,) = by_kind(rendered, "ClusterRoleBinding")
    (deployment,) = by_kind(rendered, "Deployment")
    granted = {(group, resource): sorted(rule["verbs"]) for rule in role["rules"]
               for group in rule["apiGroups"] for resource in rule["resources"]}
    assert granted == {
        ("k8s.nginx.org", "policies"): ["get", "list", "watch"],
        ("k8s.nginx.org", "virtualservers"): ["get", "list", "watch"],
        ("k8s.nginx.org", "virtualserverroutes"): ["get", "list", "watch"],
        ("networking.k8s.io", "ingresses"): ["get", "list", "watch"],
        ("", "secrets"): ["get", "list", "watch"],
        ("", "namespaces"): ["get", "list", "watch"],
    }
    assert all("resourceNames" not in rule and "nonResourceURLs" not in rule for rule in role["rules"])
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role["metadata"]["name"]}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["metadata"]["name"],
                                    "namespace": account["metadata"]["namespace"]}]
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == account["metadata"]["name"]
    assert account["metadata"]["namespace"] == deployment["metadata"]["namespace"]


def test_deployment_bounds_malloc_arenas(rendered):
    (deployment,) = by_kind(rendered, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    assert env.get("MALLOC_ARENA_MAX") == "2"
