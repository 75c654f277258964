"""grades.csv: the Moodle grading worksheet, the tutor's own filled in or a fresh one, with a plain-text
feedback comment per student."""

from __future__ import annotations

from typing import Sequence

from grader.mistakes import CATALOG
from grader.moodle import Grade, Worksheet, fresh_worksheet
from grader.report import CheckResult, Report

SENTENCE = 180


def grades_csv(reports: Sequence[Report], worksheet: Worksheet | None = None) -> bytes:
    """The worksheet to upload: `worksheet` with Grade and Feedback comments filled in for every student
    graded (its other rows and bytes untouched), or a fresh one listing every Moodle participant."""
    moodle = [r for r in reports if r.student_id.isdigit()]  # a Moodle participant number; others are not Moodle's
    grades = {r.student_id: Grade(r.score, r.max_score, feedback_comment(r)) for r in moodle}
    if worksheet is not None:
        return worksheet.filled({k: g for k, g in grades.items() if k in set(worksheet.participants())})
    return fresh_worksheet([(r.student_id, r.student_name, grades[r.student_id]) for r in moodle])


def feedback_comment(report: Report) -> str:
    """The score, each lost mark in one short sentence with its mistake named, in plain text."""
    parts = [f"Score {report.score:g}/{report.max_score:g}."]
    skipped = [c for c in report.checks if c.status == "skipped"]
    for message in dict.fromkeys(_short(c) for c in skipped):
        parts.append(f"{message[0].upper()}{message[1:]}.")
    parts += [_lost(c) for c in report.checks if c.status in ("failed", "error")]
    return " ".join(parts)


def _lost(check: CheckResult) -> str:
    if check.visibility == "hidden":
        return f"{check.id} ({check.score:g}/{check.max_score:g})."
    sentence = f"{check.id} ({check.score:g}/{check.max_score:g}): {_short(check)}."
    if check.diagnosis in CATALOG:
        sentence += f" Most likely: {CATALOG[check.diagnosis].words}."
    return sentence


def _short(check: CheckResult) -> str:
    first = check.lead.strip().rstrip(".")
    return first if len(first) <= SENTENCE else first[: SENTENCE - 3].rstrip() + "..."
