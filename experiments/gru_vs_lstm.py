"""GRU against LSTM at (about) equal parameter count: the numbers chapter 17 (notebooks/17_gru.ipynb)
quotes from a file.

Usage, from the repository root:

    .venv/bin/python experiments/gru_vs_lstm.py            # writes experiments/gru_vs_lstm.json

Both models read the sequence and answer from their last state (lstm_lit.training's LSTMModel and
lstm_lit.gru's GRUModel), trained by lstm_lit.training.train with chapter 12's recipe: T = 100,
batches of 32 fresh sequences, Adam at lr 0.01, gradient clipping at norm 1, at most 600 steps, float32,
early stopping once 99% of a validation set of 500 sequences is solved (adding problem, |error| < 0.04)
or classified correctly (temporal order), checked every 50 (adding) or 25 (order) steps.

Models (parameter counts include the read-out):
- "lstm":       H = 32, forget bias 5, input bias -3 (chapter 12's long-lag initialisation);
- "gru":        H = 37 (about the LSTM's parameter count), update bias 5: z starts at sigma(5), each unit
                keeps 99.3% of its state per step, the GRU's counterpart of the forget bias 5;
- "gru_bias0":  H = 37, update bias 0 (init_gru's default), fewer seeds: what the bias is worth.
Seeds: run s uses weights seed 10 s + base, batches seed 10 s + base + 1, validation and test sets
base + 2 and base + 3 (base 0 for the adding problem, 10 for temporal order), the seeds of chapter 12's
experiments/training_runs.py, so that "lstm" repeats chapter 12's runs. The two models of one seed see
the same batches, validation and test sets.

Wall time per training step (loss, gradients, clipping and the Adam update; median of repeated timed
blocks, the models interleaved) is measured on one fixed batch per task; the file records the machine.
Every run is deterministic on a given machine; float32 training amplifies last-bit differences between
BLAS kernels, so on another CPU a run may stop at another check (chapter 17 and tests/test_gru.py
compare with margins).
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

from lstm_lit.gru import GRUModel
from lstm_lit.tasks import adding_problem, adding_solved, temporal_order
from lstm_lit.training import LSTMModel, train

sys.path.insert(0, str(Path(__file__).resolve().parent))  # experiments/, run or loaded
from _provenance import environment  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# The code these runs depend on; uncommitted edits to it are recorded with the results.
WATCHED = ["lstm_lit/gru.py", "lstm_lit/training.py", "lstm_lit/lstm.py",
           "lstm_lit/lstm_backward.py", "lstm_lit/tasks.py", "experiments/gru_vs_lstm.py"]
RESULTS = ROOT / "experiments" / "gru_vs_lstm.json"

HP = {"T": 100, "batch_size": 32, "lr": 0.01, "max_norm": 1.0, "max_steps": 600,
      "dtype": "float32", "stop_at": 0.99, "check_every": {"adding": 50, "order": 25}}
MODELS = {"lstm": {"cell": "lstm", "H": 32, "forget_bias": 5.0, "input_bias": -3.0},
          "gru": {"cell": "gru", "H": 37, "update_bias": 5.0},
          "gru_bias0": {"cell": "gru", "H": 37, "update_bias": 0.0}}
TASKS = ("adding", "order")
SEEDS = {"lstm": (0, 1, 2, 3, 4), "gru": (0, 1, 2, 3, 4), "gru_bias0": (0, 1)}
TIMING = {"models": ("lstm", "gru"), "steps": 10, "repeats": 7}


def seeds_for(seed, task):
    """(weights, batches, validation set, test set) seeds of run ``seed`` on ``task``."""
    base = 0 if task == "adding" else 10
    return 10 * seed + base, 10 * seed + base + 1, base + 2, base + 3


def make_model(name, task, rng):
    """A fresh model ``name`` (a key of MODELS) for ``task``, float32."""
    spec = MODELS[name]
    D, O, kind = (2, 1, "regression") if task == "adding" else (8, 4, "classification")
    dtype = np.dtype(HP["dtype"])
    if spec["cell"] == "lstm":
        return LSTMModel(D, spec["H"], O, rng, kind=kind, dtype=dtype,
                         forget_bias=spec["forget_bias"], input_bias=spec["input_bias"])
    return GRUModel(D, spec["H"], O, rng, kind=kind, dtype=dtype,
                    update_bias=spec["update_bias"])


def task_data(task):
    return adding_problem if task == "adding" else temporal_order


def score(model, task, x, y):
    """Solved fraction (adding) or accuracy (order) of ``model`` on (x, y)."""
    if task == "adding":
        return float(np.mean(adding_solved(model.predict(x), y)))
    return float(np.mean(model.predict(x) == y))


def run(name, task, seed):
    """Train model ``name`` on ``task`` with seed ``seed``; return a summary dict.

    Keys: model, task, seed, params (number of scalars), stop_step (the step of the check that
    reached the threshold, None if none did within max_steps), steps (taken), val (the
    validation score at each check), test (score on 1000 test sequences at the end),
    seconds (wall time of the training run, checks included).
    """
    T, N, dtype = HP["T"], HP["batch_size"], np.dtype(HP["dtype"])
    w_seed, data_seed, val_seed, test_seed = seeds_for(seed, task)
    make = task_data(task)
    data_rng = np.random.default_rng(data_seed)
    x_val, y_val = make(500, T, np.random.default_rng(val_seed), dtype)
    x_test, y_test = make(1000, T, np.random.default_rng(test_seed), dtype)
    model = make_model(name, task, np.random.default_rng(w_seed))
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        hist = train(model, lambda step: make(N, T, data_rng, dtype), HP["max_steps"],
                     lr=HP["lr"], max_norm=HP["max_norm"],
                     log_every=HP["check_every"][task],
                     monitor=lambda m: {"score": score(m, task, x_val, y_val)},
                     stop_at=("score", HP["stop_at"]))
    seconds = time.perf_counter() - start
    val = [m["score"] for _, m in hist["monitor"]]
    steps = len(hist["loss"])
    return {"model": name, "task": task, "seed": seed,
            "params": int(sum(p.size for p in model.params.values())),
            "stop_step": steps if val and val[-1] >= HP["stop_at"] else None,
            "steps": steps, "val": val, "test": score(model, task, x_test, y_test),
            "seconds": round(seconds, 2)}


def time_steps(task):
    """Median wall time (s) of one training step per model, on one fixed batch of ``task``."""
    dtype = np.dtype(HP["dtype"])
    batch = task_data(task)(HP["batch_size"], HP["T"], np.random.default_rng(99), dtype)
    models = {name: make_model(name, task, np.random.default_rng(0))
              for name in TIMING["models"]}
    times = {name: [] for name in models}
    for name, model in models.items():                       # warm-up
        train(model, lambda step: batch, 2, log_every=0)
    for _ in range(TIMING["repeats"]):
        for name, model in models.items():                   # interleaved
            start = time.perf_counter()
            train(model, lambda step: batch, TIMING["steps"], lr=HP["lr"],
                  max_norm=HP["max_norm"], log_every=0)
            times[name].append((time.perf_counter() - start) / TIMING["steps"])
    return {name: float(np.median(t)) for name, t in times.items()}


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def main():
    start = time.perf_counter()
    results = {"command": "python experiments/gru_vs_lstm.py", "hp": HP, "models": MODELS,
               "seeds": {k: list(v) for k, v in SEEDS.items()}, "runs": []}
    for task in TASKS:
        for name in MODELS:
            for seed in SEEDS[name]:
                results["runs"].append(run(name, task, seed))
                r = results["runs"][-1]
                log(task, name, seed, r["stop_step"], r["test"], r["seconds"])
    results["seconds_per_step"] = {task: time_steps(task) for task in TASKS}
    log("seconds per step", results["seconds_per_step"])
    results["timing"] = {**TIMING, "models": list(TIMING["models"]),
                         "note": "median over repeats of (wall time of `steps` training steps on "
                                 "one fixed batch) / steps; single process, one BLAS thread, "
                                 "on a shared machine whose load was not controlled"}
    results["environment"] = environment(WATCHED, cpu=True)
    results["seconds"] = round(time.perf_counter() - start, 1)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    log(f"wrote {RESULTS.relative_to(ROOT)} in {results['seconds']} s")


if __name__ == "__main__":
    main()
