"""results.csv: one row per student, one column per check (its score), the total, and a status."""

from __future__ import annotations

import csv
import io
from typing import Sequence

from grader.report import Report


def status(report: Report) -> str:
    """One word a spreadsheet can filter on: graded, nothing_gradable, or grader_error."""
    if report.internal_error:
        return "grader_error"
    if report.checks and all(c.status == "skipped" for c in report.checks):
        return "nothing_gradable"
    return "graded"


def results_csv(reports: Sequence[Report], check_ids: Sequence[str]) -> str:
    """The class as a table (UTF-8 text, comma-separated, a header row)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "name", *check_ids, "total", "max", "status"])
    for report in reports:
        scores = {c.id: c.score for c in report.checks}
        writer.writerow([report.student_id, report.student_name, *(_number(scores.get(k)) for k in check_ids),
                         _number(report.score), _number(report.max_score), status(report)])
    return out.getvalue()


def _number(x: float | None) -> str:
    return "" if x is None else f"{x:g}"
