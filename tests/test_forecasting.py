"""Tests of lstm_lit.forecasting (notebooks/29_forecasting.ipynb) and of the committed results
experiments/forecasting.json."""

import numpy as np
import pytest

from lstm_lit import forecasting as fc
from experiment_files import assert_provenance, load_results


# ---------------------------------------------------------------- data files
def test_data_file_finds_the_shipped_files():
    assert fc.data_file("vega_datasets", "_data", "seattle-weather.csv").is_file()
    assert fc.data_file("matplotlib", "mpl-data", "sample_data", "goog.npz").is_file()


def test_data_file_rejects_an_unknown_package():
    with pytest.raises(ValueError, match="package must be one of"):
        fc.data_file("pandas", "x.csv")


def test_data_file_says_how_to_install_a_missing_package(monkeypatch):
    monkeypatch.setattr(fc.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install --no-deps vega_datasets==0.9.0"):
        fc.data_file("vega_datasets", "_data", "seattle-weather.csv")


def test_data_file_reports_a_missing_file():
    with pytest.raises(FileNotFoundError, match="no-such.csv"):
        fc.data_file("vega_datasets", "_data", "no-such.csv")


def test_loaders():
    dates, values, labels = fc.load_seattle_weather()
    assert len(dates) == 1461 and set(values) == {"precipitation", "temp_max", "temp_min", "wind"}
    assert set(labels) == {"drizzle", "fog", "rain", "snow", "sun"}
    assert np.all(values["temp_max"] >= values["temp_min"])
    times, temps = fc.load_hourly_temperatures("sf")
    assert len(times) == len(temps) > 8000 and np.all(np.diff(times).astype(int) > 0)
    d, p = fc.load_goog_daily()
    assert len(d) == len(p) == 1047 and p.dtype == np.float64
    d, p = fc.load_stock_prices("^GSPC")
    assert len(d) == len(p) > 300 and np.all(p > 0)


def test_loaders_reject_unknown_names():
    with pytest.raises(ValueError, match="symbol must be one of"):
        fc.load_stock_prices("TSLA")
    with pytest.raises(ValueError, match="city must be"):
        fc.load_hourly_temperatures("paris")


# ---------------------------------------------------------------- split, scale, windows
def test_time_split_keeps_order():
    s = np.arange(100.0)
    a, b, c = fc.time_split(s)
    assert (len(a), len(b), len(c)) == (70, 15, 15)
    assert np.array_equal(np.concatenate([a, b, c]), s)


def test_time_split_errors():
    with pytest.raises(ValueError, match="summing to 1"):
        fc.time_split(np.arange(100.0), (0.5, 0.2, 0.2))
    with pytest.raises(ValueError, match="too short"):
        fc.time_split(np.arange(5.0))
    with pytest.raises(TypeError, match="float32 or float64"):
        fc.time_split(np.arange(100))


def test_scaler_uses_the_training_part_and_inverts():
    train = np.array([1.0, 2.0, 3.0, 4.0])
    s = fc.Scaler(train)
    z = s.transform(np.array([10.0, -1.0]))
    assert np.allclose(s.inverse(z), [10.0, -1.0])
    assert abs(s.transform(train).mean()) < 1e-15
    with pytest.raises(ValueError, match="constant"):
        fc.Scaler(np.ones(5))


def test_make_windows_values_and_dtype():
    s = np.arange(7, dtype=np.float32)
    X, Y = fc.make_windows(s, 3, 2)
    assert X.shape == (3, 3) and Y.shape == (3, 2) and X.dtype == Y.dtype == np.float32
    assert X[2].tolist() == [2, 3, 4] and Y[2].tolist() == [5, 6]


@pytest.mark.parametrize("window, horizon", [(10, 1), (5, 6)])
def test_make_windows_rejects_a_window_longer_than_the_series(window, horizon):
    with pytest.raises(ValueError, match="longer than the series"):
        fc.make_windows(np.arange(10.0), window, horizon)


@pytest.mark.parametrize("window", [0, 2.5, True])
def test_make_windows_rejects_bad_lengths(window):
    with pytest.raises(ValueError, match="window must be an int >= 1"):
        fc.make_windows(np.arange(10.0), window)


# ---------------------------------------------------------------- baselines and metrics
def test_persistence_and_seasonal_naive():
    s = np.tile(np.arange(4.0), 5)                    # period 4
    X, Y = fc.make_windows(s, 8, 6)
    assert np.array_equal(fc.seasonal_naive_forecast(X, 6, 4), Y)
    assert np.array_equal(fc.persistence_forecast(X, 6), np.repeat(X[:, -1:], 6, axis=1))
    with pytest.raises(ValueError, match="must cover one period"):
        fc.seasonal_naive_forecast(X, 6, 9)


@pytest.mark.parametrize("call, name", [
    (lambda X: fc.persistence_forecast(X, 0), "horizon"),
    (lambda X: fc.seasonal_naive_forecast(X, 0, 2), "horizon"),
    (lambda X: fc.seasonal_naive_forecast(X, 2, 0), "period"),
    (lambda X: fc.recursive_forecast(lambda w: w[:, -1], X, 1.5), "horizon"),
])
def test_forecasts_reject_bad_horizons_and_periods(call, name):
    with pytest.raises(ValueError, match=f"{name} must be an int >= 1"):
        call(np.ones((3, 5)))


def test_linear_ar_recovers_an_exact_recursion_and_recursive_matches_direct():
    w = 0.3                                            # s_t = 2 cos(w) s_{t-1} - s_{t-2} + c
    s = np.sin(w * np.arange(200) + 0.4) + 2.0
    c = 2.0 * (2 - 2 * np.cos(w))
    X, Y = fc.make_windows(s, 2, 4)
    W1, b1 = fc.fit_linear_ar(X, Y[:, :1])
    assert np.allclose(W1[:, 0], [-1.0, 2 * np.cos(w)], atol=1e-8)
    assert abs(b1[0] - c) < 1e-7
    rec = fc.recursive_forecast(lambda win: win @ W1 + b1, X, 4)
    assert np.max(np.abs(rec - Y)) < 1e-7
    W, b = fc.fit_linear_ar(X, Y)
    assert np.max(np.abs(X @ W + b - Y)) < 1e-7


def test_forecast_errors():
    Y = np.array([[1.0, 2.0], [3.0, 4.0]])
    P = np.array([[2.0, 2.0], [3.0, 1.0]])
    e = fc.forecast_errors(Y, P, scale=0.5)
    assert np.allclose(e["mae"], [0.5, 1.5]) and np.allclose(e["mase"], [1.0, 3.0])
    assert np.allclose(e["rmse"], [np.sqrt(0.5), np.sqrt(4.5)])
    assert fc.naive_scale(np.array([0.0, 1.0, 3.0])) == 1.5
    with pytest.raises(ValueError, match=r"\(N, F\)"):
        fc.forecast_errors(Y, P[:, :1], 1.0)


# ---------------------------------------------------------------- committed results
@pytest.fixture(scope="module")
def script(experiment_script):
    return experiment_script("forecasting")


@pytest.fixture(scope="module")
def results():
    return load_results("forecasting")


def test_results_file_records_how_it_was_made(script, results):
    assert_provenance(results, "forecasting")
    assert results["lstm"] == script.LSTM and results["seeds"] == list(script.SEEDS)
    assert results["weather_setup"]["window"] == script.WEATHER["window"]
    assert len(results["weather"]["lstm"]["direct"]) == len(script.SEEDS)
    assert len(results["stock"]["lstm"]) == len(script.SEEDS)


def test_the_claims_chapter_29_makes_from_the_file(results):
    w, s = results["weather"], results["stock"]
    ar1 = w["baselines"]["ar_direct"]["mae"][0]
    for k in ("recursive", "direct"):
        assert ar1 < np.mean([r["mae"][0] for r in w["lstm"][k]])
    assert all(s["baselines"]["persistence"]["mae"][0] < r["mae"][0] for r in s["lstm"])


def test_baselines_and_seed_0_reproduce_the_file(script, results):
    p = script.stock_problem()
    base = script.stock_baselines(p)
    assert np.allclose(base["ar"]["mae"], results["stock"]["baselines"]["ar"]["mae"])
    live = script.stock_lstm(p, 0)["mae"][0]
    stored = results["stock"]["lstm"][0]["mae"][0]
    assert abs(live - stored) < 0.05 * stored
