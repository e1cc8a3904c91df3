"""Run nbval (strict) on the notebooks under this CPU's own kernels, then under other CPUs' kernels.

Usage: python tools/run_nbval.py [--only NAME] [notebooks/NN_x.ipynb ...]   (default: every notebook)

The stored outputs must be what the code prints on any reader's CPU, not only on the machine that executed
them. Two libraries pick their kernels by CPU: OpenBLAS (matrix products; `OPENBLAS_CORETYPE` forces a
kernel family) and NumPy's own SIMD loops (tanh, exp, sums; `NPY_DISABLE_CPU_FEATURES` turns features off).
Each emulated CPU forces both:

- own:         this machine as it is.
- haswell:     an AVX2 + FMA CPU without AVX-512 (most laptops; AMD Zen; many cloud runners).
- sandybridge: an AVX CPU without AVX2 or FMA (older laptops and desktops).

An emulation is skipped when this CPU lacks the features it needs (its kernels would not run here) or when it
is this CPU already (same OpenBLAS core and nothing to turn off). Off x86-64 only `own` runs. Exits non-zero
if any run fails; prints one summary line per run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run only this configuration (own, haswell, sandybridge)")
    parser.add_argument("paths", nargs="*", help="notebooks (default: notebooks/)")
    args = parser.parse_args(argv)
    paths = args.paths or ["notebooks"]
    runs = configurations()
    if args.only:
        runs = [r for r in runs if r[0] == args.only]
        if not runs:
            print(f"run_nbval: configuration {args.only!r} is not available on this machine")
            return 2
    summary, failed = [], False
    for name, env, description in runs:
        print(f"\n== nbval strict, kernels: {name} ({description})", flush=True)
        start = time.perf_counter()
        cmd = [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env",
               "--nbval-sanitize-with", "tools/nbval_sanitize.cfg", *paths]
        code = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **env}).returncode
        seconds = time.perf_counter() - start
        failed |= code != 0
        summary.append(f"  {name:<12} {'ok' if code == 0 else f'FAILED (exit {code})':<16} {seconds:6.1f} s")
    print("\nnbval by kernels:\n" + "\n".join(summary))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
