"""examples/ is runnable documentation: the good set passes, each broken file shows its rules,
and every review in examples/reviews gets the verdict the README promises."""
import json
import subprocess

import pytest

from conftest import BIN, EXAMPLES


pytestmark = pytest.mark.usefixtures("generated_secrets")


def validate(*paths):
    out = subprocess.run([BIN, "validate", "--output", "json", *map(str, paths)], capture_output=True, text=True)
    return out.returncode, json.loads(out.stdout) if out.stdout.strip() else None


def test_good_examples_pass_without_findings():
    code, report = validate(EXAMPLES / "good")
    assert code == 0
    assert report["summary"]["denied"] == 0 and report["summary"]["objects"] >= 10
    assert [r for r in report["results"] if r["findings"]] == []


EXPECTED = {
    ("Policy", "unquoted-on"): {"ingress-mtls/verify-client", "ingress-mtls/verify-depth"},
    ("Policy", "both-types"): {"policy/one-type"},
    ("Policy", "bad-egress"): {"egress-mtls/trusted-cert-secret", "egress-mtls/ssl-name", "egress-mtls/protocols",
                               "egress-mtls/weak-protocols"},
    ("Policy", "wrong-secret-type"): {"ingress-mtls/client-cert-secret-ref"},
    ("Policy", "no-ssl-name"): {"egress-mtls/ssl-name-missing"},
    ("Policy", "optional-client"): {"ingress-mtls/optional-client"},
    ("Policy", "mtls"): {"ingress-mtls/client-cert-secret-ref"},
    ("Ingress", "no-tls"): {"ingress-mtls/tls-required"},
    ("Ingress", "fails-open"): {"ingress/policies-annotation", "ingress/ssl-services", "ingress-mtls/host-without-tls",
                                "ingress/policy-ref"},
    ("Ingress", "migrated"): {"ingress-mtls/foreign-client-auth", "ingress/foreign-mtls-annotation"},
    ("Ingress", "wildcard-tls"): {"ingress-mtls/host-without-tls", "ingress/ssl-services"},
    ("VirtualServer", "route-scoped"): {"ingress-mtls/route-scope"},
    ("VirtualServer", "no-tls"): {"ingress-mtls/vs-tls-required", "vs/policy-ref-format"},
    ("Deployment", "typo"): {"mesh/mtls-mode-value"},
    ("CronJob", "misplaced"): {"mesh/mtls-mode-placement", "mesh/mtls-off"},
    ("Secret", "garbage-ca"): {"secret/ca"},
    ("Secret", "leaf-as-ca"): {"secret/ca-not-ca"},
    ("Secret", "mismatched-tls"): {"secret/tls"},
}


def test_broken_examples_show_the_documented_rules():
    code, report = validate(EXAMPLES / "broken")
    assert code == 1
    found = {(r["kind"], r["name"]): {f["rule"] for f in r["findings"]} for r in report["results"]}
    for key, rules in EXPECTED.items():
        assert rules <= found.get(key, set()), f"{key}: expected {rules}, got {found.get(key)}"


@pytest.mark.parametrize("review,allowed,rule", [
    ("01-accepted-ingress.json", True, None),
    ("02-ingress-mtls-without-tls.json", False, "ingress-mtls/tls-required"),
    ("03-invalid-policy.json", False, "ingress-mtls/verify-client"),
    ("04-delete-ca-secret-in-use.json", False, "secret/in-use-delete"),
    ("05-deployment-bad-mesh-mode.json", False, "mesh/mtls-mode-value"),
])
def test_demo_reviews(review, allowed, rule):
    body = (EXAMPLES / "reviews" / review).read_text()
    out = subprocess.run([BIN, "review", "--state", str(EXAMPLES / "good")], input=body, capture_output=True, text=True)
    assert out.returncode == (0 if allowed else 1), out.stderr
    response = json.loads(out.stdout)["response"]
    assert response["allowed"] is allowed
    assert response["uid"] == json.loads(body)["request"]["uid"]
    if rule:
        assert f"({rule})" in response["status"]["message"]


def test_review_of_garbage_exits_2_with_the_servers_error():
    out = subprocess.run([BIN, "review"], input="{nope", capture_output=True, text=True)
    assert out.returncode == 2
    error = json.loads(out.stdout)
    assert error["code"] == 400 and "malformed" in error["message"]
