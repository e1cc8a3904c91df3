"""Tests of the bidirectional LSTM layer and stack (notebooks/20_bidirectional.ipynb).

- Agreement with PyTorch: nn.LSTM(bidirectional=True) with one and two layers, every number of the
  committed fixtures tests/fixtures/torch_lstm_bi*.npz (written by tools/make_torch_fixtures.py) to
  1e-10, and, when torch is importable, a live comparison on random shapes.
- Float64 gradient checks of the layer, of a stack of two, and of the Tagger's loss.
- The backward direction is the LSTM on the reversed sequence; the stack of one layer is the layer.
- dtype preservation, the neighbours task's labels, and every error path.
"""
import numpy as np
import pytest

from lstm_lit.bidirectional import (Tagger, bidirectional_backward, bidirectional_forward,
                                    bidirectional_stack_backward, bidirectional_stack_forward,
                                    neighbours_task)
from lstm_lit.learning import grad_check
from lstm_lit.lstm import init_lstm, lstm_forward
from lstm_lit.stacked import DIRECTIONS, from_torch_layers, init_stack, to_torch_layers
from torch_fixtures import assert_close, fixture_paths, load

FIXTURES = fixture_paths("lstm_bi", "lstm_bi_l2")
KEYS = ("Wx", "Wh", "b")


def random_stack(rng, N, T, D, H, L, dtype=np.float64):
    layers = init_stack(D, H, L, rng, bidirectional=True, dtype=dtype)
    for layer in layers:
        for d in DIRECTIONS:
            layer[d]["b"] = rng.normal(size=4 * H).astype(dtype)
    x = rng.normal(size=(N, T, D)).astype(dtype)
    h0, C0 = (rng.normal(size=(2 * L, N, H)).astype(dtype) for _ in range(2))
    return layers, x, h0, C0


def ours_in_torch_names(h, h_n, C_n, dx, dh0, dC0, grads):
    out = {"output": h, "h_n": h_n, "c_n": C_n, "grad_x": dx, "grad_h0": dh0, "grad_c0": dC0}
    for k, g in to_torch_layers(grads).items():
        if k.startswith("bias_hh"):
            continue
        out["grad_" + k] = g
        if k.startswith("bias_ih"):                  # both torch biases get the gradient of b
            out["grad_" + k.replace("bias_ih", "bias_hh")] = g
    return out


# ---------------------------------------------------------------- PyTorch fixtures

@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_stack_reproduces_torch_fixture(path):
    d = load(path)
    assert bool(d["bidirectional"]) and str(d["torch_version"]).startswith("2.")
    layers = from_torch_layers({k: v for k, v in d.items() if k.startswith(("weight_", "bias_"))})
    assert len(layers) == int(d["num_layers"])
    h, h_n, C_n, cache = bidirectional_stack_forward(d["x"], d["h0"], d["c0"], layers)
    dx, dh0, dC0, grads = bidirectional_stack_backward(d["R"], cache, d["S"], d["U"])
    ours = ours_in_torch_names(h, h_n, C_n, dx, dh0, dC0, grads)
    expected = {k for k in d if k in ("output", "h_n", "c_n") or k.startswith("grad_")}
    assert set(ours) == expected
    for k in sorted(ours):
        assert_close(ours[k], d[k], f"{path.name} {k}")


def test_one_layer_function_reproduces_torch_fixture():
    d = load(FIXTURES[0])
    (layer,) = from_torch_layers({k: v for k, v in d.items() if k.startswith(("weight_", "bias_"))})
    h, h_n, C_n, cache = bidirectional_forward(d["x"], d["h0"], d["c0"], layer)
    dx, dh0, dC0, grads = bidirectional_backward(d["R"], cache, d["S"], d["U"])
    ours = ours_in_torch_names(h, h_n, C_n, dx, dh0, dC0, [grads])
    for k in ours:
        assert_close(ours[k], d[k], k)


@pytest.mark.parametrize("L", [1, 2])
def test_live_against_torch(L):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(40 + L)
    N, T, D, H = (int(v) + 1 for v in rng.integers(1, 6, size=4))
    layers, x, h0, C0 = random_stack(rng, N, T, D, H, L)
    net = torch.nn.LSTM(D, H, num_layers=L, bidirectional=True, batch_first=True).double()
    state = to_torch_layers(layers)
    for k in state:                                  # split b into two distinct biases
        if k.startswith("bias_hh"):
            state[k] = rng.normal(size=state[k].shape)
            state[k.replace("bias_hh", "bias_ih")] -= state[k]
    net.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    xt, h0t, c0t = (torch.from_numpy(a).requires_grad_(True) for a in (x, h0, C0))
    R, S, U = (rng.normal(size=s) for s in ((N, T, 2 * H), (2 * L, N, H), (2 * L, N, H)))
    out, (h_n, c_n) = net(xt, (h0t, c0t))
    loss = sum((a * torch.from_numpy(b)).sum() for a, b in ((out, R), (h_n, S), (c_n, U)))
    loss.backward()
    h, h_n_o, C_n_o, cache = bidirectional_stack_forward(x, h0, C0, layers)
    dx, dh0, dC0, grads = bidirectional_stack_backward(R, cache, S, U)
    for what, ours, theirs in (("output", h, out), ("h_n", h_n_o, h_n), ("c_n", C_n_o, c_n),
                               ("grad x", dx, xt.grad), ("grad h0", dh0, h0t.grad),
                               ("grad c0", dC0, c0t.grad)):
        assert_close(ours, theirs.detach().numpy(), what)
    ref = dict(net.named_parameters())
    for k, g in to_torch_layers(grads).items():
        if k.startswith("bias_hh"):
            g = to_torch_layers(grads)[k.replace("bias_hh", "bias_ih")]
        assert_close(g, ref[k].grad.numpy(), k)


