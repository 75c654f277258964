"""Shared test setup: Hypothesis profiles, the project's paths and rubric."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest
from hypothesis import HealthCheck, settings

from grader import grade
from grader.context import kind, load_request
from grader.tasks import LAB
from grader.report import Report
from grader.rubric import Rubric, load_rubric
from grader.sandbox import Sandbox
from grader.sandbox.linux import LinuxSandbox
from grader.sandbox.process import ProcessSandbox

KINDS = {task.id: kind(task) for task in LAB.tasks if task.runs_code}
"""The kinds of worker of the lab's tasks of code, by task id."""
LOAD = {task.id: load_request(LAB, task) for task in LAB.tasks if task.runs_code}
"""A worker's "load" request for each of them, by task id."""
GRADING = ("'grader.tasks.rnn.checks', 'grader.tasks.rnn.diagnosis', 'grader.tasks.lstm.model', "
           "'grader.tasks.lstm.training', 'grader.tasks.lstm.diagnosis', 'grader.tasks.lstm.kernel', "
           "'grader.tasks.answers.checks', 'grader.context', ")
"""Modules of the grader that judge, as the start of a tuple of names: a worker loads none of them."""

ROOT = Path(__file__).resolve().parent.parent
LINUX = sys.platform == "linux"
linux_only = pytest.mark.skipif(not LINUX, reason="a test of the Linux backend's walls")
FIXTURES = ROOT / "fixtures" / "submissions"

settings.register_profile("dev", max_examples=30, deadline=None)
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def rubric() -> Rubric:
    return load_rubric(ROOT / "grader.yaml")


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """One warm fork server for the whole session, as a batch would use (Linux only)."""
    if not LINUX:
        pytest.skip("the Linux backend needs Linux: the process backend's tests stand in for it here")
    with LinuxSandbox(KINDS.values()) as box:
        yield box


@pytest.fixture(scope="session")
def process_sandbox() -> Iterator[Sandbox]:
    """The portable backend's workers (as on macOS and Windows), for the whole session."""
    with ProcessSandbox(kinds=KINDS.values()) as box:
        yield box


@pytest.fixture(scope="session")
def graded(rubric: Rubric, request: pytest.FixtureRequest) -> Callable[..., Report]:
    """The report of a fixture case by a backend (linux or process; by default this system's), graded once
    per session."""
    reports: dict[tuple[str, str], Report] = {}

    def report(case: str, backend: str = "linux" if LINUX else "process") -> Report:
        if (case, backend) not in reports:
            sandbox = request.getfixturevalue("sandbox" if backend == "linux" else "process_sandbox")
            reports[case, backend] = grade(FIXTURES / case, rubric, sandbox)
        return reports[case, backend]

    return report


def without_isolation(reason: str) -> None:
    """Skip an isolation test where this machine cannot build the wall, but never on CI, where it can:
    there a wall that silently went missing must fail the run, not pass it by skipping."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI runs as root with namespaces, so this wall must be tested here")
    pytest.skip(reason)
