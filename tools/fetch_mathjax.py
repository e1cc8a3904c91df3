"""Put a pinned copy of MathJax 3 where the book build publishes it, so equations typeset offline.

The book would otherwise load MathJax from a CDN: a reader without network access (or a CI machine,
or this project's own machines) would see every equation as raw TeX. This script downloads the npm
package ``mathjax@3.2.2`` with ``npm pack`` (npm verifies the registry's integrity hash, and so do we),
and copies the parts a browser needs into ``_mathjax/_static/mathjax/``. ``_config.yml`` publishes
``_mathjax/`` with Sphinx's ``html_extra_path`` and points ``mathjax_path`` at ``mathjax/tex-chtml.js``,
so the book serves ``_static/mathjax/tex-chtml.js`` itself. The copy is not committed (.gitignore).

Usage: ``python tools/fetch_mathjax.py`` (``make mathjax``); it does nothing when the copy is current.
Exit status 1 with a message saying what to do when npm or the registry cannot be reached.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "3.2.2"  # MathJax 3; `mathjax@latest` is 4.x, whose files and configuration differ.
# `npm view mathjax@3.2.2 dist.integrity`
INTEGRITY = "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="
ROOT = Path(__file__).resolve().parents[1]
EXTRA = ROOT / "_mathjax"  # published with html_extra_path
DEST = EXTRA / "_static" / "mathjax"
# What tex-chtml.js loads at run time: TeX extensions (autoload, e.g. \boldsymbol), the CHTML fonts,
# the accessibility modules and speech rule engine that the right-click menu turns on, the menu's UI.
PARTS = ["tex-chtml.js", "input", "output/chtml", "a11y", "ui", "sre"]


def fail(message: str) -> None:
    print(f"fetch_mathjax: ERROR: {message}", file=sys.stderr)
    sys.exit(1)


def npm_pack(workdir: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        fail(
            "npm is not installed, and the book needs it once to fetch MathJax "
            f"{VERSION} (equations typeset offline from the book's own copy). "
            "Install Node.js/npm (e.g. `apt-get install npm`) and run `make mathjax` again."
        )
    cmd = [
        npm, "pack", f"mathjax@{VERSION}", "--pack-destination", str(workdir),
        "--prefer-offline", "--fetch-retries=2", "--fetch-retry-mintimeout=2000",
        "--fetch-retry-maxtimeout=10000", "--fetch-timeout=60000", "--loglevel=error",
    ]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=workdir)
    except subprocess.TimeoutExpired:
        fail(f"`{' '.join(cmd[1:3])}` timed out after 300 s: the npm registry cannot be reached. "
             "The book serves its own MathJax so equations typeset offline; it must be fetched once "
             "with network access to the npm registry (then `make mathjax` reuses it).")
    if done.returncode != 0:
        fail(f"`npm pack mathjax@{VERSION}` failed (exit {done.returncode}): the npm registry could "
             "not be reached or refused the request. The book needs MathJax "
             f"{VERSION} from npm once to typeset equations offline.\n"
             f"npm said:\n{done.stderr.strip()[-2000:]}")
    tarballs = sorted(workdir.glob("mathjax-*.tgz"))
    if not tarballs:
        fail(f"npm pack succeeded but wrote no mathjax-*.tgz in {workdir}")
    return tarballs[0]


def check_integrity(tarball: Path) -> None:
    algo, expected = INTEGRITY.split("-", 1)
    digest = base64.b64encode(hashlib.new(algo, tarball.read_bytes()).digest()).decode()
    if digest != expected:
        fail(f"{tarball.name} does not match the pinned integrity {INTEGRITY} (got {algo}-{digest})")


def main() -> int:
    stamp = DEST / ".version"
    if (DEST / "tex-chtml.js").is_file() and stamp.is_file() and stamp.read_text().strip() == VERSION:
        print(f"MathJax {VERSION} already in {DEST.relative_to(ROOT)}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        tarball = npm_pack(tmp)
        check_integrity(tarball)
        with tarfile.open(tarball) as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(tmp, filter="data")
            else:  # pragma: no cover - Python < 3.11.4
                tar.extractall(tmp)
        es5 = tmp / "package" / "es5"
        if EXTRA.exists():
            shutil.rmtree(EXTRA)
        DEST.mkdir(parents=True)
        for part in PARTS:
            src, dst = es5 / part, DEST / part
            if src.is_dir():
                shutil.copytree(src, dst)
            else:
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
        shutil.copy2(tmp / "package" / "LICENSE", DEST / "LICENSE")  # Apache-2.0: ship its licence
        stamp.write_text(VERSION + "\n")
    size = sum(p.stat().st_size for p in DEST.rglob("*") if p.is_file())
    count = sum(1 for p in DEST.rglob("*") if p.is_file())
    print(f"MathJax {VERSION}: {count} files, {size / 1e6:.1f} MB in {DEST.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
