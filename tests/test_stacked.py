"""Tests of lstm_lit.stacked (notebooks/19_stacked.ipynb): stacks of LSTM layers.

- Agreement with PyTorch: tests/fixtures/torch_lstm_l2.npz and torch_lstm_l3.npz (nn.LSTM with
  num_layers 2 and 3, written by tools/make_torch_fixtures.py in float64) are reproduced to 1e-10:
  outputs, final states of every layer, every gradient; live comparisons when torch is importable.
- Conversions to and from PyTorch's state dict for any num_layers, bidirectional or not (the
  bidirectional fixtures are read and written back exactly).
- Float64 finite-difference checks of stacked_backward, with dropout masks, and of the model.
- Inverted dropout: its mean over many masks is the evaluation-mode output (within a stated
  statistical bound), evaluation mode is deterministic, dropout never touches the recurrent path.
- dtype preservation and one test per error path.
"""
from pathlib import Path

import numpy as np
import pytest

from lstm_lit.learning import grad_check
from lstm_lit.lstm import init_lstm, lstm_forward
from lstm_lit.stacked import (DIRECTIONS, StackedLSTMModel, check_stack, dropout_backward,
                              dropout_forward, from_torch_layers, init_stack,
                              stacked_backward, stacked_forward, to_torch_layers)
from lstm_lit.training import train
from torch_fixtures import assert_close, assert_grads_close, fixture_paths, load

STACKED = fixture_paths("lstm_l2", "lstm_l3")
BIDIRECTIONAL = fixture_paths("lstm_bi", "lstm_bi_l2")


def torch_state(d):
    return {k: v for k, v in d.items() if k.startswith(("weight_", "bias_"))}


def random_stack(rng, N, T, D, H, L, dtype=np.float64):
    layers = init_stack(D, H, L, rng, dtype=dtype)
    for p in layers:
        p["b"] = rng.normal(size=p["b"].shape).astype(dtype)          # non-zero biases
    x = rng.normal(size=(N, T, D)).astype(dtype)
    h0, C0 = (rng.normal(size=(L, N, H)).astype(dtype) for _ in range(2))
    return layers, x, h0, C0


# ---------------------------------------------------------------- agreement with PyTorch (fixtures)

def test_stacked_fixtures_record_their_torch_model():
    for path in STACKED + BIDIRECTIONAL:
        d = load(path)
        assert str(d["torch_version"]).startswith("2.") and d["x"].dtype == np.float64
        K = int(d["num_layers"]) * (2 if bool(d["bidirectional"]) else 1)
        assert d["h0"].shape[0] == d["h_n"].shape[0] == K
        assert np.all(d["h0"] != 0) and np.all(d["c0"] != 0)
        for k in d:
            if k.startswith("bias_ih"):
                bias_hh = d[k.replace("bias_ih", "bias_hh")]
                assert np.all(d[k] != 0) and not np.allclose(d[k], bias_hh)
    assert [int(load(p)["num_layers"]) for p in STACKED] == [2, 3]


def check_against_fixture(d):
    layers = from_torch_layers(torch_state(d))
    assert len(layers) == int(d["num_layers"])
    h, h_n, C_n, cache = stacked_forward(d["x"], d["h0"], d["c0"], layers)
    assert_close(h, d["output"], "output")
    assert_close(h_n, d["h_n"], "h_n (every layer)")
    assert_close(C_n, d["c_n"], "c_n (every layer)")
    dx, dh0, dC0, grads = stacked_backward(d["R"], cache, d["S"], d["U"])
    assert_grads_close(d, {"x": dx, "h0": dh0, "c0": dC0})
    for k, g in enumerate(grads):
        assert_grads_close(d, {f"weight_ih_l{k}": g["Wx"].T, f"weight_hh_l{k}": g["Wh"].T,
                               f"bias_ih_l{k}": g["b"], f"bias_hh_l{k}": g["b"]})


@pytest.mark.parametrize("path", STACKED, ids=lambda p: p.stem)
def test_stack_reproduces_torch_fixture(path):
    check_against_fixture(load(path))


