"""The workbooks (tools/make_workbook.py) grade for real.

For every chapter that exports code:
(a) its workbook, executed like the chapter (fresh kernel, cwd notebooks/), stops at its first
    failing cell, and that failure is a stub's NotImplementedError with its hint: no cell before
    it fails, and execution stops there (cheap: the kernel never runs the rest);
(b) putting the reference bodies back (read from lstm_lit/, the exported library) gives the
    chapter's own source, cell for cell. The chapter passes nbval strict (`make nbval`), so the
    restored workbook passes every check the chapter makes.
Plus the tool's clear errors on bad input.
"""
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import make_workbook as mw  # noqa: E402
from notebook_runner import kernel, run_until_first_error  # noqa: E402,F401 (a fixture)

CHAPTERS = [p for p in mw.chapters()
            if any(mw._is_export(c) for c in nbformat.read(p, as_version=4).cells)]
IDS = [p.stem for p in CHAPTERS]


def test_every_chapter_with_code_has_a_workbook():
    assert len(CHAPTERS) >= 25
    no_code = sorted(set(p.name for p in mw.chapters()) - set(p.name for p in CHAPTERS))
    for name in no_code:
        with pytest.raises(mw.WorkbookError, match="no '#| export' cell"):
            mw.make_workbook(ROOT / "notebooks" / name)


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_restoring_the_reference_gives_the_chapter_back(path):
    workbook, stubbed = mw.make_workbook(path)
    assert stubbed, path.name
    chapter = nbformat.read(path, as_version=4)
    assert sum(mw.MARKER in c.source for c in workbook.cells) > 0
    assert all(not c.get("outputs") for c in workbook.cells if c.cell_type == "code")
    restored = mw.restore(workbook, mw._default_module(chapter, path))
    assert len(restored.cells) == len(chapter.cells)
    for ours, theirs in zip(restored.cells, chapter.cells):
        assert ours.source == theirs.source, f"{path.name}, cell {theirs.get('id')}"
    # no later cell re-imports a stubbed name from the library (it would hide the stub)
    assert mw.check_imports(path, stubbed) == []


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_workbook_stops_at_a_stub(path, kernel):
    workbook, stubbed = mw.make_workbook(path)
    start = time.perf_counter()
    index, error = run_until_first_error(kernel, workbook)
    seconds = time.perf_counter() - start
    assert index is not None, f"{path.name}: the workbook ran to the end with its stubs"
    assert error.ename == "NotImplementedError", (path.name, error.ename, error.evalue)
    assert error.evalue.startswith(mw.MARKER), (path.name, error.evalue)
    name = error.evalue.split("write the body of ", 1)[1].split("()", 1)[0]
    assert name in stubbed
    print(f"{path.name}: stops at cell {index} on {name}() after {seconds:.1f} s")


def test_bad_input_errors(tmp_path):
    chapter = ROOT / "notebooks" / "01_neurons.ipynb"
    with pytest.raises(mw.WorkbookError, match="exports no function.*named sigmod"):
        mw.make_workbook(chapter, only={"sigmod"})
    nb, stubbed = mw.make_workbook(chapter, only={"sigmoid"})
    assert stubbed == ["sigmoid"]
    empty = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    nbformat.write(empty, tmp_path / "99_empty.ipynb")
    with pytest.raises(mw.WorkbookError, match="no '#| export' cell"):
        mw.make_workbook(tmp_path / "99_empty.ipynb")
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "make_workbook.py"),
                          str(tmp_path / "99_empty.ipynb"), "--out", str(tmp_path)],
                         capture_output=True, text=True)
    assert run.returncode != 0 and "nothing to turn into a workbook" in run.stderr


def test_exercise_tag_and_methods(tmp_path):
    src = ('#| export\nclass Model:\n    """A model."""\n\n    def __init__(self, H):\n'
           '        """Keep H."""\n        self.H = H\n\n    def _private(self):\n'
           '        return 1\n\n    def forward(self, x):\n        raise NotImplementedError\n')
    cells = [nbformat.v4.new_code_cell("#| default_exp neurons"),
             nbformat.v4.new_code_cell(src),
             nbformat.v4.new_code_cell("# Exercise: compute y\ny = 2 * 3",
                                       metadata={"tags": [mw.EXERCISE_TAG]})]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), tmp_path / "99_x.ipynb")
    nb, stubbed = mw.make_workbook(tmp_path / "99_x.ipynb")
    assert stubbed[0] == "Model.__init__" and stubbed[1].startswith("exercise cell")
    assert nb.cells[0].metadata["tags"] == [mw.SETUP_TAG]
    assert "self.H = H" not in nb.cells[2].source and "return 1" in nb.cells[2].source
    assert nb.cells[3].source.startswith("# Exercise: compute y\nraise NotImplementedError(")


def test_workbooks_page_is_up_to_date():
    assert mw.PAGE.read_text() == mw.page_text(), (
        "book/workbooks.md is out of date: run .venv/bin/python tools/make_workbook.py --page")


def _gated_solution_code(nb):
    """Code cells between a solution-start and its solution-end."""
    inside, cells = False, []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            if "{solution-start}" in cell.source:
                inside = True
            if cell.source.rfind("{solution-end}") > cell.source.rfind("{solution-start}"):
                inside = False
        elif inside:
            cells.append(cell)
    return cells


@pytest.mark.skipif(not (ROOT / "_mathjax" / "_static" / "mathjax" / "tex-chtml.js").exists(),
                    reason="the book needs its MathJax copy (make mathjax)")
def test_solutions_free_page_has_no_solution(tmp_path):
    """One chapter built alone with the solutions-free configuration (~5 s; the whole edition
    is `make book-nosolutions`): exercises kept, no solution box, no gated solution's code."""
    import re
    import book_nosolutions
    chapter = ROOT / "notebooks" / "10_lstm.ipynb"
    nb = nbformat.read(chapter, as_version=4)
    gated = _gated_solution_code(nb)
    assert gated, "10_lstm.ipynb has no gated solution to check"
    config = book_nosolutions.write_config(tmp_path / "_config_nosolutions.yml")
    subprocess.run([str(Path(sys.executable).with_name("jupyter-book")), "build", "--config",
                    str(config), "--path-output", str(tmp_path), str(chapter)],
                   check=True, capture_output=True, cwd=ROOT)
    html = next(tmp_path.rglob("10_lstm.html")).read_text(encoding="utf8")
    text = re.sub(r"<[^>]+>", "", html).replace("&quot;", '"').replace("&#39;", "'")
    assert 'class="solution' not in html and 'id="ex-lstm-1"' in html
    every = "\n".join(c.source for c in nb.cells)
    kept = [c for c in nb.cells if c.cell_type == "code" and c not in gated
            and "remove-cell" not in c.metadata.get("tags", [])]

    def unique_lines(cells):
        return [line.strip() for c in cells for line in c.source.splitlines()
                if len(line.strip()) > 20 and every.count(line.strip()) == 1
                and not set(line) & set("<>&\"'")]

    assert any(line in text for line in unique_lines(kept))  # code text is searchable
    leaked = [line for line in unique_lines(gated) if line in text]
    assert unique_lines(gated) and not leaked, leaked
