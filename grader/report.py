"""The result of grading one submission: each check's verdict and the report that holds them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

Status = Literal["passed", "failed", "error", "skipped"]
_ADDED = "(?:smallest failing example|note|most likely|your code printed):"
ADDED = re.compile(f"; {_ADDED}")
"""Where the parts the grader adds after a check's own sentence begin (the example, hints, the
mistake's name, what the code printed)."""
CLAUSES = re.compile(f"; (?={_ADDED})")
"""Where each clause of a message begins: its own sentence, then each part the grader added (ADDED), kept with
its words (the text report shows each clause on a line of its own)."""
STATUSES: tuple[Status, ...] = ("passed", "failed", "error", "skipped")


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check on one submission."""

    id: str
    task: str
    status: Status
    score: float
    max_score: float
    message: str
    visibility: str = "public"
    details: Mapping[str, Any] = field(default_factory=dict)
    internal_error: bool = False
    """The grader itself failed on this check (status "error", traceback in details)."""
    diagnosis: str | None = None
    """The id of the known mistake behind a failed check (grader.mistakes), or None."""

    @property
    def lead(self) -> str:
        """The check's own sentence: the message without the parts the grader added after it."""
        return ADDED.split(self.message, maxsplit=1)[0]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        """A result as to_dict wrote it (a stored report read back)."""
        return cls(str(data["id"]), str(data["task"]), data["status"], float(data["score"]),
                   float(data["max_score"]), str(data["message"]), str(data.get("visibility", "public")),
                   dict(data.get("details") or {}), bool(data.get("internal_error", False)), data.get("diagnosis"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "task": self.task,
            "status": self.status,
            "score": self.score,
            "max_score": self.max_score,
            "message": self.message,
            "visibility": self.visibility,
            "details": dict(self.details),
            "internal_error": self.internal_error,
            "diagnosis": self.diagnosis,
        }


@dataclass(frozen=True)
class Report:
    """Every check of the rubric on one submission, with what loading noticed."""

    submission: str
    checks: tuple[CheckResult, ...]
    files: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    student: Mapping[str, str] | None = None
    """In a batch: {"id": ..., "name": ...} (Moodle's participant number and full name)."""
    batch: Mapping[str, Any] | None = None
    """In a batch: what the report was made from (content hashes) and how long it took."""
    isolation: str | None = None
    """The walls student code ran behind (grader.sandbox.ISOLATIONS: the weakest any of its workers had);
    None when none of it ran."""

    @property
    def score(self) -> float:
        return round(sum(c.score for c in self.checks), 6)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_score for c in self.checks), 6)

    @property
    def student_id(self) -> str:
        """Moodle's participant number (or the entry's name) in a batch; the submission's path otherwise."""
        return str((self.student or {}).get("id") or self.submission)

    @property
    def student_name(self) -> str:
        return str((self.student or {}).get("name") or self.submission)

    @property
    def internal_error(self) -> bool:
        """Some check's result is the grader's fault, not the submission's: the CLI exits 3."""
        return any(c.internal_error for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        extra = {k: dict(v) for k, v in (("student", self.student), ("batch", self.batch)) if v is not None}
        return {
            "submission": self.submission,
            "score": self.score,
            "max_score": self.max_score,
            "internal_error": self.internal_error,
            "files": dict(self.files),
            "notes": list(self.notes),
            "isolation": self.isolation,
            "checks": [c.to_dict() for c in self.checks],
            **extra,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        """A report as to_dict wrote it; its score and max_score are re-derived from the checks."""
        return cls(str(data["submission"]), tuple(CheckResult.from_dict(c) for c in data["checks"]),
                   dict(data.get("files") or {}), tuple(data.get("notes") or ()), data.get("student"),
                   data.get("batch"), data.get("isolation"))
