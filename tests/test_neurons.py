"""Unit tests for lstm_lit.neurons (chapter 1): values, shapes, dtypes, stability and input checks."""
import warnings

import numpy as np
import pytest

from lstm_lit.learning import grad_check
from lstm_lit.neurons import (BOOK_COLORS, BOOK_LINESTYLES, BOOK_MARKERS, affine_forward, check_array, relu,
                              relu_grad, sigmoid, sigmoid_grad, tanh, tanh_grad, use_book_style)

ACTIVATIONS = [(sigmoid, sigmoid_grad), (tanh, tanh_grad), (relu, relu_grad)]


# ---- check_array -------------------------------------------------------------------------------------
def test_check_array_returns_valid_input_unchanged():
    x = np.ones((3, 2), dtype=np.float32)
    assert check_array(x, "x", (None, 2)) is x


@pytest.mark.parametrize("bad, error, pattern", [
    ([1.0, 2.0], TypeError, r"x must be a numpy\.ndarray; got list"),
    (np.array([1, 2]), TypeError, r"x must have dtype float32 or float64; got int64"),
    (np.zeros((4, 3)), ValueError, r"x must have shape \(N, D\) = \(any, 2\); got \(4, 3\)"),
    (np.zeros(3), ValueError, r"x must have shape \(N, D\) = \(any, 2\); got \(3,\)"),
    (np.array([[1.0, np.nan]]), ValueError, r"x must be finite; got 1 NaN"),
    (np.array([[np.inf, 1.0]]), ValueError, r"x must be finite; got 1 NaN or infinite"),
])
def test_check_array_rejects_bad_input_naming_expected_and_given(bad, error, pattern):
    with pytest.raises(error, match=pattern):
        check_array(bad, "x", (None, 2), dims="(N, D)")


def test_check_array_rejects_masked_arrays_even_with_nan_under_the_mask():
    masked = np.ma.masked_invalid(np.array([1.0, np.nan]))
    assert np.all(np.isfinite(masked))            # why: the mask hides the NaN from isfinite
    with pytest.raises(TypeError, match=r"x must be a plain numpy\.ndarray, not a masked array; "
                                        r"got MaskedArray"):
        check_array(masked, "x")
    with pytest.raises(TypeError, match=r"not a masked array"):
        check_array(np.ma.array([1.0, 2.0]), "x")          # no mask at all: still refused
    with pytest.raises(TypeError, match=r"not a masked array"):
        sigmoid(masked)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_check_array_rejects_numpy_matrix():
    with pytest.raises(TypeError, match=r"W must be a plain numpy\.ndarray, not a matrix; got matrix"):
        check_array(np.matrix([[1.0, 2.0]]), "W")


@pytest.mark.parametrize("bad, pattern", [
    (np.array(["0.5"]), r"got <U3"),
    (np.array([1 + 2j]), r"got complex128"),
    (np.array([0.5], dtype=np.float16), r"got float16"),
    (np.array([True]), r"got bool"),
    (np.array([0.5], dtype=object), r"got object"),
])
def test_check_array_rejects_other_dtypes(bad, pattern):
    with pytest.raises(TypeError, match=r"x must have dtype float32 or float64; " + pattern):
        check_array(bad, "x")


def test_check_array_accepts_empty_arrays_and_subclasses_that_keep_ndarray_semantics():
    assert check_array(np.zeros((0, 3)), "x", (None, 3)).shape == (0, 3)

    class Tagged(np.ndarray):
        pass
    tagged = np.zeros(2).view(Tagged)
    assert check_array(tagged, "x") is tagged


def test_check_array_dtype_must_match():
    with pytest.raises(TypeError, match=r"W must have dtype float64 .*got float32"):
        check_array(np.zeros(2, dtype=np.float32), "W", dtype=np.float64)


def test_check_array_finite_false_allows_nan():
    assert np.isnan(check_array(np.array([np.nan]), "x", finite=False)[0])


