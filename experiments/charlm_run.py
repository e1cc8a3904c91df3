"""The full-size character-level LSTM run of notebooks/24_charlm.ipynb.

Usage: OPENBLAS_NUM_THREADS=1 python experiments/charlm_run.py

Runs `python -m lstm_lit.charlm train` (in-process, through lstm_lit.charlm.main) with the
settings below, then evaluates the final model on the whole validation and test plays.
Writes:
  experiments/charlm_model.npz          the trained model (parameters only, float32)
  experiments/charlm_step<N>.npz        the model at earlier steps (for notebooks/26_sampling)
  experiments/charlm_run.json           command, versions, git commit, run time, results
The training checkpoint (with Adam's state) goes to a temporary folder and is not kept.
Deterministic: seeded, single-threaded BLAS.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import io
import json
import platform
import shutil
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # experiments/, run or loaded

from lstm_lit.charlm import (evaluate_bpc, encode, load_model, load_split, main,  # noqa
                             save_model)

from _provenance import git_commit  # noqa: E402

STEPS = 4000
SNAPSHOTS = (100, 300, 1000)
ARGS = ["--steps", str(STEPS), "--hidden", "128", "--embed", "32", "--batch", "32",
        "--seq", "64", "--lr", "3e-3", "--clip", "5", "--seed", "0",
        "--log-every", "100", "--val-every", "500", "--val-chars", "100000",
        "--checkpoint-every", "500", "--snapshots", ",".join(map(str, SNAPSHOTS))]
SLICE = 20_000   # the unit test re-evaluates the first SLICE characters of the test plays


class Tee(io.TextIOBase):
    def __init__(self, *streams):
        self.streams = streams

    def write(self, s):
        for st in self.streams:
            st.write(s)
            st.flush()
        return len(s)


def run():
    out_dir = ROOT / "experiments"
    log = io.StringIO()
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = Path(tmp) / "charlm.npz"
        t0 = time.perf_counter()
        with redirect_stdout(Tee(sys.stdout, log)):
            status = main(["train", "--checkpoint", str(ckpt), *ARGS])
        train_seconds = time.perf_counter() - t0
        assert status == 0, status
        model, meta = load_model(ckpt)
        save_model(out_dir / "charlm_model.npz", model, {"step": STEPS})
        for s in SNAPSHOTS:
            shutil.copy(ckpt.with_name(f"charlm.step{s}.npz"),
                        out_dir / f"charlm_step{s}.npz")
    t1 = time.perf_counter()
    results = {}
    for split in ("validation", "test"):
        data = encode(load_split(split), model.vocab)
        results[split] = {"bpc": evaluate_bpc(model, data), "chars": int(len(data))}
    test = encode(load_split("test"), model.vocab)
    results["test_slice"] = {"chars": SLICE, "bpc": evaluate_bpc(model, test[:SLICE])}
    eval_seconds = time.perf_counter() - t1
    lines = [ln for ln in log.getvalue().splitlines() if "chars/s" in ln]
    speeds = [float(ln.rsplit("  ", 1)[1].split()[0].replace(",", "")) for ln in lines]
    record = {
        "command": "python -m lstm_lit.charlm train --checkpoint runs/charlm.npz "
                   + " ".join(ARGS),
        "script": "OPENBLAS_NUM_THREADS=1 python experiments/charlm_run.py",
        "python": platform.python_version(), "numpy": np.__version__,
        "git_commit": git_commit(), "machine": platform.machine(),
        "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "train_seconds": train_seconds, "eval_seconds": eval_seconds,
        "median_chars_per_second": float(np.median(speeds)),
        "config": model.config(), "n_params": model.n_params(),
        "steps": STEPS, "snapshots": list(SNAPSHOTS),
        "history": meta["history"], "results": results,
        "log": log.getvalue().splitlines(),
    }
    (out_dir / "charlm_run.json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"validation {results['validation']['bpc']:.4f}, test {results['test']['bpc']:.4f}"
          f" bits/char; training {train_seconds:.0f} s")


if __name__ == "__main__":
    run()
