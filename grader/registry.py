"""The check registry: every check is a small function registered under a public id.

A leaf module: the rubric and the checks both use it, and it imports neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

CheckFunction = Callable[[Any], str]
"""A check is given a checks.context.Context (one that runs student code) or a checks.answers.Answers
(one that reads written answers); it returns the message of a pass, or raises a SubmissionFault."""


@dataclass(frozen=True)
class Param:
    """A number a check reads from the rubric, with its default and allowed range."""

    default: float | int
    minimum: float | int = 0
    maximum: float | int | None = None

    @property
    def kind(self) -> type:
        return int if isinstance(self.default, int) else float


@dataclass(frozen=True)
class Formulas:
    """A list of formulas in n and h a check reads from the rubric (grader.formula), with its default."""

    default: tuple[str, ...]


EVERYTHING = "*"
"""A check that runs the training loop runs every function of the task."""


@dataclass(frozen=True)
class CheckSpec:
    """A registered check: its id, the task file it reads, and its rubric parameters."""

    id: str
    task: str
    function: CheckFunction
    params: Mapping[str, Param | Formulas]
    calls: frozenset[str] = frozenset({EVERYTHING})
    """The student's functions the check runs (a hang in one of them ends it at once)."""
    parts: tuple[str, ...] = ()
    """Parts marked on their own, each worth its rubric parameter `<part>_points`: the check's points
    are their sum, and its score the sum of the parts it found right (CheckConfig.score)."""


REGISTRY: dict[str, CheckSpec] = {}


def check(check_id: str, *, task: str, params: Mapping[str, Param | Formulas] | None = None,
          calls: tuple[str, ...] = (EVERYTHING,), parts: tuple[str, ...] = ()) -> Callable[[CheckFunction],
                                                                                         CheckFunction]:
    """Register `function` as the check `check_id`; an id may be registered once. `calls` names
    the student's functions it runs; `parts` the parts it marks on their own."""

    def register(function: CheckFunction) -> CheckFunction:
        if check_id in REGISTRY:
            raise ValueError(f"check id {check_id!r} is registered twice")
        if any(f"{part}_points" not in (params or {}) for part in parts):
            raise ValueError(f"check {check_id!r}: each part needs a <part>_points parameter")
        REGISTRY[check_id] = CheckSpec(check_id, task, function, dict(params or {}), frozenset(calls), parts)
        return function

    return register
