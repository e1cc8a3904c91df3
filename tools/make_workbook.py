"""Turn the book's chapters into workbooks: the exported code with its bodies removed.

Usage:
    python tools/make_workbook.py                       every chapter -> _build/workbooks/
    python tools/make_workbook.py notebooks/10_lstm.ipynb [--only lstm_forward ...]
    python tools/make_workbook.py --out DIR ...
    python tools/make_workbook.py --page                writes book/workbooks.md

What a workbook is. For every function defined in an `#| export` cell, and every method of a
class defined there, the body is replaced by a stub that raises NotImplementedError with a
hint (the function's name and the first line of its docstring); the signature, decorators and
docstring stay. Code cells tagged `workbook-exercise` are replaced whole by such a stub (their
leading comment lines kept). A first cell (tagged `workbook-setup`) moves to the checkout's
notebooks/ folder, where the chapter runs (it reads ../tests/fixtures, ../experiments), so a
workbook runs from anywhere in the checkout, and calls `lstm_lit.grading.explain_asserts`, so
that a failing plain `assert` shows the values it compared. Everything else stays, above all
the chapter's checks (gradient checks, values computed by hand, PyTorch fixtures, training
results), which now call the learner's functions: an export cell defines its functions in the
notebook's namespace, and the cells after it use those names. Outputs are cleared.

What is not stubbed: helpers whose names start with `_` (input checks and plumbing; `__init__`
and `__call__` are stubbed), bodies that are only a docstring, `pass`, `...` or a bare
`raise NotImplementedError` (abstract methods), and one-line `def f(): return x` bodies.

Functions that a chapter only imports (`from lstm_lit.lstm import lstm_forward`) are the
reference library's: the learner is not asked to write them, and library functions call the
reference versions, not the learner's (e.g. `lstm_lit.training.train` calls the model object it
is given, so a learner's model class is used, but `LSTMModel` from the library calls the library's
`lstm_forward`). `check_imports` lists any stubbed name that a later cell of the same chapter
re-imports from lstm_lit (it would hide the learner's version); none does today.

Why not nbgrader. nbgrader (the ecosystem's standard) marks solutions by hand with
`### BEGIN SOLUTION` / `### END SOLUTION` in a source notebook and grades through its own
database and Jupyter server extension (`pip download nbgrader` pulls about 100 packages, 74 MB,
among them jupyterlab, jupyter_server, SQLAlchemy and alembic). Here the chapter *is* the source:
the markers would be typed into every exported function of 28 chapters and copied by nbdev into
the library as comments, and the book's own checks already do the grading. So this generator
(standard library `ast` plus nbformat, both already used by the book) finds the bodies itself,
and `restore` puts them back from the exported library, which the test suite uses to prove that
the round trip gives the chapter back cell for cell.
"""
import argparse
import ast
import re
import sys
import textwrap
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
LIBRARY = ROOT / "lstm_lit"
DEFAULT_OUT = ROOT / "_build" / "workbooks"
EXERCISE_TAG = "workbook-exercise"
MARKER = "Workbook:"  # starts every stub's message; `restore` recognises stubs by it
STUBBED_DUNDERS = {"__init__", "__call__"}
SETUP_TAG = "workbook-setup"
SETUP = """\
# Workbook set-up: run in the repository's notebooks/ folder, as the chapter does (it reads
# ../tests/fixtures, ../experiments, ...), wherever in the checkout this workbook is.
import os
from pathlib import Path

for _up in [Path.cwd(), *Path.cwd().parents]:
    if (_up / "notebooks").is_dir() and (_up / "lstm_lit").is_dir():
        os.chdir(_up / "notebooks")
        break
else:
    raise RuntimeError("open this workbook inside a checkout of lstm-lit (with notebooks/)")

# A failing `assert` shows the values it compared (see the page "How the checks grade your code").
from lstm_lit.grading import explain_asserts

explain_asserts()"""

_EXPORT = re.compile(r"^#\|\s*export\b[ \t]*(\S*)", re.MULTILINE)
_DEFAULT_EXP = re.compile(r"^#\|\s*default_exp\s+(\S+)", re.MULTILINE)


class WorkbookError(ValueError):
    """A chapter cannot be turned into a workbook (the message says why)."""


