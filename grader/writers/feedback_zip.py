"""feedback.zip: each student's feedback page, named so that Moodle's "Upload multiple feedback files
in a zip" attaches it to that student."""

from __future__ import annotations

import io
import zipfile
from typing import Sequence

from grader.moodle import feedback_member
from grader.report import Report
from grader.writers.feedback import feedback_page

PAGE = "feedback.html"
STAMP = (1980, 1, 1, 0, 0, 0)
"""Every member's date: the same reports give the same bytes (a sharded run equals an unsharded one)."""


def feedback_zip(reports: Sequence[Report]) -> bytes:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as z:
        for report in reports:
            info = zipfile.ZipInfo(_member(report), STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, feedback_page(report).encode("utf-8"))
    return data.getvalue()


def _member(report: Report) -> str:
    if report.student_id.isdigit():  # a Moodle participant number
        return feedback_member(report.student_name, report.student_id, PAGE)
    return f"{(report.batch or {}).get('key', report.student_id)}_{PAGE}"
