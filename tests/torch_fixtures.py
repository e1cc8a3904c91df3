"""Helpers shared by the tests that compare lstm_lit with PyTorch (test_lstm, test_gru, test_stacked,
test_bidirectional, test_cnn_lstm): the committed fixtures tests/fixtures/torch_<name>.npz and the
comparison to 1e-10.

A test names the fixtures it reads (`fixture_paths("lstm_a", "cell_a")`), never a glob over
tests/fixtures/, which every layer family's fixtures share.
"""
from pathlib import Path

import numpy as np

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
TOL = 1e-10                     # float64 agreement with PyTorch, stored or live


def fixture_paths(*names):
    """The paths of tests/fixtures/torch_<name>.npz for each name, in the order given."""
    return [FIXTURES_DIR / f"torch_{name}.npz" for name in names]


def load(path):
    """Every array of an .npz file, read into memory: {name: array}."""
    with np.load(path) as d:
        return {k: d[k] for k in d.files}


def max_abs(got, expected):
    """The largest absolute difference of two arrays, compared in float64."""
    return float(np.max(np.abs(np.asarray(got, np.float64) - np.asarray(expected, np.float64))))


def assert_close(got, expected, what, tol=TOL):
    """Assert max |got - expected| < tol; the message names what was compared and by how much."""
    err = max_abs(got, expected)
    assert err < tol, f"{what}: max abs error {err:.2e} >= {tol:.0e}"


def assert_grads_close(ref, grads, tol=TOL):
    """assert_close for each of our gradients against the fixture's: grads maps a torch
    name (x, h0, weight_ih, ...) to our array in torch's layout, compared with
    ref["grad_<name>"] and named "grad <name>" in a failure."""
    for name, got in grads.items():
        assert_close(got, ref["grad_" + name], f"grad {name}", tol)


def assert_fixtures_well_formed(paths, modules, nonzero):
    """The fixture files exist and were made as the tests need: by torch 2.13, in
    float64, with two distinct biases, a batch of more than one, no zero in the arrays
    named in nonzero, small files, and between them every module named."""
    assert len(paths) >= 4
    found = set()
    for path in paths:
        d = load(path)
        assert str(d["torch_version"]).startswith("2.13")
        assert d["x"].dtype == np.float64
        assert not np.allclose(d["bias_ih"], d["bias_hh"])          # two distinct biases
        assert all(np.all(d[name] != 0) for name in nonzero), path.name
        assert d["x"].shape[0] > 1 and path.stat().st_size < 16_000
        found.add(str(d["module"]))
    assert found == set(modules)
