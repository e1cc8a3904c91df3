"""Checks of experiments/training_results.json, the committed results that chapter 12 quotes.

The file is written by experiments/training_runs.py. These tests check that it is complete, that
it was made with the recipes the script defines, and re-run two of its runs live (seed 0 of the
chapter's adding-problem recipe, and the LSTM under chapter 5's protocol at T = 20), comparing
outcomes with margins: float32 training on another CPU's BLAS kernels may stop at another check.
"""

import pytest

from experiment_files import assert_provenance, load_results


@pytest.fixture(scope="module")
def script(experiment_script):
    return experiment_script("training_runs")


@pytest.fixture(scope="module")
def results():
    return load_results("training_results")


def test_results_file_records_how_it_was_made(script, results):
    assert_provenance(results, "training_runs", ("python", "numpy", "blas", "git_commit"))
    assert results["adding_hp"] == script.ADDING_HP
    assert results["order_hp"] == script.ORDER_HP


def test_results_file_is_complete(script, results):
    assert [r["seed"] for r in results["adding"]] == list(script.ADDING_SEEDS)
    grid = {(r["forget_bias"], r["input_bias"], r["seed"]) for r in results["biases"]}
    assert grid == {(f, i, s) for f in script.BIAS_GRID["forget_bias"]
                    for i in script.BIAS_GRID["input_bias"] for s in script.BIAS_GRID["seeds"]}
    order = {(r["lr"], r["seed"]) for r in results["order"]}
    assert order == {(lr, s) for lr, seeds in script.ORDER_SEEDS.items() for s in seeds}
    for name in script.PROTOCOL_MODELS:
        assert [r["T"] for r in results["protocol"][name]] == [20, 50, 100]


def test_the_claims_chapter_12_makes_from_the_file(results):
    assert all(r["stop_step"] is not None and r["test"] >= 0.95 for r in results["adding"])
    for r in results["biases"]:
        solved = r["stop_step"] is not None
        assert solved == ((r["forget_bias"], r["input_bias"]) == (5.0, -3.0))
    assert all(r["stop_step"] is not None and r["test"] >= 0.95 for r in results["order"])
    learned = {k: [r["learned"] for r in v] for k, v in results["protocol"].items()}
    assert learned == {"rnn": [True, False, False],
                       "lstm_default_biases": [True, False, False],
                       "lstm_biases_5_-3": [True, True, True]}


def test_seed_0_of_the_adding_recipe_reruns_as_recorded(script, results):
    # On the machine that wrote the file the run is identical; on another CPU float32
    # rounding may send it along another path, so compare outcomes, not steps.
    live = script.run_recipe("adding", 0, script.ADDING_HP)
    recorded = [r["test"] for r in results["adding"]]
    assert live["stop_step"] is not None and live["test"] >= 0.95
    assert live["test"] >= min(recorded) - 0.03


def test_protocol_lstm_at_T20_reruns_as_recorded(script, results):
    live = script.run_protocol(20, "lstm", forget_bias=1.0, input_bias=0.0)
    recorded = results["protocol"]["lstm_default_biases"][0]
    assert live["baseline_solved"] == recorded["baseline_solved"]     # the same test set
    assert live["learned"] == recorded["learned"]
    assert abs(live["solved"] - recorded["solved"]) <= 0.05
