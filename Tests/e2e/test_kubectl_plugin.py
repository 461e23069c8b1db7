"""`make install` and the real kubectl: the plugin is found by name on PATH and runs."""
import os
import shutil
import subprocess

import pytest

from conftest import BIN, ROOT


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    prefix = tmp_path_factory.mktemp("prefix")
    out = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "install", f"PREFIX={prefix}", f"INSTALL_BIN={os.path.abspath(BIN)}"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return prefix


@pytest.fixture(scope="module")
def kubectl():
    path = shutil.which("kubectl")
    if not path:
        pytest.skip("kubectl not installed")
    return path


def run_kubectl(kubectl, prefix, *args):
    # Only the install prefix on PATH: kubectl must find the plugin there, nowhere else.
    env = {"PATH": str(prefix / "bin"), "HOME": str(prefix)}
    return subprocess.run([kubectl, *args], capture_output=True, text=True, env=env, timeout=60)


def test_install_lays_out_binary_link_and_completions(prefix):
    binary = prefix / "bin" / "mtls-guard"
    link = prefix / "bin" / "kubectl-mtls_guard"
    assert os.access(binary, os.X_OK)
    assert link.is_symlink() and os.readlink(link) == "mtls-guard"
    bash = prefix / "share" / "bash-completion" / "completions" / "mtls-guard"
    assert "validate" in bash.read_text()
    assert subprocess.run(["bash", "-n", str(bash)]).returncode == 0
    assert (prefix / "share" / "zsh" / "site-functions" / "_mtls-guard").read_text().startswith("#compdef mtls-guard")
    assert "complete -c 'mtls-guard'" in (prefix / "share" / "fish" / "vendor_completions.d" / "mtls-guard.fish").read_text()


def test_kubectl_plugin_list_finds_it(kubectl, prefix):
    out = run_kubectl(kubectl, prefix, "plugin", "list")
    assert out.returncode == 0, out.stdout + out.stderr
    assert str(prefix / "bin" / "kubectl-mtls_guard") in out.stdout
    assert "warning" not in (out.stdout + out.stderr).lower()


def test_kubectl_mtls_guard_version(kubectl, prefix):
    out = run_kubectl(kubectl, prefix, "mtls-guard", "--version")
    direct = subprocess.run([BIN, "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and direct.returncode == 0, out.stderr
    assert out.stdout == direct.stdout and out.stdout.strip()


def test_kubectl_mtls_guard_validate_with_dash_f(kubectl, prefix):
    broken = run_kubectl(kubectl, prefix, "mtls-guard", "validate", "-f", str(ROOT / "examples" / "broken"))
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "(ingress-mtls/tls-required) [deny]" in broken.stdout
    good = run_kubectl(kubectl, prefix, "mtls-guard", "validate", "-f", str(ROOT / "examples" / "good"))
    assert good.returncode == 0, good.stdout + good.stderr


def test_kubectl_mtls_guard_rules(kubectl, prefix):
    out = run_kubectl(kubectl, prefix, "mtls-guard", "rules")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "ingress-mtls/verify-client" in out.stdout
    assert "ingress-mtls/foreign-client-auth" in out.stdout
