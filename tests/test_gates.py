"""Unit tests for the per-gate LSTM pieces of chapters 6-9 (cell_state, forget_gate, input_gate, output_gate)."""
import numpy as np
import pytest

from lstm_lit.cell_state import cell_state_backward, cell_state_forward, draw_lstm_cell
from lstm_lit.forget_gate import forget_gate_backward, forget_gate_forward
from lstm_lit.input_gate import candidate_backward, candidate_forward, input_gate_backward, input_gate_forward
from lstm_lit.learning import grad_check
from lstm_lit.output_gate import (GATE_KEYS, hidden_state_backward, hidden_state_forward, init_gates,
                                  lstm_step_per_gate, output_gate_backward, output_gate_forward)

GATES = {  # name -> (forward, backward, activation written out independently)
    "f": (forget_gate_forward, forget_gate_backward, lambda z: 1 / (1 + np.exp(-z))),
    "i": (input_gate_forward, input_gate_backward, lambda z: 1 / (1 + np.exp(-z))),
    "C": (candidate_forward, candidate_backward, lambda z: (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z))),
    "o": (output_gate_forward, output_gate_backward, lambda z: 1 / (1 + np.exp(-z))),
}


def _gate_args(rng, N=3, H=4, D=2, dtype=np.float64):
    h_prev = rng.normal(size=(N, H)).astype(dtype)
    x = rng.normal(size=(N, D)).astype(dtype)
    W = rng.normal(size=(H, H + D)).astype(dtype)
    b = rng.normal(size=H).astype(dtype)  # non-zero biases
    return h_prev, x, W, b


# ---------------------------------------------------------------- known values on hand-computed cases

def test_cell_state_known_values():
    C_prev = np.array([[2.0, -1.0]])
    f = np.array([[0.5, 1.0]])
    i = np.array([[0.25, 0.0]])
    C_tilde = np.array([[-0.8, 0.9]])
    C, _ = cell_state_forward(C_prev, f, i, C_tilde)
    # 0.5 * 2 + 0.25 * (-0.8) = 0.8;  1 * (-1) + 0 * 0.9 = -1
    np.testing.assert_allclose(C, [[0.8, -1.0]], rtol=0, atol=1e-15)


def test_forget_gate_known_value():
    # H = 1, D = 1: z = 1 * h + 2 * x + b = 1 * 0.5 + 2 * (-1) + 1.5 = 0, so f = sigmoid(0) = 0.5
    f, _ = forget_gate_forward(np.array([[0.5]]), np.array([[-1.0]]), np.array([[1.0, 2.0]]), np.array([1.5]))
    assert f.shape == (1, 1) and abs(f[0, 0] - 0.5) < 1e-15
    # z = log(3) gives sigmoid = 3/4 exactly
    f, _ = forget_gate_forward(np.array([[0.0]]), np.array([[1.0]]), np.array([[0.0, np.log(3.0)]]), np.array([0.0]))
    assert abs(f[0, 0] - 0.75) < 1e-15


def test_weights_act_on_h_prev_first_then_x():
    # W = [w_h | w_x]: a weight only on the h part must not see x
    W = np.array([[2.0, 0.0]])
    f, _ = forget_gate_forward(np.array([[0.0]]), np.array([[5.0]]), W, np.array([0.0]))
    assert abs(f[0, 0] - 0.5) < 1e-15


def test_candidate_is_tanh_not_sigmoid():
    # z = -log(3): tanh = -0.8 exactly (sigmoid would give 0.25, and could never be negative)
    C_tilde, _ = candidate_forward(np.array([[0.0]]), np.array([[1.0]]), np.array([[0.0, -np.log(3.0)]]),
                                   np.array([0.0]))
    assert abs(C_tilde[0, 0] - (-0.8)) < 1e-15
    rng = np.random.default_rng(1)
    C_tilde, _ = candidate_forward(*_gate_args(rng, N=50))
    assert C_tilde.min() < -0.5, "candidate must reach negative values"


def test_input_and_output_gates_known_value():
    args = (np.array([[0.0]]), np.array([[1.0]]), np.array([[0.0, np.log(3.0)]]), np.array([0.0]))
    assert abs(input_gate_forward(*args)[0][0, 0] - 0.75) < 1e-15
    assert abs(output_gate_forward(*args)[0][0, 0] - 0.75) < 1e-15


