"""Training runs behind the comparison that chapter 23 (notebooks/23_cnn_lstm.ipynb) quotes from a file.

Usage, from the repository root:

    .venv/bin/python experiments/cnn_lstm.py            # writes experiments/cnn_lstm.json

Trains the CNN-LSTM and the plain LSTM of the chapter (equal parameter budgets, about 1 680 each) on
the motif task with lstm_lit.cnn_lstm.run_motif_experiment and MOTIF_RECIPE (T = 150, 2000 training
sequences, 20 epochs, Adam, float64), seeds 0-4 for each model. Every run is deterministic on a given
machine (seeded weights, batch order and data). Training amplifies last-bit differences between
BLAS kernels, so another CPU may give slightly different accuracies; the chapter and
tests/test_cnn_lstm.py re-run the first epochs of seed 0 live and compare with margins.

Wall-clock seconds per epoch are recorded as measured (single thread, on a shared machine: they vary
with the load); the chapter uses them only for a loose comparison.
Run time: a few minutes of one core (longer on a loaded machine); the file records the time it took.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices: one thread is fastest

import json
import sys
import time
from pathlib import Path

import numpy as np

from lstm_lit.cnn_lstm import MOTIF_RECIPE, run_motif_experiment

sys.path.insert(0, str(Path(__file__).resolve().parent))  # experiments/, run or loaded
from _provenance import environment  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "experiments" / "cnn_lstm.json"
MODELS = ("cnn_lstm", "lstm")
SEEDS = (0, 1, 2, 3, 4)


def main():
    start = time.perf_counter()
    results = {"command": "python experiments/cnn_lstm.py", "recipe": MOTIF_RECIPE,
               "runs": []}
    filters = None
    for seed in SEEDS:
        for name in MODELS:
            run, model = run_motif_experiment(name, seed)
            results["runs"].append(run)
            if name == "cnn_lstm" and seed == 0:
                filters = model.params["Wc"][:, 0, :].T.astype(float).round(4).tolist()
            print(f"{name:>8} seed {seed}: val {run['val'][-1]:.3f} test {run['test']:.3f} "
                  f"{np.median(run['epoch_seconds']):.2f} s/epoch", file=sys.stderr, flush=True)
    results["filters_seed0"] = filters      # the 7 learned filters (F, K) of seed 0's CNN-LSTM
    results["environment"] = environment(["lstm_lit/cnn_lstm.py", "experiments/cnn_lstm.py"])
    results["seconds"] = round(time.perf_counter() - start, 1)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)} in {results['seconds']} s", file=sys.stderr)


if __name__ == "__main__":
    main()
