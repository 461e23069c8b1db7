"""The pre-commit hook with the real `pre-commit` (PyPI): `try-repo` on a repository of manifests."""
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import BIN, ROOT


@pytest.fixture
def env(tmp_path):
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        pytest.fail("pre-commit is not installed: pip install pre-commit (make deps does it)")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # language: system runs `mtls-guard` from PATH: the binary under test, under its own name.
    (bin_dir / "mtls-guard").symlink_to(os.path.abspath(BIN))
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
            "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
            "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


@pytest.fixture
def hooks_repo(tmp_path, env):
    """A git repository holding this checkout's .pre-commit-hooks.yaml as committed (try-repo needs a commit)."""
    repo = tmp_path / "hooks"
    repo.mkdir()
    shutil.copy(ROOT / ".pre-commit-hooks.yaml", repo)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True, env=env)
    subprocess.run(["git", "add", "."], cwd=repo, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "hooks"], cwd=repo, check=True, env=env)
    return repo


def manifests_repo(tmp_path, env, source, name):
    repo = tmp_path / name
    shutil.copytree(source, repo / "deploy")
    # A repository of manifests also holds YAML that is not Kubernetes: the hook leaves it alone.
    (repo / ".pre-commit-config.yaml").write_text("repos: []\n")
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yml").write_text("on: push\njobs: {}\n")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True, env=env)
    subprocess.run(["git", "add", "."], cwd=repo, check=True, env=env)
    return repo


def try_repo(hooks, target, env):
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(hooks), "mtls-guard-validate", "--all-files",
                           "--verbose"], cwd=target, env=env, capture_output=True, text=True, timeout=300)


def test_hook_definition():
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "mtls-guard-validate" and hook["language"] == "system"
    assert hook["entry"].split()[:2] == ["mtls-guard", "validate"]


def test_broken_manifests_fail_the_hook(tmp_path, env, hooks_repo):
    target = manifests_repo(tmp_path, env, ROOT / "examples" / "broken", "broken")
    out = try_repo(hooks_repo, target, env)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "mtls-guard validate" in out.stdout and "Failed" in out.stdout
    assert "(ingress-mtls/tls-required) [deny]" in out.stdout
    assert "deploy/ingresses.yaml" in out.stdout


def test_good_manifests_pass_the_hook(tmp_path, env, hooks_repo):
    target = manifests_repo(tmp_path, env, ROOT / "examples" / "good", "good")
    out = try_repo(hooks_repo, target, env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Passed" in out.stdout
