"""Which webhooks of a ValidatingWebhookConfiguration kube-apiserver calls for an AdmissionRequest.

The whole decision, in the API server's order: `rules` (operation, API group, version, resource),
`namespaceSelector` against the namespace's labels, `objectSelector` against the object's labels
(old or new), then every `matchConditions` expression, evaluated by a real CEL engine
(cel-expr-python: Google's cel-cpp) with the variables Kubernetes binds: `object`, `oldObject`
(null on CREATE and DELETE respectively) and `request`.

A condition that evaluates to false skips the webhook; if none is false and one errors, the
webhook's failurePolicy decides (Fail: the request is rejected, Ignore: skipped). Used by
Tests/e2e/test_match_conditions.py and bench/admission-share.
"""
from dataclasses import dataclass

try:
    from cel_expr_python import cel
except ImportError as error:  # pragma: no cover - reported as a clear test error
    raise ImportError("cel-expr-python is needed to evaluate matchConditions: "
                      "pip install cel-expr-python (make deps installs it)") from error

CALL, SKIP, REJECT = "call", "skip", "reject"

_ENV = cel.NewEnv(variables={"object": cel.Type.DYN, "oldObject": cel.Type.DYN, "request": cel.Type.DYN})


class ConditionError(Exception):
    """A matchConditions expression failed to compile or evaluated to an error or a non-bool."""


@dataclass
class Condition:
    name: str
    source: str
    program: object

    def evaluate(self, request):
        data = {"object": request.get("object"), "oldObject": request.get("oldObject"), "request": request}
        result = self.program.eval(data=data)
        if result.type() == cel.Type.ERROR:
            raise ConditionError(f"{self.name}: {result.value()}")
        value = result.value()
        if not isinstance(value, bool):
            raise ConditionError(f"{self.name}: evaluated to {value!r}, not a bool")
        return value


def compile_condition(name, expression):
    try:
        return Condition(name, expression, _ENV.compile(expression))
    except Exception as error:  # cel raises its own status types
        raise ConditionError(f"{name}: does not compile: {error}") from error


def _matches_list(values, value):
    return "*" in values or value in values


def rules_match(rules, request):
    group = request["resource"]["group"]
    version = request["resource"]["version"]
    resource = request["resource"]["resource"]
    for rule in rules:
        if (_matches_list(rule.get("operations", []), request["operation"])
                and _matches_list(rule.get("apiGroups", []), group)
                and _matches_list(rule.get("apiVersions", []), version)
                and _matches_list(rule.get("resources", []), resource)):
            return True
    return False


def selector_matches(selector, labels):
    """A metav1.LabelSelector; an absent selector matches everything."""
    if not selector:
        return True
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def _labels(obj):
    if not isinstance(obj, dict):
        return None
    meta = obj.get("metadata")
    return meta.get("labels") if isinstance(meta, dict) else None


class Webhook:
    def __init__(self, spec):
        self.spec = spec
        self.name = spec["name"]
        self.failure_policy = spec.get("failurePolicy", "Fail")
        self.conditions = [compile_condition(c["name"], c["expression"]) for c in spec.get("matchConditions") or []]

    def decide(self, request, namespace_labels):
        """CALL, SKIP or REJECT (a condition errored under failurePolicy Fail); errors also raise when strict."""
        if not rules_match(self.spec.get("rules", []), request):
            return SKIP, None
        if not selector_matches(self.spec.get("namespaceSelector"), namespace_labels):
            return SKIP, None
        object_selector = self.spec.get("objectSelector")
        if object_selector and not any(selector_matches(object_selector, _labels(o))
                                       for o in (request.get("object"), request.get("oldObject")) if o is not None):
            return SKIP, None
        errors = []
        for condition in self.conditions:
            try:
                if not condition.evaluate(request):
                    return SKIP, None
            except ConditionError as error:
                errors.append(str(error))
        if errors:
            return (REJECT if self.failure_policy == "Fail" else SKIP), errors
        return CALL, None


class WebhookConfiguration:
    def __init__(self, config):
        self.webhooks = [Webhook(spec) for spec in config["webhooks"]]

    def decisions(self, request, namespace_labels):
        """{webhook name: (decision, errors)}"""
        return {w.name: w.decide(request, namespace_labels) for w in self.webhooks}

    def called(self, request, namespace_labels):
        """Names of the webhooks the API server calls; raises ConditionError when any expression errors."""
        names = []
        for name, (decision, errors) in self.decisions(request, namespace_labels).items():
            if errors:
                raise ConditionError(f"{name}: {errors}")
            if decision == CALL:
                names.append(name)
        return names


def namespace_labels(name, injected=False):
    """The labels the API server sets on every namespace, plus NSM's opt-in label when `injected`."""
    labels = {"kubernetes.io/metadata.name": name}
    if injected:
        labels["injector.nsm.nginx.com/auto-inject"] = "enabled"
    return labels


# Plural resource names of the kinds the tests build requests for.
RESOURCES = {
    "Secret": "secrets", "Pod": "pods", "ReplicationController": "replicationcontrollers",
    "Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets",
    "ReplicaSet": "replicasets", "Job": "jobs", "CronJob": "cronjobs", "Ingress": "ingresses",
    "Policy": "policies", "VirtualServer": "virtualservers", "VirtualServerRoute": "virtualserverroutes",
    "ConfigMap": "configmaps", "Service": "services",
}


def admission_request(obj, operation, uid="selection"):
    """An AdmissionRequest as the API server builds it: `object` null on DELETE, `oldObject` null on CREATE."""
    group, _, version = obj["apiVersion"].rpartition("/")
    kind = obj["kind"]
    meta = obj.get("metadata") or {}
    gvk = {"group": group, "version": version, "kind": kind}
    gvr = {"group": group, "version": version, "resource": RESOURCES.get(kind, kind.lower() + "s")}
    return {
        "uid": uid, "kind": gvk, "resource": gvr, "requestKind": gvk, "requestResource": gvr,
        "name": meta.get("name", ""), "namespace": meta.get("namespace", "default"), "operation": operation,
        "userInfo": {"username": "selection-test", "groups": ["system:authenticated"]},
        "object": None if operation == "DELETE" else obj,
        "oldObject": None if operation == "CREATE" else obj,
        "dryRun": False, "options": None,
    }
