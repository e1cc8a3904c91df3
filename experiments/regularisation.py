"""Training runs behind chapter 27 (notebooks/27_regularisation.ipynb): overfitting and regularisation.

Usage, from the repository root:

    .venv/bin/python experiments/regularisation.py     # writes experiments/regularisation.json

The character model of chapter 24 (D = 32, H = 128, float32) trained on one whole play of the
training split (lstm_lit.regularisation.SLICE_PLAYS, 84,685 characters) for 2,600 updates of
B = 16 streams x T = 64 characters (Adam, lr 3e-3, clipping at 5), about 31 passes over the play.
Every 200 updates it measures bits per character in evaluation mode on the first 40,000 characters of
that play and of the validation split (lstm_lit.regularisation.train_curves). Three settings, one
seed (0) each: no regularisation, dropout p = 0.3 (on the embedding and on h before the read-out),
L2 weight decay 1e-3 (added to the gradients of the weight matrices). Seed s
draws the weights from default_rng(s), the epoch offsets from default_rng(1000 + s) (the same batches
for every setting) and the dropout masks from default_rng(2000 + s). Deterministic on a given machine;
another CPU's float32 kernels change the last bits and the differences grow with training, so the
chapter and tests/test_regularisation.py re-run only the first 200 updates and compare with a margin.
About two and a half minutes of one core in all ("cpu_seconds", summed over the settings;
"seconds" is the wall time, longer on a shared machine). The settings are independent: --jobs 3
runs them in three processes at once, with the same results (the stored file was made so).
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices: one thread is fastest

import json
import sys
import time
from pathlib import Path

import numpy as np

from lstm_lit.charlm import build_vocab, load_split
from lstm_lit.regularisation import DECAYED, overfit_data, train_curves

sys.path.insert(0, str(Path(__file__).resolve().parent))  # experiments/, run or loaded
from _provenance import environment  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "experiments" / "regularisation.json"

HP = {"D": 32, "H": 128, "B": 16, "T": 64, "lr": 3e-3, "max_norm": 5.0, "steps": 2600,
      "every": 200, "dtype": "float32"}
SETTINGS = {"none": {"p_embed": 0.0, "p_out": 0.0, "weight_decay": 0.0},
            "dropout 0.3": {"p_embed": 0.3, "p_out": 0.3, "weight_decay": 0.0},
            "decay 1e-3": {"p_embed": 0.0, "p_out": 0.0, "weight_decay": 1e-3}}
SEED = 0


def run(vocab, data, setting, steps=None, log=None):
    """Train one setting; return its record (curves, best and final validation bpc)."""
    hp = {k: v for k, v in HP.items() if k not in ("steps", "every", "dtype")}
    model, hist = train_curves(vocab, data, steps=steps or HP["steps"], every=HP["every"],
                               seed=SEED, dtype=np.dtype(HP["dtype"]),
                               **hp, **SETTINGS[setting], log=log)
    best = int(np.argmin(hist["validation"]))
    return {"setting": setting, **hist,
            "best_validation": hist["validation"][best], "best_step": hist["step"][best],
            "final_validation": hist["validation"][-1], "final_train": hist["train"][-1],
            "weight_norm": float(np.sqrt(sum(np.sum(model.params[k].astype(np.float64) ** 2)
                                             for k in DECAYED)))}


def run_setting(setting):
    """One setting, with its CPU time (a process of its own under --jobs)."""
    cpu_start = time.process_time()
    vocab = build_vocab(load_split("train"))
    data = overfit_data(vocab)
    record = run(vocab, data, setting, log=lambda s, tr, va: print(
        f"{setting:>12} {s:5d} train {tr:.3f} validation {va:.3f}", file=sys.stderr,
        flush=True))
    record["cpu_seconds"] = round(time.process_time() - cpu_start, 1)
    return record


def main():
    jobs = int(sys.argv[sys.argv.index("--jobs") + 1]) if "--jobs" in sys.argv else 1
    start = time.perf_counter()
    vocab = build_vocab(load_split("train"))
    results = {"command": "python experiments/regularisation.py", "hp": HP,
               "settings": SETTINGS, "seed": SEED,
               "chars": {k: int(len(v)) for k, v in overfit_data(vocab).items()},
               "jobs": jobs}
    if jobs > 1:
        from multiprocessing import Pool
        with Pool(jobs) as pool:
            results["runs"] = pool.map(run_setting, list(SETTINGS))
    else:
        results["runs"] = [run_setting(setting) for setting in SETTINGS]
    results["environment"] = environment(["lstm_lit/regularisation.py", "lstm_lit/charlm.py",
                                          "experiments/regularisation.py"])
    results["seconds"] = round(time.perf_counter() - start, 1)
    results["cpu_seconds"] = round(sum(r["cpu_seconds"] for r in results["runs"]), 1)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)} in {results['seconds']} s", file=sys.stderr)


if __name__ == "__main__":
    main()
