"""The grader's exceptions: one root, and two kinds of fault that never mix.

    GraderError
    ├── SubmissionFault       the submission's fault: scored, reported, exit 0
    │   ├── Mismatch          student code ran and gave a wrong answer   -> "failed"
    │   ├── StudentException  student code raised                        -> "error"
    │   │   └── InvalidCode   it cannot run: an invalid line, a missing definition
    │   ├── WorkerTimeout     student code ran past its time limit        -> "error"
    │   └── WorkerDied        the worker exited or broke the protocol     -> "error"
    ├── UsageError            bad command-line input                      -> exit 2
    ├── RubricError           grader.yaml is invalid                      -> exit 2
    └── InternalError         the grader itself is broken                 -> exit 3

A SubmissionFault never escapes a check: the check runner turns it into a result. Any
other exception in a check (an InternalError, or a bug meeting odd output) becomes that
check's "error" result marked internal_error, so the report survives and the CLI exits 3.
"""

from __future__ import annotations

from typing import Any, Mapping


class GraderError(Exception):
    """Root of every exception the grader raises on purpose."""


class SubmissionFault(GraderError):
    """Something the submission did; it costs marks, never the grading run."""

    status = "error"

    def __init__(self, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details: dict[str, Any] = dict(details or {})


class Mismatch(SubmissionFault):
    """Student code ran and its answer differs from what was expected."""

    status = "failed"


class StudentException(SubmissionFault):
    """Student code raised an exception (or a blank is not valid Python)."""


class InvalidCode(StudentException):
    """Student code cannot run whatever the input: it reached a line that is not valid
    Python, or a definition a check needs is missing."""


class WorkerTimeout(SubmissionFault):
    """Student code did not answer within the check's time limit."""


class WorkerDied(SubmissionFault):
    """The worker process ended, or sent something that is not an answer."""


class UsageError(GraderError):
    """The command line names something that cannot be graded."""


class RubricError(GraderError):
    """The rubric file is missing, malformed or names unknown checks."""


class InternalError(GraderError):
    """The grader failed for a reason that is not the submission's."""
