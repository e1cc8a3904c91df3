"""Tests of lstm_lit.rnn: the vanilla RNN of chapter 4 (notebooks/04_rnn.ipynb)."""
import numpy as np
import pytest

from lstm_lit.learning import grad_check, numerical_gradient, rel_error
from lstm_lit.rnn import (init_rnn, rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward,
                          temporal_affine_backward, temporal_affine_forward)

TOL = 1e-7


def _problem(N=3, T=4, D=5, H=6, dtype=np.float64, seed=0):
    """Small random problem with a non-zero bias and a non-zero initial state."""
    rng = np.random.default_rng(seed)
    p = init_rnn(D, H, rng, dtype=dtype)
    p["b"] = rng.normal(scale=0.5, size=H).astype(dtype)
    x = rng.normal(size=(N, T, D)).astype(dtype)
    h0 = rng.normal(scale=0.5, size=(N, H)).astype(dtype)
    return x, h0, p, rng


# ---------------------------------------------------------------- init
def test_init_shapes_dtype_and_scale():
    p = init_rnn(3, 200, np.random.default_rng(0))
    assert p["Wx"].shape == (3, 200) and p["Wh"].shape == (200, 200) and p["b"].shape == (200,)
    assert np.all(p["b"] == 0)
    assert 0.9 < float(np.std(p["Wh"]) * np.sqrt(200)) < 1.1
    assert 0.9 < float(np.std(p["Wx"]) * np.sqrt(3)) < 1.1
    p32 = init_rnn(3, 4, np.random.default_rng(0), dtype=np.float32)
    assert all(v.dtype == np.float32 for v in p32.values())


@pytest.mark.parametrize("radius", [0.5, 1.0, 1.7])
def test_init_spectral_radius_is_exact(radius):
    Wh = init_rnn(2, 30, np.random.default_rng(1), spectral_radius=radius)["Wh"]
    assert abs(float(np.max(np.abs(np.linalg.eigvals(Wh)))) - radius) < 1e-12
    Wh32 = init_rnn(2, 30, np.random.default_rng(1), dtype=np.float32, spectral_radius=radius)["Wh"]
    assert abs(float(np.max(np.abs(np.linalg.eigvals(Wh32.astype(np.float64))))) - radius) < 1e-5


def test_init_rejects_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="H must be a positive int"):
        init_rnn(3, 0, rng)
    with pytest.raises(ValueError, match="spectral_radius"):
        init_rnn(3, 4, rng, spectral_radius=-1.0)
    with pytest.raises(TypeError, match="Generator"):
        init_rnn(3, 4, 0)
    with pytest.raises(TypeError, match="float32 or float64"):
        init_rnn(3, 4, rng, dtype=np.float16)
    with pytest.raises(TypeError, match="keyword|positional"):
        init_rnn(3, 4, rng, np.float32)   # dtype is keyword-only


# ---------------------------------------------------------------- forward
def test_step_forward_matches_the_equation():
    x, h0, p, _ = _problem()
    h1, _ = rnn_step_forward(x[:, 0], h0, p["Wx"], p["Wh"], p["b"])
    expected = np.tanh(x[:, 0] @ p["Wx"] + h0 @ p["Wh"] + p["b"])
    np.testing.assert_allclose(h1, expected, rtol=0, atol=1e-15)
    # each example on its own, column-vector form of the book: h = tanh(W_hh h + W_xh x + b)
    W_xh, W_hh = p["Wx"].T, p["Wh"].T
    for n in range(x.shape[0]):
        np.testing.assert_allclose(h1[n], np.tanh(W_hh @ h0[n] + W_xh @ x[n, 0] + p["b"]), atol=1e-14)


def test_sequence_forward_shapes_and_agrees_with_steps():
    x, h0, p, _ = _problem(N=2, T=7, D=3, H=4)
    h, _ = rnn_forward(x, h0, p["Wx"], p["Wh"], p["b"])
    assert h.shape == (2, 7, 4)
    h_prev = h0
    for t in range(7):
        h_prev, _ = rnn_step_forward(x[:, t], h_prev, p["Wx"], p["Wh"], p["b"])
        np.testing.assert_allclose(h[:, t], h_prev, rtol=0, atol=1e-14)


