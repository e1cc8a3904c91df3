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
import sys
import time
from pathlib import Path

from lstm_lit.ablation import (ABLATION_HP, ABLATION_INTERVALS, ABLATION_SEEDS, ABLATION_TASKS,
                               ABLATION_VARIANTS, ablation_run)

sys.path.insert(0, str(Path(__file__).resolve().parent))  # experiments/, run or loaded
from _provenance import environment  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "experiments" / "ablation.json"


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def main():
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    results = {"command": "python experiments/ablation.py", "hp": ABLATION_HP,
               "variants": list(ABLATION_VARIANTS), "tasks": {k: list(v) for k, v in
                                                              ABLATION_TASKS.items()},
               "intervals": list(ABLATION_INTERVALS), "seeds": list(ABLATION_SEEDS),
               "environment": environment(["lstm_lit", "experiments/ablation.py"]),
               "complete": False, "runs": []}
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
