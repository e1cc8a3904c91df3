"""Tests of lstm_lit.tasks: the sequence tasks of chapter 3 (notebooks/03_sequences.ipynb)."""
import numpy as np
import pytest

from lstm_lit.tasks import (REBER_SYMBOLS, TEMPORAL_ORDER_SYMBOLS, adding_problem, adding_solved,
                            encode_symbols, is_reber, reber_strings, sine_windows, temporal_order)


# ---------------------------------------------------------------- adding problem
@pytest.mark.parametrize("T", [20, 21, 50, 101])
def test_adding_markers_follow_the_paper(T):
    x, y = adding_problem(2000, T, np.random.default_rng(T))
    assert x.shape == (2000, T, 2) and y.shape == (2000, 1)
    markers = x[..., 1]
    assert set(np.unique(markers)) <= {-1.0, 0.0, 1.0}
    assert np.all((markers == 1.0).sum(axis=1) == 2), "exactly two marks per sequence"
    for row in markers:
        first, second = np.flatnonzero(row == 1.0)
        # One mark is among the first 10 steps; the other is among the first T // 2 - 1 unmarked steps.
        # (The paper's second mark may precede the first, so test both orders.)
        ok = False
        for a, b in ((first, second), (second, first)):
            rank_b = b - (a < b)                # rank of b among the steps left unmarked by a
            ok |= a < 10 and rank_b < T // 2 - 1
        assert ok, (T, first, second)
        # first and last step carry -1 unless marked; all the other steps are 0 unless marked
        assert row[-1] == -1.0
        assert row[0] in (-1.0, 1.0)
        inner = np.delete(row[1:-1], np.flatnonzero(row[1:-1] == 1.0))
        assert np.all(inner == 0.0)
    # the whole permitted range of the first mark and of the second is used
    second_max = max(np.flatnonzero(r == 1.0)[1] for r in markers)
    assert second_max == T // 2 - 1          # the last unmarked step among the first T // 2 - 1 + 1 steps
    assert markers[:, 0].max() == 1.0         # step 0 does get marked sometimes


def test_adding_target_formula_and_range():
    x, y = adding_problem(5000, 40, np.random.default_rng(1))
    marked = x[..., 1] == 1.0
    X = np.where(marked, x[..., 0], 0.0).sum(axis=1)
    np.testing.assert_allclose(y[:, 0], 0.5 + X / 4.0, rtol=0, atol=1e-15)
    assert y.min() >= 0.0 and y.max() <= 1.0
    assert y.min() < 0.1 and y.max() > 0.9   # the range is used, not a constant
    values = x[..., 0]
    assert values.min() >= -1.0 and values.max() <= 1.0
    # where step 0 is marked, its value is zeroed (the paper's "X1 is set to zero")
    first_marked = x[:, 0, 1] == 1.0
    assert first_marked.any() and np.all(values[first_marked, 0] == 0.0)
    assert np.all(values[~first_marked, 0] != 0.0)


def test_adding_is_deterministic_and_keeps_dtype():
    a = adding_problem(8, 30, np.random.default_rng(7))
    b = adding_problem(8, 30, np.random.default_rng(7))
    c = adding_problem(8, 30, np.random.default_rng(8))
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not np.array_equal(a[0], c[0])
    x32, y32 = adding_problem(8, 30, np.random.default_rng(7), dtype=np.float32)
    assert x32.dtype == np.float32 and y32.dtype == np.float32
    np.testing.assert_allclose(x32, a[0], rtol=1e-6)


def test_adding_solved_uses_the_0_04_threshold():
    y = np.array([[0.5], [0.5], [0.5]])
    pred = np.array([[0.5], [0.539], [0.45]])
    assert adding_solved(pred, y).tolist() == [True, True, False]
    assert adding_solved(pred, y, tol=0.1).tolist() == [True, True, True]
    with pytest.raises(ValueError, match="shape"):
        adding_solved(pred, y[:2])


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n=4, T=19), ValueError, "at least 20"),
    (dict(n=0, T=30), ValueError, "n must be at least 1"),
    (dict(n=4.0, T=30), TypeError, "n must be an int"),
    (dict(n=4, T=30, dtype=np.int64), TypeError, "float32 or float64"),
])
def test_adding_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        adding_problem(rng=np.random.default_rng(0), **kwargs)


