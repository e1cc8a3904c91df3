"""Tests of lstm_lit.gradients: vanishing/exploding gradients and clipping (notebooks/05_vanishing.ipynb)."""
import math

import numpy as np
import pytest

from lstm_lit.gradients import (ADDING_PROTOCOL, clip_grad_norm, hidden_grad_norms, hidden_state_grads,
                                jacobian_norm_bound)
from lstm_lit.learning import grad_check
from lstm_lit.rnn import init_rnn, rnn_backward, rnn_forward

TOL = 1e-7


def _grads(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return {"Wx": rng.normal(size=(3, 4)).astype(dtype), "Wh": rng.normal(size=(4, 4)).astype(dtype),
            "b": rng.normal(size=4).astype(dtype)}


def _global_norm(grads):
    return math.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads.values()))


# ---------------------------------------------------------------- clip_grad_norm
def test_clip_returns_the_norm_before_clipping_and_scales_exactly():
    g = _grads()
    before = {k: v.copy() for k, v in g.items()}
    expected = _global_norm(before)
    assert expected > 1.0
    norm = clip_grad_norm(g, 1.0)
    assert isinstance(norm, float)
    assert abs(norm - expected) < 1e-12 * expected
    assert abs(_global_norm(g) - 1.0) < 1e-12
    for k in g:                                   # one common factor: the direction is kept
        np.testing.assert_allclose(g[k], before[k] / expected, rtol=1e-14, atol=0)


def test_clip_just_above_the_threshold():
    g = _grads()
    norm = _global_norm(g)
    assert clip_grad_norm(g, 0.99 * norm) == pytest.approx(norm, rel=1e-14)
    assert abs(_global_norm(g) - 0.99 * norm) < 1e-12 * norm


def test_clip_is_global_not_per_array():
    g = {"a": np.array([3.0, 0.0]), "b": np.array([0.0, 0.4])}
    clip_grad_norm(g, 1.0)
    scale = 1.0 / math.sqrt(9.16)
    np.testing.assert_allclose(g["a"], [3.0 * scale, 0.0], rtol=1e-14)
    np.testing.assert_allclose(g["b"], [0.0, 0.4 * scale], rtol=1e-14)   # the small array shrinks too


def test_clip_leaves_small_gradients_unchanged_and_works_in_place():
    g = _grads()
    ids = {k: id(v) for k, v in g.items()}
    before = {k: v.copy() for k, v in g.items()}
    norm = clip_grad_norm(g, 1e6)
    assert norm == pytest.approx(_global_norm(before), rel=1e-14)
    for k in g:
        assert np.array_equal(g[k], before[k])
    assert clip_grad_norm(g, norm) == norm and all(np.array_equal(g[k], before[k]) for k in g)  # at the threshold
    clip_grad_norm(g, 0.5)
    assert {k: id(v) for k, v in g.items()} == ids                    # the same arrays, modified
    assert not np.array_equal(g["Wh"], before["Wh"])


def test_clip_preserves_dtype_float32():
    g = _grads(np.float32)
    norm = clip_grad_norm(g, 0.1)
    assert all(v.dtype == np.float32 for v in g.values())
    assert norm > 0.1 and abs(_global_norm(g) - 0.1) < 1e-6


def test_clip_float32_norm_does_not_overflow():
    g = {"w": np.full(4, 1e20, dtype=np.float32)}      # the squares overflow in float32
    norm = clip_grad_norm(g, 1.0)
    assert norm == pytest.approx(2e20, rel=1e-6)
    assert abs(_global_norm(g) - 1.0) < 1e-6 and np.all(np.isfinite(g["w"]))


def test_clip_zero_gradient():
    g = {"w": np.zeros(3)}
    assert clip_grad_norm(g, 1.0) == 0.0 and np.all(g["w"] == 0)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_clip_rejects_bad_max_norm(bad):
    with pytest.raises(ValueError, match="max_norm must be a finite number > 0"):
        clip_grad_norm(_grads(), bad)


@pytest.mark.parametrize("bad", [None, "1.0", True, np.array([1.0])])
def test_clip_rejects_non_number_max_norm(bad):
    with pytest.raises(TypeError, match="max_norm must be a number"):
        clip_grad_norm(_grads(), bad)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_clip_rejects_non_finite_gradients_and_names_them(value):
    g = _grads()
    g["Wh"][1, 2] = value
    before = g["b"].copy()
    with pytest.raises(ValueError, match=r"not finite.*\['Wh'\]"):
        clip_grad_norm(g, 1.0)
    assert np.array_equal(g["b"], before)                              # nothing was scaled


