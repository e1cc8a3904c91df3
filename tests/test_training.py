"""Tests for lstm_lit.training: sequence losses, the models' gradients, the training loop, checkpoints."""
import json
import os

import numpy as np
import pytest

from lstm_lit.learning import grad_check
from lstm_lit import training
from lstm_lit.training import (LSTMModel, RNNModel, TrainingDiverged, last_step_loss, load_checkpoint,
                               save_checkpoint, train)


def _loss_setup(kind, seed=0, N=3, T=4, H=5, O=3):
    rng = np.random.default_rng(seed)
    h = rng.uniform(-1, 1, size=(N, T, H))
    W_y, b_y = rng.normal(size=(H, O)), rng.normal(size=O)
    y = rng.normal(size=(N, O)) if kind == "regression" else rng.integers(0, O, size=N)
    return h, W_y, b_y, y


@pytest.mark.parametrize("kind", ["regression", "classification"])
def test_last_step_loss_gradients(kind):
    h, W_y, b_y, y = _loss_setup(kind)
    loss, dh, dW_y, db_y = last_step_loss(h, W_y, b_y, y, kind)
    assert isinstance(loss, float) and dh.shape == h.shape
    assert np.all(dh[:, :-1] == 0)                       # only the last step feeds the loss
    errs = grad_check(lambda: last_step_loss(h, W_y, b_y, y, kind)[0], {"h": h, "W_y": W_y, "b_y": b_y},
                      {"h": dh, "W_y": dW_y, "b_y": db_y}, verbose=False)
    assert max(errs.values()) < 1e-7, errs


def test_last_step_loss_values():
    h, W_y, b_y, y = _loss_setup("regression")
    loss = last_step_loss(h, W_y, b_y, y, "regression")[0]
    assert loss == pytest.approx(np.mean((h[:, -1] @ W_y + b_y - y) ** 2))
    h, W_y, b_y, labels = _loss_setup("classification")
    z = h[:, -1] @ W_y + b_y
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    loss = last_step_loss(h, W_y, b_y, labels, "classification")[0]
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(len(labels)), labels])))


def test_last_step_loss_bad_input():
    h, W_y, b_y, y = _loss_setup("regression")
    with pytest.raises(ValueError, match="kind must be one of"):
        last_step_loss(h, W_y, b_y, y, "ranking")
    with pytest.raises(ValueError, match=r"h must have shape \(N, T, H\)"):
        last_step_loss(h[:, -1], W_y, b_y, y, "regression")
    with pytest.raises(ValueError, match="target must have shape"):
        last_step_loss(h, W_y, b_y, y[:, :2], "regression")
    with pytest.raises(TypeError, match="W_y must have dtype float32"):
        last_step_loss(h.astype(np.float32), W_y, b_y, y, "regression")
    with pytest.raises(ValueError, match=r"W_y must have shape \(H, O\) = \(5, any\); got \(4, 3\)"):
        last_step_loss(h, W_y[:4], b_y, y, "regression")
    bad = h.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="h must be finite"):
        last_step_loss(bad, W_y, b_y, y, "regression")
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        last_step_loss(h, W_y, b_y, np.array([0, 1, 3]), "classification")
    big = np.finfo(np.float64).max
    with pytest.raises(FloatingPointError, match="the prediction has 9 non-finite value"):
        last_step_loss(np.abs(h), np.full_like(W_y, big), b_y, y, "regression")
    loss = last_step_loss(h, W_y, np.full_like(b_y, 1e200), y, "regression")[0]
    assert loss == np.inf


@pytest.mark.parametrize("cls,kind,O", [(LSTMModel, "regression", 2), (LSTMModel, "classification", 3),
                                        (RNNModel, "regression", 1), (RNNModel, "classification", 4)])
def test_model_gradients(cls, kind, O):
    rng = np.random.default_rng(1)
    model = cls(3, 4, O, rng, kind=kind)
    for p in model.params.values():                        # non-zero biases everywhere
        p += rng.normal(scale=0.1, size=p.shape)
    x = rng.normal(size=(2, 5, 3))
    y = rng.normal(size=(2, O)) if kind == "regression" else rng.integers(0, O, size=2)
    loss, grads = model.loss_and_grads(x, y)
    assert set(grads) == set(model.params)
    assert all(grads[k].shape == p.shape and grads[k].dtype == p.dtype for k, p in model.params.items())
    errs = grad_check(lambda: model.loss_and_grads(x, y)[0], model.params, grads, verbose=False)
    assert max(errs.values()) < 1e-7, errs


