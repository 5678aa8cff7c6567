"""Runs crypto-lab's exported pipeline.yaml as a KFP backend runs it, with kfp 2.x's own
local orchestration (kfp.local: DAG order, executor input, placeholder resolution, output
collection), each container step a local process standing in for its pod, and the
behaviour of an older backend release where it differs from the newest.

Usage: python run_local.py PIPELINE_YAML --bin-dir DIR --work DIR --image IMAGE
                           [--param KEY=VALUE]... [--backend X.Y.Z]
                           [--image-uid N] [--image-gid N]
                           [--cache-dir DIR] [--lose-pod TASK]

--work holds what the cluster keeps between runs: the claims (WORK/claims/NAME, one
folder each) and kfp.local's pipeline root. Run again on the same --work (and the same
--cache-dir) to see a second run on the same cluster; nothing there is removed at the end.

kfp.local's DockerRunner is used as is, except for the one call that starts a container
(kfp.local.docker_task_handler.run_docker_container), replaced here by a process that
does what the cluster would do for that task, read from the pipeline's Kubernetes
platform spec (which kfp.local itself ignores):

- createpvc (KFP's driver, no container): a fresh claim, a folder owned root:root 0755
  as most block storage starts; its name is uuid + pvc_name_suffix, as the driver makes it;
- deletepvc (driver, image argostub/deletepvc): removes the claim named by its pvc_name
  input; a claim that is not there fails the task, as the driver's lookup does;
- every other step: the resolved command and args run in a mount namespace of their own
  (`unshare -m`) with the claims named by its pvcMount bind-mounted at their mount paths
  (a claim that is not there fails the step: on a cluster its pod stays Pending), as:
  - the platform spec's securityContext (runAsUser, runAsGroup; without runAsGroup the
    image's gid for the image's uid, else 0, as a runtime does for a user the image's
    /etc/passwd lacks) with every capability dropped, what KFP's driver does to a
    container whose security context the pipeline sets, where the backend applies it;
  - otherwise the image's default user (--image-uid/--image-gid, default 0:0, the
    Dockerfile's), without supplementary groups; as root, with the container runtime's
    default capabilities (CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, ...), not all of them;
  `crypto-lab` is found in --bin-dir, the stand-in for the image; the environment is
  the container's (secretAsEnv is not emulated: download-data's archive comes from the
  `source` parameter);
- the pipeline root (the launcher's scratch space in a pod) is handed to the step's user.

--backend (default 2.17.0) is the KFP backend release emulated (facts read from
kubeflow/pipelines' source, docs/kfp-backends.md):
- the PipelineSpec is parsed strictly at upload: before 2.4.0 (whose api lacks the container
  resources' text fields, resourceCpuLimit and the like) such a package is refused whole;
- platform-spec fields a release lacks: securityContext before 2.16.0; pvcMount's
  pvcNameParameter and secretAsEnv's secretNameParameter before 2.5.0; secretAsEnv's
  optional before 2.15.0. 2.0.0-2.4.0 parse the executor's config strictly in the driver:
  the task that has such a field fails before it runs, naming it. 2.4.1-2.13.x drop it
  (the task records it under ignored_fields; a dropped securityContext means the step
  runs as the image's user). From 2.14.0 the API server compiles the run strictly: it is
  refused at creation (HTTP 500), before any task, naming the field;
- the execution cache (--cache-dir, kept between invocations as KFP's database keeps
  it): a task whose cachingOptions.enableCache is true is looked up by its component
  spec and container (image, command, args) and its resolved inputs, plus from 2.15.0
  the names of the claims it mounts. A hit does not run the task and hands on the
  recorded outputs, so a cached createpvc hands out the claim name of the run that
  recorded it. A task that succeeded records its outputs; output artifacts are copied
  into the cache folder, as the object store keeps them. Tasks without enableCache
  (`cachingOptions: {}`) never read or write the cache. Without --cache-dir there is no
  cache.

--cluster (default kubeflow) is the kind of cluster emulated, from its source (docs/kfp-backends.md):
- kubeflow: KFP's own backend at --backend. Before 2.16.0 a step's process keeps the container
  runtime's default capabilities (as root: CAP_CHOWN, CAP_DAC_OVERRIDE, ...); from 2.16.0 the
  compiler gives every executor container `capabilities: drop [ALL]` and
  `allowPrivilegeEscalation: false` (argocompiler/security_context.go,
  applyUserContainerSecurityContext), root included: root may then write only where it owns;
- openshift: OpenShift AI / Open Data Hub Data Science Pipelines (KFP's backend at --backend)
  under the namespace's restricted-v2 SCC: every pod runs as the lowest uid of the namespace's
  range (OPENSHIFT_UID_RANGE) whatever the image says, gid 0, with the fsGroup (the range's
  first id) as its supplementary group, no capabilities and no privilege escalation; a pod asking
  runAsUser outside the range is refused at admission; a claim is mounted group-owned by the
  fsGroup with mode |= 2770 (kubelet's fsGroup handling), so a fresh claim reads root:<fsGroup>
  2775;
- vertex: Vertex AI Pipelines: the package must be one YAML document (its SDK loads it with
  yaml.safe_load); the Kubernetes platform spec is not read at all (no claims, no Secrets as
  environment), and kfp-kubernetes' argostub/createpvc and argostub/deletepvc are images nobody
  replaces, so such a task fails; steps run as the image's user; the cache key is inputs,
  outputs and container (no claims).

--scratch PATH (default /tmp/crypto-lab, repeatable): a path inside the container that each pod
has to itself (its own filesystem); each step gets a fresh, world-writable (1777) folder there,
bind-mounted like a claim (or its args rewritten without namespaces).

--dev-image IMAGE (with --dev-path DIRS and --dev-env KEY=VALUE, repeatable): a second image
the pipeline may run, the Dockerfile's `dev` target (Rust lightweight components): its steps
find DIRS (the toolchain, rust-script) on PATH before --bin-dir and get the variables
(CRYPTO_LAB_SOURCE: where its crate and built target/ are; CARGO_HOME and RUSTUP_HOME).

--lose-pod TASK: that task's pod is lost half a second after its process starts (the
process group is killed; whatever it wrote by then stays on the claim); a driver task
(createpvc, deletepvc) fails before acting. The task fails, so the run fails and its
later tasks (deletepvc among them) never run: the claim stays.

Where mount namespaces are not available (no root, or a container without
CAP_SYS_ADMIN) the mount path in the args is rewritten to the claim's folder instead;
without root the steps also run as the current user. The summary says which.

Prints a line `RESULT <json>` and exits 0 when the pipeline succeeded (every task ran or
was cached), 1 otherwise (2, without RESULT, for bad arguments). Keys:
- ok, backend, root, namespaces; error: why the run failed (null when it did not),
  rejected: true when the API server refused the run (then tasks is empty),
  unknown_fields: the fields this backend does not know, as "executor: field";
- tasks: one per task reached, in order: task, component, executor, image, status
  (ran, cached, failed, lost), error (null unless it failed), rc, cache ("hit",
  "recorded" or null), ignored_fields (lenient backends); once past the driver (not
  cached, config accepted) command (resolved; [] for createpvc and deletepvc); a step
  also claims (claim names mounted) and, once its process starts, uid, gid, user
  ("uid:gid"), caps ("default" or "none"), mounts (mount paths), security_context (as
  applied); createpvc and deletepvc: claim (also for a cached createpvc);
- logs: each task's output by component;
- claim_name: the claim this run's createpvc handed out; claim: its listing with owners
  (and "." with its mode) before deletepvc removed it, or after the run;
- claims_left: the claim folders present under WORK/claims after the run;
- executor_output: what evaluation-result's process wrote as its executor output;
- artifacts: evaluation-result's output artifacts, name -> {path, bytes} (bytes null when
  the file was not produced; a folder's bytes are its files' total);
- outputs: every task's output artifacts (ran or cached), task -> name -> {path, bytes,
  metadata} (a cached task's as recorded: the metrics of a cached evaluation-result are there);
- cluster: the cluster emulated.
"""
import argparse
import copy
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import traceback
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

