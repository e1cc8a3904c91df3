"""Notebooks run cell by cell in one shared kernel, until their first error: the workbook tests
(tests/test_workbooks.py) and the classic-mistake tests (tests/test_grading.py)."""
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.fixture(scope="module")
def kernel():
    """One kernel for every notebook of a test module (a start-up each would cost ~1-2 s):
    each run starts with `%reset -f`, so it sees no name of the one before; cwd notebooks/
    as nbval."""
    client = NotebookClient(nbformat.v4.new_notebook(), timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    with client.setup_kernel():
        yield client


def run_until_first_error(client, nb):
    """Execute cell by cell; return (index of the first failing cell, its error output),
    or (None, None) when every cell runs."""
    client.nb = nb
    client.execute_cell(nbformat.v4.new_code_cell("%reset -f"), 0)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        try:
            client.execute_cell(cell, index)
        except CellExecutionError:
            errors = [o for o in cell.outputs if o.output_type == "error"]
            return index, errors[0]
    return None, None