# ---------------------------------------------------------------- gradient checks and identities

def test_layer_gradient_check():
    rng = np.random.default_rng(1)
    (layer,), x, h0, C0 = random_stack(rng, 2, 4, 3, 2, 1)
    R, S, U = rng.normal(size=(2, 4, 4)), rng.normal(size=(2, 2, 2)), rng.normal(size=(2, 2, 2))

    def f():
        h, h_n, C_n, _ = bidirectional_forward(x, h0, C0, layer)
        return np.sum(h * R) + np.sum(h_n * S) + np.sum(C_n * U)

    dx, dh0, dC0, grads = bidirectional_backward(R, bidirectional_forward(x, h0, C0, layer)[3], S, U)
    inputs = {"x": x, "h0": h0, "C0": C0, **{k + d: layer[d][k] for d in DIRECTIONS for k in KEYS}}
    analytic = {"x": dx, "h0": dh0, "C0": dC0,
                **{k + d: grads[d][k] for d in DIRECTIONS for k in KEYS}}
    assert max(grad_check(f, inputs, analytic, verbose=False).values()) < 1e-7


def test_stack_gradient_check():
    rng = np.random.default_rng(2)
    layers, x, h0, C0 = random_stack(rng, 2, 3, 2, 2, 2)
    R = rng.normal(size=(2, 3, 4))

    def f():
        return np.sum(bidirectional_stack_forward(x, h0, C0, layers)[0] * R)

    dx, dh0, dC0, grads = bidirectional_stack_backward(R, bidirectional_stack_forward(
        x, h0, C0, layers)[3])
    inputs, analytic = {"x": x, "h0": h0, "C0": C0}, {"x": dx, "h0": dh0, "C0": dC0}
    for l in range(2):
        for d in DIRECTIONS:
            for k in KEYS:
                inputs[f"{k}{d}{l}"], analytic[f"{k}{d}{l}"] = layers[l][d][k], grads[l][d][k]
    assert max(grad_check(f, inputs, analytic, verbose=False).values()) < 1e-7


def test_backward_direction_is_lstm_on_reversed_sequence():
    rng = np.random.default_rng(3)
    (layer,), x, h0, C0 = random_stack(rng, 3, 5, 2, 4, 1)
    h, h_n, C_n, _ = bidirectional_forward(x, h0, C0, layer)
    h_fw, C_fw, _ = lstm_forward(x, h0[0], C0[0], **layer["forward"])
    h_rev, C_bw, _ = lstm_forward(x[:, ::-1].copy(), h0[1], C0[1], **layer["backward"])
    assert np.array_equal(h[..., :4], h_fw) and np.array_equal(h[..., 4:], h_rev[:, ::-1])
    assert np.array_equal(h_n, np.stack([h_fw[:, -1], h_rev[:, -1]]))
    assert np.array_equal(C_n, np.stack([C_fw, C_bw]))


def test_stack_of_one_is_the_layer():
    rng = np.random.default_rng(4)
    layers, x, h0, C0 = random_stack(rng, 2, 3, 3, 2, 1)
    a = bidirectional_stack_forward(x, h0, C0, layers)
    b = bidirectional_forward(x, h0, C0, layers[0])
    for u, v in zip(a[:3], b[:3]):
        assert np.array_equal(u, v)


def test_float32_is_preserved():
    rng = np.random.default_rng(5)
    layers, x, h0, C0 = random_stack(rng, 2, 3, 3, 2, 2, dtype=np.float32)
    h, h_n, C_n, cache = bidirectional_stack_forward(x, h0, C0, layers)
    dx, dh0, dC0, grads = bidirectional_stack_backward(np.ones_like(h), cache)
    arrays = [h, h_n, C_n, dx, dh0, dC0] + [g for l in grads for d in DIRECTIONS
                                          for g in l[d].values()]
    assert all(a.dtype == np.float32 for a in arrays)


# ---------------------------------------------------------------- task and tagger

def test_neighbours_task_labels():
    x, y = neighbours_task(5, 6, 3, np.random.default_rng(6))
    s = x.argmax(axis=2)
    left, right = np.divmod(y, 4)
    assert x.shape == (5, 6, 3) and y.dtype == np.int64 and np.all(x.sum(axis=2) == 1)
    assert np.all(left[:, 0] == 3) and np.all(right[:, -1] == 3)
    assert np.array_equal(left[:, 1:], s[:, :-1]) and np.array_equal(right[:, :-1], s[:, 1:])