from kfp import dsl  # noqa: E402
from kfp import local  # noqa: E402
from kfp.local import docker_task_handler  # noqa: E402
from kfp.local import executor_input_utils  # noqa: E402
from kfp.local import executor_output_utils  # noqa: E402
from kfp.local import pipeline_orchestrator  # noqa: E402
from kfp.local import status  # noqa: E402
from kfp.local import task_dispatcher  # noqa: E402
from kfp.local.orchestrator import task_executor  # noqa: E402
from kfp.pipeline_spec import pipeline_spec_pb2  # noqa: E402

CREATE_PVC_IMAGE = "argostub/createpvc"
DELETE_PVC_IMAGE = "argostub/deletepvc"
EVALUATION_TASK = "evaluation-result"
# The capabilities Docker and containerd give a container by default: what the image's
# root has in a pod without a security context.
DEFAULT_CAPS = ("chown", "dac_override", "fowner", "fsetid", "kill", "setgid", "setuid",
                "setpcap", "net_bind_service", "net_raw", "sys_chroot", "mknod",
                "audit_write", "setfcap")
# Long enough for the step to have started its work, short enough for a test.
LOSE_AFTER_S = 0.5

# Platform-spec fields the lab may write that older backends' kfp-kubernetes proto lacks,
# with the first release that has them. A path's `[]` is a list whose items carry it.
FIELDS = [
    ("securityContext", (2, 16, 0)),
    ("pvcMount[].pvcNameParameter", (2, 5, 0)),
    ("secretAsEnv[].secretNameParameter", (2, 5, 0)),
    ("secretAsEnv[].optional", (2, 15, 0)),
]


