"""The catalog of known mistakes, gathered from the lab's tasks, and the diagnosers that recognise them
by running the student's code beside mutants of the reference.

Each task lists its mistakes (a stable id, the part of the task it lives in, what the student did)
and registers a diagnoser for each part with one; the pipeline asks the parts a failed check
reaches, in order, for the first mistake that matches. The ids are a public contract (README,
"Known mistakes").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from grader.registry import EVERYTHING, CheckSpec
from grader.tasks import LAB
from grader.tasks.spec import Mistake, Task

if TYPE_CHECKING:
    from grader.context import Context

CATALOG: dict[str, Mistake] = {m.id: m for task in LAB.tasks for m in task.mistakes}

Diagnoser = Callable[["Context"], "str | None"]
"""Runs the student's part beside its mutants; returns the id of the one that matches, or None."""

DIAGNOSERS: dict[tuple[str, str], Diagnoser] = {}
"""By (task id, part)."""


def diagnoser(task: Task, part: str) -> Callable[[Diagnoser], Diagnoser]:
    """Register `function` as the diagnoser of one part of a task; a part has one."""

    def register(function: Diagnoser) -> Diagnoser:
        if part not in task.parts or (task.id, part) in DIAGNOSERS:
            raise ValueError(f"{task.id} has no part {part!r}, or it already has a diagnoser")
        DIAGNOSERS[(task.id, part)] = function
        return function

    return register


def parts_reached(spec: CheckSpec, task: Task) -> tuple[str, ...]:
    """The parts of its task a check runs, in the order their mistakes are looked for."""
    return tuple(p for p in task.parts if EVERYTHING in spec.calls or p in spec.calls)


def most_likely(mistake_id: str) -> str:
    """The sentence a report adds to a failed check's message."""
    return f"most likely: {CATALOG[mistake_id].words} [{mistake_id}]"
