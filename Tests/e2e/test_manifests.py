"""The deployment manifests build with kustomize and agree with the binary they run."""
import shutil
import subprocess

import pytest
import yaml

from conftest import BIN, ROOT


@pytest.fixture(scope="module")
def rendered():
    if not shutil.which("kubectl"):
        pytest.skip("kubectl not installed")
    yaml_text = subprocess.run(["kubectl", "kustomize", str(ROOT / "manifests")], capture_output=True, text=True, check=True).stdout
    return [d for d in yaml.safe_load_all(yaml_text) if d]


def by_kind(objects, kind):
    return [o for o in objects if o["kind"] == kind]


def test_webhook_configuration_matches_the_server_contract(rendered):
    (config,) = by_kind(rendered, "ValidatingWebhookConfiguration")
    (hook,) = config["webhooks"]
    assert hook["admissionReviewVersions"] == ["v1"]
    assert hook["sideEffects"] == "None"
    assert hook["clientConfig"]["service"]["path"] == "/validate"
    resources = {r for rule in hook["rules"] for r in rule["resources"]}
    assert {"policies", "virtualservers", "virtualserverroutes", "ingresses", "secrets", "pods",
            "deployments", "statefulsets", "daemonsets", "replicasets", "replicationcontrollers", "jobs", "cronjobs"} <= resources
    delete_resources = {r for rule in hook["rules"] if "DELETE" in rule["operations"] for r in rule["resources"]}
    assert {"policies", "secrets"} <= delete_resources  # §8 and secret/in-use-delete need DELETE


def test_service_and_certificate_names_agree(rendered):
    (service,) = by_kind(rendered, "Service")
    (config,) = by_kind(rendered, "ValidatingWebhookConfiguration")
    ref = config["webhooks"][0]["clientConfig"]["service"]
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


def test_deployment_bounds_malloc_arenas(rendered):
    (deployment,) = by_kind(rendered, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    assert env.get("MALLOC_ARENA_MAX") == "2"
    assert container["resources"]["limits"]["memory"] == "128Mi"
