"""Unit tests for lstm_lit.learning (chapter 2): losses, backward passes, the gradient checker, optimizers,
make_spirals. Every backward pass is checked against centred finite differences in float64."""
import warnings

import numpy as np
import pytest

from lstm_lit.learning import (SGD, Adam, affine_backward, grad_check, make_spirals, mse_loss, numerical_gradient,
                               rel_error, relu_backward, relu_forward, sigmoid_backward, sigmoid_forward, softmax,
                               softmax_cross_entropy, tanh_backward, tanh_forward)
from lstm_lit.neurons import affine_forward

PAIRS = [(sigmoid_forward, sigmoid_backward), (tanh_forward, tanh_backward), (relu_forward, relu_backward)]


def rng_(seed=0):
    return np.random.default_rng(seed)


# ---- losses ------------------------------------------------------------------------------------------
def test_mse_known_value_and_gradient():
    pred, target = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.0, 2.0], [3.0, 2.0]])
    loss, dpred = mse_loss(pred, target)
    assert loss == (1 + 0 + 0 + 4) / 4
    np.testing.assert_array_equal(dpred, [[0.5, 0.0], [0.0, 1.0]])


def test_mse_gradient_check():
    rng = rng_(1)
    pred, target = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    errors = grad_check(lambda: mse_loss(pred, target)[0], {"pred": pred}, {"pred": mse_loss(pred, target)[1]},
                        verbose=False)
    assert errors["pred"] < 1e-7


def test_softmax_cross_entropy_known_values():
    loss, dlogits = softmax_cross_entropy(np.zeros((4, 5)), np.array([0, 1, 2, 4]))
    assert abs(loss - np.log(5)) < 1e-15
    np.testing.assert_allclose(dlogits.sum(axis=1), 0, atol=1e-16)
    assert abs(dlogits[0, 0] - (0.2 - 1) / 4) < 1e-16


def test_softmax_cross_entropy_gradient_check():
    rng = rng_(2)
    logits, labels = rng.normal(size=(6, 4)), rng.integers(0, 4, size=6)
    _, dlogits = softmax_cross_entropy(logits, labels)
    errors = grad_check(lambda: softmax_cross_entropy(logits, labels)[0], {"logits": logits}, {"logits": dlogits},
                        verbose=False)
    assert errors["logits"] < 1e-7


def test_softmax_is_stable_and_normalised():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = softmax(np.array([[1000.0, 999.0, -1000.0], [0.0, 0.0, 0.0]]))
        loss, _ = softmax_cross_entropy(np.array([[1000.0, -1000.0]]), np.array([1]))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(p[1], 1 / 3, rtol=1e-15)
    assert loss == 2000.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_losses_preserve_dtype(dtype):
    rng = rng_(3)
    x, t = rng.normal(size=(4, 3)).astype(dtype), rng.normal(size=(4, 3)).astype(dtype)
    loss, d = mse_loss(x, t)
    assert isinstance(loss, float) and d.dtype == dtype and d.shape == x.shape
    loss, d = softmax_cross_entropy(x, np.array([0, 1, 2, 0]))
    assert isinstance(loss, float) and d.dtype == dtype and d.shape == x.shape
    assert softmax(x).dtype == dtype


