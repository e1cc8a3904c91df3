"""Training runs and timings behind the numbers that chapter 16 (notebooks/16_cifg.ipynb) quotes.

Usage, from the repository root:

    .venv/bin/python experiments/cifg.py            # writes experiments/cifg.json

Two cells from lstm_lit.variants, identical but for one switch: Part III's LSTM ("lstm") and the
same cell with coupled input and forget gates, i_t = 1 - f_t ("coupled"; no peepholes in either).
What it runs (a few minutes on one core; the results file records the time it took):
- "adding":  chapter 12's adding-problem recipe (T = 100, H = 32, float32, Adam 0.01, clipping at 1,
             at most 600 steps, validation every 50 steps, stop at 99% solved), seeds 0-4 with
             chapter 12's seeds. Forget bias 5 for both; input bias -3 for the LSTM (the coupled
             cell has no input bias: its input gate starts at 1 - sigmoid(5)).
- "timing":  chapter 15's timing task and recipe (experiments/peepholes.py, run_timing), seeds 0-7.
- "time_per_step": forward + backward of a batch (N = 32, T = 50, D = 32, float32) at H = 32 and
             H = 128, the minimum of REPEATS alternating measurements per cell (process CPU time).

Every training run is deterministic on a given machine (seeded generators). Another CPU's BLAS
kernels round differently, so a run can stop at a neighbouring check there; the chapter and
tests/test_cifg.py re-run one seed live and compare with margins. Timings depend on the machine and
its load; the chapter quotes only their ratio, asserted loosely.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _provenance import environment  # noqa: E402
from peepholes import TIMING_HP, log, run_timing  # noqa: E402

from lstm_lit.tasks import adding_problem, adding_solved  # noqa: E402
from lstm_lit.training import train  # noqa: E402
from lstm_lit.variants import (CellVariant, VariantModel, init_variant,  # noqa: E402
                               variant_backward, variant_forward)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "experiments" / "cifg.json"

VARIANTS = {"lstm": {}, "coupled": {"coupled": True}}    # CellVariant switches
ADDING_HP = {"T": 100, "H": 32, "batch_size": 32, "lr": 0.01, "max_norm": 1.0,
             "max_steps": 600, "forget_bias": 5.0, "input_bias": -3.0, "dtype": "float32",
             "check_every": 50, "stop_at": 0.99}
ADDING_SEEDS = (0, 1, 2, 3, 4)
TIMING_SEEDS = tuple(range(8))
TIMING_SIZES = {"N": 32, "T": 50, "D": 32, "H": (32, 128), "dtype": "float32"}
REPEATS = 7


def cell(name):
    """The CellVariant of VARIANTS[name]."""
    return CellVariant(**VARIANTS[name])


def run_adding(name, seed, hp=ADDING_HP):
    """Train VARIANTS[name] on chapter 12's adding recipe; return a summary dict.

    Seeds as in experiments/training_runs.py: weights 10 * seed, batches 10 * seed + 1,
    validation set 2, test set 3. Keys: seed, stop_step (None if the validation threshold was
    never reached), steps, val (solved fraction at each check), test (solved fraction on 1000
    test sequences), final_loss (mean training loss of the last check_every steps).
    """
    T, H, N, dtype = hp["T"], hp["H"], hp["batch_size"], np.dtype(hp["dtype"])
    data_rng = np.random.default_rng(10 * seed + 1)
    x_val, y_val = adding_problem(500, T, np.random.default_rng(2), dtype)
    x_test, y_test = adding_problem(1000, T, np.random.default_rng(3), dtype)
    variant = cell(name)
    biases = {"forget_bias": hp["forget_bias"]}
    if not variant.coupled:
        biases["input_bias"] = hp["input_bias"]
    model = VariantModel(2, H, 1, np.random.default_rng(10 * seed), variant, dtype=dtype,
                         **biases)

    def solved(x, y):
        return float(np.mean(adding_solved(model.predict(x), y)))

    with contextlib.redirect_stdout(io.StringIO()):
        hist = train(model, lambda step: adding_problem(N, T, data_rng, dtype),
                     hp["max_steps"], lr=hp["lr"], max_norm=hp["max_norm"],
                     log_every=hp["check_every"],
                     monitor=lambda m: {"solved": solved(x_val, y_val)},
                     stop_at=("solved", hp["stop_at"]))
    val = [m["solved"] for _, m in hist["monitor"]]
    steps = len(hist["loss"])
    return {"seed": seed, "stop_step": steps if val and val[-1] >= hp["stop_at"] else None,
            "steps": steps, "val": val, "test": solved(x_test, y_test),
            "final_loss": float(np.mean(hist["loss"][-hp["check_every"]:]))}


def time_per_step(H, sizes=TIMING_SIZES, repeats=REPEATS):
    """Process CPU seconds of one forward + backward pass over a batch, per cell variant:
    the minimum over ``repeats`` measurements, the variants alternating."""
    N, T, D, dtype = sizes["N"], sizes["T"], sizes["D"], np.dtype(sizes["dtype"])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, T, D)).astype(dtype)
    z = np.zeros((N, H), dtype=dtype)
    dh = rng.normal(size=(N, T, H)).astype(dtype)
    params = {name: init_variant(D, H, rng, cell(name), dtype=dtype) for name in VARIANTS}
    best = {name: np.inf for name in VARIANTS}
    for _ in range(repeats):
        for name in VARIANTS:
            start = time.process_time()
            _, _, cache = variant_forward(x, z, z, params[name], cell(name))
            variant_backward(dh, cache)
            best[name] = min(best[name], time.process_time() - start)
    return best


def main():
    start = time.perf_counter()
    results = {"command": "python experiments/cifg.py", "variants": VARIANTS,
               "adding_hp": ADDING_HP, "timing_hp": TIMING_HP, "timing_sizes": TIMING_SIZES,
               "adding": {name: [] for name in VARIANTS},
               "timing": {name: [] for name in VARIANTS}}
    results["time_per_step"] = {str(H): time_per_step(H) for H in TIMING_SIZES["H"]}
    log("time per step", results["time_per_step"])
    for seed in ADDING_SEEDS:
        for name in VARIANTS:
            r = run_adding(name, seed)
            results["adding"][name].append(r)
            log("adding", name, seed, r["stop_step"], r["test"])
    for seed in TIMING_SEEDS:
        for name in VARIANTS:
            r = run_timing(cell(name), seed)
            results["timing"][name].append(r)
            log("timing", name, seed, r["stop_step"], r["test"])
    results["environment"] = environment(["lstm_lit", "experiments/cifg.py"])
    results["seconds"] = round(time.perf_counter() - start, 1)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    log(f"wrote {RESULTS.relative_to(ROOT)} in {results['seconds']} s")


if __name__ == "__main__":
    main()