def test_hidden_state_uses_tanh_of_cell():
    o = np.array([[0.5, 1.0]])
    C = np.array([[np.log(3.0), 2.0]])  # tanh(log 3) = 0.8
    h, _ = hidden_state_forward(o, C)
    np.testing.assert_allclose(h, [[0.4, np.tanh(2.0)]], rtol=0, atol=1e-15)
    # h = o * C (tanh dropped) would give 0.5 * 1.0986 = 0.549 and 2.0: caught above, and h must stay in (-1, 1)
    h, _ = hidden_state_forward(np.ones((1, 3)), np.array([[5.0, -7.0, 30.0]]))
    assert np.all(np.abs(h) <= 1.0)


def test_tiny_lstm_step_by_hand():
    # H = 1, D = 1, h_prev = 0, x = 1; each gate's weight on x chosen so the activations are exact numbers
    l3 = np.log(3.0)
    gates = {"W_f": np.array([[0.0, l3]]), "b_f": np.array([0.0]),      # f = 0.75
             "W_i": np.array([[0.0, -l3]]), "b_i": np.array([0.0]),     # i = 0.25
             "W_C": np.array([[0.0, l3]]), "b_C": np.array([0.0]),      # C~ = tanh(log 3) = 0.8
             "W_o": np.array([[0.0, 0.0]]), "b_o": np.array([0.0])}     # o = 0.5
    h, C = lstm_step_per_gate(np.array([[1.0]]), np.array([[0.0]]), np.array([[2.0]]), gates)
    # C = 0.75 * 2 + 0.25 * 0.8 = 1.7;  h = 0.5 * tanh(1.7)
    assert abs(C[0, 0] - 1.7) < 1e-15
    assert abs(h[0, 0] - 0.5 * np.tanh(1.7)) < 1e-15


# ---------------------------------------------------------------- gradient checks, float64, every input

@pytest.mark.parametrize("gate", list(GATES))
def test_gate_backward_grad_check(gate):
    forward, backward, _ = GATES[gate]
    rng = np.random.default_rng(10)
    h_prev, x, W, b = _gate_args(rng)
    out, cache = forward(h_prev, x, W, b)
    dout = rng.normal(size=out.shape)
    dh_prev, dx, dW, db = backward(dout, cache)
    errs = grad_check(lambda: forward(h_prev, x, W, b)[0], {"h_prev": h_prev, "x": x, "W": W, "b": b},
                      {"h_prev": dh_prev, "x": dx, "W": dW, "b": db}, df=dout, verbose=False)
    assert max(errs.values()) < 1e-7, errs


def test_cell_state_backward_grad_check():
    rng = np.random.default_rng(11)
    C_prev = rng.normal(size=(3, 4))
    f, i = rng.uniform(0.05, 0.95, size=(2, 3, 4))
    C_tilde = rng.uniform(-0.9, 0.9, size=(3, 4))
    dC = rng.normal(size=(3, 4))
    _, cache = cell_state_forward(C_prev, f, i, C_tilde)
    dC_prev, df, di, dC_tilde = cell_state_backward(dC, cache)
    errs = grad_check(lambda: cell_state_forward(C_prev, f, i, C_tilde)[0],
                      {"C_prev": C_prev, "f": f, "i": i, "C_tilde": C_tilde},
                      {"C_prev": dC_prev, "f": df, "i": di, "C_tilde": dC_tilde}, df=dC, verbose=False)
    assert max(errs.values()) < 1e-7, errs
    np.testing.assert_array_equal(dC_prev, dC * f)  # the cell path is scaled by f alone


def test_hidden_state_backward_grad_check():
    rng = np.random.default_rng(12)
    o = rng.uniform(0.05, 0.95, size=(3, 4))
    C = rng.normal(scale=1.5, size=(3, 4))
    dh = rng.normal(size=(3, 4))
    _, cache = hidden_state_forward(o, C)
    do, dC = hidden_state_backward(dh, cache)
    errs = grad_check(lambda: hidden_state_forward(o, C)[0], {"o": o, "C": C}, {"o": do, "C": dC},
                      df=dh, verbose=False)
    assert max(errs.values()) < 1e-7, errs


@pytest.mark.parametrize("gate", list(GATES))
def test_grad_check_catches_missing_activation_derivative(gate):
    # The grad checks above are only meaningful if they can fail: a backward pass that drops the
    # sigmoid (or tanh) derivative, dz = dout, must be flagged far above the 1e-7 tolerance.
    forward, _, _ = GATES[gate]
    rng = np.random.default_rng(13)
    h_prev, x, W, b = _gate_args(rng)
    out, (hx, _, _) = forward(h_prev, x, W, b)
    dout = rng.normal(size=out.shape)
    H = out.shape[1]
    dhx = dout @ W
    buggy = {"h_prev": dhx[:, :H], "x": dhx[:, H:], "W": dout.T @ hx, "b": dout.sum(axis=0)}
    errs = grad_check(lambda: forward(h_prev, x, W, b)[0], {"h_prev": h_prev, "x": x, "W": W, "b": b},
                      buggy, df=dout, verbose=False)
    assert min(errs.values()) > 1e-2, errs


