r"""GitHub Actions: error annotations on the student's lines, the step summary, and the `result` output that
GitHub Classroom's grading reporter reads.

Sources: workflow commands and their escaping as the runner parses them (actions/runner ActionCommand.cs,
ActionCommandManager.cs); $GITHUB_OUTPUT's two forms (FileCommandManager.cs); the `result` format as
classroom-resources/autograding-command-grader writes it and autograding-grading-reporter@v1 reads it
(src/main.js, notify-classroom.js, console-results.js).

Why a student's text cannot issue a workflow command through these annotations: the runner reads a step's
output line by line (a line ends at LF, CR or CR LF) and takes a line as a command only when it starts,
after leading blanks, with "::" (the old "##[name]" form is tried only on a line that is not a "::" command).
Every line written here starts with our own "::error "; escaping CR, LF and % in the message, and also ":"
and "," in properties, means a message cannot end that line, so "\n::add-mask::x" or "\n::stop-commands::t"
never begins a line of its own, and cannot end the properties early. A message that itself starts with "::"
lands after the separator, which the runner finds as the FIRST "::" after the command's name: the rest of the
line is the message, so "::error title=...::::add-mask::x" is an annotation that reads "::add-mask::x".
The message is shown unaltered, and read back exactly as written.

The classroom result is different: the grading reporter prints a test's message to the log as it is
("Error: <message>"), so there a message is put on one line and "##[", which the runner takes as the start of
an old-style command anywhere in a line that is not a "::" command, is broken by a zero-width space.
Otherwise a student could print "\n::notice title=Autograding report::..." and forge the score Classroom reads.
"""

# No `from __future__ import annotations` here, unlike the rest of grader/: it would bind the name of the
# writer `annotations` below. Python 3.11 evaluates these annotations as they are.
import base64
import json
import os
import re
import uuid
from pathlib import PurePosixPath
from typing import Any

from grader.tasks import LAB
from grader.report import CheckResult, Report
from grader.writers import clip
from grader.writers.text import render_text

ANNOTATIONS = 10
"""Error annotations GitHub shows for one step; it drops the rest silently."""
MAX_MESSAGE = 2000
"""Characters of a message in an annotation (a message can carry the student's printed text)."""
MAX_CELL = 300
"""Characters of a message in the step summary's table."""
MAX_RESULT = 64 * 1024
"""Characters of the classroom result at most: the reporter receives it in an environment variable, and
Linux refuses to start a program with one longer than 128 KiB."""
RESULT_MESSAGES = (500, 100, 0)
"""Characters of each message in the classroom result, tried in turn until the result fits in MAX_RESULT."""
HIDDEN = "the details of this check are hidden"
GRADERS_FAULT = " (this is a fault of the grader, not of your code: your tutor will look at it)"
LOST = ("failed", "error")
"""The statuses an annotation is written for."""

_DATA = str.maketrans({"%": "%25", "\r": "%0D", "\n": "%0A"})
_PROPERTY = str.maketrans({"%": "%25", "\r": "%0D", "\n": "%0A", ":": "%3A", ",": "%2C"})
_MARKDOWN = str.maketrans({**{c: "\\" + c for c in "\\`*_[]~|$@"}, "&": "&amp;", "<": "&lt;", ">": "&gt;"})
_NEWLINE = re.compile(r"\r\n|\r|\n")
_STATUS = {"passed": "✅ passed", "failed": "❌ failed", "error": "⚠️ error", "skipped": "➖ skipped"}
_CLASSROOM = {"passed": "pass", "failed": "fail", "error": "error", "skipped": "fail"}


def annotations(report: Report, limit: int = ANNOTATIONS) -> list[str]:
    """`::error` workflow commands, one a line, for the checks that lost marks, on the student's file and
    line where known: at most `limit`, the last naming the rest when there are more."""
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    lost = [c for c in report.checks if c.status in LOST]
    shown = lost if len(lost) <= limit else lost[: limit - 1]
    lines = [_annotation(c, report.files.get(c.task)) for c in shown]
    rest = lost[len(shown):]
    if rest:
        listed = ", ".join(_points(c) for c in rest)
        lines.append(_command("error", {"title": f"{len(rest)} more checks lost marks"},
                              f"shown together, as GitHub shows only a few annotations a step: {listed}"))
    return lines


def workflow_log(report: Report) -> str:
    """The text report (commands off while it is read) and the error annotations, for the step's log; the
    Markdown table to $GITHUB_STEP_SUMMARY and the Classroom `result` to $GITHUB_OUTPUT, when set."""
    for variable, text in (("GITHUB_STEP_SUMMARY", step_summary(report)),
                           ("GITHUB_OUTPUT", output_line("result", classroom_output(report)))):
        if os.environ.get(variable):
            with open(os.environ[variable], "a", encoding="utf-8") as f:
                f.write(text)
    return inert_block(render_text(report)) + "".join(f"{line}\n" for line in annotations(report))


