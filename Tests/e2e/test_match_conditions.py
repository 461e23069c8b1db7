"""The webhook configuration sends mtls-guard exactly what its rules can judge.

Every object of examples/ (with the Secrets generate-secrets.sh makes) and of Tests/Fixtures, plus
mutations of each per rule family (other Secret types, other ingress classes, NIC annotations
removed, mesh annotations removed, Pods owned by workloads, ...), is turned into CREATE, UPDATE and
DELETE AdmissionRequests. For each, in a namespace with and without NSM injection:

- the API server's selection is computed from the rendered manifests (rules, namespaceSelector,
  objectSelector, matchConditions evaluated by a real CEL engine, see admission_selection.py);
- the engine's verdict comes from the real `mtls-guard serve`, over HTTPS, with the object's own
  set as cluster state, under each mesh-wide mode.

Any request the engine finds something in must be selected, unless it is out of every rule's reach
by design (`out_of_reach` says which and why). So a rule that starts reading an object the
conditions do not select fails here.
"""
import copy
import json
import os
import shutil
import subprocess

import pytest
import yaml

from admission_selection import (ConditionError, WebhookConfiguration, admission_request, namespace_labels)
from conftest import ROOT, Server, render

EXAMPLES = ROOT / "examples"
FIXTURES = ROOT / "Tests" / "Fixtures" / "rules"
CA_TYPE, TLS_TYPE = "nginx.org/ca", "kubernetes.io/tls"
MESH_PREFIX = "config.nsm.nginx.com/"
NIC_ANNOTATION_PREFIXES = ("nginx.org/", "nginx.com/", "nginx.ingress.kubernetes.io/")
WORKLOAD_KINDS = {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob"}
NIC_KINDS = {"Policy", "VirtualServer", "VirtualServerRoute"}
OPERATIONS = ("CREATE", "UPDATE", "DELETE")
MESH_MODES = ("permissive", "strict", "off")
OTHER_SECRET_TYPES = ("Opaque", "helm.sh/release.v1", "kubernetes.io/service-account-token",
                      "kubernetes.io/dockerconfigjson", "bootstrap.kubernetes.io/token")


def webhook_configuration(objects):
    (config,) = [o for o in objects if o["kind"] == "ValidatingWebhookConfiguration"]
    return config


@pytest.fixture(scope="module")
def webhooks():
    return WebhookConfiguration(webhook_configuration(render(ROOT / "manifests")))


# MARK: the population

def load_documents(path):
    """Kubernetes objects of a YAML/JSON file, `List` items expanded; parsing stops at a broken document."""
    docs = []
    try:
        for doc in yaml.safe_load_all(path.read_text()):
            docs.append(doc)
    except yaml.YAMLError:
        pass  # broken.yaml: the documents before the broken one still count
    objects = []
    for doc in docs:
        if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
            continue
        if doc["kind"].endswith("List") and isinstance(doc.get("items"), list):
            objects += [i for i in doc["items"] if isinstance(i, dict) and "kind" in i]
        else:
            objects.append(doc)
    return objects


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """[(state path, [objects])]: each example set with its generated Secrets, each fixture file."""
    tmp = tmp_path_factory.mktemp("examples")
    for name in ("good", "broken"):
        shutil.copytree(EXAMPLES / name, tmp / name)
    subprocess.run(["bash", str(EXAMPLES / "generate-secrets.sh"), str(tmp)], check=True, capture_output=True)
    result = []
    for name in ("good", "broken"):
        objects = [o for f in sorted((tmp / name).glob("*.y*ml")) for o in load_documents(f)]
        result.append((tmp / name, objects))
    # A fixture file is its own cluster state, written back as parsed (broken.yaml's unparsable
    # tail would stop the server).
    for index, path in enumerate(sorted(FIXTURES.rglob("*"))):
        if path.suffix in (".yaml", ".yml", ".json") and path.is_file():
            objects = load_documents(path)
            state = tmp / f"fixture{index}.yaml"
            state.write_text(yaml.safe_dump_all(objects))
            result.append((state, objects))
    assert sum(len(objects) for _, objects in result) >= 30, "the examples and fixtures went missing"
    return result


def annotations_of(meta):
    return meta.setdefault("annotations", {}) if isinstance(meta, dict) else {}


def strip_annotations(obj, prefixes):
    """A copy without any annotation (at any depth) whose key starts with one of `prefixes`."""
    obj = copy.deepcopy(obj)

    def walk(node):
        if isinstance(node, dict):
            ann = node.get("annotations")
            if isinstance(ann, dict):
                for key in [k for k in ann if k.startswith(prefixes)]:
                    del ann[key]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(obj)
    return obj


def has_annotation_anywhere(obj, prefix):
    if isinstance(obj, dict):
        ann = obj.get("annotations")
        if isinstance(ann, dict) and any(str(k).startswith(prefix) for k in ann):
            return True
        return any(has_annotation_anywhere(v, prefix) for v in obj.values())
    if isinstance(obj, list):
        return any(has_annotation_anywhere(v, prefix) for v in obj)
    return False


def pod_template(obj):
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    if obj["kind"] == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec") or {})
    template = spec.get("template")
    return template if isinstance(template, dict) else None


def mesh_annotation_places(obj):
    """(path to a metadata, that metadata) for every metadata of the object that carries annotations."""
    places = []

    def walk(node, path):
        if isinstance(node, dict):
            meta = node.get("metadata")
            if isinstance(meta, dict) and isinstance(meta.get("annotations"), dict):
                places.append((tuple(path) + ("metadata",), meta))
            for key, value in node.items():
                if key != "metadata":
                    walk(value, path + [key])
    walk(obj, [])
    return places


def dig_metadata(obj, place):
    node = obj
    for key in place:
        node = node.setdefault(key, {})
    return node


def owned(obj, api_version, kind):
    obj = copy.deepcopy(obj)
    obj.setdefault("metadata", {})["ownerReferences"] = [
        {"apiVersion": api_version, "kind": kind, "name": "owner", "uid": "6b3e1c1a-0000-4000-8000-000000000001",
         "controller": True, "blockOwnerDeletion": True}]
    return obj


def mutations(obj):
    """(label, object) variants that probe each condition's edge for the object's rule family."""
    kind = obj["kind"]
    out = []
    if kind == "Secret" and obj.get("type") in (CA_TYPE, TLS_TYPE):
        for other in OTHER_SECRET_TYPES:
            out.append((f"type {other}", {**copy.deepcopy(obj), "type": other}))
    if kind == "Ingress":
        def variant(class_name=None, legacy=None):
            v = copy.deepcopy(obj)
            v.setdefault("spec", {}).pop("ingressClassName", None)
            annotations_of(v.setdefault("metadata", {})).pop("kubernetes.io/ingress.class", None)
            if class_name is not None:
                v["spec"]["ingressClassName"] = class_name
            if legacy is not None:
                annotations_of(v["metadata"])["kubernetes.io/ingress.class"] = legacy
            return v
        out += [("class other", variant("other")), ("no class", variant()),
                ("legacy class other", variant(legacy="other")), ("legacy class nginx", variant(legacy="nginx")),
                ("class nginx over legacy other", variant("nginx", legacy="other")),
                ("class other over legacy nginx", variant("other", legacy="nginx")),
                ("no NIC annotations", strip_annotations(obj, NIC_ANNOTATION_PREFIXES))]
    if kind in NIC_KINDS:
        for name in ("other", "nginx"):
            v = copy.deepcopy(obj)
            if isinstance(v.get("spec"), dict):
                v["spec"]["ingressClassName"] = name
                out.append((f"class {name}", v))
    if kind in WORKLOAD_KINDS:
        out.append(("no mesh annotations", strip_annotations(obj, (MESH_PREFIX,))))
        # The object's mesh annotations moved to one place only: every place NSM or a mesh rule
        # reads (the pod's metadata, the workload's own, a CronJob's jobTemplate) must be selected.
        annotations = {}
        for _, metadata in mesh_annotation_places(obj):
            annotations.update({k: v for k, v in metadata["annotations"].items() if str(k).startswith(MESH_PREFIX)})
        places = {"Pod": [("metadata",)],
                  "CronJob": [("metadata",), ("spec", "jobTemplate", "metadata"),
                              ("spec", "jobTemplate", "spec", "template", "metadata")]}.get(
                      kind, [("metadata",), ("spec", "template", "metadata")])
        for place in places if annotations else []:
            v = strip_annotations(obj, (MESH_PREFIX,))
            annotations_of(dig_metadata(v, place)).update(annotations)
            out.append((f"mesh annotations only on {'.'.join(place)}", v))
        template = pod_template(obj)
        if template is not None:
            pod = {"apiVersion": "v1", "kind": "Pod",
                   "metadata": {**copy.deepcopy(template.get("metadata") or {}),
                                "name": obj["metadata"]["name"] + "-pod", "namespace": obj["metadata"].get("namespace", "default")},
                   "spec": copy.deepcopy(template.get("spec") or {})}
            out.append(("bare Pod of its template", pod))
            out.append(("Pod owned by a ReplicaSet", owned(pod, "apps/v1", "ReplicaSet")))
            out.append(("Pod owned by a Job", owned(pod, "batch/v1", "Job")))
            out.append(("Pod owned by a custom resource", owned(pod, "argoproj.io/v1alpha1", "Workflow")))
            if kind == "Deployment":
                rs = copy.deepcopy(obj)
                rs["kind"] = "ReplicaSet"
                out.append(("ReplicaSet owned by a Deployment", owned(rs, "apps/v1", "Deployment")))
            udp = copy.deepcopy(obj)
            containers = (pod_template(udp).get("spec") or {}).get("containers") or []
            if containers and isinstance(containers[0], dict):
                containers[0].setdefault("ports", []).append({"containerPort": 5353, "protocol": "UDP"})
                out.append(("UDP port", udp))
                out.append(("UDP port, no mesh annotations", strip_annotations(udp, (MESH_PREFIX,))))
    return out


def never_selected():
    """Objects the issue names as outside every rule's reach, in a namespace without NSM injection."""
    meta = {"name": "x", "namespace": "apps"}
    container = {"name": "app", "image": "nginx", "ports": [{"containerPort": 53, "protocol": "UDP"}]}
    template = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [container]}}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {**meta, "annotations": {MESH_PREFIX + "mtls-mode": "bogus"}},
           "spec": template["spec"]}
    rule = {"host": "x.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}
    return [
        ("Opaque Secret", {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": meta, "data": {"a": "Yg=="}}),
        ("Helm release Secret", {"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
                                 "metadata": {**meta, "labels": {"owner": "helm"}}, "data": {"release": "SDRzSQ=="}}),
        ("service-account token Secret", {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
                                          "metadata": {**meta, "annotations": {"kubernetes.io/service-account.name": "default"}}}),
        ("Pod owned by a ReplicaSet (even with a bad mode)", owned(pod, "apps/v1", "ReplicaSet")),
        ("Deployment without mesh annotations", {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
                                                 "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": template}}),
        ("Ingress of another class", {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                                      "metadata": {**meta, "annotations": {"nginx.org/policies": "p",
                                                   "nginx.ingress.kubernetes.io/auth-tls-secret": "apps/ca"}},
                                      "spec": {"ingressClassName": "traefik", "rules": [rule]}}),
        ("Ingress of another class by annotation", {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                                                    "metadata": {**meta, "annotations": {"nginx.org/policies": "p",
                                                                 "kubernetes.io/ingress.class": "traefik"}},
                                                    "spec": {"rules": [rule]}}),
        ("VirtualServer of another class", {"apiVersion": "k8s.nginx.org/v1", "kind": "VirtualServer", "metadata": meta,
                                            "spec": {"ingressClassName": "other", "host": "x.example.com",
                                                     "policies": [{"name": "BAD/"}]}}),
        ("Ingress without NIC annotations", {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta,
                                             "spec": {"ingressClassName": "nginx", "rules": [rule]}}),
        ("Policy of another class", {"apiVersion": "k8s.nginx.org/v1", "kind": "Policy", "metadata": meta,
                                     "spec": {"ingressClassName": "other", "ingressMTLS": {"clientCertSecret": "BAD/"}}}),
    ]


def always_selected():
    """Objects a catalogue rule reads, selected whatever the engine of this build implements
    (the ingress-nginx migration rules judge Ingresses of NIC's class by their annotations; NIC
    serves an Ingress whose class annotation names it, whatever spec.ingressClassName says)."""
    meta = {"name": "migrated", "namespace": "apps"}
    rule = {"host": "x.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}
    def ingress(annotations, **spec):
        return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {**meta, "annotations": annotations},
                "spec": {"rules": [rule], **spec}}
    return [
        ("ingress-nginx auth-tls-secret", ingress({"nginx.ingress.kubernetes.io/auth-tls-secret": "apps/ca"}, ingressClassName="nginx")),
        ("ingress-nginx proxy-ssl-verify, no class", ingress({"nginx.ingress.kubernetes.io/proxy-ssl-verify": "on"})),
        ("ingress-nginx backend-protocol, legacy class",
         ingress({"nginx.ingress.kubernetes.io/backend-protocol": "HTTPS", "kubernetes.io/ingress.class": "nginx"})),
        ("nginx.com/policies", ingress({"nginx.com/policies": "p"}, ingressClassName="nginx")),
        # NIC reads the annotation before the field (HasCorrectIngressClass): this one is NIC's.
        ("class annotation nginx over field traefik",
         ingress({"nginx.org/policies": "p", "kubernetes.io/ingress.class": "nginx"}, ingressClassName="traefik")),
    ]


# MARK: the engine

class Engines:
    """One `mtls-guard serve` per (cluster state, mesh-wide mode), answering over HTTPS."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.servers = {}
        self.connections = {}

    def rules(self, request, state, mode):
        key = (str(state), mode)
        if key not in self.servers:
            sub = self.tmp / f"engine{len(self.servers)}"
            sub.mkdir()
            self.servers[key] = Server(sub, args=("--state", str(state), "--mesh-mtls-mode", mode,
                                                  "--mode", "enforce", "--shutdown-delay", "0"))
            self.connections[key] = self.servers[key].connection()
        server = self.servers[key]
        response = server.review(request, conn=self.connections[key])
        rules = (response.get("auditAnnotations") or {}).get("rules", "")
        return {r for r in rules.split(",") if r}

    def stop(self):
        for conn in self.connections.values():
            conn.close()
        for server in self.servers.values():
            server.stop()


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    e = Engines(tmp_path_factory.mktemp("engines"))
    yield e
    e.stop()


def findings(engines, request, state):
    subject = request["object"] or request["oldObject"]
    modes = MESH_MODES if subject["kind"] in WORKLOAD_KINDS else MESH_MODES[:1]
    out = set()
    for mode in modes:
        out |= engines.rules(request, state, mode)
    return out


# MARK: reach

JUDGED_OWNERS = {("apps/v1", "Deployment"), ("apps/v1", "ReplicaSet"), ("apps/v1", "StatefulSet"),
                 ("apps/v1", "DaemonSet"), ("batch/v1", "Job"), ("batch/v1", "CronJob"), ("v1", "ReplicationController")}


def out_of_reach(request, injected, rules):
    """Why the webhooks leave this request alone although the engine, asked directly, finds `rules`;
    None when the request is within reach (then it must be selected)."""
    subject = request["object"] or request["oldObject"]
    kind = subject["kind"]
    if kind in WORKLOAD_KINDS:
        owners = (subject.get("metadata") or {}).get("ownerReferences") or []
        if any(o.get("controller") and (o.get("apiVersion"), o.get("kind")) in JUDGED_OWNERS for o in owners):
            return "its owner's pod template was judged when the owner was admitted"
        if not injected and not has_annotation_anywhere(subject, MESH_PREFIX):
            return "NSM does not inject here and nothing asks for the mesh: the mesh-wide mode does not apply"
    return None


def cases(sources):
    for state, objects in sources:
        for obj in objects:
            yield state, f"{obj['kind']} {obj.get('metadata', {}).get('name')}", obj
            for label, variant in mutations(obj):
                yield state, f"{obj['kind']} {obj.get('metadata', {}).get('name')} ({label})", variant


def called(webhooks, request, injected):
    ns = request["namespace"]
    try:
        return webhooks.called(request, namespace_labels(ns, injected))
    except ConditionError as error:
        pytest.fail(f"a matchConditions expression errored (the API server would apply failurePolicy): {error}")


def test_every_request_with_findings_is_selected_and_only_those_in_reach(webhooks, engines, sources):
    checked = selected_count = skipped_count = 0
    failures = []
    for state, label, obj in cases(sources):
        for operation in OPERATIONS:
            request = admission_request(obj, operation)
            rules = findings(engines, request, state)
            for injected in (False, True):
                names = called(webhooks, request, injected)
                checked += 1
                assert len(names) <= 1, f"{label} {operation}: judged twice by {names}"
                if names:
                    selected_count += 1
                    continue
                skipped_count += 1
                if rules and out_of_reach(request, injected, rules) is None:
                    failures.append(f"{label} {operation} (injected={injected}): engine finds {sorted(rules)} "
                                    "but no webhook is called")
    assert not failures, "\n".join(failures)
    # The population exercises both sides of every condition.
    assert selected_count > 50 and skipped_count > 200, (checked, selected_count, skipped_count)


def test_review_examples_are_selected(webhooks):
    for path in sorted((EXAMPLES / "reviews").glob("*.json")):
        request = json.loads(path.read_text())["request"]
        request.setdefault("object", None)
        request.setdefault("oldObject", None)
        assert called(webhooks, request, injected=False), f"{path.name} would not reach mtls-guard"


@pytest.mark.parametrize("injected", [False, True])
def test_objects_outside_every_rule_are_never_sent(webhooks, injected):
    for label, obj in never_selected():
        if injected and obj["kind"] in WORKLOAD_KINDS - {"Pod"}:
            continue  # every unowned workload of an injected namespace is the mesh's business
        for operation in OPERATIONS:
            request = admission_request(obj, operation)
            assert called(webhooks, request, injected) == [], f"{label} {operation} (injected={injected}) is sent"


def test_catalogue_reads_are_sent_even_before_the_engine_judges_them(webhooks):
    for label, obj in always_selected():
        for operation in ("CREATE", "UPDATE"):
            assert called(webhooks, admission_request(obj, operation), False) == ["nic.mtls-guard.nginx.org"], label


def test_a_condition_that_misses_a_rule_is_caught(webhooks, engines, sources):
    """The main test can fail: with the Secret condition narrowed to CA Secrets only, TLS Secrets
    the engine judges go unsent and the same check reports them."""
    narrowed = copy.deepcopy(webhook_configuration(render(ROOT / "manifests")))
    nic = next(w for w in narrowed["webhooks"] if w["name"].startswith("nic."))
    for condition in nic["matchConditions"]:
        if condition["name"] == "mtls-secret-type":
            condition["expression"] = condition["expression"].replace("'kubernetes.io/tls'", "'x'")
    broken = WebhookConfiguration(narrowed)
    missed = []
    for state, label, obj in cases(sources):
        if obj["kind"] == "Secret" and obj.get("type") == TLS_TYPE:
            request = admission_request(obj, "CREATE")
            if findings(engines, request, state) and not broken.called(request, namespace_labels("x")):
                missed.append(label)
    assert missed, "narrowing the Secret condition went unnoticed"


def test_mesh_webhooks_fail_open_and_the_component_closes_them(tmp_path):
    base = webhook_configuration(render(ROOT / "manifests"))
    policies = {w["name"]: w["failurePolicy"] for w in base["webhooks"]}
    assert policies == {"nic.mtls-guard.nginx.org": "Fail", "mesh-injected.mtls-guard.nginx.org": "Ignore",
                        "mesh-annotated.mtls-guard.nginx.org": "Ignore"}
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    rel = os.path.relpath(ROOT / "manifests", overlay)
    (overlay / "kustomization.yaml").write_text(
        f"resources: [{rel}]\ncomponents: [{rel}/components/mesh-fail-closed]\n")
    closed = webhook_configuration(render(overlay))
    assert {w["name"]: w["failurePolicy"] for w in closed["webhooks"]} == {name: "Fail" for name in policies}
    # Only failurePolicy changes.
    strip = lambda ws: sorted((json.dumps({k: v for k, v in w.items() if k != "failurePolicy"}, sort_keys=True) for w in ws))
    assert strip(closed["webhooks"]) == strip(base["webhooks"])


def readme_ingress_class_patch():
    text = (ROOT / "README.md").read_text()
    start = text.index("<!-- ingress-class-patch -->")
    block = text[start:].split("```yaml\n", 1)[1].split("```", 1)[0]
    return block


def test_readme_ingress_class_patch_changes_the_class_everywhere(tmp_path):
    """The README's kustomize overlay for another ingress class renders, selects that class only,
    and passes the same class to the server."""
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    rel = os.path.relpath(ROOT / "manifests", overlay)
    (overlay / "kustomization.yaml").write_text(readme_ingress_class_patch().replace("../mtls-guard/manifests", rel))
    objects = render(overlay)
    hooks = WebhookConfiguration(webhook_configuration(objects))
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    assert "--ingress-class=nginx-internal" in deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    base = webhook_configuration(render(ROOT / "manifests"))
    patched = webhook_configuration(objects)
    # The patch changes nothing but the class list.
    def expressions(config):
        return {(w["name"], c["name"]): c["expression"] for w in config["webhooks"] for c in w.get("matchConditions", [])}
    before, after = expressions(base), expressions(patched)
    assert before.keys() == after.keys()
    for key in before:
        assert " ".join(after[key].split()) == " ".join(before[key].replace("['nginx']", "['nginx-internal']").split()), key
    for class_name, expected in (("nginx-internal", ["nic.mtls-guard.nginx.org"]), ("nginx", [])):
        ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                   "metadata": {"name": "a", "namespace": "apps", "annotations": {"nginx.org/policies": "p"}},
                   "spec": {"ingressClassName": class_name}}
        assert hooks.called(admission_request(ingress, "CREATE"), namespace_labels("apps")) == expected, class_name
    # Combined with the mesh-fail-closed component, both patches still apply.
    with open(overlay / "kustomization.yaml", "a") as f:
        f.write(f"components:\n- {rel}/components/mesh-fail-closed\n")
    combined = webhook_configuration(render(overlay))
    assert expressions(combined) == after
    assert {w["failurePolicy"] for w in combined["webhooks"]} == {"Fail"}


def test_a_second_cel_implementation_agrees(webhooks, sources):
    """Every condition gives the same result (or both error) in a second, independent CEL
    implementation (common-expression-language, a Rust interpreter), so the selection above does
    not rest on one engine's reading of has(), in, map access and exists."""
    second = pytest.importorskip("cel", reason="common-expression-language is needed: pip install common-expression-language")
    compared = 0
    disagreements = []
    for _, label, obj in cases(sources):
        for operation in OPERATIONS:
            request = admission_request(obj, operation)
            data = {"object": request["object"], "oldObject": request["oldObject"], "request": request}
            for hook in webhooks.webhooks:
                for condition in hook.conditions:
                    try:
                        first = condition.evaluate(request)
                    except ConditionError:
                        first = "error"
                    try:
                        other = second.evaluate(condition.source, data)
                    except Exception:  # the Rust engine raises KeyError, TypeError, RuntimeError ...
                        other = "error"
                    compared += 1
                    if first != other:
                        disagreements.append(f"{label} {operation} {hook.name}/{condition.name}: {first} vs {other}")
    assert not disagreements, "\n".join(disagreements[:20])
    assert compared > 1000
