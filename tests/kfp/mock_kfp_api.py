"""A loopback stand-in for the Kubeflow Pipelines REST API (v2beta1), for tests/submit.rs.

Usage: python mock_kfp_api.py [--token T] [--multi-user] [--outcome succeeded|failed]
                              [--pipeline NAME]... [--experiment NAME]...

Checks what it receives the way the real API server does, with kfp 2.17's own models:
- the Bearer token (when --token is given) on every /apis request, else 401;
- uploads: a multipart form whose file field is `uploadfile`; the package's first
  document parses strictly as a kfp PipelineSpec, the second as a PlatformSpec;
- every JSON body has only fields of its kfp_server_api model (V2beta1Experiment,
  V2beta1Run, V2beta1RuntimeConfig, V2beta1PipelineVersionReference), and the
  references in it exist;
- run parameters are declared by the pipeline version's spec and have its types;
  required ones without defaults are given;
- in --multi-user mode an experiment needs a namespace.
Answers are built with the same models (ApiClient.sanitize_for_serialization). A run walks
through PENDING, RUNNING (its tasks one by one, one step per GET) to SUCCEEDED, or to FAILED
at the task `modeling` with --outcome failed.

Prints `LISTENING http://127.0.0.1:PORT` once ready. GET /_test/requests lists what it
received (method, path, query, headers, body).
"""
import argparse
import email.parser
import email.policy
import json
import sys
import threading
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


class ApiError(Exception):
    def __init__(self, status, message, code=3):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def check_fields(body, model, where):
    """Only fields the model has, nested models too (the server's JSON decoding fails
    on unknown fields)."""
    if not isinstance(body, dict):
        raise ApiError(400, f"{where}: expected an object")
    for key, value in body.items():
        if key not in model.attribute_map:
            raise ApiError(400, f'{where}: unknown field "{key}" in {model.__name__}')
        kind = model.openapi_types[key]
        nested = getattr(models, kind, None)
        if nested is not None and hasattr(nested, "attribute_map") and value is not None:
            check_fields(value, nested, f"{where}.{key}")


def out(model):
    return CLIENT.sanitize_for_serialization(model)


def now():
    return datetime.now(timezone.utc)


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.requests = []
        self.pipelines = {}  # id -> V2beta1Pipeline
        self.versions = {}  # id -> (V2beta1PipelineVersion, spec dict)
        self.experiments = {}  # id -> V2beta1Experiment
        self.runs = {}  # id -> dict(run, tasks, polls)
        for name in args.pipeline:
            p = self.add_pipeline(name, None)
            self.add_version(p.pipeline_id, name, {"root": {"inputDefinitions": {}}})
        for name in args.experiment:
            e = models.V2beta1Experiment(experiment_id=str(uuid.uuid4()), display_name=name,
                                         created_at=now())
            self.experiments[e.experiment_id] = e

    def add_pipeline(self, name, namespace):
        p = models.V2beta1Pipeline(pipeline_id=str(uuid.uuid4()), display_name=name, name=name,
                                   namespace=namespace, created_at=now())
        self.pipelines[p.pipeline_id] = p
        return p

    def add_version(self, pipeline_id, name, spec):
        v = models.V2beta1PipelineVersion(pipeline_id=pipeline_id,
                                          pipeline_version_id=str(uuid.uuid4()),
                                          display_name=name, name=name, created_at=now())
        self.versions[v.pipeline_version_id] = (v, spec)
        return v


def parse_filter(query):
    text = query.get("filter", [""])[0]
    if not text:
        return None
    f = json.loads(text)
    for p in f.get("predicates", []):
        if p.get("operation") != "EQUALS" or p.get("key") != "display_name":
            raise ApiError(400, f"unsupported filter {p}")
        return p.get("stringValue", p.get("string_value"))
    return None


def read_package(handler, body):
    ctype = handler.headers.get("Content-Type", "")
    if not ctype.startswith("multipart/form-data"):
        raise ApiError(400, "Failed to read pipeline from file: request Content-Type isn't multipart/form-data")
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
    for part in msg.iter_parts():
        if part.get_param("name", header="content-disposition") == "uploadfile":
            data = part.get_payload(decode=True)
            break
    else:
        raise ApiError(400, "Failed to read pipeline from file: http: no such file")
    try:
        docs = list(yaml.safe_load_all(data))
        spec = docs[0]
        json_format.ParseDict(spec, pb.PipelineSpec(), ignore_unknown_fields=False)
        if len(docs) > 1:
            json_format.ParseDict(docs[1], pb.PlatformSpec(), ignore_unknown_fields=False)
    except Exception as e:  # the server's message names the parse failure
        raise ApiError(400, f"Failed to create a pipeline version: invalid pipeline spec: {e}")
    return spec