def test_sequence_backward_agrees_with_chained_step_backwards():
    x, h0, p, rng = _problem(N=2, T=5, D=3, H=4)
    h, cache = rnn_forward(x, h0, p["Wx"], p["Wh"], p["b"])
    dh = rng.normal(size=h.shape)
    dx, dh0, dWx, dWh, db = rnn_backward(dh, cache)
    caches, h_prev = [], h0
    for t in range(5):
        h_prev, c = rnn_step_forward(x[:, t], h_prev, p["Wx"], p["Wh"], p["b"])
        caches.append(c)
    carry = np.zeros_like(h0)
    sums = [np.zeros_like(p["Wx"]), np.zeros_like(p["Wh"]), np.zeros_like(p["b"])]
    for t in reversed(range(5)):
        dxt, carry, gWx, gWh, gb = rnn_step_backward(dh[:, t] + carry, caches[t])
        np.testing.assert_allclose(dx[:, t], dxt, atol=1e-13)
        for s, g in zip(sums, (gWx, gWh, gb)):
            s += g
    for got, want in zip((dh0, dWx, dWh, db), (carry, *sums)):
        np.testing.assert_allclose(got, want, atol=1e-13)


# ---------------------------------------------------------------- gradient checks (float64)
def test_step_backward_gradient_check():
    x, h0, p, rng = _problem()
    xt = x[:, 0].copy()
    Wx, Wh, b = p["Wx"], p["Wh"], p["b"]
    h1, cache = rnn_step_forward(xt, h0, Wx, Wh, b)
    dh1 = rng.normal(size=h1.shape)
    dx, dh_prev, dWx, dWh, db = rnn_step_backward(dh1, cache)
    errors = grad_check(lambda: rnn_step_forward(xt, h0, Wx, Wh, b)[0],
                        {"x": xt, "h_prev": h0, "Wx": Wx, "Wh": Wh, "b": b},
                        {"x": dx, "h_prev": dh_prev, "Wx": dWx, "Wh": dWh, "b": db}, df=dh1, verbose=False)
    assert max(errors.values()) < TOL, errors


def test_sequence_backward_gradient_check():
    x, h0, p, rng = _problem(N=3, T=5, D=4, H=5)
    Wx, Wh, b = p["Wx"], p["Wh"], p["b"]
    h, cache = rnn_forward(x, h0, Wx, Wh, b)
    dh = rng.normal(size=h.shape)
    dx, dh0, dWx, dWh, db = rnn_backward(dh, cache)
    errors = grad_check(lambda: rnn_forward(x, h0, Wx, Wh, b)[0],
                        {"x": x, "h0": h0, "Wx": Wx, "Wh": Wh, "b": b},
                        {"x": dx, "h0": dh0, "Wx": dWx, "Wh": dWh, "b": db}, df=dh, verbose=False)
    assert max(errors.values()) < TOL, errors


def test_gradient_is_carried_back_through_time():
    # The loss reads only the last hidden state, so every gradient on x[:, t < T-1], on h0 and most of
    # dWh must travel back through dh_prev. Dropping the carried gradient leaves dx[:, 0] = 0 and dh0 = 0.
    x, h0, p, _ = _problem(N=2, T=4, D=3, H=4, seed=3)
    Wx, Wh, b = p["Wx"], p["Wh"], p["b"]
    h, cache = rnn_forward(x, h0, Wx, Wh, b)
    dh = np.zeros_like(h)
    dh[:, -1] = 1.0
    dx, dh0, dWx, dWh, db = rnn_backward(dh, cache)
    f = lambda: rnn_forward(x, h0, Wx, Wh, b)[0][:, -1].sum()
    num_x = numerical_gradient(f, x)
    num_h0 = numerical_gradient(f, h0)
    num_Wh = numerical_gradient(f, Wh)
    assert float(np.abs(num_x[:, 0]).max()) > 1e-3 and float(np.abs(num_h0).max()) > 1e-3
    assert rel_error(dx, num_x) < TOL and rel_error(dh0, num_h0) < TOL and rel_error(dWh, num_Wh) < TOL


