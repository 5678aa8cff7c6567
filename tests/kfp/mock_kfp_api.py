"""A loopback stand-in for the Kubeflow Pipelines REST API (v2beta1), for tests/submit.rs.

It answers as the API server of one KFP backend release does (read from kubeflow/pipelines'
backend source at the tags 2.0.0-2.17.0; docs/kfp-backends.md has the fact sheet):

Usage: python mock_kfp_api.py [--tag-name TAG] [--behave-as VERSION] [--commit-sha SHA]
           [--pipeline-store database|kubernetes] [--multi-user]
           [--token T] [--read-only-token T]
           [--outcome succeeded|failed] [--fail-task TASK] [--stall TASK]
           [--parent-ids] [--cache-rows] [--run-error]
           [--pipeline NAME[=DISPLAY]]... [--experiment NAME[@NAMESPACE]]... [--log FILE]

Versions. --tag-name is what healthz says (default 2.17.0; "unknown" as an untagged build
says); the mock behaves as --behave-as, which defaults to the tag, or to 2.17.0 when the tag
is not a release. Per version:
- GET /apis/v2beta1/healthz, never authenticated: {"commit_sha", "tag_name", "multi_user"},
  plus "pipeline_store" from 2.14 (a hand-written string up to 2.16, json.Marshal on 2.17).
- Errors of the gRPC gateway (every route but healthz and the uploads): up to 2.5
  {"error", "code", "message", "details"} (grpc-gateway v1), from 2.14 {"code", "message",
  "details"} (v2, with a WWW-Authenticate header on 401). "message" is the server's internal
  chain ("Failed to create a new run: ...: Invalid input error: ..."), details[0].message
  the short external message. Internal (non-user) errors are "Internal error: " + Go's %+v
  of the error: the cause, then each wrap's message followed by a Go stack trace.
- Upload routes (pipelines/upload, pipelines/upload_version) answer errors as
  {"error_message", "error_details"}; error_details is Go's %+v: a stack trace for most
  errors (always from 2.15), never fit to show. A duplicate pipeline name is 500 on 2.0.x,
  409 from 2.1.0; an authentication or authorization failure is 400 on both (the text
  names it up to 2.14; from 2.15 it is only "Failed to create a pipeline"). An invalid
  spec is 500 up to 2.16, 400 on 2.17.
- Unknown fields in a JSON body: ignored up to 2.5, 400 "proto: ... unknown field" from 2.14.
- The platform spec (the package's second document) at CreateRun, against the
  kfp-kubernetes proto the backend was built with (K8S_FIELDS): from 2.14 an executor
  config with a field that proto lacks fails CreateRun with HTTP 500 (the compiler's
  strict protojson); on 2.0.0-2.4.0 the run is created and the first task with such a
  field fails at its driver (`<task>-driver` FAILED); 2.4.1-2.5 ignore such fields.

Runs. GET /runs/{id} moves the run one step per GET, as the persistence agent reports
the Argo workflow: no run_details at first, then run_details.task_details with one row per
Argo node: the workflow's node (display_name `<pipeline-name>-<5 chars>`), root-driver, root,
and for each container task `<task>-driver`, `<task>` and its pod `executor`; createpvc and
deletepvc are one node `<task>`. Pods go PENDING, RUNNING, SUCCEEDED; every executor goes
back to PENDING once while running. A row has a random task_id (a UUID, as the server's
task store assigns; the Argo node id of the row itself is never shown), create_time (the
workflow's), start_time, end_time (0001-01-01T00:00:00Z until it ends), state,
state_history, and child_tasks [{"pod_name": <Argo node id>}] as Argo links nodes: the
workflow's node -> root-driver -> root -> the entry tasks; a pod -> the nodes that depend
on it; a task's DAG node -> its executor; an executor -> the next tasks' drivers. Rows come
in task_id order, not in run order. Rows of nodes Argo omits (a task whose dependency
failed: "omitted: depends condition not met") have no state (RUNTIME_STATE_UNSPECIFIED is
not written). A task with cachingOptions.enableCache (or, with --cache-rows, the first two
container tasks) adds a cache row when it succeeds: no display_name, no state, an
execution_id. parent_task_id is never set, as on a real server, unless --parent-ids: then
each row has its enclosing node's task_id (executor -> `<task>`, `<task>`/`<task>-driver`
-> root, root/root-driver -> the workflow's node). The run itself has no "error" on a real
server (toApiRun sets it only when converting the run fails); --run-error adds
{"code": 9, "message": "task <task> failed: ..."} to a failed run.

--outcome failed fails --fail-task (default evaluation-result): its executor and its node
end FAILED; on the next step the tasks after it are omitted, root and the workflow's node
FAILED and the run FAILED. --stall TASK leaves the task's pod (its executor, or the node of
createpvc/deletepvc) PENDING for good and the run RUNNING.

Auth. With --token, every request to /apis/ but healthz needs `Authorization: Bearer T`:
the gateway answers 401 (Unauthenticated, code 16) without it, the upload routes 400.
--read-only-token T is a token that authenticates but may only read: a gateway POST
answers 403 (PermissionDenied, code 7), an upload 400. Paths outside /apis/ get Go's
text/plain "404 page not found".

Also checked, as the server does: an upload is a multipart form whose file field is
`uploadfile`, the first document a kfp PipelineSpec (strictly; schemaVersion 2.1.0; a
valid pipeline name), the second a PlatformSpec; run parameters are declared by the
pipeline version's spec with its types, required ones given; in --multi-user mode an
experiment needs a namespace. The mock's own strictness, beyond the server's: bodies are
checked against kfp_server_api 2.17's models, and listing versions needs
sort_by=created_at desc.

Prints `LISTENING http://127.0.0.1:PORT` once ready. GET /_test/requests lists what it
received (method, path, query, headers, body), healthz included; GET /_test/log and
--log FILE give the same as lines "METHOD PATH" in arrival order.
"""
import argparse
import email.parser
import email.policy
import json
import random
import re
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import kfp_server_api
import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2 as pb
from kfp_server_api import models

API = "/apis/v2beta1"
CLIENT = kfp_server_api.ApiClient()
ZERO_TIME = "0001-01-01T00:00:00Z"  # an unfinished Argo node's end, converted
EPOCH = "1970-01-01T00:00:00Z"  # a run's finished_at before it ends
DUMMY_IMAGES = {"argostub/createpvc", "argostub/deletepvc"}

# gRPC codes
INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED = 3, 5, 6, 7
INTERNAL, UNAUTHENTICATED, UNKNOWN, UNAVAILABLE = 13, 16, 2, 14
HTTP_OF = {INVALID_ARGUMENT: 400, NOT_FOUND: 404, ALREADY_EXISTS: 409, PERMISSION_DENIED: 403,
           INTERNAL: 500, UNAUTHENTICATED: 401, UNKNOWN: 500, UNAVAILABLE: 503}


# --------------------------------------------------------------------------- versions

def parse_version(text):
    m = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?", (text or "").strip())
    if not m:
        return None
    return (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))


def V(text):
    return parse_version(text)


