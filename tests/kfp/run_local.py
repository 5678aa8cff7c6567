"""Runs crypto-lab's exported pipeline.yaml as KFP runs it, with kfp 2.x's own local
orchestration (kfp.local: DAG order, executor input, placeholder resolution, output
collection), each container step a local process standing in for its pod.

Usage: python run_local.py PIPELINE_YAML --bin-dir DIR --work DIR --image IMAGE
                           [--param KEY=VALUE]...

kfp.local's DockerRunner is used as is, except for the one call that starts a container
(kfp.local.docker_task_handler.run_docker_container), replaced here by a process that
does what the cluster would do for that task, read from the pipeline's Kubernetes
platform spec (which kfp.local itself ignores):

- createpvc (KFP's driver, no container): a fresh claim, a folder owned root:root 0755
  as most block storage starts; its name is uuid + pvc_name_suffix, as the driver makes it;
- every other step: the resolved command and args run in a mount namespace of their own
  (`unshare -m`) with the claim's folder bind-mounted at the task's pvcMount path, as
  the image's user (uid/gid 1000 without supplementary groups, `setpriv`), or as the
  platform spec's securityContext.runAsUser with every capability dropped (what KFP's
  driver does to a container whose security context the pipeline sets); `crypto-lab`
  is found in --bin-dir, the stand-in for the image; the environment is the container's;
- the pipeline root (the launcher's scratch space in a pod) is handed to the step's user.

Where mount namespaces are not available (no root, or a container without
CAP_SYS_ADMIN) the mount path in the args is rewritten to the claim's folder instead;
without root the steps also run as the current user. The summary says which.

Prints a line `RESULT <json>` (tasks in the order run, their resolved commands, the
claim's listing with owners, the executor output of evaluation-result) and exits 0
when the pipeline succeeded.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import types
import uuid

import yaml
from google.protobuf import json_format

# kfp.local's DockerRunner imports the `docker` SDK and asks it for a client before
# running a container. There is no Docker daemon here and the container call itself is
# replaced below, so a stand-in module with the two client methods it calls is enough.
_docker = types.ModuleType("docker")
_docker.errors = types.SimpleNamespace(NotFound=type("NotFound", (Exception,), {}))


class _Client:
    def info(self):
        return {}

    def close(self):
        pass


_docker.from_env = _Client
_docker.DockerClient = _Client
sys.modules["docker"] = _docker

from kfp import local  # noqa: E402
from kfp.local import docker_task_handler  # noqa: E402
from kfp.local import executor_input_utils  # noqa: E402
from kfp.local import pipeline_orchestrator  # noqa: E402
from kfp.local import task_dispatcher  # noqa: E402
from kfp.pipeline_spec import pipeline_spec_pb2  # noqa: E402

IMAGE_UID = 1000
IMAGE_GID = 1000


class Cluster:
    """What the cluster side holds during the run."""

    def __init__(self, platform, work, bin_dir, image):
        self.executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
        self.claims = os.path.join(work, "claims")
        self.bin_dir = bin_dir
        self.image = image
        self.current = None  # (component name, kwargs) of the task being run
        self.claim_of_task = {}  # producer task -> claim name
        self.ran = []  # one entry per task, in order
        self.root = os.geteuid() == 0
        # CRYPTO_LAB_NO_NAMESPACES=1 tries the fallback where namespaces work.
        self.namespaces = self.root and not os.environ.get("CRYPTO_LAB_NO_NAMESPACES") \
            and subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("package")
    p.add_argument("--bin-dir", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--param", action="append", default=[])
    return p.parse_args()


def fresh_claim(cluster, arguments):
    """createPVC as KFP's driver does it (backend/src/v2/driver/k8s.go)."""
    name = str(uuid.uuid4()) + arguments.get("pvc_name_suffix", "")
    path = os.path.join(cluster.claims, name)
    os.makedirs(path)
    if cluster.root:
        os.chown(path, 0, 0)
    os.chmod(path, 0o755)
    return name


def write_createpvc_output(kwargs, name):
    """The driver publishes the claim's name as the task's output `name`; here it goes
    where kfp.local reads the task's outputs (its executor output file)."""
    task_root = executor_input_utils.construct_local_task_root(
        pipeline_root=kwargs["pipeline_root"],
        pipeline_resource_name=kwargs["pipeline_resource_name"],
        task_resource_name=executor_input_utils.get_local_task_resource_name(
            kwargs["component_name"]),
    )
    executor_input = executor_input_utils.construct_executor_input(
        component_spec=kwargs["component_spec"],
        arguments=kwargs["arguments"],
        task_root=task_root,
        block_input_artifact=kwargs["block_input_artifact"],
    )
    out = executor_input.outputs.output_file
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"parameterValues": {"name": name}}, f)


def chown_tree(path, uid, gid):
    for base, dirs, files in os.walk(path):
        for n in [base] + [os.path.join(base, d) for d in dirs] + \
                [os.path.join(base, f) for f in files]:
            os.chown(n, uid, gid)