def test_temporal_affine_gradient_check():
    rng = np.random.default_rng(4)
    h, W, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 5)), rng.normal(size=5)
    y, cache = temporal_affine_forward(h, W, b)
    assert y.shape == (2, 3, 5)
    np.testing.assert_allclose(y[1, 2], h[1, 2] @ W + b)
    dy = rng.normal(size=y.shape)
    dh, dW, db = temporal_affine_backward(dy, cache)
    errors = grad_check(lambda: temporal_affine_forward(h, W, b)[0], {"h": h, "W": W, "b": b},
                        {"h": dh, "W": dW, "b": db}, df=dy, verbose=False)
    assert max(errors.values()) < TOL, errors


def test_full_model_gradient_check_through_loss():
    from lstm_lit.learning import mse_loss
    x, h0, p, rng = _problem(N=2, T=3, D=2, H=3, seed=5)
    W, c = rng.normal(size=(3, 1)), rng.normal(size=1)
    target = rng.normal(size=(2, 3, 1))
    params = {"Wx": p["Wx"], "Wh": p["Wh"], "b": p["b"], "W": W, "c": c}

    def loss():
        h, _ = rnn_forward(x, h0, p["Wx"], p["Wh"], p["b"])
        return mse_loss(temporal_affine_forward(h, W, c)[0], target)[0]

    h, rc = rnn_forward(x, h0, p["Wx"], p["Wh"], p["b"])
    y, ac = temporal_affine_forward(h, W, c)
    _, dy = mse_loss(y, target)
    dh, dW, dc = temporal_affine_backward(dy, ac)
    _, _, dWx, dWh, db = rnn_backward(dh, rc)
    errors = grad_check(loss, params, {"Wx": dWx, "Wh": dWh, "b": db, "W": dW, "c": dc}, verbose=False)
    assert max(errors.values()) < TOL, errors


# ---------------------------------------------------------------- dtype
def test_float32_is_preserved_forward_and_backward():
    x, h0, p, rng = _problem(dtype=np.float32)
    h1, c1 = rnn_step_forward(x[:, 0], h0, p["Wx"], p["Wh"], p["b"])
    assert h1.dtype == np.float32
    assert all(g.dtype == np.float32 for g in rnn_step_backward(np.ones_like(h1), c1))
    h, c = rnn_forward(x, h0, p["Wx"], p["Wh"], p["b"])
    assert h.dtype == np.float32
    assert all(g.dtype == np.float32 for g in rnn_backward(np.ones_like(h), c))
    W, b = np.ones((6, 2), np.float32), np.zeros(2, np.float32)
    y, ac = temporal_affine_forward(h, W, b)
    assert y.dtype == np.float32
    assert all(g.dtype == np.float32 for g in temporal_affine_backward(np.ones_like(y), ac))
    # and float32 agrees with float64 to float32 precision
    x64, h064, p64, _ = _problem(dtype=np.float64)
    h64, _ = rnn_forward(x64, h064, p64["Wx"], p64["Wh"], p64["b"])
    np.testing.assert_allclose(h, h64, atol=1e-5)


# ---------------------------------------------------------------- bad inputs
def _args():
    x, h0, p, _ = _problem(N=2, T=3, D=4, H=5)
    return dict(x=x, h0=h0, Wx=p["Wx"], Wh=p["Wh"], b=p["b"])


