"""Tests of the continual Reber stream and the next-symbol model in lstm_lit.variants
(notebooks/14_forget_origin.ipynb), and of the committed results of
experiments/forget_origin.py that chapter 14 reads."""
from pathlib import Path

import numpy as np
import pytest

from lstm_lit.variants import (K_REBER, NextSymbolModel, ReberStream, StreamChunk,
                                legal_correct, next_symbol_backward, next_symbol_forward,
                                next_symbol_loss, one_shot_scores, reber_batch,
                                reber_next_sets, string_scores, window_scores)
from lstm_lit.learning import grad_check
from lstm_lit.tasks import REBER_SYMBOLS, is_reber
from experiment_files import assert_provenance, load_results

ROOT = Path(__file__).resolve().parent.parent


def decode(x_row):
    return "".join(REBER_SYMBOLS[k] for k in x_row.argmax(axis=-1))


def split_strings(text, starts):
    cut = list(np.flatnonzero(starts)) + [len(text)]
    return [text[a:b] for a, b in zip(cut[:-1], cut[1:])]


@pytest.mark.parametrize("embedded", [True, False])
def test_stream_is_reber_strings_back_to_back(embedded):
    stream = ReberStream(3, np.random.default_rng(0), embedded=embedded)
    c = stream.chunk(400)
    assert isinstance(c, StreamChunk)
    assert c.x.shape == (3, 400, K_REBER) and c.y.shape == (3, 400)
    assert stream.steps == 400
    for r in range(3):
        text = decode(c.x[r])
        assert c.start[r, 0] and text[0] == "B"
        strings = split_strings(text, c.start[r])
        assert all(is_reber(s, embedded=embedded) for s in strings[:-1])
        assert (c.y[r, :-1] == c.x[r, 1:].argmax(axis=-1)).all()   # y is the next symbol
        assert c.legal[r, np.arange(400), c.y[r]].all()            # which is legal
        assert set(c.legal[r].sum(axis=-1)) == {1, 2}
        if embedded:   # the long-lag step: the inner E, whose successor is the branch
            assert [text[t] for t in np.flatnonzero(c.critical[r])] == ["E"] * \
                c.critical[r].sum()
            for t in np.flatnonzero(c.critical[r]):
                assert c.legal[r, t].sum() == 1 and REBER_SYMBOLS[c.y[r, t]] in "TP"
        else:
            assert not c.critical[r].any()


def test_chunks_continue_the_same_streams():
    whole = ReberStream(2, np.random.default_rng(5)).chunk(60)
    parts = ReberStream(2, np.random.default_rng(5))
    a, b = parts.chunk(25), parts.chunk(35)
    for field in StreamChunk._fields:
        joined = np.concatenate([getattr(a, field), getattr(b, field)], axis=1)
        assert np.array_equal(joined, getattr(whole, field))


def test_stream_dtype():
    assert ReberStream(1, np.random.default_rng(0), dtype=np.float32).chunk(5).x.dtype \
        == np.float32


def test_reber_batch_pads_with_no_target():
    c = reber_batch(5, np.random.default_rng(1))
    for r in range(5):
        L = int(c.x[r].sum())
        s = decode(c.x[r, :L])
        assert is_reber(s) and c.start[r, 0] and not c.start[r, 1:].any()
        assert (c.y[r, :L - 1] >= 0).all() and (c.y[r, L - 1:] == -1).all()
        assert not c.x[r, L:].any() and not c.legal[r, L - 1:].any()


def test_reber_next_sets():
    assert reber_next_sets("BTBPVVETE") == ["TP", "B", "TP", "TV", "PV", "E", "T", "E", "B"]
    assert reber_next_sets("BTXSE", embedded=False) == ["TP", "SX", "XS", "E", "B"]
    with pytest.raises(ValueError, match="embedded Reber"):
        reber_next_sets("BTXSE")
    with pytest.raises(TypeError, match="str"):
        reber_next_sets(["B"])