def parse_version(text):
    parts = [int(p) for p in text.strip().lstrip("v").split(".")]
    if not 1 <= len(parts) <= 3:
        raise ValueError(f"not a version: {text}")
    return tuple(parts + [0] * (3 - len(parts)))


# The namespace's uid range on the emulated OpenShift (openshift.io/sa.scc.uid-range
# 1000680000/10000); the fsGroup is its first id, as restricted-v2's MustRunAs takes it.
OPENSHIFT_UID_RANGE = (1000680000, 1000689999)


class Backend:
    """What differs between KFP backend releases, for this pipeline."""

    def __init__(self, text, cluster="kubeflow"):
        self.version = parse_version(text)
        self.cluster = cluster
        self.name = ".".join(map(str, self.version))
        if cluster == "vertex":
            self.name = "vertex"
        self.strict_driver = cluster != "vertex" and self.version <= (2, 4, 0)
        self.strict_create_run = cluster != "vertex" and self.version >= (2, 14, 0)
        self.pvcs_in_cache_key = cluster != "vertex" and self.version >= (2, 15, 0)
        # 2.16's compiler: drop ALL on every executor container, root included.
        self.drops_all_capabilities = cluster == "openshift" or (
            cluster == "kubeflow" and self.version >= (2, 16, 0))
        self.applies_security_context = cluster != "vertex" and self.version >= (2, 16, 0)

    def unknown_fields(self, cfg):
        """The FIELDS present in executor config `cfg` that this release lacks."""
        if self.cluster == "vertex":
            return []
        found = []
        for path, since in FIELDS:
            if self.version >= since:
                continue
            head, _, leaf = path.partition("[].")
            if not leaf:
                if head in cfg:
                    found.append(path)
            elif any(isinstance(item, dict) and leaf in item for item in cfg.get(head) or []):
                found.append(path)
        return found


def without_fields(cfg, paths):
    """`cfg` as a lenient driver reads it: the fields it does not know dropped."""
    cfg = copy.deepcopy(cfg)
    for path in paths:
        head, _, leaf = path.partition("[].")
        if not leaf:
            cfg.pop(head, None)
        else:
            for item in cfg.get(head) or []:
                item.pop(leaf, None)
    return cfg


def field_name(path):
    return path.rpartition(".")[2]