@pytest.mark.parametrize("path", STACKED, ids=lambda p: p.stem)
def test_dropout_in_eval_mode_still_reproduces_torch_fixture(path):
    d = load(path)
    layers = from_torch_layers(torch_state(d))
    h, h_n, C_n, _ = stacked_forward(d["x"], d["h0"], d["c0"], layers, dropout=0.5,
                                     rng=np.random.default_rng(0), mode="eval")
    assert_close(h, d["output"], "output")
    assert_close(C_n, d["c_n"], "c_n")


@pytest.mark.parametrize("path", STACKED + BIDIRECTIONAL, ids=lambda p: p.stem)
def test_conversion_round_trip_on_fixture_is_exact(path):
    d = load(path)
    state = torch_state(d)
    layers = from_torch_layers(state)
    D, H, bidirectional = check_stack(layers)
    assert bidirectional == bool(d["bidirectional"]) and D == d["x"].shape[2]
    back = to_torch_layers(layers)
    assert list(back) == list(state)                         # torch's names, torch's order
    for k, v in back.items():
        if k.startswith("bias_hh"):
            assert np.all(v == 0)
        elif k.startswith("bias_ih"):
            assert_close(v, state[k] + state[k.replace("bias_ih", "bias_hh")], k, 1e-15)
        else:
            assert np.array_equal(v, state[k])


def test_bidirectional_layers_hold_forward_and_reverse_tensors():
    d = load(BIDIRECTIONAL[1])                                 # torch_lstm_bi_l2: two layers
    layers = from_torch_layers(torch_state(d))
    assert all(set(layer) == set(DIRECTIONS) for layer in layers)
    assert np.array_equal(layers[1]["backward"]["Wx"], d["weight_ih_l1_reverse"].T)
    assert layers[1]["forward"]["Wx"].shape == (2 * 4, 4 * 4)          # reads 2H
    x = d["x"]                                    # layer 0's forward half alone
    h, _, _ = lstm_forward(x, d["h0"][0], d["c0"][0], **layers[0]["forward"])
    assert h.shape == (2, 5, 4)


# ---------------------------------------------------------------- agreement with PyTorch (live)

@pytest.mark.parametrize("seed", range(3))
def test_live_against_torch_stack(seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(200 + seed)
    N, T, D, H = (int(v) + 1 for v in rng.integers(1, 6, size=4))
    L = seed + 1
    net = torch.nn.LSTM(D, H, num_layers=L, batch_first=True).double()
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.startswith("bias"):
                p.copy_(torch.from_numpy(rng.normal(size=4 * H)))
    x, h0, c0 = (torch.from_numpy(rng.normal(size=s)).requires_grad_(True)
                 for s in ((N, T, D), (L, N, H), (L, N, H)))
    R, S, U = rng.normal(size=(N, T, H)), rng.normal(size=(L, N, H)), rng.normal(size=(L, N, H))
    out, (h_n, c_n) = net(x, (h0, c0))
    loss = ((out * torch.from_numpy(R)).sum() + (h_n * torch.from_numpy(S)).sum()
            + (c_n * torch.from_numpy(U)).sum())
    loss.backward()
    layers = from_torch_layers(net.state_dict())                 # tensors accepted
    h, h_n2, C_n, cache = stacked_forward(x.detach().numpy(), h0.detach().numpy(),
                                          c0.detach().numpy(), layers)
    assert_close(h, out.detach().numpy(), "output")
    assert_close(h_n2, h_n.detach().numpy(), "h_n")
    assert_close(C_n, c_n.detach().numpy(), "c_n")
    dx, dh0, dC0, grads = stacked_backward(R, cache, S, U)
    assert_close(dx, x.grad.numpy(), "grad x")
    assert_close(dh0, h0.grad.numpy(), "grad h0")
    assert_close(dC0, c0.grad.numpy(), "grad c0")
    named = dict(net.named_parameters())
    for k, g in enumerate(grads):
        assert_close(g["Wx"].T, named[f"weight_ih_l{k}"].grad.numpy(), f"weight_ih_l{k}")
        assert_close(g["Wh"].T, named[f"weight_hh_l{k}"].grad.numpy(), f"weight_hh_l{k}")
        assert_close(g["b"], named[f"bias_hh_l{k}"].grad.numpy(), f"bias_hh_l{k}")


@pytest.mark.parametrize("bidirectional", [False, True])
def test_live_to_torch_layers_loads_into_nn_lstm(bidirectional):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    layers = init_stack(3, 4, 2, rng, bidirectional=bidirectional)
    net = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=bidirectional,
                        batch_first=True).double()
    state = to_torch_layers(layers)
    assert list(state) == list(net.state_dict())
    net.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    back = from_torch_layers(net.state_dict())
    for a, b in zip(to_torch_layers(back).values(), state.values()):
        assert np.array_equal(a, b)


