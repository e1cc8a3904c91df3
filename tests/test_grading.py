"""lstm_lit.grading: failed checks say which check, by how much, and a likely cause.

- Each check passes silently (returning its error) and fails with CheckFailed, an
  AssertionError, whose message names the check, the error against its bar and the entry
  that differs most; bad arguments get a clear error.
- Each pattern of `diagnose` is found on the mistake it names, and none is claimed for an
  unrelated difference (random noise).
- The classic LSTM backward bugs of tests/test_lstm.py, checked with `check_gradients`, are
  named by their patterns.
- `explain_asserts` makes a plain `assert` in a kernel show its values.
- Classic mistakes put into the chapters' own exported code (a factor, a derivative, gate
  blocks in another order, a gradient or a state not carried between steps, ...) stop the
  chapter at the check that catches them, with a CheckFailed message that names them.
"""
import sys
from pathlib import Path

import numpy as np
import nbformat
import pytest
from nbclient import NotebookClient

from lstm_lit.grading import (CheckFailed, check_bound, check_close, check_equal,
                              check_gradients, diagnose, explain_asserts)
from lstm_lit.learning import grad_check
from test_lstm import random_case, variant_backward, variant_forward


def failure(fn, *args, raw=False, **kwargs):
    """The message of the CheckFailed that fn(*args, **kwargs) raises, its lines wrapped
    to 90 characters (raw) or joined with single spaces (to search for a phrase)."""
    with pytest.raises(CheckFailed) as caught:
        fn(*args, **kwargs)
    return str(caught.value) if raw else " ".join(str(caught.value).split())


RNG = np.random.default_rng(0)
WANT = RNG.normal(size=(3, 8))


def test_passing_checks_are_silent_and_return_the_error(capsys):
    assert check_close("same", WANT, WANT.copy()) == 0.0
    assert check_close("near", WANT + 1e-12, WANT, tol=1e-10, measure="absolute") < 1e-10
    assert check_equal("ints", np.arange(4), [0, 1, 2, 3]) is None
    assert check_bound("loss", 0.01, below=0.05, above=0.0) is None
    assert capsys.readouterr().out == ""
    assert issubclass(CheckFailed, AssertionError)


def test_a_failure_names_the_check_its_error_its_bar_and_the_worst_entry():
    got = WANT.copy()
    got[2, 5] += 1.0
    message = failure(check_close, "h against nn.LSTM", got, WANT, tol=1e-10,
                      measure="absolute", hint="gate blocks in another order", raw=True)
    lines = message.splitlines()
    assert lines[0] == "check 'h against nn.LSTM' failed: absolute error 1.0e+00, the bar is 1e-10"
    assert lines[1].startswith("  largest difference at [2, 5]: yours ")
    assert lines[-1] == "  a classic cause: gate blocks in another order"
    assert all(len(line) <= 90 for line in lines)


@pytest.mark.parametrize("got, pattern", [
    (np.zeros_like(WANT), "yours is zero everywhere"),
    (-WANT, "sign flipped"),
    (0.5 * WANT, "yours is 0.5 times the expected, everywhere"),
    (2 * WANT, "yours is 2 times the expected"),
])
def test_zero_sign_and_factor_patterns(got, pattern):
    assert pattern in failure(check_close, "x", got, WANT)


def test_noise_claims_no_pattern():
    got = WANT + 0.1 * RNG.normal(size=WANT.shape)
    assert diagnose(got, WANT, 1e-7, gate_axis=1, time_axis=1) == []
    message = failure(check_close, "x", got, WANT, gate_axis=1, time_axis=1, raw=True)
    assert len(message.splitlines()) == 2      # the header and the largest difference


def test_gate_blocks_in_another_order_are_named():
    W = RNG.normal(size=(3, 16))
    ifog = np.concatenate([W[:, :8], W[:, 12:], W[:, 8:12]], axis=1)
    assert "in the order i, f, o, g; the expected order is i, f, g, o" in failure(
        check_close, "Wx", ifog, W, gate_axis=1)
    b = RNG.normal(size=9)                      # the GRU's three blocks r, z, n
    assert "in the order z, r, n" in failure(
        check_close, "b", np.concatenate([b[3:6], b[:3], b[6:]]), b, gate_axis=0,
        gates="rzn")


def test_wrong_gate_blocks_are_listed_and_the_sigmoid_pattern_named():
    got = WANT.copy()
    got[:, [0, 1, 2, 3, 6, 7]] *= 0.3           # blocks i, f, o of H = 2; g right
    message = failure(check_close, "dWx", got, WANT, gate_axis=1)
    assert "by gate block: wrong i, f, o; right g" in message
    assert "sigmoid's derivative" in message
    got = WANT.copy()
    got[:, 2:4] += 1                            # the forget gate alone
    message = failure(check_close, "dWx", got, WANT, gate_axis=1)
    assert "wrong f; right i, g, o" in message and "sigmoid" not in message


