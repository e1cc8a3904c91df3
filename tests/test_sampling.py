"""Tests of lstm_lit.sampling (notebooks/26_sampling.ipynb) and of `python -m lstm_lit.charlm sample`."""
from pathlib import Path

import numpy as np
import pytest

from lstm_lit.charlm import CharLSTM, build_vocab, load_model, main
from lstm_lit.sampling import draw, generate, generate_batch, next_distribution

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "experiments" / "charlm_model.npz"


def test_next_distribution_temperature_and_top_k():
    rng = np.random.default_rng(0)
    s = rng.normal(size=(3, 7))
    g = next_distribution(s, temperature=0)
    assert np.array_equal(g.argmax(1), s.argmax(1)) and np.all(g.sum(1) == 1)
    assert np.array_equal(next_distribution(s, top_k=1), g)
    p = next_distribution(s, temperature=0.5, top_k=3)
    assert np.all(np.count_nonzero(p, axis=1) == 3)
    assert np.allclose(p.sum(1), 1, atol=1e-12)
    p1 = next_distribution(s)
    e = np.exp(s - s.max(1, keepdims=True))
    assert np.allclose(p1, e / e.sum(1, keepdims=True), atol=1e-15)
    hot, cold = next_distribution(s, temperature=2.0), next_distribution(s, temperature=0.5)
    assert np.all(hot.max(1) < p1.max(1)) and np.all(cold.max(1) > p1.max(1))
    assert np.array_equal(next_distribution(s, top_k=50), p1)


def test_next_distribution_errors():
    s = np.zeros((1, 3))
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="temperature"):
            next_distribution(s, temperature=bad)
    with pytest.raises(ValueError, match="top_k"):
        next_distribution(s, top_k=0)
    with pytest.raises(ValueError, match=r"\(N, V\)"):
        next_distribution(np.zeros(3))


def test_draw_frequencies_and_seed():
    p = np.array([[0.1, 0.0, 0.6, 0.3]])
    k = draw(np.repeat(p, 100_000, axis=0), np.random.default_rng(0))
    freq = np.bincount(k, minlength=4) / len(k)
    assert np.max(np.abs(freq - p[0])) < 0.01 and freq[1] == 0
    a = draw(np.repeat(p, 10, axis=0), np.random.default_rng(3))
    b = draw(np.repeat(p, 10, axis=0), np.random.default_rng(3))
    assert np.array_equal(a, b)


def test_generate_is_reproducible_and_matches_the_batch_version():
    vocab = build_vocab("abc abc\nab\n" * 10, min_count=1)
    m = CharLSTM(vocab, 4, 8, np.random.default_rng(0), dtype=np.float64)
    a = generate(m, "ab", 30, np.random.default_rng(1))
    assert a == generate(m, "ab", 30, np.random.default_rng(1)) and len(a) == 30
    assert set(a) <= set(vocab)
    assert generate_batch(m, "ab", 30, np.random.default_rng(1), 1) == [a]
    batch = generate_batch(m, "ab", 20, np.random.default_rng(1), 3)
    assert len(batch) == 3 and all(len(t) == 20 for t in batch)
    assert generate(m, "", 0, np.random.default_rng(0)) == ""
    g0 = generate(m, "a", 15, np.random.default_rng(0), temperature=0)
    assert g0 == generate(m, "a", 15, np.random.default_rng(9), top_k=1)


def test_generate_errors():
    m = CharLSTM(5, 2, 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="no vocabulary"):
        generate(m, "a", 3, np.random.default_rng(0))
    mv = CharLSTM(build_vocab("ab", 1), 2, 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="n must be"):
        generate(mv, "a", -1, np.random.default_rng(0))
    with pytest.raises(TypeError, match="str"):
        generate(mv, b"a", 3, np.random.default_rng(0))


def test_sample_command(capsys):
    assert main(["sample", "--checkpoint", str(MODEL), "--length", "80",
                 "--prompt", "HAMLET:\\n", "--temperature", "0.8", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    model, _ = load_model(MODEL)
    expected = generate(model.astype(np.float64), "HAMLET:\n", 80, np.random.default_rng(3),
                        temperature=0.8)
    assert out == "HAMLET:\n" + expected + "\n"
