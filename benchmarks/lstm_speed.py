"""Time lstm_lit's fused NumPy LSTM against torch.nn.LSTM (CPU) and the naive per-gate NumPy LSTM.

Run from the repository root (a script, not a test):

    python benchmarks/lstm_speed.py     # full run: in a Python environment with torch==2.13.0 installed
    .venv/bin/python benchmarks/lstm_speed.py --quick                          # smoke run, no torch needed

Everything runs in one process. Implementations are timed round-robin (one sample of each in turn,
repeated), after a warm-up, and the median of the samples is reported, so that a burst of load from
other processes on a shared machine hits every implementation alike and the *ratios* stay meaningful.
NumPy's BLAS and torch use the same number of threads (``--threads``, set before NumPy is imported).

What is timed, for each size (B, T, D, H) and dtype:

* ``lit fwd`` / ``lit f+b``: ``lstm_lit.lstm.lstm_forward`` and forward + ``lstm_lit.lstm_backward.lstm_backward``
  with the upstream gradient R (the gradient of sum(h * R)).
* ``torch fwd`` / ``torch f+b``: ``torch.nn.LSTM(batch_first=True)`` with the same weights, forward
  (with autograd recording, as in training) and forward + backward of sum(out * R).
* ``naive fwd`` / ``naive f+b``: the per-gate LSTM of chapters 6-9 (each gate concatenates [h, x] and
  does its own matmul, every call validates its inputs), composed over time from the per-gate functions.
* ``GEMM``: only the matrix products that lstm_lit's forward + backward perform, with the same shapes
  and count (one input projection, T recurrent products forward and T backward, and the three
  weight/input-gradient products), timed alone into preallocated outputs. Its GFLOP/s is the ceiling an
  implementation that spent no time outside the matmuls would reach.

FLOPs counted: 2 * m * n * k per (m, k) @ (k, n) product; element-wise work is not counted. For one
forward + backward: 3 * 2 * B * T * 4H * (D + H).

Options: --quick, --sizes 32,50,64,128 [...], --dtypes float32,float64, --repeats N, --threads N,
--json [PATH] (default path benchmarks/results/lstm_speed-<UTC time>.json), --impl FILE.py (time the
lstm_forward/lstm_backward of another file instead of lstm_lit's, to try an optimisation).

--split-batch is an experiment: NumPy's BLAS gets one thread, and lstm_lit's forward and backward each
run on --threads row blocks of the batch in as many Python threads (the GEMM column is then single-threaded
too); torch keeps --threads threads.

--profile prints, instead of the table, where the forward + backward time goes, for lstm_lit and for
torch (default sizes (32, 50, 64, 128) and (64, 100, 128, 256)): the matrix products timed alone in NumPy
and in torch; torch's operators, from torch.profiler; and, for each target, how much time the target
leaves for everything that is not a matrix product, against the time lstm_lit spends on it now.
"""
import argparse
import os
import sys


def _parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke run: two small sizes, 3 repeats")
    p.add_argument("--sizes", nargs="+", metavar="B,T,D,H",
                   help="sizes to time (default: 1,100,1,32 32,50,64,128 64,100,128,256)")
    p.add_argument("--dtypes", default=None, help="comma-separated, default float32,float64")
    p.add_argument("--repeats", type=int, default=None, help="timed samples per implementation (default 9)")
    p.add_argument("--threads", type=int, default=None,
                   help="threads for NumPy's BLAS and torch (default: the CPUs this process may use)")
    p.add_argument("--min-sample", type=float, default=0.02,
                   help="each sample repeats a call until it lasts this many seconds (default 0.02)")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="wall: elapsed time (default); cpu: this process's CPU time, steadier on a machine "
                        "shared with other work, but it also counts threads that spin while waiting")
    p.add_argument("--no-torch", action="store_true", help="do not time torch even if it is installed")
    p.add_argument("--no-naive", action="store_true", help="do not time the naive per-gate LSTM")
    p.add_argument("--impl", default=None, metavar="FILE.py",
                   help="a file defining lstm_forward and lstm_backward with lstm_lit's API, timed as 'lit'")
    p.add_argument("--split-batch", action="store_true",
                   help="an experiment: NumPy's BLAS single-threaded, and lstm_lit's forward and backward run "
                        "on --threads row blocks of the batch, one Python thread each (torch keeps --threads)")
    p.add_argument("--profile", action="store_true",
                   help="print where the time goes (the products alone, torch's operators) and the time each "
                        "target leaves outside the matrix products")
    p.add_argument("--json", nargs="?", const="auto", default=None, metavar="PATH",
                   help="write the results as JSON (default path: benchmarks/results/)")
    return p.parse_args(argv)