def test_wrong_time_steps_are_listed_in_both_directions():
    want = RNG.normal(size=(2, 6, 3))
    early = want.copy()
    early[:, :4] += 1
    message = failure(check_close, "dx", early, want, time_axis=1)
    assert "wrong at 0 to 3, right at 4, 5" in message and "carried back" in message
    late = want.copy()
    late[:, 2:] += 1
    message = failure(check_close, "h", late, want, time_axis=1)
    assert "wrong at 2 to 5, right at 0, 1" in message and "carried forward" in message


def test_shape_nan_equal_and_bound_messages():
    assert "the expected transposed" in failure(check_close, "W", WANT.T, WANT)
    assert "yours has shape (2,)" in failure(check_close, "b", np.ones(2), np.ones(3))
    nan = WANT.copy()
    nan[0, 0] = np.nan
    assert "1 NaN or infinite value(s) of 24" in failure(check_close, "x", nan, WANT)
    message = failure(check_equal, "labels", [1, 2, 3], [1, 2, 4], hint="off by one")
    assert "1 of 3 entries differ; the first at [2]: yours 3, expected 4" in message
    assert "a classic cause: off by one" in message
    assert "yours 0.5, expected 0.25" in failure(check_equal, "p", 0.5, 0.25)
    assert "0.6931 is not below 0.05" in failure(check_bound, "loss", np.log(2), below=0.05)
    assert "0.5 is not above 0.9" in failure(check_bound, "accuracy", 0.5, above=0.9)
    assert "nan is not a finite number" in failure(check_bound, "loss", np.nan, below=1)


@pytest.mark.parametrize("call, error, match", [
    (lambda: check_close("x", WANT, WANT, measure="max"), ValueError, "'relative' or"),
    (lambda: check_close("x", WANT, WANT, tol=0), ValueError, "tol must be a finite"),
    (lambda: check_close("x", WANT, WANT, tol=True), ValueError, "tol must be a finite"),
    (lambda: check_bound("x", 1.0), ValueError, "give a bound"),
    (lambda: check_gradients(3, lambda: 0.0, {}, {}), TypeError, "check must name"),
])
def test_bad_arguments_get_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_check_gradients_prints_grad_checks_lines_and_returns_its_errors(capsys):
    x = RNG.normal(size=(4, 3))
    f, grad = (lambda: float(np.sum(np.sin(x)))), np.cos(x)
    ours = check_gradients("sin", f, {"x": x}, {"x": grad})
    printed = capsys.readouterr().out
    assert ours == grad_check(f, {"x": x}, {"x": grad})
    assert printed == capsys.readouterr().out == "       x: relative error < 1e-07  OK\n"
    message = failure(check_gradients, "sin", f, {"x": x}, {"x": np.sin(x)},
                      hints={"x": "the derivative of sin is cos"}, verbose=False)
    assert message.startswith("gradient check of sin, input 'x' failed: relative error ")
    assert "a classic cause: the derivative of sin is cos" in message


# ------------------------------------------ the classic LSTM bugs, named by their patterns

def lstm_check(bug, T, hints=None):
    """check_gradients on the plain LSTM of tests/test_lstm.py with `bug` (None: none)."""
    p, x, h0, C0, dh, dC_T = random_case(np.random.default_rng(4), 2, T, 3, 3)
    forward = variant_forward()
    _, _, cache = forward(x, h0, C0, **p)
    names = ("x", "h0", "C0", "Wx", "Wh", "b")
    grads = dict(zip(names, variant_backward(bug)(dh, cache, dC_T)))

    def loss():
        h, C_T, _ = forward(x, h0, C0, **p)
        return np.sum(h * dh) + np.sum(C_T * dC_T)

    return check_gradients("lstm_backward", loss, {"x": x, "h0": h0, "C0": C0, **p}, grads,
                           hints=hints, gate_axes={"Wx": 1, "Wh": 1, "b": 0},
                           time_axes={"x": 1}, verbose=False)


def lstm_gradient_failure(bug, T, hints=None):
    """The message of the CheckFailed that lstm_check raises."""
    return failure(lstm_check, bug, T, hints)


def test_correct_plain_lstm_passes_check_gradients():
    assert max(lstm_check(None, 4).values()) < 1e-7


def test_missing_sigmoid_derivative_is_named_from_the_gate_blocks():
    message = lstm_gradient_failure("missing_sigmoid_derivative", 1)
    assert "input 'Wx' failed" in message and "input 'b' failed" in message
    assert "by gate block: wrong i, f, o; right g" in message
    assert "the sigmoid's derivative s * (1 - s) missing?" in message


