"""Shared fixtures for the unit tests."""
import importlib.util
from pathlib import Path

import pytest

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"


@pytest.fixture(scope="session")
def experiment_script():
    """A loader: name -> the module experiments/<name>.py (a script, not a package), loaded once
    per test session, so a test can re-run part of a committed experiment with its own code."""
    loaded = {}

    def load(name):
        if name not in loaded:
            path = EXPERIMENTS / f"{name}.py"
            spec = importlib.util.spec_from_file_location(f"experiments_{name}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            loaded[name] = module
        return loaded[name]

    return load