# ---------------------------------------------------------------- gradients, modes, dtypes

def test_gradient_check_with_dropout_masks():
    rng = np.random.default_rng(1)
    layers, x, h0, C0 = random_stack(rng, 2, 4, 3, 3, 3)
    dh = rng.normal(size=(2, 4, 3))
    dh_n, dC_n = rng.normal(size=(3, 2, 3)), rng.normal(size=(3, 2, 3))

    def f():       # the same masks at every call: a fresh generator with the same seed
        h, h_n, C_n, _ = stacked_forward(x, h0, C0, layers, dropout=0.4,
                                         rng=np.random.default_rng(7), mode="train")
        return np.sum(h * dh) + np.sum(h_n * dh_n) + np.sum(C_n * dC_n)

    _, _, _, cache = stacked_forward(x, h0, C0, layers, dropout=0.4,
                                     rng=np.random.default_rng(7), mode="train")
    dx, dh0, dC0, grads = stacked_backward(dh, cache, dh_n, dC_n)
    inputs = {"x": x, "h0": h0, "C0": C0}
    analytic = {"x": dx, "h0": dh0, "C0": dC0}
    for k, p in enumerate(layers):
        for name in p:
            inputs[f"{name}_l{k}"], analytic[f"{name}_l{k}"] = p[name], grads[k][name]
    errors = grad_check(f, inputs, analytic, verbose=False)
    assert max(errors.values()) < 1e-7, errors


def test_dropout_mean_over_masks_is_eval_output():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 5, 6))
    p, M = 0.3, 4000
    total = np.zeros_like(x)
    for _ in range(M):
        out, mask = dropout_forward(x, p, rng, "train")
        assert set(np.unique(mask)) <= {0.0, 1 / (1 - p)}
        total += out
    mean = total / M
    # each entry's mean has standard deviation |x| sqrt(p / (1 - p)) / sqrt(M)
    z = np.abs(mean - x) / (np.abs(x) * np.sqrt(p / (1 - p) / M))
    assert np.max(z) < 5                                      # 120 entries, 5 sigma
    out_eval, cache = dropout_forward(x, p, rng, "eval")
    assert out_eval is x and cache is None


def test_dropout_drops_about_p_and_backward_uses_the_mask():
    rng = np.random.default_rng(4)
    x = np.ones((100, 100))
    out, mask = dropout_forward(x, 0.25, rng, "train")
    dropped = float(np.mean(out == 0))
    assert abs(dropped - 0.25) < 5 * np.sqrt(0.25 * 0.75 / 1e4)
    assert np.array_equal(dropout_backward(x, mask), mask)
    assert dropout_backward(x, None) is x


def test_dropout_backward_rejects_a_gradient_of_another_shape_or_dtype():
    _, mask = dropout_forward(np.ones((2, 3)), 0.5, np.random.default_rng(0), "train")
    with pytest.raises(ValueError, match=r"dout must have shape .* = \(2, 3\); got \(3, 2\)"):
        dropout_backward(np.ones((3, 2)), mask)
    with pytest.raises(TypeError, match="dout must have dtype float64"):
        dropout_backward(np.ones((2, 3), np.float32), mask)
    with pytest.raises(TypeError, match="dout must be a numpy.ndarray"):
        dropout_backward([1.0], None)


