"""The switchable LSTM cell of Part IV (lstm_lit.variants, notebooks/14_forget_origin.ipynb)."""
import dataclasses

import numpy as np
import pytest

from lstm_lit.learning import grad_check
from lstm_lit.lstm import lstm_forward_plain
from lstm_lit.lstm_backward import lstm_backward_plain
from lstm_lit.training import train
from lstm_lit.variants import (VARIANTS, CellVariant, VariantModel, as_variant, count_params,
                               init_variant, variant_backward, variant_forward,
                               variant_step_backward, variant_step_forward, variant_trace)

N, T, D, H = 2, 4, 3, 5


def _data(rng, dtype=np.float64):
    x = rng.standard_normal((N, T, D)).astype(dtype)
    h0 = rng.standard_normal((N, H)).astype(dtype)
    C0 = rng.standard_normal((N, H)).astype(dtype)
    return x, h0, C0


def test_default_variant_is_part_three_lstm_forward_and_backward():
    rng = np.random.default_rng(0)
    x, h0, C0 = _data(rng)
    p = init_variant(D, H, rng, "lstm")
    p["b"] = rng.standard_normal(4 * H)
    h, C_T, cache = variant_forward(x, h0, C0, p, CellVariant())
    h_ref, C_ref, cache_ref = lstm_forward_plain(x, h0, C0, p["Wx"], p["Wh"], p["b"])
    assert np.array_equal(h, h_ref) and np.array_equal(C_T, C_ref)
    dh, dC = rng.standard_normal((N, T, H)), rng.standard_normal((N, H))
    dx, dh0, dC0, g = variant_backward(dh, cache, dC_T=dC)
    ref = lstm_backward_plain(dh, cache_ref, dC_T=dC)
    for got, want in zip((dx, dh0, dC0, g["Wx"], g["Wh"], g["b"]), ref):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


# every switch alone, every named variant, and a few combinations
SWITCHES = [f.name for f in dataclasses.fields(CellVariant)]
ALONE = [CellVariant(**{s: s in ("peepholes", "coupled")}) if s in ("peepholes", "coupled")
         else CellVariant(**{s: False}) for s in SWITCHES]
COMBOS = [CellVariant(peepholes=True, coupled=True, output_activation=False),
          CellVariant(input_gate=False, forget_gate=False, output_gate=False),
          CellVariant(peepholes=True, input_activation=False, output_gate=False)]


@pytest.mark.parametrize("variant", list(VARIANTS.values()) + ALONE + COMBOS,
                         ids=list(VARIANTS) + [f"only-{s}" for s in SWITCHES]
                         + ["combo1", "combo2", "combo3"])
def test_gradient_check_every_variant(variant):
    rng = np.random.default_rng(1)
    x, h0, C0 = _data(rng)
    p = init_variant(D, H, rng, variant)
    p["b"] = rng.standard_normal(p["b"].shape)
    R, U = rng.standard_normal((N, T, H)), rng.standard_normal((N, H))

    def loss():
        h, C_T, _ = variant_forward(x, h0, C0, p, variant)
        return np.sum(h * R) + np.sum(C_T * U)

    _, _, cache = variant_forward(x, h0, C0, p, variant)
    dx, dh0, dC0, grads = variant_backward(R, cache, dC_T=U)
    errors = grad_check(loss, {"x": x, "h0": h0, "C0": C0, **p},
                        {"x": dx, "h0": dh0, "C0": dC0, **grads}, verbose=False)
    assert max(errors.values()) < 1e-7, errors


def test_each_switch_changes_the_output():
    rng = np.random.default_rng(2)
    x, h0, C0 = _data(rng)
    base = CellVariant(peepholes=True)
    p = init_variant(D, H, rng, base)
    h_base = variant_forward(x, h0, C0, p, base)[0]
    for s in SWITCHES:
        if s in ("peepholes", "coupled"):
            v = dataclasses.replace(base, **{s: not getattr(base, s)})
        else:
            v = dataclasses.replace(base, **{s: False})
        q = init_variant(D, H, np.random.default_rng(3), v)
        # same weights where the layouts share a block, so only the switch differs
        for k in q:
            if k.startswith("p_"):
                q[k] = p[k].copy()
        for j, g in enumerate(v.gates):
            src = base.gates.index(g)
            for k in ("Wx", "Wh"):
                q[k][:, j * H:(j + 1) * H] = p[k][:, src * H:(src + 1) * H]
            q["b"][j * H:(j + 1) * H] = p["b"][src * H:(src + 1) * H]
        h = variant_forward(x, h0, C0, q, v)[0]
        assert not np.allclose(h, h_base), s


def test_gates_params_and_counts():
    assert VARIANTS["lstm"].gates == ("i", "f", "g", "o")
    assert VARIANTS["lstm1997"].gates == ("i", "g", "o")
    assert VARIANTS["CIFG"].gates == ("f", "g", "o")
    rng = np.random.default_rng(0)
    n = {name: count_params(init_variant(D, H, rng, name)) for name in VARIANTS}
    assert n["lstm"] == 4 * H * (D + H + 1)
    assert n["V"] == n["lstm"] + 3 * H
    assert n["CIFG"] == 3 * H * (D + H + 1) + 2 * H
    assert n["lstm1997"] == 3 * H * (D + H + 1)
    b = init_variant(D, H, rng, "CIFG", forget_bias=2.0)["b"]
    assert np.all(b[:H] == 2.0) and np.all(b[H:] == 0.0)


