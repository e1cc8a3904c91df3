"""Tests of padding and masks (notebooks/21_variable_length.ipynb).

- A padded batch gives exactly the results of running each sequence alone (outputs, final states,
  every gradient, to 1e-12), for the masked LSTM and the masked bidirectional layer, in float64, with
  random lengths; with every length equal to T, the masked functions equal the unmasked ones.
- Agreement with PyTorch without torch: the masked LSTM and the masked bidirectional layer reproduce
  every number of tests/fixtures/torch_lstm_packed.npz and torch_lstm_packed_bi.npz (written by
  tools/make_torch_fixtures.py: nn.LSTM on a pack_padded_sequence with unsorted lengths, non-zero
  values on the padded steps of x and R) to 1e-10, and an unmasked run fails them. When torch is
  importable, the same comparison runs live on random lengths.
- Gradient checks of the masked loss, the masked LSTM, the masked bidirectional layer and the
  FinalStateClassifier; the last-bit task and its bound; every error path.
"""
import numpy as np
import pytest

from lstm_lit.bidirectional import bidirectional_backward, bidirectional_forward
from lstm_lit.learning import grad_check
from lstm_lit.lstm import init_lstm, lstm_forward
from lstm_lit.lstm_backward import lstm_backward
from lstm_lit.stacked import DIRECTIONS, from_torch_layers, init_stack, to_torch_layers
from lstm_lit.variable_length import (FinalStateClassifier, check_lengths, last_bit_task,
                                      length_mask, masked_bidirectional_backward,
                                      masked_bidirectional_forward, masked_lstm_backward,
                                      masked_lstm_forward, masked_softmax_cross_entropy,
                                      reverse_padded)
from torch_fixtures import fixture_paths, load

TOL = 1e-12
# the packed-sequence cases of tools/make_torch_fixtures.py (one direction, two directions)
PACKED_FIXTURES = fixture_paths("lstm_packed", "lstm_packed_bi")


def case(seed, N=5, T=6, D=3, H=4, dtype=np.float64):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, T + 1, size=N)
    lengths[0] = T                                       # one full-length sequence
    x = rng.normal(size=(N, T, D)).astype(dtype) * length_mask(lengths, T)[:, :, None]
    return rng, lengths, x


