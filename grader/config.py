"""The rubric as the grader uses it: frozen configuration of each check and of the whole (a leaf module;
grader.rubric reads it from grader.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from grader.tasks.spec import Lab

DIAGNOSIS = {"rtol": 1e-4, "atol": 1e-5, "timeout": 10.0}
"""How known mistakes are recognised (grader.mistakes), by default: one setting for every diagnoser."""


@dataclass(frozen=True)
class CheckConfig:
    """How one check is run and scored."""

    id: str
    task: str
    points: float
    visibility: str
    timeout: float
    memory: int
    params: Mapping[str, Any]
    """The check's own parameters: numbers, and lists of texts (tuples of strings)."""
    marks: tuple[str, ...] = ()
    """The parts marked on their own (CheckSpec.marks), each worth params[f"{part}_points"]."""

    def score(self, status: str, details: Mapping[str, Any]) -> float:
        """The points a result earns: all of them when it passed; for a check marked in parts, those of
        the parts its details say are right (details["parts"]: part -> right), whatever its status."""
        if self.marks:
            right = details.get("parts") or {}
            return float(sum(self.params[f"{part}_points"] for part in self.marks if right.get(part) is True))
        return self.points if status == "passed" else 0.0


@dataclass(frozen=True)
class Rubric:
    """The whole rubric: the training text, the seed, how to read indentation, and the checks in report order."""

    path: Path
    text: Path
    seed: int
    load_timeout: float
    """Seconds a task file's definitions may take to run (a hang there costs every check)."""
    checks: tuple[CheckConfig, ...]
    lab: Lab
    """The lab whose tasks these checks mark (grader.tasks.LAB, or a test's)."""
    indentation: str = "strict"
    """How lines Python refuses for mixing tabs and spaces are read (grader.source.INDENTATIONS)."""
    diagnosis: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType(dict(DIAGNOSIS)))
    """rtol, atol and timeout of the diagnosers that name a failed check's mistake."""

    def config(self, check_id: str) -> CheckConfig:
        for c in self.checks:
            if c.id == check_id:
                return c
        raise KeyError(check_id)
