"""The count-based baselines of notebooks/25_charlm_eval.ipynb.

Usage: python experiments/charlm_ngram.py

Fits the unigram model (add-one) and interpolated Kneser-Ney models of order n = 1 .. 7
(lstm_lit.ngram.KneserNey) on the training plays, in the character LSTM's vocabulary
(build_vocab of the training text), and evaluates each on the whole validation
and test plays. Writes experiments/charlm_ngram.json: command, versions, git commit, run
time, and per model the bits per character, the number of stored counts and the fitting
time, and the share of the validation n-grams (n = 2 .. 7) never seen in training.
Deterministic (integer counting, float64 arithmetic).
"""
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # experiments/, run or loaded

from lstm_lit.charlm import build_vocab, encode, load_split  # noqa: E402
from lstm_lit.ngram import KneserNey, _gram_ids, unigram_bpc  # noqa: E402

from _provenance import git_commit  # noqa: E402

ORDERS = tuple(range(1, 8))


def run():
    t_start = time.perf_counter()
    vocab = build_vocab(load_split("train"))     # the vocabulary of the LSTM
    data = {s: encode(load_split(s), vocab) for s in ("train", "validation", "test")}
    V = len(vocab)
    rows = []
    t0 = time.perf_counter()
    uni = {s: unigram_bpc(data["train"], data[s], V) for s in ("validation", "test")}
    rows.append({"model": "unigram (add-one)", "n": 1, "validation": uni["validation"],
                 "test": uni["test"], "params": V,
                 "fit_seconds": time.perf_counter() - t0})
    for n in ORDERS:
        t0 = time.perf_counter()
        kn = KneserNey(data["train"], V, n)
        fit = time.perf_counter() - t0
        rows.append({"model": f"Kneser-Ney n = {n}", "n": n,
                     "validation": kn.bits_per_char(data["validation"]),
                     "test": kn.bits_per_char(data["test"]), "params": kn.n_params(),
                     "fit_seconds": fit, "discounts": [t.D for t in kn.tables]})
        print(f"n = {n}: validation {rows[-1]['validation']:.4f}, "
              f"test {rows[-1]['test']:.4f} bits/char, {kn.n_params():,} counts, "
              f"fit {fit:.1f} s", flush=True)
    seen_unseen = {}
    for n in range(2, 8):     # share of the validation n-grams never seen in training
        seen = np.unique(_gram_ids(data["train"], n, V))
        seen_unseen[str(n)] = float(np.mean(~np.isin(_gram_ids(data["validation"], n, V),
                                                      seen)))
    record = {
        "command": "python experiments/charlm_ngram.py",
        "python": platform.python_version(), "numpy": np.__version__,
        "git_commit": git_commit(), "seconds": time.perf_counter() - t_start,
        "V": V, "chars": {s: int(len(d)) for s, d in data.items()},
        "rows": rows, "unseen_validation_ngrams": seen_unseen,
    }
    (ROOT / "experiments" / "charlm_ngram.json").write_text(json.dumps(record, indent=1)
                                                            + "\n")


if __name__ == "__main__":
    run()