def test_model_shapes_dtype_and_predict():
    rng = np.random.default_rng(2)
    model = LSTMModel(2, 6, 4, rng, kind="classification", dtype=np.float32)
    assert model.params["Wx"].shape == (2, 24) and model.params["Wh"].shape == (6, 24)
    assert model.params["W_y"].shape == (6, 4) and model.params["b_y"].shape == (4,)
    assert all(p.dtype == np.float32 for p in model.params.values())
    assert np.all(model.params["b"][6:12] == 1.0)          # forget-gate block, bias 1 by default
    x = rng.normal(size=(5, 7, 2)).astype(np.float32)
    out, h, _ = model.forward(x)
    assert out.shape == (5, 4) and out.dtype == np.float32 and h.shape == (5, 7, 6)
    labels = model.predict(x)
    assert labels.shape == (5,) and np.array_equal(labels, out.argmax(axis=1))
    loss, grads = model.loss_and_grads(x, np.arange(5) % 4)
    assert all(g.dtype == np.float32 for g in grads.values())
    reg = LSTMModel(2, 6, 1, rng, forget_bias=3.0)
    assert np.all(reg.params["b"][6:12] == 3.0)
    assert reg.predict(x.astype(np.float64)).shape == (5, 1)
    with pytest.raises(ValueError, match="kind must be one of"):
        LSTMModel(2, 6, 1, rng, kind="regresion")
    with pytest.raises(ValueError, match="O must be a positive int; got 0"):
        RNNModel(2, 6, 0, rng)
    with pytest.raises(TypeError, match="x must have dtype float32"):
        model.forward(x.astype(np.float64))
    with pytest.raises(ValueError, match=r"x must have shape \(N, T, D\) = \(any, any, 2\); got \(5, 7, 3\)"):
        model.loss_and_grads(np.zeros((5, 7, 3), np.float32), np.arange(5) % 4)


def test_training_reduces_loss_on_a_learnable_task(capsys):
    # Copy the first input of each sequence to the output: a 5-step memory, learnable in a few steps.
    rng = np.random.default_rng(3)
    model = LSTMModel(1, 8, 1, rng)

    def get_batch(step):
        x = rng.uniform(-1, 1, size=(16, 5, 1))
        return x, x[:, 0].copy()

    hist = train(model, get_batch, 150, lr=2e-2, max_norm=1.0, log_every=50)
    loss = hist["loss"]
    assert loss.shape == (150,) and hist["grad_norm"].shape == (150,)
    assert loss[-20:].mean() < 0.2 * loss[:10].mean()
    out = capsys.readouterr()
    assert out.err == ""
    lines = out.out.splitlines()
    assert lines == [l for l in lines if l.startswith("step ")] and len(lines) == 3
    assert lines[-1].startswith("step 150/150 [####################] loss ")
    assert "\r" not in out.out


def test_training_is_deterministic(capsys):
    def run():
        rng = np.random.default_rng(4)
        model = RNNModel(1, 4, 1, rng)
        hist = train(model, lambda s: (rng.normal(size=(4, 3, 1)), rng.normal(size=(4, 1))), 20, log_every=10)
        return hist["loss"], model.params
    (l1, p1), (l2, p2) = run(), run()
    assert np.array_equal(l1, l2) and all(np.array_equal(p1[k], p2[k]) for k in p1)
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == out[2:]


def test_monitor_and_early_stop(capsys):
    rng = np.random.default_rng(5)
    model = LSTMModel(1, 4, 1, rng)
    calls = []

    def monitor(m):
        calls.append(1)
        return {"score": float(len(calls))}

    batch = lambda s: (rng.normal(size=(4, 3, 1)), rng.normal(size=(4, 1)))
    hist = train(model, batch, 100, log_every=10, monitor=monitor, stop_at=("score", 3.0))
    assert len(hist["loss"]) == 30 and [s for s, _ in hist["monitor"]] == [10, 20, 30]
    out = capsys.readouterr().out
    assert "score 3.000" in out and "stopped at step 30" in out
    with pytest.raises(ValueError, match="stop_at needs a monitor"):
        train(model, batch, 10, stop_at=("score", 1.0))
    with pytest.raises(ValueError, match="steps must be a positive int"):
        train(model, batch, 0)