@pytest.mark.parametrize("call, error, pattern", [
    (lambda: mse_loss(np.zeros((2, 3)), np.zeros((3, 2))), ValueError, r"target must have shape \(2, 3\); got \(3, 2\)"),
    (lambda: mse_loss([1.0, 2.0], np.zeros(2)), TypeError, r"pred must be a numpy\.ndarray; got list"),
    (lambda: mse_loss(np.zeros(2), np.zeros(2, dtype=np.float32)), TypeError, r"target must have dtype float64 .*got float32"),
    (lambda: mse_loss(np.array([np.nan, 1.0]), np.zeros(2)), ValueError, r"pred must be finite"),
    (lambda: softmax_cross_entropy(np.zeros(3), np.array([0])), ValueError, r"logits must have shape \(N, K\)"),
    (lambda: softmax_cross_entropy(np.zeros((2, 3)), [0, 1]), TypeError, r"labels must be a numpy\.ndarray .*got list"),
    (lambda: softmax_cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0])), TypeError, r"labels must have an integer dtype; got float64"),
    (lambda: softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2])), ValueError, r"labels must have shape \(N,\) = \(2,\); got \(3,\)"),
    (lambda: softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3])), ValueError, r"labels must lie in \[0, 3\); got values from 0 to 3"),
    (lambda: softmax_cross_entropy(np.zeros((2, 3), dtype=int), np.array([0, 1])), TypeError, r"logits must have dtype float32 or float64"),
    (lambda: softmax_cross_entropy(np.array([[np.inf, 0.0]]), np.array([0])), ValueError, r"logits must be finite"),
    (lambda: softmax(np.array(1.0)), ValueError, r"logits must have at least one axis"),
    # empty batches and empty class axes: a clear ValueError, not ZeroDivisionError or a NaN loss
    (lambda: mse_loss(np.zeros((0, 1)), np.zeros((0, 1))), ValueError,
     r"pred must hold at least one value \(a batch of at least one\); got shape \(0, 1\)"),
    (lambda: mse_loss(np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.float32)), ValueError,
     r"pred must hold at least one value"),
    (lambda: softmax_cross_entropy(np.zeros((0, 3)), np.zeros(0, dtype=int)), ValueError,
     r"logits must hold at least one example and one class, \(N, K\) with N >= 1 and K >= 1; got \(0, 3\)"),
    (lambda: softmax_cross_entropy(np.zeros((2, 0)), np.array([0, 0])), ValueError,
     r"logits must hold at least one example and one class.*got \(2, 0\)"),
    (lambda: softmax(np.zeros((2, 0))), ValueError,
     r"logits must have at least one axis, of K >= 1 classes \(\.\.\., K\); got shape \(2, 0\)"),
    # masked arrays hide a NaN from the finite check: refused, not computed with
    (lambda: mse_loss(np.ma.masked_invalid(np.array([np.nan, 1.0])), np.zeros(2)), TypeError,
     r"pred must be a plain numpy\.ndarray, not a masked array; got MaskedArray"),
    (lambda: softmax_cross_entropy(np.zeros((2, 3)), np.array([True, False])), TypeError,
     r"labels must have an integer dtype; got bool"),
    (lambda: mse_loss(np.array(["1.0"]), np.array(["1.0"])), TypeError,
     r"pred must have dtype float32 or float64; got <U3"),
])
def test_losses_reject_bad_input(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_softmax_of_an_empty_batch_is_empty_and_mse_of_one_value_works():
    assert softmax(np.zeros((0, 3))).shape == (0, 3)
    loss, d = mse_loss(np.array([[2.0]]), np.array([[1.0]]))
    assert loss == 1.0 and d.tolist() == [[2.0]]


# ---- backward passes ---------------------------------------------------------------------------------
def test_affine_backward_gradient_check_with_nonzero_bias():
    rng = rng_(4)
    x, W, b, dout = rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=(5, 4))
    dx, dW, db = affine_backward(dout, affine_forward(x, W, b)[1])
    assert dx.shape == x.shape and dW.shape == W.shape and db.shape == b.shape
    errors = grad_check(lambda: affine_forward(x, W, b)[0], {"x": x, "W": W, "b": b},
                        {"x": dx, "W": dW, "b": db}, df=dout, verbose=False)
    assert max(errors.values()) < 1e-7


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_affine_backward_preserves_dtype(dtype):
    rng = rng_(5)
    x, W, b = (rng.normal(size=s).astype(dtype) for s in [(2, 3), (3, 4), (4,)])
    grads = affine_backward(np.ones((2, 4), dtype=dtype), affine_forward(x, W, b)[1])
    assert all(g.dtype == dtype for g in grads)