ARGS = _parse_args()
THREADS = ARGS.threads or len(os.sched_getaffinity(0))
# The BLAS reads these when NumPy is imported, so they are set first. With --split-batch, NumPy's BLAS
# gets one thread and the batch is split over THREADS Python threads instead; torch.set_num_threads below
# still gives torch THREADS threads.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1" if ARGS.split_batch else str(THREADS)

import gc  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lstm_lit.cell_state import cell_state_backward, cell_state_forward  # noqa: E402
from lstm_lit.forget_gate import forget_gate_backward, forget_gate_forward  # noqa: E402
from lstm_lit.input_gate import (candidate_backward, candidate_forward, input_gate_backward,  # noqa: E402
                                 input_gate_forward)
from lstm_lit.output_gate import (hidden_state_backward, hidden_state_forward,  # noqa: E402
                                  lstm_step_per_gate, output_gate_backward, output_gate_forward)

# The per-gate <-> fused conversions are chapter 10's (gate blocks i, f, g, o).
from lstm_lit.lstm import fuse_gates, init_lstm, split_gates  # noqa: E402

if ARGS.impl:
    _spec = importlib.util.spec_from_file_location("lstm_impl", ARGS.impl)
    _impl = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_impl)
    lstm_forward, lstm_backward = _impl.lstm_forward, _impl.lstm_backward
    IMPL_NAME = ARGS.impl
else:
    from lstm_lit.lstm import lstm_forward  # noqa: E402
    from lstm_lit.lstm_backward import lstm_backward  # noqa: E402
    IMPL_NAME = "lstm_lit"

if ARGS.split_batch:
    from concurrent.futures import ThreadPoolExecutor

    _POOL = ThreadPoolExecutor(THREADS)
    _forward_one, _backward_one = lstm_forward, lstm_backward
    IMPL_NAME += f" split over {THREADS} Python threads by batch rows (--split-batch)"

    def lstm_forward(x, h0, C0, Wx, Wh, b):
        """The batch rows in THREADS blocks, each block's forward in its own thread (NumPy releases
        the GIL inside its calls). The cache holds the blocks and their caches."""
        blocks = [slice(r[0], r[-1] + 1) for r in np.array_split(np.arange(x.shape[0]), THREADS) if len(r)]
        outs = list(_POOL.map(lambda r: _forward_one(x[r], h0[r], C0[r], Wx, Wh, b), blocks))
        return (np.concatenate([o[0] for o in outs]), np.concatenate([o[1] for o in outs]),
                (blocks, [o[2] for o in outs]))

    def lstm_backward(dh, cache, dC_T=None):
        """Each block's backward in its own thread; the weight gradients of the blocks add up."""
        blocks, caches = cache
        outs = list(_POOL.map(lambda rc: _backward_one(dh[rc[0]], rc[1], None if dC_T is None else dC_T[rc[0]]),
                              zip(blocks, caches)))
        return (*(np.concatenate([o[k] for o in outs]) for k in range(3)),
                *(sum(o[k] for o in outs) for k in range(3, 6)))

torch = None
if not ARGS.no_torch:
    try:
        import torch  # noqa: E402
    except ImportError:
        torch = None

