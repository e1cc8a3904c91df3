"""Training runs behind the numbers that chapter 15 (notebooks/15_peepholes.ipynb) quotes from a file.

Usage, from the repository root:

    .venv/bin/python experiments/peepholes.py            # writes experiments/peepholes.json

The task is lstm_lit.peepholes.interval_task: two pulses, and the class is the number of steps
between them (TIMING_HP below: 10 intervals, 6 to 15 steps, one step apart, in sequences of 40).
The same LSTM is trained with and without peepholes (lstm_lit.variants: "V" and "lstm", which
differ only in the peephole switch) from each of SEEDS, with Adam, clipping and early stopping on
a validation set (lstm_lit.training.train), in float64.

Every run is deterministic on a given machine: weights, batches, validation and test sets come
from np.random.default_rng with the seeds of ``seeds_for``. Another CPU's BLAS kernels round the
last bits differently, and over hundreds of steps a run can then stop at another check; the
chapter and tests/test_peepholes.py re-run one seed live and compare with margins. A few minutes
on one core; the results file records the time it took.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices: one thread is fastest

import contextlib
import io
import json
import sys
import time
from pathlib import Path

import numpy as np

from lstm_lit.peepholes import interval_task
from lstm_lit.training import train
from lstm_lit.variants import VariantModel

sys.path.insert(0, str(Path(__file__).resolve().parent))  # experiments/, run or loaded
from _provenance import environment  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "experiments" / "peepholes.json"

TIMING_HP = {"T": 40, "intervals": list(range(6, 16)), "H": 16, "batch_size": 32, "lr": 0.01,
             "max_norm": 1.0, "max_steps": 1200, "check_every": 25, "stop_at": 0.99,
             "forget_bias": 1.0, "dtype": "float64"}
VARIANTS = {"no peepholes": "lstm", "peepholes": "V"}
SEEDS = tuple(range(10))


def seeds_for(seed):
    """Seeds of (weights, training batches, validation set, test set) for run ``seed``.

    Weights and batches change with the seed; the validation and test sets are the same for
    every run. Both variants of a seed see the same batches.
    """
    return seed, 100 + seed, 98, 99


def run_timing(variant, seed, hp=TIMING_HP):
    """Train ``variant`` (a name in lstm_lit.variants.VARIANTS, or a CellVariant) on the
    interval task with early stopping; return a summary dict.

    Keys: seed, stop_step (the step at which the validation accuracy first reached
    hp["stop_at"] at a check, None if it never did within hp["max_steps"]), steps (taken),
    val (validation accuracy at each check), test (accuracy on the test set at the end),
    final_loss (mean training loss of the last hp["check_every"] steps).
    """
    T, H, N, dtype = hp["T"], hp["H"], hp["batch_size"], np.dtype(hp["dtype"])
    intervals = tuple(hp["intervals"])
    w_seed, data_seed, val_seed, test_seed = seeds_for(seed)
    data_rng = np.random.default_rng(data_seed)
    x_val, y_val = interval_task(500, T, np.random.default_rng(val_seed), intervals, dtype)
    x_test, y_test = interval_task(1000, T, np.random.default_rng(test_seed), intervals, dtype)
    model = VariantModel(1, H, len(intervals), np.random.default_rng(w_seed), variant,
                         kind="classification", dtype=dtype, forget_bias=hp["forget_bias"])

    def accuracy(x, y):
        return float(np.mean(model.predict(x) == y))

    with contextlib.redirect_stdout(io.StringIO()):
        hist = train(model, lambda step: interval_task(N, T, data_rng, intervals, dtype),
                     hp["max_steps"], lr=hp["lr"], max_norm=hp["max_norm"],
                     log_every=hp["check_every"],
                     monitor=lambda m: {"accuracy": accuracy(x_val, y_val)},
                     stop_at=("accuracy", hp["stop_at"]))
    val = [m["accuracy"] for _, m in hist["monitor"]]
    steps = len(hist["loss"])
    return {"seed": seed, "stop_step": steps if val and val[-1] >= hp["stop_at"] else None,
            "steps": steps, "val": val, "test": accuracy(x_test, y_test),
            "final_loss": float(np.mean(hist["loss"][-hp["check_every"]:]))}


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def main():
    start = time.perf_counter()
    results = {"command": "python experiments/peepholes.py", "timing_hp": TIMING_HP,
               "variants": VARIANTS, "runs": {name: [] for name in VARIANTS}}
    for seed in SEEDS:
        for name, variant in VARIANTS.items():
            results["runs"][name].append(run_timing(variant, seed))
            r = results["runs"][name][-1]
            log(name, seed, r["stop_step"], r["test"], round(r["final_loss"], 4))
    results["environment"] = environment(["lstm_lit", "experiments/peepholes.py"])
    results["seconds"] = round(time.perf_counter() - start, 1)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    log(f"wrote {RESULTS.relative_to(ROOT)} in {results['seconds']} s")


if __name__ == "__main__":
    main()
