"""Tests of lstm_lit.seq2seq (notebooks/22_seq2seq.ipynb) and of experiments/seq2seq.json.

Gradient checks of every new backward pass (float64, non-zero states and biases), the identities
that pin the padded encoder down (equal to lstm_forward without padding; a padded row gives the
result of the row alone), attention's masking, every error path, and a live re-run of a part of
experiments/seq2seq.py (the first steps of seed 0, and the stored parameters' accuracies).
"""
import json
from pathlib import Path

import numpy as np
import pytest

from lstm_lit.learning import Adam, grad_check
from lstm_lit.lstm import init_lstm, lstm_forward
from lstm_lit.seq2seq import (END, PAD, START, TOKENS, AttentionSeq2Seq, Seq2Seq, as_text,
                              attention_backward, attention_decoder_backward,
                              attention_decoder_forward, attention_forward, check_tokens,
                              digits_of, embedding_backward, embedding_forward,
                              encoder_backward, encoder_forward, exact_match, reversal_task,
                              source_lengths, temporal_softmax_loss)
from experiment_files import assert_provenance, load_results

ROOT = Path(__file__).resolve().parent.parent
V = len(TOKENS)


def _check(f, inputs, grads, df=None, h=1e-6):
    errors = grad_check(f, inputs, grads, df=df, h=h, verbose=False)
    assert max(errors.values()) < 1e-7, errors


# --- embedding ---

def test_embedding_gradient_with_repeated_tokens():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((V, 4))
    ids = np.array([[1, 1, 5], [5, 1, 0]])
    dout = rng.standard_normal((2, 3, 4))
    out, cache = embedding_forward(ids, W)
    assert np.array_equal(out[0, 1], W[1])
    dW = embedding_backward(dout, cache)
    assert np.allclose(dW[1], dout[0, 0] + dout[0, 1] + dout[1, 1])
    _check(lambda: embedding_forward(ids, W)[0], {"W": W}, {"W": dW}, df=dout)


def test_embedding_preserves_float32():
    W = np.ones((V, 3), dtype=np.float32)
    out, cache = embedding_forward(np.zeros((2, 2), dtype=np.int64), W)
    assert out.dtype == np.float32
    assert embedding_backward(out, cache).dtype == np.float32


@pytest.mark.parametrize("ids, error, words", [
    (np.zeros((2, 3)), TypeError, "integer dtype"),
    ([[1, 2]], TypeError, "numpy.ndarray"),
    (np.array([[1, V]]), ValueError, f"[0, {V})"),
    (np.array([[-1, 2]]), ValueError, "out of range"),
    (np.array([1, 2]), ValueError, "shape (N, T)"),
])
def test_embedding_rejects_bad_token_ids(ids, error, words):
    with pytest.raises(error, match=None) as info:
        embedding_forward(ids, np.zeros((V, 2)))
    assert words in str(info.value)


def test_embedding_backward_checks_its_arguments():
    _, cache = embedding_forward(np.zeros((2, 3), dtype=np.int64), np.zeros((V, 2)))
    with pytest.raises(ValueError, match=r"dout must have shape \(N, T, E\)"):
        embedding_backward(np.zeros((2, 4, 2)), cache)
    with pytest.raises(TypeError, match="embedding_forward"):
        embedding_backward(np.zeros((2, 3, 2)), None)


# --- masked per-step softmax ---

def test_temporal_softmax_loss_gradient_and_mask():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((3, 4, V))
    y = rng.integers(0, V, size=(3, 4))
    mask = np.arange(4) < np.array([[4], [1], [2]])
    loss, d = temporal_softmax_loss(logits, y, mask)
    _check(lambda: temporal_softmax_loss(logits, y, mask)[0], {"logits": logits},
           {"logits": d})
    assert np.all(d[~mask] == 0)
    # the mean over the kept steps: equal to a plain cross-entropy on those rows
    from lstm_lit.learning import softmax_cross_entropy
    ref, _ = softmax_cross_entropy(logits[mask], y[mask])
    assert abs(loss - ref) < 1e-12