def test_eval_mode_is_deterministic_and_train_mode_is_not():
    rng = np.random.default_rng(6)
    layers, x, h0, C0 = random_stack(rng, 3, 5, 2, 4, 2)
    a = stacked_forward(x, h0, C0, layers, dropout=0.5, rng=rng, mode="eval")[0]
    b = stacked_forward(x, h0, C0, layers, dropout=0.5, rng=rng, mode="eval")[0]
    c = stacked_forward(x, h0, C0, layers)[0]
    assert np.array_equal(a, b) and np.array_equal(a, c)
    t1 = stacked_forward(x, h0, C0, layers, dropout=0.5, rng=rng, mode="train")[0]
    t2 = stacked_forward(x, h0, C0, layers, dropout=0.5, rng=rng, mode="train")[0]
    assert not np.array_equal(t1, t2)


def test_dropout_never_touches_the_bottom_layer_or_its_recurrence():
    rng = np.random.default_rng(8)
    layers, x, h0, C0 = random_stack(rng, 2, 6, 3, 4, 2)
    _, h_n, C_n, _ = stacked_forward(x, h0, C0, layers, dropout=0.9,
                                     rng=np.random.default_rng(1), mode="train")
    _, h_ref, C_ref, _ = stacked_forward(x, h0, C0, layers)
    assert np.array_equal(h_n[0], h_ref[0]) and np.array_equal(C_n[0], C_ref[0])
    assert not np.array_equal(C_n[1], C_ref[1])


def test_one_layer_stack_is_lstm_forward():
    rng = np.random.default_rng(9)
    layers, x, h0, C0 = random_stack(rng, 2, 3, 4, 5, 1)
    h, h_n, C_n, _ = stacked_forward(x, h0, C0, layers)
    h_ref, C_ref, _ = lstm_forward(x, h0[0], C0[0], **layers[0])
    assert np.array_equal(h, h_ref) and np.array_equal(C_n[0], C_ref)


def test_float32_is_preserved():
    rng = np.random.default_rng(10)
    layers, x, h0, C0 = random_stack(rng, 2, 3, 4, 5, 2, dtype=np.float32)
    h, h_n, C_n, cache = stacked_forward(x, h0, C0, layers, dropout=0.2, rng=rng,
                                         mode="train")
    dx, dh0, dC0, grads = stacked_backward(np.ones_like(h), cache)
    assert {a.dtype for a in (h, h_n, C_n, dx, dh0, dC0)} == {np.dtype(np.float32)}
    assert all(g[k].dtype == np.float32 for g in grads for k in g)
    state = to_torch_layers(layers)
    assert all(v.dtype == np.float32 for v in state.values())
    assert from_torch_layers(state)[1]["Wh"].dtype == np.float32


def test_model_gradients_and_modes():
    rng = np.random.default_rng(11)
    model = StackedLSTMModel(2, 3, 1, 2, rng, dropout=0.3,
                             dropout_rng=np.random.default_rng(0))
    for p in model.params.values():
        p += rng.normal(scale=0.1, size=p.shape)
    x, y = rng.normal(size=(3, 4, 2)), rng.normal(size=(3, 1))
    loss, grads = model.loss_and_grads(x, y)
    assert set(grads) == set(model.params)

    def f():
        model.dropout_rng = np.random.default_rng(0)
        return model.loss_and_grads(x, y)[0]

    model.dropout_rng = np.random.default_rng(0)
    _, grads = model.loss_and_grads(x, y)
    errors = grad_check(f, dict(model.params), grads, verbose=False)
    assert max(errors.values()) < 1e-7, errors
    assert np.array_equal(model.predict(x), model.predict(x))      # eval: no dropout
    assert model.layers[1]["Wx"] is model.params["Wx_l1"]


