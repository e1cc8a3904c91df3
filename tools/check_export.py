"""Fail when lstm_lit/ is not exactly what the notebooks export.

Copies notebooks/ and pyproject.toml into a temporary folder, runs nbdev's exporter there, and compares
the result with lstm_lit/ file by file. Works on uncommitted changes and in a fresh clone alike.

Usage: python tools/check_export.py [REPO_ROOT]     exit 0 when in sync, 1 with a diff otherwise.
"""
import difflib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def exported_tree(root):
    """Return {relative path: text} of what nbdev exports from root's notebooks."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        shutil.copytree(root / "notebooks", tmp / "notebooks")
        shutil.copy(root / "pyproject.toml", tmp / "pyproject.toml")
        (tmp / "lstm_lit").mkdir()
        exporter = Path(sys.executable).with_name("nbdev-export")
        subprocess.run([str(exporter)], cwd=tmp, check=True, capture_output=True, text=True,
                       env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        return {p.relative_to(tmp / "lstm_lit").as_posix(): p.read_text()
                for p in sorted((tmp / "lstm_lit").rglob("*.py"))}


def main(root):
    root = Path(root).resolve()
    expected = exported_tree(root)
    actual = {p.relative_to(root / "lstm_lit").as_posix(): p.read_text()
              for p in sorted((root / "lstm_lit").rglob("*.py"))}
    problems = []
    for name in sorted(set(expected) | set(actual)):
        if name not in actual:
            problems.append(f"lstm_lit/{name} is exported by the notebooks but missing")
        elif name not in expected:
            problems.append(f"lstm_lit/{name} is not exported by any notebook (hand-written?)")
        elif expected[name] != actual[name]:
            diff = difflib.unified_diff(expected[name].splitlines(), actual[name].splitlines(),
                                        f"exported/{name}", f"lstm_lit/{name}", lineterm="", n=1)
            problems.append(f"lstm_lit/{name} differs from its notebook export:\n" + "\n".join(list(diff)[:40]))
    if problems:
        print("lstm_lit/ is out of sync with notebooks/ (run `make export`, or move the edit into its notebook):")
        print("\n".join("  " + p for p in problems))
        return 1
    print(f"lstm_lit/ matches the notebooks' export ({len(expected)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent))
