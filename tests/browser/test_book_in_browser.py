"""The built book as a reader meets it: every page in headless Chromium (tools/browser_check.py).

Run by `make browser` after the book build (`make test` does both). Needs `_build/html`
(or LSTM_LIT_HTML) and a Chromium/Chrome: `make browser` installs Debian's `chromium` when it can;
without one the browser tests skip with a loud message, the static ones still run.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest
import yaml

import browser_check

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
HTML = Path(os.environ.get("LSTM_LIT_HTML", ROOT / "_build" / "html"))
SCREENSHOTS = ROOT / "_build" / "screenshots"
REPO = "lstm-lit/lstm-lit"


@pytest.fixture(scope="module")
def html_dir() -> Path:
    if not (HTML / "index.html").is_file():
        pytest.fail(f"no built book in {HTML}: run `make book` first (make test builds it before this step)")
    return HTML


@pytest.fixture(scope="module")
def chromium() -> str:
    executable = browser_check.find_browser()
    if executable is None:
        message = ("NO CHROMIUM/CHROME FOUND: the book was NOT checked in a real browser. "
                   "Install Debian's `chromium` (make browser does it as root) or set CHROMIUM=/path.")
        print("\n" + "!" * 100 + "\n" + message + "\n" + "!" * 100)
        pytest.skip(message)
    return executable


def toc_files() -> list[str]:
    """Every document of _toc.yml (root, parts' chapters and sections)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return files


def notebook_pages(html_dir: Path) -> list[str]:
    return [f"{f}.html" for f in toc_files() if (ROOT / f"{f}.ipynb").is_file()]


# --------------------------------------------------------------------------------------------------
# Static checks of the HTML (no browser needed)
# --------------------------------------------------------------------------------------------------
def test_every_toc_document_is_a_page(html_dir):
    missing = [f for f in toc_files() if not (html_dir / f"{f}.html").is_file()]
    assert not missing, f"documents of _toc.yml without a page: {missing}"


def test_notebook_pages_have_download_and_launch_buttons(html_dir):
    pages = notebook_pages(html_dir)
    assert pages, "no notebook chapter in _toc.yml"
    for page in pages:
        nb = page.removesuffix(".html") + ".ipynb"
        text = (html_dir / page).read_text(encoding="utf-8")
        assert f'href="../_sources/{nb}"' in text, f"{page}: no .ipynb download button"
        assert (html_dir / "_sources" / nb).is_file(), f"{page}: the .ipynb download is not published"
        binder = f"https://mybinder.org/v2/gh/{REPO}/main?urlpath=tree/{nb}"
        colab = f"https://colab.research.google.com/github/{REPO}/blob/main/{nb}"
        assert f'href="{binder}"' in text, f"{page}: no Binder launch button ({binder})"
        assert f'href="{colab}"' in text, f"{page}: no Colab launch button ({colab})"


def test_figure_metadata_becomes_alt_text_and_caption(html_dir):
    """myst-nb 1.4 (execute_notebooks: off) turns each plotting cell's metadata
    {"mystnb": {"image": {"alt"}, "figure": {"caption", "name"}}} into <figure id=name> with
    <img alt=alt> and a <figcaption>: checked on every figure of the built book."""
    import nbformat
    from bs4 import BeautifulSoup

    checked, problems = 0, []
    for page in notebook_pages(html_dir):
        nb = nbformat.read(ROOT / (page.removesuffix(".html") + ".ipynb"), as_version=4)
        soup = BeautifulSoup((html_dir / page).read_text(encoding="utf-8"), "html.parser")
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("mystnb", {})
            name = meta.get("figure", {}).get("name")
            has_image = any(k.startswith("image/") for o in cell.get("outputs", []) for k in o.get("data", {}))
            if cell.cell_type != "code" or not name or not has_image:
                continue
            figure = soup.find("figure", id=name)
            if figure is None:
                problems.append(f"{page}: no <figure id={name!r}>")
                continue
            img, caption = figure.find("img"), figure.find("figcaption")
            if img is None or img.get("alt") != meta.get("image", {}).get("alt"):
                problems.append(f"{page} {name}: alt {img and img.get('alt')!r} is not the metadata's")
            # The caption's plain words up to its first markup (math and roles render differently).
            want = re.split(r"[$`{*\[]", " ".join(str(meta["figure"].get("caption", "")).split()))[0][:40].strip()
            # Sphinx's smart quotes turn ' and " into typographic ones in the rendered caption.
            shown = " ".join(caption.get_text(" ").split()) if caption is not None else ""
            shown = shown.translate(str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"',
                                                   "\u201d": '"'}))
            if caption is None or want not in shown:
                problems.append(f"{page} {name}: caption is not the metadata's {want[:40]!r}")
            checked += 1
    assert not problems, "\n".join(problems)
    assert checked > 0, "no figure with metadata in the book"


def test_no_page_declares_an_inline_script_twice(html_dir):
    """Sphinx 7.4 wrote the thebe/togglebutton inline scripts twice on every page
    (`const THEBE_JS_URL` twice is a SyntaxError); book/_ext/lstm_lit_book.py removes the copies."""
    for page in browser_check.list_pages(html_dir):
        scripts = re.findall(r"<script>(.*?)</script>", (html_dir / page).read_text(encoding="utf-8"), re.S)
        repeated = {s[:60] for s in scripts if scripts.count(s) > 1}
        assert not repeated, f"{page}: inline scripts repeated: {repeated}"


