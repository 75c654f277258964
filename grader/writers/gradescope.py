"""results.json for Gradescope's autograder: the score, a short summary, and one test per check.

Gradescope's test status is only "passed" or "failed": a check that errored or was not run is "failed", and its
output says why. A hidden check is shown once the grades are published ("after_published").
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from grader.report import STATUSES, CheckResult, Report
from grader.writers import clip, spelled_out

MAX_OUTPUT = 10_000
"""Characters of one output shown; the rest is cut. The spec sets no limit, but a message can carry a
student's printed text, and the page shows a test's output whole."""

_UNSENDABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
"""Lone surrogates, which no UTF-8 reader takes, and control characters but tab and line ends (NUL cannot be
stored in a PostgreSQL text, by inference what Gradescope keeps results in)."""


def gradescope_json(report: Report, execution_time: float | None = None) -> str:
    """results.json for one report; `execution_time` in seconds (else the batch's, else left out)."""
    return _dump({
        "score": float(report.score),
        **_execution_time(execution_time if execution_time is not None else (report.batch or {}).get("seconds")),
        "output": _output(_summary(report)),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",  # the grader's own log is for the tutor
        "tests": [_test(number, check) for number, check in enumerate(report.checks, 1)],
    })


def crashed_json(reason: str) -> str:
    """results.json for a submission grading could not finish: score 0 and the reason, so the runner always
    leaves a file that Gradescope reads."""
    return _dump({
        "score": 0.0,
        "output": _output(reason) or "grading failed",
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [],
    })


def _summary(report: Report) -> str:
    """The score and how many checks ended how, the files graded and what loading noticed."""
    ended = [c.status for c in report.checks]
    counts = ", ".join(f"{ended.count(status)} {status}" for status in STATUSES if status in ended)
    lines = [f"Score {report.score:g}/{report.max_score:g}" + (f" ({counts})." if counts else ".")]
    lines += [f"{task}: {name}" for task, name in sorted(report.files.items())]
    lines += [f"Note: {note}" for note in report.notes]
    if report.internal_error:
        lines.append("Some checks failed through a fault of the grader, not of your code: your tutor will look "
                     "at it.")
    return "\n".join(lines)


def _shown(check: CheckResult) -> str:
    """The check's message, with the smallest failing example and the mistake on lines of their own."""
    lines = spelled_out(check)
    if check.internal_error:
        lines.append("This is a fault of the grader, not of your code: your tutor will look at it.")
    return "\n".join(lines)


def _test(number: int, check: CheckResult) -> dict[str, Any]:
    return {
        "name": _output(check.id),
        "number": str(number),
        "score": float(check.score),
        "max_score": float(check.max_score),
        "status": "passed" if check.status == "passed" else "failed",
        "output": _output(_shown(check)),
        "output_format": "text",
        "tags": [_output(check.task)],
        "visibility": "visible" if check.visibility == "public" else "after_published",
    }


def _execution_time(seconds: object) -> dict[str, int]:
    """The spec's execution_time, whole seconds, where the time is known."""
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and math.isfinite(seconds):
        return {"execution_time": max(0, round(seconds))}
    return {}


def _output(text: str) -> str:
    """`text` as Gradescope can take it, cut to MAX_OUTPUT characters saying how much was cut."""
    return clip(_UNSENDABLE.sub("", text), MAX_OUTPUT)


def _dump(results: dict[str, Any]) -> str:
    return json.dumps(results, indent=2, allow_nan=False)
