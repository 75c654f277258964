"""The report as one JSON document, for programs (and a batch's stored reports)."""

from __future__ import annotations

import json

from grader.report import Report


def render_json(report: Report) -> str:
    """The report as one JSON document (stable key order, so equal reports are equal text)."""
    return json.dumps(report.to_dict(), indent=2, allow_nan=False, default=_plain)


def _plain(value: object) -> object:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} in a report")