def test_hidden_state_backward_needs_tanh_derivative():
    # dC = dh * o (tanh' dropped) must differ from the correct dC = dh * o * (1 - tanh(C)^2)
    o, C, dh = np.full((1, 2), 0.5), np.array([[1.0, -2.0]]), np.ones((1, 2))
    _, dC = hidden_state_backward(dh, hidden_state_forward(o, C)[1])
    np.testing.assert_allclose(dC, 0.5 * (1 - np.tanh(C) ** 2), rtol=1e-15)
    assert np.all(np.abs(dC) < 0.5 * 0.5)


# ---------------------------------------------------------------- the assembled step

def _transcription(x, h_prev, C_prev, p):
    """The six equations, written out directly with column-vector weights."""
    sig = lambda z: 1 / (1 + np.exp(-z))
    hx = np.hstack([h_prev, x])
    f = sig(hx @ p["W_f"].T + p["b_f"])
    i = sig(hx @ p["W_i"].T + p["b_i"])
    C_tilde = np.tanh(hx @ p["W_C"].T + p["b_C"])
    C = f * C_prev + i * C_tilde
    o = sig(hx @ p["W_o"].T + p["b_o"])
    return o * np.tanh(C), C


def test_lstm_step_matches_equations_over_a_sequence():
    rng = np.random.default_rng(14)
    N, D, H, T = 3, 2, 5, 6
    gates = init_gates(D, H, rng)
    for k in GATE_KEYS:
        if k.startswith("b_"):
            gates[k] = gates[k] + rng.normal(size=H)  # non-zero, distinct biases in every gate
    xs = rng.normal(size=(N, T, D))
    h = rng.normal(size=(N, H)) * 0.5
    C = rng.normal(size=(N, H))
    h_ref, C_ref = h.copy(), C.copy()
    for t in range(T):
        h, C = lstm_step_per_gate(xs[:, t], h, C, gates)
        h_ref, C_ref = _transcription(xs[:, t], h_ref, C_ref, gates)
    np.testing.assert_allclose(h, h_ref, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(C, C_ref, rtol=1e-12, atol=1e-13)


def test_lstm_step_detects_swapped_gate():
    # swapping the forget and input gate parameters must change the result (keys are used, not order)
    rng = np.random.default_rng(15)
    gates = init_gates(2, 3, rng)
    gates["b_i"] = gates["b_i"] - 2.0
    x, h, C = rng.normal(size=(2, 2)), rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    swapped = dict(gates, W_f=gates["W_i"], b_f=gates["b_i"], W_i=gates["W_f"], b_i=gates["b_f"])
    assert not np.allclose(lstm_step_per_gate(x, h, C, gates)[1], lstm_step_per_gate(x, h, C, swapped)[1])


def test_init_gates():
    g = init_gates(3, 4, np.random.default_rng(0))
    assert tuple(g) == GATE_KEYS
    for k in "fiCo":
        assert g[f"W_{k}"].shape == (4, 7) and g[f"b_{k}"].shape == (4,)
        assert np.abs(g[f"W_{k}"]).max() <= 0.5  # 1 / sqrt(H)
    np.testing.assert_array_equal(g["b_f"], np.ones(4))
    for k in ("b_i", "b_C", "b_o"):
        np.testing.assert_array_equal(g[k], np.zeros(4))
    g0 = init_gates(3, 4, np.random.default_rng(0), forget_bias=0.0, dtype=np.float32)
    assert all(a.dtype == np.float32 for a in g0.values()) and not g0["b_f"].any()
    with pytest.raises(TypeError, match="Generator"):
        init_gates(3, 4, 0)


# ---------------------------------------------------------------- dtype

def test_float32_preserved_everywhere():
    rng = np.random.default_rng(16)
    h_prev, x, W, b = _gate_args(rng, dtype=np.float32)
    for forward, backward, _ in GATES.values():
        out, cache = forward(h_prev, x, W, b)
        assert out.dtype == np.float32
        assert all(g.dtype == np.float32 for g in backward(np.ones_like(out), cache))
    C, cache = cell_state_forward(h_prev, out, out, out)
    assert C.dtype == np.float32 and all(g.dtype == np.float32 for g in cell_state_backward(C, cache))
    h, cache = hidden_state_forward(out, C)
    assert h.dtype == np.float32 and all(g.dtype == np.float32 for g in hidden_state_backward(h, cache))
    gates = init_gates(2, 4, rng, dtype=np.float32)
    h, C = lstm_step_per_gate(x, h_prev, h_prev, gates)
    assert h.dtype == np.float32 and C.dtype == np.float32


# ---------------------------------------------------------------- bad inputs

@pytest.mark.parametrize("gate", list(GATES))
def test_gate_rejects_bad_inputs(gate):
    forward = GATES[gate][0]
    name = {"f": "W_f", "i": "W_i", "C": "W_C", "o": "W_o"}[gate]
    rng = np.random.default_rng(17)
    h_prev, x, W, b = _gate_args(rng, N=3, H=4, D=2)
    with pytest.raises(ValueError, match=rf"{name} must have shape \(H, H \+ D\) = \(4, 6\); got \(5, 7\)"):
        forward(h_prev, x, rng.normal(size=(5, 7)), b)             # mismatched H
    with pytest.raises(ValueError, match=rf"{name} must have shape \(H, H \+ D\) = \(4, 7\); got \(4, 6\)"):
        forward(h_prev, rng.normal(size=(3, 3)), W, b)            # mismatched D
    with pytest.raises(ValueError, match=r"x must have shape \(N, D\) = \(3, any\); got \(2, 2\)"):
        forward(h_prev, x[:2], W, b)                              # mismatched N
    with pytest.raises(ValueError, match=r"b_\w must have shape \(H,\) = \(4,?\); got \(5,\)"):
        forward(h_prev, x, W, np.zeros(5))
    with pytest.raises(TypeError, match="x must have dtype float64 .*got float32"):
        forward(h_prev, x.astype(np.float32), W, b)               # mixed dtypes
    with pytest.raises(TypeError, match="h_prev must have dtype float32 or float64; got int64"):
        forward(np.zeros((3, 4), dtype=np.int64), x, W, b)        # wrong dtype
    with pytest.raises(TypeError, match="numpy.ndarray; got list"):
        forward(h_prev.tolist(), x, W, b)
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="x must be finite; got 1 NaN"):
        forward(h_prev, bad, W, b)