# ---- activations -------------------------------------------------------------------------------------
def test_known_values():
    z = np.array([-2.0, 0.0, 3.0])
    assert sigmoid(np.array(0.0)) == 0.5
    np.testing.assert_allclose(sigmoid(np.array([1.0, -1.0])), [1 / (1 + np.exp(-1.0)), 1 / (1 + np.e)], rtol=1e-15)
    np.testing.assert_allclose(tanh(z), np.tanh(z), rtol=0, atol=0)
    assert tanh(np.array(0.0)) == 0.0
    np.testing.assert_array_equal(relu(z), [0.0, 0.0, 3.0])
    np.testing.assert_array_equal(relu_grad(z), [0.0, 0.0, 1.0])
    assert sigmoid_grad(np.array(0.0)) == 0.25 and tanh_grad(np.array(0.0)) == 1.0
    assert relu_grad(np.array(0.0)) == 0.0          # our convention at the kink


def test_sigmoid_symmetry_and_tanh_identity():
    z = np.linspace(-30, 30, 601)
    np.testing.assert_allclose(sigmoid(-z), 1 - sigmoid(z), atol=1e-15)
    np.testing.assert_allclose(0.5 + 0.5 * np.tanh(z / 2), sigmoid(z), atol=4.5e-16)


@pytest.mark.parametrize("f, fprime", ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_preserve_shape_and_dtype(f, fprime, dtype):
    z = np.random.default_rng(0).normal(size=(2, 3, 4)).astype(dtype)
    for g in (f, fprime):
        out = g(z)
        assert out.shape == z.shape and out.dtype == dtype


@pytest.mark.parametrize("f, fprime", ACTIVATIONS)
def test_activations_accept_numpy_scalars(f, fprime):
    assert f(np.float32(0.5)).dtype == np.float32 and fprime(np.float64(0.5)).dtype == np.float64


@pytest.mark.parametrize("f, fprime", ACTIVATIONS)
def test_derivatives_match_finite_differences(f, fprime):
    rng = np.random.default_rng(1)
    z = rng.uniform(0.1, 3.0, size=(3, 4)) * rng.choice([-1.0, 1.0], size=(3, 4))   # away from relu's kink
    dout = rng.normal(size=z.shape)
    errors = grad_check(lambda: f(z), {"z": z}, {"z": dout * fprime(z)}, df=dout, verbose=False)
    assert errors["z"] < 1e-7


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_at_extremes(dtype):
    z = np.array([-1000.0, -100.0, 0.0, 100.0, 1000.0], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = sigmoid(z)
        g = sigmoid_grad(z)
        t = tanh_grad(z)
    assert s.dtype == dtype and s[0] == 0.0 and s[-1] == 1.0 and s[2] == 0.5
    assert np.all(np.isfinite(g)) and g[0] == 0.0 and g[-1] == 0.0 and np.all(np.isfinite(t))


def test_naive_sigmoid_does_warn_so_the_stability_test_can_fail():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        1.0 / (1.0 + np.exp(-np.array(-1000.0)))
    assert any(issubclass(w.category, RuntimeWarning) for w in caught)


def test_sigmoid_is_accurate_for_tiny_outputs():
    # sigmoid(-700) = e^-700 / (1 + e^-700), to full relative precision
    assert abs(float(sigmoid(np.array(-700.0))) / np.exp(-700.0) - 1) < 1e-15


@pytest.mark.parametrize("f, fprime", ACTIVATIONS)
@pytest.mark.parametrize("bad, error, pattern", [
    ([0.5, 1.0], TypeError, r"z must be a numpy\.ndarray; got list"),
    (0.5, TypeError, r"z must be a numpy\.ndarray; got float"),
    (np.array([1, 2]), TypeError, r"z must have dtype float32 or float64; got int64"),
    (np.array([0.0, np.nan]), ValueError, r"z must be finite; got 1 NaN"),
])
def test_activations_reject_bad_input(f, fprime, bad, error, pattern):
    for g in (f, fprime):
        with pytest.raises(error, match=pattern):
            g(bad)


# ---- affine_forward ----------------------------------------------------------------------------------
def test_affine_forward_values_shapes_and_cache():
    x = np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]])
    W = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]])
    b = np.array([0.5, -0.5, 0.0])
    out, cache = affine_forward(x, W, b)
    np.testing.assert_array_equal(out, [[5.5, 1.5, -1.0], [-1.5, -1.5, 0.0], [4.5, 0.0, -3.0]])
    assert cache[0] is x and cache[1] is W


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_affine_forward_preserves_dtype(dtype):
    rng = np.random.default_rng(2)
    x, W, b = (rng.normal(size=s).astype(dtype) for s in [(4, 3), (3, 2), (2,)])
    out, _ = affine_forward(x, W, b)
    assert out.shape == (4, 2) and out.dtype == dtype