def step_summary(report: Report) -> str:
    """Markdown for $GITHUB_STEP_SUMMARY: a heading, a table of the checks, the total, the files graded and
    what loading noticed. The student's text is escaped so that it shows as written and stays in its cell."""
    lines = ["## Autograder report", "", "| Check | Status | Points | Message |", "| --- | --- | ---: | --- |"]
    lines += [f"| {_markdown(c.id)} | {_STATUS[c.status]} | {_number(c.score)} / {_number(c.max_score)} | "
              f"{_markdown(clip(_said(c), MAX_CELL))} |" for c in report.checks]
    lines += ["", f"**Total: {_number(report.score)} / {_number(report.max_score)} points**", ""]
    lines += [f"- {_markdown(task)}: {_markdown(name)}" for task, name in sorted(report.files.items())]
    lines += [f"- note: {_markdown(clip(note, MAX_CELL))}" for note in report.notes]
    return "\n".join(lines) + "\n"


def classroom_output(report: Report) -> str:
    """The `result` output that classroom-resources/autograding-grading-reporter@v1 reads: base64 of its
    JSON (version, status, max_score, one test per check), short enough to pass through the environment."""
    for limit in RESULT_MESSAGES:
        encoded = base64.b64encode(_classroom_json(report, limit).encode("ascii")).decode("ascii")
        if len(encoded) <= MAX_RESULT:
            return encoded
    return encoded


def inert_block(text: str) -> str:
    """`text` (the human report, student messages and all) with workflow commands off while it is read:
    between "::stop-commands::<token>" and "::<token>::" the runner runs no command, whatever a line says."""
    token = f"{LAB.slug}-{uuid.uuid4().hex}"
    return f"::stop-commands::{token}\n{text.rstrip()}\n::{token}::\n"


def output_line(name: str, value: str) -> str:
    """The text to append to $GITHUB_OUTPUT to set output `name` to `value`: `name=value`, or, when the
    value spans lines, the heredoc form with a random delimiter that the value cannot contain."""
    if not name or any(bad in name for bad in ("=", "<<", "\n", "\r")):
        raise ValueError(f"not a name for a step output: {name!r}")
    if "\n" not in value and "\r" not in value:
        return f"{name}={value}\n"
    delimiter = f"ghadelimiter_{uuid.uuid4()}"
    while delimiter in value:  # as likely as guessing a random UUID, but a match would cut the value short
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def _annotation(check: CheckResult, name: str | None) -> str:
    properties: dict[str, str] = {}
    if name is not None and _plain_path(name):
        properties["file"] = name
        line = _line(check, name)
        if line:
            properties["line"] = str(line)
    properties["title"] = _points(check)
    return _command("error", properties, clip(_said(check), MAX_MESSAGE))


def _command(name: str, properties: dict[str, str], data: str) -> str:
    """One workflow command on one line, escaped as the runner unescapes it (see the module's docstring)."""
    listed = ",".join(f"{key}={value.translate(_PROPERTY)}" for key, value in properties.items())
    return f"::{name}{' ' + listed if listed else ''}::{data.translate(_DATA)}"


def _plain_path(name: str) -> bool:
    """Whether a task's file name is a plain path relative to the submission's root (not inside a zip, not
    climbing out of it), which an annotation can point at; the runner would mangle "=" and edge blanks."""
    path = PurePosixPath(name)
    return (name == name.strip() != "" and not path.is_absolute() and ".." not in path.parts
            and not any(c in name for c in ':\\=') and name.isprintable())


def _line(check: CheckResult, name: str) -> int | None:
    """The line of the file `name` that the message points at ("my_rnn.py line 41"); never a hidden check's,
    nor a notebook's line within a cell."""
    if check.visibility == "hidden":
        return None
    found = re.search(rf"(?<![\w./-]){re.escape(name)} line (\d+)\b", check.message)
    return int(found.group(1)) if found else None


def _said(check: CheckResult) -> str:
    """What the student is shown of a check's message."""
    if check.visibility == "hidden":
        return HIDDEN
    return (check.message or check.status) + (GRADERS_FAULT if check.internal_error else "")


def _points(check: CheckResult) -> str:
    return f"{check.id} {_number(check.score)}/{_number(check.max_score)}"


def _classroom_json(report: Report, limit: int) -> str:
    tests = [_classroom_test(c, report.files.get(c.task, ""), limit) for c in report.checks]
    status = "error" if report.internal_error else "pass" if all(t["status"] == "pass" for t in tests) else "fail"
    return json.dumps({"version": 1, "status": status, "max_score": report.max_score, "tests": tests},
                      allow_nan=False)


def _classroom_test(check: CheckResult, name: str, limit: int) -> dict[str, Any]:
    """One test as autograding-command-grader writes it; the reporter sums `score` and prints `name`,
    `message` (for an error) and `line_no` (unless 0), hence the message made inert. No test code: that would
    be the reference."""
    message = _inert(clip(_said(check), limit)) if limit else ""
    return {"name": check.id, "status": _CLASSROOM[check.status], "score": check.score, "message": message,
            "test_code": "", "filename": _inert(name), "line_no": (_line(check, name) if name else None) or 0,
            "duration": 0}


def _inert(text: str) -> str:
    """`text` as one line without "##[", so that printed to the log it is no workflow command."""
    return _NEWLINE.sub(" ⏎ ", text).replace("##[", "#\u200b#[")


def _markdown(text: str) -> str:
    """Text that GitHub's Markdown shows as written, on one line, inside a table cell: HTML and Markdown's
    inline marks (emphasis, code, links, pipes, math, mentions) escaped, line breaks as <br>."""
    return "<br>".join(part.translate(_MARKDOWN) for part in _NEWLINE.split(text))


def _number(x: float) -> str:
    return f"{x:g}"
