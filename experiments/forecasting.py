"""The LSTM runs behind the tables of chapter 29 (notebooks/29_forecasting.ipynb).

Usage, from the repository root:

    .venv/bin/python experiments/forecasting.py      # writes experiments/forecasting.json

Deterministic: the data are files of installed packages (vega_datasets, matplotlib), the weights and
batches come from np.random.default_rng(seed) and default_rng(seed + 1000). Float64 training on
another CPU's BLAS kernels can end a few last bits away, so the chapter and
tests/test_forecasting.py re-run seed 0 and compare with margins.

What it runs (well under a minute of one core; the file records the time):
- "weather": daily maximum temperature in Seattle (seattle-weather.csv), 28-day windows, horizons
  1..7; an LSTM (H = 16) trained one step ahead (recursive forecasts) and one trained on all seven
  horizons at once (direct), seeds 0-4, plus the baselines' errors for reference;
- "stock": daily adjusted closing prices of Google (goog.npz), 20-day windows, one step ahead;
  an LSTM (H = 16), seeds 0-4, and the baselines.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices: one thread is fastest

import json
import sys
import time
from pathlib import Path

import numpy as np

from lstm_lit.forecasting import (Scaler, fit_linear_ar, forecast_errors, load_goog_daily,
                                  load_seattle_weather, make_windows, naive_scale,
                                  persistence_forecast, recursive_forecast,
                                  seasonal_naive_forecast, time_split,
                                  train_lstm_forecaster)

sys.path.insert(0, str(Path(__file__).resolve().parent))  # experiments/, run or loaded
from _provenance import environment  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "experiments" / "forecasting.json"

WEATHER = {"column": "temp_max", "window": 28, "horizon": 7, "period": 365,
           "fractions": [0.7, 0.15, 0.15]}
STOCK = {"window": 20, "horizon": 1, "fractions": [0.7, 0.15, 0.15]}
LSTM = {"H": 16, "steps": 600, "batch_size": 32, "lr": 0.01}
SEEDS = (0, 1, 2, 3, 4)


def weather_problem():
    """Training windows (scaled) and test windows (degrees C) of the weather task.

    The test windows are every window whose first target lies in the test part; their
    inputs reach back P = 365 days (into the validation and training parts) so that the
    seasonal naive forecast can look one year back. Models read the last 28 days.
    """
    _, values, _ = load_seattle_weather()
    y = values[WEATHER["column"]]
    train, val, test = time_split(y, tuple(WEATHER["fractions"]))
    L, F, P = WEATHER["window"], WEATHER["horizon"], WEATHER["period"]
    scaler = Scaler(train)
    X_train, Y_train = make_windows(scaler.transform(train), L, F)
    X_all, Y_all = make_windows(y, P, F)
    first_target = np.arange(len(X_all)) + P
    keep = first_target >= len(train) + len(val)
    return {"scaler": scaler, "scale": naive_scale(train), "X_train": X_train,
            "Y_train": Y_train, "X_test_long": X_all[keep], "Y_test": Y_all[keep],
            "Z_test": scaler.transform(X_all[keep][:, -L:])}


def stock_problem():
    """Training windows (scaled) and test windows (dollars) of the stock task."""
    _, prices = load_goog_daily()
    train, val, test = time_split(prices, tuple(STOCK["fractions"]))
    L, F = STOCK["window"], STOCK["horizon"]
    scaler = Scaler(train)
    X_train, Y_train = make_windows(scaler.transform(train), L, F)
    X_all, Y_all = make_windows(prices, L, F)
    keep = np.arange(len(X_all)) + L >= len(train) + len(val)
    return {"scaler": scaler, "scale": naive_scale(train), "X_train": X_train,
            "Y_train": Y_train, "X_test": X_all[keep], "Y_test": Y_all[keep],
            "Z_test": scaler.transform(X_all[keep])}


def as_lists(errors):
    return {k: [round(float(v), 6) for v in vals] for k, vals in errors.items()}


def weather_baselines(p):
    """Errors (per horizon) of persistence, seasonal naive and both linear ARs."""
    F, sc, Z = WEATHER["horizon"], p["scaler"], p["Z_test"]
    X_long, Y, s = p["X_test_long"], p["Y_test"], p["scale"]
    W, b = fit_linear_ar(p["X_train"], p["Y_train"])
    W1, b1 = fit_linear_ar(p["X_train"], p["Y_train"][:, :1])
    forecasts = {
        "persistence": persistence_forecast(X_long, F),
        "seasonal_naive": seasonal_naive_forecast(X_long, F, WEATHER["period"]),
        "ar_recursive": sc.inverse(recursive_forecast(lambda w: w @ W1 + b1, Z, F)),
        "ar_direct": sc.inverse(Z @ W + b)}
    return {k: as_lists(forecast_errors(Y, P, s)) for k, P in forecasts.items()}


def weather_lstm(p, strategy, seed):
    """Train one LSTM ("recursive": one step ahead, fed back; "direct": all horizons)."""
    F, sc, Z = WEATHER["horizon"], p["scaler"], p["Z_test"]
    Y_train = p["Y_train"][:, :1] if strategy == "recursive" else p["Y_train"]
    model, _ = train_lstm_forecaster(p["X_train"], Y_train, seed=seed, **LSTM)
    if strategy == "recursive":
        Z_pred = recursive_forecast(lambda w: model.predict(w[:, :, None]), Z, F)
    else:
        Z_pred = model.predict(Z[:, :, None])
    return as_lists(forecast_errors(p["Y_test"], sc.inverse(Z_pred), p["scale"]))


def stock_baselines(p):
    W, b = fit_linear_ar(p["X_train"], p["Y_train"])
    forecasts = {"persistence": persistence_forecast(p["X_test"], 1),
                 "ar": p["scaler"].inverse(p["Z_test"] @ W + b)}
    return {k: as_lists(forecast_errors(p["Y_test"], P, p["scale"]))
            for k, P in forecasts.items()}


def stock_lstm(p, seed):
    model, _ = train_lstm_forecaster(p["X_train"], p["Y_train"], seed=seed, **LSTM)
    pred = p["scaler"].inverse(model.predict(p["Z_test"][:, :, None]))
    return as_lists(forecast_errors(p["Y_test"], pred, p["scale"]))


def main():
    start = time.perf_counter()
    results = {"command": "python experiments/forecasting.py", "weather_setup": WEATHER,
               "stock_setup": STOCK, "lstm": LSTM, "seeds": list(SEEDS)}
    p = weather_problem()
    results["weather"] = {"n_test": int(len(p["Y_test"])), "scale": p["scale"],
                          "baselines": weather_baselines(p), "lstm": {}}
    for strategy in ("recursive", "direct"):
        runs = []
        for seed in SEEDS:
            runs.append(weather_lstm(p, strategy, seed))
            print("weather", strategy, seed, runs[-1]["mae"][0], file=sys.stderr)
        results["weather"]["lstm"][strategy] = runs
    q = stock_problem()
    results["stock"] = {"n_test": int(len(q["Y_test"])), "scale": q["scale"],
                        "baselines": stock_baselines(q), "lstm": []}
    for seed in SEEDS:
        results["stock"]["lstm"].append(stock_lstm(q, seed))
        print("stock", seed, results["stock"]["lstm"][-1]["mae"][0], file=sys.stderr)
    results["seconds"] = round(time.perf_counter() - start, 1)
    results["environment"] = environment(["lstm_lit/forecasting.py", "experiments/forecasting.py"],
                                         blas=False,
                                         variables=("OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE"))
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {RESULTS} in {results['seconds']} s")


if __name__ == "__main__":
    main()
