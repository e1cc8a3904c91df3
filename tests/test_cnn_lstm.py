"""Tests of lstm_lit.cnn_lstm (chapter 23): the 1-D convolution, max pooling, the CNN-LSTM, the motif
task and the committed results of experiments/cnn_lstm.py.

- Agreement with PyTorch: every array in tests/fixtures/torch_conv1d_*.npz (written by
  tools/make_conv_fixtures.py with nn.Conv1d, optionally followed by ReLU and nn.MaxPool1d, in float64)
  is reproduced to 1e-10 after an explicit layout conversion; when torch is importable, a live
  comparison on random shapes, strides and paddings.
- Float64 finite-difference checks of conv1d_backward (stride > 1, padding), maxpool1d_backward and the
  whole CNNLSTMModel.
- Properties (stride S = stride 1 subsampled), dtype preservation, the motif generator, bad inputs.
- experiments/cnn_lstm.json: complete, made with MOTIF_RECIPE, the claims chapter 23 makes, and a live
  re-run of the first epochs of seed 0 of the CNN-LSTM.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lstm_lit.cnn_lstm import (MOTIF_CLASSES, MOTIF_LENGTH, MOTIF_RECIPE, MOTIFS, CNNLSTMModel,
                               conv1d_backward, conv1d_forward, conv1d_from_torch,
                               conv1d_output_length, conv1d_to_torch, init_conv1d,
                               maxpool1d_backward, maxpool1d_forward, motif_model, motif_signals)
from lstm_lit.learning import grad_check, relu_backward, relu_forward
from torch_fixtures import assert_close, fixture_paths, load
from experiment_files import assert_provenance, load_results

ROOT = Path(__file__).resolve().parent.parent
# the nn.Conv1d cases of tools/make_conv_fixtures.py
FIXTURES = fixture_paths("conv1d_a", "conv1d_b", "conv1d_c", "conv1d_d")


def chain(x, W, b, stride, padding, pool, dout):
    """conv (-> ReLU -> max pool when pool > 0) forward and backward, lstm_lit's layout."""
    a, conv_cache = conv1d_forward(x, W, b, stride, padding)
    out = a
    if pool:
        r, relu_cache = relu_forward(a)
        out, pool_cache = maxpool1d_forward(r, pool)
        dout = relu_backward(maxpool1d_backward(dout, pool_cache), relu_cache)
    return (out,) + conv1d_backward(dout, conv_cache)


# ---------------------------------------------------------------- agreement with PyTorch (fixtures)

def test_fixtures_exist_and_record_torch_version():
    assert len(FIXTURES) >= 4
    strides, paddings, pools = set(), set(), set()
    for path in FIXTURES:
        d = load(path)
        assert str(d["torch_version"]).startswith("2.")
        assert d["x"].dtype == np.float64 and np.all(d["bias"] != 0)
        F, D, K = d["weight"].shape
        assert D != F and d["x"].shape[1] == D and path.stat().st_size < 16_000
        strides.add(int(d["stride"]))
        paddings.add(int(d["padding"]))
        pools.add(int(d["pool"]))
    assert {1, 2, 3} <= strides and {0, 1, 2} <= paddings and {0, 3} <= pools


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_reproduces_torch_fixture(path):
    d = load(path)
    p = conv1d_from_torch({"weight": d["weight"], "bias": d["bias"]})
    # torch: x (N, D, T), out (N, F, T'), weight (F, D, K); lstm_lit: (N, T, D), (N, T', F), (K, D, F)
    out, dx, dW, db = chain(d["x"].transpose(0, 2, 1), p["W"], p["b"], int(d["stride"]),
                            int(d["padding"]), int(d["pool"]), d["R"].transpose(0, 2, 1))
    assert_close(out.transpose(0, 2, 1), d["out"], "out")
    assert_close(dx.transpose(0, 2, 1), d["grad_x"], "grad x")
    assert_close(conv1d_to_torch({"W": dW, "b": db})["weight"], d["grad_weight"], "grad weight")
    assert_close(db, d["grad_bias"], "grad bias")


def test_layout_conversion_round_trip():
    p = init_conv1d(3, 5, 4, np.random.default_rng(0))
    p["b"] = np.arange(5.0)
    state = conv1d_to_torch(p)
    assert state["weight"].shape == (5, 3, 4) and state["weight"].flags["C_CONTIGUOUS"]
    assert np.array_equal(state["weight"][:, :, 2], p["W"][2].T)       # weight[:, :, k] = W_k
    back = conv1d_from_torch(state)
    assert np.array_equal(back["W"], p["W"]) and np.array_equal(back["b"], p["b"])
    no_bias = conv1d_from_torch({"weight": state["weight"]})
    assert np.array_equal(no_bias["b"], np.zeros(5))