DEFAULT_SIZES = [(1, 100, 1, 32), (32, 50, 64, 128), (64, 100, 128, 256)]
QUICK_SIZES = [(1, 100, 1, 32), (32, 50, 64, 128)]
# Targets for forward + backward, ratio of times lstm_lit / torch, and % of the GEMM-alone GFLOP/s.
TARGETS = {
    ("float64", (1, 100, 1, 32)): 0.8, ("float64", (32, 50, 64, 128)): 0.8,
    ("float64", (64, 100, 128, 256)): 0.8,
    ("float32", (32, 50, 64, 128)): 1.5, ("float32", (64, 100, 128, 256)): 1.25,
}
GEMM_PERCENT_TARGET = {(64, 100, 128, 256): 60.0}


# ----------------------------------------------------------------------------------------------------
# The naive baseline: chapters 6-9's per-gate functions composed over a sequence.
# ----------------------------------------------------------------------------------------------------
def naive_forward(x, h0, C0, gates):
    """Per-gate forward over a sequence x (N, T, D); returns h (N, T, H), C_T (N, H) and the caches."""
    h, C = h0, C0
    hs, caches = [], []
    for t in range(x.shape[1]):
        xt = x[:, t]
        f, cf = forget_gate_forward(h, xt, gates["W_f"], gates["b_f"])
        i, ci = input_gate_forward(h, xt, gates["W_i"], gates["b_i"])
        g, cg = candidate_forward(h, xt, gates["W_C"], gates["b_C"])
        o, co = output_gate_forward(h, xt, gates["W_o"], gates["b_o"])
        C, cc = cell_state_forward(C, f, i, g)
        h, ch = hidden_state_forward(o, C)
        hs.append(h)
        caches.append((cf, ci, cg, co, cc, ch))
    return np.stack(hs, axis=1), C, caches


def naive_forward_step_fn(x, h0, C0, gates):
    """Forward only, with chapter 9's lstm_step_per_gate: h (N, T, H), C_T (N, H)."""
    h, C = h0, C0
    hs = []
    for t in range(x.shape[1]):
        h, C = lstm_step_per_gate(x[:, t], h, C, gates)
        hs.append(h)
    return np.stack(hs, axis=1), C


def naive_backward(dh, caches, dC_T=None):
    """Per-gate backward: returns dx (N, T, D), dh0, dC0, and the per-gate gradients dict."""
    N, T, H = dh.shape
    dx = [None] * T
    grads = {}
    dh_next = np.zeros((N, H), dh.dtype)
    dC_next = np.zeros((N, H), dh.dtype) if dC_T is None else dC_T
    for t in reversed(range(T)):
        cf, ci, cg, co, cc, ch = caches[t]
        do, dC_h = hidden_state_backward(dh[:, t] + dh_next, ch)
        dC = dC_next + dC_h
        dC_next, df, di, dg = cell_state_backward(dC, cc)
        dh_next = np.zeros((N, H), dh.dtype)
        dxt = 0
        for name, fn, d, c in (("f", forget_gate_backward, df, cf), ("i", input_gate_backward, di, ci),
                               ("C", candidate_backward, dg, cg), ("o", output_gate_backward, do, co)):
            dhp, dxg, dW, db = fn(d, c)
            dh_next = dh_next + dhp
            dxt = dxt + dxg
            grads[f"W_{name}"] = grads.get(f"W_{name}", 0) + dW
            grads[f"b_{name}"] = grads.get(f"b_{name}", 0) + db
        dx[t] = dxt
    return np.stack(dx, axis=1), dh_next, dC_next, grads


