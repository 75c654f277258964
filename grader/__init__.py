"""An autograder for a lab's recurrent networks (grader.tasks.LAB): grade a submission, get a report.

The public names are loaded on first use, so that a worker, which imports only
grader.worker, never loads the grading side (checks, reference) of the package.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["CheckResult", "GraderError", "Report", "Rubric", "grade", "load_rubric"]

_WHERE = {"CheckResult": "grader.report", "Report": "grader.report", "GraderError": "grader.errors",
          "Rubric": "grader.config", "load_rubric": "grader.rubric", "grade": "grader.pipeline"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'grader' has no attribute {name!r}")
