"""The package is generated from the notebooks; these tests show the sync check passes and can fail."""
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECK = ROOT / "tools" / "check_export.py"


def _copy_repo(tmp_path):
    for name in ("notebooks", "lstm_lit", "tools"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _run_check(root):
    return subprocess.run([sys.executable, str(CHECK), str(root)], capture_output=True, text=True)


def test_package_matches_notebooks():
    result = _run_check(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hand_edit_is_detected(tmp_path):
    root = _copy_repo(tmp_path)
    target = root / "lstm_lit" / "neurons.py"
    target.write_text(target.read_text().replace("return np.maximum(z, 0)", "return np.maximum(z, 0.0) # edited"))
    result = _run_check(root)
    assert result.returncode == 1
    assert "lstm_lit/neurons.py differs" in result.stdout


def test_missing_and_stray_modules_are_detected(tmp_path):
    root = _copy_repo(tmp_path)
    (root / "lstm_lit" / "learning.py").unlink()
    (root / "lstm_lit" / "handwritten.py").write_text("x = 1\n")
    result = _run_check(root)
    assert result.returncode == 1
    assert "lstm_lit/learning.py is exported by the notebooks but missing" in result.stdout
    assert "lstm_lit/handwritten.py is not exported by any notebook" in result.stdout
