"""Run nbval (strict) on the notebooks under this CPU's own kernels, then under other CPUs' kernels.

Usage: python tools/run_nbval.py [--only NAME] [--jobs N] [notebooks/NN_x.ipynb ...]   (default: every notebook)

The stored outputs must be what the code prints on any reader's CPU, not only on the machine that executed
them. Two libraries pick their kernels by CPU: OpenBLAS (matrix products; `OPENBLAS_CORETYPE` forces a
kernel family) and NumPy's own SIMD loops (tanh, exp, sums; `NPY_DISABLE_CPU_FEATURES` turns features off).
Each emulated CPU forces both:

- own:         this machine as it is.
- haswell:     an AVX2 + FMA CPU without AVX-512 (most laptops; AMD Zen; many cloud runners).
- sandybridge: an AVX CPU without AVX2 or FMA (older laptops and desktops).

An emulation is skipped when this CPU lacks the features it needs (its kernels would not run here) or when it
is this CPU already (same OpenBLAS core and nothing to turn off). Off x86-64 only `own` runs.

The runs are independent, so they go in parallel: each configuration's notebooks are split into --jobs parts
(2 by default: CI has 2 cores) and that many pytest processes run at once; a failing run prints its whole
output. Exits non-zero if any run fails; prints one summary line per configuration.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

# name -> (OpenBLAS core type, the NumPy CPU features that CPU has at most above the baseline)
EMULATIONS = {
    "haswell": ("Haswell", {"MMX", "SSE", "SSE2", "SSE3", "SSSE3", "SSE41", "POPCNT", "SSE42", "AVX", "F16C",
                            "FMA3", "AVX2"}),
    "sandybridge": ("Sandybridge", {"MMX", "SSE", "SSE2", "SSE3", "SSSE3", "SSE41", "POPCNT", "SSE42", "AVX"}),
}
NEEDS = {"haswell": {"AVX2", "FMA3"}, "sandybridge": {"AVX"}}


def _probe(env=None) -> dict:
    """This CPU's NumPy features, the ones NumPy dispatches on, and the OpenBLAS core picked under env."""
    code = ("import json, numpy\n"
            "from numpy._core._multiarray_umath import __cpu_features__ as f, __cpu_dispatch__ as d\n"
            "print(json.dumps({'features': [k for k, v in f.items() if v], 'dispatch': list(d)}))\n")
    out = subprocess.run([PY, "-c", code], env={**os.environ, **(env or {}), "OPENBLAS_VERBOSE": "2"},
                         capture_output=True, text=True, check=True)
    info = json.loads(out.stdout.strip().splitlines()[-1])
    core = [line.split(":", 1)[1].strip() for line in out.stderr.splitlines() if line.startswith("Core:")]
    info["core"] = core[0] if core else "unknown"
    return info


def configurations() -> list[tuple[str, dict, str]]:
    """(name, extra environment, description) for each run, own kernels first."""
    own = _probe()
    runs = [("own", {}, f"this CPU (OpenBLAS core {own['core']})")]
    if platform.machine().lower() not in ("x86_64", "amd64"):
        print(f"run_nbval: {platform.machine()} is not x86-64: only this CPU's own kernels are checked")
        return runs
    have, dispatch = set(own["features"]), set(own["dispatch"])
    for name, (core, allowed) in EMULATIONS.items():
        if not NEEDS[name] <= have:
            print(f"run_nbval: skip {name}: this CPU lacks {sorted(NEEDS[name] - have)}")
            continue
        disable = sorted((have & dispatch) - allowed)  # only these can be turned off
        if core.lower() == own["core"].lower() and not disable:
            print(f"run_nbval: skip {name}: it is this CPU's own configuration")
            continue
        env = {"OPENBLAS_CORETYPE": core}
        if disable:
            env["NPY_DISABLE_CPU_FEATURES"] = " ".join(disable)
        got = _probe(env)
        if got["core"].lower() != core.lower():
            print(f"run_nbval: skip {name}: OpenBLAS ran {got['core']} when asked for {core}")
            continue
        runs.append((name, env, f"OpenBLAS core {core}, NumPy without {', '.join(disable) or 'nothing'}"))
    return runs


