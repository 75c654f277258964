"""The check registry: every check is a small function registered under a public id.

A leaf module: the rubric and the checks both use it, and it imports neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping

if TYPE_CHECKING:
    from grader.checks.context import Context

CheckFunction = Callable[["Context"], str]
"""A check returns the message of a pass, or raises a SubmissionFault."""


@dataclass(frozen=True)
class Param:
    """A number a check reads from the rubric, with its default and allowed range."""

    default: float | int
    minimum: float | int = 0
    maximum: float | int | None = None

    @property
    def kind(self) -> type:
        return int if isinstance(self.default, int) else float


EVERYTHING = "*"
"""A check that runs the training loop runs every function of the task."""


@dataclass(frozen=True)
class CheckSpec:
    """A registered check: its id, the task file it reads, and its rubric parameters."""

    id: str
    task: str
    function: CheckFunction
    params: Mapping[str, Param]
    calls: frozenset[str] = frozenset({EVERYTHING})
    """The student's functions the check runs (a hang in one of them ends it at once)."""


REGISTRY: dict[str, CheckSpec] = {}


def check(check_id: str, *, task: str, params: Mapping[str, Param] | None = None,
          calls: tuple[str, ...] = (EVERYTHING,)) -> Callable[[CheckFunction], CheckFunction]:
    """Register `function` as the check `check_id`; an id may be registered once. `calls` names
    the student's functions it runs."""

    def register(function: CheckFunction) -> CheckFunction:
        if check_id in REGISTRY:
            raise ValueError(f"check id {check_id!r} is registered twice")
        REGISTRY[check_id] = CheckSpec(check_id, task, function, dict(params or {}), frozenset(calls))
        return function

    return register