PY_TYPES = {"STRING": str, "NUMBER_INTEGER": int, "NUMBER_DOUBLE": (int, float),
            "BOOLEAN": bool, "STRUCT": dict, "LIST": list}


def check_parameters(spec, params):
    declared = spec.get("root", {}).get("inputDefinitions", {}).get("parameters", {})
    for name, value in params.items():
        if name not in declared:
            raise ApiError(400, f"Invalid input error: parameter {name!r} is not declared by the pipeline")
        kind = declared[name].get("parameterType", "STRING")
        if not isinstance(value, PY_TYPES[kind]) or (kind != "BOOLEAN" and isinstance(value, bool)):
            raise ApiError(400, f"Invalid input error: parameter {name!r} must be {kind}, got {value!r}")
    for name, d in declared.items():
        if name not in params and not d.get("isOptional") and "defaultValue" not in d:
            raise ApiError(400, f"Invalid input error: parameter {name!r} is required")


def task_order(spec):
    tasks = spec.get("root", {}).get("dag", {}).get("tasks", {})
    done, order = set(), []
    while len(order) < len(tasks):
        ready = sorted(n for n, t in tasks.items() if n not in done
                       and all(d in done for d in t.get("dependentTasks", [])))
        if not ready:
            break
        order += ready
        done.update(ready)
    return order


