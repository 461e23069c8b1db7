"""Writes N manifest files mixing Policies, Secrets, Ingresses, VirtualServers and Deployments,
some broken, for the `validate` benchmark."""
import base64, pathlib, sys

out = pathlib.Path(sys.argv[1])
n = int(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
for i in range(n):
    ns = f"team-{i % 40}"
    kind = i % 5
    if kind == 0:
        doc = f"""apiVersion: k8s.nginx.org/v1
kind: Policy
metadata:
  name: mtls-{i}
  namespace: {ns}
spec:
  ingressMTLS:
    clientCertSecret: ca-{i}
    verifyClient: {"on" if i % 7 else "maybe"}
    verifyDepth: 1
"""
    elif kind == 1:
        doc = f"""apiVersion: v1
kind: Secret
metadata:
  name: app-config-{i}
  namespace: {ns}
type: Opaque
data:
  config: {base64.b64encode(b"x" * 200).decode()}
"""
    elif kind == 2:
        doc = f"""apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app-{i}
  namespace: {ns}
  annotations:
    nginx.org/policies: mtls-{i - 2}
spec:
  ingressClassName: nginx
  tls:
  - hosts: [app-{i}.example.com]
    secretName: tls-{i}
  rules:
  - host: app-{i}.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web
            port:
              number: 80
"""
    elif kind == 3:
        doc = f"""apiVersion: k8s.nginx.org/v1
kind: VirtualServer
metadata:
  name: vs-{i}
  namespace: {ns}
spec:
  host: vs-{i}.example.com
  tls:
    secret: tls-{i}
  policies:
  - name: mtls-{i - 3}
  upstreams:
  - name: web
    service: web
    port: 80
  routes:
  - path: /
    action:
      pass: web
"""
    else:
        doc = f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-{i}
  namespace: {ns}
spec:
  selector:
    matchLabels: {{app: web-{i}}}
  template:
    metadata:
      labels: {{app: web-{i}}}
      annotations:
        config.nsm.nginx.com/mtls-mode: {"strict" if i % 3 else "off"}
    spec:
      containers:
      - name: web
        image: nginx
"""
    (out / f"m{i:05d}.yaml").write_text(doc)