class Cluster:
    """What the cluster side holds during the run."""

    def __init__(self, args, platform):
        # Vertex reads no platform spec; a package without one has no configs either.
        self.executors = {} if args.cluster == "vertex" else \
            (platform or {}).get("platforms", {}).get("kubernetes", {}) \
            .get("deploymentSpec", {}).get("executors", {})
        self.work = os.path.abspath(args.work)
        self.claims = os.path.join(self.work, "claims")
        self.pipeline_root = os.path.join(self.work, "pipeline_root")
        self.bin_dir = os.path.abspath(args.bin_dir)
        self.image = args.image
        self.dev_image = args.dev_image
        self.dev_path = args.dev_path
        self.dev_env = dict(e.split("=", 1) for e in args.dev_env)
        self.image_uid = args.image_uid
        self.image_gid = args.image_gid
        self.backend = Backend(args.backend, args.cluster)
        self.kind = args.cluster
        self.scratch = args.scratch or ["/tmp/crypto-lab"]
        self.scratch_root = os.path.join(os.path.abspath(args.work), "scratch")
        self.outputs = {}  # task -> artifact name -> path
        self.lose_pod = args.lose_pod
        self.cache = ExecutionCache(args.cache_dir) if args.cache_dir else None
        self.task_name = None  # the task kfp.local is executing
        self.task_spec = None
        self.io_store = None
        self.current = None  # kfp.local's arguments for that task's run
        self.record = None  # that task's entry in `ran`
        self.config = None  # that task's platform config, as the backend reads it
        self.ran = []
        self.claim_name = None
        self.claim_listing = None  # taken before deletepvc removes the claim
        self.artifact_paths = {}
        self.executor_output = None
        self.root = os.geteuid() == 0
        # CRYPTO_LAB_NO_NAMESPACES=1 tries the fallback where namespaces work.
        self.namespaces = self.root and not os.environ.get("CRYPTO_LAB_NO_NAMESPACES") \
            and subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0

    def claim_of_mount(self, mount):
        """The claim name a pvcMount entry names, resolved from the run's values."""
        for source in (mount, mount.get("pvcNameParameter") or {}):
            if "taskOutputParameter" in source:
                ref = source["taskOutputParameter"]
                return self.io_store.get_task_output(ref["producerTask"],
                                                     ref["outputParameterKey"])
            if "componentInputParameter" in source:
                return self.io_store.get_parent_input(source["componentInputParameter"])
            if "runtimeValue" in source:
                return source["runtimeValue"]["constant"]
            if isinstance(source.get("constant"), str):
                return source["constant"]
        raise ValueError(f"pvcMount without a claim: {mount}")


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("package")
    p.add_argument("--bin-dir", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--param", action="append", default=[])
    p.add_argument("--backend", default="2.17.0")
    p.add_argument("--image-uid", type=int, default=0)
    p.add_argument("--image-gid", type=int, default=0)
    p.add_argument("--cache-dir")
    p.add_argument("--lose-pod", metavar="TASK")
    p.add_argument("--cluster", choices=["kubeflow", "openshift", "vertex"], default="kubeflow")
    p.add_argument("--scratch", action="append", default=[])
    p.add_argument("--dev-image")
    p.add_argument("--dev-path", default="")
    p.add_argument("--dev-env", action="append", default=[])
    args = p.parse_args()
    try:
        Backend(args.backend, args.cluster)
    except ValueError as e:
        p.error(f"--backend: {e}")
    return args, p


def listing(path):
    """A claim's top-level entries with owners, and its own mode."""
    out = {}
    for name in sorted(os.listdir(path)):
        st = os.lstat(os.path.join(path, name))
        out[name] = {"uid": st.st_uid, "gid": st.st_gid}
    st = os.stat(path)
    out["."] = {"uid": st.st_uid, "gid": st.st_gid, "mode": oct(st.st_mode & 0o7777)}
    return out


def executor_input_of(kwargs):
    """The executor input kfp.local builds for the task (same task root, same paths)."""
    task_root = executor_input_utils.construct_local_task_root(
        pipeline_root=kwargs["pipeline_root"],
        pipeline_resource_name=kwargs["pipeline_resource_name"],
        task_resource_name=executor_input_utils.get_local_task_resource_name(
            kwargs["component_name"]),
    )
    return executor_input_utils.construct_executor_input(
        component_spec=kwargs["component_spec"],
        arguments=kwargs["arguments"],
        task_root=task_root,
        block_input_artifact=kwargs["block_input_artifact"],
    )


def fresh_claim(cluster, arguments):
    """createPVC as KFP's driver does it (backend/src/v2/driver/k8s.go)."""
    name = arguments.get("pvc_name") or str(uuid.uuid4()) + arguments.get("pvc_name_suffix", "")
    path = os.path.join(cluster.claims, name)
    os.makedirs(path)
    if cluster.root:
        os.chown(path, 0, 0)
    os.chmod(path, 0o755)
    return name


def write_createpvc_output(kwargs, name):
    """The driver publishes the claim's name as the task's output `name`; here it goes
    where kfp.local reads the task's outputs (its executor output file)."""
    out = executor_input_of(kwargs).outputs.output_file
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"parameterValues": {"name": name}}, f)


def chown_tree(path, uid, gid):
    for base, dirs, files in os.walk(path):
        for n in [base] + [os.path.join(base, d) for d in dirs] + \
                [os.path.join(base, f) for f in files]:
            os.lchown(n, uid, gid)


def step_user(cluster, ctx):
    """(uid, gid, supplementary groups, drop every capability) of the step's process."""
    drop = cluster.backend.drops_all_capabilities
    if cluster.kind == "openshift":
        # restricted-v2: the range's first uid (a runAsUser inside the range is kept),
        # gid 0, the fsGroup as supplementary group.
        uid = int(ctx.get("runAsUser", OPENSHIFT_UID_RANGE[0]))
        return uid, int(ctx.get("runAsGroup", 0)), [OPENSHIFT_UID_RANGE[0]], True
    if ctx:
        uid = int(ctx.get("runAsUser", cluster.image_uid))
        default_gid = cluster.image_gid if uid == cluster.image_uid else 0
        return uid, int(ctx.get("runAsGroup", default_gid)), [], True
    return cluster.image_uid, cluster.image_gid, [], drop


