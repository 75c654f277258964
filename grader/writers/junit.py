"""JUnit XML for CI test reports (GitLab's artifacts:reports:junit, GitHub's JUnit reporters): one suite,
one testcase per check.

What the consumers read (their parsers): dorny/test-reporter needs `testsuite@name` and each testcase's `name`,
`classname` (its group) and `time`; GitLab shows `classname` as the suite and the text of `<failure>`, `<error>`
or `<skipped>` as the test's output, never the `message` attribute; mikepenz/action-junit-report shows the
`message` attribute, the text as raw details. None shows `<properties>` or a testcase's `<system-out>` (GitLab
looks there only for an `[[ATTACHMENT|path]]` tag): the points there are for readers of the standard schema.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

from grader.tasks import LAB
from grader.report import CheckResult, Report
from grader.writers import clip, spelled_out

SUITE = LAB.slug
MAX_TEXT = 10_000
"""Characters of a testcase's text shown; the rest is cut (a message can carry a student's printed text)."""
MAX_LEAD = 500
"""Characters of a `message` attribute: the short lead a reporter shows on one line."""
HIDDEN = "a hidden check: what it found is not shown"
"""All a hidden check says: a CI report is the student's to read, like the feedback page."""

_VERDICT = {"failed": "failure", "error": "error", "skipped": "skipped"}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""What XML 1.0 cannot hold even escaped: control characters but tab, LF and CR; lone surrogates; U+FFFE/F."""


def junit_xml(report: Report) -> str:
    """The report as one JUnit document: `<testsuites>` holding the lab's suite (SUITE) (UTF-8 when written)."""
    counts = _counts(report)
    root = ET.Element("testsuites", {"name": SUITE, **counts})
    suite = ET.SubElement(root, "testsuite", {"name": SUITE, **counts})
    properties = ET.SubElement(suite, "properties")
    for name, value in (("score", report.score), ("max_score", report.max_score)):
        ET.SubElement(properties, "property", name=name, value=f"{value:g}")
    for check in report.checks:
        _testcase(suite, check)
    loading = [f"{task}: {name}" for task, name in sorted(report.files.items())]
    loading += [f"note: {note}" for note in report.notes]
    if loading:
        ET.SubElement(suite, "system-out").text = _text("\n".join(loading))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _counts(report: Report) -> dict[str, str]:
    statuses = [c.status for c in report.checks]
    seconds = _seconds((report.batch or {}).get("seconds"))
    if seconds is None:
        seconds = sum(_seconds(c.details.get("seconds")) or 0.0 for c in report.checks)
    return {"tests": str(len(statuses)), "failures": str(statuses.count("failed")),
            "errors": str(statuses.count("error")), "skipped": str(statuses.count("skipped")),
            "time": f"{seconds:.3f}"}


def _testcase(suite: ET.Element, check: CheckResult) -> None:
    case = ET.SubElement(suite, "testcase", classname=_attribute(check.task), name=_attribute(check.id),
                         time=f"{_seconds(check.details.get('seconds')) or 0.0:.3f}")
    if check.status in _VERDICT:
        lead = HIDDEN if check.visibility == "hidden" else check.lead
        verdict = ET.SubElement(case, _VERDICT[check.status], message=_attribute(clip(lead, MAX_LEAD)))
        body = _body(check)
        if check.status != "skipped" or body != lead:  # a skipped check's reason is usually all it has to say
            verdict.text = _text(body)
    ET.SubElement(case, "system-out").text = f"score {check.score:g}/{check.max_score:g}"


def _body(check: CheckResult) -> str:
    """The whole message, with the smallest failing example and the mistake on lines of their own."""
    if check.visibility == "hidden":
        return HIDDEN
    lines = spelled_out(check)
    if check.internal_error:
        lines.append("This is a fault of the grader, not of the submission.")
    return clip("\n".join(lines), MAX_TEXT)


def _seconds(value: object) -> float | None:
    """`value` as seconds, or None where it is not a duration."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
        return float(value)
    return None


def _attribute(text: str) -> str:
    """Text an attribute can hold (ElementTree escapes the rest, tab and line ends included)."""
    return _NOT_XML.sub("", text)


def _text(text: str) -> str:
    """Text an element can hold, its line ends as a parser reads them back."""
    return _NOT_XML.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