def test_generators_need_a_generator_not_a_seed():
    with pytest.raises(TypeError, match="Generator"):
        adding_problem(4, 30, 0)
    with pytest.raises(TypeError, match="Generator"):
        temporal_order(4, 30, np.random.RandomState(0))
    with pytest.raises(TypeError, match="Generator"):
        reber_strings(4, None)


# ---------------------------------------------------------------- temporal order
@pytest.mark.parametrize("T", [10, 37, 100])
def test_temporal_order_positions_and_labels(T):
    x, y = temporal_order(3000, T, np.random.default_rng(T))
    assert x.shape == (3000, T, 8) and y.shape == (3000,) and y.dtype == np.int64
    assert np.all(x.sum(axis=-1) == 1.0), "one-hot"
    sym = x.argmax(axis=-1)
    names = np.array(TEMPORAL_ORDER_SYMBOLS)[sym]
    assert np.all(names[:, 0] == "B") and np.all(names[:, -1] == "E")
    assert np.all(np.isin(names[:, 1:-1], ["a", "b", "c", "d", "X", "Y"]))
    relevant = np.isin(names, ["X", "Y"])
    assert np.all(relevant.sum(axis=1) == 2)
    t1 = relevant.argmax(axis=1)
    t2 = T - 1 - relevant[:, ::-1].argmax(axis=1)
    assert t1.min() == T // 10 and t1.max() == 2 * T // 10
    assert t2.min() == 5 * T // 10 and t2.max() == 6 * T // 10
    rows = np.arange(len(y))
    pair = np.char.add(names[rows, t1], names[rows, t2])
    expected = np.select([pair == "XX", pair == "XY", pair == "YX", pair == "YY"], [0, 1, 2, 3], -1)
    np.testing.assert_array_equal(y, expected)
    assert np.bincount(y, minlength=4).min() > 500   # all four classes occur, roughly equally


def test_temporal_order_for_T_100_matches_the_paper_ranges():
    x, _ = temporal_order(2000, 100, np.random.default_rng(0))
    relevant = np.isin(x.argmax(-1), [4, 5])
    positions = np.nonzero(relevant)[1].reshape(-1, 2)
    assert positions[:, 0].min() == 10 and positions[:, 0].max() == 20
    assert positions[:, 1].min() == 50 and positions[:, 1].max() == 60


def test_temporal_order_rejects_short_sequences_and_is_deterministic():
    with pytest.raises(ValueError, match="at least 10"):
        temporal_order(4, 9, np.random.default_rng(0))
    a = temporal_order(5, 50, np.random.default_rng(3))
    b = temporal_order(5, 50, np.random.default_rng(3))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert temporal_order(5, 50, np.random.default_rng(3), dtype=np.float32)[0].dtype == np.float32


# ---------------------------------------------------------------- sine windows
def test_sine_windows_target_is_the_clean_next_value():
    x, y = sine_windows(64, 25, np.random.default_rng(0), noise=0.0)
    assert x.shape == (64, 25, 1) and y.shape == (64, 1)
    # a clean sine obeys s[t+1] = 2 cos(omega) s[t] - s[t-1]; recover cos(omega) and extrapolate
    s = x[..., 0]
    c = (s[:, 2] + s[:, 0]) / (2 * s[:, 1])
    well_posed = np.abs(s[:, 1]) > 0.1
    pred = 2 * c * s[:, -1] - s[:, -2]
    np.testing.assert_allclose(pred[well_posed], y[well_posed, 0], atol=1e-9)


