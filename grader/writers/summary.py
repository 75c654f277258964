"""The class summary a tutor opens after a batch: scores, checks, the class's mistakes, what needs a look.

One self-contained HTML page (inline CSS and SVG, no scripts, no network) that reads as plain text in
an editor. Names, messages and printed output come from students: every one is escaped and cut short.
"""

from __future__ import annotations

import re
import statistics
from html import escape
from typing import Any, Mapping, Sequence

from grader.mistakes import CATALOG
from grader.report import STATUSES, CheckResult, Report
from grader.writers import clip
from grader.writers.page import TITLE, page

MAX_NAME, MAX_MESSAGE, MAX_TRACEBACK = 80, 300, 4000
"""Characters shown of a name, of a message, of a grader's traceback."""
NAMES_SHOWN = 5
"""Students named beside a mistake; the rest are counted."""
MESSAGES_SHOWN = 20
"""Kinds of unrecognised failure listed; the rest are counted."""

_COLOUR = {"passed": "#2e7d32", "failed": "#c62828", "error": "#e65100", "skipped": "#9e9e9e"}
_CELL = {"passed": "{score}", "failed": "{score}", "error": "{score} !", "skipped": "–"}
_NUMBER = re.compile(r"(?<![A-Za-z_])\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 78rem; margin: 1.5rem auto; padding: 0 1rem;
       line-height: 1.4; color: #1a1a1a; }
h1 { font-size: 1.6rem; margin-bottom: 0.3rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ccc; padding-bottom: 0.2rem; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.text { max-width: 40rem; overflow-wrap: anywhere; }
code, pre { font-family: ui-monospace, monospace; font-size: 0.9em; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f4f4f4; padding: 0.4rem; }
.stats { font-size: 1.1rem; } .muted { color: #555; }
.legend span { display: inline-block; margin-right: 1rem; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; vertical-align: -0.1em; margin-right: 0.3em; }
.scores td.passed { background: #e8f5e9; } .scores td.failed { background: #ffebee; }
.scores td.error { background: #fff3e0; } .scores td.skipped { background: #f0f0f0; color: #666; }
.scores td.cell { text-align: center; }
.scores th { font-size: 0.8em; } .scores td.num { white-space: nowrap; }
.wide { overflow-x: auto; }
.kind { font-weight: bold; font-size: 0.85em; padding: 0 0.3em; border: 1px solid; border-radius: 3px; }
.kind.internal { color: #fff; background: #b71c1c; border-color: #b71c1c; }
.kind.timeout { color: #e65100; } .kind.error { color: #6d4c41; }
@media print { body { max-width: none; margin: 0; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
"""


def summary_page(reports: Sequence[Report], run: Mapping[str, Any]) -> str:
    """The whole page for a batch's reports; `run` says how the batch went (seconds, students, ...)."""
    columns = _check_ids(reports)
    sections = [_header(reports, run), _histogram(reports), _per_check(reports, columns), _mistakes(reports),
                _needs_a_look(reports), _students(reports, columns)]
    return page(f"{TITLE}: class summary", _STYLE, sections)


def _header(reports: Sequence[Report], run: Mapping[str, Any]) -> str:
    return "\n".join([
        f"<h1>{TITLE}: class summary</h1>",
        f'<p class="muted">Rubric <code>{_text(run.get("rubric", "?"), MAX_MESSAGE)}</code>, '
        f'finished {_text(run.get("finished", "?"), MAX_NAME)}.</p>',
        '<ul class="stats">',
        f"<li>{_class_size(reports, run)}</li>",
        f"<li>{_scores(reports)}</li>",
        f"<li>{_timing(run)}</li>",
        "</ul>",
    ])


def _class_size(reports: Sequence[Report], run: Mapping[str, Any]) -> str:
    students, graded = int(run.get("students", len(reports))), int(run.get("graded", len(reports)))
    text = f"<strong>{students}</strong> students ({graded} graded this run, {students - graded} resumed)"
    return text if students == len(reports) else f"{text}, {len(reports)} reports"


def _scores(reports: Sequence[Report]) -> str:
    if not reports:
        return "no reports"
    scores, top = [r.score for r in reports], _top(reports)
    return (f"mean score <strong>{statistics.fmean(scores):.1f}</strong> / {top:g}, "
            f"median <strong>{statistics.median(scores):g}</strong> / {top:g}")


def _timing(run: Mapping[str, Any]) -> str:
    seconds, graded, jobs = float(run.get("seconds", 0.0)), int(run.get("graded", 0)), int(run.get("jobs", 1))
    each = f": {seconds / graded:.1f} s per student graded" if graded else ""
    parallel = "one job at a time" if jobs == 1 else f"{jobs} jobs in parallel"
    return f"the batch took <strong>{_duration(seconds)}</strong>{each} ({parallel})"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min {int(seconds % 60)} s"
    return f"{minutes // 60} h {minutes % 60} min"


def _top(reports: Sequence[Report]) -> float:
    """The most points a report could get (the rubric's total)."""
    return max((r.max_score for r in reports), default=0.0)


def _histogram(reports: Sequence[Report]) -> str:
    top = _top(reports)
    bins = _bins([r.score for r in reports], top)
    return "\n".join(["<h2>Total scores</h2>", _histogram_svg(bins, f"total score (out of {top:g})")])


def _bins(scores: Sequence[float], top: float) -> list[tuple[str, int]]:
    """Students per score: one bin per score when all are whole numbers up to 40, else ten equal ranges."""
    if top <= 40 and float(top).is_integer() and all(float(s).is_integer() for s in scores):
        return [(f"{v}", sum(s == v for s in scores)) for v in range(int(top) + 1)]
    width = top / 10 if top > 0 else 1.0
    counts = [0] * 10
    for s in scores:
        counts[max(0, min(int(s // width), 9))] += 1
    return [(f"{i * width:.3g}–{(i + 1) * width:.3g}", n) for i, n in enumerate(counts)]


_W, _H, _LEFT, _BOTTOM, _TOP = 760, 280, 48, 52, 22


def _histogram_svg(bins: list[tuple[str, int]], x_title: str) -> str:
    """Bars with the count over each, the bins under them, and the count axis on the left."""
    tallest = max((n for _, n in bins), default=0) or 1
    slot = (_W - _LEFT - 10) / max(len(bins), 1)
    plot = _H - _BOTTOM - _TOP
    lines = [f'<svg class="histogram" role="img" width="{_W}" height="{_H}" viewBox="0 0 {_W} {_H}" '
             'font-family="system-ui, sans-serif" font-size="12">',
             "<title>Students per total score</title>", *_count_axis(tallest, plot)]
    for i, (label, n) in enumerate(bins):
        lines += _bar(_LEFT + i * slot, slot, n * plot / tallest, label, n)
    lines += [f'<text x="{_LEFT + (_W - _LEFT) / 2:.1f}" y="{_H - 8}" text-anchor="middle">{escape(x_title)}</text>',
              f'<text x="12" y="{_TOP + plot / 2:.1f}" text-anchor="middle" '
              f'transform="rotate(-90 12 {_TOP + plot / 2:.1f})">students</text>', "</svg>"]
    return "\n".join(lines)


def _count_axis(tallest: int, plot: float) -> list[str]:
    """Grid lines with their counts, about five of them, at whole numbers."""
    step = max(1, -(-tallest // 5))
    lines = []
    for count in range(0, tallest + 1, step):
        y = _TOP + plot - count * plot / tallest
        lines += [f'<line x1="{_LEFT}" x2="{_W - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>',
                  f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{count}</text>']
    return lines


def _bar(x: float, slot: float, height: float, label: str, count: int) -> list[str]:
    base, middle = _H - _BOTTOM, x + slot / 2
    lines = [f'<rect class="bar" x="{x + slot * 0.1:.1f}" y="{base - height:.2f}" width="{slot * 0.8:.1f}" '
             f'height="{height:.2f}" fill="#3f6fb5" data-count="{count}">'
             f"<title>{escape(label)}: {count} students</title></rect>",
             f'<text x="{middle:.1f}" y="{base + 16}" text-anchor="middle">{escape(label)}</text>']
    if count:
        lines.append(f'<text class="count" x="{middle:.1f}" y="{base - height - 4:.2f}" '
                     f'text-anchor="middle">{count}</text>')
    return lines


def _check_ids(reports: Sequence[Report]) -> list[str]:
    """Every check id in the reports, in the rubric's order (first seen)."""
    return list(dict.fromkeys(c.id for r in reports for c in r.checks))


def _per_check(reports: Sequence[Report], columns: list[str]) -> str:
    head = ("<tr><th>check</th><th class=\"num\">points</th><th>students</th>"
            + "".join(f'<th class="num">{s}</th>' for s in STATUSES) + "</tr>")
    rows = [_check_row(check_id, reports) for check_id in columns]
    return "\n".join(["<h2>Checks</h2>", _legend(), '<table class="checks">', head, *rows, "</table>"])


def _legend() -> str:
    items = "".join(f'<span><span class="swatch" style="background:{_COLOUR[s]}"></span>{s}</span>'
                    for s in STATUSES)
    return f'<p class="legend">{items}</p>'


def _check_row(check_id: str, reports: Sequence[Report]) -> str:
    results = [c for r in reports for c in r.checks if c.id == check_id]
    counts: dict[str, int] = {s: sum(c.status == s for c in results) for s in STATUSES}
    hidden = " (hidden)" if any(c.visibility == "hidden" for c in results) else ""
    cells = "".join(f'<td class="num {s}">{counts[s]}</td>' for s in STATUSES)
    return (f'<tr data-check="{escape(check_id)}"><td><code>{escape(check_id)}</code>{hidden}</td>'
            f'<td class="num">{max(c.max_score for c in results):g}</td>'
            f"<td>{_stacked_bar(counts)}</td>{cells}</tr>")


def _stacked_bar(counts: Mapping[str, int], width: int = 360, height: int = 18) -> str:
    """One bar split by status, each part as wide as its count, its count written in it when it fits."""
    total, x, parts = sum(counts.values()) or 1, 0.0, []
    for status in STATUSES:
        w = counts[status] * width / total
        parts.append(f'<rect class="{status}" x="{x:.2f}" width="{w:.2f}" height="{height}" '
                     f'fill="{_COLOUR[status]}"><title>{counts[status]} {status}</title></rect>')
        if counts[status] and w >= 18:
            parts.append(f'<text x="{x + w / 2:.2f}" y="{height - 5}" text-anchor="middle" '
                         f'fill="#fff">{counts[status]}</text>')
        x += w
    return (f'<svg class="stacked" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'font-family="system-ui, sans-serif" font-size="11">'
            + "".join(parts) + "</svg>")


def _mistakes(reports: Sequence[Report]) -> str:
    return "\n".join(["<h2>Mistakes, by how many students made them</h2>", _diagnosed_table(reports),
                      _messages_table(reports)])


def _diagnosed(reports: Sequence[Report]) -> list[tuple[str, list[int], list[str]]]:
    """Each known mistake found: its id, the students (indices) who made it, and the checks it failed."""
    students: dict[str, dict[int, None]] = {}
    checks: dict[str, dict[str, None]] = {}
    for i, report in enumerate(reports):
        for c in report.checks:
            if c.diagnosis is not None and c.status in ("failed", "error"):
                students.setdefault(c.diagnosis, {})[i] = None
                checks.setdefault(c.diagnosis, {})[c.id] = None
    found = [(m, list(students[m]), list(checks[m])) for m in students]
    return sorted(found, key=lambda f: (-len(f[1]), f[0]))


def _diagnosed_table(reports: Sequence[Report]) -> str:
    found = _diagnosed(reports)
    if not found:
        return "<p>No known mistake was recognised.</p>"
    head = '<tr><th class="num">students</th><th>mistake</th><th>id</th><th>checks</th><th>who</th></tr>'
    rows = [_mistake_row(m, _who(reports, who), len(who), checks) for m, who, checks in found]
    return "\n".join(["<h3>Known mistakes</h3>", '<table class="diagnosed">', head, *rows, "</table>"])


def _mistake_row(mistake: str, who: str, count: int, checks: list[str]) -> str:
    words = escape(CATALOG[mistake].words) if mistake in CATALOG else "(not in this grader's catalog)"
    return (f'<tr class="mistake" data-id="{escape(mistake)}"><td class="num">{count}</td>'
            f'<td class="text">{words}</td><td><code>{escape(mistake)}</code></td>'
            f'<td>{_codes(checks)}</td><td class="text">{who}</td></tr>')


def _normalized(message: str) -> str:
    """A failure's own sentence with its numbers replaced by #."""
    return _NUMBER.sub("#", message)


def _unrecognised(reports: Sequence[Report]) -> list[tuple[tuple[str, str], list[int]]]:
    """Failures without a known mistake, grouped by check and message: the students (indices) of each."""
    groups: dict[tuple[str, str], dict[int, None]] = {}
    for i, report in enumerate(reports):
        for c in report.checks:
            if c.diagnosis is None and c.status in ("failed", "error"):
                groups.setdefault((c.id, _normalized(c.lead)), {})[i] = None
    return sorted(((k, list(v)) for k, v in groups.items()), key=lambda g: (-len(g[1]), g[0]))


def _messages_table(reports: Sequence[Report]) -> str:
    groups = _unrecognised(reports)
    if not groups:
        return "<p>Every failure was a known mistake.</p>"
    head = '<tr><th class="num">students</th><th>check</th><th>message</th><th>who</th></tr>'
    rows = [f'<tr class="message"><td class="num">{len(who)}</td><td><code>{escape(check_id)}</code></td>'
            f'<td class="text">{_text(message, MAX_MESSAGE)}</td><td class="text">{_who(reports, who)}</td></tr>'
            for (check_id, message), who in groups[:MESSAGES_SHOWN]]
    more = len(groups) - MESSAGES_SHOWN
    tail = [f"<p>{more} more kinds of failure, each by fewer students, not shown.</p>"] if more > 0 else []
    return "\n".join(["<h3>Other failures (no known mistake)</h3>", '<table class="messages">', head, *rows,
                      "</table>", *tail])


def _who(reports: Sequence[Report], indices: list[int]) -> str:
    names = sorted(reports[i].student_name for i in indices)
    shown = ", ".join(_text(n, MAX_NAME) for n in names[:NAMES_SHOWN])
    return shown + (f" and {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else "")


def _codes(ids: list[str]) -> str:
    return ", ".join(f"<code>{escape(i)}</code>" for i in ids)


def _needs_a_look(reports: Sequence[Report]) -> str:
    flagged = [r for r in reports if any(c.status == "error" for c in r.checks)]
    flagged.sort(key=lambda r: (not r.internal_error, _sort_key(r)))
    title = "<h2>To look at by hand: errors and time limits</h2>"
    if not flagged:
        return f"{title}\n<p>No student's grading hit an error or a time limit.</p>"
    head = "<tr><th>name</th><th>id</th><th>what happened</th></tr>"
    rows = [f'<tr class="flagged" data-student="{_text(r.student_id, MAX_NAME)}">'
            f'<td>{_text(r.student_name, MAX_NAME)}</td><td>{_text(r.student_id, MAX_NAME)}</td>'
            f'<td class="text">{_errors(r)}</td></tr>' for r in flagged]
    return "\n".join([title, '<table class="errors">', head, *rows, "</table>"])


def _errors(report: Report) -> str:
    """The report's errors, checks with the same message together, each with what kind of error it is."""
    same: dict[str, list[CheckResult]] = {}
    for c in report.checks:
        if c.status == "error":
            same.setdefault(c.message, []).append(c)
    items = [f"<li>{_kind(group[0])} {_codes([c.id for c in group])}: {_text(message, MAX_MESSAGE)}"
             f"{_traceback(group[0])}</li>" for message, group in same.items()]
    return "<ul>" + "".join(items) + "</ul>"


def _kind(check: CheckResult) -> str:
    if check.internal_error:
        return '<span class="kind internal">GRADER BUG</span>'
    if "time limit" in check.message:
        return '<span class="kind timeout">TIME LIMIT</span>'
    return '<span class="kind error">ERROR</span>'


def _traceback(check: CheckResult) -> str:
    trace = check.details.get("traceback")
    if not check.internal_error or not trace:
        return ""
    return f"<details><summary>traceback</summary><pre>{_text(str(trace), MAX_TRACEBACK)}</pre></details>"


def _students(reports: Sequence[Report], columns: list[str]) -> str:
    checks = "".join(f"<th><code>{escape(c).replace('.', '.<wbr>')}</code></th>" for c in columns)
    head = f'<tr><th>name</th><th>id</th><th class="num">score</th>{checks}<th class="num">seconds</th></tr>'
    rows = [_student_row(r, columns) for r in sorted(reports, key=_sort_key)]
    note = '<p class="muted">Each check\'s points; "!" an error or time limit, "–" not run (skipped).</p>'
    return "\n".join(["<h2>All students</h2>", note, '<div class="wide">', '<table class="scores">', head, *rows,
                      "</table>", "</div>"])


def _student_row(report: Report, columns: list[str]) -> str:
    by_id = {c.id: c for c in report.checks}
    cells = "".join(_score_cell(by_id.get(c)) for c in columns)
    seconds = (report.batch or {}).get("seconds")
    took = f"{float(seconds):.1f}" if isinstance(seconds, (int, float)) else ""
    return (f'<tr class="student"><td>{_text(report.student_name, MAX_NAME)}</td>'
            f'<td>{_text(report.student_id, MAX_NAME)}</td>'
            f'<td class="num">{report.score:g} / {report.max_score:g}</td>{cells}<td class="num">{took}</td></tr>')


def _score_cell(check: CheckResult | None) -> str:
    if check is None:
        return '<td class="cell"></td>'
    text = _CELL[check.status].format(score=f"{check.score:g}")
    return f'<td class="cell {check.status}" title="{check.status}">{text}</td>'




def _sort_key(report: Report) -> tuple[str, str]:
    return (report.student_name.casefold(), report.student_id)


def _text(value: object, limit: int) -> str:
    """A student's (or anyone's) text, cut to `limit` characters and escaped for HTML."""
    return escape(clip(str(value), limit))
