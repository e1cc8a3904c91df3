"""Training runs behind the depth comparison of chapter 19 (notebooks/19_stacked.ipynb).

Usage, from the repository root:

    .venv/bin/python experiments/stacked.py            # writes experiments/stacked.json

Does stacking LSTM layers help on the book's small tasks? Five architectures, each trained with
five seeds on two tasks, in float64, with one recipe (Adam, lr 0.01, global-norm clipping at 1,
batches of 32 fresh sequences, 500 steps, every layer starting from the library's default biases):
- "1x16": one layer of H = 16; "2x16" and "3x16": two and three layers of H = 16;
- "1x36": one layer of H = 36, about the parameter count of "3x16" (depth against width);
- "2x16-drop": "2x16" with dropout p = 0.25 between the layers (training mode; evaluation without).
Tasks (sequences of T = 30 steps, a read-out of the top layer's last state, mean squared error):
- "adding": the adding problem (chapter 3), 2 inputs per step;
- "sine": the next clean value of a noisy sine window (chapter 3's sine_windows, noise 0.1).
Seed s draws the weights from default_rng(s), the training batches from default_rng(1000 + s) (the
same batches for every architecture) and the dropout masks from default_rng(2000 + s); the test set
(1000 sequences) is fixed per task. Every run is deterministic on a given machine; on another CPU
the last bits of the BLAS products differ, and the stored numbers are reproduced to a small
tolerance (the chapter and tests/test_stacked.py re-run one run and compare).
About two minutes of one core ("cpu_seconds" in the file; "seconds" is the wall time, longer on a
shared machine).
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices: one thread is fastest

import json
import sys
import time
from pathlib import Path

import numpy as np

from lstm_lit.stacked import StackedLSTMModel
from lstm_lit.tasks import adding_problem, adding_solved, sine_windows
from lstm_lit.training import train

sys.path.insert(0, str(Path(__file__).resolve().parent))  # experiments/, run or loaded
from _provenance import environment  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "experiments" / "stacked.json"

HP = {"T": 30, "batch_size": 32, "steps": 500, "lr": 0.01, "max_norm": 1.0,
      "dtype": "float64", "test_size": 1000, "curve_every": 25, "sine_noise": 0.1}
VARIANTS = {"1x16": {"L": 1, "H": 16, "dropout": 0.0},
            "2x16": {"L": 2, "H": 16, "dropout": 0.0},
            "3x16": {"L": 3, "H": 16, "dropout": 0.0},
            "1x36": {"L": 1, "H": 36, "dropout": 0.0},
            "2x16-drop": {"L": 2, "H": 16, "dropout": 0.25}}
TASKS = {"adding": {"D": 2, "test_seed": 100}, "sine": {"D": 1, "test_seed": 101}}
SEEDS = (0, 1, 2, 3, 4)


def make_data(task, n, rng):
    """(x (n, T, D), y (n, 1)) for a task name."""
    if task == "adding":
        return adding_problem(n, HP["T"], rng)
    return sine_windows(n, HP["T"], rng, noise=HP["sine_noise"])


def test_set(task):
    return make_data(task, HP["test_size"], np.random.default_rng(TASKS[task]["test_seed"]))


def build(task, variant, seed):
    spec = VARIANTS[variant]
    return StackedLSTMModel(TASKS[task]["D"], spec["H"], 1, spec["L"],
                            np.random.default_rng(seed), dropout=spec["dropout"],
                            dropout_rng=np.random.default_rng(2000 + seed))


def run(task, variant, seed):
    """Train one model; return its record (test MSE, solved fraction, training curve)."""
    model = build(task, variant, seed)
    batches = np.random.default_rng(1000 + seed)
    hist = train(model, lambda step: make_data(task, HP["batch_size"], batches),
                 HP["steps"], lr=HP["lr"], max_norm=HP["max_norm"], log_every=0)
    x_test, y_test = test_set(task)
    pred = model.predict(x_test)                              # evaluation mode
    k = HP["curve_every"]
    record = {"task": task, "variant": variant, "seed": seed,
              "params": int(sum(p.size for p in model.params.values())),
              "test_mse": float(np.mean((pred - y_test) ** 2)),
              "curve": [float(v) for v in hist["loss"].reshape(-1, k).mean(axis=1)]}
    if task == "adding":
        record["solved"] = float(np.mean(adding_solved(pred, y_test)))
    return record


def baseline_mse(task):
    """Test MSE of the best constant guess (the training targets' mean is about the
    test set's; the test variance is the bar)."""
    _, y_test = test_set(task)
    return float(np.var(y_test))


def main():
    start, cpu_start = time.perf_counter(), time.process_time()
    results = {"command": "python experiments/stacked.py", "hp": HP, "variants": VARIANTS,
               "seeds": list(SEEDS),
               "baseline_mse": {task: baseline_mse(task) for task in TASKS}, "runs": []}
    for task in TASKS:
        for variant in VARIANTS:
            for seed in SEEDS:
                record = run(task, variant, seed)
                results["runs"].append(record)
                print(task, variant, seed, f"{record['test_mse']:.5f}", file=sys.stderr,
                      flush=True)
    results["environment"] = environment(["lstm_lit", "experiments/stacked.py"])
    results["seconds"] = round(time.perf_counter() - start, 1)
    results["cpu_seconds"] = round(time.process_time() - cpu_start, 1)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)} in {results['seconds']} s", file=sys.stderr)


if __name__ == "__main__":
    main()
