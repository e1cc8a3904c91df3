"""tests/browser/ runs against the built book in headless Chromium: `make browser` (a step of
`make test`, after the book build). The unit step (`pytest tests`) does not collect it: these tests
are collected only when LSTM_LIT_BROWSER=1 or when this folder is named on the command line."""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tools"))


def _named_on_command_line(config) -> bool:
    for arg in config.invocation_params.args:
        path = Path(config.invocation_params.dir, str(arg).split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path, config):
    if os.environ.get("LSTM_LIT_BROWSER") == "1" or _named_on_command_line(config):
        return None
    if collection_path == HERE or HERE in Path(collection_path).parents:
        return True
    return None
