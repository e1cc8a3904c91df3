"""The stored notebooks, as the book renders them (`execute_notebooks: off` shows what is stored).

Every code cell was executed, in order; no output a reader would see as noise: a carriage return or
an ANSI escape (a progress bar redrawn in place renders as several stray lines), a tqdm bar, a
stderr stream (a warning renders as a red box), an error, a widget; every figure has alt text and a
caption in the cell metadata (myst-nb 1.4 reads
``{"mystnb": {"image": {"alt": ...}, "figure": {"caption": ..., "name": "fig-..."}}}``).
"""

from __future__ import annotations

import base64
import re
import struct
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TQDM = re.compile(r"\d+%\|[^|\n]*\||\d+it \[|[0-9.]+\s*(?:it|s)/(?:s|it)\]|[█▉▊▋▌▍▎▏]{2,}")
TEXT_MIMES = ("text/plain", "text/html", "text/markdown", "text/latex")


def _ids(paths):
    return [p.name for p in paths]


def _code_cells(path: Path):
    nb = nbformat.read(path, as_version=4)
    return [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def _texts(output) -> list[str]:
    if output.get("output_type") == "stream":
        return [output.get("text", "")]
    data = output.get("data", {})
    return [data[m] if isinstance(data[m], str) else "".join(data[m]) for m in TEXT_MIMES if m in data]


def _png_size(b64: str) -> tuple[int, int]:
    raw = base64.b64decode(b64 if isinstance(b64, str) else "".join(b64))
    assert raw[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", raw[16:24])


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks/*.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_every_code_cell_was_executed_in_order(path):
    counts = []
    for i, cell in _code_cells(path):
        if not cell.source.strip():
            continue
        assert cell.get("execution_count") is not None, (
            f"{path.name} cell {i} was not executed (run tools/execute_notebooks.py): {cell.source[:60]!r}")
        counts.append(cell.execution_count)
    assert counts == sorted(counts) and len(set(counts)) == len(counts), (
        f"{path.name}: execution counts {counts} are not one top-to-bottom run")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_outputs_render_cleanly(path):
    problems = []
    for i, cell in _code_cells(path):
        where = f"{path.name} cell {i} ({cell.source.strip().splitlines()[0][:50] if cell.source.strip() else ''!r})"
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "error":
                problems.append(f"{where}: error output {out.get('ename')}: {out.get('evalue', '')[:80]}")
            if kind == "stream" and out.get("name") == "stderr":
                problems.append(f"{where}: stderr output {out.get('text', '')[:80]!r}")
            if "application/vnd.jupyter.widget-view+json" in out.get("data", {}):
                problems.append(f"{where}: a widget (renders as nothing in the book)")
            for text in _texts(out):
                if "\r" in text:
                    problems.append(f"{where}: carriage return (a line redrawn in place) in {text[:60]!r}")
                if ANSI.search(text):
                    problems.append(f"{where}: ANSI escape in {text[:60]!r}")
                if TQDM.search(text):
                    problems.append(f"{where}: a tqdm progress bar: {TQDM.search(text).group(0)!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_every_figure_has_alt_text_and_a_caption(path):
    problems = []
    for i, cell in _code_cells(path):
        images = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})
                  or "image/svg+xml" in o.get("data", {}) or "image/jpeg" in o.get("data", {})]
        if not images:
            continue
        meta = cell.metadata.get("mystnb", {})
        alt = str(meta.get("image", {}).get("alt", "")).strip()
        caption = str(meta.get("figure", {}).get("caption", "")).strip()
        name = str(meta.get("figure", {}).get("name", "")).strip()
        where = f"{path.name} cell {i}"
        if not alt:
            problems.append(f"{where}: figure without alt text (metadata mystnb.image.alt)")
        if not caption:
            problems.append(f"{where}: figure without a caption (metadata mystnb.figure.caption)")
        if not name.startswith("fig-"):
            problems.append(f"{where}: figure without a name 'fig-...' (metadata mystnb.figure.name)")
        if len(images) > 1:
            problems.append(f"{where}: {len(images)} figures in one cell share one alt text and caption")
    assert not problems, "\n".join(problems)


def test_figure_names_are_unique_across_the_book():
    seen: dict[str, str] = {}
    duplicates = []
    for path in NOTEBOOKS:
        for i, cell in _code_cells(path):
            name = cell.metadata.get("mystnb", {}).get("figure", {}).get("name")
            if name:
                if name in seen:
                    duplicates.append(f"{name}: {seen[name]} and {path.name} cell {i}")
                seen[name] = f"{path.name} cell {i}"
    assert not duplicates, duplicates


def test_figures_share_the_book_size():
    """use_book_style() sets one figure size; a figure far from it looks out of place (or was
    drawn before the style was applied). Allowed: any width from 0.5x to 2x the book's."""
    from lstm_lit.neurons import use_book_style
    import matplotlib as mpl

    with mpl.rc_context():
        use_book_style()
        width = mpl.rcParams["figure.figsize"][0] * mpl.rcParams["figure.dpi"]
    odd = []
    for path in NOTEBOOKS:
        for i, cell in _code_cells(path):
            for out in cell.get("outputs", []):
                if "image/png" in out.get("data", {}):
                    w, h = _png_size(out["data"]["image/png"])
                    if not 0.5 * width <= w <= 2 * width:
                        odd.append(f"{path.name} cell {i}: {w}x{h} px (book width {width:.0f} px)")
    assert not odd, "figures off the book size:\n" + "\n".join(odd)


# --- What a reader sees of the source: no test directives, no sideways scrolling, no typed numbers ---

CODE_WIDTH = 88  # characters of a code line that the rendered column shows without scrolling (book CSS)
TEST_DIRECTIVE = re.compile(r"^\s*#\s*(NBVAL_|PYTEST_VALIDATE_)", re.M)
# "chapter 6", "Chapters 6 to 9", "exercise 3", "Figure 21", "Fig. 7", "equation (4)", "section 2":
# numbers a reader would trust, which go stale when anything moves. Generated references say them instead.
TYPED_NUMBER = re.compile(r"\b(chapters?|exercises?|figures?|fig\.|equations?|eqs?\.|sections?)\s+\(?\d",
                          re.I)
ROLE_OR_CODE = re.compile(r"\{[a-z:]+\}`[^`]*`|`[^`]*`|\$\$.*?\$\$|\$[^$\n]*\$", re.S)
BOOK_PAGES = sorted((ROOT / "book").glob("*.md"))


def _markdown_cells(path: Path):
    nb = nbformat.read(path, as_version=4)
    return [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "markdown"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_test_directive_is_shown_to_readers(path):
    """nbval's markers go in cell tags (nbval-ignore-output), not in comments a reader sees."""
    shown = [f"{path.name} cell {i}: {m.group(0).strip()!r}" for i, c in _code_cells(path)
             for m in TEST_DIRECTIVE.finditer(c.source)]
    assert not shown, "use the cell tag instead:\n" + "\n".join(shown)


def _fenced_code(markdown: str) -> list[str]:
    """The lines of the fenced code blocks (```) in a markdown text, e.g. code in a solution."""
    lines, inside = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            inside = not inside
        elif inside:
            lines.append(line)
    return lines


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_code_lines_fit_the_rendered_column(path):
    shown = [(i, c.source.splitlines()) for i, c in _code_cells(path)
             if "remove-input" not in c.metadata.get("tags", [])]
    shown += [(i, _fenced_code(c.source)) for i, c in _markdown_cells(path)]
    long = [f"{path.name} cell {i}: {len(line)} characters: {line[:50]}..."
            for i, lines in shown for line in lines if len(line) > CODE_WIDTH]
    assert not long, f"code lines over {CODE_WIDTH} characters scroll sideways:\n" + "\n".join(long)


OUTPUT_WIDTH = 90  # characters of a printed line that the rendered output box shows without scrolling


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_printed_lines_fit_the_rendered_column(path):
    """A longer printed line hides its end behind a sideways scroll, often the number the prose quotes."""
    long = [f"{path.name} cell {i}: {len(line)} characters: {line[:50]}..."
            for i, c in _code_cells(path) if "remove-output" not in c.metadata.get("tags", [])
            for out in c.get("outputs", []) if not any(m.startswith("image/") for m in out.get("data", {}))
            for text in _texts(out) for line in text.splitlines() if len(line) > OUTPUT_WIDTH]
    assert not long, f"printed lines over {OUTPUT_WIDTH} characters scroll sideways:\n" + "\n".join(long)


def test_fenced_code_is_found_in_markdown():
    assert _fenced_code("text\n```python\nx = 1\n```\nmore\n") == ["x = 1"]


def _typed_numbers(text: str) -> list[str]:
    return [m.group(0) for m in TYPED_NUMBER.finditer(ROLE_OR_CODE.sub(" ", text))]


@pytest.mark.parametrize("path", NOTEBOOKS + BOOK_PAGES, ids=_ids(NOTEBOOKS + BOOK_PAGES))
def test_cross_references_are_generated_not_typed(path):
    """'Chapter 6', 'Exercise 6.3', 'Fig. 6.1' and '(6.1)' come from {numref} and {eq} roles."""
    if path.suffix == ".md":
        cells = [(0, nbformat.v4.new_markdown_cell(path.read_text(encoding="utf-8")))]
    else:
        cells = _markdown_cells(path)
    typed = [f"{path.name} cell {i}: {hit!r}" for i, c in cells for hit in _typed_numbers(c.source)]
    assert not typed, "write {numref}`Chapter %s <ch-...>`, {numref}`ex-...`, {eq}`eq-...`:\n" + "\n".join(typed)


def test_the_typed_number_check_can_fail():
    assert _typed_numbers("as chapter 6 showed, and Exercise 6.3 and Fig. 7") == [
        "chapter 6", "Exercise 6", "Fig. 7"]
    assert _typed_numbers("as {numref}`Chapter %s <ch-rnn>` showed; `chapter 6` in code; $chapter 6$") == []