@pytest.mark.parametrize("dout, error, pattern", [
    (np.zeros((3, 4)), ValueError, r"dout must have shape \(N, M\) = \(2, 4\); got \(3, 4\)"),
    (np.zeros((2, 4), dtype=np.float32), TypeError, r"dout must have dtype float64 .*got float32"),
    (np.full((2, 4), np.nan), ValueError, r"dout must be finite"),
    ([[0.0] * 4] * 2, TypeError, r"dout must be a numpy\.ndarray; got list"),
])
def test_affine_backward_rejects_bad_dout(dout, error, pattern):
    cache = affine_forward(np.zeros((2, 3)), np.zeros((3, 4)), np.zeros(4))[1]
    with pytest.raises(error, match=pattern):
        affine_backward(dout, cache)


@pytest.mark.parametrize("forward, backward", PAIRS)
def test_activation_pairs_gradient_check(forward, backward):
    rng = rng_(6)
    z = rng.uniform(0.1, 3.0, size=(4, 5)) * rng.choice([-1.0, 1.0], size=(4, 5))    # away from relu's kink
    dout = rng.normal(size=z.shape)
    dz = backward(dout, forward(z)[1])
    errors = grad_check(lambda: forward(z)[0], {"z": z}, {"z": dz}, df=dout, verbose=False)
    assert errors["z"] < 1e-7


@pytest.mark.parametrize("forward, backward", PAIRS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_pairs_preserve_dtype_and_reject_bad_dout(forward, backward, dtype):
    z = rng_(7).normal(size=(3, 2)).astype(dtype)
    out, cache = forward(z)
    assert out.dtype == dtype and backward(np.ones_like(z), cache).dtype == dtype
    with pytest.raises(ValueError, match=r"dout must have shape \(3, 2\); got \(2, 3\)"):
        backward(np.ones((2, 3), dtype=dtype), cache)
    with pytest.raises(TypeError, match=r"dout must be a numpy\.ndarray; got list"):
        backward([[1.0, 1.0]] * 3, cache)


# ---- the gradient checker ----------------------------------------------------------------------------
def test_numerical_gradient_of_known_function():
    x = np.array([1.0, -2.0, 3.0])
    grad = numerical_gradient(lambda: float(np.sum(x ** 3)), x)
    np.testing.assert_allclose(grad, 3 * x ** 2, rtol=1e-8)
    np.testing.assert_array_equal(x, [1.0, -2.0, 3.0])           # restored after perturbing


def test_numerical_gradient_restores_x_when_f_raises():
    x = np.array([1.0, 2.0])

    def f():
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError):
        numerical_gradient(f, x)
    np.testing.assert_array_equal(x, [1.0, 2.0])