def admission_error(cluster, ctx):
    """Why OpenShift's SCC admission refuses the pod, or None."""
    if cluster.kind != "openshift" or "runAsUser" not in ctx:
        return None
    low, high = OPENSHIFT_UID_RANGE
    uid = int(ctx["runAsUser"])
    if low <= uid <= high:
        return None
    return (f"pods is forbidden: unable to validate against any security context constraint: "
            f"[provider \"anyuid\": Forbidden: not usable by user or serviceaccount, "
            f"provider restricted-v2: .containers[0].runAsUser: Invalid value: {uid}: "
            f"must be in the ranges: [{low}, {high}]]")


def step_command(cluster, record, cfg, binds, command, env):
    """The process standing in for the task's pod."""
    ctx = cfg.get("securityContext") or {}
    uid, gid, groups, drop = step_user(cluster, ctx)
    record.update(uid=uid, gid=gid, user=f"{uid}:{gid}", groups=groups,
                  caps="none" if drop or uid != 0 else "default",
                  mounts=[b[1] for b in binds if not b[0].startswith(cluster.scratch_root)],
                  security_context=ctx)
    envs = ["env", "-i"] + [f"{k}={v}" for k, v in sorted(env.items())]
    user = []
    if cluster.root:
        bounding = "-all" if drop else "-all," + ",".join("+" + c for c in DEFAULT_CAPS)
        group_flag = f"--groups={','.join(map(str, groups))}" if groups else "--clear-groups"
        user = ["setpriv", f"--reuid={uid}", f"--regid={gid}", group_flag,
                "--inh-caps=-all", f"--bounding-set={bounding}"]
        if drop:
            # allowPrivilegeEscalation: false
            user.append("--no-new-privs")
        user.append("--")
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


def run_process(cluster, record, argv):
    """(rc, output) of the step's process; lost as --lose-pod asks."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    if record["task"] != cluster.lose_pod:
        out, _ = proc.communicate()
        return proc.returncode, out
    try:
        proc.wait(timeout=LOSE_AFTER_S)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    out, _ = proc.communicate()
    # Even a process that finished in time counts as lost: the node went before the
    # kubelet reported its status.
    record.update(status="lost", error="pod lost")
    return -signal.SIGKILL, out + "pod lost\n"


def fail(record, message):
    record.update(status="failed", error=message, rc=1, log=message + "\n")
    print(f"FAIL: {record['task']}: {message}")


def run_container(client, image, command, volumes, **run_args):
    """kfp.local's container call: what the cluster does for the task."""
    cluster = CLUSTER
    kwargs = cluster.current
    record = cluster.record
    record.update(command=list(command))
    arguments = dict(kwargs["arguments"])
    lost = record["task"] == cluster.lose_pod
    if image in (CREATE_PVC_IMAGE, DELETE_PVC_IMAGE) and cluster.kind == "vertex":
        fail(record, f"Vertex AI: cannot pull image {image}: kfp-kubernetes' stand-in, which only "
                     f"KFP's own backend replaces (no claims on Vertex)")
        return 1
    if image in (CREATE_PVC_IMAGE, DELETE_PVC_IMAGE) and lost:
        record.update(status="lost", error="pod lost", rc=1, log="pod lost\n")
        print(f"{record['task']}: driver pod lost")
        return 1
    if image == CREATE_PVC_IMAGE:
        name = fresh_claim(cluster, arguments)
        write_createpvc_output(kwargs, name)
        record.update(claim=name, rc=0)
        print(f"createpvc: claim {name} (root:root 0755)")
        return 0
    if image == DELETE_PVC_IMAGE:
        name = arguments.get("pvc_name", "")
        path = os.path.join(cluster.claims, name)
        record.update(claim=name)
        if not name or not os.path.isdir(path):
            fail(record, f"failed to delete pvc {name!r}: cannot find pvc")
            return 1
        if name == cluster.claim_name:
            cluster.claim_listing = listing(path)
        shutil.rmtree(path)
        record.update(rc=0)
        print(f"deletepvc: claim {name} deleted")
        return 0
    if image not in (cluster.image, cluster.dev_image):
        fail(record, f"runs image {image}, expected {cluster.image}")
        return 1
    cfg = cluster.config
    refused = admission_error(cluster, cfg.get("securityContext") or {})
    if refused:
        fail(record, refused)
        return 1
    binds = []
    for m in cfg.get("pvcMount") or []:
        name = cluster.claim_of_mount(m)
        binds.append((os.path.join(cluster.claims, name), m["mountPath"]))
    record["claims"] = [os.path.basename(b[0]) for b in binds]
    for claim, _ in binds:
        if not os.path.isdir(claim):
            # On a cluster the pod waits for the claim and the run hangs until its timeout.
            fail(record, f"pod unschedulable: persistentvolumeclaim "
                         f"\"{os.path.basename(claim)}\" not found")
            return 1
        if cluster.kind == "openshift" and cluster.root:
            # kubelet's fsGroup: group-owned by it, setgid, rw for the group.
            os.chown(claim, -1, OPENSHIFT_UID_RANGE[0])
            os.chmod(claim, os.stat(claim).st_mode & 0o7777 | 0o2770)
    # The pod's own filesystem under the scratch paths: fresh for every step.
    for path in cluster.scratch:
        fresh = os.path.join(cluster.scratch_root, f"{record['task']}-{uuid.uuid4().hex[:12]}")
        os.makedirs(fresh)
        os.chmod(fresh, 0o1777)
        if cluster.namespaces:
            os.makedirs(path, exist_ok=True)  # the mount point
        binds.append((fresh, path))
    env = dict(run_args.get("environment") or {})
    env.update(PATH=cluster.bin_dir + ":/usr/local/bin:/usr/bin:/bin", HOME="/tmp")
    if image == cluster.dev_image:
        env.update(cluster.dev_env)
        env["PATH"] = f"{cluster.dev_path}:{env['PATH']}"
    record["image"] = image
    argv = step_command(cluster, record, cfg, binds, list(command), env)
    # The launcher's scratch space (outputs, artifacts) belongs to the pod's user.
    if cluster.root:
        chown_tree(cluster.pipeline_root, record["uid"], record["gid"])
    rc, out = run_process(cluster, record, argv)
    if cluster.root:
        chown_tree(cluster.pipeline_root, 0, 0)
    print(out, end="")
    record.update(rc=rc, log=out)
    if rc != 0 and not record.get("error"):
        last = out.strip().splitlines()[-1:] or [""]
        record["error"] = f"exit status {rc}: {last[0]}"
    if record["task"] == EVALUATION_TASK:
        path = executor_input_of(kwargs).outputs.output_file
        if os.path.isfile(path):
            with open(path) as f:
                cluster.executor_output = json.load(f)
    return 0 if rc == 0 and record.get("status") != "lost" else 1


