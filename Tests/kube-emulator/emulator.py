#!/usr/bin/env python3
"""A Kubernetes API-server emulator for tests: enough of kube-apiserver for client-go/kubectl and
for mtls-guard's live cluster view, over real HTTPS, plus a plain-HTTP control API for faults.

It is independent of mtls-guard's Swift code: its fidelity is checked by the real kubectl
(client-go) in Tests/e2e/test_emulator_kubectl.py.

Usage:
  python3 Tests/kube-emulator/emulator.py --dir DIR [--port 0] [--control-port 0] [--seed PATH ...]
                                          [--history 1000] [--bookmark-interval 1.0]

Into DIR it writes ca.crt, server.crt, server.key (a certificate whose only SAN is IP:127.0.0.1,
signed by ca.crt, both made with the openssl CLI), token (the current bearer token), kubeconfig
(context `emulator`, tokenFile DIR/token), port, control-port and, last, `ready` (the pid) once
both listeners accept.

What it implements (the README's "API-server emulator" section lists its differences from kube-apiserver):
- discovery: /api, /api/v1, /apis, /apis/<group>/<version>, /version, /openapi/v3;
- LIST/GET/POST/PUT/PATCH/DELETE, namespaced and across namespaces, on the resources in
  RESOURCES; kind/apiVersion/uid/creationTimestamp/resourceVersion/generation set as the API
  server sets them, from ONE global resourceVersion counter;
- fieldSelector (metadata.name, metadata.namespace, and type for Secrets; anything else is a 400),
  labelSelector (=, ==, !=, in, notin, exists, !exists), limit/continue from a consistent snapshot;
- WATCH from exactly the given resourceVersion out of a bounded history of events (an older one
  gets an in-stream 410 Expired ERROR event), synthetic ADDED events for resourceVersion ""/"0",
  BOOKMARK events, timeoutSeconds, one JSON event per line over a chunked response;
- errors as Status objects.

The control API (plain HTTP on 127.0.0.1, no authentication) drops watches (TCP reset, or in the
middle of an event), compacts or restarts the history, injects 403/404/429/500 answers per
resource, stalls streams, rotates the token, expires continue tokens, logs requests and
bulk-creates objects. Nothing here is production code.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import copy
import datetime
import itertools
import json
import os
import pathlib
import re
import secrets as pysecrets
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from urllib.parse import unquote

from aiohttp import web

# (group, version, plural, kind, namespaced, shortNames)
RESOURCES = [
    ("", "v1", "namespaces", "Namespace", False, ["ns"]),
    ("", "v1", "secrets", "Secret", True, []),
    ("", "v1", "configmaps", "ConfigMap", True, ["cm"]),
    ("", "v1", "services", "Service", True, ["svc"]),
    ("apps", "v1", "deployments", "Deployment", True, ["deploy"]),
    ("apps", "v1", "daemonsets", "DaemonSet", True, ["ds"]),
    ("apps", "v1", "statefulsets", "StatefulSet", True, ["sts"]),
    ("batch", "v1", "jobs", "Job", True, []),
    ("batch", "v1", "cronjobs", "CronJob", True, ["cj"]),
    ("networking.k8s.io", "v1", "ingresses", "Ingress", True, ["ing"]),
    ("k8s.nginx.org", "v1", "policies", "Policy", True, ["pol"]),
    ("k8s.nginx.org", "v1", "virtualservers", "VirtualServer", True, ["vs"]),
    ("k8s.nginx.org", "v1", "virtualserverroutes", "VirtualServerRoute", True, ["vsr"]),
    ("wgpolicyk8s.io", "v1alpha2", "policyreports", "PolicyReport", True, ["polr"]),
    ("wgpolicyk8s.io", "v1alpha2", "clusterpolicyreports", "ClusterPolicyReport", False, ["cpolr"]),
]

# Resources whose objects carry metadata.generation (everything with a spec, as the API server does).
NO_GENERATION = {"secrets", "configmaps", "namespaces"}
# Resources with a status subresource (status is kept on PUT of the main resource).
STATUS_SUBRESOURCE = {"deployments", "daemonsets", "statefulsets", "jobs", "cronjobs", "ingresses",
                      "services", "namespaces", "policies", "virtualservers", "virtualserverroutes"}
DEFAULT_WATCH_TIMEOUT = 1800
PUBLIC_PATHS = {"/version", "/healthz", "/livez", "/readyz"}
CONTINUE_TTL = 300  # etcd's default compaction interval: continue tokens older than this expire


def dumps(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Resource:
    def __init__(self, group, version, plural, kind, namespaced, short):
        self.group, self.version, self.plural, self.kind = group, version, plural, kind
        self.namespaced, self.short = namespaced, short
        self.api_version = f"{group}/{version}" if group else version
        self.qualified = f"{plural}.{group}" if group else plural  # as in error messages
        self.singular = kind.lower()
        self.fields = {"metadata.name", "metadata.namespace"} | ({"type"} if plural == "secrets" else set())
        self.objects: dict[tuple[str, str], Entry] = {}
        self._sorted: list[Entry] | None = None

    def sorted_entries(self) -> list[Entry]:
        if self._sorted is None:
            self._sorted = [self.objects[k] for k in sorted(self.objects)]
        return self._sorted

    def changed(self):
        self._sorted = None


class Entry:
    """One stored object: the parsed dict and its serialized bytes (both immutable once made)."""
    __slots__ = ("obj", "raw", "ns", "name", "labels", "fields", "rv")

    def __init__(self, res: Resource, obj: dict):
        meta = obj["metadata"]
        self.obj = obj
        self.raw = dumps(obj)
        self.ns = meta.get("namespace", "")
        self.name = meta["name"]
        self.labels = meta.get("labels") or {}
        self.rv = int(meta["resourceVersion"])
        self.fields = {"metadata.name": self.name, "metadata.namespace": self.ns}
        if res.plural == "secrets":
            self.fields["type"] = obj.get("type", "Opaque")


class APIError(Exception):
    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details, self.headers = code, reason, message, details, headers or {}

    def status(self):
        return status_body(self.code, self.reason, self.message, self.details)


def status_body(code, reason, message, details=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    if details is not None:
        body["details"] = details
    return body


def json_response(obj, status=200, headers=None):
    body = obj if isinstance(obj, bytes) else dumps(obj)
    return web.Response(body=body, status=status, content_type="application/json", headers=headers)


def error_response(err: APIError):
    return json_response(err.status(), err.code, err.headers)


# ---------------------------------------------------------------- selectors

def parse_field_selector(res: Resource, text: str):
    """[(field, op, value)]; 400 for a field the resource cannot be selected by, as the API server does."""
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        m = re.fullmatch(r"([^=!]+?)\s*(==|!=|=)\s*(.*)", part)
        if not m:
            raise APIError(400, "BadRequest", f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = m.group(1).strip(), m.group(2), m.group(3).strip()
        if field not in res.fields:
            raise APIError(400, "BadRequest", f'"{field}" is not a known field selector: only "'
                           + '", "'.join(sorted(res.fields)) + '"')
        out.append((field, op != "!=", value))
    return out


def split_outside_parens(text):
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(text: str):
    reqs = []
    for part in split_outside_parens(text):
        m = re.fullmatch(r"(\S+?)\s+(in|notin)\s+\((.*)\)", part)
        if m:
            values = {v.strip() for v in m.group(3).split(",") if v.strip()}
            reqs.append((m.group(1), m.group(2), values))
            continue
        m = re.fullmatch(r"([^=!\s]+)\s*(==|!=|=)\s*(\S*)", part)
        if m:
            reqs.append((m.group(1), "!=" if m.group(2) == "!=" else "=", m.group(3)))
            continue
        m = re.fullmatch(r"(!?)([A-Za-z0-9._/-]+)", part)
        if m:
            reqs.append((m.group(2), "!exists" if m.group(1) else "exists", None))
            continue
        raise APIError(400, "BadRequest", f"unable to parse requirement: {part!r}")
    return reqs


def labels_match(reqs, labels):
    for key, op, value in reqs:
        have = key in labels
        v = labels.get(key)
        if op == "=" and v != value:
            return False
        if op == "!=" and v == value:
            return False
        if op == "in" and (not have or v not in value):
            return False
        if op == "notin" and have and v in value:
            return False
        if op == "exists" and not have:
            return False
        if op == "!exists" and have:
            return False
    return True


class Filter:
    def __init__(self, res: Resource, ns: str, query):
        self.ns = ns
        self.fields = parse_field_selector(res, query.get("fieldSelector", ""))
        self.labels = parse_label_selector(query.get("labelSelector", ""))
        self.selective = bool(self.fields or self.labels)

    def match(self, e: Entry) -> bool:
        if self.ns and e.ns != self.ns:
            return False
        for field, eq, value in self.fields:
            if (e.fields.get(field, "") == value) != eq:
                return False
        return labels_match(self.labels, e.labels) if self.labels else True


# ---------------------------------------------------------------- watches and history

class Event:
    __slots__ = ("rv", "res", "type", "old", "new")

    def __init__(self, rv, res, type_, old, new):
        self.rv, self.res, self.type, self.old, self.new = rv, res, type_, old, new


def event_line(type_, raw: bytes) -> bytes:
    return b'{"type":"' + type_.encode() + b'","object":' + raw + b"}\n"


class Watcher:
    def __init__(self, res: Resource, flt: Filter, request):
        self.res, self.filter, self.request = res, flt, request
        self.pending: collections.deque[bytes] = collections.deque()
        self.wake = asyncio.Event()
        self.drop: str | None = None

    def offer(self, ev: Event):
        """Translate a store event into what this watcher sees, as the watch cache does: an object
        moving into the selector is ADDED, moving out is DELETED."""
        was = ev.old is not None and self.filter.match(ev.old)
        now = ev.new is not None and self.filter.match(ev.new)
        if ev.type == "DELETED":
            if was:
                self.push(event_line("DELETED", ev.new.raw))
        elif ev.type == "ADDED":
            if now:
                self.push(event_line("ADDED", ev.new.raw))
        else:
            if was and now:
                self.push(event_line("MODIFIED", ev.new.raw))
            elif now:
                self.push(event_line("ADDED", ev.new.raw))
            elif was:
                self.push(event_line("DELETED", ev.new.raw))

    def push(self, line: bytes):
        self.pending.append(line)
        self.wake.set()


# ---------------------------------------------------------------- the API server state

class Cluster:
    def __init__(self, history_size: int, bookmark_interval: float):
        self.resources = [Resource(*r) for r in RESOURCES]
        self.by_path = {(r.group, r.version, r.plural): r for r in self.resources}
        self.by_plural = {r.plural: r for r in self.resources}
        self.by_kind = {(r.api_version, r.kind): r for r in self.resources}
        self.rv = 0
        self.history: collections.deque[Event] = collections.deque()
        self.history_size = history_size
        self.history_floor = 0  # every event with rv > floor is in history
        self.bookmark_interval = bookmark_interval
        self.watchers: set[Watcher] = set()
        self.snapshots: dict[str, tuple[float, int, list[Entry]]] = {}
        self.faults: dict[str, dict] = {}   # plural or group -> {code, retryAfter, count}
        self.stalled: set[str] = set()
        self.unstalled = asyncio.Event()
        self.request_log: collections.deque[dict] = collections.deque(maxlen=200_000)
        self.token = ""
        self.dir: pathlib.Path | None = None

    # ----- store

    def next_rv(self) -> int:
        self.rv += 1
        return self.rv

    def record(self, res, type_, old, new):
        ev = Event(new.rv, res, type_, old, new)
        self.history.append(ev)
        while len(self.history) > self.history_size:
            self.history_floor = self.history.popleft().rv
        for w in list(self.watchers):
            if w.res is res:
                w.offer(ev)

    def ensure_namespace(self, ns, manager="emulator"):
        nsres = self.by_plural["namespaces"]
        if ns and ("", ns) not in nsres.objects:
            self.create(nsres, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, manager)

    def create(self, res: Resource, ns: str, obj: dict, manager="emulator") -> Entry:
        if not isinstance(obj, dict) or not isinstance(obj.get("metadata", {}), dict):
            raise APIError(400, "BadRequest", "the body of the request was not a valid object")
        self.check_kind(res, obj)
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        if res.namespaced:
            body_ns = meta.get("namespace") or ns
            if ns and body_ns != ns:
                raise APIError(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request")
            if not body_ns:
                raise APIError(400, "BadRequest", "the namespace of the object must be set")
            meta["namespace"] = ns = body_ns
        else:
            meta.pop("namespace", None)
            ns = ""
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = meta["generateName"] + "".join(pysecrets.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
            else:
                raise APIError(422, "Invalid", f"{res.kind} \"\" is invalid: metadata.name: Required value: name or generateName is required",
                               {"kind": res.kind, "causes": [{"reason": "FieldValueRequired", "message": "Required value: name or generateName is required", "field": "metadata.name"}]})
        name = meta["name"]
        if (ns, name) in res.objects:
            raise APIError(409, "AlreadyExists", f'{res.qualified} "{name}" already exists',
                           {"name": name, "group": res.group, "kind": res.plural})
        if res.namespaced:
            self.ensure_namespace(ns, manager)
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        if res.plural == "secrets":
            normalize_secret(obj)
        if res.plural == "namespaces":
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            obj["status"] = {"phase": "Active"}
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = name
        for drop in ("deletionTimestamp", "deletionGracePeriodSeconds"):
            meta.pop(drop, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        if res.plural not in NO_GENERATION:
            meta["generation"] = 1
        meta["managedFields"] = [managed_field(manager, res.api_version)]
        meta["resourceVersion"] = str(self.next_rv())
        entry = Entry(res, obj)
        res.objects[(ns, name)] = entry
        res.changed()
        self.record(res, "ADDED", None, entry)
        return entry

    def update(self, res: Resource, ns: str, name: str, obj: dict, manager="emulator", subresource=None) -> Entry:
        if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
            raise APIError(400, "BadRequest", "the body of the request was not a valid object")
        self.check_kind(res, obj)
        old = self.get(res, ns, name)
        meta = obj["metadata"]
        if meta.get("name", name) != name:
            raise APIError(400, "BadRequest", "the name of the object does not match the name on the URL")
        if res.namespaced and meta.get("namespace", ns) != ns:
            raise APIError(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request")
        want = meta.get("resourceVersion")
        if want and want != str(old.rv):
            raise APIError(409, "Conflict", f'Operation cannot be fulfilled on {res.qualified} "{name}": the object has been modified; please apply your changes to the latest version and try again',
                           {"name": name, "group": res.group, "kind": res.plural})
        if subresource == "status":
            new = copy.deepcopy(old.obj)
            new["status"] = copy.deepcopy(obj.get("status"))
        else:
            new = copy.deepcopy(obj)
            if res.plural in STATUS_SUBRESOURCE and "status" in old.obj:
                new["status"] = copy.deepcopy(old.obj["status"])
            elif res.plural in STATUS_SUBRESOURCE:
                new.pop("status", None)
        nmeta = new.setdefault("metadata", {})
        ometa = old.obj["metadata"]
        nmeta["name"] = name
        if res.namespaced:
            nmeta["namespace"] = ns
        for keep in ("uid", "creationTimestamp"):
            nmeta[keep] = ometa[keep]
        new["apiVersion"], new["kind"] = res.api_version, res.kind
        if res.plural == "secrets":
            normalize_secret(new)
        if res.plural not in NO_GENERATION:
            gen = ometa.get("generation", 1)
            if subresource is None and strip_for_generation(new) != strip_for_generation(old.obj):
                gen += 1
            nmeta["generation"] = gen
        nmeta["managedFields"] = [managed_field(manager, res.api_version)]
        nmeta["resourceVersion"] = str(self.next_rv())
        entry = Entry(res, new)
        res.objects[(ns, name)] = entry
        res.changed()
        self.record(res, "MODIFIED", old, entry)
        return entry

    def delete(self, res: Resource, ns: str, name: str) -> Entry:
        old = self.get(res, ns, name)
        gone = copy.deepcopy(old.obj)
        gone["metadata"]["resourceVersion"] = str(self.next_rv())
        entry = Entry(res, gone)
        del res.objects[(ns, name)]
        res.changed()
        self.record(res, "DELETED", old, entry)
        return entry

    def get(self, res: Resource, ns: str, name: str) -> Entry:
        e = res.objects.get((ns if res.namespaced else "", name))
        if e is None:
            raise APIError(404, "NotFound", f'{res.qualified} "{name}" not found',
                           {"name": name, "group": res.group, "kind": res.plural})
        return e

    def check_kind(self, res, obj):
        kind, api_version = obj.get("kind"), obj.get("apiVersion")
        if (kind and kind != res.kind) or (api_version and api_version != res.api_version):
            raise APIError(400, "BadRequest", f"the API version in the data ({api_version}) does not match the expected API version ({res.api_version})"
                           if api_version != res.api_version else f"{kind} is not the kind of {res.qualified}")

    def resource_for(self, obj) -> Resource:
        res = self.by_kind.get((obj.get("apiVersion"), obj.get("kind")))
        if res is None:
            raise APIError(400, "BadRequest", f"no resource for {obj.get('apiVersion')}, Kind={obj.get('kind')} in this emulator")
        return res

    # ----- history control

    def compact(self):
        self.history.clear()
        self.history_floor = self.rv
        self.snapshots.clear()

    def drop_watches(self, mode):
        for w in list(self.watchers):
            w.drop = mode
            w.wake.set()

    # ----- log

    def log(self, request, watch):
        entry = {"method": request.method, "path": request.path, "query": dict(request.query),
                 "status": None, "watch": watch, "time": time.time()}
        self.request_log.append(entry)
        return entry


def normalize_secret(obj):
    obj.setdefault("type", "Opaque")
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict):
        data = obj.setdefault("data", {}) or {}
        for k, v in string_data.items():
            data[k] = base64.b64encode(str(v).encode()).decode()
        obj["data"] = data


def strip_for_generation(obj):
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def managed_field(manager, api_version):
    return {"manager": manager, "operation": "Update", "apiVersion": api_version, "time": now_rfc3339(),
            "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {}}}


def manager_of(request):
    fm = request.query.get("fieldManager")
    if fm:
        return fm
    ua = request.headers.get("User-Agent", "unknown")
    return ua.split("/", 1)[0] or "unknown"


# ---------------------------------------------------------------- HTTP: the API

class API:
    def __init__(self, cluster: Cluster, port_getter):
        self.c = cluster
        self.port = port_getter

    # ----- middleware: log, auth, faults

    @web.middleware
    async def middleware(self, request, handler):
        watch = request.query.get("watch", "").lower() in ("true", "1")
        entry = self.c.log(request, watch)
        request["log"] = entry
        try:
            auth = request.headers.get("Authorization", "")
            if request.path in PUBLIC_PATHS:
                pass  # system:public-info-viewer: readable without credentials
            elif not pysecrets.compare_digest(auth.encode(), f"Bearer {self.c.token}".encode()):
                raise APIError(401, "Unauthorized", "Unauthorized")
            resp = await handler(request)
        except APIError as err:
            resp = error_response(err)
        except web.HTTPException as err:  # no route, or a method the route does not take
            reason = {404: "NotFound", 405: "MethodNotAllowed"}.get(err.status, "BadRequest")
            message = "the server could not find the requested resource" if err.status == 404 else err.reason
            resp = error_response(APIError(err.status, reason, message, {}))
        if entry["status"] is None:
            entry["status"] = resp.status
        return resp

    def fault_for(self, res: Resource):
        for key in (res.plural, res.group or "core"):
            f = self.c.faults.get(key)
            if f is None:
                continue
            if f.get("count") is not None:
                f["count"] -= 1
                if f["count"] <= 0:
                    del self.c.faults[key]
            return f
        return None

    def raise_fault(self, res: Resource, request, f):
        code = int(f["code"])
        headers = {}
        details = {"group": res.group, "kind": res.plural}
        if f.get("retryAfter") is not None:
            headers["Retry-After"] = str(int(f["retryAfter"]))
            details["retryAfterSeconds"] = int(f["retryAfter"])
        verb = verb_of(request)
        if code == 403:
            scope = f'in the namespace "{request["ns"]}"' if request.get("ns") else "at the cluster scope"
            raise APIError(403, "Forbidden", f'{res.qualified} is forbidden: User "system:serviceaccount:mtls-guard:mtls-guard" cannot {verb} resource "{res.plural}" in API group "{res.group}" {scope}', details, headers)
        if code == 404:
            raise APIError(404, "NotFound", "the server could not find the requested resource", {}, headers)
        if code == 429:
            raise APIError(429, "TooManyRequests", "Too many requests, please try again later.", details, headers)
        if code == 401:
            raise APIError(401, "Unauthorized", "Unauthorized", None, headers)
        if code >= 500:
            reason = {503: "ServiceUnavailable", 504: "Timeout"}.get(code, "InternalError")
            raise APIError(code, reason, f"Internal error occurred: injected fault {code}", details, headers)
        raise APIError(code, "BadRequest", f"injected fault {code}", details, headers)

    # ----- discovery

    async def api_versions(self, request):
        return json_response({"kind": "APIVersions", "versions": ["v1"],
                              "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{self.port()}"}]})

    def groups(self):
        out = collections.OrderedDict()
        for r in self.c.resources:
            if r.group:
                out.setdefault(r.group, []).append(r.version) if r.version not in out.get(r.group, []) else None
        return out

    async def api_groups(self, request):
        groups = []
        for g, versions in self.groups().items():
            if self.c.faults.get(g, {}).get("code") == 404:
                continue  # the group is "not installed"
            vs = [{"groupVersion": f"{g}/{v}", "version": v} for v in versions]
            groups.append({"name": g, "versions": vs, "preferredVersion": vs[0]})
        return json_response({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})

    async def api_group(self, request):
        g = request.match_info["group"]
        versions = self.groups().get(g)
        if not versions or self.c.faults.get(g, {}).get("code") == 404:
            raise APIError(404, "NotFound", "the server could not find the requested resource", {})
        vs = [{"groupVersion": f"{g}/{v}", "version": v} for v in versions]
        return json_response({"kind": "APIGroup", "apiVersion": "v1", "name": g, "versions": vs, "preferredVersion": vs[0]})

    async def resource_list(self, request):
        g = request.match_info.get("group", "")
        v = request.match_info["version"]
        rs = [r for r in self.c.resources if r.group == g and r.version == v]
        if not rs or (g and self.c.faults.get(g, {}).get("code") == 404):
            raise APIError(404, "NotFound", "the server could not find the requested resource", {})
        out = []
        for r in rs:
            verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
            out.append({"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
                        "verbs": verbs, **({"shortNames": r.short} if r.short else {}),
                        **({"categories": ["all", "nginx-ingress"]} if r.group == "k8s.nginx.org" else {})})
            if r.plural in STATUS_SUBRESOURCE:
                out.append({"name": f"{r.plural}/status", "singularName": "", "namespaced": r.namespaced,
                            "kind": r.kind, "verbs": ["get", "patch", "update"]})
        gv = f"{g}/{v}" if g else v
        return json_response({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out})

    async def version(self, request):
        return json_response({"major": "1", "minor": "32", "gitVersion": "v1.32.0-emulator", "gitCommit": "0" * 40,
                              "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23",
                              "compiler": "gc", "platform": "linux/amd64"})

    async def openapi_v3(self, request):
        """The OpenAPI v3 index and per-group documents, only as far as kubectl reads them: that
        POST/PUT/PATCH accept `fieldValidation` (so kubectl leaves validation to the server)."""
        paths = {}
        for gv in sorted({(r.group, r.version) for r in self.c.resources}):
            key = f"apis/{gv[0]}/{gv[1]}" if gv[0] else f"api/{gv[1]}"
            paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash=emulator"}
        return json_response({"paths": paths})

    async def openapi_v3_gv(self, request):
        tail = request.match_info["tail"]
        parts = tail.split("/")
        if parts[0] == "api" and len(parts) == 2:
            g, v = "", parts[1]
        elif parts[0] == "apis" and len(parts) == 3:
            g, v = parts[1], parts[2]
        else:
            raise APIError(404, "NotFound", "the server could not find the requested resource", {})
        rs = [r for r in self.c.resources if r.group == g and r.version == v]
        if not rs:
            raise APIError(404, "NotFound", "the server could not find the requested resource", {})
        param = {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}}
        paths = {}
        for r in rs:
            base = f"/apis/{g}/{v}" if g else f"/api/{v}"
            ns = "/namespaces/{namespace}" if r.namespaced else ""
            # kubectl reads an operation's GVK extension as one object (a schema's is a list).
            gvk = {"group": g, "version": v, "kind": r.kind}
            op = {"parameters": [param], "x-kubernetes-group-version-kind": gvk, "responses": {}}
            paths[f"{base}{ns}/{r.plural}"] = {"post": {**op, "x-kubernetes-action": "post"}}
            paths[f"{base}{ns}/{r.plural}/{{name}}"] = {"put": {**op, "x-kubernetes-action": "put"},
                                                         "patch": {**op, "x-kubernetes-action": "patch"}}
        return json_response({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.0"},
                              "paths": paths, "components": {"schemas": {}}})

    # ----- resources

    def route(self, request):
        """(resource, namespace, name, subresource) from /api/v1/... or /apis/g/v/..."""
        g = request.match_info.get("group", "")
        v = request.match_info["version"]
        segs = [unquote(s) for s in request.match_info["tail"].split("/") if s]
        ns = ""
        if len(segs) >= 3 and segs[0] == "namespaces":
            ns, segs = segs[1], segs[2:]
        elif len(segs) == 2 and segs[0] == "namespaces" and not g:
            pass  # /api/v1/namespaces/NAME
        if not segs or len(segs) > 3:
            raise APIError(404, "NotFound", "the server could not find the requested resource", {})
        res = self.c.by_path.get((g, v, segs[0]))
        if res is None:
            raise APIError(404, "NotFound", "the server could not find the requested resource", {})
        if ns and not res.namespaced:
            raise APIError(404, "NotFound", "the server could not find the requested resource", {})
        name = segs[1] if len(segs) > 1 else ""
        sub = segs[2] if len(segs) > 2 else None
        if sub is not None and (sub != "status" or res.plural not in STATUS_SUBRESOURCE):
            raise APIError(404, "NotFound", "the server could not find the requested resource", {})
        return res, ns, name, sub

    async def resource(self, request):
        res, ns, name, sub = self.route(request)
        request["ns"] = ns
        f = self.fault_for(res)
        if f is not None:
            self.raise_fault(res, request, f)
        m = request.method
        q = request.query
        if m == "GET" and not name:
            if q.get("watch", "").lower() in ("true", "1"):
                return await self.watch(request, res, ns)
            return self.list(request, res, ns)
        if m == "GET":
            return json_response(self.c.get(res, ns, name).raw)
        if m == "POST" and not name:
            if res.namespaced and not ns:
                raise APIError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})
            body = await read_json(request)
            entry = self.c.create(res, ns, body, manager_of(request)) if not dry_run(q) else None
            return json_response(entry.raw if entry else dumps(body), 201)
        if not name or (res.namespaced and not ns):
            raise APIError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})
        if m == "PUT":
            body = await read_json(request)
            if dry_run(q):
                return json_response(dumps(body))
            return json_response(self.c.update(res, ns, name, body, manager_of(request), sub).raw)
        if m == "PATCH":
            patched = apply_patch(self.c.get(res, ns, name).obj, request.content_type, await request.read())
            if dry_run(q):
                return json_response(dumps(patched))
            return json_response(self.c.update(res, ns, name, patched, manager_of(request), sub).raw)
        if m == "DELETE":
            body = await request.read()
            if body:
                try:
                    opts = json.loads(body)
                except ValueError:
                    raise APIError(400, "BadRequest", "the body of the request was not valid DeleteOptions")
                pre = (opts.get("preconditions") or {}) if isinstance(opts, dict) else {}
                cur = self.c.get(res, ns, name)
                if pre.get("uid") and pre["uid"] != cur.obj["metadata"]["uid"] or \
                        pre.get("resourceVersion") and pre["resourceVersion"] != str(cur.rv):
                    raise APIError(409, "Conflict", f'Operation cannot be fulfilled on {res.qualified} "{name}": precondition failed')
            if dry_run(q):
                return json_response(self.c.get(res, ns, name).raw)
            gone = self.c.delete(res, ns, name)
            return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                  "details": {"name": name, "group": res.group, "kind": res.plural,
                                              "uid": gone.obj["metadata"]["uid"]}})
        raise APIError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})

    def list(self, request, res: Resource, ns: str):
        q = request.query
        limit = parse_int(q.get("limit", "0"), "limit")
        token = q.get("continue")
        flt = Filter(res, ns, q)
        if token:
            snap_id, offset = decode_continue(token)
            snap = self.c.snapshots.get(snap_id)
            if snap is None or time.monotonic() - snap[0] > CONTINUE_TTL:
                self.c.snapshots.pop(snap_id, None)
                raise APIError(410, "Expired", "The provided continue parameter is too old to display a consistent list result. "
                               "You can start a new list without the continue parameter.", {})
            _, rv, items = snap
        else:
            rv = self.c.rv
            items = [e for e in res.sorted_entries() if flt.match(e)] if (flt.selective or flt.ns) else res.sorted_entries()
            offset = 0
        meta = {"resourceVersion": str(rv)}
        page = items[offset:offset + limit] if limit > 0 else items[offset:]
        end = offset + len(page)
        if limit > 0 and end < len(items):
            if not token:
                snap_id = uuid.uuid4().hex
                self.c.snapshots[snap_id] = (time.monotonic(), rv, items)
                if len(self.c.snapshots) > 256:  # bounded: the oldest snapshot goes
                    self.c.snapshots.pop(next(iter(self.c.snapshots)))
            meta["continue"] = encode_continue(snap_id, end, rv)
            if not flt.selective:
                meta["remainingItemCount"] = len(items) - end
        elif token:
            self.c.snapshots.pop(snap_id, None)
        body = (b'{"kind":"' + res.kind.encode() + b'List","apiVersion":"' + res.api_version.encode()
                + b'","metadata":' + dumps(meta) + b',"items":[' + b",".join(e.raw for e in page) + b"]}")
        return json_response(body)

    async def watch(self, request, res: Resource, ns: str):
        q = request.query
        c = self.c
        flt = Filter(res, ns, q)
        timeout = parse_int(q.get("timeoutSeconds", str(DEFAULT_WATCH_TIMEOUT)), "timeoutSeconds")
        bookmarks = q.get("allowWatchBookmarks", "").lower() in ("true", "1")
        rv_text = q.get("resourceVersion", "")
        start_rv = None if rv_text in ("", "0") else parse_int(rv_text, "resourceVersion")
        if q.get("sendInitialEvents", "").lower() in ("true", "1") and (
                not bookmarks or q.get("resourceVersionMatch") != "NotOlderThan"):
            raise APIError(422, "Invalid", "sendInitialEvents requires allowWatchBookmarks=true and resourceVersionMatch=NotOlderThan")
        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json",
                                                        "Cache-Control": "no-cache, private"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        request["log"]["status"] = 200
        # Everything from here to registering the watcher runs without an await: no event can be
        # missed or duplicated between the replay and the live stream.
        w = Watcher(res, flt, request)
        error = None
        if q.get("sendInitialEvents", "").lower() in ("true", "1"):
            # The streaming list (client-go's WatchList): the current state as ADDED events, then
            # a BOOKMARK annotated k8s.io/initial-events-end, then changes.
            for e in res.sorted_entries():
                if flt.match(e):
                    w.push(event_line("ADDED", e.raw))
            mark = {"kind": res.kind, "apiVersion": res.api_version, "metadata": {
                "resourceVersion": str(c.rv), "annotations": {"k8s.io/initial-events-end": "true"}}}
            w.push(event_line("BOOKMARK", dumps(mark)))
        elif start_rv is None:
            for e in res.sorted_entries():
                if flt.match(e):
                    w.push(event_line("ADDED", e.raw))
        elif start_rv < c.history_floor:
            error = status_body(410, "Expired", f"too old resource version: {start_rv} ({c.history_floor + 1})")
        elif start_rv > c.rv:
            error = status_body(504, "Timeout", f"Too large resource version: {start_rv}, current: {c.rv}",
                                {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                                 "retryAfterSeconds": 1})
        else:
            for ev in c.history:
                if ev.rv > start_rv and ev.res is res:
                    w.offer(ev)
        if error is not None:
            while res.plural in c.stalled:
                await c.unstalled.wait()
            await resp.write(event_line("ERROR", dumps(error)))
            await resp.write_eof()
            return resp
        c.watchers.add(w)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        next_bookmark = loop.time() + c.bookmark_interval if bookmarks else float("inf")
        try:
            while True:
                if res.plural in c.stalled and not w.drop:
                    # A stalled stream sends nothing at all, not even its end, until cleared.
                    c.unstalled.clear()
                    w.wake.clear()
                    waiter = asyncio.ensure_future(c.unstalled.wait())
                    waker = asyncio.ensure_future(w.wake.wait())
                    await asyncio.wait({waiter, waker}, return_when=asyncio.FIRST_COMPLETED)
                    waiter.cancel(); waker.cancel()
                    continue
                if w.drop == "reset":
                    reset(request)
                    return resp
                if w.pending:
                    line = w.pending.popleft()
                    if w.drop == "mid-event":
                        await resp.write(line[: max(1, len(line) // 2)])
                        await asyncio.sleep(0.05)
                        reset(request)
                        return resp
                    await resp.write(line)
                    continue
                now = loop.time()
                if now >= deadline:
                    await resp.write_eof()
                    return resp
                if now >= next_bookmark:
                    mark = {"kind": res.kind, "apiVersion": res.api_version,
                            "metadata": {"resourceVersion": str(c.rv)}}
                    w.push(event_line("BOOKMARK", dumps(mark)))
                    next_bookmark = now + c.bookmark_interval
                    continue
                w.wake.clear()
                try:
                    await asyncio.wait_for(w.wake.wait(), min(deadline, next_bookmark) - now)
                except asyncio.TimeoutError:
                    pass
        except (ConnectionError, asyncio.CancelledError):
            return resp
        finally:
            c.watchers.discard(w)


def verb_of(request):
    m = request.method
    if m == "GET":
        if request.query.get("watch", "").lower() in ("true", "1"):
            return "watch"
        return "get" if request.match_info.get("tail", "").strip("/").count("/") in (1, 3) else "list"
    return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(m, m.lower())


def reset(request):
    """Abort the connection with a TCP RST (SO_LINGER 0), as a crashed or cut-off server would."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()