def maxdiff(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


# ---------------------------------------------------------------- padded batch = each sequence alone

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_masked_lstm_equals_each_sequence_alone(seed):
    rng, lengths, x = case(seed)
    N, T, D = x.shape
    H = 4
    p = init_lstm(D, H, rng)
    p["b"] = rng.normal(size=4 * H)
    h0, C0, S, U = (rng.normal(size=(N, H)) for _ in range(4))
    R = rng.normal(size=(N, T, H))
    h, h_n, C_n, cache = masked_lstm_forward(x, lengths, h0, C0, **p)
    dx, dh0, dC0, *dp = masked_lstm_backward(R, cache, S, U)
    sums = [np.zeros_like(g) for g in dp]
    for n, L in enumerate(lengths):
        one = slice(n, n + 1)
        h1, C1, c1 = lstm_forward(x[one, :L], h0[one], C0[one], **p)
        dh1 = R[one, :L].copy()
        dh1[:, -1] += S[one]
        dx1, dh01, dC01, *dp1 = lstm_backward(dh1, c1, U[one])
        for a, b in ((h[one, :L], h1), (h_n[one], h1[:, -1]), (C_n[one], C1), (dx[one, :L], dx1),
                     (dh0[one], dh01), (dC0[one], dC01)):
            assert maxdiff(a, b) < TOL
        assert not np.any(h[n, L:]) and not np.any(dx[n, L:])
        sums = [s + g for s, g in zip(sums, dp1)]
    for a, b in zip(dp, sums):
        assert maxdiff(a, b) < TOL


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_masked_bidirectional_equals_each_sequence_alone(seed):
    rng, lengths, x = case(seed)
    N, T, D = x.shape
    H = 4
    layer = init_stack(D, H, 1, rng, bidirectional=True)[0]
    for d in DIRECTIONS:
        layer[d]["b"] = rng.normal(size=4 * H)
    h0, C0, S, U = (rng.normal(size=(2, N, H)) for _ in range(4))
    R = rng.normal(size=(N, T, 2 * H))
    h, h_n, C_n, cache = masked_bidirectional_forward(x, lengths, h0, C0, layer)
    dx, dh0, dC0, grads = masked_bidirectional_backward(R, cache, S, U)
    sums = {d: {k: np.zeros_like(v) for k, v in layer[d].items()} for d in DIRECTIONS}
    for n, L in enumerate(lengths):
        one = slice(n, n + 1)
        h1, hn1, Cn1, c1 = bidirectional_forward(x[one, :L], h0[:, one], C0[:, one], layer)
        dx1, dh01, dC01, g1 = bidirectional_backward(R[one, :L], c1, S[:, one], U[:, one])
        for a, b in ((h[one, :L], h1), (h_n[:, one], hn1), (C_n[:, one], Cn1),
                     (dx[one, :L], dx1), (dh0[:, one], dh01), (dC0[:, one], dC01)):
            assert maxdiff(a, b) < TOL
        assert not np.any(h[n, L:]) and not np.any(dx[n, L:])
        for d in DIRECTIONS:
            for k in sums[d]:
                sums[d][k] += g1[d][k]
    for d in DIRECTIONS:
        for k in sums[d]:
            assert maxdiff(grads[d][k], sums[d][k]) < TOL


def test_full_lengths_equal_the_unmasked_layers():
    rng = np.random.default_rng(6)
    N, T, D, H = 3, 5, 2, 3
    x = rng.normal(size=(N, T, D))
    full = np.full(N, T)
    p = init_lstm(D, H, rng)
    h0, C0 = rng.normal(size=(N, H)), rng.normal(size=(N, H))
    h, h_n, C_n, _ = masked_lstm_forward(x, full, h0, C0, **p)
    h2, C2, _ = lstm_forward(x, h0, C0, **p)
    assert maxdiff(h, h2) < TOL and maxdiff(h_n, h2[:, -1]) < TOL and maxdiff(C_n, C2) < TOL
    layer = init_stack(D, H, 1, rng, bidirectional=True)[0]
    hb0, Cb0 = rng.normal(size=(2, N, H)), rng.normal(size=(2, N, H))
    a = masked_bidirectional_forward(x, full, hb0, Cb0, layer)
    b = bidirectional_forward(x, hb0, Cb0, layer)
    for u, v in zip(a[:3], b[:3]):
        assert maxdiff(u, v) < TOL


def test_float32_is_preserved():
    rng, lengths, x = case(7, dtype=np.float32)
    layer = init_stack(3, 2, 1, rng, bidirectional=True, dtype=np.float32)[0]
    z = np.zeros((2, 5, 2), np.float32)
    h, h_n, C_n, cache = masked_bidirectional_forward(x, lengths, z, z, layer)
    dx, dh0, dC0, grads = masked_bidirectional_backward(np.ones_like(h), cache)
    arrays = [h, h_n, C_n, dx, dh0, dC0] + [g for d in DIRECTIONS for g in grads[d].values()]
    assert all(a.dtype == np.float32 for a in arrays)


# ---------------------------------------------------------------- PyTorch pack_padded_sequence

def check_against_packed(d, tol=1e-10):
    """Run the masked layer on a packed-sequence case d (the arrays of make_torch_fixtures.py's packed
    cases, torch's names and shapes); assert every output, final state and gradient agrees."""
    (layer,) = from_torch_layers({k: d[k] for k in d if k.startswith(("weight_", "bias_"))})
    x, lengths, h0, C0, R, S, U = (d[k] for k in ("x", "lengths", "h0", "c0", "R", "S", "U"))
    if bool(d["bidirectional"]):
        h, hn, Cn, cache = masked_bidirectional_forward(x, lengths, h0, C0, layer)
        dx, dh0, dC0, grads = masked_bidirectional_backward(R, cache, S, U)
    else:
        h, hn, Cn, cache = masked_lstm_forward(x, lengths, h0[0], C0[0], **layer)
        dx, dh0, dC0, dWx, dWh, db = masked_lstm_backward(R, cache, S[0], U[0])
        hn, Cn, dh0, dC0 = hn[None], Cn[None], dh0[None], dC0[None]
        grads = {"Wx": dWx, "Wh": dWh, "b": db}
    ours = {"output": h, "h_n": hn, "c_n": Cn, "grad_x": dx, "grad_h0": dh0, "grad_c0": dC0}
    state = to_torch_layers([grads])
    for k in state:                                    # both torch biases: the gradient of b
        ours["grad_" + k] = state[k.replace("bias_hh", "bias_ih")]
    assert set(ours) == {k for k in d if k.startswith("grad_")} | {"output", "h_n", "c_n"}
    for k, v in ours.items():
        assert maxdiff(v, d[k]) < tol, k


def test_packed_fixtures_record_torch_and_real_padding():
    for path in PACKED_FIXTURES:
        d = load(path)
        assert str(d["torch_version"]).startswith("2.13.0") and bool(d["packed"])
        N, T, _ = d["x"].shape
        pad = ~length_mask(d["lengths"], T)
        assert d["lengths"].min() == 1 and d["lengths"].max() == T
        assert np.all(d["x"][pad] != 0) and np.all(d["R"][pad] != 0)   # padding must be ignored
        assert not np.any(d["output"][pad]) and not np.any(d["grad_x"][pad])


@pytest.mark.parametrize("path", PACKED_FIXTURES, ids=lambda p: p.stem)
def test_masked_layers_reproduce_torch_packed_fixture(path):
    d = load(path)
    check_against_packed(d)
    full = {**d, "lengths": np.full_like(d["lengths"], d["x"].shape[1])}
    with pytest.raises(AssertionError):                # the padding read as data fails
        check_against_packed(full)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_live_against_torch_packed_sequence(bidirectional):
    torch = pytest.importorskip("torch")
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    rng, lengths, x = case(8 + bidirectional)
    N, T, D = x.shape
    H, K = 4, 2 if bidirectional else 1
    net = torch.nn.LSTM(D, H, batch_first=True, bidirectional=bidirectional).double()
    with torch.no_grad():
        for name, prm in net.named_parameters():
            if name.startswith("bias"):
                prm.copy_(torch.from_numpy(rng.normal(size=4 * H)))
    h0, C0, S, U = (rng.normal(size=(K, N, H)) for _ in range(4))
    R = rng.normal(size=(N, T, K * H)) * length_mask(lengths, T)[:, :, None]
    xt, h0t, c0t = (torch.from_numpy(a).requires_grad_(True) for a in (x, h0, C0))
    packed = pack_padded_sequence(xt, torch.from_numpy(lengths), batch_first=True,
                                  enforce_sorted=False)
    out, (h_n, c_n) = net(packed, (h0t, c0t))
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
    loss = sum((a * torch.from_numpy(b)).sum() for a, b in ((out, R), (h_n, S), (c_n, U)))
    loss.backward()
    d = dict(x=x, lengths=lengths, h0=h0, c0=C0, R=R, S=S, U=U, bidirectional=bidirectional,
             output=out, h_n=h_n, c_n=c_n, grad_x=xt.grad, grad_h0=h0t.grad, grad_c0=c0t.grad)
    for k, prm in net.named_parameters():
        d[k], d["grad_" + k] = prm, prm.grad
    check_against_packed({k: v.detach().numpy() if torch.is_tensor(v) else v
                          for k, v in d.items()})


# ---------------------------------------------------------------- gradient checks

def test_masked_loss_gradient_and_padding():
    rng = np.random.default_rng(10)
    lengths = np.array([3, 1, 2])
    mask = length_mask(lengths, 3)
    logits = rng.normal(size=(3, 3, 4))
    labels = np.where(mask, rng.integers(0, 4, size=(3, 3)), 99)
    loss, d = masked_softmax_cross_entropy(logits, labels, mask)
    err = grad_check(lambda: masked_softmax_cross_entropy(logits, labels, mask)[0],
                     {"logits": logits}, {"logits": d}, verbose=False)
    assert err["logits"] < 1e-7 and not np.any(d[~mask])
    changed = logits.copy()
    changed[~mask] = -50.0
    assert masked_softmax_cross_entropy(changed, labels, mask)[0] == loss


def test_masked_lstm_gradient_check():
    rng, lengths, x = case(11, N=3, T=4, D=2)
    p = init_lstm(2, 2, rng)
    p["b"] = rng.normal(size=8)
    h0, C0, S, U = (rng.normal(size=(3, 2)) for _ in range(4))
    R = rng.normal(size=(3, 4, 2))

    def f():
        h, h_n, C_n, _ = masked_lstm_forward(x, lengths, h0, C0, **p)
        return np.sum(h * R) + np.sum(h_n * S) + np.sum(C_n * U)

    dx, dh0, dC0, dWx, dWh, db = masked_lstm_backward(
        R, masked_lstm_forward(x, lengths, h0, C0, **p)[3], S, U)
    err = grad_check(f, {"x": x, "h0": h0, "C0": C0, **p},
                     {"x": dx, "h0": dh0, "C0": dC0, "Wx": dWx, "Wh": dWh, "b": db},
                     verbose=False)
    assert max(err.values()) < 1e-7


def test_masked_bidirectional_gradient_check():
    rng, lengths, x = case(12, N=3, T=4, D=2)
    layer = init_stack(2, 2, 1, rng, bidirectional=True)[0]
    for d in DIRECTIONS:
        layer[d]["b"] = rng.normal(size=8)
    h0, C0, S, U = (rng.normal(size=(2, 3, 2)) for _ in range(4))
    R = rng.normal(size=(3, 4, 4))

    def f():
        h, h_n, C_n, _ = masked_bidirectional_forward(x, lengths, h0, C0, layer)
        return np.sum(h * R) + np.sum(h_n * S) + np.sum(C_n * U)

    dx, dh0, dC0, g = masked_bidirectional_backward(
        R, masked_bidirectional_forward(x, lengths, h0, C0, layer)[3], S, U)
    inputs = {"x": x, "h0": h0, "C0": C0, **{k + d: layer[d][k] for d in DIRECTIONS
                                             for k in ("Wx", "Wh", "b")}}
    analytic = {"x": dx, "h0": dh0, "C0": dC0, **{k + d: g[d][k] for d in DIRECTIONS
                                                  for k in ("Wx", "Wh", "b")}}
    assert max(grad_check(f, inputs, analytic, verbose=False).values()) < 1e-7


@pytest.mark.parametrize("masked", [True, False])
def test_classifier_gradient_check(masked):
    rng = np.random.default_rng(13)
    x, y, lengths = last_bit_task(3, 5, rng)
    model = FinalStateClassifier(1, 3, 2, rng, masked=masked)
    model.params["b"][...] = rng.normal(size=12)
    _, grads = model.loss_and_grads(x, (y, lengths))
    err = grad_check(lambda: model.loss_and_grads(x, (y, lengths))[0], model.params, grads,
                     h=1e-5, verbose=False)
    assert max(err.values()) < 1e-7


# ---------------------------------------------------------------- helpers and task

def test_reverse_padded_is_its_own_inverse_and_keeps_padding():
    rng, lengths, x = case(14)
    r = reverse_padded(x, lengths)
    assert np.array_equal(reverse_padded(r, lengths), x)
    for n, L in enumerate(lengths):
        assert np.array_equal(r[n, :L], x[n, :L][::-1]) and np.array_equal(r[n, L:], x[n, L:])


def test_length_mask():
    assert np.array_equal(length_mask(np.array([2, 3, 1]), 3),
                          [[1, 1, 0], [1, 1, 1], [1, 0, 0]])
    assert length_mask(np.array([1], dtype=np.int32), 2).dtype == np.bool_


def test_last_bit_task_labels_and_padding():
    x, y, lengths = last_bit_task(200, 6, np.random.default_rng(15))
    mask = length_mask(lengths, 6)
    assert x.shape == (200, 6, 1) and not np.any(x[~mask]) and set(np.unique(x)) <= {0.0, 1.0}
    assert np.array_equal(y, x[np.arange(200), lengths - 1, 0].astype(np.int64))
    assert lengths.min() >= 1 and lengths.max() <= 6


def test_unmasked_rule_meets_the_bound():
    """'Predict 1 if the padded string holds a 1' reaches 1/2 + 1/2 * 2^-(L-1) at every L."""
    x, y, lengths = last_bit_task(20000, 8, np.random.default_rng(16))
    guess = x[:, :, 0].any(axis=1).astype(np.int64)
    for L in (1, 2, 4):
        acc = np.mean((guess == y)[lengths == L])
        assert abs(acc - (0.5 + 0.5 * 2.0 ** -(L - 1))) < 0.04


def test_classifier_masked_vs_unmasked_final_state():
    rng = np.random.default_rng(17)
    x, y, lengths = last_bit_task(6, 5, rng)
    lengths[:] = [5, 1, 2, 3, 4, 5]
    masked = FinalStateClassifier(1, 3, 2, np.random.default_rng(1), masked=True)
    unmasked = FinalStateClassifier(1, 3, 2, np.random.default_rng(1), masked=False)
    _, hm, _ = masked.forward(x, lengths)
    _, hu, _ = unmasked.forward(x, lengths)
    assert maxdiff(hm[[0, 5]], hu[[0, 5]]) < TOL and np.abs(hm[1:5] - hu[1:5]).max() > 0


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("lengths, error, match", [
    ([3, 2], TypeError, "lengths must be a numpy.ndarray"),
    (np.array([3.0, 2.0]), TypeError, "lengths must have an integer dtype"),
    (np.array([True, True]), TypeError, "lengths must have an integer dtype"),
    (np.array([3, 2, 1]), ValueError, r"lengths must have shape \(N,\) = \(2,\)"),
    (np.array([[3, 2]]), ValueError, r"lengths must have shape"),
    (np.array([3, 0]), ValueError, r"at least 1 .*lengths\[1\] = 0"),
    (np.array([-1, 2]), ValueError, r"at least 1 .*lengths\[0\] = -1"),
    (np.array([4, 2]), ValueError, r"must not exceed the padded time axis T = 3; got lengths\[0\] = 4"),
])
def test_bad_lengths(lengths, error, match):
    with pytest.raises(error, match=match):
        check_lengths(lengths, 3, 2)
    x = np.zeros((2, 3, 1))
    p = init_lstm(1, 2, np.random.default_rng(0))
    z = np.zeros((2, 2))
    with pytest.raises(error, match=match):
        masked_lstm_forward(x, lengths, z, z, **p)


def test_bad_masks():
    logits, labels = np.zeros((2, 3, 4)), np.zeros((2, 3), dtype=np.int64)
    good = length_mask(np.array([3, 1]), 3)
    with pytest.raises(TypeError, match="mask must have dtype bool"):
        masked_softmax_cross_entropy(logits, labels, good.astype(np.float64))
    with pytest.raises(TypeError, match="mask must be a numpy.ndarray"):
        masked_softmax_cross_entropy(logits, labels, good.tolist())
    with pytest.raises(ValueError, match=r"mask must have shape \(N, T\) = \(2, 3\)"):
        masked_softmax_cross_entropy(logits, labels, good[:, :2])
    with pytest.raises(ValueError, match="at least one step"):
        masked_softmax_cross_entropy(logits, labels, np.zeros((2, 3), dtype=bool))
    with pytest.raises(ValueError, match=r"labels must be an array of shape \(N, T\)"):
        masked_softmax_cross_entropy(logits, labels[:, :2], good)
    bad_labels = labels.copy()
    bad_labels[0, 0] = 4                                     # a real step out of range
    with pytest.raises(ValueError, match="labels must lie in"):
        masked_softmax_cross_entropy(logits, bad_labels, good)


def test_masked_layers_check_states_and_caches():
    rng, lengths, x = case(18)
    p = init_lstm(3, 2, rng)
    z = np.zeros((5, 2))
    with pytest.raises(ValueError, match=r"h0 must have shape \(N, H\)"):
        masked_lstm_forward(x, lengths, z[:4], z, **p)
    with pytest.raises(TypeError, match="masked_lstm_forward"):
        masked_lstm_backward(np.zeros((5, 6, 2)), ("not", "a cache"))
    h, _, _, cache = masked_lstm_forward(x, lengths, z, z, **p)
    with pytest.raises(ValueError, match=r"dh must have shape \(N, T, H\)"):
        masked_lstm_backward(h[:, :3], cache)
    layer = init_stack(3, 2, 1, rng, bidirectional=True)[0]
    zb = np.zeros((2, 5, 2))
    with pytest.raises(ValueError, match="layer must be bidirectional"):
        masked_bidirectional_forward(x, lengths, zb, zb, p)
    with pytest.raises(ValueError, match="must not exceed"):
        masked_bidirectional_forward(x, lengths + 6, zb, zb, layer)
    hb, _, _, cache_b = masked_bidirectional_forward(x, lengths, zb, zb, layer)
    with pytest.raises(TypeError, match="masked_bidirectional_forward"):
        masked_bidirectional_backward(hb, cache)
    with pytest.raises(ValueError, match=r"dh must have shape \(N, T, 2H\)"):
        masked_bidirectional_backward(hb[..., :2], cache_b)
    with pytest.raises(ValueError, match=r"x must have shape \(N, T, \.\.\.\)"):
        reverse_padded(np.zeros(3), np.array([1, 1, 1]))


def test_task_and_classifier_errors():
    with pytest.raises(ValueError, match="n must be an int >= 1"):
        last_bit_task(0, 3, np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        last_bit_task(2, 3, 0)
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        last_bit_task(2, 3, np.random.default_rng(0), dtype=np.int32)
    model = FinalStateClassifier(1, 2, 2, np.random.default_rng(0), masked=True)
    x, y, lengths = last_bit_task(2, 3, np.random.default_rng(1))
    with pytest.raises(TypeError, match=r"target must be the tuple \(y, lengths\)"):
        model.loss_and_grads(x, y)
    with pytest.raises(ValueError, match="must not exceed"):
        model.predict(x, lengths + 3)
