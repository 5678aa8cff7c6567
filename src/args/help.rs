//! The long help texts of the subcommands whose `--help` teaches more than
//! their flags.

use crate::kfp::client::PORT_FORWARD;

pub(super) const DOWNLOAD_ABOUT: &str = "Lab stage download_data: get the competition archive and extract the lab's files.

Credentials (Kaggle source), first found wins; they are never printed or written:
  KAGGLE_API_TOKEN            an API token, or the path of a file holding one (Bearer)
  KAGGLE_USERNAME, KAGGLE_KEY username and API key (HTTP Basic)
  --secret-dir DIR            a mounted Kubernetes secret: files `username` and `key` (or `password`)
  $KAGGLE_CONFIG_DIR/kaggle.json, ~/.kaggle/kaggle.json, ~/.config/kaggle/kaggle.json

Before the first download, accept the competition's rules on kaggle.com while signed in.
The archive goes to DIR/<dataset>.zip (a cut download resumes from DIR/<dataset>.zip.part);
only the wanted members are extracted, each checked and written atomically.";

pub(super) const DOCTOR_ABOUT: &str =
    "Check that this machine is ready for the workshop; run it the day before.

It only looks: it runs `--version`-style commands and `jupyter kernelspec list`,
reads files and folder listings, and sends at most two short HTTP requests. It
builds, installs and writes nothing.

One line per check: ok, warn or missing, a short detail, and for anything not ok
the command that fixes it.
  rust             cargo and rustc on PATH; cargo >= 1.91 (.cargo/config.toml builds for host-tuple)
  c/c++ compiler   cc and g++ (LightGBM's C++)
  clang/libclang   clang and libclang (bindgen, for LightGBM's Rust bindings)
  cmake            CMake >= 3.28 (LightGBM 4.7)
  jupyter          jupyter on PATH with JupyterLab or Notebook
  rust kernel      the `rust` kernel registered (evcxr_jupyter --install), evcxr_jupyter on PATH
  kernel build     warm (polars and LightGBM built in target/: first cell about 1 min)
                   or cold (the first cell compiles everything, ~15 min on 2 cores)
  linker           mold on PATH (evcxr links each cell with it: quicker cells)
  build env        RUSTFLAGS or CARGO_TARGET_DIR set (the kernel would rebuild everything)
  font             a TrueType font for the charts (CRYPTO_LAB_FONT, CRYPTO_LAB_FONT_SEARCH)
  kaggle           where credentials were found (never their value), and whether the
                   competition's rules are accepted (asks Kaggle; offline: not checked)
  disk             free space in --data-path for the full data set
  kfp              with --kfp-host: GET HOST/apis/v2beta1/healthz

Exit status 0 when the workshop path works: nothing is `missing` (build tools, Jupyter
and the Rust kernel, a font; and the KFP host when one is given). Warnings (a cold
kernel build, no Kaggle credentials, little disk for the full data) do not fail it:
the notebook then runs slower, or on synthetic data.";

/// `submit --help`'s text; the port-forward line is the one the client's
/// connection error gives.
pub(super) fn submit_about() -> String {
    format!(
        "Send the lab's pipeline to Kubeflow Pipelines and start a run, as kfp.Client does,
over the KFP REST API (v2beta1):

  1. the server: its healthz says its KFP release and whether it is multi-user (then
     --namespace is required); nothing is uploaded before these checks pass;
  2. the pipeline: exported here for that release with the same options as export-kfp
     (--kfp-version overrides), or --package FILE, refused when that release would refuse
     it; uploaded as a new pipeline, or as a new version of the pipeline of that name;
  3. the experiment: found by name, created when missing;
  4. the run: created with the --param values; its UI link is printed;
  5. with --wait: each pipeline task's state as it changes, then the run's; a hint when a
     task's pod waits past --pending-hint; the exit status is 0 only when the run
     SUCCEEDED (otherwise the failed tasks, their pods and the kept volume claim are
     named, with the kubectl commands). --timeout bounds the wait.

--host is the address the KFP UI is served at. From a workstation:
  {PORT_FORWARD}
  crypto-lab submit --host http://localhost:8080 --image REGISTRY/crypto-lab:0.1.0 \\
      --storage-class STANDARD_CLASS --param source=kaggle --wait

Credentials, as kfp.Client finds them (never printed):
  --token TOKEN, else $KF_PIPELINES_TOKEN     sent as `Authorization: Bearer TOKEN`
  else the file $KF_PIPELINES_SA_TOKEN_PATH   (default /var/run/secrets/kubeflow/pipelines/token,
                                              the ServiceAccount token in a notebook pod)
  --cookie 'authservice_session=...'          a Dex/Istio session cookie (from a signed-in browser)
A token for a profile: kubectl create token default-editor -n NAMESPACE --audience pipelines.kubeflow.org
Prefer $KF_PIPELINES_TOKEN to --token: command lines are visible to other users.

Run parameters of the exported pipeline: dataset (the Kaggle competition) and source (kaggle,
an http(s) URL of the same archive, or a zip path inside the image). data_path is not one:
every step works on the volume, mounted at --data-path."
    )
}