def step_command(cluster, task, command, env):
    """The process standing in for the task's pod."""
    cfg = cluster.executors.get(task["executor"], {})
    mounts = cfg.get("pvcMount", [])
    ctx = cfg.get("securityContext", {})
    uid = int(ctx.get("runAsUser", IMAGE_UID))
    gid = int(ctx.get("runAsGroup", IMAGE_GID if uid == IMAGE_UID else uid))
    binds = []
    for m in mounts:
        producer = m["taskOutputParameter"]["producerTask"]
        binds.append((os.path.join(cluster.claims, cluster.claim_of_task[producer]),
                      m["mountPath"]))
    task.update(uid=uid, gid=gid, mounts=[b[1] for b in binds],
                security_context=ctx)
    envs = ["env", "-i"] + [f"{k}={v}" for k, v in sorted(env.items())]
    user = []
    if cluster.root:
        user = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
        if ctx:
            # KFP's driver drops every capability where the pipeline sets a security
            # context.
            user += ["--inh-caps=-all", "--bounding-set=-all"]
        user += ["--"]
    if not cluster.namespaces:
        # No namespaces: point the step at the claim's folder itself.
        rewritten = []
        for arg in command:
            for claim, mount in binds:
                if arg == mount or arg.startswith(mount + "/"):
                    arg = claim + arg[len(mount):]
            rewritten.append(arg)
        return user + envs + rewritten
    script = "".join(f'mount --bind "${2 * i + 1}" "${2 * i + 2}" && '
                     for i in range(len(binds)))
    script += f'shift {2 * len(binds)} && exec "$@"'
    bind_args = [p for pair in binds for p in pair]
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
            *bind_args, *user, *envs, *command]


def main():
    args = parse_args()
    docs = list(yaml.safe_load_all(open(args.package)))
    spec_doc, platform = docs
    spec = json_format.ParseDict(spec_doc, pipeline_spec_pb2.PipelineSpec())
    cluster = Cluster(platform, os.path.abspath(args.work), os.path.abspath(args.bin_dir),
                      args.image)
    os.makedirs(cluster.claims, exist_ok=True)
    pipeline_root = os.path.join(os.path.abspath(args.work), "pipeline_root")
    os.makedirs(pipeline_root, exist_ok=True)

    real_run_task = task_dispatcher.run_single_task_implementation

    def run_task(**kwargs):
        cluster.current = kwargs
        return real_run_task(**kwargs)

    def run_container(client, image, command, volumes, **run_args):
        kwargs = cluster.current
        component = kwargs["component_name"]
        task = {"component": component, "executor": kwargs["component_spec"].executor_label,
                "image": image, "command": list(command)}
        cluster.ran.append(task)
        if image == "argostub/createpvc":
            name = fresh_claim(cluster, dict(kwargs["arguments"]))
            cluster.claim_of_task[executor_input_utils.get_local_task_resource_name(
                component)] = name
            write_createpvc_output(kwargs, name)
            task.update(claim=name, rc=0)
            print(f"createpvc: claim {name} (root:root 0755)")
            return 0
        if image != cluster.image:
            print(f"FAIL: {component} runs image {image}, expected {cluster.image}")
            return 1
        env = dict(run_args.get("environment") or {})
        env.update(PATH=cluster.bin_dir + ":/usr/local/bin:/usr/bin:/bin", HOME="/tmp")
        argv = step_command(cluster, task, list(command), env)
        # The launcher's scratch space (outputs, artifacts) belongs to the pod's user.
        if cluster.root:
            chown_tree(pipeline_root, task["uid"], task["gid"])
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
        if cluster.root:
            chown_tree(pipeline_root, 0, 0)
        print(proc.stdout, end="")
        task.update(rc=proc.returncode, log=proc.stdout)
        return proc.returncode

    task_dispatcher.run_single_task_implementation = run_task
    docker_task_handler.run_docker_container = run_container

    local.init(runner=local.DockerRunner(), pipeline_root=pipeline_root,
               raise_on_error=False)
    arguments = dict(p.split("=", 1) for p in args.param)
    pipeline_orchestrator.run_local_pipeline(pipeline_spec=spec, arguments=arguments)

    # What the evaluation step handed back to KFP.
    executor_output = None
    for t in cluster.ran:
        if t["component"] == "comp-evaluation-result":
            for arg in t["command"]:
                if arg.startswith("{") and '"outputFile"' in arg:
                    path = json.loads(arg)["outputs"]["outputFile"]
                    if os.path.isfile(path):
                        executor_output = json.load(open(path))
    claim = None
    listing = {}
    if cluster.claim_of_task:
        claim = os.path.join(cluster.claims, next(iter(cluster.claim_of_task.values())))
        for name in sorted(os.listdir(claim)):
            st = os.stat(os.path.join(claim, name))
            listing[name] = {"uid": st.st_uid, "gid": st.st_gid}
        st = os.stat(claim)
        listing["."] = {"uid": st.st_uid, "gid": st.st_gid, "mode": oct(st.st_mode & 0o7777)}
    result = {
        "root": cluster.root,
        "namespaces": cluster.namespaces,
        "tasks": [{k: v for k, v in t.items() if k != "log"} for t in cluster.ran],
        "logs": {t["component"]: t.get("log", "") for t in cluster.ran},
        "claim": listing,
        "executor_output": executor_output,
    }
    print("RESULT " + json.dumps(result))
    ok = cluster.ran and all(t.get("rc") == 0 for t in cluster.ran)
    shutil.rmtree(cluster.claims, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
