"""Tests of lstm_lit.ablation (chapter 18: which parts of the LSTM matter) and of
experiments/ablation.json.

The switchable cell itself lives in lstm_lit.variants, whose tests
(tests/test_variants.py, the lead's) gradient-check every named variant and every
switch alone. Here: that V and seven of Greff et al.'s variants are what the chapter
says, the continual task's generator and its errors, the recipe's helpers, and the
committed results file, with one of its runs repeated live.
"""
import dataclasses

import numpy as np
import pytest

from lstm_lit.ablation import (ABLATION_HP, ABLATION_INTERVALS, ABLATION_SEEDS,
                               ABLATION_TASKS, ABLATION_VARIANTS, ablation_batch,
                               ablation_run, ablation_score, ablation_seeds,
                               latest_value_task)
from lstm_lit.variants import VARIANTS
from experiment_files import assert_provenance, load_results


# The run that the chapter and this file repeat live (it stops early, so it is short).
LIVE = ("interval", "NP", 0)


# --- the eight cells ---

@pytest.mark.parametrize("name, switch", [("NIG", "input_gate"), ("NFG", "forget_gate"),
                                          ("NOG", "output_gate"),
                                          ("NIAF", "input_activation"),
                                          ("NOAF", "output_activation"),
                                          ("NP", "peepholes"), ("CIFG", "coupled")])
def test_each_greff_cell_changes_one_switch_of_v(name, switch):
    V, cell = VARIANTS["V"], VARIANTS[name]
    assert V.peepholes
    changed = [f.name for f in dataclasses.fields(V)
               if getattr(V, f.name) != getattr(cell, f.name)]
    assert changed == [switch]


def test_the_ablation_covers_v_and_seven_variants():
    assert ABLATION_VARIANTS[0] == "V" and len(set(ABLATION_VARIANTS)) == 8
    assert all(name in VARIANTS for name in ABLATION_VARIANTS)


# --- the continual task ---

@pytest.mark.parametrize("T, marks", [(40, (2, 5)), (3, (1, 2)), (10, (9, 9)),
                                      (7, (1, 1))])
def test_latest_value_task_targets_the_last_mark(T, marks):
    x, y = latest_value_task(2000, T, np.random.default_rng(0), marks=marks)
    assert x.shape == (2000, T, 2) and y.shape == (2000, 1) and x.dtype == np.float64
    markers = x[..., 1]
    assert set(np.unique(markers)) <= {0.0, 1.0} and np.all(markers[:, -1] == 0)
    counts = markers.sum(axis=1)
    assert set(counts) == set(range(marks[0], marks[1] + 1))     # every count occurs
    last = np.array([np.flatnonzero(row)[-1] for row in markers])
    assert np.array_equal(y[:, 0], x[np.arange(2000), last, 0])
    assert x[..., 0].min() >= 0.0 and x[..., 0].max() <= 1.0


def test_latest_value_task_marks_every_position_and_is_deterministic():
    x, _ = latest_value_task(3000, 20, np.random.default_rng(1))
    assert np.all(x[:, :-1, 1].sum(axis=0) > 0)                  # each of steps 0..T-2
    a = latest_value_task(5, 20, np.random.default_rng(2), dtype=np.float32)
    b = latest_value_task(5, 20, np.random.default_rng(2), dtype=np.float32)
    assert a[0].dtype == a[1].dtype == np.float32
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


@pytest.mark.parametrize("kwargs, error, match", [
    ({"n": 0}, ValueError, "n must be at least 1"),
    ({"n": 2.0}, TypeError, "n must be an int"),
    ({"T": "40"}, TypeError, "T must be an int"),
    ({"T": 5}, ValueError, r"T must be at least hi \+ 1 = 6"),
    ({"rng": 0}, TypeError, "rng must be a numpy.random.Generator"),
    ({"marks": 3}, TypeError, r"marks must be a pair \(lo, hi\)"),
    ({"marks": (1, 2, 3)}, TypeError, r"marks must be a pair \(lo, hi\)"),
    ({"marks": (1.0, 2)}, TypeError, "marks must hold ints"),
    ({"marks": (True, 2)}, TypeError, "marks must hold ints"),
    ({"marks": (0, 2)}, ValueError, "1 <= lo <= hi"),
    ({"marks": (3, 2)}, ValueError, "1 <= lo <= hi"),
    ({"dtype": np.int64}, TypeError, "dtype must be float32 or float64"),
])
def test_latest_value_task_errors(kwargs, error, match):
    args = {"n": 4, "T": 40, "rng": np.random.default_rng(0)} | kwargs
    with pytest.raises(error, match=match):
        latest_value_task(**args)


# --- the recipe's helpers ---

