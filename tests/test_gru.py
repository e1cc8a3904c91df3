"""Tests of lstm_lit.gru (chapter 17, notebooks/17_gru.ipynb).

- Agreement with PyTorch: every number in tests/fixtures/torch_gru_*.npz (written by
  tools/make_gru_fixtures.py with nn.GRU and nn.GRUCell in float64) is reproduced to 1e-10, and, when
  torch is importable, a live comparison on random shapes.
- Float64 finite-difference checks of the step and sequence backward passes (every parameter, x, h0).
- The sequence functions equal the loop of step functions (float64 and float32); dtype preserved.
- Plausible GRU bugs (Cho et al.'s reset placement, the swapped z convention, one merged bias) fail the
  fixtures: the fixtures can tell them apart.
- Conversions, initialisation, GRUModel with train, and every error path at the public boundary.
- experiments/gru_vs_lstm.json: complete, made by the script's settings, and one of its runs re-run live.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lstm_lit.gru import (GRU_GATE_ORDER, GRUModel, gru_backward, gru_forward, gru_from_torch,
                          gru_step_backward, gru_step_forward, gru_to_torch, init_gru)
from lstm_lit.learning import grad_check, rel_error
from lstm_lit.training import train
from torch_fixtures import (TOL, assert_close, assert_fixtures_well_formed, assert_grads_close,
                            fixture_paths, load)
from experiment_files import assert_provenance, load_results

ROOT = Path(__file__).resolve().parent.parent
# the nn.GRU and nn.GRUCell cases of tools/make_gru_fixtures.py
FIXTURES = fixture_paths("gru_a", "gru_b", "gru_c", "gru_cell_a")
TORCH_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def random_case(rng, N, T, D, H, dtype=np.float64):
    """Random parameters with non-zero, distinct biases; x, h0 and upstream gradients."""
    p = init_gru(D, H, rng, dtype=dtype)
    p["bx"] = rng.normal(size=3 * H).astype(dtype)
    p["bh"] = rng.normal(size=3 * H).astype(dtype)
    x = rng.normal(size=(N, T, D)).astype(dtype)
    h0 = rng.uniform(-1, 1, size=(N, H)).astype(dtype)
    dh, dh_T = rng.normal(size=(N, T, H)).astype(dtype), rng.normal(size=(N, H)).astype(dtype)
    return p, x, h0, dh, dh_T


def step_loop_forward(x, h0, Wx, Wh, bx, bh):
    """gru_forward's contract, built from gru_step_forward."""
    h, caches, hs = h0, [], []
    for t in range(x.shape[1]):
        h, cache = gru_step_forward(x[:, t], h, Wx, Wh, bx, bh)
        hs.append(h)
        caches.append(cache)
    return np.stack(hs, axis=1), h, caches


def step_loop_backward(dh, caches, dh_T=None):
    """gru_backward's contract, built from gru_step_backward."""
    dh_next = np.zeros_like(dh[:, 0]) if dh_T is None else dh_T.copy()
    grads, dxs = None, []
    for t in range(dh.shape[1] - 1, -1, -1):
        dx, dh_next, *g = gru_step_backward(dh[:, t] + dh_next, caches[t])
        dxs.append(dx)
        grads = g if grads is None else [a + b for a, b in zip(grads, g)]
    return (np.stack(dxs[::-1], axis=1), dh_next, *grads)


# ------------------------------------------------------------ agreement with PyTorch (fixtures)

def test_fixtures_exist_and_record_torch_version():
    assert_fixtures_well_formed(FIXTURES, {"GRU", "GRUCell"}, ("bias_ih", "bias_hh", "h0"))
    shapes = {(load(p)["weight_ih"].shape[1], load(p)["weight_hh"].shape[1]) for p in FIXTURES}
    assert any(D != H for D, H in shapes)


