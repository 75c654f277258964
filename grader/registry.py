"""The check registry: every check is a small function registered under a public id.

A leaf module: the rubric and the checks both use it, and it imports neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:
    from grader.tasks.spec import Task

CheckFunction = Callable[[Any], str]
"""A check is given a grader.context.Context (one that runs student code) or a grader.context.Written
(one that reads a file as data); it returns the message of a pass, or raises a SubmissionFault."""


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
class Texts:
    """A non-empty list of texts a check reads from the rubric, with its default: each is read by `read`,
    which raises ValueError (its message said in the rubric's error) when a text is not one of `what`."""

    default: tuple[str, ...]
    what: str
    """What the texts are, in an error: "formulas in n and h"."""
    read: Callable[[str], object]


EVERYTHING = "*"
"""A check that runs the training loop runs every function of the task."""


@dataclass(frozen=True)
class CheckSpec:
    """A registered check: its id, the task file it reads, and its rubric parameters."""

    id: str
    task: str
    function: CheckFunction
    params: Mapping[str, Param | Texts]
    calls: frozenset[str] = frozenset({EVERYTHING})
    """The student's functions the check runs (a hang in one of them ends it at once)."""
    marks: tuple[str, ...] = ()
    """Parts marked on their own, each worth its rubric parameter `<part>_points`: the check's points
    are their sum, and its score the sum of the parts it found right (CheckConfig.score)."""
    shares: str | None = None
    """The key of a result of student code it judges with other checks (one run of a training loop):
    the engine tells the check computing it which checks of the rubric share it (Context.sharing)."""


REGISTRY: dict[str, CheckSpec] = {}


def check(check_id: str, *, task: Task, params: Mapping[str, Param | Texts] | None = None,
          calls: tuple[str, ...] = (EVERYTHING,), marks: tuple[str, ...] = (),
          shares: str | None = None) -> Callable[[CheckFunction], CheckFunction]:
    """Register `function` as the check `check_id` of `task`; an id may be registered once. `calls` names
    the student's functions it runs; `marks` the parts it marks on their own; `shares` the result it
    judges with other checks (CheckSpec.shares)."""

    def register(function: CheckFunction) -> CheckFunction:
        if check_id in REGISTRY:
            raise ValueError(f"check id {check_id!r} is registered twice")
        if any(f"{part}_points" not in (params or {}) for part in marks):
            raise ValueError(f"check {check_id!r}: each part needs a <part>_points parameter")
        REGISTRY[check_id] = CheckSpec(check_id, task.id, function, dict(params or {}), frozenset(calls), marks,
                                       shares)
        return function

    return register