def test_divergence_from_injected_nan_names_the_step(capsys):
    rng = np.random.default_rng(6)
    model = LSTMModel(1, 4, 1, rng)
    original = model.loss_and_grads

    def poisoned(x, y):
        loss, grads = original(x, y)
        if poisoned.calls == 7:
            grads["Wh"][0, 0] = np.nan
        poisoned.calls += 1
        return loss, grads
    poisoned.calls = 0
    model.loss_and_grads = poisoned
    before = {k: p.copy() for k, p in model.params.items()}
    batch = lambda s: (rng.normal(size=(4, 3, 1)), rng.normal(size=(4, 1)))
    with pytest.raises(TrainingDiverged, match=r"diverged at step 8/50: loss [0-9.]+, non-finite gradient\(s\) \['Wh'\] \(previous loss [0-9.]+;"):
        train(model, batch, 50, log_every=0)
    assert all(np.all(np.isfinite(p)) for p in model.params.values())   # the bad update was not applied
    assert not all(np.array_equal(before[k], model.params[k]) for k in before)


def test_divergence_from_a_huge_learning_rate(capsys):
    rng = np.random.default_rng(7)
    model = LSTMModel(1, 4, 1, rng)
    batch = lambda s: (rng.normal(size=(4, 3, 1)), rng.normal(size=(4, 1)))
    with pytest.raises(TrainingDiverged, match=r"diverged at step \d+/20") as info:
        train(model, batch, 20, lr=1e308, log_every=0)
    assert isinstance(info.value, FloatingPointError)
    assert "lr" in str(info.value)
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------- checkpoints

def _params(dtype=np.float64, seed=8):
    return LSTMModel(3, 5, 2, np.random.default_rng(seed), dtype=dtype).params


def test_checkpoint_round_trip_is_exact(tmp_path):
    for dtype in (np.float32, np.float64):
        params = _params(dtype)
        params["Wh"][0, 0] = np.nextafter(dtype(1), dtype(2))    # a value that rounding would change
        meta = {"H": 5, "lr": 0.01, "step": 1200, "task": {"name": "adding", "T": 100}}
        path = save_checkpoint(tmp_path / "model.npz", params, meta)
        loaded, meta2 = load_checkpoint(path, expected=params)
        assert meta2 == meta and set(loaded) == set(params)
        for k in params:
            assert loaded[k].dtype == params[k].dtype
            assert loaded[k].tobytes() == params[k].tobytes()
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_checkpoint_predictions_identical_after_reload(tmp_path):
    rng = np.random.default_rng(9)
    model = LSTMModel(2, 4, 1, rng, dtype=np.float32)
    save_checkpoint(tmp_path / "m.npz", model.params, {"D": 2, "H": 4, "O": 1})
    clone = LSTMModel(2, 4, 1, np.random.default_rng(99), dtype=np.float32)
    params, meta = load_checkpoint(tmp_path / "m.npz", expected=clone.params, expected_metadata={"H": 4})
    clone.params.update(params)
    x = rng.normal(size=(3, 6, 2)).astype(np.float32)
    assert model.predict(x).tobytes() == clone.predict(x).tobytes()


@pytest.mark.parametrize("where", ["savez", "fsync", "replace"])
def test_failed_save_leaves_previous_file_intact(tmp_path, monkeypatch, where):
    path = tmp_path / "model.npz"
    old = _params(seed=10)
    save_checkpoint(path, old, {"step": 1})
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full (simulated)")
    target = {"savez": (training, "_write_npz"), "fsync": (training.os, "fsync"),
              "replace": (training.os, "replace")}[where]
    monkeypatch.setattr(*target, boom)
    with pytest.raises(OSError, match="simulated"):
        save_checkpoint(path, _params(seed=11), {"step": 2})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]      # no temporary file left behind
    assert load_checkpoint(path)[1] == {"step": 1}