def check_against_fixture(d, forward, backward, tol=TOL):
    """Run a forward/backward pair with gru_forward's contract on a fixture; compare all."""
    p = gru_from_torch({k: d[k] for k in TORCH_NAMES})
    x = d["x"] if d["x"].ndim == 3 else d["x"][:, None, :]
    h, h_T, cache = forward(x, d["h0"], p["Wx"], p["Wh"], p["bx"], p["bh"])
    if "output" in d:
        assert_close(h, d["output"], "output", tol)
    assert_close(h_T, d["h_n"], "h_n", tol)
    dh = d["R"] if "R" in d else np.zeros_like(h)
    dx, dh0, dWx, dWh, dbx, dbh = backward(dh, cache, d["S"])
    assert_grads_close(d, {"x": dx.reshape(d["grad_x"].shape), "h0": dh0,
                           "weight_ih": dWx.T, "weight_hh": dWh.T,
                           "bias_ih": dbx, "bias_hh": dbh}, tol)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_sequence_functions_reproduce_torch_fixture(path):
    check_against_fixture(load(path), gru_forward, gru_backward)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_step_functions_reproduce_torch_fixture(path):
    check_against_fixture(load(path), step_loop_forward, step_loop_backward)


def variant_step(variant):
    """A forward with gru_forward's contract for a plausible wrong GRU (float64, no cache)."""
    def forward(x, h0, Wx, Wh, bx, bh):
        H = h0.shape[1]
        sig = lambda a: 1 / (1 + np.exp(-a))                          # noqa: E731
        h, hs = h0, []
        for t in range(x.shape[1]):
            ax, ah = x[:, t] @ Wx + bx, h @ Wh + bh
            r, z = sig(ax[:, :H] + ah[:, :H]), sig(ax[:, H:2 * H] + ah[:, H:2 * H])
            if variant == "cho_reset":        # reset before the product (Cho et al.)
                n = np.tanh(ax[:, 2 * H:] + (r * h) @ Wh[:, 2 * H:] + bh[2 * H:])
            elif variant == "one_bias":       # bh_n moved outside the reset gate
                n = np.tanh(ax[:, 2 * H:] + bh[2 * H:] + r * (h @ Wh[:, 2 * H:]))
            else:
                n = np.tanh(ax[:, 2 * H:] + r * ah[:, 2 * H:])
            h = z * n + (1 - z) * h if variant == "swapped_z" else (1 - z) * n + z * h
            hs.append(h)
        return np.stack(hs, axis=1), h, None
    return forward


@pytest.mark.parametrize("variant", ["cho_reset", "one_bias", "swapped_z"])
def test_the_fixtures_catch_plausible_gru_variants(variant):
    d = load(FIXTURES[0])
    p = gru_from_torch({k: d[k] for k in TORCH_NAMES})
    h, h_T, _ = variant_step("none")(d["x"], d["h0"], **p)
    assert_close(h, d["output"], "the reference loop itself")
    h, h_T, _ = variant_step(variant)(d["x"], d["h0"], **p)
    assert np.abs(h - d["output"]).max() > 1e-3


def test_live_torch_comparison_on_random_shapes():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(10)
    for N, T, D, H in ((3, 5, 2, 4), (1, 9, 6, 3)):
        p, x, h0, dh, dh_T = random_case(rng, N, T, D, H)
        net = torch.nn.GRU(D, H, batch_first=True).double()
        net.load_state_dict({k: torch.from_numpy(v) for k, v in gru_to_torch(p).items()})
        xt = torch.from_numpy(x).requires_grad_(True)
        h0t = torch.from_numpy(h0.copy())[None].requires_grad_(True)
        out, h_n = net(xt, h0t)
        ((out * torch.from_numpy(dh)).sum() + (h_n[0] * torch.from_numpy(dh_T)).sum()).backward()
        h, h_T, cache = gru_forward(x, h0, **p)
        assert_close(h, out.detach().numpy(), "output")
        assert_close(h_T, h_n[0].detach().numpy(), "h_n")
        dx, dh0, dWx, dWh, dbx, dbh = gru_backward(dh, cache, dh_T)
        assert_close(dx, xt.grad.numpy(), "grad x")
        assert_close(dh0, h0t.grad.numpy()[0], "grad h0")
        assert_close(dWx.T, net.weight_ih_l0.grad.numpy(), "grad weight_ih")
        assert_close(dWh.T, net.weight_hh_l0.grad.numpy(), "grad weight_hh")
        assert_close(dbx, net.bias_ih_l0.grad.numpy(), "grad bias_ih")
        assert_close(dbh, net.bias_hh_l0.grad.numpy(), "grad bias_hh")
        back = gru_from_torch(net.state_dict())
        assert all(np.array_equal(back[k], p[k]) for k in p)