def test_clip_reports_a_float64_overflow_of_the_norm():
    g = {"w": np.full(2, 1e200)}
    with pytest.raises(ValueError, match="finite but their squares overflow"):
        clip_grad_norm(g, 1.0)
    assert np.all(g["w"] == 1e200)


def test_clip_rejects_bad_containers():
    with pytest.raises(TypeError, match="dict"):
        clip_grad_norm([np.ones(3)], 1.0)
    with pytest.raises(TypeError, match="dict"):
        clip_grad_norm({}, 1.0)
    with pytest.raises(TypeError, match=r"grads\['w'\]"):
        clip_grad_norm({"w": [1.0, 2.0]}, 1.0)
    with pytest.raises(TypeError, match="float32 or float64"):
        clip_grad_norm({"w": np.ones(3, dtype=np.int64)}, 1.0)


# ---------------------------------------------------------------- hidden-state gradients
def _rnn(N=3, T=9, D=2, H=5, radius=1.3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    p = init_rnn(D, H, rng, spectral_radius=radius, dtype=dtype)
    p["b"] = rng.normal(scale=0.3, size=H).astype(dtype)
    x = rng.normal(size=(N, T, D)).astype(dtype)
    h0 = rng.normal(scale=0.5, size=(N, H)).astype(dtype)
    h, _ = rnn_forward(x, h0, p["Wx"], p["Wh"], p["b"])
    dh_last = rng.normal(size=(N, H)).astype(dtype)
    return x, h0, p, h, dh_last


def test_hidden_state_grads_match_rnn_backward_from_every_restart():
    x, h0, p, h, dh_last = _rnn()
    dh = hidden_state_grads(h, p["Wh"], dh_last)
    assert dh.shape == h.shape
    np.testing.assert_array_equal(dh[:, -1], dh_last)
    T = h.shape[1]
    for t in range(T - 1):                        # restart from h_t: rnn_backward's dh0 is dL/dh_t
        h_rest, cache = rnn_forward(x[:, t + 1:], h[:, t].copy(), p["Wx"], p["Wh"], p["b"])
        up = np.zeros_like(h_rest)
        up[:, -1] = dh_last
        dh0 = rnn_backward(up, cache)[1]
        np.testing.assert_allclose(dh[:, t], dh0, rtol=1e-12, atol=1e-14)
    # one step further back: dL/dh0 from the full sequence
    dh0_full = rnn_backward(np.concatenate([np.zeros_like(h[:, :-1]), dh_last[:, None]], axis=1),
                            rnn_forward(x, h0, p["Wx"], p["Wh"], p["b"])[1])[1]
    np.testing.assert_allclose((dh[:, 0] * (1 - h[:, 0] ** 2)) @ p["Wh"].T, dh0_full, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("t", [0, 3, 7])
def test_hidden_state_grads_finite_differences(t):
    x, h0, p, h, dh_last = _rnn()
    dh = hidden_state_grads(h, p["Wh"], dh_last)
    h_t = h[:, t].copy()
    errs = grad_check(lambda: rnn_forward(x[:, t + 1:], h_t, p["Wx"], p["Wh"], p["b"])[0][:, -1],
                      {"h_t": h_t}, {"h_t": dh[:, t]}, df=dh_last, verbose=False)
    assert errs["h_t"] < TOL


def test_hidden_grad_norms_and_float32():
    x, h0, p, h, dh_last = _rnn()
    norms = hidden_grad_norms(h, p["Wh"], dh_last)
    assert norms.shape == h.shape[:2]
    np.testing.assert_allclose(norms, np.sqrt(np.sum(hidden_state_grads(h, p["Wh"], dh_last) ** 2, axis=-1)))
    np.testing.assert_allclose(norms[:, -1], np.linalg.norm(dh_last, axis=1))
    _, _, p32, h32, d32 = _rnn(dtype=np.float32)
    n32 = hidden_grad_norms(h32, p32["Wh"], d32)
    assert n32.dtype == np.float32 and hidden_state_grads(h32, p32["Wh"], d32).dtype == np.float32
    np.testing.assert_allclose(n32, norms, rtol=1e-4)


def test_vanishing_and_exploding_with_the_spectral_radius():
    def lag50_ratio(radius):
        rng = np.random.default_rng(1)
        p = init_rnn(1, 32, rng, spectral_radius=radius)
        x = 0.1 * rng.normal(size=(16, 51, 1))
        h, _ = rnn_forward(x, np.zeros((16, 32)), p["Wx"], p["Wh"], p["b"])
        d = rng.normal(size=(16, 32))
        n = hidden_grad_norms(h, p["Wh"], d)
        return float(np.exp(np.mean(np.log(n[:, 0] / n[:, -1]))))
    assert lag50_ratio(0.5) < 1e-10
    assert lag50_ratio(2.0) > 10


def test_jacobian_norm_bound_holds_and_is_exact_for_a_scalar_linear_regime():
    x, h0, p, h, dh_last = _rnn(radius=1.8)
    norms = hidden_grad_norms(h, p["Wh"], dh_last)
    bound = jacobian_norm_bound(h, p["Wh"], dh_last)
    assert bound.shape == norms.shape and bound.dtype == np.float64
    assert np.all(norms <= bound * (1 + 1e-12))
    np.testing.assert_allclose(bound[:, -1], np.linalg.norm(dh_last, axis=1))
    # Direct evaluation of the product for one example and step.
    sigma = np.linalg.norm(p["Wh"], 2)
    T = h.shape[1]
    t = 2
    direct = np.linalg.norm(dh_last[1]) * np.prod([np.max(1 - h[1, k] ** 2) * sigma for k in range(t + 1, T)])
    assert bound[1, t] == pytest.approx(direct, rel=1e-12)
    # H = 1: the bound is attained, since every Jacobian is a scalar.
    rng = np.random.default_rng(3)
    p1 = init_rnn(1, 1, rng)
    h1, _ = rnn_forward(rng.normal(size=(2, 6, 1)), np.zeros((2, 1)), p1["Wx"], p1["Wh"], p1["b"])
    d1 = rng.normal(size=(2, 1))
    np.testing.assert_allclose(hidden_grad_norms(h1, p1["Wh"], d1), jacobian_norm_bound(h1, p1["Wh"], d1),
                               rtol=1e-12)


def test_hidden_helpers_reject_bad_input():
    x, h0, p, h, dh_last = _rnn()
    for fn in (hidden_state_grads, hidden_grad_norms, jacobian_norm_bound):
        with pytest.raises(ValueError, match=r"h must have shape \(N, T, H\)"):
            fn(h[0], p["Wh"], dh_last)
        with pytest.raises(ValueError, match=r"Wh must have shape \(H, H\)"):
            fn(h, p["Wh"][:, :-1], dh_last)
        with pytest.raises(ValueError, match=r"dh_last must have shape \(N, H\)"):
            fn(h, p["Wh"], dh_last[:-1])
        with pytest.raises(TypeError, match="dtype float64"):
            fn(h, p["Wh"].astype(np.float32), dh_last)
        bad = dh_last.copy()
        bad[0, 0] = np.nan
        with pytest.raises(ValueError, match="finite"):
            fn(h, p["Wh"], bad)


def test_adding_protocol_is_complete():
    for key in ("lengths", "hidden_size", "batch_size", "steps", "learning_rate", "clip_norm", "tol",
                "test_size", "train_seed", "test_seed", "margin"):
        assert key in ADDING_PROTOCOL
    assert ADDING_PROTOCOL["tol"] == 0.04 and min(ADDING_PROTOCOL["lengths"]) >= 20


def test_clip_rejects_read_only_arrays_before_changing_anything():
    a = np.array([3.0, 4.0])
    frozen = np.array([1.0, 0.0])
    frozen.flags.writeable = False
    grads = {"a": a, "frozen": frozen}
    with pytest.raises(ValueError, match=r"\['frozen'\] are read-only arrays"):
        clip_grad_norm(grads, 1.0)
    assert a.tolist() == [3.0, 4.0]                      # nothing was scaled
    with pytest.raises(ValueError, match=r"\['b'\] are read-only"):
        clip_grad_norm({"b": np.broadcast_to(np.ones(2), (3, 2))}, 1.0)


def test_jacobian_norm_bound_needs_tanh_states():
    rng = np.random.default_rng(0)
    h = rng.uniform(-1.0, 1.0, size=(2, 4, 3))
    h[1, 2, 0] = 1.5                                     # not a tanh output
    with pytest.raises(ValueError, match=r"h must hold tanh states, in \[-1, 1\].*got max \|h\| = 1.5"):
        jacobian_norm_bound(h, rng.normal(size=(3, 3)), np.ones((2, 3)))
    h[1, 2, 0] = 1.0                                     # saturated: a bound of 0 is fine
    assert np.all(np.isfinite(jacobian_norm_bound(h, rng.normal(size=(3, 3)), np.ones((2, 3)))))