def test_backward_rejects_wrong_upstream_gradient():
    rng = np.random.default_rng(18)
    f, cache = forget_gate_forward(*_gate_args(rng))
    with pytest.raises(ValueError, match="df must have shape"):
        forget_gate_backward(np.ones((3, 5)), cache)
    with pytest.raises(TypeError, match="df must have dtype float64"):
        forget_gate_backward(np.ones((3, 4), dtype=np.float32), cache)
    _, cache = hidden_state_forward(f, f)
    with pytest.raises(ValueError, match="dh must be finite"):
        hidden_state_backward(np.full((3, 4), np.inf), cache)


def test_cell_and_hidden_reject_bad_inputs():
    C_prev = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"f must have shape \(N, H\) = \(2, 3\); got \(2, 4\)"):
        cell_state_forward(C_prev, np.zeros((2, 4)), C_prev, C_prev)
    with pytest.raises(TypeError, match="C_tilde must have dtype float64"):
        cell_state_forward(C_prev, C_prev, C_prev, C_prev.astype(np.float32))
    with pytest.raises(ValueError, match=r"C must have shape \(N, H\) = \(2, 3\); got \(3, 2\)"):
        hidden_state_forward(C_prev, np.zeros((3, 2)))


def test_lstm_step_rejects_bad_inputs():
    rng = np.random.default_rng(19)
    gates = init_gates(2, 3, rng)
    x, h, C = np.zeros((4, 2)), np.zeros((4, 3)), np.zeros((4, 3))
    with pytest.raises(ValueError, match="missing \\('b_o',\\)"):
        lstm_step_per_gate(x, h, C, {k: v for k, v in gates.items() if k != "b_o"})
    with pytest.raises(TypeError, match="gates must be a dict"):
        lstm_step_per_gate(x, h, C, list(gates.values()))
    with pytest.raises(ValueError, match=r"C_prev must have shape \(N, H\) = \(4, 3\); got \(4, 2\)"):
        lstm_step_per_gate(x, h, np.zeros((4, 2)), gates)
    with pytest.raises(ValueError, match=r"W_f must have shape \(H, H \+ D\) = \(3, 6\); got \(3, 5\)"):
        lstm_step_per_gate(np.zeros((4, 3)), h, C, gates)          # input of the wrong size D
    with pytest.raises(TypeError, match="W_C must have dtype float32"):
        lstm_step_per_gate(x.astype(np.float32), h.astype(np.float32), C.astype(np.float32),
                           dict(init_gates(2, 3, rng, dtype=np.float32), W_C=gates["W_C"]))