# ---------------------------------------------------------------- agreement with PyTorch (live)

@pytest.mark.parametrize("seed", range(3))
def test_live_against_torch_random_shapes(seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(200 + seed)
    N, D, F, K = (int(v) for v in rng.integers(1, 6, size=4))
    S, P = int(rng.integers(1, 4)), int(rng.integers(0, 3))
    T = K + int(rng.integers(0, 9))
    conv = torch.nn.Conv1d(D, F, K, stride=S, padding=P).double()
    with torch.no_grad():
        conv.bias.copy_(torch.from_numpy(rng.normal(size=F)))
    x = torch.from_numpy(rng.normal(size=(N, D, T))).requires_grad_(True)
    out = conv(x)
    R = rng.normal(size=tuple(out.shape))
    (out * torch.from_numpy(R)).sum().backward()
    p = conv1d_from_torch(conv.state_dict())                 # torch tensors accepted
    y, cache = conv1d_forward(x.detach().numpy().transpose(0, 2, 1), p["W"], p["b"], S, P)
    dx, dW, db = conv1d_backward(R.transpose(0, 2, 1), cache)
    assert y.shape[1] == conv1d_output_length(T, K, S, P) == out.shape[2]
    assert_close(y.transpose(0, 2, 1), out.detach().numpy(), "out")
    assert_close(dx.transpose(0, 2, 1), x.grad.numpy(), "grad x")
    assert_close(dW.transpose(2, 1, 0), conv.weight.grad.numpy(), "grad weight")
    assert_close(db, conv.bias.grad.numpy(), "grad bias")


def test_live_to_torch_loads_into_torch_float32():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    p = init_conv1d(2, 3, 4, rng, dtype=np.float32)
    p["b"] = rng.normal(size=3).astype(np.float32)
    conv = torch.nn.Conv1d(2, 3, 4, stride=2, padding=1)
    conv.load_state_dict({k: torch.from_numpy(v) for k, v in conv1d_to_torch(p).items()})
    x = rng.normal(size=(2, 9, 2)).astype(np.float32)
    y, _ = conv1d_forward(x, p["W"], p["b"], 2, 1)
    with torch.no_grad():
        ref = conv(torch.from_numpy(x.transpose(0, 2, 1).copy())).numpy().transpose(0, 2, 1)
    assert y.dtype == np.float32
    assert_close(y, ref, "float32 out", tol=1e-5)


# ---------------------------------------------------------------- gradient checks (float64)

@pytest.mark.parametrize("S, P, K", [(1, 0, 3), (2, 1, 4), (3, 2, 5), (2, 0, 1)])
def test_conv1d_grad_check(S, P, K):
    rng = np.random.default_rng(S * 10 + P)
    x, W, b = rng.normal(size=(2, 8, 3)), rng.normal(size=(K, 3, 2)), rng.normal(size=2)
    y, cache = conv1d_forward(x, W, b, S, P)
    dy = rng.normal(size=y.shape)
    dx, dW, db = conv1d_backward(dy, cache)
    errs = grad_check(lambda: conv1d_forward(x, W, b, S, P)[0], {"x": x, "W": W, "b": b},
                      {"x": dx, "W": dW, "b": db}, df=dy, verbose=False)
    assert max(errs.values()) < 1e-7


def test_maxpool_grad_check():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(2, 10, 3))
    u, cache = maxpool1d_forward(z, 4)                       # 2 windows, 2 steps dropped
    du = rng.normal(size=u.shape)
    dz = maxpool1d_backward(du, cache)
    errs = grad_check(lambda: maxpool1d_forward(z, 4)[0], {"z": z}, {"z": dz}, df=du,
                      verbose=False)
    assert max(errs.values()) < 1e-7 and u.shape == (2, 2, 3) and np.all(dz[:, 8:] == 0)
    assert np.array_equal(u, z[:, :8].reshape(2, 2, 4, 3).max(axis=2))


@pytest.mark.parametrize("stride, padding, pool", [(1, 0, 1), (2, 1, 2), (1, 2, 3)])
def test_model_grad_check(stride, padding, pool):
    model = CNNLSTMModel(2, 3, 3, 4, 3, np.random.default_rng(pool), stride=stride,
                         padding=padding, pool=pool, kind="classification")
    r = np.random.default_rng(10 + pool)
    for value in model.params.values():
        value += r.normal(scale=0.3, size=value.shape)
    x, y = r.normal(size=(2, 13, 2)), np.array([1, 2])
    loss, grads = model.loss_and_grads(x, y)
    errs = grad_check(lambda: model.loss_and_grads(x, y)[0], model.params, grads,
                      verbose=False)
    assert max(errs.values()) < 1e-7


