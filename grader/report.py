"""The result of grading one submission, and its text and JSON renderings."""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

Status = Literal["passed", "failed", "error", "skipped"]
ADDED = re.compile(r"; (?:smallest failing example|note|most likely|your code printed):")
"""Where the parts the grader adds after a check's own sentence begin (the example, hints, the
mistake's name, what the code printed)."""
STATUSES: tuple[Status, ...] = ("passed", "failed", "error", "skipped")


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check on one submission."""

    id: str
    task: str
    status: Status
    score: float
    max_score: float
    message: str
    visibility: str = "public"
    details: Mapping[str, Any] = field(default_factory=dict)
    internal_error: bool = False
    """The grader itself failed on this check (status "error", traceback in details)."""
    diagnosis: str | None = None
    """The id of the known mistake behind a failed check (grader.mistakes), or None."""

    @property
    def lead(self) -> str:
        """The check's own sentence: the message without the parts the grader added after it."""
        return ADDED.split(self.message, maxsplit=1)[0]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        """A result as to_dict wrote it (a stored report read back)."""
        return cls(str(data["id"]), str(data["task"]), data["status"], float(data["score"]),
                   float(data["max_score"]), str(data["message"]), str(data.get("visibility", "public")),
                   dict(data.get("details") or {}), bool(data.get("internal_error", False)), data.get("diagnosis"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "task": self.task,
            "status": self.status,
            "score": self.score,
            "max_score": self.max_score,
            "message": self.message,
            "visibility": self.visibility,
            "details": dict(self.details),
            "internal_error": self.internal_error,
            "diagnosis": self.diagnosis,
        }


@dataclass(frozen=True)
class Report:
    """Every check of the rubric on one submission, with what loading noticed."""

    submission: str
    checks: tuple[CheckResult, ...]
    files: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    student: Mapping[str, str] | None = None
    """In a batch: {"id": ..., "name": ...} (Moodle's participant number and full name)."""
    batch: Mapping[str, Any] | None = None
    """In a batch: what the report was made from (content hashes) and how long it took."""
    isolation: str | None = None
    """The walls student code ran behind (grader.sandbox.ISOLATIONS: the weakest any of its workers had);
    None when none of it ran."""

    @property
    def score(self) -> float:
        return round(sum(c.score for c in self.checks), 6)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_score for c in self.checks), 6)

    @property
    def student_id(self) -> str:
        """Moodle's participant number (or the entry's name) in a batch; the submission's path otherwise."""
        return str((self.student or {}).get("id") or self.submission)

    @property
    def student_name(self) -> str:
        return str((self.student or {}).get("name") or self.submission)

    @property
    def internal_error(self) -> bool:
        """Some check's result is the grader's fault, not the submission's: the CLI exits 3."""
        return any(c.internal_error for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        extra = {k: dict(v) for k, v in (("student", self.student), ("batch", self.batch)) if v is not None}
        return {
            "submission": self.submission,
            "score": self.score,
            "max_score": self.max_score,
            "internal_error": self.internal_error,
            "files": dict(self.files),
            "notes": list(self.notes),
            "isolation": self.isolation,
            "checks": [c.to_dict() for c in self.checks],
            **extra,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        """A report as to_dict wrote it; its score and max_score are re-derived from the checks."""
        return cls(str(data["submission"]), tuple(CheckResult.from_dict(c) for c in data["checks"]),
                   dict(data.get("files") or {}), tuple(data.get("notes") or ()), data.get("student"),
                   data.get("batch"), data.get("isolation"))


def render_json(report: Report) -> str:
    """The report as one JSON document (stable key order, so equal reports are equal text)."""
    return json.dumps(report.to_dict(), indent=2, allow_nan=False, default=_plain)


def _plain(value: object) -> object:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} in a report")


ISOLATION_WORDS = {
    "linux-namespaces": "linux-namespaces (student code ran in namespaces of its own: it saw none of your files)",
    "linux-process": "linux-process (this kernel refused namespaces: student code could read your files)",
    "process": "process (a plain process: student code could read your files; fine for your own work)",
}
"""The text report's line on the walls student code ran behind (none when none of it ran)."""
_MARK = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "skipped": "SKIP"}
_COLOUR = {"passed": "32", "failed": "31", "error": "35", "skipped": "2"}
"""ANSI colours of the marks: green, red, magenta, dim."""
PARTS = re.compile(r"; (?=(?:smallest failing example|note|most likely|your code printed):)")
"""Where a message's added parts begin (ADDED), kept with their words: each is shown on a line of its own."""
LINE_BREAK = re.compile(r"\r\n|[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")
"""What splits a line, for Python's splitlines or a CI runner."""
NARROW = 40
"""Below this many columns for the message, continuation lines start further left."""


