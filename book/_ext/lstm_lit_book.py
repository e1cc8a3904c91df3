"""Small Sphinx fixes for the book, loaded with `sphinx: local_extensions:` in _config.yml.

1. De-duplicate inline scripts. With Sphinx 7.4, sphinx-thebe 0.3.1 and sphinx-togglebutton register
   their inline scripts (`app.add_js_file(None, body=...)`) during `env-before-read-docs`, when the
   HTML builder already exists, and every page ends up with them twice. Twice
   `const THEBE_JS_URL = ...` is a SyntaxError in every reader's console ("Identifier 'THEBE_JS_URL'
   has already been declared"), which also stops the rest of that script. We keep the first copy of
   each identical script on every page.
2. Serve the book's own stylesheet, book/_static/lstm_lit.css (code set small enough that an 88-character
   line fits the article column).
3. Fail the build early, with the command to run, when the book's own MathJax copy is missing
   (`make mathjax` fetches it; see tools/fetch_mathjax.py), instead of publishing pages whose
   equations can never typeset.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.errors import ExtensionError


def _script_key(js) -> tuple:
    attributes = getattr(js, "attributes", {}) or {}
    # `filename or ""`: the same inline script is registered once with filename None (by
    # `app.add_js_file(None, ...)` on the live builder) and once with "" (from the registry), which
    # Sphinx 7.4's own de-duplication treats as two different scripts: the cause of the duplicates.
    return (getattr(js, "filename", str(js)) or "", tuple(sorted((k, str(v)) for k, v in attributes.items())))


def dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        key = _script_key(js)
        if key not in seen:
            seen.add(key)
            unique.append(js)
    if len(unique) != len(scripts):
        scripts[:] = unique  # the builder's own list: sorted and rendered after this event


def check_local_mathjax(app) -> None:
    if app.builder.format != "html":
        return
    path = app.config.mathjax_path or ""
    if "://" in path or path.startswith("/"):
        return
    candidates = [Path(app.confdir, extra, "_static", path) for extra in app.config.html_extra_path]
    if not any(c.is_file() for c in candidates):
        raise ExtensionError(
            f"the book serves MathJax itself (mathjax_path = {path!r}) but no copy was found "
            f"(looked for {', '.join(str(c) for c in candidates) or '_mathjax/_static/' + path}). "
            "Run `make mathjax` (python tools/fetch_mathjax.py), which fetches mathjax@3 from npm once."
        )


STATIC = Path(__file__).resolve().parent.parent / "_static"


def add_book_css(app) -> None:
    if app.builder.format != "html":
        return
    if str(STATIC) not in app.config.html_static_path:
        app.config.html_static_path.append(str(STATIC))
    app.add_css_file("lstm_lit.css")


def setup(app):
    app.connect("builder-inited", check_local_mathjax)
    app.connect("builder-inited", add_book_css)
    # After every other handler (sphinx.ext.mathjax adds its scripts at the default priority 500).
    app.connect("html-page-context", dedupe_scripts, priority=990)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