class Backend:
    """What one release does differently."""

    def __init__(self, version):
        self.version = version

    def at_least(self, text):
        return self.version >= V(text)

    @property
    def gateway_v1(self):  # grpc-gateway v1.16 up to 2.5, v2 from 2.14
        return not self.at_least("2.14.0")

    @property
    def rejects_unknown_json(self):  # CustomMarshaler DiscardUnknown: false, 2.14 on
        return self.at_least("2.14.0")

    @property
    def strict_compile(self):  # argocompiler container.go: protojson.Unmarshal, 2.14 on
        return self.at_least("2.14.0")

    @property
    def strict_driver(self):  # driver main.go: golang/protobuf jsonpb, 2.0.0-2.4.0
        return not self.at_least("2.4.1")

    @property
    def terse_uploads(self):  # pipeline_upload_server.go: errors.New("Failed to ..."), 2.15 on
        return self.at_least("2.15.0")


# --------------------------------------------------------------------------- errors

GO = "/go/src/github.com/kubeflow/pipelines/backend/src"
PKG = "github.com/kubeflow/pipelines/backend/src"


def go_stack(*frames):
    """A Go stack trace as github.com/pkg/errors prints it with %+v."""
    base = [("net/http.HandlerFunc.ServeHTTP", "/usr/local/go/src/net/http/server.go:2294"),
            ("net/http.serverHandler.ServeHTTP", "/usr/local/go/src/net/http/server.go:3301"),
            ("net/http.(*conn).serve", "/usr/local/go/src/net/http/server.go:2102"),
            ("runtime.goexit", "/usr/local/go/src/runtime/asm_amd64.s:1700")]
    return "".join(f"\n{fn}\n\t{where}" for fn, where in list(frames) + base)


def upload_stack(new):
    fn, line = ("uploadPipeline", 184) if new else ("uploadPipelineVersion", 339)
    return go_stack(
        (f"{PKG}/apiserver/server.(*PipelineUploadServer).{fn}",
         f"{GO}/apiserver/server/pipeline_upload_server.go:{line}"),
        (f"{PKG}/apiserver/server.(*PipelineUploadServer).{fn[0].upper() + fn[1:]}",
         f"{GO}/apiserver/server/pipeline_upload_server.go:{79 if new else 236}"))


class ApiError(Exception):
    """A gateway error: `message` is the status message (the internal chain), `external`
    the message of its one detail (a UserError's); without it, no details (the gateway's
    own errors: an unknown route, a body it cannot decode)."""

    def __init__(self, code, message, external=None, detail_code=None):
        super().__init__(message)
        self.code, self.message, self.external = code, message, external
        self.detail_code = code if detail_code is None else detail_code

    @property
    def status(self):
        return HTTP_OF[self.code]


def invalid(message, *wraps):
    """util.NewInvalidInputError(message) wrapped by `wraps` (outermost first)."""
    return ApiError(INVALID_ARGUMENT, ": ".join(list(wraps) + [f"Invalid input error: {message}"]),
                    message)


def not_found(kind, ident, *wraps):
    external = f"{kind} {ident} not found"
    return ApiError(NOT_FOUND, ": ".join(list(wraps) + [f"ResourceNotFoundError: {external}"]),
                    external)


def internal(cause, *wraps):
    """A non-user error wrapped with util.Wrap (github.com/pkg/errors) by each of `wraps`,
    innermost first, as ToGRPCError writes it: "Internal error: %+v"."""
    text = cause
    line = 340
    for w in wraps:
        text += f"\n{w}" + go_stack(
            (f"{PKG}/common/util.Wrap", f"{GO}/common/util/error.go:353"),
            (f"{PKG}/apiserver/server.(*RunServer).CreateRun", f"{GO}/apiserver/server/run_server.go:{line}"))
        line += 7
    message = f"Internal error: {text}"
    return ApiError(INTERNAL, message, message, UNKNOWN)


class UploadError(Exception):
    def __init__(self, status, message, details=None):
        super().__init__(message)
        self.status, self.message = status, message
        self.details = message if details is None else details


class PlainError(Exception):
    def __init__(self, status, text):
        super().__init__(text)
        self.status, self.text = status, text


# --------------------------------------------------------------------------- platform spec