def plain(value):
    """A task input or output as JSON; an artifact by its type, URI and metadata."""
    if isinstance(value, dsl.Artifact):
        return {"artifact": {"type": {"schemaTitle": type(value).schema_title},
                             "name": value.name, "uri": value.uri,
                             "metadata": dict(value.metadata or {})}}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def from_plain(value):
    if isinstance(value, dict) and set(value) == {"artifact"}:
        artifact = json_format.ParseDict(value["artifact"], pipeline_spec_pb2.RuntimeArtifact())
        return executor_output_utils.runtime_artifact_to_dsl_artifact(artifact)
    if isinstance(value, list):
        return [from_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: from_plain(v) for k, v in value.items()}
    return value


class ExecutionCache:
    """KFP's execution cache: a task's outputs by its fingerprint, in a folder that
    outlives the run as the backend's database does."""

    def __init__(self, root):
        self.root = os.path.abspath(root)
        os.makedirs(self.root, exist_ok=True)

    def key(self, backend, kwargs, claims):
        """The fingerprint as the backend computes it: component, container, inputs;
        from 2.15 the names of the claims mounted."""
        material = {
            "component": json_format.MessageToDict(kwargs["component_spec"]),
            "container": json_format.MessageToDict(kwargs["executor_spec"].container),
            "inputs": plain(kwargs["arguments"]),
        }
        if backend.pvcs_in_cache_key:
            material["pvcs"] = sorted(claims)
        text = json.dumps(material, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def get(self, key):
        path = os.path.join(self.root, key + ".json")
        if not os.path.isfile(path):
            return None
        with open(path) as f:
            return from_plain(json.load(f))

    def put(self, key, outputs):
        """Artifacts are copied into the cache folder: the object store keeps them
        whatever becomes of this run's pipeline root."""
        entry = plain(outputs)
        for name, value in entry.items():
            if not isinstance(value, dict) or set(value) != {"artifact"}:
                continue
            src = value["artifact"]["uri"]
            dst = os.path.join(self.root, "artifacts", key, name, os.path.basename(src))
            if os.path.isdir(src):
                shutil.copytree(src, dst, dirs_exist_ok=True)
            elif os.path.isfile(src):
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copy2(src, dst)
            else:
                continue
            value["artifact"]["uri"] = dst
        with open(os.path.join(self.root, key + ".json"), "w") as f:
            json.dump(entry, f)
        return from_plain(entry)


def launcher_outputs(kwargs, outputs):
    """The outputs as KFP's launcher publishes them: every declared output artifact whose
    file the step wrote, not only those its executor output names (all kfp.local hands
    on)."""
    outputs = dict(outputs)
    for name, artifacts in executor_input_of(kwargs).outputs.artifacts.items():
        if name not in outputs and os.path.exists(artifacts.artifacts[0].uri):
            outputs[name] = executor_output_utils.runtime_artifact_to_dsl_artifact(
                artifacts.artifacts[0])
    return outputs


def note_outputs(cluster, record, kwargs, outputs):
    """What the summary reports from a task's outputs, run or cached."""
    for name, value in outputs.items():
        if isinstance(value, dsl.Artifact):
            cluster.outputs.setdefault(record["task"], {})[name] = (
                value.uri, dict(value.metadata or {}))
    if record["image"] == CREATE_PVC_IMAGE and "name" in outputs:
        cluster.claim_name = outputs["name"]
        record["claim"] = outputs["name"]
    if record["task"] == EVALUATION_TASK:
        declared = executor_input_of(kwargs).outputs.artifacts
        for name in kwargs["component_spec"].output_definitions.artifacts:
            value = outputs.get(name)
            if isinstance(value, dsl.Artifact):
                cluster.artifact_paths[name] = value.uri
            elif name in declared:
                cluster.artifact_paths[name] = declared[name].artifacts[0].uri


def run_task(real, **kwargs):
    """One task: the backend's driver (config parse, cache) around kfp.local's run."""
    cluster = CLUSTER
    image = kwargs["executor_spec"].container.image
    label = kwargs["component_spec"].executor_label
    record = {"task": cluster.task_name, "component": kwargs["component_name"],
              "executor": label, "image": image, "status": None, "error": None,
              "rc": None, "cache": None}
    cluster.ran.append(record)
    cluster.current = kwargs
    cluster.record = record
    cfg = cluster.executors.get(label) or {}
    unknown = cluster.backend.unknown_fields(cfg)
    if unknown and cluster.backend.strict_driver:
        fail(record, f"driver (backend {cluster.backend.name}): failed to unmarshal "
                     f"kubernetes executor config: unknown field "
                     f"\"{field_name(unknown[0])}\" ({unknown[0]} in {label})")
        return {}, status.Status.FAILURE
    if unknown:
        record["ignored_fields"] = unknown
    cluster.config = without_fields(cfg, unknown)

    key = None
    if cluster.cache is not None and cluster.task_spec.caching_options.enable_cache:
        claims = [cluster.claim_of_mount(m) for m in cluster.config.get("pvcMount") or []]
        key = cluster.cache.key(cluster.backend, kwargs, claims)
        hit = cluster.cache.get(key)
        if hit is not None:
            record.update(status="cached", cache="hit", rc=0, log="")
            print(f"{record['task']}: cache hit ({key[:12]}), not run")
            note_outputs(cluster, record, kwargs, hit)
            return hit, status.Status.SUCCESS

    outputs, task_status = real(**kwargs)
    if task_status == status.Status.SUCCESS:
        record["status"] = "ran"
        outputs = launcher_outputs(kwargs, outputs)
        note_outputs(cluster, record, kwargs, outputs)
        if key is not None:
            # What the next task reads is what was recorded (KFP's metadata store hands
            # on one artifact, whether its task ran or came from the cache), so a task
            # downstream of a cache hit has the same inputs as in the run that recorded.
            outputs = cluster.cache.put(key, outputs)
            record["cache"] = "recorded"
    else:
        record["status"] = record["status"] or "failed"
        note_outputs(cluster, record, kwargs, {})
    return outputs, task_status


def size_of(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(b, f))
                   for b, _, files in os.walk(path) for f in files)
    return None