def test_batches_of_every_task():
    T = ABLATION_HP["T"]
    for task, (_, D, O, kind) in ABLATION_TASKS.items():
        x, y = ablation_batch(task, 3, np.random.default_rng(0))
        assert x.shape == (3, T, D) and x.dtype == np.float64
        assert y.shape == ((3, 1) if kind == "regression" else (3,))
    _, y = ablation_batch("interval", 500, np.random.default_rng(0))
    assert set(y) == set(range(len(ABLATION_INTERVALS)))
    with pytest.raises(ValueError, match="task must be one of"):
        ablation_batch("order", 3, np.random.default_rng(0))


def test_seeds_share_data_within_a_task_and_differ_between_tasks():
    all_seeds = [ablation_seeds(t, s) for t in ABLATION_TASKS for s in ABLATION_SEEDS]
    assert len({s[:2] for s in all_seeds}) == len(all_seeds)       # weights, batches
    for task in ABLATION_TASKS:
        assert len({ablation_seeds(task, s)[2:] for s in ABLATION_SEEDS}) == 1
    with pytest.raises(ValueError, match="task must be one of"):
        ablation_seeds("nope", 0)
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="seed must be an int >= 0"):
            ablation_seeds("adding", bad)


class _Constant:
    """A stand-in model whose predictions are fixed."""

    def __init__(self, out):
        self.out = out

    def predict(self, x):
        return self.out


def test_scores():
    y = np.array([[0.5], [0.2], [0.9]])
    pred = _Constant(np.array([[0.53], [0.25], [0.1]]))
    assert ablation_score("adding", pred, None, y) == pytest.approx(1 / 3)
    labels = np.array([0, 2, 2, 1])
    pred = _Constant(np.array([0, 2, 1, 1]))
    assert ablation_score("interval", pred, None, labels) == 0.75


def test_ablation_run_rejects_unknown_names_before_training():
    with pytest.raises(ValueError, match="task must be one of"):
        ablation_run("order", "V", 0)
    with pytest.raises(ValueError, match="variant must be a CellVariant or one of"):
        ablation_run("adding", "FGR", 0)


def test_a_run_that_diverges_is_recorded_as_a_failure():
    hp = {**ABLATION_HP, "lr": 1e300, "max_steps": 3, "check_every": 1}
    run = ablation_run("adding", "V", 0, hp)
    assert run["diverged"].startswith("training diverged at step")
    assert run["test"] == 0.0 and run["stop_step"] is None and run["steps"] is None


# --- the committed results ---

@pytest.fixture(scope="module")
def results():
    return load_results("ablation")


def test_results_file_records_how_it_was_made(results):
    assert_provenance(results, "ablation", ("python", "numpy", "blas", "git_commit"))
    assert results["complete"] is True
    assert results["environment"]["uncommitted_changes"] == []
    assert results["hp"] == ABLATION_HP
    assert results["variants"] == list(ABLATION_VARIANTS)
    assert results["tasks"] == {k: list(v) for k, v in ABLATION_TASKS.items()}
    assert results["intervals"] == list(ABLATION_INTERVALS)
    assert results["seeds"] == list(ABLATION_SEEDS)


def test_results_file_is_complete_and_consistent(results):
    runs = results["runs"]
    keys = [(r["task"], r["variant"], r["seed"]) for r in runs]
    assert sorted(keys) == sorted((t, v, s) for t in ABLATION_TASKS
                                  for v in ABLATION_VARIANTS for s in ABLATION_SEEDS)
    hp = ABLATION_HP
    for r in runs:
        assert 0.0 <= r["test"] <= 1.0
        if r["diverged"] is not None:
            assert r["test"] == 0.0 and r["steps"] is None and r["stop_step"] is None
            continue
        assert r["steps"] <= hp["max_steps"]
        assert len(r["val"]) == -(-r["steps"] // hp["check_every"])
        if r["stop_step"] is None:
            assert r["steps"] == hp["max_steps"] and max(r["val"]) < hp["stop_at"]
        else:
            assert r["stop_step"] == r["steps"] and r["val"][-1] >= hp["stop_at"]
            assert max(r["val"][:-1], default=0.0) < hp["stop_at"]


def test_the_live_run_reproduces_the_stored_one(results):
    # On the machine that wrote the file the run is identical; another CPU's kernels may
    # round differently and stop at a neighbouring check, so compare with margins.
    task, variant, seed = LIVE
    stored = next(r for r in results["runs"]
                  if (r["task"], r["variant"], r["seed"]) == LIVE)
    live = ablation_run(task, variant, seed)
    assert live["params"] == stored["params"]
    assert stored["stop_step"] is not None and live["stop_step"] is not None
    margin = 2 * ABLATION_HP["check_every"]
    assert abs(live["stop_step"] - stored["stop_step"]) <= margin
    assert abs(live["test"] - stored["test"]) <= 0.03