def test_model_trains():
    rng = np.random.default_rng(12)
    model = StackedLSTMModel(1, 4, 1, 2, rng, dropout=0.1,
                             dropout_rng=np.random.default_rng(1))
    x = rng.normal(size=(16, 5, 1))
    y = x.sum(axis=1) / 5
    hist = train(model, lambda step: (x, y), 60, lr=3e-2, log_every=0)
    assert hist["loss"][-10:].mean() < 0.5 * hist["loss"][:5].mean()


# ---------------------------------------------------------------- errors

def good_stack(bidirectional=False, dtype=np.float64):
    return init_stack(3, 4, 2, np.random.default_rng(0), bidirectional=bidirectional,
                      dtype=dtype)


@pytest.mark.parametrize("layers, error, message", [
    ("not a list", TypeError, "layers must be a list of layer dicts; got str"),
    ([], ValueError, "layers must hold at least one layer"),
    ([np.zeros(3)], TypeError, "layers[0] must be a dict"),
    ([{"Wx": 1}], ValueError, "layers[0] must have the keys ['Wx', 'Wh', 'b']"),
])
def test_check_stack_rejects_bad_containers(layers, error, message):
    with pytest.raises(error, match=None) as info:
        check_stack(layers)
    assert message in str(info.value)


def test_check_stack_rejects_bad_bidirectional_half():
    layers = good_stack(bidirectional=True)
    layers[1]["backward"] = {"Wx": layers[1]["backward"]["Wx"]}
    with pytest.raises(ValueError, match=r"layers\[1\]\['backward'\] must be fused"):
        check_stack(layers)


def test_check_stack_rejects_mixed_directions():
    layers = good_stack()
    layers.append({d: init_lstm(4, 4, np.random.default_rng(1)) for d in DIRECTIONS})
    with pytest.raises(ValueError, match=r"mixed directions: layers \[2\] are bidirectional "
                                         r"and layers \[0, 1\] are not"):
        check_stack(layers)


def test_check_stack_rejects_different_hidden_sizes():
    layers = good_stack()
    layers[1] = init_lstm(4, 5, np.random.default_rng(1))
    with pytest.raises(ValueError, match=r"layers\[1\] has hidden size H = 5"):
        check_stack(layers)


def test_check_stack_rejects_wrong_input_size_of_upper_layer():
    layers = good_stack(bidirectional=True)
    layers[1]["forward"] = init_lstm(4, 4, np.random.default_rng(1))   # reads H, not 2H
    with pytest.raises(ValueError, match=r"layers\[1\]\['forward'\]\['Wx'\] must have shape "
                                         r"\(2H, 4H\) = \(8, 16\); got \(4, 16\) \(layer 1 "
                                         r"reads 2H, both directions of layer 0\)"):
        check_stack(layers)


def test_check_stack_rejects_mixed_dtypes():
    layers = good_stack()
    layers[1] = {k: v.astype(np.float32) for k, v in layers[1].items()}
    with pytest.raises(TypeError, match=r"layers\[1\]\['Wh'\] must have dtype float64"):
        check_stack(layers)


def test_check_stack_rejects_bad_bias_shape():
    layers = good_stack()
    layers[0]["b"] = layers[0]["b"][:-1]
    with pytest.raises(ValueError, match=r"layers\[0\]\['b'\] must have shape"):
        check_stack(layers)


def test_init_stack_rejects_bad_number_of_layers():
    with pytest.raises(ValueError, match="L must be a positive int"):
        init_stack(3, 4, 0, np.random.default_rng(0))


def test_from_torch_layers_rejects_non_mapping():
    with pytest.raises(TypeError, match="state must be a mapping"):
        from_torch_layers([1, 2])


def test_from_torch_layers_rejects_projection_keys():
    state = to_torch_layers(good_stack())
    state["weight_hr_l0"] = np.zeros((4, 2))
    with pytest.raises(ValueError, match="unexpected key 'weight_hr_l0'"):
        from_torch_layers(state)