@pytest.mark.parametrize("change, error, words", [
    ({"mask": np.ones((3, 3), dtype=bool)}, ValueError, "mask must have shape (N, T) = (3, 4)"),
    ({"mask": np.ones((3, 4))}, TypeError, "dtype bool"),
    ({"mask": np.zeros((3, 4), dtype=bool)}, ValueError, "at least one step"),
    ({"y": np.zeros((3, 5), dtype=np.int64)}, ValueError, "y must have shape (N, T) = (3, 4)"),
    ({"y": np.full((3, 4), V)}, ValueError, "token ids in"),
    ({"logits": np.zeros((3, 4))}, ValueError, "(N, T, V)"),
])
def test_temporal_softmax_loss_rejects_bad_arguments(change, error, words):
    args = {"logits": np.zeros((3, 4, V)), "y": np.zeros((3, 4), dtype=np.int64),
            "mask": np.ones((3, 4), dtype=bool)}
    args.update(change)
    with pytest.raises(error) as info:
        temporal_softmax_loss(**args)
    assert words in str(info.value)


# --- encoder ---

def _encoder_setup(seed=2, N=3, S=5, D=4, H=6, lengths=(5, 2, 3)):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, S, D))
    h0, C0 = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    p = init_lstm(D, H, rng)
    p["b"] += 0.5 * rng.standard_normal(4 * H)
    return rng, x, np.array(lengths), h0, C0, p


def test_encoder_gradient_check():
    rng, x, lengths, h0, C0, p = _encoder_setup()
    h, C_S, cache = encoder_forward(x, lengths, h0, C0, **p)
    dh, dC = rng.standard_normal(h.shape), rng.standard_normal(C_S.shape)
    grads = dict(zip(("x", "h0", "C0", "Wx", "Wh", "b"), encoder_backward(dh, cache, dC)))

    def f():
        h, C_S, _ = encoder_forward(x, lengths, h0, C0, **p)
        return np.concatenate([h.ravel(), C_S.ravel()])

    _check(f, {"x": x, "h0": h0, "C0": C0, **p}, grads,
           df=np.concatenate([dh.ravel(), dC.ravel()]))


def test_encoder_equals_lstm_forward_without_padding_and_each_row_alone():
    _, x, lengths, h0, C0, p = _encoder_setup()
    h, C, _ = encoder_forward(x, np.full(3, 5), h0, C0, **p)
    h_ref, C_ref, _ = lstm_forward(x, h0, C0, **p)
    assert np.abs(h - h_ref).max() < 1e-12 and np.abs(C - C_ref).max() < 1e-12
    h, C, _ = encoder_forward(x, lengths, h0, C0, **p)
    for n, L in enumerate(lengths):
        h1, C1, _ = lstm_forward(x[n:n + 1, :L], h0[n:n + 1], C0[n:n + 1], **p)
        assert np.abs(h1[0, -1] - h[n, -1]).max() < 1e-12
        assert np.abs(C1[0] - C[n]).max() < 1e-12


def test_encoder_gradient_is_zero_on_padded_inputs():
    rng, x, lengths, h0, C0, p = _encoder_setup()
    h, C_S, cache = encoder_forward(x, lengths, h0, C0, **p)
    dx = encoder_backward(rng.standard_normal(h.shape), cache)[0]
    assert np.all(dx[np.arange(5) >= lengths[:, None]] == 0)


def test_encoder_preserves_float32():
    _, x, lengths, h0, C0, p = _encoder_setup()
    f32 = {k: v.astype(np.float32) for k, v in p.items()}
    h, C, cache = encoder_forward(x.astype(np.float32), lengths, h0.astype(np.float32),
                                  C0.astype(np.float32), **f32)
    assert h.dtype == C.dtype == np.float32
    assert all(g.dtype == np.float32 for g in encoder_backward(h, cache))


@pytest.mark.parametrize("lengths, error, words", [
    (np.array([5, 6, 3]), ValueError, "lengths must lie in [1, S] = [1, 5]"),
    (np.array([5, 0, 3]), ValueError, "lengths must lie in"),
    (np.array([5, 2]), ValueError, "lengths must have shape (N,) = (3,)"),
    (np.array([5.0, 2.0, 3.0]), TypeError, "integers"),
    ([5, 2, 3], TypeError, "integers"),
])
def test_encoder_rejects_bad_lengths(lengths, error, words):
    _, x, _, h0, C0, p = _encoder_setup()
    with pytest.raises(error) as info:
        encoder_forward(x, lengths, h0, C0, **p)
    assert words in str(info.value)