def test_gradient_not_carried_between_steps_is_named_from_the_time_steps():
    message = lstm_gradient_failure("dh_not_carried", 5)
    assert "input 'x' failed" in message
    assert "by time step: wrong at 0 to 3, right at 4" in message
    assert "carried back" in message


def test_the_chapters_hint_names_what_no_pattern_shows():
    hint = "dC_t overwritten by the gradient from h_t instead of added to dC_next"
    message = lstm_gradient_failure("dC_overwritten", 4, hints=hint)
    assert f"a classic cause: {hint}" in message


# ------------------------------------------------------------------------ explain_asserts

def test_explain_asserts_shows_the_values_in_a_kernel():
    cells = ["from lstm_lit.grading import explain_asserts\nexplain_asserts()\n"
             "explain_asserts()",                      # a second call changes nothing
             "import numpy as np\nloss = float(np.log(2))\nassert loss < 0.05"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True).execute()
    error = nb.cells[1].outputs[-1]
    assert error["ename"] == "AssertionError"
    assert error["evalue"].startswith("assert 0.6931471805599453 < 0.05")
    assert not nb.cells[0].outputs


def test_explain_asserts_refuses_plain_python():
    with pytest.raises(RuntimeError, match="works in a notebook"):
        explain_asserts()


# ------------------------------- classic mistakes put into the chapters are caught and named
# Each case is a reader's mistake in a chapter's own code: the snippet of an `#| export` cell
# and what the reader wrote instead. The chapter, with the workbook's set-up cell first, runs
# until its first error, which must be the CheckFailed of the check that catches the mistake,
# with the phrases that name it. A snippet that is no longer in its chapter fails the test.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import make_workbook as mw  # noqa: E402
from notebook_runner import kernel, run_until_first_error  # noqa: E402,F401 (a fixture)

MISTAKES = {
    # id: (chapter, the right code, the mistake, phrases the failure message must contain)
    "forget gate without the sigmoid's derivative": (
        "07_forget_gate.ipynb", "dz = df * f * (1 - f)", "dz = df",
        ["gradient check of forget_gate_backward, input 'h_prev' failed",
         "a classic cause: the sigmoid's derivative f * (1 - f) missing"]),
    "mean squared error without its factor 2": (
        "02_learning.ipynb", "(2.0 / diff.size) * diff", "(1.0 / diff.size) * diff",
        ["gradient check of mse_loss, input 'pred' failed",
         "yours is 0.5 times the expected, everywhere",
         "a classic cause: the 2 of 2 (pred - target) / P forgotten"]),
    "RNN gradient not carried between steps": (
        "04_rnn.ipynb", "dz[:, t] = (dh[:, t] + carry) * (1 - h[:, t] * h[:, t])",
        "dz[:, t] = dh[:, t] * (1 - h[:, t] * h[:, t])",
        ["gradient check of rnn_backward, input 'x' failed",
         "by time step: wrong at 0 to 3, right at 4",
         "the last steps are right and the earlier ones wrong",
         "a classic cause: the carried gradient"]),
    "RNN state not carried forward": (
        "04_rnn.ipynb", "h_prev = h[:, t] = tanh(xW[:, t] + h_prev @ Wh)",
        "h[:, t] = tanh(xW[:, t] + h_prev @ Wh)",
        ["by time step: wrong at 1 to", "right at 0", "is the state carried forward"]),
    "LSTM gate blocks read in the order i, f, o, g": (
        "10_lstm.ipynb", ("tanh(a[:, 2 * H:3 * H])", "sigmoid(a[:, 3 * H:4 * H])"),
        ("tanh(a[:, 3 * H:4 * H])", "sigmoid(a[:, 2 * H:3 * H])"),
        ["check 'h_next of lstm_step_forward against lstm_step_per_gate' failed",
         "a classic cause: gate blocks read in another order than i, f, g, o"]),
    "LSTM gradient not carried between steps": (
        "11_lstm_backward.ipynb", "dh_t = dh[:, t] + dh_prev", "dh_t = dh[:, t]",
        ["gradient check of lstm_backward_plain, input 'x' failed",
         "by time step: wrong at 0 to 4, right at 5",
         "a classic cause: a gradient not carried between steps"]),
    "coupled gate's derivative without -delta i": (
        "14_forget_origin.ipynb", "df = df - di", "df = df",
        ["gradient check of variant_backward, variant 'CIFG', input 'x' failed"]),
    "GRU gate blocks written in the order z, r, n": (
        "17_gru.ipynb", "[da_r, da_z, da_n]", "[da_z, da_r, da_n]",
        ["gradient check of gru_step_backward, input 'Wx'",
         "yours holds the gate blocks in the order z, r, n"]),
    "embedding gradient by fancy indexing": (
        "24_charlm.ipynb", "np.add.at(dW, idx.ravel(), dout.reshape(-1, D))",
        "dW[idx.ravel()] += dout.reshape(-1, D)",
        ["gradient check of embedding_backward, input 'W_embed' failed",
         "a classic cause: dW[idx] += dout"]),
    "backward direction not reversed back to forward time": (
        "20_bidirectional.ipynb", "h_bw = h_rev[:, ::-1]", "h_bw = h_rev",
        ["check 'steps where the backward half changed' failed",
         "a classic cause: the backward direction's outputs not reversed back"]),
    "masked state updated past the sequence's end": (
        "21_variable_length.ipynb", "h_t = np.where(m, h_new, h_t)", "h_t = h_new",
        ["check 'h_n of masked_lstm_forward, sequence 2 (L = 4)",
         "the state updated past the sequence's end"]),
    "overlapping windows' gradients overwritten, not added": (
        "23_cnn_lstm.ipynb", "dxp[:, window] += dy @ W[k].T", "dxp[:, window] = dy @ W[k].T",
        ["gradient check of conv1d_backward, stride 1, padding 0, K = 3, input 'x' failed"]),
    "gate_states with i and f swapped": (
        "28_inside.ipynb", "for k in (0, 1, 3))", "for k in (1, 0, 3))",
        ["in the order f, i, g, o"]),
}