def test_from_torch_layers_rejects_empty_state():
    with pytest.raises(ValueError, match="state holds no LSTM weights"):
        from_torch_layers({})


def test_from_torch_layers_rejects_missing_keys():
    state = to_torch_layers(good_stack())
    del state["weight_hh_l1"], state["bias_hh_l0"]
    with pytest.raises(ValueError, match=r"missing keys \['bias_hh_l0', 'weight_hh_l1'\]: "
                                         r"a nn.LSTM with 2 layer\(s\) and biases has 8"):
        from_torch_layers(state)


def test_from_torch_layers_rejects_mixed_directions():
    state = to_torch_layers(good_stack(bidirectional=True))
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        del state[f"{name}_l1_reverse"]
    with pytest.raises(ValueError, match=r"mixed directions: layers \[0\] have _reverse "
                                         r"weights and layers \[1\] do not"):
        from_torch_layers(state)


def test_from_torch_layers_names_the_layer_of_a_bad_tensor():
    state = to_torch_layers(good_stack())
    state["weight_hh_l1"] = state["weight_hh_l1"][:, :3]
    with pytest.raises(ValueError, match=r"layer 1, keys \*_l1: weight_hh must have shape"):
        from_torch_layers(state)


def test_from_torch_layers_rejects_layers_that_do_not_fit():
    state = to_torch_layers(good_stack())
    state["weight_ih_l1"] = np.zeros((16, 5))                      # reads 5, not H = 4
    with pytest.raises(ValueError, match=r"do not fit together .*layers\[1\]\['Wx'\] must "
                                         r"have shape \(H, 4H\) = \(4, 16\); got \(5, 16\)"):
        from_torch_layers(state)


def test_from_torch_layers_accepts_no_biases():
    state = {k: v for k, v in to_torch_layers(good_stack()).items() if "bias" not in k}
    layers = from_torch_layers(state)
    assert all(np.all(p["b"] == 0) for p in layers)


def test_to_torch_layers_checks_its_layers():
    layers = good_stack()
    layers[1]["Wx"] = layers[1]["Wx"][:3]
    with pytest.raises(ValueError, match=r"layers\[1\]\['Wx'\]"):
        to_torch_layers(layers)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(p=1.0, rng=None, mode="train"), ValueError, "dropout must be in [0, 1)"),
    (dict(p="0.5", rng=None, mode="train"), TypeError, "dropout must be a number"),
    (dict(p=0.5, rng=None, mode="train"), TypeError, "rng must be a np.random.Generator"),
    (dict(p=0.5, rng=None, mode="test"), ValueError, "mode must be one of ('train', 'eval')"),
])
def test_dropout_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error) as info:
        dropout_forward(np.ones(3), **kwargs)
    assert message in str(info.value)


def test_dropout_rejects_non_arrays():
    with pytest.raises(TypeError, match="x must be a numpy.ndarray"):
        dropout_forward([1.0, 2.0], 0.5, np.random.default_rng(0), "train")


def test_stacked_forward_rejects_bidirectional_layers():
    x, z = np.zeros((1, 2, 3)), np.zeros((2, 1, 4))
    with pytest.raises(ValueError, match="stacked_forward runs layers of one direction"):
        stacked_forward(x, z, z, good_stack(bidirectional=True))


@pytest.mark.parametrize("shapes, message", [
    (((2, 5, 2), (2, 2, 4), (2, 2, 4)), r"x must have shape \(N, T, D\) = \(any, any, 3\)"),
    (((2, 0, 3), (2, 2, 4), (2, 2, 4)), r"at least one sequence of at least one step"),
    (((2, 5, 3), (1, 2, 4), (2, 2, 4)), r"h0 must have shape \(L, N, H\) = \(2, 2, 4\)"),
    (((2, 5, 3), (2, 2, 4), (2, 3, 4)), r"C0 must have shape \(L, N, H\) = \(2, 2, 4\)"),
])
def test_stacked_forward_rejects_bad_shapes(shapes, message):
    x, h0, C0 = (np.zeros(s) for s in shapes)
    with pytest.raises(ValueError, match=message):
        stacked_forward(x, h0, C0, good_stack())


