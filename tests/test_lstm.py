"""Tests of the fused LSTM (notebooks/10_lstm.ipynb) and its backward pass (notebooks/11_lstm_backward.ipynb).

- Agreement with PyTorch: every number in tests/fixtures/torch_*.npz (written by tools/make_torch_fixtures.py
  with nn.LSTM and nn.LSTMCell in float64) is reproduced to 1e-10, and, when torch is importable, a live
  comparison on random shapes.
- Float64 finite-difference checks of the step and sequence backward passes, plain and fast.
- The plain pair (lstm_forward_plain / lstm_backward_plain, written as the equations) and the fast
  pair (lstm_forward / lstm_backward) agree on random shapes in float64 and float32.
- The classic LSTM bugs, re-implemented locally, fail the same fixtures: the fixtures can catch them.
- dtype preservation, conversions to and from PyTorch's layout, and bad inputs.
"""
import warnings

import numpy as np
import pytest

from lstm_lit.learning import grad_check, rel_error
from lstm_lit.lstm import (GATE_ORDER, from_torch, fuse_gates, init_lstm, lstm_forward,
                           lstm_forward_plain, lstm_step_forward, split_gates, to_torch)
from lstm_lit.lstm_backward import lstm_backward, lstm_backward_plain, lstm_step_backward
from torch_fixtures import (TOL, assert_close, assert_fixtures_well_formed, assert_grads_close,
                            fixture_paths, load)

# the one-layer nn.LSTM and nn.LSTMCell cases of tools/make_torch_fixtures.py (the other torch_*.npz
# files belong to the stacked, bidirectional, GRU and convolution chapters and their tests)
FIXTURES = fixture_paths("lstm_a", "lstm_b", "lstm_c", "cell_a")


def random_case(rng, N, T, D, H, dtype=np.float64):
    """Random inputs with non-zero biases, initial states, upstream gradients (sequence layout)."""
    p = init_lstm(D, H, rng, dtype=dtype)
    p["b"] = rng.normal(size=4 * H).astype(dtype)
    x = rng.normal(size=(N, T, D)).astype(dtype)
    h0, C0 = rng.normal(size=(N, H)).astype(dtype), rng.normal(size=(N, H)).astype(dtype)
    dh, dC_T = rng.normal(size=(N, T, H)).astype(dtype), rng.normal(size=(N, H)).astype(dtype)
    return p, x, h0, C0, dh, dC_T


# ---------------------------------------------------------------- agreement with PyTorch (stored fixtures)

def test_fixtures_exist_and_record_torch_version():
    assert_fixtures_well_formed(FIXTURES, {"LSTM", "LSTMCell"}, ("bias_ih", "h0", "c0"))


def torch_targets(d):
    """The upstream gradients of the fixture's loss, in lstm_lit's terms: (dh, dC_T)."""
    if str(d["module"]) == "LSTM":
        dh = d["R"].copy()
        dh[:, -1] += d["S"]                          # h_n is the last output: both terms reach it
    else:
        dh = d["S"][:, None, :].copy()               # one step
    return dh, d["U"]


