"""Writes realistic AdmissionReview bodies for the benchmark: an Ingress (~3 KB), a Deployment
(~8 KB) and a CA Secret (~6 KB), as the API server sends them (managedFields included)."""
import base64, json, pathlib, subprocess, sys, tempfile

out = pathlib.Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)


def managed(n):
    return [{"manager": f"kubectl-client-side-apply-{i}", "operation": "Update", "apiVersion": "v1",
             "time": "2026-11-20T10:00:00Z", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}}}}}
            for i in range(n)]


def review(obj, uid):
    g, _, v = obj["apiVersion"].rpartition("/")
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": uid, "kind": {"group": g, "version": v, "kind": obj["kind"]},
        "resource": {"group": g, "version": v, "resource": obj["kind"].lower() + "s"},
        "name": obj["metadata"]["name"], "namespace": obj["metadata"]["namespace"], "operation": "CREATE",
        "userInfo": {"username": "system:serviceaccount:argocd:argocd-application-controller",
                     "groups": ["system:serviceaccounts", "system:serviceaccounts:argocd", "system:authenticated"]},
        "object": obj, "oldObject": None, "dryRun": False}}


ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
           "metadata": {"name": "cafe-ingress", "namespace": "cafe", "labels": {"app": "cafe", "team": "payments"},
                        "annotations": {"nginx.org/policies": "ingress-mtls-policy", "nginx.org/ssl-services": "coffee-svc"},
                        "managedFields": managed(3)},
           "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["cafe-ingress.example.com"], "secretName": "tls-secret"}],
                    "rules": [{"host": "cafe-ingress.example.com", "http": {"paths": [
                        {"path": f"/p{i}", "pathType": "Prefix", "backend": {"service": {"name": "coffee-svc", "port": {"number": 80}}}}
                        for i in range(12)]}}]}}

containers = [{"name": f"c{i}", "image": "registry.example.com/team/app:1.2.3",
               "env": [{"name": f"VAR_{j}", "value": "x" * 40} for j in range(12)],
               "ports": [{"containerPort": 8080 + i, "protocol": "TCP"}],
               "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}}} for i in range(4)]
deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "payments", "namespace": "cafe", "managedFields": managed(3)},
              "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "payments"}},
                       "template": {"metadata": {"labels": {"app": "payments"},
                                                 "annotations": {"config.nsm.nginx.com/mtls-mode": "strict"}},
                                    "spec": {"containers": containers}}}}

with tempfile.TemporaryDirectory() as d:
    chain = b""
    for i in range(3):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{d}/k{i}", "-out", f"{d}/c{i}",
                        "-days", "365", "-subj", f"/CN=bench CA {i}", "-addext", "basicConstraints=critical,CA:TRUE"],
                       check=True, capture_output=True)
        chain += pathlib.Path(f"{d}/c{i}").read_bytes()
secret = {"apiVersion": "v1", "kind": "Secret", "type": "nginx.org/ca",
          "metadata": {"name": "ingress-mtls-secret", "namespace": "cafe"},
          "data": {"ca.crt": base64.b64encode(chain).decode()}}

for name, obj in (("ingress", ingress), ("deployment", deployment), ("secret", secret)):
    body = json.dumps(review(obj, f"bench-{name}"))
    (out / f"{name}.json").write_text(body)
    print(f"{name}: {len(body)} bytes")
