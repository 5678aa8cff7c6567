#!/usr/bin/env python3
"""Peak memory of the notebook's Rust kernel, for the room's sizing
(docs/WORKSHOP.md, "One image for the room").

    python3 bench/kernel-memory.py            # the notebook as shipped, worked answers
    python3 bench/kernel-memory.py --full     # the lab's cells at the competition's size

Executes the worked notebook (.ci/solve-notebook) with nbconvert and samples,
every 0.2 s, the resident memory of the kernel's process tree: the kernel
(evcxr_jupyter and the copy of it that runs the cells, which holds the
frames; that copy's peak is also given alone) apart from the compilers it starts (cargo, rustc, the linker), whose peak
is the build's, not the data's. --full writes the competition's period of
synthetic data (2018-01-01 to 2021-09-21, about 24.2 million rows, as
`crypto-lab synth --full`) and stops before the exercises (each one
retrains). Prints one JSON line. Needs what .ci/check-notebook needs
(jupyter and evcxr_jupyter on PATH, the project built).
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NB = os.path.join(ROOT, "notebooks", "g_research_crypto_forecasting.ipynb")
COMPILERS = {"cargo", "rustc", "cc", "ld", "mold", "ld.mold", "collect2", "x86_64-linux-gnu-gcc"}


def parent(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def tree(pid):
    """pid and its descendants, from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            children.setdefault(parent(int(entry)), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def rss_and_name(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        return int(fields.get("VmRSS", "0 kB").split()[0]) * 1024, fields["Name"].strip()
    except (OSError, KeyError, ValueError):
        return 0, ""


def main():
    full = "--full" in sys.argv[1:]
    work = tempfile.mkdtemp(prefix="crypto-lab-kernel-memory-")
    solved = os.path.join(ROOT, "notebooks", ".solved-memory.ipynb")
    subprocess.run([sys.executable, os.path.join(ROOT, ".ci", "solve-notebook"), NB,
                    os.path.join(ROOT, "docs", "WORKSHOP.md"), solved], check=True)
    nb = json.load(open(solved))
    if full:
        cells = nb["cells"]
        first_exercise = next(i for i, c in enumerate(cells)
                              if "exercise" in c.get("metadata", {}).get("tags", []))
        nb["cells"] = [c for c in cells[:first_exercise]]
        for c in nb["cells"]:
            src = "".join(c["source"])
            if 'date("2021-04-22")?' in src:
                src = src.replace('date("2021-04-22")?', 'date("2018-01-01")?').replace(
                    'date("2021-05-06")?', 'date("2021-09-21")?')
                c["source"] = src
        json.dump(nb, open(solved, "w"))
    env = dict(os.environ, CRYPTO_LAB_DATA=os.path.join(work, "data"))
    start = time.time()
    proc = subprocess.Popen(
        ["jupyter", "nbconvert", "--to", "notebook", "--execute", solved, "--output-dir", work,
         "--ExecutePreprocessor.timeout=7200", "--ExecutePreprocessor.kernel_name=rust",
         "--log-level", "WARN"], env=env)
    peak = {"kernel": 0, "compilers": 0, "tree": 0, "runner": 0}
    done = threading.Event()

    def sample():
        while not done.is_set():
            kernel = compilers = runner = 0
            evcxr = set()
            for pid in tree(proc.pid)[1:]:
                rss, name = rss_and_name(pid)
                if name in COMPILERS or name.startswith("rustc"):
                    compilers += rss
                elif name.startswith("evcxr") or name == "ctx":
                    kernel += rss
                    # The kernel starts a copy of itself that loads and runs
                    # the cells: it holds the frames; its parent, the kernel
                    # proper, holds the compiler's view of the crates.
                    if parent(pid) in evcxr:
                        runner += rss
                    evcxr.add(pid)
            peak["runner"] = max(peak["runner"], runner)
            peak["kernel"] = max(peak["kernel"], kernel)
            peak["compilers"] = max(peak["compilers"], compilers)
            peak["tree"] = max(peak["tree"], kernel + compilers)
            time.sleep(0.2)

    t = threading.Thread(target=sample)
    t.start()
    rc = proc.wait()
    done.set()
    t.join()
    os.remove(solved)
    rows = None
    try:
        with open(os.path.join(work, "data", "train.csv")) as f:
            rows = sum(1 for _ in f) - 1
    except OSError:
        pass
    print(json.dumps({
        "size": "full (2018-01-01..2021-09-21, lab's cells)" if full else "notebook (2021-04-22..2021-05-06, every cell)",
        "train_csv_rows": rows,
        "nbconvert_exit": rc,
        "seconds": round(time.time() - start, 1),
        "kernel_peak_mib": round(peak["kernel"] / 2**20),
        "cell_runner_peak_mib": round(peak["runner"] / 2**20),
        "compilers_peak_mib": round(peak["compilers"] / 2**20),
        "tree_peak_mib": round(peak["tree"] / 2**20),
    }))
    subprocess.run(["rm", "-rf", work])
    sys.exit(rc)


if __name__ == "__main__":
    main()
