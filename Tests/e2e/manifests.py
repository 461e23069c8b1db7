"""Kubernetes objects the end-to-end tests send, as the API server would (JSON)."""
import base64


def b64(data):
    return base64.b64encode(data if isinstance(data, bytes) else data.encode()).decode()


def ingress_mtls_policy(name="ingress-mtls", namespace="default", secret="client-ca", verify_client="on", **extra):
    spec = {"clientCertSecret": secret, "verifyClient": verify_client, **extra}
    return {"apiVersion": "k8s.nginx.org/v1", "kind": "Policy",
            "metadata": {"name": name, "namespace": namespace}, "spec": {"ingressMTLS": spec}}


def ca_secret(ca_pem, name="client-ca", namespace="default"):
    return {"apiVersion": "v1", "kind": "Secret", "type": "nginx.org/ca",
            "metadata": {"name": name, "namespace": namespace}, "data": {"ca.crt": b64(ca_pem)}}


def tls_secret(cert_pem, key_pem, name="cafe-tls", namespace="default"):
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": name, "namespace": namespace},
            "data": {"tls.crt": b64(cert_pem), "tls.key": b64(key_pem)}}


def ingress(name="cafe", namespace="default", policies=None, tls=True, hosts=("cafe.example.com",), annotations=None):
    ann = dict(annotations or {})
    if policies is not None:
        ann["nginx.org/policies"] = policies
    spec = {
        "ingressClassName": "nginx",
        "rules": [{"host": h, "http": {"paths": [{"path": "/", "pathType": "Prefix",
                   "backend": {"service": {"name": "coffee", "port": {"number": 80}}}}]}} for h in hosts],
    }
    if tls:
        spec["tls"] = [{"hosts": list(hosts), "secretName": "cafe-tls"}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": namespace, "annotations": ann}, "spec": spec}


def deployment(mode="strict", name="web", namespace="default", udp=False):
    ports = [{"containerPort": 8080, "protocol": "TCP"}]
    if udp:
        ports.append({"containerPort": 53, "protocol": "UDP"})
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name},
                                               "annotations": {"config.nsm.nginx.com/mtls-mode": mode}},
                                  "spec": {"containers": [{"name": "app", "image": "nginx", "ports": ports}]}}}}