def test_trace_and_removed_gates_are_one():
    rng = np.random.default_rng(4)
    x, h0, C0 = _data(rng)
    p = init_variant(D, H, rng, "CIFG")
    h, C_T, cache = variant_forward(x, h0, C0, p, "CIFG")
    tr = variant_trace(cache)
    assert set(tr) == {"h", "C", "i", "f", "g", "o"}
    np.testing.assert_array_equal(tr["i"], 1 - tr["f"])
    np.testing.assert_array_equal(tr["h"], h)
    np.testing.assert_array_equal(tr["C"][:, -1], C_T)
    p = init_variant(D, H, rng, "lstm1997")
    _, _, cache = variant_forward(x, h0, C0, p, "lstm1997")
    tr = variant_trace(cache)
    assert "f" not in tr
    np.testing.assert_allclose(tr["C"][:, 0], C0 + tr["i"][:, 0] * tr["g"][:, 0])


def test_float32_is_preserved():
    rng = np.random.default_rng(5)
    x, h0, C0 = _data(rng, np.float32)
    p = init_variant(D, H, rng, "V", dtype=np.float32)
    h, C_T, cache = variant_forward(x, h0, C0, p, "V")
    assert h.dtype == C_T.dtype == np.float32
    dx, dh0, dC0, g = variant_backward(np.ones_like(h), cache)
    assert dx.dtype == dh0.dtype == dC0.dtype == np.float32
    assert all(v.dtype == np.float32 for v in g.values())


def test_variant_model_trains():
    rng = np.random.default_rng(6)
    model = VariantModel(2, 8, 1, rng, "CIFG")
    x = rng.standard_normal((16, 5, 2))
    y = x[:, 0, :1] * 0.5
    hist = train(model, lambda step: (x, y), 60, lr=0.02, log_every=0)
    assert hist["loss"][-1] < 0.5 * hist["loss"][0]
    assert set(model.params) == set(init_variant(2, 8, rng, "CIFG")) | {"W_y", "b_y"}


def test_bad_variants():
    with pytest.raises(ValueError, match="one of"):
        as_variant("GRU")
    with pytest.raises(ValueError, match="one of"):
        init_variant(D, H, np.random.default_rng(0), 3)
    with pytest.raises(ValueError, match="needs forget_gate=True"):
        CellVariant(coupled=True, forget_gate=False)
    with pytest.raises(ValueError, match="needs forget_gate=True and input_gate=True"):
        CellVariant(coupled=True, input_gate=False)
    with pytest.raises(TypeError, match="peepholes must be True or False"):
        CellVariant(peepholes=1)


def test_bad_params_and_inputs():
    rng = np.random.default_rng(7)
    x, h0, C0 = _data(rng)
    p = init_variant(D, H, rng, "lstm")
    with pytest.raises(ValueError, match=r"must hold exactly \['Wh', 'Wx', 'b', 'p_f'"):
        variant_forward(x, h0, C0, p, "V")               # lstm params for a peephole cell
    with pytest.raises(ValueError, match=r"Wh must have shape \(H, 3H\)"):
        variant_forward(x, h0, C0, p, "lstm1997")        # 4 blocks for a 3-gate cell
    with pytest.raises(TypeError, match="params must be a dict"):
        variant_forward(x, h0, C0, [p], "lstm")
    with pytest.raises(ValueError, match=r"Wx must have shape \(D, 4H\)"):
        variant_forward(x[:, :, :2], h0, C0, p, "lstm")
    with pytest.raises(ValueError, match=r"h_prev must have shape \(N, H\)"):
        variant_forward(x, h0[:, :2], C0, p, "lstm")
    with pytest.raises(TypeError, match="Wh must have dtype float32"):
        variant_forward(x.astype(np.float32), h0, C0, p, "lstm")
    with pytest.raises(ValueError, match="at least one time step"):
        variant_forward(x[:, :0], h0, C0, p, "lstm")
    q = init_variant(D, H, rng, "V")
    q["p_o"] = np.zeros(H + 1)
    with pytest.raises(ValueError, match=r"p_o must have shape \(H,\)"):
        variant_forward(x, h0, C0, q, "V")
    _, _, cache = variant_forward(x, h0, C0, p, "lstm")
    with pytest.raises(TypeError, match="list of step caches returned by variant_forward"):
        variant_backward(np.zeros((N, T, H)), tuple(cache))
    with pytest.raises(ValueError, match=r"dh must have shape \(N, T, H\)"):
        variant_backward(np.zeros((N, T + 1, H)), cache)
    with pytest.raises(ValueError, match=r"dC_T must have shape \(N, H\)"):
        variant_backward(np.zeros((N, T, H)), cache, dC_T=np.zeros((N, H + 1)))
    with pytest.raises(TypeError, match="dict returned by variant_step_forward"):
        variant_step_backward(np.zeros((N, H)), np.zeros((N, H)), cache[0]["x"])
    with pytest.raises(TypeError, match="params must be a dict"):
        count_params([1])
    with pytest.raises(ValueError, match="D must be|H must be"):
        init_variant(0, H, rng, "lstm")