# ------------------------------------------------------------ gradient checks, plain = fast

def test_step_gradient_check():
    rng = np.random.default_rng(0)
    p, x, h0, dh, _ = random_case(rng, 3, 1, 4, 5)
    x = x[:, 0]
    h_next, cache = gru_step_forward(x, h0, **p)
    grads = gru_step_backward(dh[:, 0], cache)
    errs = grad_check(lambda: gru_step_forward(x, h0, **p)[0],
                      {"x": x, "h_prev": h0, **p},
                      dict(zip(("x", "h_prev", "Wx", "Wh", "bx", "bh"), grads)),
                      df=dh[:, 0], verbose=False)
    assert max(errs.values()) < 1e-7


def test_sequence_gradient_check_with_final_state_gradient():
    rng = np.random.default_rng(1)
    p, x, h0, R, S = random_case(rng, 2, 6, 3, 4)

    def loss():
        h, h_T, _ = gru_forward(x, h0, **p)
        return float(np.sum(h * R) + np.sum(h_T * S))

    _, _, cache = gru_forward(x, h0, **p)
    grads = gru_backward(R, cache, S)
    errs = grad_check(loss, {"x": x, "h0": h0, **p},
                      dict(zip(("x", "h0", "Wx", "Wh", "bx", "bh"), grads)), verbose=False)
    assert set(errs) == {"x", "h0", "Wx", "Wh", "bx", "bh"}
    assert max(errs.values()) < 1e-7


@pytest.mark.parametrize("dtype,tol_h,tol_g", [(np.float64, 1e-13, 1e-11),
                                               (np.float32, 1e-5, 1e-4)])
def test_sequence_functions_equal_the_step_loop(dtype, tol_h, tol_g):
    rng = np.random.default_rng(2)
    for N, T, D, H in ((2, 7, 3, 4), (4, 15, 1, 6), (1, 1, 5, 2)):
        p, x, h0, dh, dh_T = random_case(rng, N, T, D, H, dtype)
        h, h_T, cache = gru_forward(x, h0, **p)
        h_ref, h_T_ref, caches = step_loop_forward(x, h0, **p)
        assert h.dtype == h_T.dtype == dtype
        assert np.abs(h - h_ref).max() < tol_h and np.array_equal(h_T, h[:, -1])
        for with_final in (None, dh_T):
            grads = gru_backward(dh, cache, with_final)
            ref = step_loop_backward(dh, caches, with_final)
            assert all(g.dtype == dtype for g in grads)
            assert max(rel_error(a, b) for a, b in zip(grads, ref)) < tol_g


def test_forward_does_not_modify_its_inputs_and_returns_new_arrays():
    rng = np.random.default_rng(3)
    p, x, h0, dh, _ = random_case(rng, 2, 4, 3, 3)
    copies = {k: v.copy() for k, v in {"x": x, "h0": h0, **p}.items()}
    h, h_T, cache = gru_forward(x, h0, **p)
    gru_backward(dh, cache)
    h_T += 1.0                                     # the final state is not a view of h
    assert not np.array_equal(h_T, h[:, -1])
    for k, v in {"x": x, "h0": h0, **p}.items():
        assert np.array_equal(v, copies[k])


# ------------------------------------------------------------ init, conversions, model