def _notebooks(paths: list[str]) -> list[Path]:
    """The notebooks named (a folder stands for the notebooks in it), in order."""
    found = []
    for p in paths:
        path = (ROOT / p) if not Path(p).is_absolute() else Path(p)
        if path.is_dir():
            found += sorted(path.glob("*.ipynb"))
        elif path.suffix == ".ipynb" and path.exists():
            found.append(path)
        else:
            raise SystemExit(f"run_nbval: {p} is neither a notebook nor a folder of notebooks")
    return found


def _chunks(notebooks: list[Path], parts: int) -> list[list[Path]]:
    """Split the notebooks into ``parts`` lists of about equal size (bytes of stored JSON as the weight:
    a rough proxy for execution time), keeping the book's order inside each list."""
    parts = max(1, min(parts, len(notebooks)))
    load, chunks = [0] * parts, [[] for _ in range(parts)]
    for nb in sorted(notebooks, key=lambda p: -p.stat().st_size):
        k = load.index(min(load))
        chunks[k].append(nb)
        load[k] += nb.stat().st_size
    return [sorted(c) for c in chunks if c]


def _run_job(name: str, env: dict, chunk: list[Path], threads: str | None) -> tuple[int, float, str]:
    if threads is not None:
        env = {**env, "OPENBLAS_NUM_THREADS": threads}
    cmd = [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env",
           "--nbval-sanitize-with", "tools/nbval_sanitize.cfg", *[str(p.relative_to(ROOT)) for p in chunk]]
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    return out.returncode, time.perf_counter() - start, out.stdout


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run only this configuration (own, haswell, sandybridge)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="pytest processes at once (default: 2, or 1 on a 1-CPU machine); each "
                             "configuration's notebooks are split into this many parts")
    parser.add_argument("paths", nargs="*", help="notebooks or folders (default: notebooks/)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1; got {args.jobs}")
    notebooks = _notebooks(args.paths or ["notebooks"])
    if not notebooks:
        print("run_nbval: no notebooks to check")
        return 2
    runs = configurations()
    if args.only:
        runs = [r for r in runs if r[0] == args.only]
        if not runs:
            print(f"run_nbval: configuration {args.only!r} is not available on this machine")
            return 2
    jobs = [(name, env, chunk) for name, env, _ in runs for chunk in _chunks(notebooks, args.jobs)]
    for name, _, description in runs:
        print(f"== nbval strict, kernels: {name} ({description})", flush=True)
    print(f"run_nbval: {len(notebooks)} notebook(s) x {len(runs)} configuration(s) in {len(jobs)} "
          f"pytest run(s), {args.jobs} at a time", flush=True)
    seconds, failed = {name: 0.0 for name, _, _ in runs}, {name: False for name, _, _ in runs}
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        # Runs side by side get one BLAS thread each (unless OPENBLAS_NUM_THREADS is set): several
        # processes whose OpenBLAS threads outnumber the cores wait on each other, up to 4x slower here.
        threads = None if args.jobs == 1 or "OPENBLAS_NUM_THREADS" in os.environ else "1"
        futures = {pool.submit(_run_job, name, env, chunk, threads): (name, chunk)
                   for name, env, chunk in jobs}
        for future in as_completed(futures):
            name, chunk = futures[future]
            code, took, output = future.result()
            seconds[name] += took
            failed[name] |= code != 0
            names = ", ".join(p.stem for p in chunk)
            verdict = "ok" if code == 0 else f"FAILED (exit {code})"
            print(f"\n-- {name}: {verdict} in {took:.1f} s: {names}", flush=True)
            if code != 0:
                print(output, flush=True)
            else:
                print(output.strip().splitlines()[-1] if output.strip() else "", flush=True)
    wall = time.perf_counter() - start
    summary = [f"  {name:<12} {'ok' if not failed[name] else 'FAILED':<8} {seconds[name]:6.1f} s"
               for name, _, _ in runs]
    print("\nnbval by kernels (seconds summed over its pytest runs):\n" + "\n".join(summary))
    print(f"nbval wall time: {wall:.1f} s with {args.jobs} job(s) at a time")
    return 1 if any(failed.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
