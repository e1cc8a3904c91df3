"""Open every page of the built book in headless Chromium and fail on what a reader would see broken.

Serves ``_build/html`` on 127.0.0.1 (a free port, a thread of this process), drives Chromium through
the Chrome DevTools Protocol over one websocket (``websocket-client``), and on every page checks:

- equations: MathJax loaded where the page has math, every ``.math`` element typeset, no MathJax
  error (``mjx-merror``), no raw TeX (``$$``, ``\\(``, ``\\[``, ``\\begin{``) left in the text;
- images: every ``<img>`` loaded (``naturalWidth > 0``); every image in the content has alt text and
  every notebook output image is a figure with a caption;
- requests: no request to the local server answers 404 (or any status >= 400) or fails, and no
  request leaves 127.0.0.1 (the book must read offline);
- scripts: no uncaught JavaScript exception and no console error;
- layout: the navigation sidebar is shown and holds links;
- notebook pages: a download (.ipynb) link and Binder and Colab launch links.

A full-page screenshot of each page goes to ``--screenshots`` (``_build/screenshots`` by default).

Usage: ``python tools/browser_check.py [_build/html] [--screenshots DIR] [--page book/intro.html ...]``.
Exit status 0 when every page passes, 1 when one fails, 2 when no browser was found.
Used by tests/browser/ (``make browser``, a step of ``make test``).
"""

from __future__ import annotations

import argparse
import base64
import functools
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
BROWSER_NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"]
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
    "--force-device-scale-factor=1", "--window-size=1280,900", "--remote-debugging-port=0",
    "--remote-allow-origins=*",
]
VIEWPORT_WIDTH = 1280
MAX_SCREENSHOT_HEIGHT = 30000  # px; Chromium refuses larger captures


def find_browser() -> str | None:
    """The Chromium/Chrome executable: $CHROMIUM or $CHROME_BIN, else the first on PATH."""
    for var in ("CHROMIUM", "CHROME_BIN"):
        if os.environ.get(var) and shutil.which(os.environ[var]):
            return shutil.which(os.environ[var])
    for name in BROWSER_NAMES:
        if shutil.which(name):
            return shutil.which(name)
    return None


# --------------------------------------------------------------------------------------------------
# A static server for the built book
# --------------------------------------------------------------------------------------------------
class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


class BookServer:
    """``with BookServer(html_dir) as base_url:`` serves html_dir on 127.0.0.1:<free port>."""

    def __init__(self, directory: Path):
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------------------------------------------------
# Chromium over the DevTools protocol
# --------------------------------------------------------------------------------------------------
class CDPError(RuntimeError):
    pass


