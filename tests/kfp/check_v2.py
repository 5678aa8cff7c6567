"""Checks crypto-lab's KFP v2 export with the real kfp 2.x SDK and kfp-kubernetes.

Usage: python check_v2.py EXPORT_DIR [EXECUTOR_OUTPUT_JSON]

- every components/*.yaml loads with kfp.components.load_component_from_file;
- every v2 file parses strictly into the kfp protos: PipelineSpec, its deploymentSpec
  as PipelineDeploymentConfig, the platform document (if any) as PlatformSpec with a
  KubernetesExecutorConfig per executor; every component, executor, task, parameter and
  artifact reference resolves;
- a pipeline built here with kfp (+ kfp-kubernetes) from the exported component files
  compiles to the same documents as EXPORT_DIR/pipeline.yaml (parsed data, ignoring
  sdkVersion and comments), once the fields the export's backend does not know
  (export.json's kfp_version) are taken out of kfp's compilation, which always writes them:
  - artifacts form (export.json's data): each component's input artifact taken from the
    earlier step whose output has its name, its other inputs the pipeline's run parameters
    (typed, with export.json's run_parameters as defaults), caching on, Kaggle's Secret as
    environment on download_data;
  - volume form: CreatePVC; prepare-volume; the stages with data_path the mount path, not a
    run parameter, in the lab's order; DeletePVC after the last stage unless the export keeps
    the volume; caching off on every task;
  - both: each step's CPU and memory from export.json's resources through kfp's setters;
- artifacts form: vertex/pipeline.yaml is one YAML document (what Vertex's SDK loads) and
  equals pipeline.yaml's first;
- EXECUTOR_OUTPUT_JSON, if given (what evaluation-result wrote), parses as the kfp
  ExecutorOutput proto with the two metrics on the metrics artifact.
Exits non-zero on any failure.
"""
import inspect
import json
import os
import sys

import yaml
from google.protobuf import json_format, struct_pb2
from kfp import compiler, dsl, kubernetes
from kfp import components
from kfp.kubernetes import kubernetes_executor_config_pb2 as k8s_pb2
from kfp.pipeline_spec import pipeline_spec_pb2 as pb

STAGES = ["download_data", "load_data", "feature_engineering",
          "merge_assets_features", "modeling", "evaluation_result"]


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def strict(doc, message, what):
    try:
        json_format.ParseDict(doc, message, ignore_unknown_fields=False)
    except json_format.ParseError as e:
        fail(f"{what}: {e}")
    return message


def check_references(spec, what):
    comps = spec.get("components", {})
    execs = spec.get("deploymentSpec", {}).get("executors", {})
    for name, c in comps.items():
        label = c.get("executorLabel")
        if label and label not in execs:
            fail(f"{what}: {name} names executor {label}, which does not exist")
    root = spec["root"]
    root_params = root.get("inputDefinitions", {}).get("parameters", {})
    root_arts = root.get("inputDefinitions", {}).get("artifacts", {})
    tasks = root["dag"]["tasks"]
    for tname, t in tasks.items():
        ref = t["componentRef"]["name"]
        if ref not in comps:
            fail(f"{what}: task {tname} uses component {ref}, which does not exist")
        comp_inputs = comps[ref].get("inputDefinitions", {})
        comp_params = comp_inputs.get("parameters", {})
        for dep in t.get("dependentTasks", []):
            if dep not in tasks:
                fail(f"{what}: task {tname} depends on unknown task {dep}")
        for pname, p in t.get("inputs", {}).get("parameters", {}).items():
            if pname not in comp_params:
                fail(f"{what}: task {tname} sets {pname}, not an input of {ref}")
            src = p.get("componentInputParameter")
            if src and src not in root_params:
                fail(f"{what}: task {tname} reads pipeline parameter {src}, which does not exist")
            producer = p.get("taskOutputParameter", {}).get("producerTask")
            if producer and producer not in tasks:
                fail(f"{what}: task {tname} reads an output of unknown task {producer}")
        for aname, a in t.get("inputs", {}).get("artifacts", {}).items():
            if aname not in comp_inputs.get("artifacts", {}):
                fail(f"{what}: task {tname} sets artifact {aname}, not an input of {ref}")
            src = a.get("componentInputArtifact")
            if src and src not in root_arts:
                fail(f"{what}: task {tname} reads pipeline artifact {src}, which does not exist")
            out = a.get("taskOutputArtifact")
            if out:
                producer = out["producerTask"]
                if producer not in tasks:
                    fail(f"{what}: task {tname} reads an artifact of unknown task {producer}")
                pref = tasks[producer]["componentRef"]["name"]
                outs = comps[pref].get("outputDefinitions", {}).get("artifacts", {})
                if out["outputArtifactKey"] not in outs:
                    fail(f"{what}: task {tname} reads {out['outputArtifactKey']}, "
                         f"which {producer} does not write")
    return tasks


