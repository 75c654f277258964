"""The formats of `grader check --format`: each name, what it is for, and the writer that renders a report in it.

Adding a format is one new writer module, one entry here, and a test that reads its output back as its
consumer does; the command line takes its choices from this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from grader.report import Report
from grader.writers import github
from grader.writers.gradescope import gradescope_json
from grader.writers.json import render_json
from grader.writers.junit import junit_xml
from grader.writers.text import render_text


@dataclass(frozen=True)
class Options:
    """What the command line knows besides the report: how long grading took, and the terminal's width and
    colour (None and False for a pipe or a file)."""

    seconds: float | None = None
    width: int | None = None
    colour: bool = False


@dataclass(frozen=True)
class Format:
    render: Callable[[Report, Options], str]
    """The whole of standard output for one report."""
    purpose: str
    """Who reads it, for --format's help ("for people")."""


FORMATS: dict[str, Format] = {
    "text": Format(lambda report, options: render_text(report, options.width, options.colour), "for people"),
    "json": Format(lambda report, options: render_json(report) + "\n", "for programs"),
    "junit": Format(lambda report, options: junit_xml(report), "for GitLab and JUnit reporters"),
    "gradescope": Format(lambda report, options: gradescope_json(report, execution_time=options.seconds) + "\n",
                         "for Gradescope's results.json"),
    "github": Format(lambda report, options: github.workflow_log(report), "for GitHub Actions and Classroom"),
}
"""Every format by name, the default (text) first."""


def rendered(report: Report, name: str, options: Options) -> str:
    """The report in the format `name` (one of FORMATS)."""
    return FORMATS[name].render(report, options)
