"""The feedback page a student receives: their score and, check by check, what went wrong.

One self-contained HTML page (inline CSS, no scripts, no network) that reads as plain text in an
editor and prints on paper. Everything taken from the report is the student's text: escaped.
"""

from __future__ import annotations

from html import escape

from grader.mistakes import CATALOG, most_likely
from grader.report import CheckResult, Report
from grader.writers import clip
from grader.writers.page import TITLE, page

MAX_MESSAGE = 2000
"""Characters of a message shown; the rest is cut (a message can carry a student's printed text)."""
MAX_LINES, MAX_LINE = 10, 200
"""Lines of printed output shown, and characters of each."""

_MARK = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "skipped": "SKIP"}

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 50rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.45; color: #1a1a1a; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.05rem; margin: 0 0 0.4rem; }
.student { font-size: 1.2rem; font-weight: 600; margin: 0; }
.total { font-size: 1.25rem; }
.check { border: 1px solid #ccc; border-left: 0.4rem solid #999; border-radius: 4px;
         padding: 0.6rem 0.9rem; margin: 0.8rem 0; break-inside: avoid; }
.check p { margin: 0.3rem 0; }
.passed { border-left-color: #2e7d32; } .failed { border-left-color: #c62828; }
.error { border-left-color: #e65100; } .skipped, .hidden { border-left-color: #9e9e9e; }
.mark { display: inline-block; min-width: 4.4rem; font-family: ui-monospace, monospace; }
.points { float: right; font-weight: normal; }
.message, .example, .diagnosis { overflow-wrap: anywhere; }
code, pre { font-family: ui-monospace, monospace; font-size: 0.9em; }
pre { background: #f4f4f4; padding: 0.5rem; white-space: pre-wrap; overflow-wrap: anywhere; margin: 0.3rem 0; }
.muted { color: #555; }
@media print { body { margin: 0; max-width: none; } pre { background: none; border: 1px solid #ccc; } }
"""


def feedback_page(report: Report) -> str:
    """The whole page for one student's report."""
    name = _name(report)
    body = [_heading(report, name), *_files(report), *_checks(report)]
    return page(f"{TITLE} feedback: {escape(name)}", _STYLE, body)


def _name(report: Report) -> str:
    return clip(report.student_name, 200)


def _heading(report: Report, name: str) -> str:
    counts = ", ".join(f"{n} {status}" for status, n in _status_counts(report) if n)
    return "\n".join([
        f"<h1>{TITLE} feedback</h1>",
        f'<p class="student">{escape(name)}</p>',
        f'<p class="total">Total: <strong>{_points(report.score, report.max_score)}</strong></p>',
        f'<p class="muted">{counts}</p>',
    ])


def _status_counts(report: Report) -> list[tuple[str, int]]:
    return [(status, sum(c.status == status for c in report.checks)) for status in _MARK]


def _files(report: Report) -> list[str]:
    """The files graded and what loading noticed, one line each."""
    lines = [f"<li>{escape(task)}: <code>{escape(clip(name, 300))}</code></li>" for task, name in
             sorted(report.files.items())]
    lines += [f"<li>note: {escape(clip(note, MAX_MESSAGE))}</li>" for note in report.notes]
    return ['<ul class="files muted">', *lines, "</ul>"] if lines else []


def _checks(report: Report) -> list[str]:
    """Every check in the rubric's order; skipped ones briefly, together at the end."""
    shown = [_hidden(c) if c.visibility == "hidden" else _check(c) for c in report.checks
             if c.visibility == "hidden" or c.status != "skipped"]
    skipped = [c for c in report.checks if c.visibility != "hidden" and c.status == "skipped"]
    return [*shown, *_skipped(skipped)]


def _check(check: CheckResult) -> str:
    lines = [f'<section class="check {check.status}" id="{escape(check.id)}">', _title(check),
             f'<p class="message">{escape(clip(_lead(check), MAX_MESSAGE))}</p>']
    lines += _example(check) + _diagnosis(check) + _output(check) + _written(check)
    if check.internal_error:
        lines.append("<p><strong>This is a fault of the grader, not of your code:</strong> your tutor will "
                     "look at it.</p>")
    return "\n".join([*lines, "</section>"])


def _title(check: CheckResult) -> str:
    return (f'<h2><span class="mark">{_MARK[check.status]}</span> <code class="id">{escape(check.id)}</code> '
            f'<span class="points">{_points(check.score, check.max_score)}</span></h2>')


def _hidden(check: CheckResult) -> str:
    return "\n".join([
        f'<section class="check hidden" id="{escape(check.id)}">',
        f'<h2><span class="mark">HIDDEN</span> <code class="id">{escape(check.id)}</code> '
        f'<span class="points">{_points(check.score, check.max_score)}</span></h2>',
        "</section>",
    ])


def _lead(check: CheckResult) -> str:
    """The message without the parts the page shows on lines of their own."""
    message = check.message
    for part in _shown_apart(check):
        message = message.replace(part, "", 1)
    return message


def _shown_apart(check: CheckResult) -> list[str]:
    parts = []
    if check.details.get("example"):
        parts.append(f"; smallest failing example: {check.details['example']}")
    if check.diagnosis in CATALOG:
        parts.append(f"; {most_likely(check.diagnosis)}")
    if _printed(check):
        parts.append(f"; your code printed: {str(check.details['output'][0]).strip()}")
    return parts


def _example(check: CheckResult) -> list[str]:
    example = check.details.get("example")
    if not example:
        return []
    return [f'<p class="example"><strong>Smallest failing example:</strong> '
            f"<code>{escape(clip(str(example), MAX_MESSAGE))}</code></p>"]


def _diagnosis(check: CheckResult) -> list[str]:
    if check.diagnosis is None:
        return []
    mistake = CATALOG.get(check.diagnosis)
    words = f"{escape(mistake.words)} " if mistake else ""
    return [f'<p class="diagnosis"><strong>Most likely:</strong> {words}'
            f"<code>[{escape(check.diagnosis)}]</code></p>"]


def _printed(check: CheckResult) -> list[str]:
    output = check.details.get("output")
    if not isinstance(output, (list, tuple)):
        return []
    return [clip(str(line), MAX_LINE) for line in output[:MAX_LINES]]


def _output(check: CheckResult) -> list[str]:
    lines = _printed(check)
    if not lines:
        return []
    text = escape("\n".join(lines))
    return ["<p><strong>Your code printed</strong> (first lines):</p>", f'<pre class="output">{text}</pre>']


def _written(check: CheckResult) -> list[str]:
    """The answers a student wrote (Part 1), marked or not, each under its key, for the tutor to read."""
    answers = check.details.get("answers")
    if not isinstance(answers, dict) or not answers:
        return []
    items = [f"<dt><code>{escape(clip(str(key), 100))}</code></dt><dd><pre>{escape(clip(str(text), MAX_MESSAGE))}"
             f"</pre></dd>" for key, text in answers.items()]
    return ["<p><strong>Your written answers:</strong></p>", '<dl class="answers">', *items, "</dl>"]


def _skipped(checks: list[CheckResult]) -> list[str]:
    """Skipped checks, one line per reason: they were not run, so there is nothing more to say."""
    if not checks:
        return []
    by_reason: dict[str, list[CheckResult]] = {}
    for check in checks:
        by_reason.setdefault(check.message, []).append(check)
    items = []
    for message, group in by_reason.items():
        ids = ", ".join(f'<code class="id">{escape(c.id)}</code>' for c in group)
        points = _points(0, sum(c.max_score for c in group))
        items.append(f"<li>{ids} ({points}): {escape(clip(message, MAX_MESSAGE))}</li>")
    return ['<section class="check skipped">', "<h2>Not run</h2>", "<ul>", *items, "</ul>", "</section>"]


def _points(score: float, max_score: float) -> str:
    return f"{score:g} / {max_score:g} point{'' if max_score == 1 else 's'}"
