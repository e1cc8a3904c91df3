"""book/course_plan.md is what tools/course_plan.py generates from the chapters (not retyped)."""
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import course_plan as cp  # noqa: E402


def test_committed_page_is_up_to_date():
    assert cp.PAGE.read_text() == cp.render(), (
        "book/course_plan.md is out of date: run .venv/bin/python tools/course_plan.py")


def test_every_chapter_in_the_plan_with_its_objectives():
    text = cp.PAGE.read_text()
    chapters = [p for _, files in cp.parts() for p in files]
    assert len(chapters) == len(list((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    for path in chapters:
        info = cp.chapter_info(path)
        assert f"{{numref}}`Chapter %s <{info['label']}>`, `notebooks/{path.name}`" in text
        assert info["objectives"] and all(f"- {o}\n" in text for o in info["objectives"])
        assert info["minutes"] % 5 == 0 and info["minutes"] > 0


def test_objectives_joins_continuation_lines_and_stops_after_the_list():
    cell = ("(ch-x)=\n# X\n\n**What you will be able to do**\n\n- one thing;\n"
            "  continued;\n- two.\n\nMore prose.\n- not an objective")
    assert cp.objectives(cell, "x") == ["one thing; continued;", "two."]


def test_chapter_without_objectives_is_a_clear_error(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("(ch-x)=\n# X\n\nText.")])
    nbformat.write(nb, tmp_path / "99_x.ipynb")
    with pytest.raises(cp.PlanError, match="What you will be able to do"):
        cp.chapter_info(tmp_path / "99_x.ipynb")


def test_weeks_never_span_two_parts_nor_exceed_the_budget_unless_one_chapter_does():
    info = {p: cp.chapter_info(p) for _, files in cp.parts() for p in files}
    for caption, files in cp.weeks(cp.parts(), info):
        part = dict(cp.parts())[caption]
        assert all(p in part for p in files)
        total = sum(info[p]["minutes"] for p in files)
        assert total <= cp.WEEK_MINUTES or len(files) == 1