def check_platform(platform, spec, what):
    strict(platform, pb.PlatformSpec(), what + " (PlatformSpec)")
    execs = spec["deploymentSpec"]["executors"]
    tasks = spec["root"]["dag"]["tasks"]
    k8s = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    for name, cfg in k8s.items():
        if name not in execs:
            fail(f"{what}: platform config for unknown executor {name}")
        strict(cfg, k8s_pb2.KubernetesExecutorConfig(), f"{what}: {name} (KubernetesExecutorConfig)")
        for mount in cfg.get("pvcMount", []):
            producer = mount.get("taskOutputParameter", {}).get("producerTask")
            if producer and producer not in tasks:
                fail(f"{what}: {name} mounts a claim from unknown task {producer}")


# The platform-spec fields newer than some backends, with the first release that
# knows each (kubeflow/pipelines' kubernetes_executor_config.proto at each tag).
NEWER_FIELDS = {"securityContext": (2, 16), "pvcNameParameter": (2, 5),
                "secretNameParameter": (2, 5), "optional": (2, 15)}


# PipelineSpec resource fields newer than some backends: the text forms, known from the
# api that 2.4 compiles in (go.mod's pin; docs/kfp-backends.md).
NEWER_RESOURCE_FIELDS = {"resourceCpuLimit", "resourceCpuRequest", "resourceMemoryLimit",
                         "resourceMemoryRequest"}

# Each run parameter's Python type (the Rust side's params.rs RUN_PARAMS).
PARAM_TYPES = {"dataset": str, "source": str, "valid_from": str, "keep_target_nan": bool,
               "n_estimators": int, "objective": str, "metric": str, "boosting_type": str,
               "max_depth": int, "learning_rate": float, "seed": int, "verbose": int,
               "early_stopping_rounds": int, "verbose_eval": int, "features": str}


def resources_for_backend(spec, version):
    """kfp's pipeline document without the resource fields backend `version` does not know."""
    if version >= (2, 4):
        return spec
    for ex in spec.get("deploymentSpec", {}).get("executors", {}).values():
        res = ex.get("container", {}).get("resources")
        if res:
            for k in NEWER_RESOURCE_FIELDS:
                res.pop(k, None)
    return spec


def set_resources(task, r):
    """A step's CPU and memory through kfp's own setters."""
    if r.get("cpu_request"):
        task.set_cpu_request(r["cpu_request"])
    if r.get("cpu_limit"):
        task.set_cpu_limit(r["cpu_limit"])
    if r.get("memory_request"):
        task.set_memory_request(r["memory_request"])
    if r.get("memory_limit"):
        task.set_memory_limit(r["memory_limit"])


def for_backend(platform, version):
    """kfp's platform document without the fields backend `version` does not know."""
    def walk(node):
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()
                    if not (k in NEWER_FIELDS and version < NEWER_FIELDS[k])}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node
    return walk(platform)