def check_against_fixture(d, forward, backward, tol=TOL):
    """Run a forward/backward pair (lstm_lit's or a variant) on a fixture; assert every number agrees."""
    params = from_torch({k: d[k] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")})
    x = d["x"] if d["x"].ndim == 3 else d["x"][:, None, :]
    h, C_T, cache = forward(x, d["h0"], d["c0"], params["Wx"], params["Wh"], params["b"])
    if "output" in d:
        assert_close(h, d["output"], "output", tol)
    assert_close(h[:, -1], d["h_n"], "h_n", tol)
    assert_close(C_T, d["c_n"], "c_n", tol)
    dh, dC_T = torch_targets(d)
    dx, dh0, dC0, dWx, dWh, db = backward(dh, cache, dC_T)
    assert_grads_close(d, {"x": dx.reshape(d["grad_x"].shape), "h0": dh0, "c0": dC0,
                           "weight_ih": dWx.T, "weight_hh": dWh.T,
                           "bias_ih": db, "bias_hh": db}, tol)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_sequence_functions_reproduce_torch_fixture(path):
    check_against_fixture(load(path), lstm_forward, lstm_backward)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_plain_sequence_functions_reproduce_torch_fixture(path):
    check_against_fixture(load(path), lstm_forward_plain, lstm_backward_plain)


def step_loop_forward(x, h0, C0, Wx, Wh, b):
    """lstm_forward's contract, built from lstm_step_forward."""
    h, C, caches, hs = h0, C0, [], []
    for t in range(x.shape[1]):
        h, C, cache = lstm_step_forward(x[:, t], h, C, Wx, Wh, b)
        hs.append(h)
        caches.append(cache)
    return np.stack(hs, axis=1), C, caches


def step_loop_backward(dh, caches, dC_T):
    """lstm_backward's contract, built from lstm_step_backward."""
    dh_next, dC_next = np.zeros_like(dh[:, 0]), dC_T.copy()
    dWx = dWh = db = 0
    dxs = []
    for t in range(dh.shape[1] - 1, -1, -1):
        dx, dh_next, dC_next, dWx_t, dWh_t, db_t = lstm_step_backward(dh[:, t] + dh_next, dC_next, caches[t])
        dxs.append(dx)
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return np.stack(dxs[::-1], axis=1), dh_next, dC_next, dWx, dWh, db


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_step_functions_reproduce_torch_fixture(path):
    check_against_fixture(load(path), step_loop_forward, step_loop_backward)


# ---------------------------------------------------------------- agreement with PyTorch (live)

@pytest.mark.parametrize("seed", range(4))
def test_live_against_torch_random_shapes(seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(100 + seed)
    N, T, D, H = (int(v) for v in rng.integers(1, 9, size=4))
    N, T = N + 1, T + 1
    net = torch.nn.LSTM(D, H, batch_first=True).double()
    with torch.no_grad():
        for name in ("bias_ih_l0", "bias_hh_l0"):
            getattr(net, name).copy_(torch.from_numpy(rng.normal(size=4 * H)))
    x, h0, c0 = (torch.from_numpy(rng.normal(size=s)).requires_grad_(True) for s in ((N, T, D), (N, H), (N, H)))
    R, S, U = rng.normal(size=(N, T, H)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    out, (h_n, c_n) = net(x, (h0[None], c0[None]))
    loss = (out * torch.from_numpy(R)).sum() + (h_n[0] * torch.from_numpy(S)).sum() + (c_n[0] * torch.from_numpy(U)).sum()
    loss.backward()

    p = from_torch(net.state_dict())                 # torch tensors accepted directly
    h, C_T, cache = lstm_forward(x.detach().numpy(), h0.detach().numpy(), c0.detach().numpy(), **p)
    assert_close(h, out.detach().numpy(), "output")
    assert_close(C_T, c_n[0].detach().numpy(), "c_n")
    dh = R.copy()
    dh[:, -1] += S
    dx, dh0, dC0, dWx, dWh, db = lstm_backward(dh, cache, U)
    assert_close(dx, x.grad.numpy(), "grad x")
    assert_close(dh0, h0.grad.numpy(), "grad h0")
    assert_close(dC0, c0.grad.numpy(), "grad c0")
    assert_close(dWx.T, net.weight_ih_l0.grad.numpy(), "grad weight_ih")
    assert_close(dWh.T, net.weight_hh_l0.grad.numpy(), "grad weight_hh")
    assert_close(db, net.bias_ih_l0.grad.numpy(), "grad bias_ih")
    assert_close(db, net.bias_hh_l0.grad.numpy(), "grad bias_hh")


def test_live_to_torch_loads_into_torch_float32():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    N, T, D, H = 3, 6, 4, 5
    p = init_lstm(D, H, rng, dtype=np.float32)
    p["b"] = rng.normal(size=4 * H).astype(np.float32)
    net = torch.nn.LSTM(D, H, batch_first=True)
    net.load_state_dict({k: torch.from_numpy(v) for k, v in to_torch(p).items()})
    x = rng.normal(size=(N, T, D)).astype(np.float32)
    h0 = np.zeros((N, H), np.float32)
    out, (h_n, c_n) = net(torch.from_numpy(x))
    h, C_T, _ = lstm_forward(x, h0, h0, **p)
    assert h.dtype == np.float32
    assert_close(h, out.detach().numpy(), "float32 output", tol=1e-5)
    assert_close(C_T, c_n[0].detach().numpy(), "float32 c_n", tol=1e-5)


# ---------------------------------------------------------------- gradient checks (float64)

def test_step_backward_gradient_check():
    rng = np.random.default_rng(1)
    N, D, H = 3, 4, 5
    p, x, h_prev, C_prev, _, _ = random_case(rng, N, 1, D, H)
    x = x[:, 0]
    Wx, Wh, b = p["Wx"], p["Wh"], p["b"]
    dh, dC = rng.normal(size=(N, H)), rng.normal(size=(N, H))
    _, _, cache = lstm_step_forward(x, h_prev, C_prev, Wx, Wh, b)
    dx, dh_prev, dC_prev, dWx, dWh, db = lstm_step_backward(dh, dC, cache)

    def loss():
        h, C, _ = lstm_step_forward(x, h_prev, C_prev, Wx, Wh, b)
        return np.sum(h * dh) + np.sum(C * dC)

    errs = grad_check(loss, {"x": x, "h_prev": h_prev, "C_prev": C_prev, "Wx": Wx, "Wh": Wh, "b": b},
                      {"x": dx, "h_prev": dh_prev, "C_prev": dC_prev, "Wx": dWx, "Wh": dWh, "b": db},
                      verbose=False)
    assert max(errs.values()) < 1e-7, errs


def test_fast_path_equals_step_loop_and_leaves_cache_intact():
    rng = np.random.default_rng(3)
    p, x, h0, C0, dh, dC_T = random_case(rng, 4, 9, 3, 6)
    h, C_T, cache = lstm_forward(x, h0, C0, **p)
    h_ref, C_ref, caches = step_loop_forward(x, h0, C0, **p)
    assert_close(h, h_ref, "h", 1e-13)
    assert_close(C_T, C_ref, "C_T", 1e-13)
    grads = lstm_backward(dh, cache, dC_T)
    again = lstm_backward(dh, cache, dC_T)            # backward must not consume its cache
    for name, g, g2, r in zip(("dx", "dh0", "dC0", "dWx", "dWh", "db"), grads, again,
                              step_loop_backward(dh, caches, dC_T)):
        assert np.array_equal(g, g2), name
        assert_close(g, r, name, 1e-12)


# ---------------------------------------------------------------- plain pair vs fast pair

PAIRS = {"plain": (lstm_forward_plain, lstm_backward_plain), "fast": (lstm_forward, lstm_backward)}


@pytest.mark.parametrize("dtype, h_tol, g_tol", [(np.float64, 1e-13, 1e-12), (np.float32, 1e-6, 1e-5)])
@pytest.mark.parametrize("seed", range(6))
def test_fast_pair_equals_plain_pair_on_random_shapes(seed, dtype, h_tol, g_tol):
    rng = np.random.default_rng(200 + seed)
    N, T, D, H = (int(v) for v in rng.integers(1, 8, size=4))
    if seed == 0:
        N, T, D, H = 1, 1, 1, 1                      # the smallest layer
    p, x, h0, C0, dh, dC_T = random_case(rng, N, T, D, H, dtype)
    h, C_T, cache = lstm_forward_plain(x, h0, C0, **p)
    h_f, C_f, cache_f = lstm_forward(x, h0, C0, **p)
    assert h.dtype == C_T.dtype == h_f.dtype == dtype
    assert_close(h_f, h, f"h {(N, T, D, H)}", h_tol)
    assert_close(C_f, C_T, f"C_T {(N, T, D, H)}", h_tol)
    for dC in (dC_T, None):
        grads = lstm_backward_plain(dh, cache, dC)
        grads_f = lstm_backward(dh, cache_f, dC)
        for name, g, g_f in zip(("dx", "dh0", "dC0", "dWx", "dWh", "db"), grads, grads_f):
            assert g.dtype == g_f.dtype == dtype, name
            assert g.shape == g_f.shape, name
            assert rel_error(g_f, g) < g_tol, (name, rel_error(g_f, g))


@pytest.mark.parametrize("pair", ["fast", "plain"])
@pytest.mark.parametrize("with_dC_T", [True, False])
def test_sequence_backward_gradient_check(with_dC_T, pair):
    forward, backward = PAIRS[pair]
    rng = np.random.default_rng(2 if pair == "fast" else 21)
    N, T, D, H = (2, 5, 3, 4) if pair == "fast" else (3, 4, 2, 3)
    p, x, h0, C0, dh, dC_T = random_case(rng, N, T, D, H)
    if not with_dC_T:
        dC_T = np.zeros_like(dC_T)
    _, _, cache = forward(x, h0, C0, **p)
    dx, dh0, dC0, dWx, dWh, db = backward(dh, cache, dC_T if with_dC_T else None)

    def loss():
        h, C_T, _ = forward(x, h0, C0, **p)
        return np.sum(h * dh) + np.sum(C_T * dC_T)

    errs = grad_check(loss, {"x": x, "h0": h0, "C0": C0, **p},
                      {"x": dx, "h0": dh0, "C0": dC0, "Wx": dWx, "Wh": dWh, "b": db},
                      verbose=False)
    assert max(errs.values()) < 1e-7, errs


def test_plain_pair_is_the_step_loop_and_keeps_its_cache():
    rng = np.random.default_rng(22)
    p, x, h0, C0, dh, dC_T = random_case(rng, 3, 5, 2, 4)
    h, C_T, cache = lstm_forward_plain(x, h0, C0, **p)
    h_ref, C_ref, caches = step_loop_forward(x, h0, C0, **p)
    assert np.array_equal(h, h_ref) and np.array_equal(C_T, C_ref)
    assert isinstance(cache, list) and len(cache) == 5
    grads = lstm_backward_plain(dh, cache, dC_T)
    again = lstm_backward_plain(dh, cache, dC_T)
    for g, g2, r in zip(grads, again, step_loop_backward(dh, caches, dC_T)):
        assert np.array_equal(g, g2)
        assert_close(g, r, "plain vs step loop", 1e-14)


@pytest.mark.parametrize("pair", PAIRS)
@pytest.mark.parametrize("N, T", [(1, 1), (1, 4), (3, 1), (3, 4)])
def test_outputs_are_independent_of_the_cache(pair, N, T):
    """Editing the returned h or C_T (or the gradients) in place must not change anything else."""
    forward, backward = PAIRS[pair]
    rng = np.random.default_rng(23)
    p, x, h0, C0, dh, dC_T = random_case(rng, N, T, 2, 3)
    h, C_T, cache = forward(x, h0, C0, **p)
    cached = [a for a in (cache if pair == "fast" else [a for c in cache for a in c])
              if isinstance(a, np.ndarray)]
    for out in (h, C_T):
        assert not any(np.shares_memory(out, a) for a in cached)
    grads = backward(dh, cache, dC_T)
    h[...] = 123.0
    C_T[...] = -7.0
    for g, g2 in zip(grads, backward(dh, cache, dC_T)):
        assert np.array_equal(g, g2)
    for k, g in enumerate(grads):                     # no gradient is a view of another, or of
        for a in cached + [dh, dC_T]:                 # the cache and the upstream gradients
            assert not np.shares_memory(g, a), k
    h2, C2, _ = forward(x, h0, C0, **p)
    assert not np.shares_memory(h2, h)


@pytest.mark.parametrize("pair", PAIRS)
def test_empty_batch_gives_empty_outputs_and_zero_parameter_gradients(pair):
    forward, backward = PAIRS[pair]
    p = init_lstm(3, 4, np.random.default_rng(24))
    z = np.zeros((0, 4))
    h, C_T, cache = forward(np.zeros((0, 5, 3)), z, z, **p)
    assert h.shape == (0, 5, 4) and C_T.shape == (0, 4)
    dx, dh0, dC0, dWx, dWh, db = backward(np.zeros((0, 5, 4)), cache)
    assert dx.shape == (0, 5, 3) and dh0.shape == dC0.shape == (0, 4)
    assert not dWx.any() and not dWh.any() and not db.any()


@pytest.mark.parametrize("pair", PAIRS)
def test_caches_are_not_interchangeable(pair):
    forward, _ = PAIRS[pair]
    args = good_args()
    _, _, cache = forward(**args)
    dh = np.zeros((2, 3, 5))
    other = lstm_backward if pair == "plain" else lstm_backward_plain
    right = "lstm_backward_plain" if pair == "plain" else "lstm_backward"
    with pytest.raises(TypeError, match=f"goes to {right}"):
        other(dh, cache)
    for bad in (None, [], (), "cache"):
        with pytest.raises(TypeError, match="cache must be"):
            PAIRS[pair][1](dh, bad)


# ---------------------------------------------------------------- the classic bugs fail the fixtures

def sig(z):
    return 1 / (1 + np.exp(-z))


def variant_forward(bug=None):
    """A plain re-implementation of the forward pass with one optional classic bug."""
    def forward(x, h0, C0, Wx, Wh, b):
        H = Wh.shape[0]
        if bug == "bias_in_wrong_gate":
            b = np.concatenate([b[H:2 * H], b[:H], b[2 * H:]])      # forget bias copied into i, and back
        if bug == "torch_biases_doubled":
            b = 2 * b
        h, C, hs, steps = h0, C0, [], []
        for t in range(x.shape[1]):
            a = x[:, t] @ Wx + h @ Wh + b
            ai, af, ag, ao = (a[:, k * H:(k + 1) * H] for k in range(4))
            if bug == "blocks_in_order_ifog":
                ag, ao = ao, ag
            if bug == "candidate_as_input_gate":
                ai, ag = ag, ai
            i, f, g, o = sig(ai), sig(af), np.tanh(ag), sig(ao)
            C_prev, h_prev = C, h
            C = f * C + i * g
            h = o * C if bug == "missing_tanh_C" else o * np.tanh(C)
            hs.append(h)
            steps.append((x[:, t], h_prev, C_prev, i, f, g, o, np.tanh(C)))
        return np.stack(hs, axis=1), C, (steps, Wx, Wh)
    return forward


def variant_backward(bug=None):
    """A plain re-implementation of the backward pass with one optional classic bug."""
    def backward(dh, cache, dC_T):
        steps, Wx, Wh = cache
        dh_next, dC_next = np.zeros_like(dh[:, 0]), dC_T.copy()
        dWx, dWh, db, dxs = 0, 0, 0, []
        for t in range(len(steps) - 1, -1, -1):
            x, h_prev, C_prev, i, f, g, o, tC = steps[t]
            dh_t = dh[:, t] if bug == "dh_not_carried" else dh[:, t] + dh_next
            if bug == "dC_not_carried":
                dC_next = np.zeros_like(dC_next) if t < len(steps) - 1 else dC_next
            if bug == "dC_overwritten":                          # '=' instead of '+=': hidden path lost
                dC = dC_next
            else:
                dC = dC_next + dh_t * o * (1 - tC ** 2)
            if bug == "missing_sigmoid_derivative":
                di, df, do = dC * g, dC * C_prev, dh_t * tC
            else:
                di, df, do = dC * g * i * (1 - i), dC * C_prev * f * (1 - f), dh_t * tC * o * (1 - o)
            da = np.concatenate([di, df, dC * i * (1 - g ** 2), do], axis=1)
            dxs.append(da @ Wx.T)
            dh_next, dC_next = da @ Wh.T, dC * f
            dWx, dWh, db = dWx + x.T @ da, dWh + h_prev.T @ da, db + da.sum(axis=0)
        return np.stack(dxs[::-1], axis=1), dh_next, dC_next, dWx, dWh, db
    return backward


def fixture_passes(forward, backward):
    try:
        for path in FIXTURES:
            check_against_fixture(load(path), forward, backward)
    except AssertionError:
        return False
    return True


def test_plain_variant_without_bug_passes_fixtures():
    assert fixture_passes(variant_forward(), variant_backward())


@pytest.mark.parametrize("bug", ["missing_tanh_C", "blocks_in_order_ifog", "candidate_as_input_gate",
                                 "bias_in_wrong_gate", "torch_biases_doubled"])
def test_forward_bugs_fail_fixtures(bug):
    assert not fixture_passes(variant_forward(bug), variant_backward())


@pytest.mark.parametrize("bug", ["missing_sigmoid_derivative", "dh_not_carried", "dC_not_carried",
                                 "dC_overwritten"])
def test_backward_bugs_fail_fixtures_and_grad_check(bug):
    assert not fixture_passes(variant_forward(), variant_backward(bug))
    rng = np.random.default_rng(4)
    p, x, h0, C0, dh, dC_T = random_case(rng, 2, 4, 3, 3)
    forward = variant_forward()
    _, _, cache = forward(x, h0, C0, **p)
    grads = dict(zip(("x", "h0", "C0", "Wx", "Wh", "b"), variant_backward(bug)(dh, cache, dC_T)))

    def loss():
        h, C_T, _ = forward(x, h0, C0, **p)
        return np.sum(h * dh) + np.sum(C_T * dC_T)

    errs = grad_check(loss, {"x": x, "h0": h0, "C0": C0, **p}, {k: grads[k] for k in ("x", "h0", "C0", "Wx", "Wh", "b")},
                      verbose=False)
    assert max(errs.values()) > 1e-3, errs


# ---------------------------------------------------------------- dtypes, conversions, initialisation

def test_float32_preserved_end_to_end_and_warning_free():
    rng = np.random.default_rng(5)
    p64, x, h0, C0, dh, dC_T = random_case(rng, 3, 8, 4, 5)
    p32 = {k: v.astype(np.float32) for k, v in p64.items()}
    f32 = [a.astype(np.float32) for a in (x, h0, C0, dh, dC_T)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h, C_T, cache = lstm_forward(f32[0], f32[1], f32[2], **p32)
        grads = lstm_backward(f32[3], cache, f32[4])
        big = lstm_forward(100 * f32[0], f32[1], f32[2], **p32)[0]     # saturated gates: no overflow warning
        hs, Cs, cs = lstm_step_forward(f32[0][:, 0], f32[1], f32[2], **p32)
        step_grads = lstm_step_backward(f32[3][:, 0], f32[4], cs)
    assert h.dtype == C_T.dtype == big.dtype == hs.dtype == Cs.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads + step_grads)
    assert np.all(np.isfinite(big))
    h64, C64, cache64 = lstm_forward(x, h0, C0, **p64)
    assert_close(h, h64, "float32 h", 1e-5)
    for g, g64 in zip(grads, lstm_backward(dh, cache64, dC_T)):
        assert rel_error(g, g64) < 1e-5


def test_init_lstm_layout_and_forget_bias():
    rng = np.random.default_rng(6)
    D, H = 3, 4
    p = init_lstm(D, H, rng)
    assert p["Wx"].shape == (D, 4 * H) and p["Wh"].shape == (H, 4 * H) and p["b"].shape == (4 * H,)
    k = 1 / np.sqrt(H)
    assert np.abs(p["Wx"]).max() <= k and np.abs(p["Wh"]).max() <= k and p["Wh"].std() > k / 3
    f = GATE_ORDER.index("f")
    assert np.all(p["b"][f * H:(f + 1) * H] == 1.0)
    assert np.all(np.delete(p["b"], np.s_[f * H:(f + 1) * H]) == 0.0)
    assert np.all(init_lstm(D, H, rng, forget_bias=0.0)["b"] == 0.0)
    p32 = init_lstm(D, H, np.random.default_rng(0), dtype=np.float32)
    assert all(v.dtype == np.float32 for v in p32.values())
    a, b = init_lstm(D, H, np.random.default_rng(9)), init_lstm(D, H, np.random.default_rng(9))
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_init_lstm_input_bias():
    D, H = 3, 4
    i, f = GATE_ORDER.index("i"), GATE_ORDER.index("f")
    default = init_lstm(D, H, np.random.default_rng(9))
    assert np.all(default["b"][i * H:(i + 1) * H] == 0.0)           # default unchanged: 0
    same = init_lstm(D, H, np.random.default_rng(9), input_bias=0.0)
    assert all(np.array_equal(default[k], same[k]) for k in default)
    for dtype in (np.float64, np.float32):
        p = init_lstm(D, H, np.random.default_rng(9), forget_bias=5.0, input_bias=-3.0,
                      dtype=dtype)
        assert p["b"].dtype == dtype
        assert np.all(p["b"][i * H:(i + 1) * H] == -3.0)
        assert np.all(p["b"][f * H:(f + 1) * H] == 5.0)
        assert np.all(p["b"][2 * H:] == 0.0)                         # g and o untouched
        assert np.array_equal(p["Wx"], default["Wx"].astype(dtype))  # same weights drawn
    with pytest.raises(TypeError, match="input_bias must be a real number; got str"):
        init_lstm(D, H, np.random.default_rng(0), input_bias="-3")
    with pytest.raises(ValueError, match="input_bias must be finite; got nan"):
        init_lstm(D, H, np.random.default_rng(0), input_bias=float("nan"))
    with pytest.raises(ValueError, match="forget_bias must be finite; got inf"):
        init_lstm(D, H, np.random.default_rng(0), forget_bias=np.inf)


def test_torch_round_trip_and_naming():
    rng = np.random.default_rng(8)
    p = init_lstm(3, 4, rng)
    p["b"] = rng.normal(size=16)
    state = to_torch(p)
    assert {k: v.shape for k, v in state.items()} == {"weight_ih_l0": (16, 3), "weight_hh_l0": (16, 4),
                                                      "bias_ih_l0": (16,), "bias_hh_l0": (16,)}
    back = from_torch(state)
    assert all(np.array_equal(p[k], back[k]) for k in p)
    # nn.LSTMCell naming, two distinct biases summed
    cell = {k.removesuffix("_l0"): v for k, v in state.items()}
    cell["bias_hh"] = rng.normal(size=16)
    cell["bias_ih"] = p["b"] - cell["bias_hh"]
    assert_close(from_torch(cell)["b"], p["b"], "b from two biases", 1e-15)
    # no bias at all (bias=False)
    assert np.all(from_torch({"weight_ih": state["weight_ih_l0"], "weight_hh": state["weight_hh_l0"]})["b"] == 0)
    with pytest.raises(ValueError, match="unexpected keys"):
        from_torch({**state, "weight_ih_l1": state["weight_ih_l0"]})
    with pytest.raises(ValueError, match="weight_ih_l0"):
        from_torch({"weight": state["weight_ih_l0"]})
    with pytest.raises(ValueError, match=r"bias_hh_l0 must have shape \(4H,\) = \(16,?\); got \(12,\)"):
        from_torch({**state, "bias_hh_l0": np.zeros(12)})


def test_split_fuse_round_trip_and_per_gate_step():
    rng = np.random.default_rng(10)
    N, D, H = 2, 3, 4
    p = init_lstm(D, H, rng)
    p["b"] = rng.normal(size=4 * H)
    gates = split_gates(p)
    assert set(gates) == {"W_f", "b_f", "W_i", "b_i", "W_C", "b_C", "W_o", "b_o"}
    assert gates["W_f"].shape == (H, H + D) and gates["b_C"].shape == (H,)
    assert np.array_equal(gates["W_f"], np.concatenate([p["Wh"][:, H:2 * H].T, p["Wx"][:, H:2 * H].T], axis=1))
    assert np.array_equal(gates["b_C"], p["b"][2 * H:3 * H])
    back = fuse_gates(gates)
    assert all(np.array_equal(p[k], back[k]) for k in p)
    output_gate = pytest.importorskip("lstm_lit.output_gate")
    x, h_prev, C_prev = rng.normal(size=(N, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    h, C = output_gate.lstm_step_per_gate(x, h_prev, C_prev, gates)
    h2, C2, _ = lstm_step_forward(x, h_prev, C_prev, **p)
    assert_close(h, h2, "h per gate vs fused", 1e-14)
    assert_close(C, C2, "C per gate vs fused", 1e-14)


# ---------------------------------------------------------------- bad inputs

def good_args(N=2, T=3, D=4, H=5, dtype=np.float64):
    rng = np.random.default_rng(11)
    p = init_lstm(D, H, rng, dtype=dtype)
    return dict(x=rng.normal(size=(N, T, D)).astype(dtype), h0=np.zeros((N, H), dtype),
                C0=np.zeros((N, H), dtype), **p)


@pytest.mark.parametrize("name, value, error, message", [
    ("x", np.zeros((2, 4)), ValueError, r"x must have shape \(N, T, D\) = \(any, any, any\); got \(2, 4\)"),
    ("h0", np.zeros((3, 5)), ValueError, r"h0 must have shape \(N, H\) = \(2, 5\); got \(3, 5\)"),
    ("C0", np.zeros((2, 6)), ValueError, r"C0 must have shape \(N, H\) = \(2, 5\); got \(2, 6\)"),
    ("Wx", np.zeros((3, 20)), ValueError, r"Wx must have shape \(D, 4H\) = \(4, 20\); got \(3, 20\)"),
    ("Wh", np.zeros((5, 16)), ValueError, r"Wh must have shape \(H, 4H\) = \(5, 20\); got \(5, 16\)"),
    ("b", np.zeros(16), ValueError, r"b must have shape \(4H,\) = \(20,?\); got \(16,\)"),
    ("h0", np.zeros((2, 5), np.float32), TypeError, r"h0 must have dtype float64 .*; got float32"),
    ("Wx", np.zeros((4, 20), np.float32), TypeError, r"Wx must have dtype float64 .*; got float32"),
    ("x", np.zeros((2, 3, 4), np.int64), TypeError, r"x must have dtype float32 or float64; got int64"),
    ("b", [0.0] * 20, TypeError, r"b must be a numpy.ndarray; got list"),
    ("x", np.full((2, 3, 4), np.nan), ValueError, r"x must be finite; got 24 NaN or infinite value\(s\)"),
    ("C0", np.full((2, 5), np.inf), ValueError, r"C0 must be finite; got 10 NaN"),
    ("x", np.zeros((2, 0, 4)), ValueError, r"at least one time step.*got \(2, 0, 4\)"),
])
@pytest.mark.parametrize("forward", [lstm_forward, lstm_forward_plain])
def test_forward_rejects_bad_inputs(forward, name, value, error, message):
    args = good_args()
    args[name] = value
    with pytest.raises(error, match=message):
        forward(**args)


@pytest.mark.parametrize("forward", [lstm_forward, lstm_forward_plain])
def test_forward_rejects_empty_input_or_hidden_size(forward):
    args = good_args()
    args["x"], args["Wx"] = np.zeros((2, 3, 0)), np.zeros((0, 20))
    with pytest.raises(ValueError, match=r"x must have shape \(N, T, D\) with D >= 1; "
                                         r"got \(2, 3, 0\)"):
        forward(**args)
    args = good_args()
    args.update(Wh=np.zeros((0, 0)), Wx=np.zeros((4, 0)), b=np.zeros(0),
                h0=np.zeros((2, 0)), C0=np.zeros((2, 0)))
    with pytest.raises(ValueError, match=r"Wh must have shape \(H, 4H\) with H >= 1; "
                                         r"got \(0, 0\)"):
        forward(**args)
    with pytest.raises(ValueError, match=r"D >= 1"):
        lstm_step_forward(np.zeros((2, 0)), np.zeros((2, 5)), np.zeros((2, 5)),
                          np.zeros((0, 20)), good_args()["Wh"], good_args()["b"])
    with pytest.raises(ValueError, match=r"Wx must have shape \(D, 4H\) with D >= 1"):
        split_gates({"Wx": np.zeros((0, 20)), "Wh": np.zeros((5, 20)), "b": np.zeros(20)})
    with pytest.raises(ValueError, match=r"Wh must have shape \(H, 4H\) with H >= 1"):
        to_torch({"Wx": np.zeros((3, 0)), "Wh": np.zeros((0, 0)), "b": np.zeros(0)})
    with pytest.raises(ValueError, match=r"b_f must have shape \(H,\) with H >= 1; got \(0,\)"):
        fuse_gates({f"{p}_{g}": np.zeros((0, 3) if p == "W" else 0)
                    for g in ("f", "i", "C", "o") for p in ("W", "b")})
    for W_ih, W_hh in ((np.zeros((20, 0)), np.zeros((20, 5))), (np.zeros((0, 3)), np.zeros((0, 0)))):
        with pytest.raises(ValueError, match=r"need H >= 1 and D >= 1"):
            from_torch({"weight_ih": W_ih, "weight_hh": W_hh})


@pytest.mark.parametrize("forward", [lstm_forward, lstm_forward_plain])
def test_forward_rejects_masked_arrays(forward):
    """A masked array would pass the finite check with NaN under its mask and give NaN out."""
    args = good_args()
    x = np.ma.masked_array(args["x"], mask=np.zeros(args["x"].shape, bool))
    x.data[0, 0, 0] = np.nan
    x[0, 0, 0] = np.ma.masked
    args["x"] = x
    with pytest.raises(TypeError, match="masked"):
        forward(**args)
    args = good_args()
    args["h0"] = np.ma.masked_array(args["h0"])
    with pytest.raises(TypeError, match="h0 .*masked"):
        forward(**args)


def test_float32_arguments_must_all_be_float32():
    args = good_args(dtype=np.float32)
    lstm_forward(**args)
    args["b"] = args["b"].astype(np.float64)
    with pytest.raises(TypeError, match=r"b must have dtype float32 .*; got float64"):
        lstm_forward(**args)


def test_step_functions_reject_bad_inputs():
    a = good_args()
    x = a["x"][:, 0]
    with pytest.raises(ValueError, match=r"h_prev must have shape \(N, H\) = \(2, 5\); got \(2, 4\)"):
        lstm_step_forward(x, np.zeros((2, 4)), a["C0"], a["Wx"], a["Wh"], a["b"])
    with pytest.raises(ValueError, match=r"x must have shape \(N, D\)"):
        lstm_step_forward(a["x"], a["h0"], a["C0"], a["Wx"], a["Wh"], a["b"])
    _, _, cache = lstm_step_forward(x, a["h0"], a["C0"], a["Wx"], a["Wh"], a["b"])
    with pytest.raises(ValueError, match=r"dC_next must have shape \(N, H\) = \(2, 5\); got \(5,\)"):
        lstm_step_backward(np.zeros((2, 5)), np.zeros(5), cache)
    with pytest.raises(TypeError, match=r"dh_next must have dtype float64 .*; got float32"):
        lstm_step_backward(np.zeros((2, 5), np.float32), np.zeros((2, 5)), cache)
    with pytest.raises(TypeError, match=r"cache must be the tuple of 10 arrays returned by "
                                        r"lstm_step_forward; got list"):
        lstm_step_backward(np.zeros((2, 5)), np.zeros((2, 5)), list(cache))


def test_backward_rejects_bad_inputs():
    _, _, cache = lstm_forward(**good_args())
    with pytest.raises(ValueError, match=r"dh must have shape \(N, T, H\) = \(2, 3, 5\); got \(2, 5\)"):
        lstm_backward(np.zeros((2, 5)), cache)
    with pytest.raises(ValueError, match=r"dC_T must have shape \(N, H\) = \(2, 5\); got \(2, 3, 5\)"):
        lstm_backward(np.zeros((2, 3, 5)), cache, np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match=r"dh must be finite"):
        lstm_backward(np.full((2, 3, 5), np.nan), cache)
    with pytest.raises(TypeError, match=r"dC_T must have dtype float64 .*; got float32"):
        lstm_backward(np.zeros((2, 3, 5)), cache, np.zeros((2, 5), np.float32))


def test_parameter_helpers_reject_bad_inputs():
    rng = np.random.default_rng(12)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator; got int"):
        init_lstm(3, 4, 0)
    with pytest.raises(ValueError, match="H must be a positive integer; got 0"):
        init_lstm(3, 0, rng)
    with pytest.raises(TypeError, match="dtype must be float32 or float64; got int32"):
        init_lstm(3, 4, rng, dtype=np.int32)
    gates = split_gates(init_lstm(3, 4, rng))
    with pytest.raises(ValueError, match=r"W_o must have shape \(H, H \+ D\) = \(4, 7\); got \(4, 6\)"):
        fuse_gates({**gates, "W_o": np.zeros((4, 6))})
    with pytest.raises(ValueError, match=r"missing \['b_C'\]"):
        fuse_gates({k: v for k, v in gates.items() if k != "b_C"})
    with pytest.raises(ValueError, match=r"Wh must have shape \(H, 4H\) = \(4, 16\); got \(4, 12\)"):
        to_torch({"Wx": np.zeros((3, 16)), "Wh": np.zeros((4, 12)), "b": np.zeros(16)})
