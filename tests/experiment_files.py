"""Helpers for the tests that read a committed experiment's results file
(experiments/<name>.json, written by experiments/<script>.py with experiments/_provenance.py)."""
import json
from pathlib import Path

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"


def load_results(name):
    """experiments/<name>.json, parsed."""
    return json.loads((EXPERIMENTS / f"{name}.json").read_text())


def assert_provenance(results, script, environment=("python", "numpy", "git_commit")):
    """A results file records the command that wrote it (python experiments/<script>.py),
    a positive run time, and a non-empty value for each environment entry named."""
    assert results["command"] == f"python experiments/{script}.py"
    assert results["seconds"] > 0
    for key in environment:
        assert results["environment"][key], key