def test_mathjax_is_served_by_the_book(html_dir):
    pages = [p for p in browser_check.list_pages(html_dir) if "mathjax/tex-chtml.js" in (html_dir / p).read_text(encoding="utf-8")]
    assert pages, "no page loads MathJax: the book has no equation, or mathjax_path is not the local copy"
    assert (html_dir / "_static" / "mathjax" / "tex-chtml.js").is_file()
    for page in browser_check.list_pages(html_dir):
        assert "cdn.jsdelivr.net/npm/mathjax" not in (html_dir / page).read_text(encoding="utf-8"), page


# --------------------------------------------------------------------------------------------------
# In the browser
# --------------------------------------------------------------------------------------------------
def test_every_page_in_chromium(html_dir, chromium):
    start = time.monotonic()
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    reports = browser_check.check_book(html_dir, SCREENSHOTS, executable=chromium)
    seconds = time.monotonic() - start
    print("\n" + browser_check.format_reports(reports))
    print(f"browser: {len(reports)} pages checked in {seconds:.1f} s with {chromium}; "
          f"screenshots in {SCREENSHOTS}")
    pages = {r.page for r in reports}
    assert {f"{f}.html" for f in toc_files()} <= pages, "a page of the table of contents was not visited"
    # Not vacuous: the book's equations were typeset and its figures loaded in this run.
    assert sum(r.info.get("typeset_count", 0) for r in reports) > 0, "no equation typeset anywhere"
    assert sum(len(r.info.get("figure_sizes", [])) for r in reports) > 0, "no notebook figure anywhere"
    failed = [r for r in reports if r.problems]
    assert not failed, "pages a reader would see broken:\n" + browser_check.format_reports(failed)


BROKEN_FRAGMENT = """
<div id="injected-breakage">
<p>An undefined macro <span class="math notranslate nohighlight">\\(\\notamacro{x}\\)</span>,
raw TeX $$a^2 + b^2$$ that nobody typeset, and a figure that is not there:</p>
<img src="missing-figure.png" alt="a figure that is not there">
<img src="{favicon}">
<link rel="stylesheet" href="https://unreachable.invalid/style.css">
<script>console.error("injected console error");</script>
<script>throw new Error("injected uncaught exception");</script>
<div class="cell_input docutils container"><div class="highlight-ipython3 notranslate">
<div class="highlight"><pre>wide = "a code line far wider than the column: {wide}"</pre></div></div></div>
</div>
"""


def test_the_checker_catches_a_broken_page(html_dir, chromium, tmp_path):
    """A copy of the book with one page broken in every way the checker looks for, and one page
    without its sidebar: each problem is reported, and the untouched page beside them passes."""
    book = tmp_path / "html"
    shutil.copytree(html_dir, book)
    math_pages = [p for p in browser_check.list_pages(book)
                  if "tex-chtml.js" in (text := (book / p).read_text(encoding="utf-8"))
                  and 'class="math' in text and "mathjax_ignore" in text]
    assert math_pages, "no page with equations"
    page = math_pages[0]
    original = (book / page).read_text(encoding="utf-8")
    favicon = os.path.relpath(book / "_static" / "favicon.svg", (book / page).parent)
    # Inside the page's MyST content, which MathJax leaves alone except for the `.math` elements.
    fragment = BROKEN_FRAGMENT.replace("{favicon}", favicon).replace("{wide}", "x" * 120)
    broken = re.sub(r'(<section class="tex2jax_ignore mathjax_ignore"[^>]*>)',
                    lambda m: m.group(1) + fragment, original, count=1)
    assert broken != original, "the page has no MyST content section to break"
    broken_page = str(Path(page).parent / "zz_broken.html")
    (book / broken_page).write_text(broken, encoding="utf-8")
    no_sidebar_page = str(Path(page).parent / "zz_no_sidebar.html")
    (book / no_sidebar_page).write_text(
        original.replace("</head>", "<style>#pst-primary-sidebar{display:none !important}</style></head>", 1),
        encoding="utf-8")

    reports = {r.page: r for r in browser_check.check_book(
        book, None, [page, broken_page, no_sidebar_page], executable=chromium)}
    print("\n" + browser_check.format_reports(list(reports.values())))

    assert not reports[page].problems, "the untouched page should pass"
    problems = "\n".join(reports[broken_page].problems)
    expected = {
        "undefined TeX macro": r"MathJax error: .*notamacro",
        "raw TeX": r"raw TeX in the text: .*\$\$a\^2",
        "missing image": r"image did not load .*missing-figure\.png",
        "local 404": r"local 404: .*missing-figure\.png",
        "image without alt": r"image without alt text: .*favicon\.svg",
        "console error": r"console\.error: injected console error",
        "uncaught exception": r"uncaught JavaScript exception: .*injected uncaught exception",
        "request leaving the book": r"request leaves the book .*unreachable\.invalid",
        "code scrolling sideways": r"code or output scrolls sideways .*far wider than the column",
    }
    missed = [name for name, pattern in expected.items() if not re.search(pattern, problems)]
    assert not missed, f"the checker missed {missed}; it reported:\n{problems}"
    assert reports[no_sidebar_page].problems == ["no navigation sidebar"]