def test_sine_windows_noise_level_and_determinism():
    rng = np.random.default_rng(5)
    clean, _ = sine_windows(200, 30, np.random.default_rng(5), noise=0.0)
    noisy, y = sine_windows(200, 30, np.random.default_rng(5), noise=0.1)
    assert 0.09 < float(np.std(noisy - clean)) < 0.11
    again, y2 = sine_windows(200, 30, np.random.default_rng(5), noise=0.1)
    assert np.array_equal(noisy, again) and np.array_equal(y, y2)
    assert sine_windows(2, 5, rng, dtype=np.float32)[0].dtype == np.float32
    with pytest.raises(ValueError, match="noise"):
        sine_windows(2, 5, rng, noise=-0.1)


# ---------------------------------------------------------------- Reber grammar
def test_reber_strings_are_valid():
    rng = np.random.default_rng(0)
    plain = reber_strings(500, rng, embedded=False)
    embedded = reber_strings(500, rng)
    assert all(is_reber(s, embedded=False) for s in plain)
    assert all(is_reber(s) for s in embedded)
    assert not any(is_reber(s) for s in plain)            # a plain string is not an embedded one
    # both branches of the embedding occur, and the branch symbol repeats before the final E
    assert {s[1] for s in embedded} == {"T", "P"}
    assert all(s[1] == s[-2] for s in embedded)
    assert len(set(embedded)) > 50                         # not one string repeated


@pytest.mark.parametrize("s, embedded", [
    ("BTXSE", False), ("BPVVE", False), ("BTSSXXTVVE", False), ("BPTVPXVVE", False),
    ("BTBTXSETE", True), ("BPBPVVEPE", True),
])
def test_known_reber_strings_are_accepted(s, embedded):
    assert is_reber(s, embedded=embedded)


@pytest.mark.parametrize("s, embedded", [
    ("BTXSE"[:-1], False),          # no final E
    ("TXSE", False),                # no initial B
    ("BTXXE", False),               # ends in a state that is not the exit
    ("BTSSVE", False),              # V cannot follow S
    ("BPVVVE", False),              # a symbol after the exit
    ("", False),
    ("BTBTXSEPE", True),            # the embedded branch does not repeat: T ... P
    ("BPBPVVETE", True),
    ("BTBTXXETE", True),            # invalid inner string
    ("BTXSE", True),                # plain string where an embedded one is required
])
def test_corrupted_reber_strings_are_rejected(s, embedded):
    assert not is_reber(s, embedded=embedded)


def test_most_single_symbol_substitutions_are_rejected():
    # Corrupt each position of valid strings with each other symbol. A few substitutions give another
    # valid string (e.g. the two T/P branch symbols swapped together is not one substitution, but S<->X
    # inside a loop can be); the overwhelming majority must be rejected.
    rng = np.random.default_rng(1)
    rejected = 0
    for s in reber_strings(30, rng):
        for i in range(len(s)):
            for c in REBER_SYMBOLS:
                if c == s[i]:
                    continue
                t = s[:i] + c + s[i + 1:]
                rejected += not is_reber(t)
    assert rejected > 0.9 * sum(len(s) * 6 for s in reber_strings(30, np.random.default_rng(1)))


def test_encode_symbols():
    xs = encode_symbols(["BTXSE", "BPVVE"], REBER_SYMBOLS)
    assert [x.shape for x in xs] == [(5, 7), (5, 7)]
    assert xs[0].dtype == np.float64 and np.all(xs[0].sum(axis=1) == 1.0)
    assert "".join(REBER_SYMBOLS[i] for i in xs[0].argmax(axis=1)) == "BTXSE"
    assert encode_symbols(["BE"], dtype=np.float32)[0].dtype == np.float32
    with pytest.raises(ValueError, match="'Q'"):
        encode_symbols(["BTQSE"])
    with pytest.raises(TypeError, match="list of str"):
        encode_symbols("BTXSE")
    with pytest.raises(TypeError, match="str"):
        is_reber(["B", "E"])


