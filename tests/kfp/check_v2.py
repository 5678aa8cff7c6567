"""Checks crypto-lab's KFP v2 export with the real kfp 2.x SDK and kfp-kubernetes.

Usage: python check_v2.py EXPORT_DIR [EXECUTOR_OUTPUT_JSON]

- every components/*.yaml loads with kfp.components.load_component_from_file;
- every v2 file parses strictly into the kfp protos: PipelineSpec, its deploymentSpec
  as PipelineDeploymentConfig, the platform document as PlatformSpec with a
  KubernetesExecutorConfig per executor; every component, executor, task and
  parameter reference resolves;
- a pipeline built here with kfp + kfp-kubernetes from the exported component files
  (CreatePVC; prepare-volume as the image's user; the six stages with data_path the
  mount path, not a run parameter, as uid/gid 1000 through set_security_context when
  the export is for a backend from 2.16; DeletePVC after the last stage unless the
  export keeps the volume; caching off on every task) compiles to the same documents
  as EXPORT_DIR/pipeline.yaml (parsed data, ignoring sdkVersion and comments), once the
  platform fields the export's backend does not know (export.json's kfp_version) are
  taken out of kfp's compilation, which always writes them;
- EXECUTOR_OUTPUT_JSON, if given (what evaluation-result wrote), parses as the kfp
  ExecutorOutput proto with the two metrics on the metrics artifact.
Exits non-zero on any failure.
"""
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
    tasks = root["dag"]["tasks"]
    for tname, t in tasks.items():
        ref = t["componentRef"]["name"]
        if ref not in comps:
            fail(f"{what}: task {tname} uses component {ref}, which does not exist")
        comp_params = comps[ref].get("inputDefinitions", {}).get("parameters", {})
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
    loaded = {}
    for s in STAGES + ["prepare_volume"]:
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
    if len(docs) != 2:
        fail(f"{path}: expected 2 documents (pipeline, platform), found {len(docs)}")
    spec, platform = docs
    strict(spec, pb.PipelineSpec(), f"{path} (PipelineSpec)")
    strict(spec["deploymentSpec"], pb.PipelineDeploymentConfig(), f"{path} (deploymentSpec)")
    check_references(spec, path)
    check_platform(platform, spec, path)
    print("ok: pipeline.yaml parses strictly; every reference resolves")

    @dsl.pipeline(name="g-research-crypto-forecasting-pipeline",
                  description="g-research-crypto-forecasting-pipeline")
    def lab(dataset: str = "g-research-crypto-forecasting", source: str = "kaggle"):
        # data_path is no run parameter: every step gets the mount path.
        mount = meta["data_path"]
        pvc_args = dict(pvc_name_suffix="-data-volume", access_modes=["ReadWriteOnce"],
                        size=meta["pvc_size"])
        if meta.get("storage_class"):
            pvc_args["storage_class_name"] = meta["storage_class"]
        pvc = kubernetes.CreatePVC(**pvc_args)
        # The data passes through the claim, which caches before 2.15 leave out of
        # their key: no step may be reused on another run's claim.
        pvc.set_caching_options(False)
        # The step that hands the fresh claim to the stages' user, as the image's
        # user (root).
        prev = loaded["prepare_volume"](data_path=mount)
        prev.set_caching_options(False)
        kubernetes.mount_pvc(prev, pvc_name=pvc.outputs["name"], mount_path=mount)
        for s in STAGES:
            args = {"data_path": mount}
            if s == "download_data":
                args["dataset"] = dataset
                args["source"] = source
            task = loaded[s](**args)
            task.after(prev)
            task.set_caching_options(False)
            kubernetes.mount_pvc(task, pvc_name=pvc.outputs["name"], mount_path=meta["data_path"])
            if target >= (2, 16):
                kubernetes.set_security_context(task, run_as_user=meta["image_uid"],
                                                run_as_group=meta["image_gid"])
            if s == "download_data":
                kubernetes.use_secret_as_env(task, secret_name=meta["kaggle_secret"],
                                             secret_key_to_env={"username": "KAGGLE_USERNAME",
                                                                "key": "KAGGLE_KEY"})
            prev = task
        if not meta["keep_volume"]:
            delete = kubernetes.DeletePVC(pvc_name=pvc.outputs["name"]).after(prev)
            delete.set_caching_options(False)

    reference = os.path.join(out, ".reference-pipeline.yaml")
    compiler.Compiler().compile(lab, reference)
    theirs = [strip(d) for d in yaml.safe_load_all(open(reference))]
    theirs[1] = for_backend(theirs[1], target)
    os.remove(reference)
    ours = [strip(d) for d in docs]
    if ours != theirs:
        import difflib
        a = yaml.safe_dump(ours, sort_keys=True).splitlines()
        b = yaml.safe_dump(theirs, sort_keys=True).splitlines()
        print("\n".join(list(difflib.unified_diff(a, b, "export", "kfp", lineterm=""))[:120]))
        fail("pipeline.yaml differs from kfp's compilation of the same pipeline")
    print("ok: pipeline.yaml equals kfp 2's compilation of the lab's pipeline from the exported components")

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