def _is_export(cell):
    return cell.cell_type == "code" and _EXPORT.search(cell.source) is not None


def _docstring_node(node):
    body = node.body
    if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)):
        return body[0]
    return None


def _is_trivial(stmts):
    """Nothing to write: only `pass`, `...` or a bare `raise NotImplementedError`."""
    if not stmts:
        return True
    if len(stmts) > 1:
        return False
    s = stmts[0]
    if isinstance(s, ast.Pass):
        return True
    if isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and s.value.value is ...:
        return True
    if isinstance(s, ast.Raise) and s.exc is not None:
        exc = s.exc.func if isinstance(s.exc, ast.Call) else s.exc
        return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"
    return False


def _candidates(tree):
    """(qualified name, function node) for every top-level function and method."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield f"{node.name}.{item.name}", item


def _stub_worthy(qualname, node):
    name = qualname.rsplit(".", 1)[-1]
    if name.startswith("_") and name not in STUBBED_DUNDERS:
        return False
    doc = _docstring_node(node)
    rest = node.body[1:] if doc else node.body
    if _is_trivial(rest):
        return False
    return rest[0].lineno > node.lineno  # a one-line `def f(): return x` is left alone


def _body_span(node):
    """0-based [start, stop) line range of the body after the docstring."""
    doc = _docstring_node(node)
    start = doc.end_lineno if doc else node.body[0].lineno - 1
    return start, node.body[-1].end_lineno


def _first_doc_line(node):
    doc = ast.get_docstring(node)
    return doc.strip().splitlines()[0].strip() if doc else ""


def _stub_line(qualname, node, lines):
    start, _ = _body_span(node)
    first = node.body[1] if _docstring_node(node) else node.body[0]
    indent = lines[first.lineno - 1][: first.col_offset]
    hint = f"{MARKER} write the body of {qualname}()"
    goal = _first_doc_line(node)
    if goal:
        hint += f" -- {goal}"
    hint += " See the text above this cell."
    one = f"{indent}raise NotImplementedError({hint!r})"
    if len(one) <= 88:
        return one
    width = 88 - len(indent) - 8
    parts = textwrap.wrap(hint, width, drop_whitespace=False) or [hint]
    body = "\n".join(f"{indent}    {part!r}" for part in parts)
    return f"{indent}raise NotImplementedError(\n{body})"


def stub_source(source, only=None):
    """Return (new source, [stubbed qualified names]) for one export cell's source."""
    tree = ast.parse(source)
    lines = source.split("\n")
    spans = []
    for qualname, node in _candidates(tree):
        if only is not None and qualname not in only and qualname.split(".")[0] not in only:
            continue
        if _stub_worthy(qualname, node):
            spans.append((qualname, node, _body_span(node)))
    for qualname, node, (start, stop) in sorted(spans, key=lambda s: -s[2][0]):
        lines[start:stop] = [_stub_line(qualname, node, lines)]
    return "\n".join(lines), [q for q, _, _ in spans]


def _exercise_stub(cell, chapter):
    head = []
    for line in cell.source.split("\n"):
        if not line.startswith("#"):
            break
        head.append(line)
    hint = f"{MARKER} this exercise cell of {chapter} is yours to write."
    return "\n".join(head + [f"raise NotImplementedError({hint!r})"])


def module_of(cell, default):
    m = _EXPORT.search(cell.source)
    return (m.group(1) or default) if m else None


def _default_module(nb, path):
    for cell in nb.cells:
        if cell.cell_type == "code":
            m = _DEFAULT_EXP.search(cell.source)
            if m:
                return m.group(1)
    raise WorkbookError(f"{path.name}: no '#| default_exp' cell, so no exported module")


def setup_cell():
    """A workbook's first cell: SETUP, tagged (and with the id) SETUP_TAG."""
    cell = nbformat.v4.new_code_cell(SETUP, metadata={"tags": [SETUP_TAG]})
    cell["id"] = SETUP_TAG
    return cell