@pytest.mark.parametrize("bidirectional", [False, True])
def test_tagger_gradient_check(bidirectional):
    rng = np.random.default_rng(7)
    x, y = neighbours_task(2, 4, 2, rng)
    model = Tagger(2, 3, 9, rng, bidirectional=bidirectional)
    for k, v in model.params.items():
        if k.startswith("b"):
            v[...] = rng.normal(size=v.shape)
    _, grads = model.loss_and_grads(x, y)
    assert set(grads) == set(model.params)
    errors = grad_check(lambda: model.loss_and_grads(x, y)[0], model.params, grads, h=1e-5,
                        verbose=False)
    assert max(errors.values()) < 1e-7


def test_tagger_layer_shares_arrays():
    model = Tagger(3, 2, 4, np.random.default_rng(8), bidirectional=True)
    layer = model.layer()
    assert layer["backward"]["Wh"] is model.params["Wh_bw"]
    assert model.predict(np.zeros((2, 5, 3))).shape == (2, 5)


# ---------------------------------------------------------------- errors

def make_args():
    rng = np.random.default_rng(9)
    (layer,), x, h0, C0 = random_stack(rng, 2, 3, 3, 2, 1)
    return layer, x, h0, C0


def test_one_direction_layer_is_rejected():
    layer, x, h0, C0 = make_args()
    with pytest.raises(ValueError, match="layer must be bidirectional"):
        bidirectional_forward(x, h0, C0, layer["forward"])


def test_layer_with_missing_key_names_the_layer():
    layer, x, h0, C0 = make_args()
    del layer["backward"]["b"]
    with pytest.raises(ValueError, match=r"layer\['backward'\]"):
        bidirectional_forward(x, h0, C0, layer)


def test_initial_state_shape_is_checked():
    layer, x, h0, C0 = make_args()
    with pytest.raises(ValueError, match=r"h0 must have shape \(2, N, H\)"):
        bidirectional_forward(x, h0[0], C0, layer)
    with pytest.raises(ValueError, match=r"C0 must have shape \(2, N, H\)"):
        bidirectional_forward(x, h0, C0[:, :1], layer)


def test_input_size_and_dtype_are_checked():
    layer, x, h0, C0 = make_args()
    with pytest.raises(ValueError, match=r"x must have shape \(N, T, D\)"):
        bidirectional_forward(x[..., :2], h0, C0, layer)
    with pytest.raises(TypeError, match="x must have dtype float64"):
        bidirectional_forward(x.astype(np.float32), h0, C0, layer)


def test_backward_checks_cache_and_gradients():
    layer, x, h0, C0 = make_args()
    h, _, _, cache = bidirectional_forward(x, h0, C0, layer)
    with pytest.raises(TypeError, match="bidirectional_forward"):
        bidirectional_backward(h, [cache])
    with pytest.raises(ValueError, match=r"dh must have shape \(N, T, 2H\)"):
        bidirectional_backward(h[..., :2], cache)
    with pytest.raises(ValueError, match=r"dh_n must have shape \(2, N, H\)"):
        bidirectional_backward(h, cache, dh_n=h0[:1])


def test_stack_errors():
    rng = np.random.default_rng(10)
    layers, x, h0, C0 = random_stack(rng, 2, 3, 3, 2, 2)
    with pytest.raises(ValueError, match="layers must be bidirectional"):
        bidirectional_stack_forward(x, h0[:1], C0[:1], [init_lstm(3, 2, rng)])
    with pytest.raises(ValueError, match=r"h0 must have shape \(2L, N, H\)"):
        bidirectional_stack_forward(x, h0[:2], C0, layers)
    with pytest.raises(TypeError, match="bidirectional_stack_forward"):
        bidirectional_stack_backward(np.zeros((2, 3, 4)), ())


@pytest.mark.parametrize("kwargs, error, match", [
    ({"n": 0}, ValueError, "n must be an int >= 1"),
    ({"T": 1}, ValueError, "T must be an int >= 2"),
    ({"K": 1}, ValueError, "K must be an int >= 2"),
    ({"rng": 0}, TypeError, "rng must be a numpy.random.Generator"),
    ({"dtype": np.int64}, TypeError, "dtype must be float32 or float64"),
])
def test_neighbours_task_errors(kwargs, error, match):
    args = {"n": 2, "T": 3, "K": 2, "rng": np.random.default_rng(0)} | kwargs
    with pytest.raises(error, match=match):
        neighbours_task(**args)


def test_tagger_rejects_labels_of_wrong_shape():
    model = Tagger(2, 2, 9, np.random.default_rng(11), bidirectional=True)
    x, y = neighbours_task(2, 4, 2, np.random.default_rng(12))
    with pytest.raises(ValueError, match=r"y must be an array of shape \(N, T\)"):
        model.loss_and_grads(x, y[:, :3])