def render_text(report: Report, width: int | None = None, colour: bool = False) -> str:
    """The report as lines a person reads: one per check (its example, hints and diagnosis indented under
    it), the total, and what to do next. `width`: wrap to that many columns (a terminal's); `colour`: mark
    the statuses with ANSI colours (only for a terminal that wants them)."""
    lines = [f"Submission: {_flat(report.submission)}"]
    lines += [f"  {task}: {_flat(name)}" for task, name in sorted(report.files.items())]
    lines += [f"  note: {_flat(note)}" for note in report.notes]
    if report.isolation is not None:
        lines.append(f"  isolation: {_flat(ISOLATION_WORDS.get(report.isolation, report.isolation))}")
    name_width = max((len(c.id) for c in report.checks), default=0)
    for c in report.checks:
        points = f"{_number(c.score)}/{_number(c.max_score)}"
        head = f"{_MARK[c.status]:<5} {c.id:<{name_width}}  {points:>7}  "
        mark = f"\033[{_COLOUR[c.status]}m{_MARK[c.status]}\033[0m" if colour else _MARK[c.status]
        lead, *added = PARTS.split(_flat(c.message))
        shown = _wrapped(lead, len(head), _indent(len(head), width), width)
        lines.append(mark + " " * (5 - len(_MARK[c.status])) + head[5:] + shown[0])
        lines += shown[1:]
        for part in added:
            first, *rest = _wrapped(part, 6, 8, width)
            lines += [" " * 6 + first, *rest]
    total = f"Total: {_number(report.score)}/{_number(report.max_score)}"
    lines.append(f"\033[1m{total}\033[0m" if colour else total)
    lines.append(next_step(report))
    return "\n".join(lines) + "\n"


def _flat(text: str) -> str:
    """Text from a submission on one line: every line of the report begins with the grader's own words, so
    that what a student's code raised or named cannot pass for a line of its own (nor, in a CI log, for a
    workflow command such as "::add-mask::")."""
    return LINE_BREAK.sub(" ↵ ", text)


def next_step(report: Report) -> str:
    """The report's last line: what to do now."""
    lost = [c for c in report.checks if c.status in ("failed", "error")]
    if report.internal_error:
        return "Next: some checks failed through a fault of the grader, not of your code: tell your tutor."
    if lost:
        more = f" ({len(lost) - 1} more after it)" if len(lost) > 1 else ""
        return f"Next: fix {lost[0].id}{more}, from the first line of its message, then run grader check again."
    if any(c.status == "skipped" for c in report.checks):
        return "Next: add the files the skipped checks name, then run grader check again."
    return "Next: nothing: every check passed. Hand it in."


def _indent(head: int, width: int | None) -> int:
    return head if width is None or width - head >= NARROW else 6


def _wrapped(text: str, first: int, then: int, width: int | None) -> list[str]:
    """`text` for a line that starts at column `first` and goes on at column `then` (the first line
    without its indent, the others with theirs), within `width` columns; one line when `width` is None
    (a pipe or a file: grep finds a check's message on its line)."""
    if width is None:
        return [text]
    lines = textwrap.wrap(text, width=max(width, first + 20), initial_indent=" " * first,
                          subsequent_indent=" " * then, break_on_hyphens=False) or [" " * first]
    # a word that begins a line is the student's: "::" there would read as a workflow command in a CI log
    return [lines[0][first:], *(line.replace("::", ":\u200b:", 1) if line.lstrip().startswith("::") else line
                                for line in lines[1:])]


def _number(x: float) -> str:
    return f"{x:g}"
