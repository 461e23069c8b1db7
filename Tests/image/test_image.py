"""The container image carries everything the binary needs.

`make test-image` builds the image, then this exports its root filesystem (`podman create` +
`podman export`) and runs the binary inside it with `chroot`: nothing from the host is visible,
the root filesystem is mounted read-only and the process runs as the Deployment's user, as in
the cluster. `serve` answers one AdmissionReview over TLS from a Python ssl client outside.
"""
import json
import os
import pathlib
import shlex
import subprocess
import sys
import tarfile

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests" / "e2e"))
from conftest import PKI, Server, admission_request, free_port  # noqa: E402
from manifests import ingress_mtls_policy  # noqa: E402

IMAGE = os.environ.get("MTLS_GUARD_IMAGE", "")
PODMAN = shlex.split(os.environ.get("PODMAN", "podman --storage-driver vfs"))
BIN_IN_IMAGE = "/usr/local/bin/mtls-guard"

if not IMAGE:
    pytest.skip("MTLS_GUARD_IMAGE not set: run `make test-image`", allow_module_level=True)


def podman(*args):
    out = subprocess.run([*PODMAN, *args], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def deployment_user():
    (deployment,) = [d for d in yaml.safe_load_all((ROOT / "manifests" / "deployment.yaml").read_text()) if d]
    return deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"]


@pytest.fixture(scope="module")
def rootfs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("image")
    container = podman("create", IMAGE)
    try:
        podman("export", "-o", str(tmp / "rootfs.tar"), container)
    finally:
        podman("rm", container)
    root = tmp / "rootfs"
    root.mkdir()
    with tarfile.open(tmp / "rootfs.tar") as tar:
        tar.extractall(root, numeric_owner=True)
    return root


def in_image(rootfs, *args, user=None):
    """Runs a command chrooted into the image's root filesystem, mounted read-only in a private
    mount namespace with /proc mounted as a container runtime would, as the Deployment's user (or
    `user`). `exec` all the way: the returned command's process is the binary itself."""
    uid = deployment_user() if user is None else user
    root = shlex.quote(str(rootfs))
    script = (f"mount --bind {root} {root} && mount -o remount,bind,ro {root} && mount --bind /proc {root}/proc && "
              f"exec chroot --userspec={uid}:{uid} {root} " + " ".join(shlex.quote(a) for a in args))
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]


def test_image_runs_as_the_deployments_user(rootfs):
    config = json.loads(podman("image", "inspect", IMAGE))[0]["Config"]
    uid = deployment_user()
    assert config["User"] == f"{uid}:{uid}"
    assert config["Entrypoint"] == [BIN_IN_IMAGE]
    passwd = (rootfs / "etc" / "passwd").read_text().splitlines()
    assert any(line.split(":")[2] == str(uid) for line in passwd)
    assert any(line.split(":")[2] == str(uid) for line in (rootfs / "etc" / "group").read_text().splitlines())


def test_image_holds_exactly_the_libraries_ldd_reports(rootfs):
    binary = rootfs / BIN_IN_IMAGE.lstrip("/")
    ldd = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
    wanted = set()
    for line in ldd.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] == "=>" and parts[2].startswith("/"):
            wanted.add(parts[2])
        elif parts and parts[0].startswith("/"):
            wanted.add(parts[0])
    assert any("libssl.so" in p for p in wanted) and any("libcrypto.so" in p for p in wanted)
    assert not any("libswiftCore" in p for p in wanted), "the Swift runtime should be linked statically"
    present = {"/" + str(p.relative_to(rootfs)) for p in rootfs.rglob("*") if p.is_file() and ".so" in p.name}
    assert present == wanted
    assert (rootfs / "etc" / "ssl" / "certs" / "ca-certificates.crt").stat().st_size > 1000
    # Nothing else: the binary, the libraries, CA bundle, passwd/group.
    others = {"/" + str(p.relative_to(rootfs)) for p in rootfs.rglob("*") if p.is_file()} - present
    assert others == {BIN_IN_IMAGE, "/etc/ssl/certs/ca-certificates.crt", "/etc/passwd", "/etc/group"}
    # Mount points only.
    assert all(not any((rootfs / d).iterdir()) for d in ("proc", "dev", "sys"))


def test_version_in_the_image(rootfs):
    out = subprocess.run(in_image(rootfs, BIN_IN_IMAGE, "--version"), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    version = (ROOT / "Sources" / "mtls-guard" / "MTLSGuard.swift").read_text().split('static let version = "')[1].split('"')[0]
    assert out.stdout.strip() == version


def test_root_filesystem_is_read_only_for_the_process(rootfs):
    out = subprocess.run(in_image(rootfs, BIN_IN_IMAGE, "certs", "--out", "/tmp/x", "--service", "s", "--namespace", "n"),
                         capture_output=True, text=True, timeout=60)
    # The image's /tmp is world-writable: only the read-only mount refuses the write.
    assert out.returncode != 0 and "Read-only file system" in out.stderr, out.stderr


class ImageServer(Server):
    """`serve` from the image, chrooted; its certificates sit in the image's /tmp."""

    def __init__(self, tmp, rootfs, ca_file):
        self.tmp = pathlib.Path(tmp)
        self.port, self.metrics_port = free_port(), free_port()
        self.ca_file = ca_file
        self.log_path = self.tmp / "server.log"
        self.log = open(self.log_path, "wb")
        cmd = in_image(rootfs, BIN_IN_IMAGE, "serve", "--host", "127.0.0.1", "--port", str(self.port),
                       "--metrics-port", str(self.metrics_port), "--cert", "/tmp/certs/tls.crt",
                       "--key", "/tmp/certs/tls.key", "--shutdown-delay", "0")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_ready(timeout=30)


def test_serve_in_the_image_answers_a_review_over_tls(rootfs, tmp_path):
    pki = PKI(tmp_path / "pki")
    crt, key = pki.leaf("serving", "localhost")
    # Copied in before the root filesystem is mounted read-only; readable only by the user.
    certs = rootfs / "tmp" / "certs"
    certs.mkdir(parents=True, exist_ok=True)
    uid = deployment_user()
    for src, name in ((crt, "tls.crt"), (key, "tls.key")):
        (certs / name).write_bytes(src.read_bytes())
        os.chown(certs / name, uid, uid)
        os.chmod(certs / name, 0o400)
    server = ImageServer(tmp_path, rootfs, pki.ca_crt)
    try:
        response = server.review(admission_request(ingress_mtls_policy(verify_client="maybe")))
        assert response["allowed"] is False
        assert "(ingress-mtls/verify-client)" in response["status"]["message"]
        assert server.review(admission_request(ingress_mtls_policy()))["allowed"] is True
        status, metrics = server.metrics_get("/metrics")
        assert status == 200 and 'mtls_guard_requests_total{' in metrics
    finally:
        server.stop()
    assert server.proc.returncode == 0, server.logs()