def test_init_gru_shapes_range_and_update_bias():
    params = init_gru(3, 4, np.random.default_rng(0), update_bias=2.5, dtype=np.float32)
    assert GRU_GATE_ORDER == ("r", "z", "n")
    assert {k: v.shape for k, v in params.items()} == {"Wx": (3, 12), "Wh": (4, 12),
                                                       "bx": (12,), "bh": (12,)}
    assert all(v.dtype == np.float32 for v in params.values())
    assert np.abs(params["Wx"]).max() <= 0.5 and np.abs(params["Wh"]).max() <= 0.5
    assert np.array_equal(params["bx"], np.r_[np.zeros(4), np.full(4, 2.5), np.zeros(4)])
    assert not params["bh"].any()


@pytest.mark.parametrize("kwargs,error", [
    ({"rng": 0}, TypeError), ({"D": 0}, ValueError), ({"H": 2.0}, ValueError),
    ({"dtype": np.int64}, TypeError), ({"update_bias": "1"}, TypeError),
    ({"update_bias": float("inf")}, ValueError)])
def test_init_gru_rejects_bad_arguments(kwargs, error):
    args = {"D": 2, "H": 3, "rng": np.random.default_rng(0), **kwargs}
    with pytest.raises(error):
        init_gru(args.pop("D"), args.pop("H"), args.pop("rng"), **args)


def test_torch_conversion_round_trip_and_cell_names():
    p = init_gru(2, 3, np.random.default_rng(0))
    p["bh"] = np.arange(9.0)
    state = gru_to_torch(p)
    assert {k: v.shape for k, v in state.items()} == {
        "weight_ih_l0": (9, 2), "weight_hh_l0": (9, 3), "bias_ih_l0": (9,), "bias_hh_l0": (9,)}
    back = gru_from_torch(state)
    assert all(np.array_equal(back[k], p[k]) for k in p)
    cell = gru_from_torch({k[:-3]: v for k, v in state.items()})      # nn.GRUCell names
    assert all(np.array_equal(cell[k], p[k]) for k in p)
    no_bias = gru_from_torch({k: v for k, v in state.items() if k.startswith("weight")})
    assert not no_bias["bx"].any() and not no_bias["bh"].any()


def test_gru_model_gradient_check_and_training():
    model = GRUModel(3, 4, 2, np.random.default_rng(0), update_bias=1.0)
    r = np.random.default_rng(1)
    for v in model.params.values():
        v += r.normal(scale=0.1, size=v.shape)
    x, y = r.normal(size=(2, 5, 3)), r.normal(size=(2, 2))
    loss, grads = model.loss_and_grads(x, y)
    errs = grad_check(lambda: model.loss_and_grads(x, y)[0], model.params, grads,
                      verbose=False)
    assert max(errs.values()) < 1e-7
    # train() drives it: a fixed small regression problem is fitted
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    model = GRUModel(3, 8, 2, np.random.default_rng(2), dtype=np.float32)
    hist = train(model, lambda step: (x32, y32), 200, lr=0.02, log_every=0)
    assert hist["loss"][-1] < 0.05 * hist["loss"][0]
    assert all(v.dtype == np.float32 for v in model.params.values())


# ------------------------------------------------------------ errors at the public boundary

def good(N=2, T=3, D=3, H=4):
    p, x, h0, dh, dh_T = random_case(np.random.default_rng(5), N, T, D, H)
    return p, x, h0, dh, dh_T


