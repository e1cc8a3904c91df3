"""Tests of lstm_lit.regularisation (notebooks/27_regularisation.ipynb): dropout and weight decay
for the character model.

- DropoutCharLSTM: evaluation mode gives CharLSTM's logits bit for bit; training mode with fixed masks
  (a re-seeded generator) passes a float64 gradient check; the carried state is never masked; dtype.
- RegTrainer: weight decay adds lambda W to the gradients of the weight matrices only; the same
  batches with and without dropout (masks from their own generator).
- The stored record experiments/regularisation.json: the first 200 updates of one run re-run in a
  subprocess (one OpenBLAS thread) land within 0.01 bits/char of it.
- One test per error path.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lstm_lit.charlm import CharLSTM
from lstm_lit.learning import grad_check
from lstm_lit.regularisation import DECAYED, DropoutCharLSTM, RegTrainer

ROOT = Path(__file__).resolve().parent.parent
V, D, H, N, T = 7, 3, 4, 2, 5


def small(dtype=np.float64, **kw):
    rng = np.random.default_rng(1)
    model = DropoutCharLSTM(V, D, H, rng, dtype=dtype, **kw)
    for k in ("b", "b_y"):
        model.params[k][...] = rng.normal(size=model.params[k].shape)
    x, y = rng.integers(0, V, size=(N, T)), rng.integers(0, V, size=(N, T))
    state = tuple(rng.normal(size=(N, H)).astype(dtype) for _ in range(2))
    return model, x, y, state


def test_eval_mode_is_charlstm():
    model, x, _, state = small(p_embed=0.3, p_out=0.5)
    plain = CharLSTM(V, D, H, np.random.default_rng(0), dtype=np.float64)
    plain.params = model.params
    z, final, _ = model.forward(x, state)
    z0, final0, _ = plain.forward(x, state)
    assert np.array_equal(z, z0) and all(np.array_equal(a, b) for a, b in zip(final, final0))


def test_gradient_check_fixed_masks():
    model, x, y, state = small(p_embed=0.3, p_out=0.5)

    def loss():
        return model.loss_and_grads(x, y, state, rng=np.random.default_rng(5),
                                    mode="train")[0]

    _, grads, _ = model.loss_and_grads(x, y, state, rng=np.random.default_rng(5),
                                       mode="train")
    errors = grad_check(loss, model.params, grads, verbose=False)
    assert max(errors.values()) < 1e-7


def test_state_not_masked_and_dtype():
    model, x, _, state = small(dtype=np.float32, p_embed=0.5, p_out=0.5)
    _, final_eval, _ = model.forward(x, state)
    z, final_train, cache = model.forward(x, state, rng=np.random.default_rng(0),
                                          mode="train")
    assert z.dtype == np.float32 and (cache[3] == 0).any()
    # the read-out's mask zeroes entries of h, but the carried h_T is the unmasked one
    assert (cache[3][:, -1] == 0).any() and not (final_train[0] == 0).any()
    assert model.astype(np.float64).config()["p_out"] == 0.5


def test_weight_decay_gradient():
    text = np.random.default_rng(2).integers(0, V, size=400)
    seen = {}
    for wd in (0.0, 0.1):
        m = DropoutCharLSTM(V, D, H, np.random.default_rng(3), dtype=np.float64)
        tr = RegTrainer(m, text, B=2, T=8, lr=1e-3, max_norm=1e9,
                        rng=np.random.default_rng(4), weight_decay=wd)
        store = {}
        tr.opt.step = store.update
        tr.train_step()
        seen[wd] = (m, store)
    (m0, g0), (_, g1) = seen[0.0], seen[0.1]
    for k in m0.PARAM_NAMES:
        expected = g0[k] + (0.1 * m0.params[k] if k in DECAYED else 0)
        assert np.allclose(g1[k], expected, rtol=1e-12, atol=1e-14), k


def test_same_batches_with_and_without_dropout():
    text = np.random.default_rng(2).integers(0, V, size=400)
    xs = []
    for p in (0.0, 0.4):
        m = DropoutCharLSTM(V, D, H, np.random.default_rng(3), p_embed=p, p_out=p)
        tr = RegTrainer(m, text, B=2, T=8, lr=1e-3, max_norm=5.0,
                        rng=np.random.default_rng(4), dropout_rng=np.random.default_rng(5))
        for _ in range(30):
            tr.train_step()
        xs.append(tr.batches.position())
    assert xs[0] == xs[1]


def test_errors():
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        DropoutCharLSTM(V, D, H, np.random.default_rng(0), p_out=1.0)
    with pytest.raises(TypeError, match="number"):
        DropoutCharLSTM(V, D, H, np.random.default_rng(0), p_embed="0.1")
    model, x, _, _ = small(p_out=0.5)
    with pytest.raises(TypeError, match="Generator"):
        model.forward(x, mode="train")
    with pytest.raises(ValueError, match="mode"):
        model.forward(x, mode="training")
    text = np.zeros(400, dtype=np.int64)
    with pytest.raises(ValueError, match="weight_decay"):
        RegTrainer(model, text, B=2, T=8, lr=1e-3, max_norm=5.0,
                   rng=np.random.default_rng(0), weight_decay=-1.0,
                   dropout_rng=np.random.default_rng(1))
    with pytest.raises(TypeError, match="Generator"):
        RegTrainer(model, text, B=2, T=8, lr=1e-3, max_norm=5.0,
                   rng=np.random.default_rng(0))


RERUN = """
import json, sys
sys.path.insert(0, "experiments")
import regularisation as R
from lstm_lit.charlm import build_vocab, load_split
vocab = build_vocab(load_split("train"))
rec = R.run(vocab, R.overfit_data(vocab), "dropout 0.3", steps=200)
print(json.dumps({k: rec[k] for k in ("step", "train", "validation")}))
"""


def test_stored_record_reproduces():
    stored = json.loads((ROOT / "experiments" / "regularisation.json").read_text())
    run = {r["setting"]: r for r in stored["runs"]}["dropout 0.3"]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", RERUN], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout
    live = json.loads(out)
    assert live["step"][0] == run["step"][0] == 200
    for k in ("train", "validation"):
        assert abs(live[k][0] - run[k][0]) < 0.01, k