@pytest.mark.parametrize("name, bad, error, match", [
    ("x", np.zeros((2, 3, 7)), ValueError, r"Wx must have shape \(D, H\) = \(7, any\); got \(4, 5\)"),
    ("x", np.zeros((2, 4)), ValueError, r"x must have shape \(N, T, D\)"),
    ("h0", np.zeros((2, 6)), ValueError, r"h0 must have shape \(N, H\) = \(2, 5\); got \(2, 6\)"),
    ("h0", np.zeros((3, 5)), ValueError, r"h0 must have shape \(N, H\) = \(2, 5\); got \(3, 5\)"),
    ("Wh", np.zeros((5, 4)), ValueError, r"Wh must have shape \(H, H\) = \(5, 5\); got \(5, 4\)"),
    ("b", np.zeros(4), ValueError, r"b must have shape \(H,\) = \(5,?\); got \(4,\)"),
    ("Wh", np.zeros((5, 5), np.float32), TypeError, "Wh must have dtype float64.*got float32"),
    ("h0", np.zeros((2, 5), np.float32), TypeError, "h0 must have dtype float64.*got float32"),
    ("x", np.zeros((2, 3, 4), np.int64), TypeError, "x must have dtype float32 or float64; got int64"),
    ("x", [[[0.0] * 4] * 3] * 2, TypeError, "x must be a numpy.ndarray; got list"),
    ("x", np.full((2, 3, 4), np.nan), ValueError, "x must be finite"),
    ("Wh", np.full((5, 5), np.inf), ValueError, "Wh must be finite"),
    ("x", np.zeros((2, 0, 4)), ValueError, "at least one time step"),
])
def test_rnn_forward_rejects_bad_inputs(name, bad, error, match):
    args = _args()
    args[name] = bad
    with pytest.raises(error, match=match):
        rnn_forward(**args)


def test_mixed_float32_and_float64_is_rejected_at_every_entry_point():
    args = _args()
    x32 = args["x"].astype(np.float32)
    with pytest.raises(TypeError, match="Wx must have dtype float32"):
        rnn_forward(x32, args["h0"], args["Wx"], args["Wh"], args["b"])
    with pytest.raises(TypeError, match="Wx must have dtype float32"):
        rnn_step_forward(x32[:, 0], args["h0"], args["Wx"], args["Wh"], args["b"])
    with pytest.raises(TypeError, match="W must have dtype float32"):
        temporal_affine_forward(np.zeros((2, 3, 5), np.float32), np.zeros((5, 2)), np.zeros(2))


def test_step_forward_and_backwards_reject_bad_inputs():
    args = _args()
    x, h0, Wx, Wh, b = args["x"][:, 0], args["h0"], args["Wx"], args["Wh"], args["b"]
    with pytest.raises(ValueError, match=r"h_prev must have shape \(N, H\) = \(2, 5\); got \(2, 4\)"):
        rnn_step_forward(x, h0[:, :4], Wx, Wh, b)
    with pytest.raises(ValueError, match=r"x must have shape \(N, D\)"):
        rnn_step_forward(args["x"], h0, Wx, Wh, b)
    h1, cache = rnn_step_forward(x, h0, Wx, Wh, b)
    with pytest.raises(ValueError, match=r"dh_next must have shape \(N, H\) = \(2, 5\)"):
        rnn_step_backward(np.zeros((2, 4)), cache)
    with pytest.raises(ValueError, match="dh_next must be finite"):
        rnn_step_backward(np.full((2, 5), np.nan), cache)
    h, cache = rnn_forward(**args)
    with pytest.raises(ValueError, match=r"dh must have shape \(N, T, H\) = \(2, 3, 5\); got \(2, 5\)"):
        rnn_backward(np.zeros((2, 5)), cache)
    with pytest.raises(TypeError, match="dh must have dtype float64"):
        rnn_backward(np.zeros((2, 3, 5), np.float32), cache)
    y, ac = temporal_affine_forward(h, np.zeros((5, 2)), np.zeros(2))
    with pytest.raises(ValueError, match=r"dy must have shape \(N, T, O\) = \(2, 3, 2\)"):
        temporal_affine_backward(np.zeros((2, 3, 3)), ac)
    with pytest.raises(ValueError, match=r"W must have shape \(H, O\) = \(5, any\)"):
        temporal_affine_forward(h, np.zeros((4, 2)), np.zeros(2))


