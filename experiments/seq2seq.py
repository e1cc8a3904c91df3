"""Training runs behind the numbers chapter 22 (notebooks/22_seq2seq.ipynb) reads from a file.

Usage, from the repository root:

    .venv/bin/python experiments/seq2seq.py      # writes experiments/seq2seq.json and seq2seq.npz

Trains the chapter's two encoder-decoders, without and with additive attention, on the reversal of
digit strings of lengths 3 to 12 (HP below), for each seed in SEEDS, and measures the exact-match
accuracy of greedy decoding on a held-out test set (drawn first, from its own seed; training draws
skip its strings), overall and per input length. Seed 0's trained parameters go into
experiments/seq2seq.npz for the chapter's figures (float64, compressed, well under 1 MB).

About 3 minutes of one core (the file records the wall-clock and CPU time it took).
Deterministic: every random draw comes from np.random.default_rng with the seeds below, and the
training runs in float64 on one thread; the chapter and tests/test_seq2seq.py re-run the first
LOSS_CHECK_STEP steps of seed 0 live and re-evaluate the stored parameters.
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

from lstm_lit.seq2seq import (AttentionSeq2Seq, Seq2Seq, digits_of, exact_match,
                              reversal_task, source_lengths)
from lstm_lit.training import train

sys.path.insert(0, str(Path(__file__).resolve().parent))  # experiments/, run or loaded
import _provenance  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "experiments" / "seq2seq.json"
PARAMS = ROOT / "experiments" / "seq2seq.npz"

HP = {"E": 16, "H": 32, "min_len": 3, "max_len": 12, "batch_size": 64, "lr": 0.01,
      "max_norm": 1.0, "steps": 3000, "n_test": 2000, "test_seed": 100, "dtype": "float64"}
MODELS = {"plain": Seq2Seq, "attention": AttentionSeq2Seq}
SEEDS = (0, 1)
LOSS_CHECK_STEP = 50    # the chapter and the tests re-run this many steps of seed 0 live


def test_set(hp=HP):
    """The held-out test set: (src (n_test, max_len), tgt (n_test, max_len + 1))."""
    return reversal_task(hp["n_test"], np.random.default_rng(hp["test_seed"]),
                         hp["min_len"], hp["max_len"])


def run(name, seed, hp=HP, steps=None):
    """Train model ``name`` (a key of MODELS) with seed ``seed``; return (model, losses).

    Weights come from default_rng(10 * seed), training batches from default_rng(10 * seed + 1);
    the batches never hold a test-set string. ``steps`` defaults to hp["steps"].
    """
    src_test, _ = test_set(hp)
    held_out = digits_of(src_test)
    model = MODELS[name](hp["E"], hp["H"], np.random.default_rng(10 * seed),
                         dtype=np.dtype(hp["dtype"]))
    data_rng = np.random.default_rng(10 * seed + 1)

    def batch(step):
        return reversal_task(hp["batch_size"], data_rng, hp["min_len"], hp["max_len"],
                             exclude=held_out)

    with contextlib.redirect_stdout(io.StringIO()):
        hist = train(model, batch, hp["steps"] if steps is None else steps, lr=hp["lr"],
                     max_norm=hp["max_norm"], log_every=0)
    return model, hist["loss"]


def evaluate(model, hp=HP):
    """Exact-match accuracy of greedy decoding on the test set: overall, and per length."""
    src, tgt = test_set(hp)
    pred, _ = model.translate(src)
    ok = exact_match(pred, tgt)
    lengths = source_lengths(src)
    per_length = {str(L): float(ok[lengths == L].mean())
                  for L in range(hp["min_len"], hp["max_len"] + 1)}
    counts = {str(L): int((lengths == L).sum()) for L in range(hp["min_len"], hp["max_len"] + 1)}
    return {"accuracy": float(ok.mean()), "per_length": per_length, "count": counts}


def environment():
    """_provenance.environment in this file's own layout: no BLAS line, the commit "unknown"
    outside git, and OPENBLAS_NUM_THREADS at the top level (null when it is not set)."""
    record = _provenance.environment(blas=False, variables=())
    del record["env"]
    record["git_commit"] = record["git_commit"] or "unknown"
    record["OPENBLAS_NUM_THREADS"] = os.environ.get("OPENBLAS_NUM_THREADS")
    return record


def main():
    start, cpu_start = time.perf_counter(), time.process_time()
    results = {"command": "python experiments/seq2seq.py", "environment": environment(),
               "hp": HP, "seeds": list(SEEDS), "loss_check_step": LOSS_CHECK_STEP, "runs": {}}
    stored = {}
    for name in MODELS:
        results["runs"][name] = []
        for seed in SEEDS:
            t0 = time.process_time()
            model, losses = run(name, seed)
            seconds = time.process_time() - t0
            record = {"seed": seed, "cpu_seconds": round(seconds, 1),
                      "loss_at_check_step": float(losses[LOSS_CHECK_STEP - 1]),
                      "final_loss_mean_100": float(losses[-100:].mean()),
                      "loss_every_100": [float(losses[k:k + 100].mean())
                                         for k in range(0, len(losses), 100)],
                      **evaluate(model)}
            results["runs"][name].append(record)
            print(f"{name:>9} seed {seed}: accuracy {record['accuracy']:.3f}, "
                  f"{seconds:.0f} s", flush=True)
            if seed == 0:
                stored.update({f"{name}/{k}": v for k, v in model.params.items()})
    np.savez_compressed(PARAMS, **stored)
    results["params_file"] = PARAMS.name
    results["seconds"] = round(time.perf_counter() - start, 1)
    results["cpu_seconds"] = round(time.process_time() - cpu_start, 1)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)} and {PARAMS.relative_to(ROOT)} "
          f"in {results['seconds']:.0f} s ({results['cpu_seconds']:.0f} s of CPU)")


if __name__ == "__main__":
    sys.exit(main())