# KubernetesExecutorConfig and its messages (JSON names): field -> (type, first backend
# whose compiled-in kfp-kubernetes proto has it). Read from kubernetes_executor_config.proto
# at the commit each backend's go.mod pins (2.0.x bd9f74e34de6, 2.1.x 19a24e3e99db,
# 2.2.x 8b2a099e8c9f, 2.3.0-2.4.1 d911c8b73b49) and at the tags from 2.5.0 (replace =>
# ./kubernetes_platform).
IPS = "InputParameterSpec"
K8S_FIELDS = {
    "KubernetesExecutorConfig": {
        "secretAsVolume": ("SecretAsVolume", "2.0.0"), "secretAsEnv": ("SecretAsEnv", "2.0.0"),
        "pvcMount": ("PvcMount", "2.0.0"), "nodeSelector": ("NodeSelector", "2.0.0"),
        "podMetadata": ("PodMetadata", "2.1.0"), "imagePullSecret": ("ImagePullSecret", "2.1.0"),
        "imagePullPolicy": ("string", "2.1.0"), "configMapAsVolume": ("ConfigMapAsVolume", "2.1.0"),
        "configMapAsEnv": ("ConfigMapAsEnv", "2.1.0"), "activeDeadlineSeconds": ("int64", "2.1.0"),
        "fieldPathAsEnv": ("FieldPathAsEnv", "2.1.0"), "tolerations": ("Toleration", "2.1.0"),
        "genericEphemeralVolume": ("GenericEphemeralVolume", "2.2.0"),
        "nodeAffinity": ("NodeAffinityTerm", "2.2.0"), "podAffinity": ("PodAffinityTerm", "2.2.0"),
        "enabledSharedMemory": ("EnabledSharedMemory", "2.3.0"),
        "emptyDirMounts": ("EmptyDirMount", "2.3.0"),
        "securityContext": ("SecurityContext", "2.16.0")},
    "ConfigMapAsEnv": {"configMapName": ("string", "2.1.0"),
                       "keyToEnv": ("ConfigMapAsEnv.ConfigMapKeyToEnvMap", "2.1.0"),
                       "configMapNameParameter": (IPS, "2.5.0"), "optional": ("bool", "2.15.0")},
    "ConfigMapAsEnv.ConfigMapKeyToEnvMap": {"configMapKey": ("string", "2.1.0"),
                                            "envVar": ("string", "2.1.0")},
    "ConfigMapAsVolume": {"configMapName": ("string", "2.1.0"), "mountPath": ("string", "2.1.0"),
                          "optional": ("bool", "2.2.0"), "configMapNameParameter": (IPS, "2.5.0")},
    "EmptyDirMount": {"volumeName": ("string", "2.3.0"), "mountPath": ("string", "2.3.0"),
                      "medium": ("string", "2.3.0"), "sizeLimit": ("string", "2.3.0")},
    "EnabledSharedMemory": {"volumeName": ("string", "2.3.0"), "size": ("string", "2.3.0")},
    "FieldPathAsEnv": {"name": ("string", "2.1.0"), "fieldPath": ("string", "2.1.0")},
    "GenericEphemeralVolume": {
        "volumeName": ("string", "2.2.0"), "mountPath": ("string", "2.2.0"),
        "accessModes": ("string", "2.2.0"), "size": ("string", "2.2.0"),
        "defaultStorageClass": ("bool", "2.2.0"), "storageClassName": ("string", "2.2.0"),
        "metadata": ("PodMetadata", "2.2.0")},
    "ImagePullSecret": {"secretName": ("string", "2.1.0"), "secretNameParameter": (IPS, "2.5.0")},
    "NodeAffinityTerm": {"matchExpressions": ("SelectorRequirement", "2.2.0"),
                         "matchFields": ("SelectorRequirement", "2.2.0"),
                         "weight": ("int64", "2.2.0"), "nodeAffinityJson": (IPS, "2.14.0")},
    "NodeSelector": {"labels": ("map", "2.0.0"), "nodeSelectorJson": (IPS, "2.5.0")},
    "PodAffinityTerm": {
        "matchPodExpressions": ("SelectorRequirement", "2.2.0"), "matchPodLabels": ("map", "2.2.0"),
        "topologyKey": ("string", "2.2.0"), "namespaces": ("string", "2.2.0"),
        "matchNamespaceExpressions": ("SelectorRequirement", "2.2.0"),
        "matchNamespaceLabels": ("map", "2.2.0"), "weight": ("int64", "2.2.0"),
        "anti": ("bool", "2.2.0")},
    "PodMetadata": {"labels": ("map", "2.1.0"), "annotations": ("map", "2.1.0")},
    "PvcMount": {"taskOutputParameter": ("TaskOutputParameterSpec", "2.0.0"),
                 "constant": ("string", "2.0.0"), "componentInputParameter": ("string", "2.0.0"),
                 "mountPath": ("string", "2.0.0"), "pvcNameParameter": (IPS, "2.5.0"),
                 "subPath": ("string", "2.16.0")},
    "SecretAsEnv": {"secretName": ("string", "2.0.0"),
                    "keyToEnv": ("SecretAsEnv.SecretKeyToEnvMap", "2.0.0"),
                    "secretNameParameter": (IPS, "2.5.0"), "optional": ("bool", "2.15.0")},
    "SecretAsEnv.SecretKeyToEnvMap": {"secretKey": ("string", "2.0.0"), "envVar": ("string", "2.0.0")},
    "SecretAsVolume": {"secretName": ("string", "2.0.0"), "mountPath": ("string", "2.0.0"),
                       "optional": ("bool", "2.2.0"), "secretNameParameter": (IPS, "2.5.0")},
    "SecurityContext": {"runAsUser": ("int64", "2.16.0"), "runAsGroup": ("int64", "2.16.0"),
                        "runAsNonRoot": ("bool", "2.16.0")},
    "SelectorRequirement": {"key": ("string", "2.2.0"), "operator": ("string", "2.2.0"),
                            "values": ("string", "2.2.0")},
    "TaskOutputParameterSpec": {"producerTask": ("string", "2.0.0"),
                                "outputParameterKey": ("string", "2.0.0")},
    "Toleration": {"key": ("string", "2.1.0"), "operator": ("string", "2.1.0"),
                   "value": ("string", "2.1.0"), "effect": ("string", "2.1.0"),
                   "tolerationSeconds": ("int64", "2.1.0"), "tolerationJson": (IPS, "2.5.0")},
}


def camel(name):
    """protojson and jsonpb accept a field's proto name as well as its JSON name."""
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), name)


def compact(obj):
    """How the compiler stores an executor's config (stablyMarshalJSON: sorted, compact)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def offset_of(obj, path):
    """The offset of the key at `path` in compact(obj)."""
    out = []

    def emit(o, p):
        hit = None
        if isinstance(o, dict):
            out.append("{")
            for i, k in enumerate(sorted(o)):
                if i:
                    out.append(",")
                if p and p[0] == k and len(p) == 1:
                    hit = sum(map(len, out))
                out.append(json.dumps(k) + ":")
                h = emit(o[k], p[1:] if p and p[0] == k else None)
                hit = hit if hit is not None else h
            out.append("}")
        elif isinstance(o, list):
            out.append("[")
            for i, v in enumerate(o):
                if i:
                    out.append(",")
                h = emit(v, p[1:] if p and p[0] == i else None)
                hit = hit if hit is not None else h
            out.append("]")
        else:
            out.append(json.dumps(o))
        return hit

    return emit(obj, list(path)) or 0


def first_unknown(cfg, version):
    """The first field of an executor's config (in protojson's reading order: the stored,
    sorted JSON) that backend `version`'s proto lacks: (path, key, message), or None."""

    def walk(obj, msg, path):
        fields = K8S_FIELDS.get(msg)
        if fields is None or not isinstance(obj, dict):
            return None
        for key in sorted(obj):
            spec = fields.get(camel(key))
            if spec is None or V(spec[1]) > version:
                return path + [key], key, msg
            kind = spec[0]
            if kind in K8S_FIELDS:
                value = obj[key]
                items = value if isinstance(value, list) else [value]
                for i, item in enumerate(items):
                    sub = path + [key] + ([i] if isinstance(value, list) else [])
                    found = walk(item, kind, sub)
                    if found:
                        return found
        return None

    return walk(cfg, "KubernetesExecutorConfig", [])


def executor_configs(spec, platform):
    """task name -> its executor's Kubernetes config (task -> component -> executorLabel)."""
    executors = (((platform or {}).get("platforms") or {}).get("kubernetes") or {}) \
        .get("deploymentSpec", {}).get("executors", {}) or {}
    out = {}
    for name, task in spec.get("root", {}).get("dag", {}).get("tasks", {}).items():
        comp = spec.get("components", {}).get(task.get("componentRef", {}).get("name", ""), {})
        label = comp.get("executorLabel")
        if label in executors:
            out[name] = executors[label]
    return out


def is_dummy(spec, task_name):
    task = spec["root"]["dag"]["tasks"][task_name]
    comp = spec.get("components", {}).get(task.get("componentRef", {}).get("name", ""), {})
    ex = spec.get("deploymentSpec", {}).get("executors", {}).get(comp.get("executorLabel", ""), {})
    return ex.get("container", {}).get("image") in DUMMY_IMAGES


# --------------------------------------------------------------------------- helpers