def with_mistake(chapter, right, wrong):
    """The chapter as a finished workbook with one mistake: set-up cell first, then the
    chapter with `right` replaced by `wrong` (strings, or tuples of them replaced pairwise)
    in the one export cell that contains them."""
    nb = nbformat.read(mw.NOTEBOOKS / chapter, as_version=4)
    rights, wrongs = ((right,), (wrong,)) if isinstance(right, str) else (right, wrong)
    cells = [c for c in nb.cells if mw._is_export(c) and all(r in c.source for r in rights)]
    assert len(cells) == 1, f"{chapter}: {len(cells)} export cells contain {rights!r}"
    for r, w in zip(rights, wrongs):
        cells[0].source = cells[0].source.replace(r, w)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.cells.insert(0, mw.setup_cell())
    return nb


@pytest.mark.parametrize("case", sorted(MISTAKES))
def test_a_classic_mistake_in_a_chapter_is_caught_and_named(case, kernel):
    chapter, right, wrong, phrases = MISTAKES[case]
    index, error = run_until_first_error(kernel, with_mistake(chapter, right, wrong))
    assert index is not None, f"{case}: the chapter ran to the end with the mistake"
    message = " ".join(error.evalue.split())
    assert error.ename == "CheckFailed", (case, error.ename, message)
    for phrase in phrases:
        assert phrase in message, (case, phrase, message)


def test_sigmoid_pattern_for_other_gate_sets_and_no_hyphen_breaks():
    b = RNG.normal(size=(2, 9))                 # GRU blocks r, z, n
    got = b.copy()
    got[:, :6] *= 0.2
    message = failure(check_close, "db", got, b, gate_axis=1, gates="rzn")
    assert "wrong r, z; right n" in message and "sigmoid's derivative" in message
    fgo = RNG.normal(size=(2, 6))               # a cell without input gate: f, g, o
    got = fgo.copy()
    got[:, [0, 1, 4, 5]] *= 0.2
    assert "sigmoid's derivative" in failure(check_close, "db", got, fgo, gate_axis=1,
                                             gates="fgo")
    hint = "the term of eq-peepholes-dC " + "x" * 60
    message = failure(check_close, "x", -WANT, WANT, hint=hint, raw=True)
    assert "eq-peepholes-dC" in message


def test_a_loose_bar_claims_no_factor():
    want = RNG.normal(size=20)
    got = 0.93 * want + 0.01 * RNG.normal(size=20)     # close to, not exactly, 0.93 w
    assert diagnose(got, want, 0.05) == []


def test_a_shared_hint_is_said_once():
    x, y = RNG.normal(size=3), RNG.normal(size=3)
    f = lambda: float(np.sum(x * y))                   # noqa: E731
    message = failure(check_gradients, "xy", f, {"x": x, "y": y}, {"x": x, "y": y},
                      hints="the product rule", verbose=False, raw=True)
    assert message.count("input '") == 2 and message.count("the product rule") == 1
    assert message.endswith("\na classic cause: the product rule")


def test_a_single_number_claims_no_factor():
    assert diagnose(np.array([0.25]), np.array([-0.8]), 1e-7) == []
    assert diagnose(0.25, -0.8, 1e-7) == []
    assert diagnose(0.0, -0.8, 1e-7) == ["yours is zero"]