def dry_run(q):
    return bool(q.getall("dryRun", []))


def parse_int(text, what):
    try:
        return int(text)
    except ValueError:
        raise APIError(400, "BadRequest", f"invalid {what}: {text!r}")


def encode_continue(snap_id, offset, rv):
    return base64.urlsafe_b64encode(dumps({"v": "emulator/1", "s": snap_id, "o": offset, "rv": rv})).decode().rstrip("=")


def decode_continue(token):
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return str(data["s"]), int(data["o"])
    except (ValueError, KeyError, TypeError):
        raise APIError(400, "BadRequest", "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")


async def read_json(request):
    if request.content_type not in ("application/json", "", "application/yaml") and "json" not in request.content_type:
        raise APIError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - accepted media types include: application/json, application/yaml")
    raw = await request.read()
    try:
        if request.content_type == "application/yaml":
            import yaml
            return yaml.safe_load(raw)
        return json.loads(raw)
    except Exception as err:  # noqa: BLE001 - any parse failure is the client's error
        raise APIError(400, "BadRequest", f"the body of the request could not be decoded: {err}")


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def json_patch(target, ops):
    doc = copy.deepcopy(target)

    def walk(path):
        parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
        parent = doc
        for p in parts[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent[p]
        return parent, parts[-1]

    for op in ops:
        parent, key = walk(op["path"])
        kind = op["op"]
        if isinstance(parent, list):
            idx = len(parent) if key == "-" else int(key)
            if kind == "add":
                parent.insert(idx, op["value"])
            elif kind == "remove":
                parent.pop(idx)
            elif kind == "replace":
                parent[idx] = op["value"]
            elif kind == "test" and parent[idx] != op["value"]:
                raise APIError(422, "Invalid", "the test operation failed")
        else:
            if kind in ("add", "replace"):
                parent[key] = op["value"]
            elif kind == "remove":
                del parent[key]
            elif kind == "test" and parent.get(key) != op["value"]:
                raise APIError(422, "Invalid", "the test operation failed")
    return doc


def apply_patch(obj, content_type, body):
    """JSON merge patch, strategic merge patch (treated as a merge patch: lists are replaced) and
    JSON patch."""
    try:
        patch = json.loads(body)
        if content_type == "application/json-patch+json":
            return json_patch(obj, patch)
        if content_type in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            return merge_patch(obj, patch)
    except APIError:
        raise
    except Exception as err:  # noqa: BLE001
        raise APIError(422, "Invalid", f"the patch could not be applied: {err}")
    raise APIError(415, "UnsupportedMediaType", f"the patch type {content_type} is not supported by this emulator")


# ---------------------------------------------------------------- HTTP: the control API

class Control:
    def __init__(self, cluster: Cluster, api_port):
        self.c = cluster
        self.api_port = api_port

    async def body(self, request):
        raw = await request.read()
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            raise web.HTTPBadRequest(text="body is not JSON")

    async def healthz(self, request):
        return web.json_response({"ok": True, "resourceVersion": str(self.c.rv), "watches": len(self.c.watchers)})

    async def drop_watches(self, request):
        mode = (await self.body(request)).get("mode", "reset")
        if mode not in ("reset", "mid-event"):
            raise web.HTTPBadRequest(text="mode is reset or mid-event")
        n = len(self.c.watchers)
        self.c.drop_watches(mode)
        return web.json_response({"dropped": n})

    async def compact(self, request):
        self.c.compact()
        return web.json_response({"floor": str(self.c.history_floor)})

    async def restart(self, request):
        n = len(self.c.watchers)
        self.c.drop_watches("reset")
        self.c.compact()
        return web.json_response({"dropped": n, "resourceVersion": str(self.c.rv)})

    async def fault(self, request):
        b = await self.body(request)
        key = b.get("resource") or b.get("group")
        if not key or "code" not in b:
            raise web.HTTPBadRequest(text='{"resource": plural (or "group"), "code": N} required')
        if key not in self.c.by_plural and key not in {r.group or "core" for r in self.c.resources}:
            raise web.HTTPBadRequest(text=f"unknown resource or group {key}")
        count = b.get("count")
        self.c.faults[key] = {"code": int(b["code"]), "retryAfter": b.get("retryAfter"),
                              "count": int(count) if count is not None else None}
        return web.json_response({"faults": self.c.faults})

    async def clear_faults(self, request):
        self.c.faults.clear()
        self.c.stalled.clear()
        self.c.unstalled.set()
        return web.json_response({"faults": {}})

    async def stall(self, request):
        res = (await self.body(request)).get("resource")
        if res not in self.c.by_plural:
            raise web.HTTPBadRequest(text="resource: a plural such as secrets")
        self.c.stalled.add(res)
        self.c.unstalled.clear()
        for w in self.c.watchers:
            if w.res.plural == res:
                w.wake.set()
        return web.json_response({"stalled": sorted(self.c.stalled)})

    async def rotate_token(self, request):
        token = new_token()
        write_atomic(self.c.dir / "token", token)
        self.c.token = token
        return web.json_response({"token": token})

    async def expire_continue(self, request):
        n = len(self.c.snapshots)
        self.c.snapshots.clear()
        return web.json_response({"expired": n})

    async def requests(self, request):
        return web.Response(body=dumps(list(self.c.request_log)), content_type="application/json")

    async def clear_requests(self, request):
        self.c.request_log.clear()
        return web.json_response({"cleared": True})

    async def objects(self, request):
        b = await self.body(request)
        items = b.get("items") if isinstance(b, dict) and "items" in b else (b if isinstance(b, list) else [b])
        created, errors = 0, []
        for i, obj in enumerate(items):
            try:
                res = self.c.resource_for(obj)
                self.c.create(res, (obj.get("metadata") or {}).get("namespace", "") if res.namespaced else "", obj, "bulk")
                created += 1
            except APIError as err:
                errors.append({"index": i, "message": err.message})
        return web.json_response({"created": created, "errors": errors[:50], "resourceVersion": str(self.c.rv)},
                                 status=200 if not errors else 207)


# ---------------------------------------------------------------- set-up

def new_token():
    return pysecrets.token_urlsafe(32)


def write_atomic(path: pathlib.Path, text: str, mode=0o600):
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def make_certificates(d: pathlib.Path):
    """CA and server certificate with the openssl CLI; the server's only SAN is IP:127.0.0.1 (as an
    in-cluster API server's is an IP, kubernetes.default's 10.96.0.1)."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)
    with tempfile.TemporaryDirectory(dir=d) as work:
        w = pathlib.Path(work)
        run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(w / "ca.key"), "-out", str(d / "ca.crt"), "-days", "30",
            "-subj", "/CN=kube-emulator CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        (w / "ext").write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                               "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n")
        run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(d / "server.key"), "-out", str(w / "server.csr"), "-subj", "/CN=kube-apiserver")
        run("x509", "-req", "-in", str(w / "server.csr"), "-CA", str(d / "ca.crt"), "-CAkey", str(w / "ca.key"),
            "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-out", str(d / "server.crt"), "-days", "30", "-extfile", str(w / "ext"))
    os.chmod(d / "server.key", 0o600)


def kubeconfig_text(d: pathlib.Path, port: int) -> str:
    return f"""apiVersion: v1
kind: Config
clusters:
- name: emulator
  cluster:
    server: https://127.0.0.1:{port}
    certificate-authority: {d / 'ca.crt'}
contexts:
- name: emulator
  context:
    cluster: emulator
    user: emulator
    namespace: default
current-context: emulator
preferences: {{}}
users:
- name: emulator
  user:
    tokenFile: {d / 'token'}
"""


def load_seed(cluster: Cluster, path: pathlib.Path):
    import yaml
    files = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml", ".json")) if path.is_dir() else [path]
    for f in files:
        for doc in yaml.safe_load_all(f.read_text()):
            if not doc:
                continue
            items = doc["items"] if doc.get("kind", "").endswith("List") and "items" in doc else [doc]
            for obj in items:
                try:
                    res = cluster.resource_for(obj)
                    ns = (obj.get("metadata") or {}).get("namespace") or ("default" if res.namespaced else "")
                    cluster.create(res, ns, obj, "seed")
                except APIError as err:
                    print(f"emulator: seed {f}: {err.message}", file=sys.stderr)


def listen(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(512)
    s.setblocking(False)
    return s


async def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", required=True, type=pathlib.Path)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--control-port", type=int, default=0)
    ap.add_argument("--seed", action="append", default=[], type=pathlib.Path)
    ap.add_argument("--history", type=int, default=1000, help="events kept for watches from an old resourceVersion")
    ap.add_argument("--bookmark-interval", type=float, default=1.0, help="seconds between BOOKMARK events")
    args = ap.parse_args(argv)

    d = args.dir.resolve()
    d.mkdir(parents=True, exist_ok=True)
    (d / "ready").unlink(missing_ok=True)
    make_certificates(d)
    cluster = Cluster(args.history, args.bookmark_interval)
    cluster.dir = d
    cluster.token = new_token()
    write_atomic(d / "token", cluster.token)
    for ns in ("default", "kube-system"):
        cluster.ensure_namespace(ns, "seed")
    for seed in args.seed:
        load_seed(cluster, seed)

    api_sock, ctl_sock = listen(args.port), listen(args.control_port)
    port, ctl_port = api_sock.getsockname()[1], ctl_sock.getsockname()[1]

    api = API(cluster, lambda: port)
    app = web.Application(middlewares=[api.middleware], client_max_size=64 * 1024 * 1024)
    app.router.add_get("/api", api.api_versions)
    app.router.add_get("/api/", api.api_versions)
    app.router.add_get("/apis", api.api_groups)
    app.router.add_get("/apis/", api.api_groups)
    app.router.add_get("/version", api.version)
    app.router.add_get("/openapi/v3", api.openapi_v3)
    app.router.add_get("/openapi/v3/{tail:.+}", api.openapi_v3_gv)
    for path in ("/healthz", "/readyz", "/livez"):
        app.router.add_get(path, lambda r: web.Response(text="ok"))
    app.router.add_get("/api/{version}", api.resource_list)
    app.router.add_get("/apis/{group}", api.api_group)
    app.router.add_get("/apis/{group}/{version}", api.resource_list)
    app.router.add_route("*", "/api/{version}/{tail:.+}", api.resource)
    app.router.add_route("*", "/apis/{group}/{version}/{tail:.+}", api.resource)

    ctl = Control(cluster, port)
    capp = web.Application(client_max_size=1024 * 1024 * 1024)
    capp.router.add_get("/healthz", ctl.healthz)
    capp.router.add_post("/drop-watches", ctl.drop_watches)
    capp.router.add_post("/compact", ctl.compact)
    capp.router.add_post("/restart", ctl.restart)
    capp.router.add_post("/fault", ctl.fault)
    capp.router.add_post("/clear-faults", ctl.clear_faults)
    capp.router.add_post("/stall", ctl.stall)
    capp.router.add_post("/rotate-token", ctl.rotate_token)
    capp.router.add_post("/expire-continue", ctl.expire_continue)
    capp.router.add_get("/requests", ctl.requests)
    capp.router.add_post("/requests/clear", ctl.clear_requests)
    capp.router.add_post("/objects", ctl.objects)

    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(d / "server.crt", d / "server.key")
    tls.set_alpn_protocols(["http/1.1"])

    runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1)
    crunner = web.AppRunner(capp, access_log=None, shutdown_timeout=1)
    await runner.setup()
    await crunner.setup()
    await web.SockSite(runner, api_sock, ssl_context=tls).start()
    await web.SockSite(crunner, ctl_sock).start()

    (d / "port").write_text(f"{port}\n")
    (d / "control-port").write_text(f"{ctl_port}\n")
    write_atomic(d / "kubeconfig", kubeconfig_text(d, port))
    write_atomic(d / "ready", f"{os.getpid()}\n", 0o644)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    cluster.drop_watches("reset")
    await asyncio.sleep(0)
    await crunner.cleanup()
    await runner.cleanup()
    (d / "ready").unlink(missing_ok=True)


if __name__ == "__main__":
    asyncio.run(main())