def ts(seconds):
    return datetime.fromtimestamp(int(seconds), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_fields(body, model, where, backend):
    """Only fields the model has, nested models too: 2.14 on the gateway's protojson
    decoding refuses unknown fields; grpc-gateway v1 (up to 2.5) drops them."""
    if not isinstance(body, dict):
        raise ApiError(INVALID_ARGUMENT, f"proto: syntax error (line 1:1): {where}: expected an object")
    for key, value in body.items():
        if key not in model.attribute_map:
            if backend.rejects_unknown_json:
                raise ApiError(INVALID_ARGUMENT,
                               f"proto: (line 1:{offset_of(body, [key]) + 1}): unknown field \"{key}\"")
            continue
        kind = model.openapi_types[key]
        nested = getattr(models, kind, None)
        if nested is not None and hasattr(nested, "attribute_map") and value is not None:
            check_fields(value, nested, f"{where}.{key}", backend)


def strip_unknown(body, model):
    if not isinstance(body, dict):
        return body
    out = {}
    for key, value in body.items():
        if key in model.attribute_map:
            nested = getattr(models, model.openapi_types[key], None)
            out[key] = strip_unknown(value, nested) if nested is not None and \
                hasattr(nested, "attribute_map") else value
    return out


def out(model):
    return CLIENT.sanitize_for_serialization(model)


def fnv32a(text):
    h = 0x811C9DC5
    for b in text.encode():
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


PHASE_STATE = {"Pending": "PENDING", "Running": "RUNNING", "Succeeded": "SUCCEEDED",
               "Skipped": "SKIPPED", "Failed": "FAILED", "Error": "FAILED", "Omitted": None}
FULFILLED = {"Succeeded", "Failed", "Error", "Skipped", "Omitted"}


# --------------------------------------------------------------------------- the workflow

class Node:
    def __init__(self, wf, name, display, kind, parent):
        self.name, self.display, self.kind, self.parent = name, display, kind, parent
        self.id = wf if name == wf else f"{wf}-{fnv32a(name)}"
        self.task_id = str(uuid.uuid4())
        self.phase = None
        self.children = []
        self.started = self.finished = None
        self.history = []


class Workflow:
    """The Argo workflow of one run, as a script of steps (one per GET of the run): the
    nodes Argo creates and the phases they pass through, for the pipeline's root DAG."""

    def __init__(self, spec, platform, backend, args, created):
        self.args = args
        self.created = created
        self.backend = backend
        suffix = "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        self.name = f"{spec.get('pipelineInfo', {}).get('name', 'pipeline')}-{suffix}"
        self.nodes = {}
        self.cache_rows = []
        self.steps = [[]]  # step 0: the persistence agent has not reported yet
        self.applied = 0
        self.error = None
        self.build(spec, platform)

    # ---- the script
    def op(self, *o):
        self.steps[-1].append(o)

    def step(self):
        self.steps.append([])

    def build(self, spec, platform):
        args, wf = self.args, self.name
        order = task_order(spec)
        tasks = spec.get("root", {}).get("dag", {}).get("tasks", {})
        configs = executor_configs(spec, platform)
        driver_fails = None
        if self.backend.strict_driver:
            for t in order:
                if t in configs and not is_dummy(spec, t):
                    found = first_unknown(configs[t], self.backend.version)
                    if found:
                        driver_fails = (t, found)
                        break
        fail = args.fail_task if args.outcome == "failed" else None
        forced_cache = set([t for t in order if not is_dummy(spec, t)][:2]) if args.cache_rows else set()

        root = f"{wf}.root"
        self.step()
        self.op("run", "RUNNING")
        self.op("node", wf, wf, "DAG", "Running", None, [])
        self.op("node", f"{wf}.root-driver", "root-driver", "Pod", "Pending", wf, [wf])
        self.step()
        self.op("phase", f"{wf}.root-driver", "Running")
        self.step()
        self.op("phase", f"{wf}.root-driver", "Succeeded")
        self.op("node", root, "root", "DAG", "Running", wf, [f"{wf}.root-driver"])
        outbound = {}

        def links(t):
            deps = [d for d in tasks[t].get("dependentTasks", []) if d in tasks]
            return [outbound[d] for d in deps] if deps else [root]

        def omit_rest(after):
            for u in order[order.index(after) + 1:]:
                if is_dummy(spec, u):
                    self.op("node", f"{root}.{u}", u, "Skipped", "Omitted", root, links(u))
                else:
                    self.op("node", f"{root}.{u}-driver", f"{u}-driver", "Skipped", "Omitted",
                            root, links(u))
                    self.op("node", f"{root}.{u}", u, "Skipped", "Omitted", root,
                            [f"{root}.{u}-driver"])
                outbound[u] = f"{root}.{u}"
            self.op("phase", root, "Failed")
            self.op("phase", wf, "Failed")
            self.op("run", "FAILED")

        for t in order:
            cached = tasks[t].get("cachingOptions", {}).get("enableCache") or t in forced_cache
            node = f"{root}.{t}"
            if is_dummy(spec, t):
                self.op("node", node, t, "Pod", "Pending", root, links(t))
                if t == args.stall:
                    return
                self.step()
                self.op("phase", node, "Running")
                self.step()
                if t == fail:
                    self.op("phase", node, "Failed")
                    self.op("fail", t, "exit status 1")
                    self.step()
                    omit_rest(t)
                    return
                self.op("phase", node, "Succeeded")
                if cached and self.backend.at_least("2.14.0"):
                    self.op("cache", node)
                outbound[t] = node
                continue
            driver, executor = f"{node}-driver", f"{node}.executor"
            self.op("node", driver, f"{t}-driver", "Pod", "Pending", root, links(t))
            self.step()
            self.op("phase", driver, "Running")
            self.step()
            if driver_fails and driver_fails[0] == t:
                path, key, msg = driver_fails[1]
                self.op("phase", driver, "Failed")
                self.op("fail", t, "failed to unmarshal Kubernetes config, error: "
                        f"unknown field \"{key}\" in kfp_kubernetes.{msg.split('.')[-1]}")
                self.step()
                self.op("node", node, t, "Skipped", "Omitted", root, [driver])
                outbound[t] = node
                omit_rest(t)
                return
            self.op("phase", driver, "Succeeded")
            self.op("node", node, t, "DAG", "Running", root, [driver])
            self.op("node", executor, "executor", "Pod", "Pending", node, [node])
            if t == args.stall:
                return
            for phase in ("Running", "Pending", "Running"):
                self.step()
                self.op("phase", executor, phase)
            self.step()
            if t == fail:
                self.op("phase", executor, "Failed")
                self.op("phase", node, "Failed")
                self.op("fail", t, "exit status 1")
                outbound[t] = executor
                self.step()
                omit_rest(t)
                return
            self.op("phase", executor, "Succeeded")
            self.op("phase", node, "Succeeded")
            if cached:
                self.op("cache", executor)
            outbound[t] = executor
        self.op("phase", root, "Succeeded")
        self.op("phase", wf, "Succeeded")
        self.op("run", "SUCCEEDED")

    # ---- playing it
    def advance(self, run, now):
        """Applies the next step (none once the script is played)."""
        if self.applied >= len(self.steps):
            return
        for o in self.steps[self.applied]:
            kind = o[0]
            if kind == "run":
                run["state"] = o[1]
                run["state_history"].append({"update_time": ts(now), "state": o[1]})
                if o[1] in ("SUCCEEDED", "FAILED"):
                    run["finished_at"] = ts(now)
                    if o[1] == "FAILED" and self.error and self.args.run_error:
                        run["error"] = self.error
            elif kind == "node":
                _, name, display, nkind, phase, parent, link_from = o
                n = Node(self.name, name, display, nkind, parent)
                self.nodes[name] = n
                n.started = now
                self.set_phase(n, phase, now)
                for src in link_from:
                    self.nodes[src].children.append(n.id)
            elif kind == "phase":
                self.set_phase(self.nodes[o[1]], o[2], now)
            elif kind == "cache":
                n = self.nodes[o[1]]
                self.cache_rows.append({"task_id": str(uuid.uuid4()),
                                        "execution_id": str(17 + 3 * len(self.cache_rows)),
                                        "create_time": ts(n.started), "start_time": ts(n.started),
                                        "end_time": ts(now)})
            elif kind == "fail":
                self.error = {"code": 9, "message": f"task {o[1]} failed: {o[2]}", "details": []}
        self.applied += 1

    def set_phase(self, n, phase, now):
        n.phase = phase
        if phase in FULFILLED:
            n.finished = now
        elif phase == "Pending" or phase == "Running":
            n.finished = None
        state = PHASE_STATE.get(phase)
        if not n.history or n.history[-1].get("state") != state:
            entry = {"update_time": ts(now)}
            if state:
                entry["state"] = state
            n.history.append(entry)

    def rows(self, run_id):
        by_name = self.nodes
        rows = []
        for n in by_name.values():
            row = {"run_id": run_id, "task_id": n.task_id, "display_name": n.display,
                   "create_time": ts(self.created), "start_time": ts(n.started),
                   "end_time": ts(n.finished) if n.finished is not None else ZERO_TIME}
            state = PHASE_STATE.get(n.phase)
            if state:
                row["state"] = state
            row["state_history"] = list(n.history)
            if n.children:
                row["child_tasks"] = [{"pod_name": c} for c in n.children]
            if self.args.parent_ids and n.parent:
                row["parent_task_id"] = by_name[n.parent].task_id
            rows.append(row)
        for c in self.cache_rows:
            rows.append({"run_id": run_id, **c})
        rows.sort(key=lambda r: r["task_id"])  # the store's order, not the run's
        return rows


def task_order(spec):
    tasks = spec.get("root", {}).get("dag", {}).get("tasks", {})
    done, order = set(), []
    while len(order) < len(tasks):
        ready = sorted(n for n, t in tasks.items() if n not in done
                       and all(d in done or d not in tasks for d in t.get("dependentTasks", [])))
        if not ready:
            break
        order += ready[:1]
        done.update(ready[:1])
    return order


# --------------------------------------------------------------------------- state

class State:
    def __init__(self, args, backend):
        self.args = args
        self.backend = backend
        self.lock = threading.Lock()
        self.requests = []
        self.log = []
        self.pipelines = {}  # id -> dict(name, display_name, namespace, created_at)
        self.versions = {}  # id -> dict(model fields, spec, platform)
        self.experiments = {}  # id -> V2beta1Experiment
        self.runs = {}  # id -> dict(body, workflow, polls)
        for entry in args.pipeline:
            name, _, display = entry.partition("=")
            p = self.add_pipeline(name, display or name, None)
            self.add_version(p["pipeline_id"], name, name,
                             {"pipelineInfo": {"name": name}, "root": {"inputDefinitions": {}},
                              "schemaVersion": "2.1.0"}, None)
        for entry in args.experiment:
            name, _, ns = entry.partition("@")
            e = models.V2beta1Experiment(experiment_id=str(uuid.uuid4()), display_name=name,
                                         namespace=ns or None, created_at=ts(time.time()),
                                         storage_state="AVAILABLE")
            self.experiments[e.experiment_id] = e
        if args.log:
            open(args.log, "w").close()

    def add_pipeline(self, name, display, namespace):
        p = {"pipeline_id": str(uuid.uuid4()), "name": name, "display_name": display,
             "created_at": ts(time.time())}
        if namespace:
            p["namespace"] = namespace
        self.pipelines[p["pipeline_id"]] = p
        return p

    def add_version(self, pipeline_id, name, display, spec, platform):
        v = {"pipeline_id": pipeline_id, "pipeline_version_id": str(uuid.uuid4()),
             "name": name, "display_name": display, "created_at": ts(time.time()),
             "_seq": len(self.versions)}
        self.versions[v["pipeline_version_id"]] = {"version": v, "spec": spec, "platform": platform}
        return v

    def version_view(self, entry):
        v = {k: val for k, val in entry["version"].items() if not k.startswith("_")}
        if entry["platform"] is not None:
            v["pipeline_spec"] = {"pipeline_spec": entry["spec"], "platform_spec": entry["platform"]}
        else:
            v["pipeline_spec"] = entry["spec"]
        return v

    def record(self, method, path):
        line = f"{method} {path}"
        self.log.append(line)
        if self.args.log:
            with open(self.args.log, "a") as f:
                f.write(line + "\n")


def parse_filter(query):
    text = query.get("filter", [""])[0]
    if not text:
        return None
    f = json.loads(text)
    for p in f.get("predicates", []):
        if p.get("operation") != "EQUALS" or p.get("key") != "display_name":
            raise invalid(f"unsupported filter {p}")
        return p.get("stringValue", p.get("string_value"))
    return None


# --------------------------------------------------------------------------- uploads

NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def go_proto_error(err, doc):
    """Python protobuf's message as Go's protojson words it."""
    text = str(err).split("\n")[0]
    m = re.search(r'no field named "([^"]+)"', text)
    if m:
        key = m.group(1)
        where = compact(doc).find(json.dumps(key) + ":")
        return f"proto: (line 1:{max(where, 0) + 1}): unknown field \"{key}\""
    return f"proto: {text}"


def read_package(handler, body):
    """The multipart form's `uploadfile` (data, file name), or (None, "")."""
    ctype = handler.headers.get("Content-Type", "")
    data = None
    if ctype.startswith("multipart/form-data"):
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
        for part in msg.iter_parts():
            if part.get_param("name", header="content-disposition") == "uploadfile":
                data = part.get_payload(decode=True)
                filename = part.get_filename() or ""
                break
    if data is None:
        return None, ""
    return data, filename


def parse_package(data):
    """(spec, platform) or raises ValueError(external message) as template.New does."""
    try:
        docs = [d for d in yaml.safe_load_all(data) if d is not None]
    except yaml.YAMLError as e:
        raise ValueError(f"unable to decode yaml document: {e}")
    spec = platform = None
    for doc in docs:
        if not isinstance(doc, dict):
            raise ValueError("unknown template format")
        if "platforms" in doc:
            if platform is not None:
                raise ValueError("multiple platform specs provided")
            try:
                json_format.ParseDict(doc, pb.PlatformSpec(), ignore_unknown_fields=False)
            except Exception as e:
                raise ValueError(f"cannot unmarshal platform specific configs: {go_proto_error(e, doc)}")
            platform = doc
        else:
            if spec is not None:
                raise ValueError("multiple pipeline specs provided")
            try:
                json_format.ParseDict(doc, pb.PipelineSpec(), ignore_unknown_fields=False)
            except Exception as e:
                raise ValueError(f"invalid v2 pipeline spec: {go_proto_error(e, doc)}")
            if doc.get("schemaVersion") != "2.1.0":
                raise ValueError("KFP only supports schema version 2.1.0, but the pipeline spec "
                                 f"has version {doc.get('schemaVersion', '')}")
            name = doc.get("pipelineInfo", {}).get("name", "")
            if not name:
                raise ValueError("invalid v2 pipeline spec: name is empty")
            if not NAME_RE.match(name):
                raise ValueError("invalid v2 pipeline spec: name should consist of lower case "
                                 "alphanumeric characters, '-' or '.', and must start and end "
                                 "with an alphanumeric character")
            if not doc.get("root"):
                raise ValueError("invalid v2 pipeline spec: root component is empty")
            spec = doc
    if spec is None:
        raise ValueError("no pipeline spec is provided")
    return spec, platform


# --------------------------------------------------------------------------- runs

PY_TYPES = {"STRING": str, "NUMBER_INTEGER": (int, float), "NUMBER_DOUBLE": (int, float),
            "BOOLEAN": bool, "STRUCT": dict, "LIST": list}
TYPE_WORDS = {"STRING": "string", "NUMBER_INTEGER": "double or integer",
              "NUMBER_DOUBLE": "double or integer", "BOOLEAN": "bool", "STRUCT": "struct",
              "LIST": "list"}
RUN_WRAPS = ("Failed to create a new run", "Failed to generate the ExecutionSpec")


def check_parameters(spec, params):
    """validatePipelineJobInputs (v2_template.go) with its messages."""
    declared = spec.get("root", {}).get("inputDefinitions", {}).get("parameters", {}) or {}
    wraps = RUN_WRAPS + ("invalid pipeline job inputs",)
    for name in sorted(declared):
        d = declared[name]
        if name not in params:
            if not d.get("isOptional") and "defaultValue" not in d:
                raise invalid(f"parameter {name} is not optional, yet has neither default value "
                              "nor user provided value", *wraps)
            continue
        kind = d.get("parameterType", "STRING")
        value = params[name]
        if not isinstance(value, PY_TYPES.get(kind, object)) or (kind != "BOOLEAN" and isinstance(value, bool)):
            words = TYPE_WORDS.get(kind, "unknown")
            got = {"string": "string", "double or integer": "number", "bool": "bool",
                   "struct": "struct", "list": "list"}.get(words, words)
            raise invalid(f"input parameter {name} requires type {words}, but the input parameter "
                          f"is not of {got} value type", *wraps)
    extra = sorted(n for n in params if n not in declared)
    if extra:
        raise invalid(f"parameter(s) provided are not required by pipeline: {', '.join(extra)}",
                      *wraps)


def compile_check(spec, platform, backend):
    """The Argo compiler of 2.14 on: tasks in name order, each container task's config
    parsed strictly (dummy-image tasks are not)."""
    configs = executor_configs(spec, platform)
    for t in sorted(configs):
        if is_dummy(spec, t):
            continue
        found = first_unknown(configs[t], backend.version)
        if found:
            path, key, _ = found
            col = offset_of(configs[t], path) + 1
            raise internal(
                f"compiling DAG \"root\": compiling task \"{t}\": error creating executor for "
                f"\"{t}\": failed to unmarshal kubernetes config: proto: (line 1:{col}): unknown "
                f"field \"{key}\"",
                "Failed to compile job", "Failed to generate the ExecutionSpec",
                "Failed to create a new run")


# --------------------------------------------------------------------------- HTTP

def make_handler(state):
    args, backend = state.args, state.backend

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def send(self, status, data, ctype="application/json", headers=()):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def reply(self, status, body):
            self.send(status, json.dumps(body).encode())

        def gateway_error(self, e):
            details = [] if e.external is None else [
                {"@type": "type.googleapis.com/google.rpc.Status", "code": e.detail_code,
                 "message": e.external}]
            body = {"code": e.code, "message": e.message, "details": details}
            headers = []
            if backend.gateway_v1:
                body = {"error": e.message, **body}
            elif e.code == UNAUTHENTICATED:
                headers.append(("WWW-Authenticate", e.message.replace("\n", " ")))
            self.send(e.status, json.dumps(body).encode(), headers=headers)

        def handle_any(self, method):
            url = urlparse(self.path)
            query = parse_qs(url.query)
            length = int(self.headers.get("Content-Length", 0) or 0)
            body = self.rfile.read(length) if length else b""
            if url.path == "/_test/requests":
                with state.lock:
                    return self.reply(200, state.requests)
            if url.path == "/_test/log":
                with state.lock:
                    return self.send(200, "".join(l + "\n" for l in state.log).encode(),
                                     "text/plain; charset=utf-8")
            record = {"method": method, "path": url.path, "query": query,
                      "headers": {k.lower(): v for k, v in self.headers.items()}}
            if body and self.headers.get("Content-Type", "").startswith("application/json"):
                try:
                    record["body"] = json.loads(body)
                except ValueError:
                    record["body"] = body.decode(errors="replace")
            with state.lock:
                state.requests.append(record)
                state.record(method, url.path)
            try:
                if url.path == f"{API}/healthz" and method == "GET":
                    return self.healthz()
                if not url.path.startswith("/apis/"):
                    raise PlainError(404, "404 page not found\n")
                if url.path in (f"{API}/pipelines/upload", f"{API}/pipelines/upload_version") \
                        and method == "POST":
                    with state.lock:
                        status, answer = self.upload(url.path.rsplit("/", 1)[1], query, body)
                    return self.reply(status, answer)
                if not url.path.startswith(API + "/"):
                    raise ApiError(NOT_FOUND, "Not Found")
                self.authenticate(method, url.path[len(API):], query)
                with state.lock:
                    status, answer = self.route(method, url.path[len(API):], query, body)
                self.reply(status, answer)
            except ApiError as e:
                self.gateway_error(e)
            except UploadError as e:
                self.send(e.status, json.dumps({"error_message": e.message,
                                                "error_details": e.details}).encode())
            except PlainError as e:
                self.send(e.status, e.text.encode(), "text/plain; charset=utf-8")

        # ---- healthz (main.go: its own handler, no auth)
        def healthz(self):
            tag = args.tag_name
            multi = "true" if args.multi_user else "false"
            if backend.at_least("2.17.0"):
                body = {"commit_sha": args.commit_sha, "tag_name": tag,
                        "multi_user": args.multi_user, "pipeline_store": args.pipeline_store}
                return self.send(200, json.dumps(body, separators=(",", ":")).encode())
            text = f'{{"commit_sha":"{args.commit_sha}", "tag_name":"{tag}", "multi_user":{multi}'
            if backend.at_least("2.14.0"):
                text += f', "pipeline_store": "{args.pipeline_store}"'
            self.send(200, (text + "}").encode())

        # ---- auth
        def credential(self):
            """None when fine, else 'missing', 'wrong' or 'read-only'."""
            if args.token is None and args.read_only_token is None:
                return None
            auth = self.headers.get("Authorization")
            if args.token is not None and auth == f"Bearer {args.token}":
                return None
            if args.read_only_token is not None and auth == f"Bearer {args.read_only_token}":
                return "read-only"
            return "missing" if not auth else "wrong"

        def auth_error(self, what, wrap):
            if what == "read-only":
                external = ("User 'system:serviceaccount:kubeflow-user:default-editor' is not "
                            "authorized with reason:  (request: &ResourceAttributes{Namespace:"
                            "kubeflow-user,Verb:create,Group:pipelines.kubeflow.org,Version:"
                            "v1beta1,Resource:,Subresource:,Name:,})")
                return ApiError(PERMISSION_DENIED,
                                f"{wrap}: PermissionDenied: {external}: Unauthorized access",
                                external)
            external = "Failed to check authorization. User identity is empty in the request header"
            header = "Request header error: there is no user identity header."
            cause = header if what == "missing" else \
                f"[{header}, Authentication failure: Failed to authenticate token review]"
            return ApiError(UNAUTHENTICATED, f"{wrap}: Unauthenticated: {external}: {cause}", external)

        def authenticate(self, method, path, query):
            what = self.credential()
            if what is None or (what == "read-only" and method == "GET"):
                return
            ns = query.get("namespace", [""])[0]
            parts = [p for p in path.split("/") if p]
            if method == "GET" and parts == ["pipelines"]:
                wrap = (f"Failed to list pipelines in namespace {ns}. Check error stack: Failed to "
                        "list pipelines due to authorization error. Check if you have read "
                        f"permission to namespace {ns}")
            elif method == "GET" and parts[:1] == ["pipelines"]:
                wrap = (f"Failed to list pipeline versions for pipeline {parts[1]}: Failed to list "
                        "pipeline versions due to authorization error. Check if you have read "
                        f"permission to namespace {ns}")
            elif parts == ["experiments"]:
                wrap = ("List experiments failed" if method == "GET" else
                        "Failed to create a experiment: Failed to authorize the request")
                wrap += ": Failed to authorize with API"
            elif method == "POST" and parts == ["runs"]:
                wrap = ("Failed to create a new run: Failed to create a run due to authorization "
                        "error. Check if you have write permissions to namespace")
            elif parts[:1] == ["runs"]:
                wrap = "Failed to get a run: Failed to authorize the request"
            else:
                wrap = "Failed to authorize with API"
            raise self.auth_error(what, wrap)

        # ---- uploads (pipeline_upload_server.go: errors of their own)
        def upload(self, which, query, body):
            new = which == "upload"
            terse = backend.terse_uploads
            stack = upload_stack(new)

            def fail(status, short, wrap, cause=None, user=False):
                """util.Wrap(err, wrap) up to 2.14 (a UserError's %+v is its message; any
                other error's has a stack), errors.New(short) from 2.15."""
                if terse:
                    raise UploadError(status, short, short + stack)
                message = wrap if cause is None else f"{wrap}: {cause}"
                raise UploadError(status, message, message if user else message + stack)

            data, filename = read_package(self, body)
            if data is None:
                cause = "http: no such file"
                if new:
                    fail(400, "Failed to read pipeline from file", "Failed to read pipeline from file", cause)
                fail(400, "Failed to create a pipeline version",
                     "Failed to create a pipeline version due to error parsing pipeline spec filename", cause)
            pid = query.get("pipelineid", [""])[0]
            if not new:
                if not pid:
                    fail(400, "Failed to create a pipeline version",
                         "Failed to create a pipeline version due to error reading pipeline id")
                if pid not in state.pipelines:
                    fail(400, "Failed to create a pipeline version",
                         "Failed to create a pipeline version due to error reading namespace",
                         f"ResourceNotFoundError: Pipeline {pid} not found", user=True)
            what = self.credential()
            if what is not None:
                e = self.auth_error(what, "Authorization Failure")
                if new:
                    fail(400, "Failed to create a pipeline",
                         "Failed to create a pipeline due to authorization error", e.message, user=True)
                fail(400, "Failed to create a pipeline version",
                     "Failed to create a pipeline version due to authorization error", e.message, user=True)
            name = query.get("name", [""])[0] or query.get("display_name", [""])[0] or \
                filename.rsplit(".", 1)[0] or filename
            display = query.get("display_name", [""])[0] or name
            ns = query.get("namespace", [""])[0] or None
            if not args.multi_user:
                ns = None
            try:
                spec, platform = parse_package(data)
            except ValueError as e:
                external = str(e)
                if backend.at_least("2.17.0"):
                    raise UploadError(400, external, external + stack)
                base = "Failed to create a pipeline and a pipeline version" if new else \
                    "Failed to create a pipeline version"
                fail(500, base, base,
                     f"{base} due to template creation error: InvalidInputError: {external}: "
                     f"{'platform' if 'platform' in external else 'pipeline'} spec is invalid",
                     user=True)
            if new:
                if any(p["name"] == name and p.get("namespace") == ns for p in state.pipelines.values()):
                    store = (f"Already exist error: Failed to create a new pipeline. The name {name} "
                             "already exists. Please specify a new name")
                    chain = f"Failed to create a pipeline and a pipeline version: {store}"
                    if not backend.at_least("2.1.0"):
                        fail(500, "Failed to create a pipeline and a pipeline version",
                             "Failed to create a pipeline and a pipeline version", chain, user=True)
                    fail(409, "Failed to create a pipeline and a pipeline version",
                         "Failed to create a pipeline and a pipeline version. The pipeline already exists.",
                         chain, user=True)
                p = state.add_pipeline(name, display, ns)
                state.add_version(p["pipeline_id"], name, display, spec, platform)
                return 200, p
            if any(e["version"]["pipeline_id"] == pid and e["version"]["name"] == name
                   for e in state.versions.values()):
                store = (f"Already exist error: Failed to create a new pipeline version. The name "
                         f"{name} already exist. Please specify a new name")
                chain = f"Failed to create a pipeline version: {store}"
                if not backend.at_least("2.1.0"):
                    fail(500, "Failed to create a pipeline version",
                         "Failed to create a pipeline version", chain, user=True)
                fail(409, "Failed to create a pipeline version",
                     "Failed to create a pipeline version. The pipeline already exists.", chain, user=True)
            v = state.add_version(pid, name, display, spec, platform)
            return 200, state.version_view(state.versions[v["pipeline_version_id"]])

        # ---- the gateway's routes
        def route(self, method, path, query, body):
            parts = [p for p in path.split("/") if p]
            if method == "GET" and parts == ["pipelines"]:
                name = parse_filter(query)
                found = [p for p in state.pipelines.values()
                         if name is None or p["display_name"] == name]
                return 200, ({"pipelines": found, "total_size": len(found)} if found else {})
            if method == "GET" and len(parts) == 3 and parts[0] == "pipelines" \
                    and parts[2] == "versions":
                if parts[1] not in state.pipelines:
                    raise not_found("Pipeline", parts[1],
                                    f"Failed to list pipeline versions for pipeline {parts[1]}")
                if query.get("sort_by", [""])[0] != "created_at desc":
                    raise invalid("the mock wants sort_by=created_at desc")
                vs = [e for e in state.versions.values() if e["version"]["pipeline_id"] == parts[1]]
                vs.sort(key=lambda e: e["version"]["_seq"], reverse=True)
                size = int(query.get("page_size", ["100"])[0])
                views = [state.version_view(e) for e in vs[:size]]
                return 200, {"pipeline_versions": views, "total_size": len(vs)}
            if method == "GET" and parts == ["experiments"]:
                name = parse_filter(query)
                ns = query.get("namespace", [None])[0]
                if args.multi_user and not ns:
                    raise invalid("An experiment cannot have an empty namespace in multi-user mode",
                                  "List experiments failed", "Failed to authorize with API")
                found = [e for e in state.experiments.values()
                         if (name is None or e.display_name == name)
                         and (not args.multi_user or e.namespace == ns)]
                return 200, ({"experiments": [out(e) for e in found], "total_size": len(found)}
                             if found else {})
            if method == "POST" and parts == ["experiments"]:
                data = json.loads(body or b"{}")
                check_fields(data, models.V2beta1Experiment, "experiment", backend)
                if not data.get("display_name"):
                    raise invalid("Experiment must have a non-empty name",
                                  "[ExperimentServer]: Failed to create a experiment due to conversion error",
                                  "Failed to convert API experiment to model experiment")
                if args.multi_user and not data.get("namespace"):
                    raise invalid("An experiment cannot have an empty namespace in multi-user mode",
                                  "Failed to create a experiment", "Failed to authorize the request")
                e = models.V2beta1Experiment(experiment_id=str(uuid.uuid4()),
                                             display_name=data["display_name"],
                                             namespace=data.get("namespace") if args.multi_user else None,
                                             created_at=ts(time.time()),
                                             last_run_created_at=EPOCH, storage_state="AVAILABLE")
                state.experiments[e.experiment_id] = e
                return 200, out(e)
            if method == "POST" and parts == ["runs"]:
                return self.create_run(json.loads(body or b"{}"))
            if method == "GET" and len(parts) == 2 and parts[0] == "runs":
                # --flaky-polls N: every Nth read of a run is a 503, as an API
                # server restarting (or a gateway between pods) answers.
                state.polls = getattr(state, "polls", 0) + 1
                if args.flaky_polls and state.polls % args.flaky_polls == 0:
                    raise ApiError(UNAVAILABLE, "upstream connect error or disconnect/reset")
                entry = state.runs.get(parts[1])
                if entry is None:
                    raise not_found("Run", parts[1], "Failed to get a run")
                wf = entry["workflow"]
                wf.advance(entry["body"], time.time())
                view = dict(entry["body"])
                rows = wf.rows(view["run_id"]) if wf.nodes else []
                if rows:
                    view["run_details"] = {"task_details": rows}
                return 200, view
            raise ApiError(NOT_FOUND, "Not Found")

        def create_run(self, data):
            check_fields(data, models.V2beta1Run, "run", backend)
            data = strip_unknown(data, models.V2beta1Run)
            if not data.get("display_name"):
                raise invalid("The run name is empty. Please specify a valid name",
                              "Failed to create a new run", "Failed to create a run due to invalid name")
            eid = data.get("experiment_id")
            if not eid or eid not in state.experiments:
                raise not_found("Experiment", eid or "''", "Failed to create a new run",
                                "Failed to create a run due to invalid experimentId and namespace combination")
            experiment = state.experiments[eid]
            if args.multi_user and not experiment.namespace:
                raise invalid("A run cannot have an empty namespace in multi-user mode",
                              "Failed to create a new run")
            ref = data.get("pipeline_version_reference") or {}
            entry = state.versions.get(ref.get("pipeline_version_id"))
            if entry is None or entry["version"]["pipeline_id"] != ref.get("pipeline_id"):
                raise not_found("PipelineVersion", ref.get("pipeline_version_id") or "''",
                                "Failed to create a new run",
                                "Failed to fetch a template with an invalid pipeline version reference")
            params = (data.get("runtime_config") or {}).get("parameters") or {}
            check_parameters(entry["spec"], params)
            if backend.strict_compile:
                compile_check(entry["spec"], entry["platform"], backend)
            now = time.time()
            run = {"run_id": str(uuid.uuid4()), "experiment_id": eid,
                   "display_name": data["display_name"],
                   "pipeline_version_reference": {"pipeline_id": ref["pipeline_id"],
                                                  "pipeline_version_id": ref["pipeline_version_id"]},
                   "runtime_config": {"parameters": params} if params else None,
                   "service_account": "default-editor" if args.multi_user else "pipeline-runner",
                   "storage_state": "AVAILABLE",
                   "state": "PENDING",
                   "state_history": [{"update_time": ts(now), "state": "PENDING"}],
                   "created_at": ts(now), "scheduled_at": ts(now), "finished_at": EPOCH}
            if data.get("description"):
                run["description"] = data["description"]
            run = {k: v for k, v in run.items() if v is not None}
            wf = Workflow(entry["spec"], entry["platform"], backend, args, now)
            order = task_order(entry["spec"])
            for flag, task in (("--fail-task", args.fail_task), ("--stall", args.stall)):
                if task and task not in order:
                    print(f"mock_kfp_api: {flag} {task}: the pipeline has no such task "
                          f"(it has: {', '.join(order)})", file=sys.stderr, flush=True)
            state.runs[run["run_id"]] = {"body": run, "workflow": wf}
            return 200, dict(run)

        def do_GET(self):
            self.handle_any("GET")

        def do_POST(self):
            self.handle_any("POST")

        def do_DELETE(self):
            self.handle_any("DELETE")

    return Handler


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tag-name", default="2.17.0",
                   help="the release healthz names (may be 'unknown')")
    p.add_argument("--behave-as", help="the release to behave as (default: --tag-name, "
                   "or 2.17.0 when that is not a release)")
    p.add_argument("--commit-sha", default="5b8a2b7d2c4e8b9e0f1a6c3d7e2f4a1b9c8d7e6f")
    p.add_argument("--pipeline-store", choices=["database", "kubernetes"], default="database")
    p.add_argument("--token")
    p.add_argument("--read-only-token")
    p.add_argument("--multi-user", action="store_true")
    p.add_argument("--outcome", choices=["succeeded", "failed"], default="succeeded")
    p.add_argument("--fail-task", help="the task that fails (implies --outcome failed; "
                   "default with --outcome failed: evaluation-result)")
    p.add_argument("--stall", help="the task whose pod stays PENDING")
    p.add_argument("--parent-ids", action="store_true",
                   help="set parent_task_id on task rows (real servers never do)")
    p.add_argument("--cache-rows", action="store_true",
                   help="cache rows for the first two container tasks even without enableCache")
    p.add_argument("--run-error", action="store_true",
                   help="a failed run carries an error (real servers leave it out)")
    p.add_argument("--pipeline", action="append", default=[], metavar="NAME[=DISPLAY]")
    p.add_argument("--experiment", action="append", default=[], metavar="NAME[@NAMESPACE]")
    p.add_argument("--log", help="append 'METHOD PATH' per request to this file")
    p.add_argument("--flaky-polls", type=int, metavar="N",
                   help="every Nth GET /runs/{id} answers 503 (a restarting API server)")
    args = p.parse_args()
    if args.fail_task:
        args.outcome = "failed"
    elif args.outcome == "failed":
        args.fail_task = "evaluation-result"
    version = parse_version(args.behave_as) if args.behave_as else parse_version(args.tag_name)
    if args.behave_as and version is None:
        p.error(f"--behave-as {args.behave_as}: expected a release such as 2.5.0")
    backend = Backend(version or (2, 17, 0))
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(State(args, backend)))
    print(f"LISTENING http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