def test_save_rejects_bad_arguments(tmp_path):
    params = _params()
    with pytest.raises(TypeError, match="JSON-serialisable"):
        save_checkpoint(tmp_path / "a.npz", params, {"rng": np.random.default_rng(0)})
    with pytest.raises(ValueError, match="Wx must be finite"):
        save_checkpoint(tmp_path / "a.npz", {**params, "Wx": params["Wx"] * np.nan}, {})
    with pytest.raises(TypeError, match="params must be a non-empty dict"):
        save_checkpoint(tmp_path / "a.npz", {}, {})
    with pytest.raises(ValueError, match="parameter names"):
        save_checkpoint(tmp_path / "a.npz", {"__checkpoint__": params["Wx"]}, {})
    assert list(tmp_path.iterdir()) == []


def test_corrupt_and_truncated_files_are_rejected(tmp_path):
    path = save_checkpoint(tmp_path / "m.npz", _params(), {"step": 3})
    data = path.read_bytes()
    (tmp_path / "truncated.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"truncated.npz is not a readable .npz file \(corrupt or truncated\?\)"):
        load_checkpoint(tmp_path / "truncated.npz")
    flipped = bytearray(data)
    i = data.index(b"\x93NUMPY", data.index(b"Wh.npy")) + 200        # inside the Wh array's bytes
    flipped[i] ^= 0xFF
    (tmp_path / "flipped.npz").write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match="corrupt or truncated"):
        load_checkpoint(tmp_path / "flipped.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="not a readable .npz file"):
        load_checkpoint(tmp_path / "text.npz")
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "absent.npz")


def test_npz_that_is_not_a_checkpoint(tmp_path):
    np.savez(tmp_path / "plain.npz", Wx=np.zeros(3))
    with pytest.raises(ValueError, match="not a checkpoint: it has no '__checkpoint__' entry"):
        load_checkpoint(tmp_path / "plain.npz")
    np.savez(tmp_path / "other.npz", __checkpoint__=np.array(json.dumps({"format": "other", "version": 1})))
    with pytest.raises(ValueError, match="not an lstm-lit-checkpoint file"):
        load_checkpoint(tmp_path / "other.npz")
    np.savez(tmp_path / "v9.npz", __checkpoint__=np.array(json.dumps(
        {"format": "lstm-lit-checkpoint", "version": 9, "params": {}, "metadata": {}})))
    with pytest.raises(ValueError, match="format version 9"):
        load_checkpoint(tmp_path / "v9.npz")
    np.savez(tmp_path / "json.npz", __checkpoint__=np.array("{not json"))
    with pytest.raises(ValueError, match="not valid JSON"):
        load_checkpoint(tmp_path / "json.npz")


def _rewrite(path, drop=None, replace=None):
    """Rewrite a checkpoint with an array dropped or replaced, keeping its header (a damaged file)."""
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    if drop:
        del arrays[drop]
    if replace:
        arrays.update(replace)
    np.savez(path, **arrays)


def test_missing_array_and_header_mismatch(tmp_path):
    params = _params()
    path = save_checkpoint(tmp_path / "m.npz", params, {})
    _rewrite(path, drop="Wh")
    with pytest.raises(ValueError, match=r"the header lists \['Wh'\] but the file has no such array"):
        load_checkpoint(path)
    path = save_checkpoint(tmp_path / "m.npz", params, {})
    _rewrite(path, replace={"b": params["b"][:4]})
    with pytest.raises(ValueError, match=r"array 'b' has shape \(4,\) and dtype float64; its header says \(20,\)"):
        load_checkpoint(path)
    path = save_checkpoint(tmp_path / "m.npz", params, {})
    _rewrite(path, replace={"extra": np.zeros(2)})
    with pytest.raises(ValueError, match=r"array\(s\) \['extra'\] are not listed in the header"):
        load_checkpoint(path)


