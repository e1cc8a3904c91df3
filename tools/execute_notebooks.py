"""Execute notebooks in place, deterministically, so the stored outputs are what the code does.

Usage: python tools/execute_notebooks.py [notebooks/NN_name.ipynb ...]   (default: every notebook)

Each notebook runs in a fresh kernel with `notebooks/` as working directory, like nbval does.
No timing metadata is written, so re-executing unchanged code leaves `git diff` empty.
Prints each notebook's execution time and fails on the first error.
"""
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120  # seconds per cell; each notebook must stay under 60 s in total


def _normalise(nb):
    """Drop volatile metadata so stored notebooks are byte-stable."""
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    count = 0
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("ExecuteTime", None)
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
            merged = []
            for out in cell.outputs:
                if "execution_count" in out:
                    out["execution_count"] = count
                # The kernel may split one print into several stream messages, depending on load:
                # join neighbours of the same stream so the stored bytes do not depend on timing.
                if (merged and out.output_type == "stream" and merged[-1].output_type == "stream"
                        and merged[-1].name == out.name):
                    merged[-1].text += out.text
                else:
                    merged.append(out)
            cell.outputs = merged
    return nb


def execute(path):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nbformat.write(_normalise(nb), path)
    return seconds


def main(argv):
    paths = [Path(p).resolve() for p in argv] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    total = 0.0
    for path in paths:
        seconds = execute(path)
        total += seconds
        print(f"{seconds:6.1f} s  {path.relative_to(ROOT)}", flush=True)
    print(f"{total:6.1f} s  total for {len(paths)} notebook(s)")


if __name__ == "__main__":
    main(sys.argv[1:])