def test_stacked_forward_rejects_wrong_dtype():
    x, z = np.zeros((1, 2, 3), np.float32), np.zeros((2, 1, 4))
    with pytest.raises(TypeError, match="x must have dtype float64"):
        stacked_forward(x, z, z, good_stack())


def test_stacked_backward_rejects_foreign_cache():
    with pytest.raises(TypeError, match="cache must be the cache returned by stacked_forward"):
        stacked_backward(np.zeros((1, 2, 4)), ("lstm", []))


@pytest.mark.parametrize("which, shape, message", [
    ("dh", (1, 3, 4), r"dh must have shape \(N, T, H\) = \(1, 2, 4\)"),
    ("dh_n", (1, 1, 4), r"dh_n must have shape \(L, N, H\) = \(2, 1, 4\)"),
    ("dC_n", (2, 1, 5), r"dC_n must have shape \(L, N, H\) = \(2, 1, 4\)"),
])
def test_stacked_backward_rejects_bad_gradients(which, shape, message):
    x, z = np.zeros((1, 2, 3)), np.zeros((2, 1, 4))
    h, _, _, cache = stacked_forward(x, z, z, good_stack())
    args = {"dh": np.zeros_like(h), "dh_n": None, "dC_n": None}
    args[which] = np.zeros(shape)
    with pytest.raises(ValueError, match=message):
        stacked_backward(args["dh"], cache, args["dh_n"], args["dC_n"])


def test_model_needs_a_dropout_generator():
    with pytest.raises(TypeError, match="rng must be a np.random.Generator"):
        StackedLSTMModel(2, 3, 1, 2, np.random.default_rng(0), dropout=0.5)


# ---------------------------------------------------------------- committed results (experiments/stacked.py)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def runs_script(experiment_script):
    return experiment_script("stacked")


@pytest.fixture(scope="module")
def stored():
    import json
    return json.loads((ROOT / "experiments" / "stacked.json").read_text())


def test_stacked_results_record_how_they_were_made(runs_script, stored):
    assert stored["command"] == "python experiments/stacked.py"
    assert stored["seconds"] > 0 and stored["cpu_seconds"] > 0
    for key in ("python", "numpy", "blas", "git_commit"):
        assert stored["environment"][key]
    assert stored["hp"] == runs_script.HP and stored["variants"] == runs_script.VARIANTS
    assert stored["seeds"] == list(runs_script.SEEDS)
    done = {(r["task"], r["variant"], r["seed"]) for r in stored["runs"]}
    assert done == {(t, v, s) for t in runs_script.TASKS for v in runs_script.VARIANTS
                    for s in runs_script.SEEDS}
    assert all(len(r["curve"]) == runs_script.HP["steps"] // runs_script.HP["curve_every"]
               for r in stored["runs"])


def test_stacked_results_rerun_the_start_of_one_run(runs_script, stored):
    # The first 100 steps of the run the chapter re-does in full (sine, two layers, seed 0),
    # with the script's seeds: its training curve must be the stored one. Identical on the
    # machine that wrote the file; another CPU's kernels round differently, hence rtol.
    hp, k = runs_script.HP, runs_script.HP["curve_every"]
    model = runs_script.build("sine", "2x16", 0)
    batches = np.random.default_rng(1000 + 0)             # the script's batch seed for seed 0
    hist = train(model, lambda step: runs_script.make_data("sine", hp["batch_size"], batches),
                 4 * k, lr=hp["lr"], max_norm=hp["max_norm"], log_every=0)
    curve = hist["loss"].reshape(-1, k).mean(axis=1)
    record = [r for r in stored["runs"] if (r["task"], r["variant"], r["seed"]) == ("sine", "2x16", 0)]
    assert np.allclose(curve, record[0]["curve"][:4], rtol=1e-6, atol=0)