def make_workbook(path, only=None):
    """Return (workbook notebook, [stubbed names]) for one chapter.

    Raises WorkbookError if the chapter has no exported function to stub, or if a name in
    `only` is not a function, class or method exported by this chapter.
    """
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    exported = [c for c in nb.cells if _is_export(c)]
    tagged = [c for c in nb.cells
              if c.cell_type == "code" and EXERCISE_TAG in c.metadata.get("tags", [])]
    if not exported and not tagged:
        raise WorkbookError(
            f"{path.name} has no '#| export' cell and no cell tagged {EXERCISE_TAG!r}: "
            "nothing to turn into a workbook")
    if only is not None:
        known = set()
        for cell in exported:
            for qualname, _ in _candidates(ast.parse(cell.source)):
                known.update({qualname, qualname.split(".")[0]})
        missing = sorted(set(only) - known)
        if missing:
            raise WorkbookError(
                f"{path.name} exports no function, class or method named "
                f"{', '.join(missing)}; it exports: {', '.join(sorted(known))}")
    stubbed = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        if _is_export(cell):
            cell.source, names = stub_source(cell.source, only)
            stubbed += names
        elif cell in tagged and only is None:
            cell.source = _exercise_stub(cell, path.stem)
            stubbed.append(f"exercise cell {cell.get('id', '?')}")
    if not stubbed:
        raise WorkbookError(f"{path.name}: its exported cells define no function to stub")
    nb.cells.insert(0, setup_cell())
    nb.metadata["lstm_lit_workbook"] = {"chapter": path.name, "stubs": stubbed}
    return nb, stubbed


def _reference_bodies(module):
    """{qualified name: body lines after the docstring} from the exported library module."""
    source = (LIBRARY / (module.replace(".", "/") + ".py")).read_text()
    lines = source.split("\n")
    out = {}
    for qualname, node in _candidates(ast.parse(source)):
        if node.body:
            start, stop = _body_span(node)
            out[qualname] = lines[start:stop]
    return out


def restore(workbook, default_module):
    """Put the reference bodies (read from lstm_lit/, the exported library) back into a
    workbook's stubs. Exercise-cell stubs cannot be restored and raise WorkbookError."""
    nb = nbformat.from_dict(workbook)
    nb.cells = [c for c in nb.cells if SETUP_TAG not in c.metadata.get("tags", [])]
    cache = {}
    for cell in nb.cells:
        if cell.cell_type != "code" or MARKER not in cell.source:
            continue
        if not _is_export(cell):
            raise WorkbookError("an exercise cell's stub has no reference in lstm_lit/")
        module = module_of(cell, default_module)
        if module not in cache:
            cache[module] = _reference_bodies(module)
        ref = cache[module]
        lines = cell.source.split("\n")
        stubs = []
        for qualname, node in _candidates(ast.parse(cell.source)):
            doc = _docstring_node(node)
            rest = node.body[1:] if doc else node.body
            if (len(rest) == 1 and isinstance(rest[0], ast.Raise)
                    and MARKER in ast.get_source_segment(cell.source, rest[0])):
                stubs.append((qualname, rest[0]))
        for qualname, stmt in sorted(stubs, key=lambda s: -s[1].lineno):
            if qualname not in ref:
                raise WorkbookError(f"{qualname} is not in lstm_lit/{module}.py")
            lines[stmt.lineno - 1: stmt.end_lineno] = ref[qualname]
        cell.source = "\n".join(lines)
    nb.metadata.pop("lstm_lit_workbook", None)
    return nb


def check_imports(path, stubbed):
    """Stubbed names that a cell imports from lstm_lit *after* the export cell that defines
    them: there the reference version would replace the learner's. (An import before the
    definition is harmless: the export cell's `def` rebinds the name.)"""
    nb = nbformat.read(path, as_version=4)
    names = {s.split(".")[0] for s in stubbed}
    defined = set()
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython magics: not an import of ours
            continue
        if _is_export(cell):
            defined |= {q.split(".")[0] for q, _ in _candidates(tree)} & names
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lstm_lit"):
                for alias in node.names:
                    if alias.name == "*" or alias.name in defined:
                        found.append((cell.get("id"), node.module, alias.name))
    return found


def chapters():
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