# ---------------------------------------------------------------- edge cases: clear errors
@pytest.mark.parametrize("kwargs, error, match", [
    ({"D": 2.0}, TypeError, "D must be a positive int; got float 2.0"),
    ({"H": True}, TypeError, "H must be a positive int; got bool True"),
    ({"H": -3}, ValueError, "H must be a positive int; got -3"),
    ({"spectral_radius": "0.9"}, TypeError, "spectral_radius must be a number or None; got str"),
    ({"spectral_radius": True}, TypeError, "spectral_radius must be a number or None; got bool"),
    ({"spectral_radius": float("nan")}, ValueError, "spectral_radius must be a finite number > 0"),
    ({"dtype": "foo"}, TypeError, "dtype must be float32 or float64; got 'foo'"),
])
def test_init_names_expected_and_given(kwargs, error, match):
    args = {"D": 3, "H": 4, "rng": np.random.default_rng(0), **kwargs}
    with pytest.raises(error, match=match):
        init_rnn(**args)


def test_init_accepts_numpy_scalars():
    p = init_rnn(np.int64(3), np.int32(4), np.random.default_rng(0), spectral_radius=np.float32(0.9))
    assert p["Wh"].shape == (4, 4)


def _small_caches():
    rng = np.random.default_rng(0)
    p = init_rnn(3, 5, rng)
    x, h0 = rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 5))
    h, cache = rnn_forward(x, h0, p["Wx"], p["Wh"], p["b"])
    h1, step_cache = rnn_step_forward(x[:, 0], h0, p["Wx"], p["Wh"], p["b"])
    y, aff_cache = temporal_affine_forward(h, rng.normal(size=(5, 2)), np.zeros(2))
    return h, cache, h1, step_cache, y, aff_cache


def test_backward_passes_reject_a_wrong_cache_clearly():
    h, cache, h1, step_cache, y, aff_cache = _small_caches()
    with pytest.raises(TypeError, match=r"returned by rnn_forward \(5 arrays\); got NoneType"):
        rnn_backward(np.zeros_like(h), None)
    with pytest.raises(TypeError, match="rnn_forward.*last array has 2 dimensions instead of 3"):
        rnn_backward(np.zeros_like(h), step_cache)           # the step's cache, not the sequence's
    with pytest.raises(TypeError, match="rnn_forward.*a tuple of 3 items"):
        rnn_backward(np.zeros_like(h), cache[:3])
    with pytest.raises(TypeError, match="rnn_step_forward.*last array has 3 dimensions"):
        rnn_step_backward(np.zeros_like(h1), cache)
    with pytest.raises(TypeError, match=r"returned by temporal_affine_forward \(2 arrays\)"):
        temporal_affine_backward(np.zeros_like(y), cache)


def test_editing_the_returned_states_does_not_change_the_gradients():
    # the caches keep their own copy of the outputs (h_next, h): a caller may edit them in place
    for T in (1, 4):
        rng = np.random.default_rng(T)
        p = init_rnn(3, 5, rng)
        x, h0 = rng.normal(size=(1, T, 3)), rng.normal(size=(1, 5))
        h, cache = rnn_forward(x, h0, p["Wx"], p["Wh"], p["b"])
        dh = rng.normal(size=h.shape)
        before = rnn_backward(dh, cache)
        h[:] = 0.0
        assert all(np.array_equal(a, b) for a, b in zip(before, rnn_backward(dh, cache)))
        h1, step_cache = rnn_step_forward(x[:, 0], h0, p["Wx"], p["Wh"], p["b"])
        dh1 = rng.normal(size=h1.shape)
        before = rnn_step_backward(dh1, step_cache)
        h1 += 1.0
        assert all(np.array_equal(a, b) for a, b in zip(before, rnn_step_backward(dh1, step_cache)))
