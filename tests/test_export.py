"""Exports rebuilt from stored reports: re-scored with a rubric's points, never regraded."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader.errors import UsageError
from grader.export import export, load_reports, rescored
from grader.report import CheckResult, Report
from grader.rubric import Rubric
from grader.writers.json import render_json


def stored(rubric: Rubric, statuses: dict[str, str], name: str = "Zoë") -> Report:
    checks = tuple(CheckResult(c.id, c.task, statuses.get(c.id, "skipped"), c.points if statuses.get(c.id) ==  # type: ignore[arg-type]
                               "passed" else 0, c.points, "m") for c in rubric.checks)
    return Report("entry", checks, student={"id": "101", "name": name}, batch={"key": "101"})


def test_rescoring_follows_the_rubric_s_points_and_order_from_the_stored_statuses(rubric: Rubric) -> None:
    report = stored(rubric, {"rnn.forward": "passed", "rnn.gradcheck": "failed"})
    heavier = dataclasses.replace(rubric, checks=tuple(
        dataclasses.replace(c, points=10.0) if c.id == "rnn.forward" else c for c in rubric.checks
        if c.id != "lstm.init"))
    again = rescored(report, heavier)
    assert [c.id for c in again.checks] == [c.id for c in heavier.checks]
    assert (again.checks[0].score, again.checks[0].max_score) == (10.0, 10.0)
    assert again.score == 10.0 and again.max_score == report.max_score - 2 + 10 - 1


def test_a_file_in_reports_that_is_not_a_report_is_named(tmp_path: Path, rubric: Rubric) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "101.json").write_text("{not json")
    with pytest.raises(UsageError, match="101.json: not a report the grader wrote"):
        load_reports(tmp_path)


def test_export_writes_the_four_files_from_reports_alone(tmp_path: Path, rubric: Rubric) -> None:
    (tmp_path / "reports").mkdir()
    for key, name in (("101", "Zoë"), ("102", "Bob")):
        report = dataclasses.replace(stored(rubric, {"rnn.forward": "passed"}, name), student={"id": key, "name": name})
        (tmp_path / "reports" / f"{key}.json").write_text(render_json(report))
    written = export(tmp_path, rubric)
    assert [p.name for p in written] == ["grades.csv", "feedback.zip", "results.csv", "summary.html"]
    assert [r.student["name"] for r in load_reports(tmp_path) if r.student] == ["Bob", "Zoë"]
    assert json.loads((tmp_path / "reports" / "101.json").read_text())["student"]["name"] == "Zoë"


def test_students_graded_but_missing_from_the_worksheet_are_named(tmp_path: Path, rubric: Rubric) -> None:
    from grader.export import unlisted

    (tmp_path / "reports").mkdir()
    for key, name in (("101", "Zoë"), ("102", "Bob"), ("alice", "alice")):
        report = dataclasses.replace(stored(rubric, {}), student={"id": key, "name": name})
        (tmp_path / "reports" / f"{key}.json").write_text(render_json(report))
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("Identifier,Full name,Grade,Maximum Grade,Last modified (grade),Feedback comments\n"
                     "Participant 101,Zoë,,14,-,\n", encoding="utf-8")
    assert unlisted(tmp_path, sheet) == ["Bob (102)"]


def test_rebuilding_the_exports_loads_neither_the_pipeline_nor_the_checks_nor_hypothesis_nor_torch() -> None:
    heavy = ("grader.pipeline", "grader.context", "grader.tasks.rnn.checks", "grader.tasks.lstm.model", "hypothesis",
             "torch")
    code = ("import grader.export, grader.progress, sys; "
            f"print(sorted(m for m in sys.modules if m.startswith({heavy!r})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout == "[]\n", done.stdout