@pytest.mark.parametrize("change,error,match", [
    (lambda a: {**a, "x": [[1.0]]}, TypeError, "x must be a numpy.ndarray"),
    (lambda a: {**a, "x": a["x"][:, 0]}, ValueError, r"x must have shape \(N, T, D\)"),
    (lambda a: {**a, "x": a["x"][:, :, :0]}, ValueError, "D >= 1"),
    (lambda a: {**a, "x": a["x"][:, :0]}, ValueError, "at least one time step"),
    (lambda a: {**a, "x": a["x"].astype(np.float32)}, TypeError, "Wh must have dtype float32"),
    (lambda a: {**a, "x": np.where(a["x"] > 0, np.nan, a["x"])}, ValueError, "x must be finite"),
    (lambda a: {**a, "h0": a["h0"][:1]}, ValueError, r"h0 must have shape \(N, H\)"),
    (lambda a: {**a, "Wh": np.zeros((4, 16))}, ValueError, r"Wh must have shape \(H, 3H\)"),
    (lambda a: {**a, "Wh": np.zeros((0, 0))}, ValueError, "H >= 1"),
    (lambda a: {**a, "Wx": a["Wx"][:2]}, ValueError, r"Wx must have shape \(D, 3H\)"),
    (lambda a: {**a, "bx": a["bx"][:4]}, ValueError, r"bx must have shape \(3H,\)"),
    (lambda a: {**a, "bh": a["bh"][None]}, ValueError, r"bh must have shape \(3H,\)"),
])
def test_gru_forward_rejects_bad_inputs(change, error, match):
    p, x, h0, _, _ = good()
    args = change({"x": x, "h0": h0, **p})
    with pytest.raises(error, match=match):
        gru_forward(**args)


def test_gru_step_forward_rejects_a_sequence_and_a_bad_state():
    p, x, h0, _, _ = good()
    with pytest.raises(ValueError, match=r"x must have shape \(N, D\)"):
        gru_step_forward(x, h0, **p)
    with pytest.raises(ValueError, match=r"h_prev must have shape \(N, H\)"):
        gru_step_forward(x[:, 0], h0[:, :2], **p)


def test_backward_functions_reject_bad_caches_and_gradients():
    p, x, h0, dh, dh_T = good()
    _, _, cache = gru_forward(x, h0, **p)
    _, step_cache = gru_step_forward(x[:, 0], h0, **p)
    with pytest.raises(TypeError, match="returned by gru_forward"):
        gru_backward(dh, step_cache)
    with pytest.raises(TypeError, match="returned by gru_step_forward"):
        gru_step_backward(dh[:, 0], cache)
    with pytest.raises(ValueError, match=r"dh must have shape \(N, T, H\)"):
        gru_backward(dh[:, :2], cache)
    with pytest.raises(ValueError, match=r"dh_T must have shape \(N, H\)"):
        gru_backward(dh, cache, dh_T[:1])
    with pytest.raises(TypeError, match="dh must have dtype float64"):
        gru_backward(dh.astype(np.float32), cache)
    with pytest.raises(ValueError, match=r"dh_next must have shape \(N, H\)"):
        gru_step_backward(dh, step_cache)


@pytest.mark.parametrize("params,error,match", [
    ([1], TypeError, "params must be a dict"),
    ({"Wx": np.zeros((2, 9))}, ValueError, "missing"),
    ({"Wx": np.zeros((2, 12)), "Wh": np.zeros((3, 12)), "bx": np.zeros(12),
      "bh": np.zeros(12)}, ValueError, r"Wh must have shape \(H, 3H\)"),
    ({"Wx": np.zeros((2, 9)), "Wh": np.zeros((3, 9)), "bx": np.zeros(9),
      "bh": np.zeros(12)}, ValueError, r"bh must have shape \(3H,\)"),
])
def test_gru_to_torch_rejects_bad_params(params, error, match):
    with pytest.raises(error, match=match):
        gru_to_torch(params)


