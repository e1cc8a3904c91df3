"""Training runs behind chapter 14 (notebooks/14_forget_origin.ipynb): the LSTM with and without
a forget gate on the continual embedded Reber stream.

Usage, from the repository root:

    .venv/bin/python experiments/forget_origin.py    # writes experiments/forget_origin.json
                                                     # and experiments/forget_origin.npz

"seconds" in the JSON is the wall-clock time, "cpu_seconds" the processor time of the run (the
two differ on a shared machine); "environment" is recorded when the run starts. Every run is
deterministic on a given machine (float64; weights, training streams and test streams come from
np.random.default_rng with the seeds below). What it runs:

- for each cell ("lstm": Part III's cell with its forget gate; "lstm1997": the same cell with
  f_t = 1, Hochreiter & Schmidhuber 1997) and each training regime ("stream": one endless stream
  per batch row, state carried across chunks of 25 steps, gradient truncated at each chunk;
  "strings": separate embedded Reber strings, each read from a zero state, the 1997 setting), three
  seeds of HP (H = 8, 16 streams or strings per batch, 2000 Adam steps);
- tests of every trained model: the one-shot test (separate strings from a zero state), and the
  continual test streams: accuracy per string position along STRING_TEST streams, and accuracy,
  long-lag accuracy and cell-state size in windows along LONG_TEST streams.

The trained parameters of seed 0 of every configuration go to experiments/forget_origin.npz
(keys "<cell>/<regime>/<name>"), which the chapter loads.
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

from lstm_lit.variants import (NextSymbolModel, ReberStream, one_shot_scores, reber_batch,
                                string_scores, window_scores)
from lstm_lit.training import train

sys.path.insert(0, str(Path(__file__).resolve().parent))  # experiments/, run or loaded
from _provenance import environment  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "experiments" / "forget_origin.json"
PARAMS = ROOT / "experiments" / "forget_origin.npz"

HP = {"H": 8, "batch_size": 16, "chunk": 25, "steps": 2000, "lr": 0.01, "max_norm": 1.0,
      "forget_bias": 1.0, "dtype": "float64", "log_every": 100}
CELLS = ("lstm", "lstm1997")
REGIMES = ("stream", "strings")
SEEDS = (0, 1, 2)
ONE_SHOT_TEST = {"strings": 2000, "seed": 900}
STRING_TEST = {"streams": 100, "strings": 30, "seed": 901}
LONG_TEST = {"streams": 4, "windows": 20, "window": 500, "seed": 902}


def seeds_for(seed):
    """Seeds of (weights, training data) for run ``seed``; the test sets are shared."""
    return 100 + seed, 200 + seed


def make_model(cell, regime, seed, hp=HP):
    w_seed, _ = seeds_for(seed)
    return NextSymbolModel(hp["H"], np.random.default_rng(w_seed), cell,
                           dtype=np.dtype(hp["dtype"]), forget_bias=hp["forget_bias"],
                           carry=(regime == "stream"))


def batches(regime, seed, hp=HP):
    """get_batch for ``train``: the next chunk of the training streams, or fresh strings."""
    _, data_seed = seeds_for(seed)
    rng = np.random.default_rng(data_seed)
    N, dtype = hp["batch_size"], np.dtype(hp["dtype"])
    if regime == "stream":
        stream = ReberStream(N, rng, dtype=dtype)

        def get_batch(step):
            c = stream.chunk(hp["chunk"])
            return c.x, c.y
    else:
        def get_batch(step):
            c = reber_batch(N, rng, dtype=dtype)
            return c.x, c.y
    return get_batch


def train_run(cell, regime, seed, hp=HP, steps=None):
    """Train one configuration; return (model, loss logged every hp["log_every"] steps)."""
    model = make_model(cell, regime, seed, hp)
    steps = hp["steps"] if steps is None else steps
    with contextlib.redirect_stdout(io.StringIO()):
        hist = train(model, batches(regime, seed, hp), steps, lr=hp["lr"],
                     max_norm=hp["max_norm"], log_every=0)
    k = hp["log_every"]
    curve = [float(np.mean(hist["loss"][i:i + k])) for i in range(0, steps, k)]
    return model, curve


def evaluate(model):
    """All the tests of one trained model (shared test seeds)."""
    dtype = model.dtype
    batch = reber_batch(ONE_SHOT_TEST["strings"],
                        np.random.default_rng(ONE_SHOT_TEST["seed"]), dtype=dtype)
    t = STRING_TEST
    strings = string_scores(model, ReberStream(t["streams"], np.random.default_rng(t["seed"]),
                                               dtype=dtype), t["strings"])
    t = LONG_TEST
    long = window_scores(model, ReberStream(t["streams"], np.random.default_rng(t["seed"]),
                                            dtype=dtype), t["windows"], t["window"])
    return {"one_shot": one_shot_scores(model, batch), "string_correct": strings.tolist(),
            "long": long}


def main():
    start, cpu_start = time.perf_counter(), time.process_time()
    # the code this run uses, as it starts
    env = environment(["lstm_lit/variants.py", "experiments/forget_origin.py"], blas=False)
    results = {"command": "python experiments/forget_origin.py", "hp": HP,
               "one_shot_test": ONE_SHOT_TEST, "string_test": STRING_TEST,
               "long_test": LONG_TEST, "runs": []}
    arrays = {}
    for cell in CELLS:
        for regime in REGIMES:
            for seed in SEEDS:
                t0 = time.perf_counter()
                model, curve = train_run(cell, regime, seed)
                run = {"cell": cell, "regime": regime, "seed": seed, "loss": curve,
                       **evaluate(model)}
                results["runs"].append(run)
                if seed == 0:
                    for name, value in model.params.items():
                        arrays[f"{cell}/{regime}/{name}"] = value
                print(cell, regime, seed, f"{time.perf_counter() - t0:.0f} s",
                      run["one_shot"], run["long"]["critical"][-1],
                      run["long"]["mean_abs_C"][-1], file=sys.stderr, flush=True)
    results["environment"] = env
    results["seconds"] = round(time.perf_counter() - start, 1)            # wall clock
    results["cpu_seconds"] = round(time.process_time() - cpu_start, 1)    # this process
    np.savez(PARAMS, **arrays)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)} in {results['seconds']} s", file=sys.stderr)


if __name__ == "__main__":
    main()