def test_expected_shapes_dtype_keys_and_metadata(tmp_path):
    params = _params()
    path = save_checkpoint(tmp_path / "m.npz", params, {"H": 5, "kind": "regression"})
    bigger = LSTMModel(3, 6, 2, np.random.default_rng(0)).params
    with pytest.raises(ValueError, match=r"parameter 'Wx' has shape \(3, 20\); expected \(3, 24\)"):
        load_checkpoint(path, expected=bigger)
    with pytest.raises(ValueError, match="parameter 'Wx' has dtype float64; expected float32"):
        load_checkpoint(path, expected=_params(np.float32))
    fewer = {k: v for k, v in params.items() if k != "b_y"}
    with pytest.raises(ValueError, match=r"missing \[\], unexpected \['b_y'\]"):
        load_checkpoint(path, expected=fewer)
    with pytest.raises(ValueError, match=r"missing \['c'\], unexpected \[\]"):
        load_checkpoint(path, expected={**params, "c": np.zeros(1)})
    with pytest.raises(ValueError, match="metadata 'H' is 5; expected 6"):
        load_checkpoint(path, expected_metadata={"H": 6})
    with pytest.raises(ValueError, match="metadata has no 'T'"):
        load_checkpoint(path, expected_metadata={"T": 100})
    loaded, meta = load_checkpoint(path, expected=params, expected_metadata={"H": 5})
    assert meta["kind"] == "regression"


# ---------------------------------------------------------------- edge cases (issue 10)

@pytest.mark.parametrize("cls", [LSTMModel, RNNModel])
def test_gradient_overflow_in_backward_is_divergence_with_step(cls, capsys):
    # Finite but huge parameters: the loss (1e36) is finite in float32, the gradient
    # dL/dh_T = dout @ W_y.T (about 5e38) is not.
    model = cls(1, 4, 1, np.random.default_rng(0), dtype=np.float32)
    for p in model.params.values():
        p[...] = 0
    model.params["W_y"][...] = 1e21
    model.params["b_y"][...] = 1e18
    batch = lambda s: (np.zeros((4, 3, 1), np.float32), np.zeros((4, 1), np.float32))
    with pytest.raises(TrainingDiverged, match=r"diverged at step 1/5: the gradient dh at "
                                               r"the last step has 16 non-finite"):
        train(model, batch, 5, log_every=0)


@pytest.mark.parametrize("cls", [LSTMModel, RNNModel])
def test_overflow_deep_in_the_backward_pass_is_divergence(cls, capsys):
    model = cls(1, 4, 1, np.random.default_rng(1), dtype=np.float32)
    model.params["Wh"][...] = 1e19
    model.params["W_y"][...] = 1e19
    rng = np.random.default_rng(2)
    batch = lambda s: (rng.normal(size=(4, 30, 1)).astype(np.float32),
                       np.zeros((4, 1), np.float32))
    with pytest.raises(TrainingDiverged, match=r"diverged at step 1/5"):
        train(model, batch, 5, log_every=0)


def test_empty_batches_and_sequences_are_clear_errors(capsys):
    h = np.zeros((0, 5, 3))
    W_y, b_y = np.zeros((3, 2)), np.zeros(2)
    for kind, y in (("regression", np.zeros((0, 2))), ("classification", np.zeros(0, int))):
        with pytest.raises(ValueError, match=r"at least one sequence .* got shape \(0, 5, 3\)"):
            last_step_loss(h, W_y, b_y, y, kind)
    with pytest.raises(ValueError, match=r"at least one step \(T >= 1\); got shape \(2, 0, 3\)"):
        last_step_loss(np.zeros((2, 0, 3)), W_y, b_y, np.zeros((2, 2)), "regression")
    for kind, O, y in (("regression", 1, np.zeros((0, 1))),
                       ("classification", 3, np.zeros(0, int))):
        model = LSTMModel(2, 4, O, np.random.default_rng(0), kind=kind)
        with pytest.raises(ValueError, match=r"get_batch\(1\) returned an empty batch"):
            train(model, lambda s: (np.zeros((0, 5, 2)), y), 3, log_every=0)