def test_encoder_backward_checks_its_arguments():
    _, x, lengths, h0, C0, p = _encoder_setup()
    h, _, cache = encoder_forward(x, lengths, h0, C0, **p)
    with pytest.raises(ValueError, match="dh must have shape"):
        encoder_backward(h[:, :4], cache)
    with pytest.raises(ValueError, match="dC_S must have shape"):
        encoder_backward(h, cache, np.zeros((3, 5)))
    with pytest.raises(TypeError, match="encoder_forward"):
        encoder_backward(h, (1, 2))


# --- attention ---

def _attention_setup(seed=3, N=3, S=5, H=6, He=5, A=7):
    rng = np.random.default_rng(seed)
    s = rng.standard_normal((N, H))
    h_enc = rng.standard_normal((N, S, He))
    mask = np.arange(S) < np.array([[5], [2], [3]])
    return (rng, s, h_enc, mask, 0.5 * rng.standard_normal((H, A)),
            0.5 * rng.standard_normal((He, A)), rng.standard_normal(A))


def test_attention_gradient_check_and_masking():
    rng, s, h_enc, mask, W_a, U_a, v = _attention_setup()
    context, alpha, cache = attention_forward(s, h_enc, mask, W_a, U_a, v)
    assert np.all(alpha[~mask] == 0) and np.allclose(alpha.sum(axis=1), 1)
    assert np.allclose(context, np.einsum("ns,nsh->nh", alpha, h_enc))
    dc = rng.standard_normal(context.shape)
    names = ("s_prev", "h_enc", "W_a", "U_a", "v")
    _check(lambda: attention_forward(s, h_enc, mask, W_a, U_a, v)[0],
           dict(zip(names, (s, h_enc, W_a, U_a, v))),
           dict(zip(names, attention_backward(dc, cache))), df=dc)
    # what the padded positions hold changes nothing
    h_pad = h_enc.copy()
    h_pad[~mask] = 50.0
    assert np.array_equal(attention_forward(s, h_pad, mask, W_a, U_a, v)[0], context)


@pytest.mark.parametrize("mask, error, words", [
    (np.ones((3, 4), dtype=bool), ValueError, "mask must have shape (N, S) = (3, 5)"),
    (np.ones((3, 5)), TypeError, "dtype bool"),
    (np.array([[True] * 5, [False] * 5, [True] * 5]), ValueError, "at least one"),
])
def test_attention_rejects_bad_masks(mask, error, words):
    _, s, h_enc, _, W_a, U_a, v = _attention_setup()
    with pytest.raises(error) as info:
        attention_forward(s, h_enc, mask, W_a, U_a, v)
    assert words in str(info.value)


def test_attention_rejects_mismatched_parameters():
    _, s, h_enc, mask, W_a, U_a, v = _attention_setup()
    with pytest.raises(ValueError, match=r"U_a must have shape \(He, A\)"):
        attention_forward(s, h_enc, mask, W_a, U_a[:4], v)
    with pytest.raises(ValueError, match=r"W_a must have shape \(H, A\)"):
        attention_forward(s, h_enc, mask, W_a[:5], U_a, v)
    with pytest.raises(TypeError, match="attention_forward"):
        attention_backward(np.zeros((3, 5)), None)