PAGE = ROOT / "book" / "workbooks.md"
PAGE_HEAD = """\
(workbooks)=
# Workbooks

<!-- Generated by tools/make_workbook.py --page from the chapters: do not edit. -->

Every chapter that writes library code has a **workbook**: the same notebook, with the body of
each function (and method) the chapter writes replaced by a stub that raises
`NotImplementedError` with a hint. Signatures, docstrings, the text and, above all, the
chapter's own checks stay: the gradient checks, the values computed by hand, the comparisons
with PyTorch's stored results and the training results now run on your code. A workbook is
done when it runs from top to bottom.

## Getting the workbooks

Download a workbook from the table below, or generate them all in a checkout of the
repository, which also installs the library and its checks' data:

```bash
make workbook        # writes _build/workbooks/NN_subject.ipynb
```

Open a workbook anywhere inside the checkout (its first cell moves to the `notebooks/`
folder, where the chapter's data and fixtures are found), with the repository's environment
(`.venv`, created by `make install`). The workbooks are generated from the chapters by
`tools/make_workbook.py` and never edited by hand, so they cannot drift from the book.

## Working through a workbook

1. Read the chapter's text above each code cell, as in the book.
2. Run the cells in order. The first cell that calls a function you have not written yet
   stops with `NotImplementedError: Workbook: write the body of NAME() -- ...`: write that
   body, re-run the cell that defines it, and continue.
3. A check that fails after that is the chapter's own, and its message is there to help
   ({ref}`grading`). A gradient check or a comparison with PyTorch raises `CheckFailed`,
   naming the check, the error against its bar and the entry that differs most, with the
   pattern it found (a constant factor, gate blocks in another order, the gate blocks or time
   steps that are wrong) and the classic mistake the chapter has shown for it. Any other
   `assert` shows the values it compared. Fix your function, re-run its definition cell and
   the cells after it.

Each workbook asks for the functions of its own chapter only. Everything it imports from
earlier chapters (`from lstm_lit.lstm import ...`) is the book's reference library, so you can
start at any chapter. Functions whose names begin with `_` (input checks, plumbing) are
kept, not stubbed. Chapters that write no library code have no workbook.

Teachers who assign the exercises can build the book without their solutions:
`make book-nosolutions` writes that edition into `_build/html-nosolutions`.

## The workbooks

| Chapter | Workbook | Functions to write |
| --- | --- | --- |
"""
_CH_LABEL = re.compile(r"^\((ch-[a-z0-9-]+)\)=", re.MULTILINE)


def page_text():
    """book/workbooks.md: the page that explains and links the workbooks."""
    rows = []
    for path in chapters():
        try:
            _, stubbed = make_workbook(path)
        except WorkbookError:
            continue
        first = nbformat.read(path, as_version=4).cells[0].source
        label = _CH_LABEL.search(first).group(1)
        names = ", ".join(f"`{name}`" for name in stubbed)
        link = f"{{download}}`{path.name} <../_build/workbooks/{path.name}>`"
        rows.append(f"| {{numref}}`Chapter %s <{label}>` | {link} | {names} |")
    return PAGE_HEAD + "\n".join(rows) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="chapters to convert (default: every chapter that exports code)")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="stub only these functions/classes/methods (Class.method)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--page", action="store_true",
                        help=f"write {PAGE.relative_to(ROOT)} (the page linking the workbooks)")
    args = parser.parse_args(argv)
    if args.page:
        PAGE.write_text(page_text())
        print(f"wrote {PAGE.relative_to(ROOT)}")
        return
    explicit = bool(args.notebooks)
    paths = args.notebooks or chapters()
    args.out.mkdir(parents=True, exist_ok=True)
    skipped = []
    for path in paths:
        try:
            nb, stubbed = make_workbook(path, None if args.only is None else set(args.only))
        except WorkbookError as err:
            if explicit:
                sys.exit(f"make_workbook: error: {err}")
            skipped.append(Path(path).name)
            continue
        target = args.out / Path(path).name
        nbformat.write(nb, target)
        print(f"{len(stubbed):3d} stubs  {target}")
        for cell_id, module, name in check_imports(path, stubbed):
            print(f"    warning: cell {cell_id} imports {name} from {module}: the reference "
                  "version hides the learner's there")
    if skipped:
        print(f"no workbook (the chapter exports no code): {', '.join(skipped)}")


if __name__ == "__main__":
    main()