# ----------------------------------------------------------------------------------------------------
# torch
# ----------------------------------------------------------------------------------------------------
def torch_lstm(params, D, H, dtype):
    tdt = {"float32": torch.float32, "float64": torch.float64}[dtype]
    m = torch.nn.LSTM(D, H, batch_first=True).to(tdt)
    try:
        from lstm_lit.lstm import to_torch
        state = {k: torch.as_tensor(np.asarray(v)) for k, v in to_torch(params).items()}
    except ImportError:
        state = {"weight_ih_l0": torch.as_tensor(params["Wx"].T.copy()),
                 "weight_hh_l0": torch.as_tensor(params["Wh"].T.copy()),
                 "bias_ih_l0": torch.as_tensor(params["b"].copy()),
                 "bias_hh_l0": torch.zeros(4 * H, dtype=tdt)}
    m.load_state_dict({k: v.to(tdt) for k, v in state.items()})
    return m


# ----------------------------------------------------------------------------------------------------
# Timing
# ----------------------------------------------------------------------------------------------------
def gemm_plan(B, T, D, H, dtype, lib="numpy"):
    """The matrix products of one fused forward + backward, as a callable on preallocated arrays.

    lib: "numpy" (np.matmul, NumPy's BLAS) or "torch" (torch.mm on the same arrays, torch's BLAS)."""
    rng = np.random.default_rng(1)
    r = lambda *s: rng.standard_normal(s).astype(dtype)  # noqa: E731
    X, Wx, Wh = r(T * B, D), r(D, 4 * H), r(H, 4 * H)
    Hs, dZ = r(T, B, H), r(T, B, 4 * H)
    A, out_h = np.empty((T * B, 4 * H), dtype), np.empty((B, 4 * H), dtype)
    dh, dx = np.empty((B, H), dtype), np.empty((T * B, D), dtype)
    dWx, dWh = np.empty((D, 4 * H), dtype), np.empty((H, 4 * H), dtype)
    WhT = np.ascontiguousarray(Wh.T)
    mm = np.matmul
    if lib == "torch":                              # tensors sharing the arrays' memory
        X, Wx, Wh, Hs, dZ, A, out_h, dh, dx, dWx, dWh, WhT = (
            torch.from_numpy(v) for v in (X, Wx, Wh, Hs, dZ, A, out_h, dh, dx, dWx, dWh, WhT))
        mm = torch.mm
    Hf, dZf = Hs.reshape(T * B, H), dZ.reshape(T * B, 4 * H)

    def run():
        mm(X, Wx, out=A)                            # input projection, all steps
        for t in range(T):
            mm(Hs[t], Wh, out=out_h)                # recurrent product, forward
        for t in range(T - 1, -1, -1):
            mm(dZ[t], WhT, out=dh)                  # recurrent product, backward
        mm(X.T, dZf, out=dWx)
        mm(Hf.T, dZf, out=dWh)
        mm(dZf, Wx.T, out=dx)
    return run


def matmul_flops(B, T, D, H):
    return 3 * 2 * B * T * 4 * H * (D + H)


CLOCK = time.process_time if ARGS.clock == "cpu" else time.perf_counter


def _calibrate(fn, min_sample):
    fn()                                            # warm-up (allocations, thread pools, caches)
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    return max(1, int(np.ceil(min_sample / max(dt, 1e-9))))


SETTLE_S = 0.25


def _sample(fn, number, settle=False):
    gc.collect()
    gc.disable()
    try:
        if settle:
            time.sleep(SETTLE_S)                    # the other library's idle worker threads stop spinning
            fn()                                    # untimed: this library's threads are awake again
        t0 = CLOCK()
        for _ in range(number):
            fn()
        return (CLOCK() - t0) / number
    finally:
        gc.enable()


def time_round_robin(fns, repeats, min_sample, settle=False):
    """Median seconds per call of each fn, sampled in turn (round-robin) after a warm-up.

    settle: before each sample, pause SETTLE_S seconds, then make one untimed call. After a call,
    OpenBLAS's and torch's OpenMP worker threads keep spinning for a while, waiting for more work; on
    2 CPUs they slow down whatever runs next, by up to 2x when it is the other library. The pause lets
    them go idle, and the untimed call wakes this library's own threads, as in a training loop that
    uses one library only."""
    numbers = {k: _calibrate(f, min_sample) for k, f in fns.items()}
    samples = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            samples[k].append(_sample(f, numbers[k], settle))
    return {k: statistics.median(v) for k, v in samples.items()}, samples