def test_attention_decoder_gradient_check():
    rng = np.random.default_rng(4)
    N, S, H, He, A, E, T = 2, 4, 4, 3, 3, 2, 3
    h_enc = rng.standard_normal((N, S, He))
    mask = np.arange(S) < np.array([[4], [2]])
    W_a, U_a = 0.5 * rng.standard_normal((H, A)), 0.5 * rng.standard_normal((He, A))
    v = rng.standard_normal(A)
    x = rng.standard_normal((N, T, E))
    h0, C0 = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    p = init_lstm(E + He, H, rng)
    p["b"] += 0.5 * rng.standard_normal(4 * H)
    args = (x, h0, C0, h_enc, mask, p["Wx"], p["Wh"], p["b"], W_a, U_a, v)
    s, alphas, cache = attention_decoder_forward(*args)
    assert s.shape == (N, T, H) and alphas.shape == (N, T, S)
    ds = rng.standard_normal(s.shape)
    names = ("x", "h0", "C0", "h_enc", "Wx", "Wh", "b", "W_a", "U_a", "v")
    _check(lambda: attention_decoder_forward(*args)[0],
           dict(zip(names, (x, h0, C0, h_enc, p["Wx"], p["Wh"], p["b"], W_a, U_a, v))),
           dict(zip(names, attention_decoder_backward(ds, cache))), df=ds)
    with pytest.raises(ValueError, match=r"Wx must have shape \(E \+ He, 4H\)"):
        attention_decoder_forward(x[:, :, :1], *args[1:])


def test_attention_decoder_names_the_wrong_argument():
    rng = np.random.default_rng(5)
    N, S, H, He, E, T = 2, 4, 3, 3, 2, 3
    h_enc, mask = rng.standard_normal((N, S, He)), np.ones((N, S), dtype=bool)
    p = init_lstm(E + He, H, rng)
    att = (rng.standard_normal((H, H)), rng.standard_normal((He, H)),
           rng.standard_normal(H))
    x, h0 = rng.standard_normal((N, T, E)), rng.standard_normal((N, H))
    with pytest.raises(ValueError, match=r"h0 must have shape \(N, H\) = \(2, 3\)"):
        attention_decoder_forward(x, h0[:1], h0, h_enc, mask, p["Wx"], p["Wh"], p["b"],
                                  *att)
    with pytest.raises(ValueError, match=r"C0 must have shape \(N, H\) = \(2, 3\)"):
        attention_decoder_forward(x, h0, h0[:, :2], h_enc, mask, p["Wx"], p["Wh"],
                                  p["b"], *att)
    with pytest.raises(ValueError, match="at least one time step"):
        attention_decoder_forward(x[:, :0], h0, h0, h_enc, mask, p["Wx"], p["Wh"],
                                  p["b"], *att)


# --- models ---

@pytest.mark.parametrize("cls", [Seq2Seq, AttentionSeq2Seq])
def test_model_gradient_check(cls):
    rng = np.random.default_rng(0)
    model = cls(2, 3, rng)
    for name in ("enc_b", "dec_b", "b_y"):
        model.params[name] += 0.3 * rng.standard_normal(model.params[name].shape)
    src, tgt = reversal_task(3, rng, 2, 3)
    opt = Adam(model.params, lr=0.05)
    for _ in range(30):       # away from initialisation, where some gradients are ~1e-5
        opt.step(model.loss_and_grads(src, tgt)[1])
    loss, grads = model.loss_and_grads(src, tgt)
    assert set(grads) == set(model.params)
    _check(lambda: model.loss_and_grads(src, tgt)[0], model.params, grads, h=3e-5)


@pytest.mark.parametrize("cls", [Seq2Seq, AttentionSeq2Seq])
def test_model_float32_and_translate(cls):
    model = cls(4, 5, np.random.default_rng(0), dtype=np.float32)
    src, tgt = reversal_task(6, np.random.default_rng(1), 3, 6)
    loss, grads = model.loss_and_grads(src, tgt)
    assert np.isfinite(loss) and all(g.dtype == np.float32 for g in grads.values())
    pred, alphas = model.translate(src, max_len=9)
    assert pred.shape == (6, 9)
    for row in pred:          # <pad> only after an <end>
        ends = np.flatnonzero(row == END)
        after = row[ends[0] + 1:] if ends.size else row[:0]
        assert np.all(after == PAD)
        assert not np.any(row[:ends[0] if ends.size else len(row)] == PAD)
    assert (alphas is None) == (cls is Seq2Seq)


def test_model_rejects_bad_batches():
    model = Seq2Seq(4, 5, np.random.default_rng(0))
    src, tgt = reversal_task(3, np.random.default_rng(1), 3, 4)
    with pytest.raises(ValueError, match="one target per source"):
        model.loss_and_grads(src, tgt[:2])
    with pytest.raises(ValueError, match="token ids in"):
        model.loss_and_grads(src, tgt + V)
    with pytest.raises(ValueError, match="right-padded"):
        model.loss_and_grads(np.array([[4, PAD, 5]] * 3), tgt)