def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k != "sdkVersion"}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def main():
    out = os.path.abspath(sys.argv[1])
    executor_output = sys.argv[2] if len(sys.argv) > 2 else None
    meta = json.load(open(os.path.join(out, "export.json")))
    target = tuple(int(p) for p in meta["kfp_version"].split(".")[:2])
    form = meta["data"]
    steps = [s for s in STAGES if s in meta["steps"]]
    loaded = {}
    for s in steps + ["prepare_volume"]:
        path = os.path.join(out, "components", f"{s}.yaml")
        loaded[s] = components.load_component_from_file(path)
        docs = list(yaml.safe_load_all(open(path)))
        spec = docs[0]
        strict(spec, pb.PipelineSpec(), f"{path} (PipelineSpec)")
        strict(spec["deploymentSpec"], pb.PipelineDeploymentConfig(), f"{path} (deploymentSpec)")
        check_references(spec, path)
        print(f"ok: components/{s}.yaml loads and parses strictly")

    path = os.path.join(out, "pipeline.yaml")
    docs = list(yaml.safe_load_all(open(path)))
    if len(docs) not in (1, 2):
        fail(f"{path}: expected the pipeline and at most a platform spec, found {len(docs)}")
    spec = docs[0]
    strict(spec, pb.PipelineSpec(), f"{path} (PipelineSpec)")
    strict(spec["deploymentSpec"], pb.PipelineDeploymentConfig(), f"{path} (deploymentSpec)")
    check_references(spec, path)
    if len(docs) == 2:
        check_platform(docs[1], spec, path)
    print("ok: pipeline.yaml parses strictly; every reference resolves")

    run_params = meta["run_parameters"]
    taken = []
    for s in steps:
        for name, spec_in in loaded[s].component_spec.inputs.items() if \
                loaded[s].component_spec.inputs else []:
            if name in PARAM_TYPES and name not in taken:
                taken.append(name)

    def body(*given):
        # kfp calls a pipeline function with its parameters in order.
        kw = dict(zip(taken, given))
        mount = meta["data_path"]
        prev = None
        pvc = None
        if form == "volume":
            pvc_args = dict(pvc_name_suffix="-data-volume", access_modes=["ReadWriteOnce"],
                            size=meta["pvc_size"])
            if meta.get("storage_class"):
                pvc_args["storage_class_name"] = meta["storage_class"]
            pvc = kubernetes.CreatePVC(**pvc_args)
            # The data passes through the claim, which caches before 2.15 leave out of
            # their key: no step may be reused on another run's claim.
            pvc.set_caching_options(False)
            # The check that the steps (the image's user) can write the claim.
            prev = loaded["prepare_volume"](data_path=mount)
            prev.set_caching_options(False)
            kubernetes.mount_pvc(prev, pvc_name=pvc.outputs["name"], mount_path=mount)
        made = {}
        for s in steps:
            comp = loaded[s]
            args = {}
            for name, spec_in in (comp.component_spec.inputs or {}).items():
                if name in kw:
                    args[name] = kw[name]
                elif name == "data_path":
                    args[name] = mount
                else:
                    # An artifact: the earlier step that writes one of that name.
                    producer = next(t for t in reversed(list(made.values()))
                                    if name in t.outputs)
                    args[name] = producer.outputs[name]
            task = comp(**args)
            if form == "volume":
                task.after(prev)
                task.set_caching_options(False)
                kubernetes.mount_pvc(task, pvc_name=pvc.outputs["name"], mount_path=mount)
            set_resources(task, meta["resources"].get(s, {}))
            if s == "download_data":
                kubernetes.use_secret_as_env(task, secret_name=meta["kaggle_secret"],
                                             secret_key_to_env={"username": "KAGGLE_USERNAME",
                                                                "key": "KAGGLE_KEY"})
            made[s] = task
            prev = task
        if form == "volume" and not meta["keep_volume"]:
            delete = kubernetes.DeletePVC(pvc_name=pvc.outputs["name"]).after(prev)
            delete.set_caching_options(False)

    # The run parameters as the pipeline function's typed arguments with defaults.
    body.__signature__ = inspect.Signature([
        inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=PARAM_TYPES[n],
                          default=PARAM_TYPES[n](run_params[n]))
        for n in taken])
    body.__annotations__ = {n: PARAM_TYPES[n] for n in taken}
    lab = dsl.pipeline(name="g-research-crypto-forecasting-pipeline",
                       description="g-research-crypto-forecasting-pipeline")(body)

    reference = os.path.join(out, ".reference-pipeline.yaml")
    compiler.Compiler().compile(lab, reference)
    theirs = [strip(d) for d in yaml.safe_load_all(open(reference))]
    theirs[0] = resources_for_backend(theirs[0], target)
    if len(theirs) > 1:
        theirs[1] = for_backend(theirs[1], target)
    os.remove(reference)
    ours = [strip(d) for d in docs]
    if ours != theirs:
        import difflib
        a = yaml.safe_dump(ours, sort_keys=True).splitlines()
        b = yaml.safe_dump(theirs, sort_keys=True).splitlines()
        print("\n".join(list(difflib.unified_diff(a, b, "export", "kfp", lineterm=""))[:160]))
        fail("pipeline.yaml differs from kfp's compilation of the same pipeline")
    print(f"ok: pipeline.yaml equals kfp 2's compilation of the lab's pipeline ({form} form) "
          f"from the exported components")

    if form == "artifacts":
        vpath = os.path.join(out, "vertex", "pipeline.yaml")
        text = open(vpath).read()
        try:
            vertex = yaml.safe_load(text)  # Vertex's SDK: one document
        except yaml.YAMLError as e:
            fail(f"{vpath}: Vertex cannot load it: {e}")
        if strip(vertex) != strip(docs[0]):
            fail(f"{vpath}: not pipeline.yaml's pipeline document")
        print("ok: vertex/pipeline.yaml is one document, pipeline.yaml's pipeline")

    if executor_output:
        text = open(executor_output).read()
        msg = strict(json.loads(text), pb.ExecutorOutput(), executor_output + " (ExecutorOutput)")
        arts = msg.artifacts["metrics"].artifacts
        if len(arts) != 1:
            fail(f"{executor_output}: expected one metrics artifact")
        fields = arts[0].metadata.fields
        for name in ("root-mean-squared-error", "weighted-correlation"):
            if name not in fields:
                fail(f"{executor_output}: metric {name} missing")
            print(f"ok: executor output metric {name} = {fields[name].number_value}")


if __name__ == "__main__":
    main()
