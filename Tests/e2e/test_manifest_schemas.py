"""The rendered manifests (the base, and with each component) are valid Kubernetes objects:
checked with kubernetes-validate against the API schemas of Kubernetes 1.30 (the first release
with matchConditions GA) and of the newest release the package ships, in strict mode (unknown
fields are errors, as `kubectl apply --validate=strict` makes them)."""
import copy
import os

import pytest

from conftest import ROOT, render

kubernetes_validate = pytest.importorskip(
    "kubernetes_validate", reason="kubernetes-validate is needed: pip install kubernetes-validate (make deps installs it)")

# Kinds defined by other projects' CRDs have no schema in the Kubernetes API: cert-manager's,
# prometheus-operator's (monitoring component) and the policy working group's PolicyReport.
# Everything else must have one.
NO_SCHEMA = {"Certificate", "Issuer", "ServiceMonitor", "PrometheusRule", "PolicyReport", "ClusterPolicyReport"}
VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
COMPONENTS = sorted(p.name for p in (ROOT / "manifests" / "components").iterdir() if p.is_dir())


def renderings(tmp_path):
    yield "base", render(ROOT / "manifests")
    for component in COMPONENTS:
        overlay = tmp_path / component
        overlay.mkdir()
        rel = os.path.relpath(ROOT / "manifests", overlay)
        (overlay / "kustomization.yaml").write_text(f"resources: [{rel}]\ncomponents: [{rel}/components/{component}]\n")
        yield component, render(overlay)


def errors(obj, version):
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return None if obj["kind"] in NO_SCHEMA else [f"no schema for {obj['kind']}"]
    except kubernetes_validate.ValidationError as error:
        return [f"{'.'.join(map(str, error.path))}: {error.message}"]
    return []


@pytest.mark.parametrize("version", VERSIONS)
def test_rendered_manifests_match_the_kubernetes_schemas(tmp_path, version):
    seen = set()
    for name, objects in renderings(tmp_path):
        for obj in objects:
            found = errors(obj, version)
            assert not found, f"{name}: {obj['kind']} {obj['metadata']['name']}: {found}"
            seen.add(obj["kind"])
    assert {"ValidatingWebhookConfiguration", "Deployment", "PodDisruptionBudget", "PriorityClass", "NetworkPolicy"} <= seen
    assert COMPONENTS, "manifests/components/ has no component"


def test_the_schema_check_catches_a_misspelt_field():
    (config,) = [o for o in render(ROOT / "manifests") if o["kind"] == "ValidatingWebhookConfiguration"]
    bad = copy.deepcopy(config)
    condition = bad["webhooks"][0]["matchConditions"][0]
    condition["expresion"] = condition.pop("expression")
    assert errors(bad, VERSIONS[0])