@pytest.mark.parametrize("call, error, message", [
    (lambda: ReberStream(0, np.random.default_rng(0)), ValueError, "at least 1"),
    (lambda: ReberStream(2, 0), TypeError, "Generator"),
    (lambda: ReberStream(2, np.random.default_rng(0), embedded=1), TypeError, "True or"),
    (lambda: ReberStream(2, np.random.default_rng(0), dtype=np.int64), TypeError, "float"),
    (lambda: ReberStream(2, np.random.default_rng(0)).chunk(0), ValueError, "at least 1"),
    (lambda: reber_batch(2.0, np.random.default_rng(0)), TypeError, "int"),
])
def test_stream_argument_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_legal_correct():
    legal = np.zeros((1, 2, 4), dtype=bool)
    legal[0, 0, [1, 2]] = True
    legal[0, 1, 3] = True
    logits = np.array([[[0.0, 2.0, 1.0, -1.0], [5.0, 0.0, 0.0, 4.0]]])
    assert legal_correct(logits, legal).tolist() == [[True, False]]
    with pytest.raises(ValueError, match="bool array"):
        legal_correct(logits, legal[:, :1])
    with pytest.raises(TypeError, match="numpy.ndarray"):
        legal_correct(logits.tolist(), legal)


def test_next_symbol_loss_skips_steps_without_target():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((2, 3, 4))
    y = np.array([[1, -1, 2], [0, 3, -1]])
    loss, dlogits = next_symbol_loss(logits, y)
    z = logits - logits.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    kept = [logp[0, 0, 1], logp[0, 2, 2], logp[1, 0, 0], logp[1, 1, 3]]
    assert abs(loss + np.mean(kept)) < 1e-12
    assert not dlogits[0, 1].any() and not dlogits[1, 2].any()
    with pytest.raises(TypeError, match="integer"):
        next_symbol_loss(logits, y.astype(float))
    with pytest.raises(ValueError, match="shape"):
        next_symbol_loss(logits, y[:, :2])
    with pytest.raises(ValueError, match="at least one target"):
        next_symbol_loss(logits, np.full((2, 3), -1))


@pytest.mark.parametrize("variant", ["lstm", "lstm1997"])
def test_gradient_check(variant):
    rng = np.random.default_rng(3)
    model = NextSymbolModel(3, rng, variant)
    params = {k: v + 0.3 * rng.standard_normal(v.shape) for k, v in model.params.items()}
    c = reber_batch(2, np.random.default_rng(4))
    h0, C0 = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))

    def f():
        logits, _, _ = next_symbol_forward(c.x, h0, C0, params, variant)
        return next_symbol_loss(logits, c.y)[0]

    logits, _, cache = next_symbol_forward(c.x, h0, C0, params, variant)
    dh0, dC0, grads = next_symbol_backward(next_symbol_loss(logits, c.y)[1], cache)
    errors = grad_check(f, {**params, "h0": h0, "C0": C0},
                        {**grads, "h0": dh0, "C0": dC0}, verbose=False)
    assert max(errors.values()) < 1e-7


def test_carried_state_equals_one_long_forward():
    model = NextSymbolModel(4, np.random.default_rng(0), "lstm1997")
    c = ReberStream(2, np.random.default_rng(1)).chunk(30)
    whole, _ = model.run(c.x)
    model.reset(2)
    first, _ = model.run(c.x[:, :12])
    second, trace = model.run(c.x[:, 12:])
    assert np.abs(np.concatenate([first, second], axis=1) - whole).max() < 1e-12
    assert trace["C"].shape == (2, 18, 4) and "f" not in trace
    with pytest.raises(ValueError, match="reset"):
        model.run(c.x[:1])
    model.carry = False                      # separate sequences: every call from zero
    again, _ = model.run(c.x[:, 12:])
    assert np.abs(again - second).max() > 1e-3