# ---------------------------------------------------------------- properties

def test_stride_is_stride_one_subsampled_and_padding_is_zeros():
    rng = np.random.default_rng(4)
    x, W, b = rng.normal(size=(3, 12, 2)), rng.normal(size=(3, 2, 4)), rng.normal(size=4)
    y1, _ = conv1d_forward(x, W, b, 1, 2)
    y3, _ = conv1d_forward(x, W, b, 3, 2)
    assert np.allclose(y3, y1[:, ::3], rtol=0, atol=1e-13)
    padded = np.concatenate([np.zeros((3, 2, 2)), x, np.zeros((3, 2, 2))], axis=1)
    y0, _ = conv1d_forward(padded, W, b, 1, 0)
    assert np.allclose(y1, y0, rtol=0, atol=1e-13)


def test_output_length():
    assert conv1d_output_length(7, 2, 2, 1) == 4
    assert conv1d_output_length(150, 10) == 141
    assert conv1d_output_length(5, 7, 1, 1) == 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved(dtype):
    rng = np.random.default_rng(5)
    model = CNNLSTMModel(1, 2, 3, 4, 2, rng, pool=2, kind="classification", dtype=dtype)
    x = rng.normal(size=(2, 11, 1)).astype(dtype)
    loss, grads = model.loss_and_grads(x, np.array([0, 1]))
    assert all(g.dtype == dtype for g in grads.values())
    p = init_conv1d(1, 2, 3, rng, dtype=dtype)
    y, cache = conv1d_forward(x, p["W"], p["b"], 2, 1)
    assert y.dtype == dtype and all(g.dtype == dtype for g in conv1d_backward(y, cache))
    u, cache = maxpool1d_forward(y, 2)
    assert u.dtype == dtype and maxpool1d_backward(u, cache).dtype == dtype


def test_motif_signals():
    x, y, start = motif_signals(400, 60, np.random.default_rng(6), noise=0.0, amplitude=1.5)
    assert x.shape == (400, 60, 1) and y.shape == start.shape == (400,)
    assert set(np.unique(y)) == {0, 1, 2, 3} and start.max() <= 60 - MOTIF_LENGTH
    for i in range(400):
        expected = np.zeros(60)
        if y[i]:
            expected[start[i]:start[i] + MOTIF_LENGTH] = 1.5 * MOTIFS[MOTIF_CLASSES[y[i]]]
        assert np.array_equal(x[i, :, 0], expected)
    x32, _, _ = motif_signals(2, 10, np.random.default_rng(0), dtype=np.float32)
    assert x32.dtype == np.float32


def test_motif_models_have_equal_budgets():
    counts = {name: sum(v.size for v in motif_model(name, 0).params.values())
              for name in ("cnn_lstm", "lstm")}
    assert counts == {"cnn_lstm": 1681, "lstm": 1676}


# ---------------------------------------------------------------- bad inputs

def conv_args(T=5, D=3, K=2, F=4, dtype=np.float64):
    p = init_conv1d(D, F, K, np.random.default_rng(0), dtype=dtype)
    return np.zeros((2, T, D), dtype), p["W"], p["b"]


def test_kernel_longer_than_padded_sequence():
    with pytest.raises(ValueError, match=r"K = 8 steps\) is longer than the padded sequence"):
        conv1d_forward(*conv_args(T=5, K=8), padding=1)


@pytest.mark.parametrize("stride, error", [(0, ValueError), (-1, ValueError), (1.5, TypeError),
                                           (True, TypeError)])
def test_bad_stride(stride, error):
    with pytest.raises(error, match="stride must be an int"):
        conv1d_forward(*conv_args(), stride=stride)


def test_bad_padding():
    with pytest.raises(ValueError, match="padding must be an int >= 0; got -1"):
        conv1d_forward(*conv_args(), padding=-1)


def test_wrong_channel_count():
    x, W, b = conv_args(D=3)
    with pytest.raises(ValueError, match=r"x must have shape \(N, T, D\) = \(any, any, 3\); "
                                         r"got \(2, 5, 2\)"):
        conv1d_forward(x[:, :, :2], W, b)


def test_wrong_bias_shape_and_mixed_dtype():
    x, W, b = conv_args()
    with pytest.raises(ValueError, match=r"b must have shape \(F,\) = \(4,\); got \(3,\)"):
        conv1d_forward(x, W, b[:3])
    with pytest.raises(TypeError, match="x must have dtype float64"):
        conv1d_forward(x.astype(np.float32), W, b)


