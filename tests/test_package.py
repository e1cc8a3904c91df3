"""Package-wide promises: every public name is documented and links back to the chapter defining it."""
import importlib
import inspect
import json
import pkgutil
import re
from pathlib import Path

import pytest

import lstm_lit

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(m.name for m in pkgutil.iter_modules(lstm_lit.__path__) if not m.name.startswith("_"))


def _default_exp(notebook):
    for cell in json.loads(notebook.read_text())["cells"]:
        match = re.search(r"^#\|\s*default_exp\s+(\S+)", "".join(cell["source"]), re.M)
        if match:
            return match.group(1)
    return None


def test_every_module_comes_from_a_notebook():
    exporting = {_default_exp(nb) for nb in ROOT.glob("notebooks/*.ipynb")}
    assert MODULES, "no modules found in lstm_lit"
    assert set(MODULES) <= exporting, f"modules without a notebook: {set(MODULES) - exporting}"


@pytest.mark.parametrize("module_name", MODULES)
def test_public_names_have_docstrings_with_back_links(module_name):
    module = importlib.import_module(f"lstm_lit.{module_name}")
    public = getattr(module, "__all__", [])
    assert public, f"lstm_lit.{module_name} exports nothing"
    for name in public:
        obj = getattr(module, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue  # constants
        doc = inspect.getdoc(obj) or ""
        match = re.search(r"Defined in: (notebooks/\S+\.ipynb)", doc)
        assert match, f"lstm_lit.{module_name}.{name}: docstring lacks 'Defined in: notebooks/...'"
        notebook = ROOT / match.group(1)
        assert notebook.exists(), f"{name} links to {match.group(1)}, which does not exist"
        assert _default_exp(notebook) == module_name, f"{name} links to {notebook.name}, which exports elsewhere"