def test_draw_lstm_cell_parts():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    assert draw_lstm_cell(ax) is ax
    plt.close(fig)
    for part in (None, "cell", "forget", "input", "candidate", "output"):
        ax = draw_lstm_cell(highlight=part)
        hatched = [p for p in ax.patches if p.get_hatch()]
        assert (len(hatched) > 0) == (part is not None), part
        plt.close(ax.figure)
    with pytest.raises(ValueError, match="highlight must be one of"):
        draw_lstm_cell(highlight="gate")


# ---------------------------------------------------------------- edge cases at the public boundary

@pytest.mark.parametrize("D, H", [(0, 3), (2, 0), (True, 3), (2.0, 3), (None, 3), ("2", 3), (-1, 3)])
def test_init_gates_rejects_bad_sizes(D, H):
    with pytest.raises(ValueError, match=r"(D|H) must be a positive integer; got"):
        init_gates(D, H, np.random.default_rng(0))


def test_init_gates_forget_bias():
    rng = np.random.default_rng(0)
    for bias in (5, 5.0, np.float32(5.0), np.int64(5)):
        np.testing.assert_array_equal(init_gates(2, 3, rng, forget_bias=bias)["b_f"], np.full(3, 5.0))
    assert init_gates(np.int64(2), np.int64(3), rng)["W_f"].shape == (3, 5)
    for bias in ("1", None, True, np.ones(3)):
        with pytest.raises(TypeError, match="forget_bias must be a real number; got"):
            init_gates(2, 3, rng, forget_bias=bias)
    for bias in (np.nan, np.inf, -np.inf):
        with pytest.raises(ValueError, match="forget_bias must be finite; got"):
            init_gates(2, 3, rng, forget_bias=bias)


@pytest.mark.parametrize("gate", list(GATES))
def test_gate_needs_at_least_one_cell_and_one_input(gate):
    forward = GATES[gate][0]
    with pytest.raises(ValueError, match=r"need H >= 1 and D >= 1; got H = 0, D = 2"):
        forward(np.zeros((3, 0)), np.zeros((3, 2)), np.zeros((0, 2)), np.zeros(0))
    with pytest.raises(ValueError, match=r"need H >= 1 and D >= 1; got H = 4, D = 0"):
        forward(np.zeros((3, 4)), np.zeros((3, 0)), np.zeros((4, 4)), np.zeros(4))


@pytest.mark.parametrize("gate", list(GATES))
def test_gate_empty_batch(gate):
    # N = 0 is a well-defined empty batch: empty outputs, zero parameter gradients
    forward, backward, _ = GATES[gate]
    rng = np.random.default_rng(20)
    _, _, W, b = _gate_args(rng, H=4, D=2)
    out, cache = forward(np.zeros((0, 4)), np.zeros((0, 2)), W, b)
    assert out.shape == (0, 4)
    dh, dx, dW, db = backward(np.zeros((0, 4)), cache)
    assert dh.shape == (0, 4) and dx.shape == (0, 2) and not dW.any() and not db.any()


def test_backward_rejects_a_foreign_cache():
    rng = np.random.default_rng(21)
    h_prev, x, W, b = _gate_args(rng)
    dout = np.ones((3, 4))
    for name, (forward, backward, _) in GATES.items():
        _, cache = forward(h_prev, x, W, b)
        for bad in (None, cache[:2], cache + (W,), (cache[0], cache[1].tolist(), cache[2])):
            with pytest.raises(TypeError, match=r"cache must be the tuple \(hx, W_\w, \w+\) of arrays"):
                backward(dout, bad)
    _, cell_cache = cell_state_forward(dout, dout, dout, dout)
    with pytest.raises(TypeError, match=r"cache must be the tuple \(C_prev, f, i, C_tilde\) .* "
                                        r"cell_state_forward; got a tuple of 3"):
        cell_state_backward(dout, cell_cache[:3])
    with pytest.raises(TypeError, match=r"\(o, tanh_C\) .* hidden_state_forward; got dict"):
        hidden_state_backward(dout, {"o": dout})


def test_masked_arrays_are_refused():
    # NumPy's isfinite skips masked entries: a NaN under the mask must not slip through
    masked = np.ma.masked_invalid(np.array([[np.nan, 1.0, 0.0, 0.0]]))
    W, b = np.zeros((4, 6)), np.zeros(4)
    with pytest.raises(TypeError, match="masked array"):
        forget_gate_forward(masked, np.zeros((1, 2)), W, b)
    with pytest.raises(TypeError, match="masked array"):
        cell_state_forward(masked, np.ones((1, 4)), np.ones((1, 4)), np.ones((1, 4)))