# ---------------------------------------------------------------- edge cases: clear errors
@pytest.mark.parametrize("noise", ["0.1", None, True, np.array([0.1, 0.2]), [0.1]])
def test_sine_windows_noise_must_be_a_number(noise):
    with pytest.raises(TypeError, match=r"noise must be a number; got \w+"):
        sine_windows(2, 5, np.random.default_rng(0), noise=noise)


@pytest.mark.parametrize("noise", [-0.1, float("nan"), float("inf")])
def test_sine_windows_noise_must_be_finite_and_not_negative(noise):
    with pytest.raises(ValueError, match="noise must be a finite number >= 0; got"):
        sine_windows(2, 5, np.random.default_rng(0), noise=noise)


def test_sine_windows_accepts_numpy_and_int_noise():
    for noise in (0, np.float32(0.1), np.int64(1)):
        x, _ = sine_windows(2, 5, np.random.default_rng(0), noise=noise)
        assert x.shape == (2, 5, 1)


@pytest.mark.parametrize("strings, match", [
    ([123], r"strings\[0\] is int 123"),
    (["BTSE", None], r"strings\[1\] is NoneType"),
    ([["B", "E"]], r"strings\[0\] is list"),
    (None, "got NoneType"),
    (7, "got int"),
])
def test_encode_symbols_names_a_non_str_item(strings, match):
    with pytest.raises(TypeError, match="strings must be a list of str; " + match):
        encode_symbols(strings)


def test_encode_symbols_checks_the_alphabet():
    with pytest.raises(TypeError, match="alphabet must be a str or a sequence"):
        encode_symbols(["BE"], alphabet=5)
    with pytest.raises(TypeError, match="one-character str; got 'BT'"):
        encode_symbols(["BE"], alphabet=["BT", "E"])
    with pytest.raises(TypeError, match="one-character str; got 1"):
        encode_symbols(["BE"], alphabet=[1, 2])
    with pytest.raises(ValueError, match="at least one symbol"):
        encode_symbols(["BE"], alphabet="")
    with pytest.raises(ValueError, match="repeated symbols: 'BEB'"):
        encode_symbols(["BE"], alphabet="BEB")
    # a list of symbols, a generator of strings and an empty string all work
    xs = encode_symbols((s for s in ["BE", ""]), alphabet=["B", "E"])
    assert [x.shape for x in xs] == [(2, 2), (0, 2)]


@pytest.mark.parametrize("dtype", ["foo", object(), int, np.float16])
def test_generators_name_the_expected_dtype(dtype):
    with pytest.raises(TypeError, match="dtype must be float32 or float64; got"):
        adding_problem(2, 20, np.random.default_rng(0), dtype=dtype)
    with pytest.raises(TypeError, match="dtype must be float32 or float64; got"):
        encode_symbols(["BE"], dtype=dtype)


def test_adding_solved_checks_tol_and_value_types():
    pred, y = np.full((3, 1), 0.5), np.full((3, 1), 0.52)
    assert adding_solved(pred.tolist(), y.tolist()).tolist() == [True] * 3   # lists are fine
    with pytest.raises(TypeError, match="tol must be a number; got str"):
        adding_solved(pred, y, tol="0.04")
    for tol in (0, -0.04, float("nan")):
        with pytest.raises(ValueError, match="tol must be a finite number > 0"):
            adding_solved(pred, y, tol=tol)
    with pytest.raises(TypeError, match="pred must hold real numbers; got dtype <U"):
        adding_solved(np.array([["a"]]), np.zeros((1, 1)))
    with pytest.raises(TypeError, match="y must hold real numbers; got dtype object"):
        adding_solved(np.zeros((1, 1)), None)


def test_embedded_flag_must_be_a_bool():
    with pytest.raises(TypeError, match="embedded must be True or False; got str 'no'"):
        reber_strings(2, np.random.default_rng(0), embedded="no")
    with pytest.raises(TypeError, match="embedded must be True or False; got NoneType"):
        is_reber("BTBTXSETE", embedded=None)
    assert is_reber("BTXSE", embedded=np.bool_(False))
