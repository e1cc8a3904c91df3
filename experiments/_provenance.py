"""Provenance of an experiment's results: the versions, machine and git state a script records.

Every script in experiments/ writes ``environment(...)`` (or, for the character model's two
scripts, ``git_commit()``) into its results file, so a reader can tell which code, NumPy and BLAS
made the numbers. A script imports this module after putting its own folder on ``sys.path``,
which works both when it is run (``python experiments/<name>.py``) and when a test or a chapter
loads it from its path with importlib.
"""
import os
import platform
import subprocess
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

# The variables that change which kernels run or how many threads they use.
KERNEL_VARIABLES = ("OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES")


def _git(*args):
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout


def git_commit():
    """The commit checked out at ROOT, or None outside a git checkout."""
    try:
        return _git("rev-parse", "HEAD").strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def git_state(watched):
    """(commit, sorted paths under ``watched`` with uncommitted changes), or (None, None).

    ``watched`` are paths from ROOT (files or folders); nbdev's generated ``_modidx.py`` is left
    out, since exporting any notebook rewrites it.
    """
    try:
        commit = _git("rev-parse", "HEAD").strip()
        status = _git("status", "--porcelain", "--", *watched).split("\n")
    except (OSError, subprocess.CalledProcessError):
        return None, None
    return commit, sorted(line[3:] for line in status
                          if line.strip() and not line.endswith("_modidx.py"))


def blas_name():
    """NumPy's BLAS, with its build configuration (OpenBLAS names its kernel family there)."""
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    return blas.get("openblas configuration", blas.get("name"))


def cpu_model():
    """The CPU's model name from /proc/cpuinfo, or None where there is none (not Linux)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def environment(watched=None, *, blas=True, cpu=False, variables=KERNEL_VARIABLES):
    """The "environment" record of a results file.

    Keys, in this order: python, numpy, blas (if ``blas``), machine, cpu and cpu_count (if
    ``cpu``), git_commit, uncommitted_changes (if ``watched``, the paths from ROOT whose
    uncommitted edits could change the results), and env (those of ``variables`` that are set).
    """
    if watched is None:
        commit, changed = git_commit(), None
    else:
        commit, changed = git_state(watched)
    record = {"python": platform.python_version(), "numpy": np.__version__}
    if blas:
        record["blas"] = blas_name()
    record["machine"] = platform.machine()
    if cpu:
        record["cpu"], record["cpu_count"] = cpu_model(), os.cpu_count()
    record["git_commit"] = commit
    if watched is not None:
        record["uncommitted_changes"] = changed
    record["env"] = {k: os.environ[k] for k in variables if k in os.environ}
    return record
