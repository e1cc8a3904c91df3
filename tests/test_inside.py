"""Tests of lstm_lit.inside (notebooks/28_inside.ipynb): looking inside the character model.

- gate_states agrees with CharLSTM.states (float64 and float32), with and without an initial state.
- text_features on a small hand-made text; cell_correlations against np.corrcoef; saturation.
- cell_html / cell_text: shading levels, escaping, newlines kept.
- The committed model of chapter 24 (experiments/charlm_model.npz), computed in float64: the
  correlations and saturation fractions the chapter quotes hold.
- One test per error path.
"""
from pathlib import Path

import numpy as np
import pytest

from lstm_lit.charlm import CharLSTM, encode, load_model, load_split
from lstm_lit.inside import (SHADES, cell_correlations, cell_html, cell_text, gate_states,
                             saturation, text_features)

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "experiments" / "charlm_model.npz"


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-4)])
@pytest.mark.parametrize("with_state", [False, True])
def test_gate_states_matches_states(dtype, tol, with_state):
    rng = np.random.default_rng(0)
    model = CharLSTM(9, 4, 5, rng, dtype=dtype)
    model.params["b"][...] = rng.normal(size=20)
    x = rng.integers(0, 9, size=(3, 11))
    state = None
    if with_state:
        state = tuple(rng.normal(size=(3, 5)).astype(dtype) for _ in range(2))
    fast, slow = gate_states(model, x, state), model.states(x, state)
    assert set(fast) == set(slow)
    for k in slow:
        assert fast[k].dtype == dtype and fast[k].shape == slow[k].shape
        assert np.abs(fast[k] - slow[k]).max() < tol, k


def test_text_features():
    text = "BOB:\nAy, me.\nNo"
    f = text_features(text)
    assert f["column"].tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1]
    assert f["speaker"].tolist() == [1, 1, 1, 1] + [0] * 11
    assert f["newline"].tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]
    assert np.flatnonzero(f["after_punct"]).tolist() == [4, 8, 12]
    assert f["word_pos"].tolist() == [1, 2, 3, 0, 0, 1, 2, 0, 0, 1, 2, 0, 0, 1, 2]
    assert all(v.shape == (len(text),) and v.dtype == np.float64 for v in f.values())


def test_cell_correlations_matches_corrcoef():
    rng = np.random.default_rng(1)
    acts = rng.normal(size=(200, 4))
    acts[:, 3] = 2.0                                    # a constant unit: r = 0
    feat = acts[:, 0] * 2 + rng.normal(size=200)
    r = cell_correlations(acts, feat)
    for j in range(3):
        assert abs(r[j] - np.corrcoef(acts[:, j], feat)[0, 1]) < 1e-12
    assert r[3] == 0.0
    assert abs(cell_correlations(acts.astype(np.float32), feat)[0] - r[0]) < 1e-5


def test_saturation():
    g = np.array([0.05, 0.5, 0.95, 0.99, 0.1, 0.9])
    assert saturation(g) == (1 / 6, 2 / 6)
    assert saturation(g, 0.2, 0.8) == (2 / 6, 3 / 6)


def test_cell_text_and_html():
    text = "a<\nbc"
    values = np.array([-1.0, 1.0, 0.0, 0.0, 5.0])
    assert cell_text(text, values) == "a<\n" + SHADES[0] + SHADES[-1] + "\nbc\n" + \
        SHADES[4] + SHADES[-1]
    page = cell_html(text, values)
    assert page.startswith("<pre") and page.endswith("</pre>")
    assert "&lt;" in page and "\n" in page and page.count("<span") == 4
    assert "hsl(210,45%,97%)" in page and "hsl(210,45%,15%);color:#fff" in page
    assert cell_text("ab", np.array([0.0, 10.0]), vmin=0.0, vmax=10.0) == "ab\n" + \
        SHADES[0] + SHADES[-1]


def test_errors():
    model = CharLSTM(9, 4, 5, np.random.default_rng(0), dtype=np.float64)
    with pytest.raises(ValueError, match=r"\(N, T\)"):
        gate_states(model, np.zeros(5, dtype=int))
    with pytest.raises(TypeError, match="str"):
        text_features(b"abc")
    with pytest.raises(ValueError):
        cell_correlations(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError):
        cell_correlations(np.zeros(5), np.zeros(5))
    with pytest.raises(ValueError, match="low < high"):
        saturation(np.zeros(3), 0.9, 0.1)
    with pytest.raises(TypeError):
        saturation([0.5], 0.1, 0.9)
    with pytest.raises(TypeError, match="str"):
        cell_html(None, np.zeros(2))
    with pytest.raises(ValueError):
        cell_html("abc", np.zeros(2))
    with pytest.raises(TypeError, match="str"):
        cell_text(3, np.zeros(2))
    with pytest.raises(ValueError, match="vmin < vmax"):
        cell_text("ab", np.zeros(2), vmin=1.0, vmax=1.0)


@pytest.mark.skipif(not MODEL.exists(), reason="the chapter 24 model is not there")
def test_committed_model_cells():
    model32, _ = load_model(MODEL)
    model = model32.astype(np.float64)
    text = load_split("validation")[:12_000]
    acts = {k: v[0] for k, v in gate_states(model, encode(text, model.vocab)[None]).items()}
    feats = text_features(text)
    best = {(name, q): np.abs(cell_correlations(acts[q], f)).max()
            for name, f in feats.items() for q in ("C", "h")}
    assert best["column", "C"] > 0.75 and best["column", "h"] > 0.75
    assert best["speaker", "h"] > 0.55 and best["word_pos", "C"] > 0.5
    assert max(best[name, q] for name in ("after_punct", "newline") for q in "Ch") < 0.4
    # the speaker unit of h is the line counter of C, seen through tanh
    j_col = int(np.argmax(np.abs(cell_correlations(acts["C"], feats["column"]))))
    j_spk = int(np.argmax(np.abs(cell_correlations(acts["h"], feats["speaker"]))))
    on = feats["speaker"] > 0
    assert j_spk == j_col and (acts["C"][on, j_col] > 0).mean() > 0.9
    assert (acts["C"][~on, j_col] > 0).mean() < 0.015
    assert acts["f"][feats["newline"] > 0, j_col].mean() < 0.1
    lo_i, hi_i = saturation(acts["i"])
    lo_o, hi_o = saturation(acts["o"])
    assert lo_i < 0.08 and 0.6 < hi_i < 0.75 and 0.28 < lo_o < 0.38 and 0.4 < hi_o < 0.5
