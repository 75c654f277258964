"""A pytest plugin: `pytest --lab5 PATH` grades a submission and runs each of its checks as a test item.

Registered by the entry point `[project.entry-points.pytest11] lab5`. Without --lab5 it only adds its
options: nothing is graded, nothing is collected, and the grading side of the package is never imported.
With --lab5, a `LabRun` is registered for the session: the session collects one item per rubric check
(`lab5::rnn.forward`, in rubric order) instead of the test paths, and the submission is graded once,
with `grader.pipeline.grade`, when the first item runs.

pytest finds its rootdir and config file before it loads plugins, so it reads the PATH of `--lab5 PATH`
as a test path there; `--lab5=PATH` leaves that choice to the current folder.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, NoReturn

import pytest

from grader.report import CLAUSES, CheckResult, Report
from grader.tasks import LAB

if TYPE_CHECKING:
    from collections.abc import Generator

    from grader.config import Rubric

COLLECTOR = LAB.slug
"""The name of the node holding the checks: the items' node ids are `lab5::<check id>`."""
HIDDEN = "a hidden check: what it found is not shown"
"""All a hidden check says: what pytest prints in CI is the student's to read."""
GRADER_FAULT = "This is a fault of the grader, not of the submission."
RUN = pytest.StashKey["LabRun"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(LAB.slug, f"{LAB.title} autograder")
    group.addoption(f"--{LAB.slug}", metavar="PATH", default=None,
                    help="grade the submission at PATH (folder, .zip, .py or .ipynb): one test per check, "
                         "instead of the test paths")
    group.addoption(f"--{LAB.slug}-rubric", metavar="FILE", default=None,
                    help=f"the rubric to grade --{LAB.slug} with (default: the grader's grader.yaml)")


def pytest_configure(config: pytest.Config) -> None:
    """With --lab5: check the submission and the rubric now (a usage error names them), then take
    over the session's collection. Without it: nothing."""
    path, rubric_file = config.getoption(LAB.slug), config.getoption(f"{LAB.slug}_rubric")
    if path is None:
        if rubric_file is not None:
            raise pytest.UsageError(f"--{LAB.slug}-rubric needs --{LAB.slug} PATH, the submission to grade")
        return
    if not Path(path).exists():
        raise pytest.UsageError(f"--{LAB.slug}: {path}: no such file or folder")
    run = LabRun(Path(path), _rubric(rubric_file))
    config.stash[RUN] = run
    config.pluginmanager.register(run, f"{LAB.slug}-run")


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(RUN, None)
    if run is not None:
        config.pluginmanager.unregister(run)
        del config.stash[RUN]


def _rubric(file: str | None) -> Rubric:
    from grader.errors import RubricError
    from grader.rubric import load_rubric

    try:
        return load_rubric(file)
    except RubricError as e:
        raise pytest.UsageError(f"--{LAB.slug}-rubric: {e}" if file is not None else f"{LAB.slug}: {e}") from e


class LabRun:
    """The session of a --lab5 run: its collection, the grading (once) and the score's summary line."""

    def __init__(self, path: Path, rubric: Rubric) -> None:
        self.path = path
        self.rubric = rubric
        self.report: Report | None = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_make_collect_report(self, collector: pytest.Collector) -> pytest.CollectReport | None:
        """The session collects the rubric's checks, never the test paths (nor imports them)."""
        if not isinstance(collector, pytest.Session):
            return None
        checks = RubricChecks.from_parent(collector, path=collector.config.rootpath / COLLECTOR)
        return pytest.CollectReport(collector.nodeid, "passed", None, [checks])

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item) -> Generator[None, pytest.TestReport,
                                                                         pytest.TestReport]:
        """A skipped check's reason points at the submission, not at the line of this plugin that skipped."""
        report = yield
        if isinstance(item, CheckItem) and report.skipped and isinstance(report.longrepr, tuple):
            # no line to point at: pytest's own summary of skips prints "path: reason" for None
            report.longrepr = (os.fspath(self.path), None, report.longrepr[2])  # type: ignore[assignment]
        return report

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        terminalreporter.write_sep("-", self.summary())
        for note in self.report.notes if self.report is not None else ():
            terminalreporter.write_line(f"note: {note}")

    def summary(self) -> str:
        """The score line: "lab5: 9/14 points", saying so when only some checks were selected."""
        if self.report is None:
            return f"{LAB.slug}: not graded (no check was run)"
        graded, total = len(self.report.checks), len(self.rubric.checks)
        line = f"{LAB.slug}: {_number(self.report.score)}/{_number(self.report.max_score)} points"
        if graded < total:
            line += f" ({graded} of {total} checks selected)"
        if self.report.internal_error:
            line += "; the grader failed on some checks (its fault, not the submission's)"
        return line

    def result(self, check_id: str, session: pytest.Session) -> CheckResult:
        """The check's result, grading the submission first if no item has yet."""
        if self.report is None:
            self.report = self._graded({item.name for item in session.items if isinstance(item, CheckItem)})
        return next(c for c in self.report.checks if c.id == check_id)

    def _graded(self, selected: set[str]) -> Report:
        """The selected checks graded (all of them unless -k, --lf or the like chose some)."""
        from grader.pipeline import failed_report, grade

        rubric = dataclasses.replace(self.rubric, checks=tuple(c for c in self.rubric.checks if c.id in selected))
        try:
            return grade(self.path, rubric)
        except Exception as e:  # the grader failed before any check ran: each item says so, the run goes on
            return failed_report(str(self.path), rubric, e)


class RubricChecks(pytest.File):
    """The rubric's checks, in its order, as test items: a file `lab5` in the rootdir, never read (nor
    there), so that the items' node ids read `lab5::<check id>`."""

    def collect(self) -> Iterable[pytest.Item | pytest.Collector]:
        for check in self.config.stash[RUN].rubric.checks:
            yield CheckItem.from_parent(self, name=check.id)


class CheckFailed(Exception):
    """A check that did not pass: its text is all pytest shows of it."""


class CheckItem(pytest.Item):
    """One check of the rubric: passes, fails or is skipped as the check's result says."""

    def runtest(self) -> None:
        check = self.config.stash[RUN].result(self.name, self.session)
        # JUnit XML from pytest (--junitxml) carries these as the testcase's properties
        self.user_properties += [("score", check.score), ("max_score", check.max_score)]
        if check.status == "skipped":
            pytest.skip(HIDDEN if check.visibility == "hidden" else check.message)
        if check.status != "passed":
            self._failed(check)

    def _failed(self, check: CheckResult) -> NoReturn:
        trace = check.details.get("traceback")
        if check.internal_error and isinstance(trace, str) and check.visibility != "hidden":
            self.add_report_section("call", "grader traceback", trace)
        raise CheckFailed(failure_text(check))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: str | None = None) -> str:
        """The check's own words: no traceback of this plugin."""
        if isinstance(excinfo.value, CheckFailed):
            return str(excinfo.value)
        return f"internal error in the {LAB.slug} plugin: {excinfo.exconly()}\n{GRADER_FAULT}"

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        return self.config.stash[RUN].path, None, self.name


def failure_text(check: CheckResult) -> str:
    """A failed check as the text report says it, with what the grader added (the smallest failing
    example, the likely mistake, notes, printed output) on lines of their own, then the points."""
    lines = [HIDDEN] if check.visibility == "hidden" else CLAUSES.split(check.message)
    lines.append(f"{check.status}: {_number(check.score)}/{_number(check.max_score)} points")
    if check.internal_error:
        lines.append(GRADER_FAULT)
    return "\n".join(lines)


def _number(x: float) -> str:
    return f"{x:g}"