def test_log_every_and_monitor_results_are_checked(capsys):
    model = LSTMModel(1, 3, 1, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    batch = lambda s: (rng.normal(size=(2, 3, 1)), rng.normal(size=(2, 1)))
    for bad in (-1, 1.5, True, "10"):
        with pytest.raises(ValueError, match="log_every must be an int >= 0"):
            train(model, batch, 5, log_every=bad)
    with pytest.raises(ValueError, match=r"stop_at names 'score', but the monitor returned "
                                         r"only \['loss'\]"):
        train(model, batch, 4, log_every=2, monitor=lambda m: {"loss": 1.0},
              stop_at=("score", 0.5))
    with pytest.raises(TypeError, match="monitor must return a dict"):
        train(model, batch, 4, log_every=2, monitor=lambda m: 0.5)
    with pytest.raises(ValueError, match=r"stop_at must be a tuple \(name, threshold\)"):
        train(model, batch, 4, monitor=lambda m: {"s": 1.0}, stop_at="s")


def test_checkpoint_names_that_are_savez_keywords(tmp_path):
    params = {"file": np.arange(3.0), "allow_pickle": np.ones((2, 2)), "args": np.zeros(1),
              "Wx": np.full(2, 0.5)}
    path = save_checkpoint(tmp_path / "k.npz", params, {"note": "keyword names"})
    loaded, meta = load_checkpoint(path, expected=params)
    assert set(loaded) == set(params)
    for k in params:
        assert loaded[k].tobytes() == params[k].tobytes() and loaded[k].dtype == params[k].dtype


def _with_header(path, header):
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["__checkpoint__"] = np.array(json.dumps(header))
    np.savez(path, **arrays)


@pytest.mark.parametrize("change, message", [
    ({"params": None}, r"malformed header: 'params' must be a dict"),
    ({"params": ["Wx"]}, r"malformed header: 'params' must be a dict"),
    ({"params": {"Wx": [3, 20]}}, r"malformed header: the entry of parameter 'Wx'"),
    ({"params": {"Wx": {"shape": "3x20", "dtype": "float64"}}}, r"the entry of parameter 'Wx'"),
    ({"params": {"Wx": {"shape": [3, 20]}}}, r"the entry of parameter 'Wx'"),
    ({"metadata": [1, 2]}, r"malformed header: 'metadata' must be a dict"),
    ({"format": None}, r"not an lstm-lit-checkpoint file"),
])
def test_malformed_header_is_a_value_error(tmp_path, change, message):
    params = {"Wx": np.zeros((3, 20))}
    path = save_checkpoint(tmp_path / "m.npz", params, {"H": 5})
    header = {"format": "lstm-lit-checkpoint", "version": 1, "metadata": {"H": 5},
              "params": {"Wx": {"shape": [3, 20], "dtype": "float64"}}}
    _with_header(path, {**header, **change})
    with pytest.raises(ValueError, match=message):
        load_checkpoint(path)
    _with_header(path, ["not", "a", "dict"])
    with pytest.raises(ValueError, match="not an lstm-lit-checkpoint file"):
        load_checkpoint(path)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_checkpoint_file_mode_follows_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        path = save_checkpoint(tmp_path / "m.npz", _params(), {})
        plain = tmp_path / "plain.txt"
        plain.write_text("x")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask == plain.stat().st_mode & 0o777


def test_hard_kill_leaves_the_old_file_and_a_named_temporary_file(tmp_path):
    import subprocess
    import sys
    path = save_checkpoint(tmp_path / "m.npz", _params(seed=1), {"step": 1})
    before = path.read_bytes()
    script = ("import os, numpy as np\n"
              "from lstm_lit import training\n"
              "training.os.fsync = lambda fd: os.kill(os.getpid(), 9)\n"   # SIGKILL mid-save
              f"training.save_checkpoint({str(path)!r}, {{'Wx': np.ones(3)}}, {{'step': 2}})\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert result.returncode == -9
    assert path.read_bytes() == before
    left = sorted(p.name for p in tmp_path.iterdir() if p.name != "m.npz")
    assert len(left) == 1 and left[0].startswith(".m.npz.") and left[0].endswith(
        training.TEMP_SUFFIX)
    assert load_checkpoint(path)[1] == {"step": 1}


def test_tuple_metadata_matches_expected_metadata(tmp_path):
    meta = {"lengths": (20, 50, 100), "shape": (2, 3), "nested": {"pair": (1, 2)}}
    path = save_checkpoint(tmp_path / "m.npz", _params(), meta)
    _, loaded = load_checkpoint(path, expected_metadata=meta)
    assert loaded["lengths"] == [20, 50, 100]            # JSON has no tuples (documented)
    with pytest.raises(ValueError, match=r"metadata 'shape' is \[2, 3\]; expected \(3, 2\)"):
        load_checkpoint(path, expected_metadata={"shape": (3, 2)})


def test_metadata_must_be_a_dict(tmp_path):
    with pytest.raises(TypeError, match="metadata must be a dict"):
        save_checkpoint(tmp_path / "m.npz", _params(), [("step", 1)])
    assert list(tmp_path.iterdir()) == []
