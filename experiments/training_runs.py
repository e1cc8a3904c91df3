"""Training runs behind the numbers that chapter 12 (notebooks/12_training.ipynb) quotes from a file.

Usage, from the repository root:

    .venv/bin/python experiments/training_runs.py            # writes experiments/training_results.json

Every run is deterministic on a given machine: weights, batches, validation and test sets come from
np.random.default_rng with the seeds below. Float32 training amplifies last-bit differences between
BLAS kernels (another CPU), so the exact step at which a run stops can differ on another machine; the
chapter and tests/test_experiments.py re-run seed 0 live and check it against this file with margins.

What it runs (a few minutes on one core; the results file records the time it took):
- "adding":   the chapter's adding-problem recipe (T = 100, forget bias 5, input bias -3), seeds 0-4;
- "biases":   the same recipe for forget bias in {1, 5} x input bias in {0, -3}, seeds 0-2;
- "order":    the temporal-order recipe, learning rates 0.01 and 0.005, seeds 0-5 each;
- "protocol": chapter 5's ADDING_PROTOCOL (T = 20, 50, 100, H = 16, batch 128, 600 Adam steps at
              lr 0.02, float64) for the vanilla RNN, the LSTM with the library's default biases
              (forget 1, input 0), and the LSTM with forget bias 5 and input bias -3.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices: one thread is fastest

import contextlib
import io
import json
import sys
import time
from pathlib import Path

import numpy as np

from lstm_lit.gradients import ADDING_PROTOCOL, clip_grad_norm
from lstm_lit.learning import Adam, affine_backward, mse_loss
from lstm_lit.lstm import init_lstm, lstm_forward
from lstm_lit.lstm_backward import lstm_backward
from lstm_lit.neurons import affine_forward
from lstm_lit.rnn import init_rnn, rnn_backward, rnn_forward
from lstm_lit.tasks import adding_problem, adding_solved, temporal_order
from lstm_lit.training import LSTMModel, train

sys.path.insert(0, str(Path(__file__).resolve().parent))  # experiments/, run or loaded
from _provenance import environment  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "experiments" / "training_results.json"

# The chapter's recipes (the notebook asserts that its HP equals ADDING_HP).
ADDING_HP = {"T": 100, "H": 32, "batch_size": 32, "lr": 0.01, "max_norm": 1.0,
             "max_steps": 600, "forget_bias": 5.0, "input_bias": -3.0, "dtype": "float32",
             "check_every": 50, "stop_at": 0.99}
ORDER_HP = {**ADDING_HP, "check_every": 25}
ADDING_SEEDS = (0, 1, 2, 3, 4)
BIAS_GRID = {"forget_bias": (1.0, 5.0), "input_bias": (0.0, -3.0), "seeds": (0, 1, 2)}
ORDER_SEEDS = {0.01: (0, 1, 2, 3, 4, 5), 0.005: (0, 1, 2, 3, 4, 5)}


def seeds_for(seed, base):
    """Seeds of (weights, training batches, validation set, test set) for run ``seed``.

    base 0: adding problem (seed 0 -> 0, 1, 2, 3, the notebook's run); base 10: temporal order
    (seed 0 -> 10, 11, 12, 13). The validation and test sets are the same for every seed.
    """
    return 10 * seed + base, 10 * seed + base + 1, base + 2, base + 3


def run_recipe(task, seed, hp, *, forget_bias=None, input_bias=None):
    """Train the chapter's LSTM on "adding" or "order" with early stopping; return a summary dict.

    The keys: seed, forget_bias, input_bias, lr, stop_step (None if the run never reached the
    validation threshold), steps (taken), val (the monitored validation score at each check),
    test (solved fraction or accuracy on the test set at the end).
    """
    forget_bias = hp["forget_bias"] if forget_bias is None else forget_bias
    input_bias = hp["input_bias"] if input_bias is None else input_bias
    T, H, N, dtype = hp["T"], hp["H"], hp["batch_size"], np.dtype(hp["dtype"])
    w_seed, data_seed, val_seed, test_seed = seeds_for(seed, 0 if task == "adding" else 10)
    make = adding_problem if task == "adding" else temporal_order
    data_rng = np.random.default_rng(data_seed)
    x_val, y_val = make(500, T, np.random.default_rng(val_seed), dtype)
    x_test, y_test = make(1000, T, np.random.default_rng(test_seed), dtype)
    if task == "adding":
        model = LSTMModel(2, H, 1, np.random.default_rng(w_seed), dtype=dtype,
                          forget_bias=forget_bias, input_bias=input_bias)

        def score(x, y):
            return float(np.mean(adding_solved(model.predict(x), y)))
    else:
        model = LSTMModel(8, H, 4, np.random.default_rng(w_seed), kind="classification",
                          dtype=dtype, forget_bias=forget_bias, input_bias=input_bias)

        def score(x, y):
            return float(np.mean(model.predict(x) == y))

    with contextlib.redirect_stdout(io.StringIO()):
        hist = train(model, lambda step: make(N, T, data_rng, dtype), hp["max_steps"],
                     lr=hp["lr"], max_norm=hp["max_norm"], log_every=hp["check_every"],
                     monitor=lambda m: {"score": score(x_val, y_val)},
                     stop_at=("score", hp["stop_at"]))
    val = [m["score"] for _, m in hist["monitor"]]
    steps = len(hist["loss"])
    return {"seed": seed, "forget_bias": forget_bias, "input_bias": input_bias, "lr": hp["lr"],
            "stop_step": steps if val and val[-1] >= hp["stop_at"] else None, "steps": steps,
            "val": val, "test": score(x_test, y_test)}


def run_protocol(T, cell, *, forget_bias=1.0, input_bias=0.0, protocol=ADDING_PROTOCOL):
    """Chapter 5's adding-problem experiment at length T, for cell "rnn" or "lstm".

    The loop is chapter 5's train_rnn_adding line for line (same seeds, order of random draws,
    read-out, optimiser, clipping, float64); the LSTM replaces init_rnn/rnn_forward/rnn_backward
    by init_lstm/lstm_forward/lstm_backward with the given initial biases. Returns the solved
    fractions of the model and of the constant 0.5 and their test MSEs, on chapter 5's test set.
    """
    P = protocol
    rng = np.random.default_rng(P["train_seed"])
    H, N = P["hidden_size"], P["batch_size"]
    if cell == "rnn":
        params = init_rnn(2, H, rng)
    else:
        params = init_lstm(2, H, rng, forget_bias=forget_bias, input_bias=input_bias)
    params["W_out"] = rng.standard_normal((H, 1)) / np.sqrt(H)
    params["b_out"] = np.zeros(1)
    opt = Adam(params, lr=P["learning_rate"])
    h0 = np.zeros((N, H))

    def encode(x, h0):
        if cell == "rnn":
            return rnn_forward(x, h0, params["Wx"], params["Wh"], params["b"])
        h, _, cache = lstm_forward(x, h0, np.zeros_like(h0), params["Wx"], params["Wh"],
                                   params["b"])
        return h, cache

    for step in range(P["steps"]):
        x, y = adding_problem(N, T, rng)
        h, cache = encode(x, h0)
        pred, out_cache = affine_forward(h[:, -1], params["W_out"], params["b_out"])
        loss, dpred = mse_loss(pred, y)
        dh_T, dW_out, db_out = affine_backward(dpred, out_cache)
        dh = np.zeros_like(h)
        dh[:, -1] = dh_T
        if cell == "rnn":
            _, _, dWx, dWh, db = rnn_backward(dh, cache)
        else:
            _, _, _, dWx, dWh, db = lstm_backward(dh, cache)
        grads = {"Wx": dWx, "Wh": dWh, "b": db, "W_out": dW_out, "b_out": db_out}
        clip_grad_norm(grads, P["clip_norm"])
        opt.step(grads)
    x, y = adding_problem(P["test_size"], T, np.random.default_rng(P["test_seed"] + T))
    h, _ = encode(x, np.zeros((len(x), H)))
    pred = affine_forward(h[:, -1], params["W_out"], params["b_out"])[0]
    solved = float(adding_solved(pred, y, tol=P["tol"]).mean())
    base = float(adding_solved(np.full_like(y, 0.5), y, tol=P["tol"]).mean())
    return {"T": T, "solved": solved, "baseline_solved": base,
            "learned": solved >= base + P["margin"],
            "mse": float(np.mean((pred - y) ** 2)), "baseline_mse": float(np.mean((0.5 - y) ** 2))}


PROTOCOL_MODELS = {"rnn": {"cell": "rnn"},
                   "lstm_default_biases": {"cell": "lstm", "forget_bias": 1.0, "input_bias": 0.0},
                   "lstm_biases_5_-3": {"cell": "lstm", "forget_bias": 5.0, "input_bias": -3.0}}


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def main():
    start = time.perf_counter()
    results = {"command": "python experiments/training_runs.py",
               "adding_hp": ADDING_HP, "order_hp": ORDER_HP}
    results["adding"] = []
    for seed in ADDING_SEEDS:
        results["adding"].append(run_recipe("adding", seed, ADDING_HP))
        log("adding", results["adding"][-1])
    results["biases"] = []
    for b_f in BIAS_GRID["forget_bias"]:
        for b_i in BIAS_GRID["input_bias"]:
            for seed in BIAS_GRID["seeds"]:
                if (b_f, b_i) == (ADDING_HP["forget_bias"], ADDING_HP["input_bias"]):
                    run = results["adding"][ADDING_SEEDS.index(seed)]   # already trained
                else:
                    run = run_recipe("adding", seed, ADDING_HP, forget_bias=b_f, input_bias=b_i)
                results["biases"].append(run)
                log("biases", run)
    results["order"] = []
    for lr, seeds in ORDER_SEEDS.items():
        for seed in seeds:
            results["order"].append(run_recipe("order", seed, {**ORDER_HP, "lr": lr}))
            log("order", results["order"][-1])
    results["protocol"] = {name: [] for name in PROTOCOL_MODELS}
    for name, spec in PROTOCOL_MODELS.items():
        for T in ADDING_PROTOCOL["lengths"]:
            results["protocol"][name].append(run_protocol(T, **spec))
            log("protocol", name, results["protocol"][name][-1])
    results["environment"] = environment(["lstm_lit", "experiments/training_runs.py"])
    results["seconds"] = round(time.perf_counter() - start, 1)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    log(f"wrote {RESULTS.relative_to(ROOT)} in {results['seconds']} s")


if __name__ == "__main__":
    main()
