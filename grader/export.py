"""A batch's exports rebuilt from its reports alone: grades.csv, feedback.zip, results.csv, summary.html.

With a rubric whose points changed, every score is recomputed from the stored statuses: no student
code runs again.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Mapping

from grader.config import Rubric
from grader.errors import UsageError
from grader.moodle import Worksheet
from grader.records import UNREADABLE, read_stored, report_paths, write_atomically
from grader.report import Report
from grader.writers.feedback_zip import feedback_zip
from grader.writers.grades import grades_csv
from grader.writers.results import results_csv
from grader.writers.summary import summary_page


RUN = "run.json"
"""What the last batch said of itself (its time, its lanes): the summary shows it."""


def export(out: Path, rubric: Rubric, worksheet: Path | None = None) -> list[Path]:
    """Write the four exports into `out` from `out/reports/*.json`; the paths written."""
    reports = [rescored(r, rubric) for r in load_reports(out)]
    run = _last_run(out, len(reports))
    sheet = Worksheet.read(worksheet) if worksheet is not None else None
    files = {"grades.csv": grades_csv(reports, sheet),
             "feedback.zip": feedback_zip(reports),
             "results.csv": results_csv(reports, [c.id for c in rubric.checks]).encode("utf-8"),
             "summary.html": summary_page(reports, run).encode("utf-8")}
    for name, data in files.items():
        write_atomically(out / name, data)
    return [out / name for name in files]


def unlisted(out: Path, worksheet: Path) -> list[str]:
    """The graded Moodle participants the worksheet has no row for: their grades are not in grades.csv
    (a worksheet downloaded before they joined, or from another assignment)."""
    listed = set(Worksheet.read(worksheet).participants())
    return [f"{r.student_name} ({r.student_id})" for r in load_reports(out)
            if r.student_id.isdigit() and r.student_id not in listed]


def load_reports(out: Path) -> list[Report]:
    """Every student's report in `out/reports`, by student name; a file that is not one is named."""
    reports = []
    for path in report_paths(out):
        try:
            reports.append(Report.from_dict(read_stored(path)))
        except UNREADABLE as e:
            raise UsageError(f"{path}: not a report the grader wrote ({type(e).__name__}: {e})") from None
    return sorted(reports, key=lambda r: (r.student_name.casefold(), r.submission))


def rescored(report: Report, rubric: Rubric) -> Report:
    """The report scored with `rubric`'s points: its checks in the rubric's order, each scored from its
    stored status. A check the rubric leaves out is dropped; one the report lacks stays missing."""
    stored = {c.id: c for c in report.checks}
    checks = tuple(dataclasses.replace(stored[config.id], max_score=config.points,
                                       score=config.score(stored[config.id].status, stored[config.id].details))
                   for config in rubric.checks if config.id in stored)
    return dataclasses.replace(report, checks=checks)


def save_run(out: Path, run: Mapping[str, Any]) -> None:
    write_atomically(out / RUN, (json.dumps(dict(run), indent=2) + "\n").encode("utf-8"))


def _last_run(out: Path, students: int) -> dict[str, Any]:
    try:
        run: dict[str, Any] = json.loads((out / RUN).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        run = {}
    return {"seconds": 0.0, "graded": 0, "jobs": 1, "rubric": "", "finished": "", **run, "students": students}