CLUSTER = None


def main():
    global CLUSTER
    args, parser = parse_args()
    with open(args.package) as f:
        text = f.read()
    docs = list(yaml.safe_load_all(text))
    spec_doc, platform = docs[0], (docs[1] if len(docs) > 1 else None)
    spec = json_format.ParseDict(spec_doc, pipeline_spec_pb2.PipelineSpec())
    cluster = CLUSTER = Cluster(args, platform)
    vertex_load_error = None
    if args.cluster == "vertex":
        try:
            yaml.safe_load(text)  # what Vertex's SDK does (utils/yaml_utils.py)
        except yaml.YAMLError as e:
            vertex_load_error = " ".join(str(e).split())
    dag_tasks = list(spec.root.dag.tasks)
    if args.lose_pod and args.lose_pod not in dag_tasks:
        parser.error(f"--lose-pod {args.lose_pod}: no such task "
                     f"(tasks: {', '.join(sorted(dag_tasks))})")
    os.makedirs(cluster.claims, exist_ok=True)
    os.makedirs(cluster.pipeline_root, exist_ok=True)

    unknown = [f"{label}: {path}" for label, cfg in sorted(cluster.executors.items())
               for path in cluster.backend.unknown_fields(cfg or {})]
    # The API server parses the PipelineSpec strictly at every release; the text forms of
    # the container resources are in the api that 2.4 compiles in, not before.
    newer_resources = sorted({
        f"{label}: resources.{key}"
        for label, ex in spec_doc.get("deploymentSpec", {}).get("executors", {}).items()
        for key in (ex.get("container", {}).get("resources") or {})
        if key.startswith("resource")})
    old_api = args.cluster != "vertex" and cluster.backend.version < (2, 4, 0)
    error = None
    rejected = bool(unknown) and cluster.backend.strict_create_run
    if old_api and newer_resources:
        rejected = True
        error = (f"upload refused by backend {cluster.backend.name}: unknown template format "
                 f"(its PipelineSpec has no {newer_resources[0]})")
        print(f"FAIL: {error}")
    elif vertex_load_error:
        rejected = True
        error = f"PipelineJob(template_path=...) cannot load the package: {vertex_load_error}"
        print(f"FAIL: {error}")
    elif rejected:
        first = unknown[0].split(": ", 1)
        error = (f"CreateRun refused by backend {cluster.backend.name} (HTTP 500): "
                 f"Internal error: Failed to compile job: failed to unmarshal kubernetes "
                 f"config: unknown field \"{field_name(first[1])}\" ({first[1]} in {first[0]})")
        print(f"FAIL: {error}")
    else:
        real_run_task = task_dispatcher.run_single_task_implementation
        real_execute = task_executor.execute_single_task

        def execute(**kw):
            cluster.task_name = kw["task_name"]
            cluster.task_spec = kw["task_spec"]
            cluster.io_store = kw["io_store"]
            return real_execute(**kw)

        task_executor.execute_single_task = execute
        task_dispatcher.run_single_task_implementation = \
            lambda **kw: run_task(real_run_task, **kw)
        docker_task_handler.run_docker_container = run_container
        local.init(runner=local.DockerRunner(), pipeline_root=cluster.pipeline_root,
                   raise_on_error=False)
        arguments = dict(p.split("=", 1) for p in args.param)
        try:
            pipeline_orchestrator.run_local_pipeline(pipeline_spec=spec, arguments=arguments)
        except Exception as e:  # noqa: BLE001 - the summary must still come out
            traceback.print_exc()
            error = f"the harness failed: {e!r}"
        failed = [t for t in cluster.ran if t["status"] not in ("ran", "cached")]
        if error is None and failed:
            error = f"task {failed[0]['task']} {failed[0]['status']}: {failed[0]['error']}"
        elif error is None and len(cluster.ran) != len(dag_tasks):
            error = f"{len(cluster.ran)} of {len(dag_tasks)} tasks reached"

    claim = cluster.claim_listing
    if cluster.claim_name and os.path.isdir(os.path.join(cluster.claims, cluster.claim_name)):
        claim = listing(os.path.join(cluster.claims, cluster.claim_name))
    result = {
        "ok": error is None,
        "error": error,
        "backend": cluster.backend.name,
        "rejected": rejected,
        "unknown_fields": unknown,
        "root": cluster.root,
        "namespaces": cluster.namespaces,
        "tasks": [{k: v for k, v in t.items() if k != "log"} for t in cluster.ran],
        "logs": {t["component"]: t.get("log", "") for t in cluster.ran},
        "claim_name": cluster.claim_name,
        "claim": claim or {},
        "claims_left": sorted(os.listdir(cluster.claims)),
        "executor_output": cluster.executor_output,
        "artifacts": {name: {"path": path, "bytes": size_of(path)}
                      for name, path in cluster.artifact_paths.items()},
        "outputs": {task: {name: {"path": path, "bytes": size_of(path), "metadata": meta}
                           for name, (path, meta) in arts.items()}
                    for task, arts in cluster.outputs.items()},
        "cluster": cluster.kind,
    }
    print("RESULT " + json.dumps(result))
    sys.exit(0 if error is None else 1)


if __name__ == "__main__":
    main()