def check_agreement(dtype="float64"):
    """Before timing: lstm_lit, the naive per-gate LSTM and torch agree on a small float64 problem."""
    rng = np.random.default_rng(0)
    B, T, D, H = 3, 6, 4, 5
    params = init_lstm(D, H, rng, dtype=np.float64)
    params["b"] = rng.standard_normal(4 * H)        # non-zero biases in every gate
    x, h0, C0 = rng.standard_normal((B, T, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    R, dCT = rng.standard_normal((B, T, H)), rng.standard_normal((B, H))
    h, CT, cache = lstm_forward(x, h0, C0, **params)
    dx, dh0, dC0, dWx, dWh, db = lstm_backward(R, cache, dCT)
    gates = split_gates(params)
    h_n, CT_n, caches = naive_forward(x, h0, C0, gates)
    h_s, _ = naive_forward_step_fn(x, h0, C0, gates)
    dx_n, dh0_n, dC0_n, g = naive_backward(R, caches, dCT)
    fused_grads = fuse_gates(g)        # per-gate gradients have the per-gate weights' layout
    dWx_n, dWh_n, db_n = fused_grads["Wx"], fused_grads["Wh"], fused_grads["b"]
    errs = {"h": h - h_n, "C_T": CT - CT_n, "h (lstm_step_per_gate)": h - h_s, "dx": dx - dx_n,
            "dh0": dh0 - dh0_n, "dC0": dC0 - dC0_n, "dWx": dWx - dWx_n, "dWh": dWh - dWh_n, "db": db - db_n}
    worst = max(float(np.max(np.abs(e))) for e in errs.values())
    assert worst < 1e-10, {k: float(np.max(np.abs(e))) for k, e in errs.items()}
    msg = f"agreement check (float64, B,T,D,H = {B},{T},{D},{H}): lstm_lit vs naive per-gate max |diff| {worst:.1e}"
    if torch is not None:
        m = torch_lstm(params, D, H, "float64")
        xt = torch.tensor(x, requires_grad=True)
        out, (hn, cn) = m(xt, (torch.tensor(h0)[None], torch.tensor(C0)[None]))
        ((out * torch.tensor(R)).sum() + (cn[0] * torch.tensor(dCT)).sum()).backward()
        terr = max(float(np.max(np.abs(out.detach().numpy() - h))),
                   float(np.max(np.abs(xt.grad.numpy() - dx))),
                   float(np.max(np.abs(m.weight_hh_l0.grad.numpy().T - dWh))),
                   float(np.max(np.abs(m.bias_ih_l0.grad.numpy() - db))))
        assert terr < 1e-10, terr
        msg += f"; vs torch {terr:.1e}"
    print(msg)


def lit_and_torch(size, dtype):
    """The timed problem at one size and dtype, and the lstm_lit and torch callables that run it.

    Returns (params, x, h0, C0, R, fns) with fns {"lit fwd", "lit f+b"} and, when torch is installed,
    {"torch fwd", "torch f+b"}; f+b is forward + backward of sum(h * R)."""
    B, T, D, H = size
    rng = np.random.default_rng(0)
    dt = np.dtype(dtype)
    params = init_lstm(D, H, rng, dtype=dt)
    x = rng.standard_normal((B, T, D)).astype(dt)
    h0 = (0.5 * rng.standard_normal((B, H))).astype(dt)
    C0 = (0.5 * rng.standard_normal((B, H))).astype(dt)
    R = rng.standard_normal((B, T, H)).astype(dt)
    Wx, Wh, b = params["Wx"], params["Wh"], params["b"]

    def lit_fwd():
        return lstm_forward(x, h0, C0, Wx, Wh, b)

    def lit_fb():
        _, _, cache = lstm_forward(x, h0, C0, Wx, Wh, b)
        return lstm_backward(R, cache)

    fns = {"lit fwd": lit_fwd, "lit f+b": lit_fb}
    if torch is not None:
        m = torch_lstm(params, D, H, dtype)
        tx = torch.from_numpy(x).requires_grad_(True)
        th0, tC0, tR = torch.from_numpy(h0)[None], torch.from_numpy(C0)[None], torch.from_numpy(R)

        def torch_fwd():
            return m(tx, (th0, tC0))

        def torch_fb():
            m.zero_grad(set_to_none=True)
            tx.grad = None
            out, _ = m(tx, (th0, tC0))
            (out * tR).sum().backward()

        fns["torch fwd"], fns["torch f+b"] = torch_fwd, torch_fb
    return params, x, h0, C0, R, fns


def bench_one(size, dtype, repeats, min_sample):
    B, T, D, H = size
    params, x, h0, C0, R, fns = lit_and_torch(size, dtype)
    if not ARGS.no_naive:
        gates = split_gates(params)

        def naive_fwd():
            return naive_forward(x, h0, C0, gates)

        def naive_fb():
            _, _, caches = naive_forward(x, h0, C0, gates)
            return naive_backward(R, caches)

        fns["naive fwd"], fns["naive f+b"] = naive_fwd, naive_fb
    fns["GEMM"] = gemm_plan(B, T, D, H, np.dtype(dtype))
    med, samples = time_round_robin(fns, repeats, min_sample, settle=True)
    flops = matmul_flops(B, T, D, H)
    res = {"size": list(size), "dtype": dtype, "median_s": med, "samples_s": samples, "matmul_flops": flops}
    res["lit_gflops"] = flops / med["lit f+b"] / 1e9
    res["gemm_gflops"] = flops / med["GEMM"] / 1e9
    res["gemm_percent"] = 100.0 * med["GEMM"] / med["lit f+b"]
    if "torch f+b" in med:
        res["lit_over_torch_fb"] = med["lit f+b"] / med["torch f+b"]
        res["lit_over_torch_fwd"] = med["lit fwd"] / med["torch fwd"]
    if "naive f+b" in med:
        res["naive_over_lit_fb"] = med["naive f+b"] / med["lit f+b"]
        res["naive_over_lit_fwd"] = med["naive fwd"] / med["lit fwd"]
    return res


# ----------------------------------------------------------------------------------------------------
# Profile (--profile): where the forward + backward time goes
# ----------------------------------------------------------------------------------------------------
MATMUL_OPS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::addmv", "aten::mv")


def torch_ops(fn, calls):
    """torch.profiler's self time per call of each operator in fn (seconds), and their sum."""
    from torch.profiler import ProfilerActivity, profile
    fn()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(calls):
            fn()
    ops = {e.key: e.self_cpu_time_total / calls / 1e6 for e in prof.key_averages()}
    return ops, sum(ops.values())


def profile_one(size, dtype, repeats, min_sample, calls=5):
    B, T, D, H = size
    *_, both = lit_and_torch(size, dtype)
    fns = {"lit f+b": both["lit f+b"], "GEMM": gemm_plan(B, T, D, H, np.dtype(dtype))}
    if torch is not None:
        fns["torch GEMM"] = gemm_plan(B, T, D, H, np.dtype(dtype), lib="torch")
        fns["torch f+b"] = both["torch f+b"]
    med, _ = time_round_robin(fns, repeats, min_sample, settle=True)
    res = {"size": list(size), "dtype": dtype, "median_s": med}
    if torch is not None:
        res["torch_ops_s"], res["torch_profiled_s"] = torch_ops(fns["torch f+b"], calls)
    return res


def print_profile(r):
    size, dtype, med = tuple(r["size"]), r["dtype"], r["median_s"]

    def row(label, v, total=None):
        share = f"  {100 * v / total:3.0f}%" if total else ""
        print(f"  {label:<66s}{1e3 * v:8.1f} ms{share}")

    lit, gemm = med["lit f+b"], med["GEMM"]
    print(f"\n{size} {dtype}: forward + backward, ms per call (medians of interleaved samples)")
    row("lstm_lit", lit)
    row("  its matrix products, timed alone (NumPy's BLAS)", gemm, lit)
    row("  everything else (the difference)", lit - gemm, lit)
    if "torch f+b" not in med:
        print("  (torch not installed: no comparison)")
        return
    tfb, tgemm = med["torch f+b"], med["torch GEMM"]
    row("torch.nn.LSTM", tfb)
    row(f"  lstm_lit's products done by torch's BLAS (NumPy's take {gemm / tgemm:.2f}x)", tgemm)
    ops, ptot = r["torch_ops_s"], r["torch_profiled_s"]
    fused = sum(v for k, v in ops.items() if "mkldnn_rnn" in k)
    mm = sum(v for k, v in ops.items() if k in MATMUL_OPS)
    row("  torch.profiler, self time of all its operators", ptot)
    if fused:
        row("    fused oneDNN LSTM kernels (products and element-wise together)", fused, ptot)
    if mm:
        row("    matrix products (" + ", ".join(k for k in MATMUL_OPS if k in ops) + ")", mm, ptot)
    row("    every other operator", ptot - fused - mm, ptot)
    goal = TARGETS.get((dtype, size))
    if goal is not None:
        allowed = goal * tfb
        left = allowed - gemm
        need = f"{(lit - gemm) / left:.1f}x the time left" if left > 0 else "the products alone exceed it"
        print(f"  target lit/torch <= {goal}: lstm_lit <= {1e3 * allowed:.1f} ms, which leaves"
              f" {1e3 * left:.1f} ms besides the products; everything else takes {1e3 * (lit - gemm):.1f} ms"
              f" ({need}): {'met' if lit <= allowed else 'missed'}")
    pct = GEMM_PERCENT_TARGET.get(size)
    if pct is not None:
        allowed = gemm / (pct / 100)
        print(f"  target >= {pct:.0f}% of the GEMM-alone GFLOP/s: lstm_lit <= {1e3 * allowed:.1f} ms, which leaves"
              f" {1e3 * (allowed - gemm):.1f} ms besides the products; everything else takes"
              f" {1e3 * (lit - gemm):.1f} ms: {'met' if lit <= allowed else 'missed'}")


def _ms(v):
    return f"{1e3 * v:9.2f}" if v is not None else f"{'-':>9}"


def _x(v):
    return f"{v:7.2f}" if v is not None else f"{'-':>7}"


def print_table(results):
    head = (f"{'B, T, D, H':<16} {'dtype':<7} {'lit fwd':>9} {'lit f+b':>9} {'torch fwd':>9} {'torch f+b':>9}"
            f" {'naive fwd':>9} {'naive f+b':>9} {'lit/torch':>9} {'naive/lit':>9}"
            f" {'lit GF/s':>8} {'GEMM GF/s':>9} {'% GEMM':>7}")
    print("\nTimes in ms (median per call); ratios are of forward + backward times (f+b).")
    print(head)
    print("-" * len(head))
    for r in results:
        m = r["median_s"]
        size = ", ".join(str(s) for s in r["size"])
        print(f"{size:<16} {r['dtype']:<7} {_ms(m['lit fwd'])} {_ms(m['lit f+b'])} {_ms(m.get('torch fwd'))}"
              f" {_ms(m.get('torch f+b'))} {_ms(m.get('naive fwd'))} {_ms(m.get('naive f+b'))}"
              f"   {_x(r.get('lit_over_torch_fb'))}   {_x(r.get('naive_over_lit_fb'))}"
              f" {r['lit_gflops']:8.1f} {r['gemm_gflops']:9.1f} {r['gemm_percent']:6.1f}%")


def print_targets(results):
    print("\nTargets (forward + backward):")
    if torch is None:
        print("  (torch not timed: the lit/torch targets are not evaluated)")
    for r in results:
        size, dtype = tuple(r["size"]), r["dtype"]
        goal = TARGETS.get((dtype, size))
        if goal is not None and "lit_over_torch_fb" in r:
            ok = "met   " if r["lit_over_torch_fb"] <= goal else "MISSED"
            print(f"  {ok} {dtype} {size}: lit/torch {r['lit_over_torch_fb']:.2f} (target <= {goal})")
        pct = GEMM_PERCENT_TARGET.get(size)
        if pct is not None and ARGS.split_batch:
            print(f"  (--split-batch: the GEMM column ran on one thread, so the {pct:.0f}% target is not evaluated)")
        elif pct is not None:
            ok = "met   " if r["gemm_percent"] >= pct else "MISSED"
            print(f"  {ok} {dtype} {size}: {r['gemm_percent']:.0f}% of the GEMM-alone GFLOP/s (target >= {pct:.0f}%)")


def main():
    sizes = DEFAULT_SIZES if not ARGS.quick else QUICK_SIZES
    if ARGS.sizes:
        sizes = [tuple(int(v) for v in s.split(",")) for s in ARGS.sizes]
        if any(len(s) != 4 for s in sizes):
            sys.exit("--sizes expects B,T,D,H for each size, e.g. --sizes 32,50,64,128")
    dtypes = (ARGS.dtypes or "float32,float64").split(",")
    repeats = ARGS.repeats or (3 if ARGS.quick else 9)
    min_sample = ARGS.min_sample if not ARGS.quick else min(ARGS.min_sample, 0.005)

    print(f"lstm_speed: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    print(f"python {platform.python_version()}, numpy {np.__version__} ({blas.get('name')} {blas.get('version')}), "
          f"threads: OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}", end="")
    try:
        from threadpoolctl import threadpool_info
        print(", threadpoolctl:", [(i["internal_api"], i["num_threads"]) for i in threadpool_info()], end="")
    except ImportError:
        pass
    if torch is not None:
        torch.set_num_threads(THREADS)
        print(f", torch {torch.__version__} num_threads={torch.get_num_threads()}"
              f" (mkldnn {'on' if torch.backends.mkldnn.is_available() else 'off'})")
    else:
        print("\ntorch: not installed (or --no-torch): the torch columns are skipped")
    print(f"fused implementation timed: {IMPL_NAME}; repeats={repeats}, round-robin, median; "
          f"each sample lasts >= {min_sample * 1e3:.0f} ms; clock: {ARGS.clock}")
    load = os.getloadavg()
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    check_agreement()

    if ARGS.profile:
        if ARGS.split_batch:
            sys.exit("--profile and --split-batch do not go together: the profile compares 2-thread products")
        if not ARGS.sizes:
            sizes = [(32, 50, 64, 128), (64, 100, 128, 256)]
        for size in sizes:
            for dtype in dtypes:
                print_profile(profile_one(size, dtype, repeats, min_sample))
        load = os.getloadavg()
        print(f"load average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        return

    results = []
    for size in sizes:
        for dtype in dtypes:
            t0 = time.perf_counter()
            r = bench_one(size, dtype, repeats, min_sample)
            results.append(r)
            print(f"  timed {size} {dtype} in {time.perf_counter() - t0:.1f} s", flush=True)
    print_table(results)
    print_targets(results)
    load = os.getloadavg()
    print(f"load average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")

    if ARGS.json:
        path = Path(ARGS.json) if ARGS.json != "auto" else (
            ROOT / "benchmarks" / "results" / f"lstm_speed-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"), "node": platform.node(),
                "cpus": os.cpu_count(), "threads": THREADS, "numpy": np.__version__,
                "torch": torch.__version__ if torch is not None else None, "impl": IMPL_NAME,
                "repeats": repeats, "clock": ARGS.clock, "load_average_end": load}
        path.write_text(json.dumps({"meta": meta, "results": results}, indent=1))
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