def test_model_argument_errors():
    with pytest.raises(ValueError, match="one of"):
        NextSymbolModel(4, np.random.default_rng(0), "lstm1998")
    with pytest.raises(ValueError, match="CellVariant"):
        NextSymbolModel(4, np.random.default_rng(0), 3)
    model = NextSymbolModel(4, np.random.default_rng(0), "lstm")
    with pytest.raises(ValueError, match="shape"):
        model.run(np.zeros((1, 3, 5)))
    with pytest.raises(TypeError, match="dtype"):
        model.run(np.zeros((1, 3, 7), dtype=np.float32))


@pytest.mark.parametrize("call, error, message", [
    (lambda: NextSymbolModel(0, np.random.default_rng(0), "lstm"), ValueError, "at least 1"),
    (lambda: NextSymbolModel(4, np.random.default_rng(0), "lstm", carry="yes"), TypeError,
     "True or False"),
    (lambda: NextSymbolModel(4, np.random.default_rng(0), "lstm").reset(0), ValueError,
     "at least 1"),
    (lambda: window_scores(NextSymbolModel(4, np.random.default_rng(0), "lstm"),
                           ReberStream(1, np.random.default_rng(0)), 0, 10), ValueError,
     "at least 1"),
    (lambda: string_scores(NextSymbolModel(4, np.random.default_rng(0), "lstm"),
                           ReberStream(1, np.random.default_rng(0)), 0), ValueError,
     "at least 1"),
])
def test_more_argument_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_score_functions():
    model = NextSymbolModel(4, np.random.default_rng(0), "lstm")
    stream = ReberStream(3, np.random.default_rng(1))
    scores = string_scores(model, stream, 5)
    assert scores.shape == (5,) and ((0 <= scores) & (scores <= 1)).all()
    with pytest.raises(ValueError, match="fresh"):
        string_scores(model, stream, 5)
    with pytest.raises(TypeError, match="ReberStream"):
        window_scores(model, "stream", 2, 10)
    with pytest.raises(TypeError, match="ReberStream"):
        string_scores(model, "stream", 5)
    out = window_scores(model, ReberStream(2, np.random.default_rng(1)), 3, 20)
    assert all(len(v) == 3 for v in out.values())
    one = one_shot_scores(model, reber_batch(10, np.random.default_rng(2)))
    assert set(one) == {"steps", "strings", "critical"}


# --- the committed results of experiments/forget_origin.py ---------------------------------

@pytest.fixture(scope="module")
def script(experiment_script):
    return experiment_script("forget_origin")


@pytest.fixture(scope="module")
def results():
    return load_results("forget_origin")


def test_results_file_records_how_it_was_made(script, results):
    assert_provenance(results, "forget_origin")
    assert results["hp"] == script.HP
    runs = {(r["cell"], r["regime"], r["seed"]) for r in results["runs"]}
    assert runs == {(c, g, s) for c in script.CELLS for g in script.REGIMES
                    for s in script.SEEDS}


def test_stored_parameters_reproduce_the_recorded_scores(script, results):
    params = np.load(ROOT / "experiments" / "forget_origin.npz")
    recorded = next(r for r in results["runs"]
                    if (r["cell"], r["regime"], r["seed"]) == ("lstm1997", "strings", 0))
    model = script.make_model("lstm1997", "strings", 0)
    for name in model.params:
        model.params[name] = params[f"lstm1997/strings/{name}"]
    t = script.ONE_SHOT_TEST
    one = one_shot_scores(model, reber_batch(t["strings"], np.random.default_rng(t["seed"])))
    for key, value in one.items():
        assert abs(value - recorded["one_shot"][key]) <= 0.005
    t = script.STRING_TEST
    live = string_scores(model, ReberStream(t["streams"], np.random.default_rng(t["seed"])),
                         t["strings"])
    assert np.abs(live - recorded["string_correct"]).max() <= 0.02


def test_first_training_steps_rerun_as_recorded(script, results):
    recorded = next(r for r in results["runs"]
                    if (r["cell"], r["regime"], r["seed"]) == ("lstm", "stream", 0))
    k = script.HP["log_every"]
    _, curve = script.train_run("lstm", "stream", 0, steps=k)
    assert abs(curve[0] - recorded["loss"][0]) < 1e-6
