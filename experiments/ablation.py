"""Training runs behind chapter 18 (notebooks/18_ablation.ipynb): which parts of the LSTM matter.

Usage, from the repository root:

    .venv/bin/python experiments/ablation.py            # writes experiments/ablation.json

Each of Greff et al.'s eight cells (lstm_lit.ablation.ABLATION_VARIANTS: V, NIG, NFG, NOG, NIAF,
NOAF, NP, CIFG, from the switchable cell lstm_lit.variants) is trained on three small tasks
(lstm_lit.ablation.ABLATION_TASKS: the adding problem, a long lag; latest_value_task, continual
input; the interval task of chapter 15, timing) from each of ABLATION_SEEDS, with one shared recipe
(ABLATION_HP: H = 16, T = 40, at most 600 Adam steps, early stopping on a validation set, float64).
The runs are lstm_lit.ablation.ablation_run, one after another in one process.

Every run is deterministic on a given machine: weights, batches, validation and test sets come
from np.random.default_rng with the seeds of lstm_lit.ablation.ablation_seeds. Another CPU's BLAS
kernels round the last bits differently, and over hundreds of steps a run can then stop at another
check; the chapter and tests/test_ablation.py re-run one run live and compare with margins. The
results file records the command, versions, git commit and the time the runs took.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices: one thread is fastest

import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from lstm_lit.ablation import (ABLATION_HP, ABLATION_INTERVALS, ABLATION_SEEDS, ABLATION_TASKS,
                               ABLATION_VARIANTS, ablation_run)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "experiments" / "ablation.json"


def environment():
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--", "lstm_lit",
                                  "experiments/ablation.py"], cwd=ROOT,
                                 capture_output=True, text=True, check=True).stdout.split("\n")
        changed = sorted(line[3:] for line in changed
                         if line.strip() and not line.endswith("_modidx.py"))
    except (OSError, subprocess.CalledProcessError):
        commit, changed = None, None
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    return {"python": platform.python_version(), "numpy": np.__version__,
            "blas": blas.get("openblas configuration", blas.get("name")),
            "machine": platform.machine(), "git_commit": commit,
            "uncommitted_changes": changed,
            "env": {k: os.environ[k] for k in ("OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE",
                                               "NPY_DISABLE_CPU_FEATURES") if k in os.environ}}


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def main():
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    results = {"command": "python experiments/ablation.py", "hp": ABLATION_HP,
               "variants": list(ABLATION_VARIANTS), "tasks": {k: list(v) for k, v in
                                                              ABLATION_TASKS.items()},
               "intervals": list(ABLATION_INTERVALS), "seeds": list(ABLATION_SEEDS),
               "environment": environment(), "complete": False, "runs": []}
    for task in ABLATION_TASKS:
        for variant in ABLATION_VARIANTS:
            for seed in ABLATION_SEEDS:
                run = ablation_run(task, variant, seed)
                results["runs"].append(run)
                log(task, variant, seed, "stop", run["stop_step"], "test", run["test"],
                    f"{time.perf_counter() - start_wall:.0f} s")
            results["seconds"] = round(time.perf_counter() - start_wall, 1)
            results["cpu_seconds"] = round(time.process_time() - start_cpu, 1)
            RESULTS.write_text(json.dumps(results, indent=1) + "\n")   # partial results
    results["complete"] = True
    results["seconds"] = round(time.perf_counter() - start_wall, 1)
    results["cpu_seconds"] = round(time.process_time() - start_cpu, 1)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    log(f"wrote {RESULTS.relative_to(ROOT)} in {results['seconds']} s "
        f"({results['cpu_seconds']} s of CPU)")


if __name__ == "__main__":
    main()