class Chromium:
    """Headless Chromium with one page, driven over the browser's DevTools websocket."""

    def __init__(self, executable: str, timeout: float = 30.0):
        import websocket  # websocket-client, pinned in requirements.txt

        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="lstm-lit-chromium-")
        self.proc = subprocess.Popen(
            [executable, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        ws_url = self._read_devtools_url()
        self.ws = websocket.create_connection(ws_url, timeout=timeout, suppress_origin=True,
                                              enable_multithread=False)
        self._next_id = 0
        self.events: list[dict] = []
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(f"{domain}.enable", session=True)
        self.send("Network.setCacheDisabled", {"cacheDisabled": True}, session=True)
        _set_viewport(self, 900)

    def _read_devtools_url(self) -> str:
        lines: queue.Queue = queue.Queue()

        def pump():
            for line in self.proc.stderr:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        deadline, seen = time.monotonic() + self.timeout, []
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            seen.append(line)
            match = re.search(r"DevTools listening on (ws://\S+)", line)
            if match:
                return match.group(1)
        self.close()
        raise CDPError("Chromium did not start (no 'DevTools listening' line). Its stderr:\n"
                       + "".join(seen[-20:]))

    def send(self, method: str, params: dict | None = None, session: bool = False,
             timeout: float | None = None) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            msg = self._receive(deadline, method)
            if msg.get("id") == self._next_id:
                if "error" in msg:
                    raise CDPError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def _receive(self, deadline: float, what: str) -> dict:
        import websocket

        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise CDPError(f"timed out waiting for {what}")
        self.ws.settimeout(remaining)
        try:
            return json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException as exc:
            raise CDPError(f"timed out waiting for {what}") from exc
        except (websocket.WebSocketException, OSError) as exc:
            raise CDPError(f"lost the browser while waiting for {what}: {exc!r}") from exc

    def wait_event(self, method: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        for i, event in enumerate(self.events):
            if event["method"] == method:
                return self.events.pop(i)
        while True:
            msg = self._receive(deadline, method)
            if msg.get("method") == method:
                return msg
            if "method" in msg:
                self.events.append(msg)

    def wait_network_idle(self, quiet: float = 0.15, limit: float = 5.0) -> None:
        """Collect events until no request has been in flight for `quiet` seconds (scripts such as
        MathJax's menu and fonts start requests after the load event)."""
        import websocket

        def in_flight() -> set:
            started, done = set(), set()
            for e in self.events:
                if e["method"] == "Network.requestWillBeSent":
                    started.add(e["params"]["requestId"])
                elif e["method"] in ("Network.loadingFinished", "Network.loadingFailed"):
                    done.add(e["params"]["requestId"])
            return started - done

        deadline = time.monotonic() + limit
        while (remaining := deadline - time.monotonic()) > 0:
            self.ws.settimeout(min(remaining, quiet))
            try:
                msg = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                if not in_flight():
                    return
                continue
            except (websocket.WebSocketException, OSError) as exc:
                raise CDPError(f"lost the browser: {exc!r}") from exc
            if "method" in msg:
                self.events.append(msg)

    def evaluate(self, expression: str, timeout: float | None = None):
        result = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True}, session=True, timeout=timeout)
        if "exceptionDetails" in result:
            raise CDPError(f"evaluation failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self) -> None:
        try:
            if getattr(self, "ws", None) is not None:
                self.ws.close()
        finally:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------------------------------
# The checks, run inside each page
# --------------------------------------------------------------------------------------------------
# Waits for MathJax's first typeset (it loads TeX extensions on demand) and for every image, then
# reports what the Python side turns into problems.
PAGE_PROBE = r"""
(async () => {
  const withTimeout = (p, ms) => Promise.race([p, new Promise(r => setTimeout(r, ms))]);
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await withTimeout(MathJax.startup.promise, 20000);
  }
  for (const img of document.images) { img.loading = 'eager'; }
  await withTimeout(Promise.all([...document.images].map(img => img.decode().catch(() => null))), 15000);
  await withTimeout(document.fonts.ready, 5000);

  const content = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
  const short = s => (s || '').replace(/\s+/g, ' ').trim().slice(0, 100);
  const out = {};

  const maths = [...document.querySelectorAll('.math')];
  out.math_count = maths.length;
  out.mathjax_loaded = !!(window.MathJax && MathJax.startup && MathJax.startup.document);
  out.untypeset = maths.filter(m => !m.querySelector('mjx-container')).map(m => short(m.textContent));
  out.merrors = [...document.querySelectorAll('mjx-merror')].map(
      e => short(e.getAttribute('data-mjx-error') || e.textContent));
  out.typeset_count = document.querySelectorAll('mjx-container').length;

  // Raw TeX left in the page's text (outside code, scripts and typeset math).
  const rawTex = /\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\$[^$\s][^$]*\\[A-Za-z]+[^$]*\$/;
  const skip = 'pre, code, script, style, textarea, mjx-container, .highlight, .cell_input, .output';
  const walker = document.createTreeWalker(content, NodeFilter.SHOW_TEXT);
  out.raw_tex = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(skip)) continue;
    if (rawTex.test(node.textContent)) out.raw_tex.push(short(node.textContent));
  }

  out.images = document.images.length;
  out.broken_images = [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))
      .map(i => i.getAttribute('src'));
  // Sphinx writes the image's path as its alt when none is given: a screen reader reads out a hash.
  const noAlt = i => {
    const alt = (i.getAttribute('alt') || '').trim();
    return !alt || alt === i.getAttribute('src') || /\.(png|jpe?g|gif|svg|webp)$/i.test(alt)
        || alt.startsWith('<Figure');
  };
  out.no_alt = [...content.querySelectorAll('img')].filter(noAlt).map(i => i.getAttribute('src'));
  out.uncaptioned = [...content.querySelectorAll('.cell_output img')].filter(i => {
      const fig = i.closest('figure');
      return !(fig && fig.querySelector('figcaption') && short(fig.querySelector('figcaption').textContent));
  }).map(i => i.getAttribute('src'));
  out.figure_sizes = [...content.querySelectorAll('.cell_output img')].map(i => [i.naturalWidth, i.naturalHeight]);

  const sidebar = document.querySelector('#pst-primary-sidebar, .bd-sidebar-primary');
  out.sidebar_links = sidebar ? sidebar.querySelectorAll('nav a[href]').length : 0;
  out.sidebar_visible = !!(sidebar && sidebar.getBoundingClientRect().width > 0
      && getComputedStyle(sidebar).display !== 'none' && getComputedStyle(sidebar).visibility !== 'hidden');

  const hrefs = [...document.querySelectorAll('a[href]')].map(a => a.href);
  out.download_ipynb = hrefs.filter(h => /\/_sources\/.*\.ipynb$/.test(h));
  out.binder = hrefs.filter(h => h.startsWith('https://mybinder.org/v2/gh/'));
  out.colab = hrefs.filter(h => h.startsWith('https://colab.research.google.com/github/'));
  // Code or output a reader must scroll sideways to read (the longest line of each such block).
  // Printed outputs too: the end of a long line is often the number the prose quotes.
  out.code_scroll = [...content.querySelectorAll('.cell_input pre, .highlight pre, .cell_output pre')]
      .filter(p => p.scrollWidth > p.clientWidth + 1)
      .map(p => { const lines = p.textContent.split('\n');
                  const longest = lines.reduce((a, b) => (b.length > a.length ? b : a), '');
                  return `${longest.length} characters, ${p.scrollWidth} px in ${p.clientWidth} px: `
                         + short(longest); });
  out.height = Math.ceil(Math.max(document.documentElement.scrollHeight, document.body.scrollHeight));
  return out;
})()
"""


@dataclass
class PageReport:
    page: str
    problems: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)
    seconds: float = 0.0


def _is_notebook_page(html_dir: Path, page: str) -> bool:
    return (html_dir / "_sources" / page).with_suffix(".ipynb").is_file()


def _event_problems(events: list[dict], base_url: str) -> list[str]:
    problems = []
    host = urlsplit(base_url).netloc
    urls = {e["params"]["requestId"]: e["params"]["request"]["url"]
            for e in events if e["method"] == "Network.requestWillBeSent"}
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text", "")
            problems.append(f"uncaught JavaScript exception: {text.splitlines()[0] if text else details}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            problems.append(f"console.{params['type']}: {args[:200]}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            problems.append(f"console error ({entry.get('source')}): {entry.get('text', '')[:200]}"
                            + (f" [{entry['url']}]" if entry.get("url") else ""))
        elif method == "Network.requestWillBeSent":
            url = params.get("request", {}).get("url", "")
            parts = urlsplit(url)
            if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != host:
                problems.append(f"request leaves the book (offline readers lose it): {url}")
        elif method == "Network.responseReceived":
            response = params.get("response", {})
            if urlsplit(response.get("url", "")).netloc == host and response.get("status", 200) >= 400:
                problems.append(f"local {response['status']}: {response['url']}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            url = urls.get(params.get("requestId"), f"request {params.get('requestId')}")
            problems.append(f"request failed ({params.get('errorText')}): {url}")
    return problems


def _set_viewport(browser: Chromium, height: int) -> None:
    browser.send("Emulation.setDeviceMetricsOverride",
                 {"width": VIEWPORT_WIDTH, "height": height, "deviceScaleFactor": 1, "mobile": False},
                 session=True)


def take_screenshot(browser: Chromium, info: dict, screenshots: Path, page: str) -> Path:
    """Full page: make the viewport as tall as the page, capture, restore (a clipped capture
    beyond the viewport renders the sticky sidebar shifted)."""
    height = min(max(int(info.get("height") or 900), 900), MAX_SCREENSHOT_HEIGHT)
    _set_viewport(browser, height)
    try:
        browser.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        shot = browser.send("Page.captureScreenshot", {"format": "png", "optimizeForSpeed": True},
                            session=True, timeout=60)
    finally:
        _set_viewport(browser, 900)
    target = screenshots / (page.replace("/", "__").removesuffix(".html") + ".png")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(base64.b64decode(shot["data"]))
    return target


def check_page(browser: Chromium, base_url: str, html_dir: Path, page: str,
               screenshots: Path | None) -> PageReport:
    try:
        return _check_page(browser, base_url, html_dir, page, screenshots)
    except CDPError as exc:
        return PageReport(page, [f"the browser failed on this page: {exc}"])


def _check_page(browser: Chromium, base_url: str, html_dir: Path, page: str,
                screenshots: Path | None) -> PageReport:
    start = time.monotonic()
    report = PageReport(page)
    # index.html only redirects (meta refresh) to the first page: check its target exists.
    redirect = re.match(r'\s*<meta http-equiv="Refresh" content="0; url=([^"]+)"',
                        (html_dir / page).read_text(encoding="utf-8", errors="replace")[:500], re.I)
    if redirect:
        target = (html_dir / page).parent / redirect.group(1).split("#")[0]
        report.info = {"redirect": redirect.group(1)}
        if not target.is_file():
            report.problems.append(f"redirects to a missing page: {redirect.group(1)}")
        report.seconds = time.monotonic() - start
        return report
    # Every page as on a first visit: the theme keeps state (mode, sidebar) in localStorage.
    browser.send("Storage.clearDataForOrigin", {"origin": base_url.rstrip("/"),
                                                "storageTypes": "local_storage,session_storage"},
                 session=True)
    browser.events.clear()
    url = base_url + page
    result = browser.send("Page.navigate", {"url": url}, session=True)
    if result.get("errorText"):
        report.problems.append(f"navigation failed: {result['errorText']}")
        return report
    try:
        browser.wait_event("Page.loadEventFired", timeout=30)
        loaded = time.monotonic()
        info = browser.evaluate(PAGE_PROBE, timeout=60)
        browser.wait_network_idle()
        info["load_s"], info["probe_s"] = loaded - start, time.monotonic() - loaded
    except CDPError as exc:
        report.problems.append(f"page did not finish loading: {exc}")
        return report
    report.info = info
    events = list(browser.events)
    report.problems += _event_problems(events, base_url)

    if info["math_count"] and not info["mathjax_loaded"]:
        report.problems.append(f"MathJax not loaded, {info['math_count']} equations left as TeX")
    report.problems += [f"equation not typeset: {t}" for t in info["untypeset"]]
    report.problems += [f"MathJax error: {t}" for t in info["merrors"]]
    report.problems += [f"raw TeX in the text: {t}" for t in info["raw_tex"]]
    report.problems += [f"image did not load (naturalWidth 0): {s}" for s in info["broken_images"]]
    report.problems += [f"image without alt text: {s}" for s in info["no_alt"]]
    report.problems += [f"notebook figure without a caption: {s}" for s in info["uncaptioned"]]
    report.problems += [f"code or output scrolls sideways at {VIEWPORT_WIDTH} px: {t}"
                        for t in info["code_scroll"]]
    if not (info["sidebar_visible"] and info["sidebar_links"] > 0):
        report.problems.append("no navigation sidebar")
    if _is_notebook_page(html_dir, page):
        for key, what in (("download_ipynb", "download (.ipynb)"), ("binder", "Binder launch"),
                          ("colab", "Colab launch")):
            if not info[key]:
                report.problems.append(f"notebook page without a {what} button")

    if screenshots is not None:
        shot_start = time.monotonic()
        report.info["screenshot"] = str(take_screenshot(browser, info, screenshots, page))
        report.info["screenshot_s"] = time.monotonic() - shot_start
    report.seconds = time.monotonic() - start
    return report


def list_pages(html_dir: Path) -> list[str]:
    """Every HTML page of the book (not the copied sources or static assets)."""
    pages = []
    for path in sorted(html_dir.rglob("*.html")):
        rel = path.relative_to(html_dir).as_posix()
        if rel.split("/")[0] in ("_static", "_sources", "_images"):
            continue
        pages.append(rel)
    return pages


def check_book(html_dir: Path, screenshots: Path | None = None, pages: list[str] | None = None,
               executable: str | None = None) -> list[PageReport]:
    html_dir = Path(html_dir)
    if not (html_dir / "index.html").is_file():
        raise FileNotFoundError(f"no built book in {html_dir} (run `make book` first)")
    executable = executable or find_browser()
    if executable is None:
        raise FileNotFoundError("no Chromium/Chrome found (apt-get install chromium)")
    pages = pages or list_pages(html_dir)
    reports = []
    with BookServer(html_dir) as base_url, Chromium(executable) as browser:
        for page in pages:
            reports.append(check_page(browser, base_url, html_dir, page, screenshots))
    return reports


def format_reports(reports: list[PageReport]) -> str:
    lines = []
    for r in reports:
        status = "ok  " if not r.problems else "FAIL"
        if "redirect" in r.info:
            lines.append(f"{status} {r.page} (redirects to {r.info['redirect']})")
        else:
            timing = ", ".join(f"{k[:-2]} {r.info[k]:.1f}" for k in ("load_s", "probe_s", "screenshot_s")
                               if k in r.info)
            lines.append(f"{status} {r.page} ({r.seconds:.1f} s: {timing}; {r.info.get('typeset_count', 0)} "
                         f"equations, {r.info.get('images', 0)} images)")
        lines += [f"     - {p}" for p in r.problems]
    failed = sum(1 for r in reports if r.problems)
    lines.append(f"pages checked: {len(reports)}, clean: {len(reports) - failed}, with problems: {failed}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html_dir", nargs="?", default=str(ROOT / "_build" / "html"))
    parser.add_argument("--screenshots", default=str(ROOT / "_build" / "screenshots"))
    parser.add_argument("--no-screenshots", action="store_true")
    parser.add_argument("--page", action="append", help="check only this page (repeatable)")
    parser.add_argument("--find-browser", action="store_true", help="print the browser found and exit")
    args = parser.parse_args(argv)
    executable = find_browser()
    if args.find_browser:
        print(executable or "no Chromium/Chrome found")
        return 0 if executable else 2
    if executable is None:
        print("browser_check: no Chromium/Chrome found (apt-get install chromium)", file=sys.stderr)
        return 2
    start = time.monotonic()
    reports = check_book(Path(args.html_dir), None if args.no_screenshots else Path(args.screenshots),
                         args.page, executable)
    print(format_reports(reports))
    print(f"browser_check: {len(reports)} pages in {time.monotonic() - start:.1f} s with {executable}")
    return 1 if any(r.problems for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