@pytest.mark.parametrize("max_len", [0, -1, 2.5, True])
def test_translate_rejects_bad_max_len(max_len):
    model = Seq2Seq(4, 5, np.random.default_rng(0))
    src, _ = reversal_task(2, np.random.default_rng(1), 3, 4)
    with pytest.raises(ValueError, match=r"max_len must be a positive int.*got"):
        model.translate(src, max_len=max_len)


# --- task helpers ---

def test_reversal_task_and_helpers():
    rng = np.random.default_rng(4)
    src, tgt = reversal_task(50, rng, 3, 7)
    assert src.shape == (50, 7) and tgt.shape == (50, 8)
    lengths = source_lengths(src)
    assert lengths.min() >= 3 and lengths.max() <= 7
    for s, t, L in zip(src, tgt, lengths):
        assert as_text(t) == as_text(s)[::-1] + "<end>" and len(as_text(s)) == L
    assert exact_match(tgt, tgt).all() and exact_match(tgt[:, :7 + 1], np.pad(tgt, (
        (0, 0), (0, 2)))).all()
    wrong = tgt.copy()
    wrong[0, 0] = START
    assert not exact_match(wrong, tgt)[0] and exact_match(wrong, tgt)[1:].all()
    held = digits_of(src)
    again, _ = reversal_task(300, np.random.default_rng(5), 3, 4, exclude=held)
    assert not digits_of(again) & held


@pytest.mark.parametrize("args, words", [
    ((0, 3, 5), "n must be a positive int"),
    ((5, 0, 5), "min_len must be a positive int"),
    ((5, 6, 5), "min_len must be <= max_len"),
])
def test_reversal_task_rejects_bad_arguments(args, words):
    n, lo, hi = args
    with pytest.raises(ValueError) as info:
        reversal_task(n, np.random.default_rng(0), lo, hi)
    assert words in str(info.value)
    with pytest.raises(TypeError, match="Generator"):
        reversal_task(2, 0, 3, 4)


def test_source_lengths_rejects_bad_padding():
    with pytest.raises(ValueError, match="right-padded"):
        source_lengths(np.array([[4, 0, 5]]))
    with pytest.raises(ValueError, match="at least one token"):
        source_lengths(np.array([[0, 0, 0]]))
    with pytest.raises(ValueError, match="token ids in"):
        check_tokens(np.array([[99]]), "src", V)


# --- the committed experiment ---

@pytest.fixture(scope="module")
def script(experiment_script):
    return experiment_script("seq2seq")


@pytest.fixture(scope="module")
def results():
    return load_results("seq2seq")


def test_results_file_records_how_it_was_made(script, results):
    assert_provenance(results, "seq2seq")
    assert results["hp"] == script.HP and results["seeds"] == list(script.SEEDS)
    assert results["loss_check_step"] == script.LOSS_CHECK_STEP
    for name in script.MODELS:
        assert [r["seed"] for r in results["runs"][name]] == list(script.SEEDS)
    assert (ROOT / "experiments" / "seq2seq.npz").stat().st_size < 1_000_000


def test_first_steps_of_seed_0_reproduce_the_recorded_loss(script, results):
    # the attention model (the chapter re-runs both models)
    _, losses = script.run("attention", 0, steps=script.LOSS_CHECK_STEP)
    recorded = results["runs"]["attention"][0]["loss_at_check_step"]
    assert abs(losses[-1] - recorded) < 1e-6


def test_stored_parameters_reproduce_the_recorded_accuracies(script, results):
    stored = np.load(ROOT / "experiments" / "seq2seq.npz")
    for name, cls in script.MODELS.items():
        recorded = results["runs"][name][0]
        model = cls(script.HP["E"], script.HP["H"], np.random.default_rng(0))
        for key in model.params:
            model.params[key] = stored[f"{name}/{key}"]
        live = script.evaluate(model)
        assert live == {k: recorded[k] for k in live}