def test_backward_checks_dy_and_cache():
    x, W, b = conv_args()
    y, cache = conv1d_forward(x, W, b)
    with pytest.raises(ValueError, match=r"dy must have shape \(N, T', F\)"):
        conv1d_backward(y[:, :-1], cache)
    with pytest.raises(TypeError, match="cache returned by conv1d_forward"):
        conv1d_backward(y, (1, 2))
    u, pool_cache = maxpool1d_forward(y, 2)
    with pytest.raises(ValueError, match=r"du must have shape"):
        maxpool1d_backward(y, pool_cache)
    with pytest.raises(TypeError, match="cache returned by maxpool1d_forward"):
        maxpool1d_backward(u, cache)
    with pytest.raises(TypeError, match="cache returned by conv1d_forward"):
        conv1d_backward(y, pool_cache)


@pytest.mark.parametrize("pool, error, match", [(0, ValueError, "pool must be an int >= 1"),
                                                (6, ValueError, r"pool \(6 steps\) is longer"),
                                                (2.0, TypeError, "pool must be an int")])
def test_bad_pool(pool, error, match):
    with pytest.raises(error, match=match):
        maxpool1d_forward(np.zeros((2, 5, 3)), pool)


def test_from_torch_errors():
    with pytest.raises(TypeError, match="state must be a mapping"):
        conv1d_from_torch([1, 2])
    with pytest.raises(ValueError, match="state must hold 'weight'"):
        conv1d_from_torch({"bias": np.zeros(3)})
    with pytest.raises(ValueError, match=r"bias must have shape \(F,\) = \(4,\)"):
        conv1d_from_torch({"weight": np.zeros((4, 2, 3)), "bias": np.zeros(3)})


def test_model_and_task_errors():
    model = CNNLSTMModel(2, 3, 3, 4, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"x must have shape \(N, T, D\) = \(any, any, 2\)"):
        model.predict(np.zeros((1, 9, 1)))
    with pytest.raises(ValueError, match="pool must be an int >= 1"):
        CNNLSTMModel(2, 3, 3, 4, 2, np.random.default_rng(0), pool=0)
    with pytest.raises(ValueError, match="name must be 'cnn_lstm' or 'lstm'"):
        motif_model("gru", 0)
    with pytest.raises(ValueError, match="T must be an int >= 10"):
        motif_signals(3, 9, np.random.default_rng(0))
    with pytest.raises(ValueError, match="noise must be a finite number >= 0"):
        motif_signals(3, 20, np.random.default_rng(0), noise=-1.0)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        motif_signals(3, 20, 0)


# ---------------------------------------------------------------- committed results

@pytest.fixture(scope="module")
def results():
    return load_results("cnn_lstm")


def test_results_file_records_how_it_was_made(results):
    assert_provenance(results, "cnn_lstm", ("python", "numpy", "blas", "git_commit"))
    assert results["recipe"] == MOTIF_RECIPE
    runs = {(r["name"], r["seed"]) for r in results["runs"]}
    assert runs == {(n, s) for n in ("cnn_lstm", "lstm") for s in range(5)}
    for r in results["runs"]:
        assert len(r["val"]) == len(r["epoch_seconds"]) == r["epochs"] == 20


RERUN = """
import json
from lstm_lit.cnn_lstm import run_motif_experiment
print(json.dumps(run_motif_experiment("cnn_lstm", 0, epochs=2)[0]))
"""


def test_live_rerun_matches_stored_seed_0(results):
    # In a fresh process with one OpenBLAS thread, as the script and the chapter run: the
    # matrices are small, and several threads on a busy machine make this many times slower.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", RERUN], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=True, timeout=300)
    live = json.loads(done.stdout)
    stored = next(r for r in results["runs"] if (r["name"], r["seed"]) == ("cnn_lstm", 0))
    assert live["params"] == stored["params"]
    assert max(abs(a - b) for a, b in zip(live["val"], stored["val"][:2])) <= 0.02


def test_init_and_to_torch_errors():
    with pytest.raises(TypeError, match="dtype must be float32 or float64; got int64"):
        init_conv1d(2, 3, 4, np.random.default_rng(0), dtype=np.int64)
    with pytest.raises(TypeError, match="params must be a dict"):
        conv1d_to_torch([np.zeros((2, 2, 3))])
    with pytest.raises(ValueError, match=r"params must hold 'W' and 'b'; missing \['b'\]"):
        conv1d_to_torch({"W": np.zeros((2, 2, 3))})


def test_model_rejects_sequences_too_short_to_pool():
    model = CNNLSTMModel(1, 2, 10, 4, 2, np.random.default_rng(0), pool=5)
    with pytest.raises(ValueError, match=r"x has T = 12 steps, so the convolution gives "
                                         r"T' = 3 outputs, fewer than pool = 5"):
        model.predict(np.zeros((1, 12, 1)))
