"""The report as lines a person reads in a terminal, a pipe or a CI log."""

from __future__ import annotations

import re
import textwrap

from grader.report import CLAUSES, Report

ISOLATION_WORDS = {
    "linux-namespaces": "linux-namespaces (student code ran in namespaces of its own: it saw none of your files)",
    "linux-process": "linux-process (this kernel refused namespaces: student code could read your files)",
    "process": "process (a plain process: student code could read your files; fine for your own work)",
}
"""The text report's line on the walls student code ran behind (none when none of it ran)."""
_MARK = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "skipped": "SKIP"}
_COLOUR = {"passed": "32", "failed": "31", "error": "35", "skipped": "2"}
"""ANSI colours of the marks: green, red, magenta, dim."""
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
        lead, *added = CLAUSES.split(_flat(c.message))
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
