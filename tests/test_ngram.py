"""Tests of lstm_lit.ngram (notebooks/25_charlm_eval.ipynb): interpolated Kneser-Ney and the
unigram baseline, and the committed results in experiments/charlm_ngram.json."""
import json
from pathlib import Path

import numpy as np
import pytest

from lstm_lit.charlm import build_vocab, encode, load_split
from lstm_lit.ngram import KneserNey, unigram_bpc

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_distributions_sum_to_one_in_seen_and_unseen_contexts(n):
    rng = np.random.default_rng(n)
    train = rng.integers(0, 5, 400)
    train[train == 4] = 3                     # character 4 never occurs in training
    kn = KneserNey(train, 5, n)
    for _ in range(6):
        ctx = list(rng.integers(0, 5, n - 1))
        total = sum(kn.probabilities(np.array([0] + ctx + [w]))[-1] for w in range(5))
        assert abs(total - 1) < 1e-12
    p = kn.probabilities(np.array([0, 4, 4, 4, 4]))
    assert np.all(p > 0)                      # an unseen character keeps some mass


def test_bigram_by_hand():
    # text a b a b a c, V = 3: bigram counts ab 2, ba 2, ac 1
    data = np.array([0, 1, 0, 1, 0, 2])
    kn = KneserNey(data, 3, 2)
    D2 = kn.tables[1].D                       # n1 = 1 (ac), n2 = 2: 1 / 5
    assert D2 == pytest.approx(0.2)
    # order 1, continuation counts: b after {a}, a after {b}, c after {a}: 1 each
    D1 = kn.tables[0].D                       # n1 = 3, n2 = 0: 1
    p1_c = (max(1 - D1, 0) + D1 * 3 / 3) / 3
    p_c_after_a = (max(1 - D2, 0) + D2 * 2 * p1_c) / 3
    assert kn.probabilities(np.array([0, 2]))[0] == pytest.approx(p_c_after_a, abs=1e-15)


def test_positions_near_the_start_use_shorter_contexts():
    rng = np.random.default_rng(0)
    train, text = rng.integers(0, 4, 500), rng.integers(0, 4, 30)
    p3, p2 = KneserNey(train, 4, 3).probabilities(text), KneserNey(train, 4, 2)
    assert len(p3) == 29 and np.all(p3 > 0)
    # the first prediction has one character of context: the trigram model's lower orders
    # use continuation counts, so it differs from the raw bigram model, but is a probability
    assert 0 < p3[0] < 1 and 0 < p2.probabilities(text)[0] < 1


def test_errors():
    with pytest.raises(ValueError, match="positive int"):
        KneserNey(np.arange(5), 5, 0)
    with pytest.raises(ValueError, match=r"\[0, V\)"):
        KneserNey(np.array([0, 7, 1]), 5, 2)
    with pytest.raises(TypeError, match="1-D integer"):
        KneserNey(np.zeros(5), 5, 2)
    with pytest.raises(ValueError, match="does not fit"):
        KneserNey(np.arange(5), 70, 11)
    with pytest.raises(ValueError, match="at least n"):
        KneserNey(np.arange(3), 5, 3)
    with pytest.raises(ValueError, match=r"\[0, V\)"):
        unigram_bpc(np.arange(3), np.array([9]), 5)


def test_unigram_of_a_uniform_text():
    data = np.arange(800) % 8
    assert unigram_bpc(data, data, 8) == pytest.approx(3.0, abs=1e-12)


def test_committed_results_reproduce():
    res = json.loads((ROOT / "experiments" / "charlm_ngram.json").read_text())
    vocab = build_vocab(load_split("train"))
    assert res["V"] == len(vocab)
    train, val = encode(load_split("train"), vocab), encode(load_split("validation"), vocab)
    row = {r["model"]: r for r in res["rows"]}
    assert abs(unigram_bpc(train, val, len(vocab)) - row["unigram (add-one)"]["validation"]
               ) < 1e-9
    kn = KneserNey(train, len(vocab), 2)
    assert abs(kn.bits_per_char(val) - row["Kneser-Ney n = 2"]["validation"]) < 1e-9
    assert kn.n_params() == row["Kneser-Ney n = 2"]["params"]
    best = min(r["validation"] for r in res["rows"])
    assert best < 2.3