@pytest.mark.parametrize("call, error, pattern", [
    (lambda: numerical_gradient(lambda: 0.0, np.zeros(2, dtype=np.float32)), TypeError, r"x must have dtype float64 .*got float32"),
    (lambda: numerical_gradient(lambda: 0.0, [1.0, 2.0]), TypeError, r"x must be a numpy\.ndarray; got list"),
    (lambda: numerical_gradient(lambda: 0.0, np.array([np.nan])), ValueError, r"x must be finite"),
    (lambda: numerical_gradient(3.0, np.zeros(2)), TypeError, r"f must be a callable .*got float"),
    (lambda: numerical_gradient(lambda: 0.0, np.zeros(2), h=0.0), ValueError, r"h must be a positive finite step; got 0.0"),
    (lambda: numerical_gradient(lambda: np.zeros(3), np.zeros(2), df=np.zeros(2)), ValueError, r"df must have the shape of f's output \(3,\); got \(2,\)"),
])
def test_numerical_gradient_rejects_bad_input(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


@pytest.mark.parametrize("call, error, pattern", [
    (lambda: numerical_gradient(lambda: 0.0, np.zeros(2), h="1e-6"), TypeError, r"h must be a real number; got str"),
    (lambda: numerical_gradient(lambda: 0.0, np.zeros(2), h=float("inf")), ValueError,
     r"h must be a positive finite step; got inf"),
    (lambda: numerical_gradient(lambda: 0.0, np.zeros(2), h=float("nan")), ValueError,
     r"h must be a positive finite step; got nan"),
    (lambda: numerical_gradient(lambda: (0.0, np.zeros(2)), np.zeros(2)), TypeError,
     r"f must return a number when df is None; got a tuple \(for a loss function returning \(loss, grad\)"),
    (lambda: numerical_gradient(lambda: np.zeros(3), np.zeros(2)), TypeError,
     r"f must return a number when df is None; got a ndarray"),
    (lambda: numerical_gradient(lambda: "0.5", np.zeros(2)), TypeError, r"f must return a number; got str"),
    (lambda: numerical_gradient(lambda: None, np.zeros(2)), TypeError, r"f must return a number; got NoneType"),
    (lambda: numerical_gradient(lambda: 0.0, np.ma.array([1.0, 2.0])), TypeError,
     r"x must be a plain numpy\.ndarray, not a masked array"),
])
def test_numerical_gradient_explains_wrong_steps_and_wrong_return_values(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_numerical_gradient_of_an_empty_array_is_empty():
    assert numerical_gradient(lambda: 0.0, np.zeros((0, 2))).shape == (0, 2)


def test_rel_error_values_and_scale_invariance():
    a = np.array([1.0, 2.0, 2.0])
    assert rel_error(a, a) == 0.0 and rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(a, -a) == 1.0
    assert abs(rel_error(a, 2 * a) - 1 / 3) < 1e-15
    assert abs(rel_error(1e-8 * a, 2e-8 * a) - 1 / 3) < 1e-15


@pytest.mark.parametrize("a, b, pattern", [
    (np.zeros(3), np.zeros(4), r"a and b must have the same shape; got \(3,\) and \(4,\)"),
    (np.array([np.nan]), np.zeros(1), r"a and b must be finite"),
])
def test_rel_error_rejects_bad_input(a, b, pattern):
    with pytest.raises(ValueError, match=pattern):
        rel_error(a, b)


@pytest.mark.parametrize("a, b, pattern", [
    ("1.5", 1.5, r"a must be an array of real numbers; got dtype <U3"),
    (np.zeros(2), np.array([1 + 2j, 0j]), r"b must be an array of real numbers; got dtype complex128"),
    (np.zeros(1), np.array([None]), r"b must be an array of real numbers; got dtype object"),
])
def test_rel_error_refuses_strings_complex_and_objects(a, b, pattern):
    with pytest.raises(TypeError, match=pattern):
        rel_error(a, b)


def test_grad_check_reports_ok_for_right_and_warning_for_wrong_gradient(capsys):
    rng = rng_(8)
    pred, target = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    _, dpred = mse_loss(pred, target)
    right = grad_check(lambda: mse_loss(pred, target)[0], {"pred": pred}, {"pred": dpred})
    assert right["pred"] < 1e-7 and "OK" in capsys.readouterr().out
    wrong = grad_check(lambda: mse_loss(pred, target)[0], {"pred": pred}, {"pred": dpred / 2})   # factor 2 lost
    assert abs(wrong["pred"] - 1 / 3) < 1e-6 and "WARNING" in capsys.readouterr().out


def test_grad_check_catches_a_missing_activation_derivative():
    z, dout = rng_(9).normal(size=(3, 4)), rng_(10).normal(size=(3, 4))
    errors = grad_check(lambda: sigmoid_forward(z)[0], {"z": z}, {"z": dout}, df=dout, verbose=False)
    assert errors["z"] > 0.1


@pytest.mark.parametrize("call, error, pattern", [
    (lambda x: grad_check(lambda: 0.0, [x], {"x": x}), TypeError, r"inputs must be a dict name -> array; got list"),
    (lambda x: grad_check(lambda: 0.0, {"x": x}, [x]), TypeError, r"analytic must be a dict name -> array; got list"),
    (lambda x: grad_check(lambda: 0.0, {}, {}), ValueError, r"inputs must name at least one array to check"),
    (lambda x: grad_check(lambda: 0.0, {"x": x}, {"x": x}, tol=0), ValueError, r"tol must be a finite number > 0; got 0"),
    (lambda x: grad_check(lambda: 0.0, {"x": x}, {"x": x}, tol="1e-7"), TypeError, r"tol must be a real number; got str"),
    (lambda x: grad_check(lambda: 0.0, {"W": x.astype(np.float32)}, {"W": x}), TypeError,
     r"x must have dtype float64 for a finite-difference check; got float32"),
    (lambda x: grad_check(lambda: 0.0, {"W": [0.0, 0.0, 0.0]}, {"W": x}), TypeError,
     r"inputs\['W'\] must be a numpy\.ndarray; got list"),
    (lambda x: grad_check(lambda: 0.0, {"x": x}, {"x": np.array([np.nan, 0.0, 0.0])}), ValueError,
     r"analytic\['x'\] must be finite; got 1 NaN"),
    (lambda x: grad_check(lambda: 0.0, {"x": x}, {"x": np.array(["a", "b", "c"])}), TypeError,
     r"analytic\['x'\] must have dtype float32 or float64; got <U1"),
    (lambda x: grad_check(lambda: 1.0 / x[0], {"x": x}, {"x": np.zeros(3)}, h=1.0), ValueError,
     r"the numerical gradient of 'x' is not finite"),
])
def test_grad_check_rejects_bad_arguments_naming_them(call, error, pattern):
    x = np.zeros(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)           # 1 / 0 in the last case
        with pytest.raises(error, match=pattern):
            call(x)


def test_grad_check_accepts_a_list_gradient_and_a_float32_gradient():
    x = np.array([1.0, 2.0])
    errors = grad_check(lambda: float(np.sum(x * x)), {"x": x}, {"x": [2.0, 4.0]}, verbose=False)
    assert errors["x"] < 1e-7
    errors = grad_check(lambda: float(np.sum(x * x)), {"x": x},
                        {"x": np.array([2.0, 4.0], dtype=np.float32)}, verbose=False)
    assert errors["x"] < 1e-7


def test_grad_check_rejects_mismatched_gradients():
    x = np.zeros(3)
    with pytest.raises(ValueError, match=r"analytic must have a gradient for every input; missing \['x'\]"):
        grad_check(lambda: 0.0, {"x": x}, {})
    with pytest.raises(ValueError, match=r"analytic\['x'\] must have the shape of the input \(3,\); got \(2,\)"):
        grad_check(lambda: 0.0, {"x": x}, {"x": np.zeros(2)})


# ---- optimizers --------------------------------------------------------------------------------------
CURVATURE = np.array([1.0, 10.0])


def _minimise(optimizer_cls, dtype=np.float64, steps=200, **kwargs):
    params = {"theta": np.array([3.0, -2.0], dtype=dtype)}
    opt = optimizer_cls(params, **kwargs)
    loss = lambda: 0.5 * float(np.sum(CURVATURE * params["theta"] ** 2))
    start = loss()
    for _ in range(steps):
        opt.step({"theta": (CURVATURE * params["theta"]).astype(dtype)})
    return start, loss(), params["theta"]


@pytest.mark.parametrize("optimizer_cls, kwargs", [(SGD, {"lr": 0.05}), (SGD, {"lr": 0.05, "momentum": 0.9}),
                                                   (Adam, {"lr": 0.05})])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_optimizers_decrease_a_quadratic_and_keep_dtype(optimizer_cls, kwargs, dtype):
    start, end, theta = _minimise(optimizer_cls, dtype, **kwargs)
    assert end < 1e-3 * start and theta.dtype == dtype


def test_sgd_step_matches_formula():
    p = {"w": np.array([1.0, 2.0])}
    opt = SGD(p, lr=0.1, momentum=0.5)
    opt.step({"w": np.array([1.0, -1.0])})
    np.testing.assert_allclose(p["w"], [0.9, 2.1])
    opt.step({"w": np.array([1.0, -1.0])})                  # v = 0.5 * v - 0.1 g = [-0.15, 0.15]
    np.testing.assert_allclose(p["w"], [0.75, 2.25])


def test_adam_first_step_is_lr_times_sign():
    p = {"w": np.array([1.0, 1.0, 1.0])}
    Adam(p, lr=0.01).step({"w": np.array([1e-3, -5.0, 200.0])})
    np.testing.assert_allclose(p["w"], [0.99, 1.01, 0.99], rtol=1e-6)


@pytest.mark.parametrize("make, error, pattern", [
    (lambda: SGD({"w": np.zeros(2)}, lr=0.0), ValueError, r"lr must be a finite number > 0; got 0.0"),
    (lambda: SGD({"w": np.zeros(2)}, momentum=1.0), ValueError, r"momentum must lie in \[0, 1\); got 1.0"),
    (lambda: Adam({"w": np.zeros(2)}, beta2=1.0), ValueError, r"beta1 and beta2 must lie in \[0, 1\)"),
    (lambda: Adam({"w": np.zeros(2)}, eps=0.0), ValueError, r"eps must be a finite number > 0; got 0.0"),
    (lambda: SGD({"w": np.zeros(2)}, lr=float("inf")), ValueError, r"lr must be a finite number > 0; got inf"),
    (lambda: Adam({"w": np.zeros(2)}, lr=float("nan")), ValueError, r"lr must be a finite number > 0; got nan"),
    (lambda: SGD({"w": np.zeros(2)}, lr="0.1"), TypeError, r"lr must be a real number; got str"),
    (lambda: SGD({"w": np.zeros(2)}, momentum="0.9"), TypeError, r"momentum must be a real number; got str"),
    (lambda: SGD({"w": np.zeros(2)}, momentum=float("nan")), ValueError, r"momentum must lie in \[0, 1\); got nan"),
    (lambda: Adam({"w": np.zeros(2)}, beta1=None), TypeError, r"beta1 must be a real number; got NoneType"),
    (lambda: Adam({"w": np.zeros(2)}, eps=True), TypeError, r"eps must be a real number; got bool"),
    (lambda: Adam({"w": np.zeros(2)}, eps=float("inf")), ValueError, r"eps must be a finite number > 0; got inf"),
    (lambda: Adam({}), ValueError, r"params must hold at least one array; got an empty dict"),
    (lambda: SGD({"w": np.ma.array([1.0, 2.0])}), TypeError, r"params\['w'\] must be a plain numpy\.ndarray, not a masked array"),
    (lambda: Adam([np.zeros(2)]), TypeError, r"params must be a non-empty dict .*got list"),
    (lambda: SGD({"w": np.zeros(2, dtype=int)}), TypeError, r"params\['w'\] must have dtype float32 or float64; got int"),
])
def test_optimizers_reject_bad_settings(make, error, pattern):
    with pytest.raises(error, match=pattern):
        make()


@pytest.mark.parametrize("optimizer_cls", [SGD, Adam])
@pytest.mark.parametrize("grads, error, pattern", [
    ({}, ValueError, r"grads must have a gradient for every parameter; missing \['w'\]"),
    ({"w": np.zeros(3)}, ValueError, r"grads\['w'\] must have shape \(2,\); got \(3,\)"),
    ({"w": np.zeros(2, dtype=np.float32)}, TypeError, r"grads\['w'\] must have dtype float64 .*got float32"),
    ({"w": np.array([np.nan, 0.0])}, ValueError, r"grads\['w'\] must be finite"),
    ({"w": [0.0, 0.0]}, TypeError, r"grads\['w'\] must be a numpy\.ndarray; got list"),
])
def test_optimizers_reject_bad_gradients(optimizer_cls, grads, error, pattern):
    params = {"w": np.ones(2)}
    with pytest.raises(error, match=pattern):
        optimizer_cls(params).step(grads)
    np.testing.assert_array_equal(params["w"], [1.0, 1.0])        # nothing was updated


# ---- make_spirals ------------------------------------------------------------------------------------
def test_make_spirals_shapes_labels_and_determinism():
    X, y = make_spirals(50, 4, np.random.default_rng(0), noise=0.1)
    assert X.shape == (200, 2) and X.dtype == np.float64
    assert y.shape == (200,) and np.issubdtype(y.dtype, np.integer)
    assert np.bincount(y).tolist() == [50, 50, 50, 50]
    X2, y2 = make_spirals(50, 4, np.random.default_rng(0), noise=0.1)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = make_spirals(50, 4, np.random.default_rng(1), noise=0.1)
    assert not np.array_equal(X, X3)


def test_make_spirals_without_noise_lies_on_the_arms():
    X, y = make_spirals(20, 3, np.random.default_rng(0), noise=0.0)
    r = np.linalg.norm(X, axis=1)
    np.testing.assert_allclose(r[:20], np.linspace(0.15, 1.0, 20))
    np.testing.assert_allclose(X[0], [0.15 * np.cos(2.4 * np.pi * 0.15), 0.15 * np.sin(2.4 * np.pi * 0.15)])


@pytest.mark.parametrize("args, kwargs, error, pattern", [
    ((0, 3, np.random.default_rng(0)), {}, ValueError, r"n_per_class must be at least 1; got 0"),
    ((10, 1, np.random.default_rng(0)), {}, ValueError, r"n_classes must be at least 2; got 1"),
    ((10.0, 3, np.random.default_rng(0)), {}, TypeError, r"n_per_class must be an int; got float"),
    ((10, 3, 0), {}, TypeError, r"rng must be a numpy\.random\.Generator; got int"),
    ((10, 3, np.random.default_rng(0)), {"noise": -0.1}, ValueError, r"noise must be a finite number >= 0; got -0.1"),
    ((10, 3, np.random.default_rng(0)), {"noise": float("nan")}, ValueError, r"noise must be a finite number >= 0"),
    ((10, 3, np.random.default_rng(0)), {"noise": float("inf")}, ValueError, r"noise must be a finite number >= 0; got inf"),
    ((10, 3, np.random.default_rng(0)), {"noise": "0.1"}, TypeError, r"noise must be a real number; got str"),
    ((10, 3, np.random.default_rng(0)), {"noise": None}, TypeError, r"noise must be a real number; got NoneType"),
    ((10, 3, np.random.default_rng(0)), {"noise": np.array([0.1])}, TypeError, r"noise must be a real number; got ndarray"),
])
def test_make_spirals_rejects_bad_input(args, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        make_spirals(*args, **kwargs)


def test_exercise_kink_grad_check_warns_next_to_relus_kink(capsys):
    # the claim of the exercise on ReLU's kink: at z = 1e-7 with h = 1e-6 the quotient is 0.55, not 1
    z = np.array([1e-7])
    errors = grad_check(lambda: relu_forward(z)[0], {"z": z}, {"z": relu_backward(np.ones(1), z)},
                        df=np.ones(1))
    assert abs(numerical_gradient(lambda: relu_forward(z)[0], z, df=np.ones(1))[0] - 0.55) < 1e-9
    assert abs(errors["z"] - 0.45 / 1.55) < 1e-9 and "WARNING" in capsys.readouterr().out


@pytest.mark.parametrize("cache, error, pattern", [
    ([np.zeros((2, 3)), np.zeros((3, 4))], TypeError, r"cache must be the \(x, W\) pair that affine_forward returned; got list"),
    ((np.zeros((2, 3)),), TypeError, r"cache must be the \(x, W\) pair .*got tuple"),
    ((np.zeros((2, 3)), np.zeros((2, 4))), ValueError, r"cache W must have shape \(D, M\) = \(3, any\); got \(2, 4\)"),
    (([[0.0] * 3] * 2, np.zeros((3, 4))), TypeError, r"cache x must be a numpy\.ndarray; got list"),
])
def test_affine_backward_rejects_a_cache_it_did_not_make(cache, error, pattern):
    with pytest.raises(error, match=pattern):
        affine_backward(np.zeros((2, 4)), cache)


@pytest.mark.parametrize("backward", [sigmoid_backward, tanh_backward, relu_backward])
def test_activation_backward_rejects_a_cache_that_is_not_an_array(backward):
    with pytest.raises(TypeError, match=r"cache must be a numpy\.ndarray; got list"):
        backward(np.zeros(2), [0.5, 0.5])