@pytest.mark.parametrize("args, error, pattern", [
    ((np.zeros((4, 3)), np.zeros((2, 2)), np.zeros(2)), ValueError, r"W must have shape \(D, M\) = \(3, any\); got \(2, 2\)"),
    ((np.zeros((4, 3)), np.zeros((3, 2)), np.zeros(3)), ValueError, r"b must have shape \(M,\) = \(2,\); got \(3,\)"),
    ((np.zeros(3), np.zeros((3, 2)), np.zeros(2)), ValueError, r"x must have shape \(N, D\) = \(any, any\); got \(3,\)"),
    ((np.zeros((4, 3)), np.zeros((3, 2), dtype=np.float32), np.zeros(2)), TypeError, r"W must have dtype float64 .*got float32"),
    (([[1.0, 2.0, 3.0]], np.zeros((3, 2)), np.zeros(2)), TypeError, r"x must be a numpy\.ndarray; got list"),
    ((np.zeros((4, 3), dtype=int), np.zeros((3, 2)), np.zeros(2)), TypeError, r"x must have dtype float32 or float64; got int"),
    ((np.full((4, 3), np.nan), np.zeros((3, 2)), np.zeros(2)), ValueError, r"x must be finite; got 12 NaN"),
])
def test_affine_forward_rejects_bad_input(args, error, pattern):
    with pytest.raises(error, match=pattern):
        affine_forward(*args)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_affine_forward_rejects_zero_features_and_accepts_an_empty_batch(dtype):
    with pytest.raises(ValueError, match=r"x must have at least one feature, \(N, D\) with D >= 1; "
                                         r"got \(4, 0\)"):
        affine_forward(np.zeros((4, 0), dtype), np.zeros((0, 2), dtype), np.zeros(2, dtype))
    out, _ = affine_forward(np.zeros((0, 3), dtype), np.zeros((3, 2), dtype), np.zeros(2, dtype))
    assert out.shape == (0, 2) and out.dtype == dtype


def test_affine_forward_gradients():
    from lstm_lit.learning import affine_backward
    rng = np.random.default_rng(3)
    x, W, b, dout = rng.normal(size=(5, 4)), rng.normal(size=(4, 3)), rng.normal(size=3), rng.normal(size=(5, 3))
    dx, dW, db = affine_backward(dout, affine_forward(x, W, b)[1])
    errors = grad_check(lambda: affine_forward(x, W, b)[0], {"x": x, "W": W, "b": b},
                        {"x": dx, "W": dW, "b": db}, df=dout, verbose=False)
    assert max(errors.values()) < 1e-7


# ---- figure style ------------------------------------------------------------------------------------
def test_book_style_sets_an_accessible_cycle():
    import matplotlib as mpl
    assert len(BOOK_COLORS) == len(BOOK_LINESTYLES) == len(BOOK_MARKERS) == 8
    with mpl.rc_context():
        use_book_style()
        cycle = mpl.rcParams["axes.prop_cycle"].by_key()
        assert cycle["color"] == BOOK_COLORS and mpl.rcParams["image.cmap"] == "cividis"
