"""Checks crypto-lab's KFP v1 export with the real kfp 1.8 SDK.

Usage: python check_v1.py EXPORT_DIR [--write-reference FILE]

- every components/v1/*.yaml loads with kfp.components.load_component_from_file;
- the lab's pipeline, built here as the lab builds it (VolumeOp, add_pvolumes, the
  Kaggle secret as env) plus a first step prepare_volume run as root, the stages as
  uid/gid 1000, caching off on every step (set_caching_options(False) and a
  max_cache_staleness of P0D: the data passes through the claim, which no cache key
  holds) and, unless export.json says keep_volume, the claim deleted after the last
  stage (VolumeOp.delete()), from those component files, compiles with kfp 1.8's
  compiler to the same Argo Workflow as EXPORT_DIR/v1/pipeline.yaml, compared as
  parsed data, ignoring the SDK version and compilation time.
Exits non-zero with a diff on any mismatch.
"""
import json
import os
import sys

import yaml
import kfp
import kfp.dsl as dsl
import kfp.components as comp
from kfp.onprem import use_k8s_secret
from kubernetes.client import V1SecurityContext

STAGES = ["download_data", "load_data", "feature_engineering",
          "merge_assets_features", "modeling", "evaluation_result"]
JSON_ANNOTATIONS = {
    "pipelines.kubeflow.org/pipeline_spec",
    "pipelines.kubeflow.org/component_spec",
    "pipelines.kubeflow.org/component_ref",
    "pipelines.kubeflow.org/arguments.parameters",
}
IGNORED = {"pipelines.kubeflow.org/kfp_sdk_version",
           "pipelines.kubeflow.org/pipeline_compilation_time"}


def normalise(node):
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k in IGNORED:
                continue
            if k in JSON_ANNOTATIONS and isinstance(v, str):
                v = json.loads(v)
            out[k] = normalise(v)
        return out
    if isinstance(node, list):
        return [normalise(v) for v in node]
    return node


def diff(a, b, path="$"):
    if type(a) != type(b):
        yield f"{path}: {a!r} != {b!r}"
    elif isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                yield f"{path}.{k}: missing in export (reference {b[k]!r})"
            elif k not in b:
                yield f"{path}.{k}: not in reference (export {a[k]!r})"
            else:
                yield from diff(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        if len(a) != len(b):
            yield f"{path}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            yield from diff(x, y, f"{path}[{i}]")
    elif a != b:
        yield f"{path}: {a!r} != {b!r}"


def main():
    out = sys.argv[1]
    os.chdir(out)
    meta = yaml.safe_load(open("export.json"))
    ops = {}
    for s in ["prepare_volume"] + STAGES:
        path = f"components/v1/{s}.yaml"
        ops[s] = comp.load_component_from_file(path)
        print(f"ok: {path} loads ({ops[s].component_spec.name})")

    @dsl.pipeline(name="g-research-crypto-forecasting-pipeline",
                  description="g-research-crypto-forecasting-pipeline")
    def pipeline(dataset: str = "g-research-crypto-forecasting",
                 data_path: str = meta["data_path"]):
        vop = dsl.VolumeOp(name="create_data_volume", resource_name="data-volume",
                           size=meta["pvc_size"], modes=dsl.VOLUME_MODE_RWO,
                           storage_class=meta.get("storage_class"))
        # The fresh claim handed to the stages' user (1000) by a root step first.
        prepare = ops["prepare_volume"](data_path).add_pvolumes({data_path: vop.volume})
        prepare.container.set_security_context(V1SecurityContext(run_as_user=0))
        download = ops["download_data"](dataset, data_path) \
            .add_pvolumes({data_path: prepare.pvolume}) \
            .apply(use_k8s_secret(secret_name=meta["kaggle_secret"],
                                  k8s_secret_key_to_env={"username": "KAGGLE_USERNAME",
                                                         "key": "KAGGLE_KEY"}))
        steps = [vop, prepare, download]
        prev = download
        for s in STAGES[1:]:
            prev = ops[s](data_path).add_pvolumes({data_path: prev.pvolume})
            steps.append(prev)
        for op in steps[2:]:
            op.container.set_security_context(
                V1SecurityContext(run_as_user=meta["image_uid"], run_as_group=meta["image_gid"]))
        if not meta.get("keep_volume"):
            steps.append(vop.delete().after(prev))
        for op in steps:
            op.set_caching_options(False)
            if isinstance(op, dsl.ContainerOp):
                # The KFP 1 cache webhook reads this annotation on each pod.
                op.execution_options.caching_strategy.max_cache_staleness = "P0D"

    reference = "v1/.reference-pipeline.yaml"
    kfp.compiler.Compiler().compile(pipeline, reference)
    ours = normalise(yaml.safe_load(open("v1/pipeline.yaml")))
    theirs = normalise(yaml.safe_load(open(reference)))
    if "--keep-reference" not in sys.argv:
        os.remove(reference)
    problems = list(diff(ours, theirs))
    if problems:
        print("v1/pipeline.yaml differs from kfp 1.8's compilation:")
        for p in problems[:60]:
            print("  " + p)
        sys.exit(1)
    print("ok: v1/pipeline.yaml equals kfp 1.8's compilation of the lab's pipeline")


if __name__ == "__main__":
    main()