@pytest.mark.parametrize("state,error,match", [
    ([("weight_ih_l0", 1)], TypeError, "state must be a mapping"),
    ({"weight_ih_l0": np.zeros((9, 2))}, ValueError, "must hold weight_ih_l0 and weight_hh_l0"),
    ({"weight_ih_l0": np.zeros((9, 2)), "weight_hh_l0": np.zeros((9, 3)),
      "weight_ih_l1": np.zeros((9, 3))}, ValueError, "unexpected keys"),
    ({"weight_ih_l0": np.zeros((12, 2)), "weight_hh_l0": np.zeros((12, 5))}, ValueError,
     r"weight_hh_l0 must have shape \(3H, H\)"),
    ({"weight_ih_l0": np.zeros((9, 2)), "weight_hh_l0": np.zeros((9, 3)),
      "bias_ih_l0": np.zeros(12)}, ValueError, r"bias_ih_l0 must have shape \(3H,\)"),
    ({"weight_ih_l0": np.zeros((6, 2)), "weight_hh_l0": np.zeros((9, 3))}, ValueError,
     r"weight_ih_l0 must have shape \(3H, D\)"),
    ({"weight_ih_l0": np.zeros((0, 2)), "weight_hh_l0": np.zeros((0, 0))}, ValueError,
     "H >= 1"),
    ({"weight_ih_l0": np.zeros((9, 2)), "weight_hh_l0": np.zeros((9, 3), np.float32)},
     TypeError, "weight_ih_l0 must have dtype float32"),
])
def test_gru_from_torch_rejects_bad_state_dicts(state, error, match):
    with pytest.raises(error, match=match):
        gru_from_torch(state)


def test_gru_model_rejects_bad_input():
    model = GRUModel(2, 3, 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"x must have shape \(N, T, D\)"):
        model.predict(np.zeros((4, 5, 3)))
    with pytest.raises(ValueError, match="update_bias must be finite"):
        GRUModel(2, 3, 1, np.random.default_rng(0), update_bias=float("nan"))


# ------------------------------------------------------------ the experiment's results file

@pytest.fixture(scope="module")
def script(experiment_script):
    return experiment_script("gru_vs_lstm")


@pytest.fixture(scope="module")
def results():
    return load_results("gru_vs_lstm")


def test_results_file_records_how_it_was_made_and_is_complete(script, results):
    assert_provenance(results, "gru_vs_lstm", ("python", "numpy", "blas", "git_commit", "cpu"))
    assert results["hp"] == script.HP and results["models"] == script.MODELS
    runs = {(r["task"], r["model"], r["seed"]) for r in results["runs"]}
    assert runs == {(t, m, s) for t in script.TASKS for m in script.MODELS
                    for s in script.SEEDS[m]}
    for task in script.TASKS:
        assert set(results["seconds_per_step"][task]) == {"lstm", "gru"}


def test_the_claims_chapter_17_makes_from_the_file(results):
    by = {}
    for r in results["runs"]:
        by.setdefault((r["task"], r["model"]), []).append(r)
    for task in ("adding", "order"):
        lstm, gru = by[(task, "lstm")][0]["params"], by[(task, "gru")][0]["params"]
        assert abs(gru - lstm) / lstm < 0.02                 # about equal parameter counts
        for name in ("lstm", "gru"):
            assert all(r["stop_step"] is not None and r["test"] >= 0.95 for r in by[(task, name)])
        assert all(r["stop_step"] is None for r in by[(task, "gru_bias0")])
    for task, t in results["seconds_per_step"].items():
        assert 0.3 < t["gru"] / t["lstm"] < 3                 # loose: a shared machine


def test_one_gru_run_reruns_as_recorded(results):
    # On the machine that wrote the file the run is identical; on another CPU float32 rounding may
    # send it along another path, so compare the outcome with margins. The run goes to a fresh
    # process with one OpenBLAS thread, as the script runs (NumPy is already imported here, and
    # its thread count can no longer be set: two threads on these small matrices are far slower).
    code = ("import json, runpy; s = runpy.run_path('experiments/gru_vs_lstm.py'); "
            "print(json.dumps(s['run']('gru', 'order', 0)))")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=True, timeout=300).stdout
    live = json.loads(out.strip().splitlines()[-1])
    recorded = next(r for r in results["runs"]
                    if (r["task"], r["model"], r["seed"]) == ("order", "gru", 0))
    assert live["params"] == recorded["params"]
    assert live["stop_step"] is not None and live["test"] >= 0.95
    assert abs(live["stop_step"] - recorded["stop_step"]) <= 100