def run_view(entry, outcome):
    """The run after `polls` GETs: one step further each time."""
    run, tasks, polls = entry["run"], entry["tasks"], entry["polls"]
    details = []
    state = "PENDING"
    error = None
    if polls > 0:
        state = "RUNNING"
        current = polls - 1
        for i, name in enumerate(tasks):
            if i < current:
                s = "SUCCEEDED"
            elif i == current:
                s = "RUNNING"
            else:
                break
            if outcome == "failed" and name == "modeling" and i < current:
                s = "FAILED"
            details.append(models.V2beta1PipelineTaskDetail(
                run_id=run.run_id, task_id=f"{run.run_id}-{i}", display_name=name, state=s))
            if s == "FAILED":
                state = "FAILED"
                error = {"code": 2, "message": f"task {name} failed: exit status 1", "details": []}
                break
        if state == "RUNNING" and current >= len(tasks):
            state = "SUCCEEDED"
    view = models.V2beta1Run(
        run_id=run.run_id, display_name=run.display_name, experiment_id=run.experiment_id,
        pipeline_version_reference=run.pipeline_version_reference,
        runtime_config=run.runtime_config, created_at=run.created_at, state=state,
        run_details=models.V2beta1RunDetails(task_details=details))
    body = out(view)
    if error:
        body["error"] = error
    assert state in models.V2beta1RuntimeState.allowable_values
    return body


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def handle_any(self, method):
            url = urlparse(self.path)
            query = parse_qs(url.query)
            length = int(self.headers.get("Content-Length", 0) or 0)
            body = self.rfile.read(length) if length else b""
            if url.path == "/_test/requests":
                with state.lock:
                    return self.reply(200, state.requests)
            record = {"method": method, "path": url.path, "query": query,
                      "headers": {k.lower(): v for k, v in self.headers.items()}}
            if body and self.headers.get("Content-Type", "").startswith("application/json"):
                record["body"] = json.loads(body)
            with state.lock:
                state.requests.append(record)
            try:
                if not url.path.startswith(API + "/"):
                    raise ApiError(404, "Not Found", 5)
                if state.args.token is not None:
                    auth = self.headers.get("Authorization")
                    if auth != f"Bearer {state.args.token}":
                        raise ApiError(401, "Unauthenticated: the request has no valid "
                                       "authentication credentials", 16)
                with state.lock:
                    status, answer = self.route(method, url.path[len(API):], query, body)
                self.reply(status, answer)
            except ApiError as e:
                self.reply(e.status, {"error": e.message, "code": e.code, "message": e.message,
                                      "details": []})

        def route(self, method, path, query, body):
            args = state.args
            parts = [p for p in path.split("/") if p]
            if method == "GET" and parts == ["pipelines"]:
                name = parse_filter(query)
                found = [p for p in state.pipelines.values()
                         if name is None or p.display_name == name]
                return 200, out(models.V2beta1ListPipelinesResponse(
                    pipelines=found or None, total_size=len(found)))
            if method == "POST" and parts == ["pipelines", "upload"]:
                spec = read_package(self, body)
                name = query.get("name", [None])[0] or spec["pipelineInfo"]["name"]
                if any(p.display_name == name for p in state.pipelines.values()):
                    raise ApiError(409, f"Already exists: pipeline {name!r}", 6)
                p = state.add_pipeline(name, query.get("namespace", [None])[0])
                state.add_version(p.pipeline_id, name, spec)
                return 200, out(p)
            if method == "POST" and parts == ["pipelines", "upload_version"]:
                pid = query.get("pipelineid", [""])[0]
                if pid not in state.pipelines:
                    raise ApiError(404, f"Not found: pipeline {pid!r}", 5)
                spec = read_package(self, body)
                name = query.get("name", [""])[0]
                if not name:
                    raise ApiError(400, "Invalid input error: pipeline version name is empty")
                v = state.add_version(pid, name, spec)
                return 200, out(v)
            if method == "GET" and len(parts) == 3 and parts[0] == "pipelines" \
                    and parts[2] == "versions":
                if parts[1] not in state.pipelines:
                    raise ApiError(404, "Not found: pipeline", 5)
                if query.get("sort_by", [""])[0] != "created_at desc":
                    raise ApiError(400, "expected sort_by=created_at desc")
                vs = [v for v, _ in state.versions.values() if v.pipeline_id == parts[1]]
                vs.sort(key=lambda v: v.created_at, reverse=True)
                size = int(query.get("page_size", ["100"])[0])
                return 200, out(models.V2beta1ListPipelineVersionsResponse(
                    pipeline_versions=vs[:size], total_size=len(vs)))
            if method == "GET" and parts == ["experiments"]:
                name = parse_filter(query)
                ns = query.get("namespace", [None])[0]
                if args.multi_user and not ns:
                    raise ApiError(400, "Invalid input error: in multi-user mode, listing "
                                   "experiments needs a namespace")
                found = [e for e in state.experiments.values()
                         if (name is None or e.display_name == name)
                         and (ns is None or e.namespace == ns)]
                return 200, out(models.V2beta1ListExperimentsResponse(
                    experiments=found or None, total_size=len(found)))
            if method == "POST" and parts == ["experiments"]:
                data = json.loads(body or b"{}")
                check_fields(data, models.V2beta1Experiment, "experiment")
                if not data.get("display_name"):
                    raise ApiError(400, "Invalid input error: experiment name is empty")
                if args.multi_user and not data.get("namespace"):
                    raise ApiError(400, "Invalid input error: in multi-user mode, an "
                                   "experiment needs a namespace")
                e = models.V2beta1Experiment(experiment_id=str(uuid.uuid4()),
                                             display_name=data["display_name"],
                                             namespace=data.get("namespace"),
                                             created_at=now())
                state.experiments[e.experiment_id] = e
                return 200, out(e)
            if method == "POST" and parts == ["runs"]:
                data = json.loads(body or b"{}")
                check_fields(data, models.V2beta1Run, "run")
                for key in ("display_name", "experiment_id", "pipeline_version_reference"):
                    if not data.get(key):
                        raise ApiError(400, f"Invalid input error: run needs {key}")
                if data["experiment_id"] not in state.experiments:
                    raise ApiError(404, "Not found: experiment", 5)
                ref = data["pipeline_version_reference"]
                entry = state.versions.get(ref.get("pipeline_version_id"))
                if entry is None or entry[0].pipeline_id != ref.get("pipeline_id"):
                    raise ApiError(404, "Not found: pipeline version", 5)
                params = (data.get("runtime_config") or {}).get("parameters") or {}
                check_parameters(entry[1], params)
                run = models.V2beta1Run(
                    run_id=str(uuid.uuid4()), display_name=data["display_name"],
                    experiment_id=data["experiment_id"],
                    pipeline_version_reference=models.V2beta1PipelineVersionReference(**ref),
                    runtime_config=models.V2beta1RuntimeConfig(parameters=params),
                    created_at=now(), state="PENDING")
                state.runs[run.run_id] = {"run": run, "tasks": task_order(entry[1]), "polls": 0}
                return 200, out(run)
            if method == "GET" and len(parts) == 2 and parts[0] == "runs":
                entry = state.runs.get(parts[1])
                if entry is None:
                    raise ApiError(404, f"Not found: run {parts[1]!r}", 5)
                view = run_view(entry, args.outcome)
                entry["polls"] += 1
                return 200, view
            raise ApiError(404, "Not Found", 5)

        def do_GET(self):
            self.handle_any("GET")

        def do_POST(self):
            self.handle_any("POST")

    return Handler


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--token")
    p.add_argument("--multi-user", action="store_true")
    p.add_argument("--outcome", choices=["succeeded", "failed"], default="succeeded")
    p.add_argument("--pipeline", action="append", default=[])
    p.add_argument("--experiment", action="append", default=[])
    args = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(State(args)))
    print(f"LISTENING http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
