"""The public face of the package is small, pinned, and costs a worker nothing."""

from __future__ import annotations

from conftest import GRADING
import subprocess
import sys

import grader


def test_exported_names_are_pinned() -> None:
    assert grader.__all__ == ["CheckResult", "GraderError", "Report", "Rubric", "grade", "load_rubric"]
    for name in grader.__all__:
        assert getattr(grader, name) is not None


def test_importing_the_worker_loads_no_grading_code() -> None:
    code = ("import sys, grader.worker; bad = [m for m in sys.modules if m.startswith((" + GRADING +
            "'grader.pipeline', 'grader.rubric', 'hypothesis', 'reference', '_grader_reference'))]; print(bad)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
