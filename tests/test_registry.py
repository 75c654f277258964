"""The registry: checks by public id, a leaf module that the rubric and the checks both use."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from grader.rubric import checks_of

from grader.tasks import LAB
from grader.registry import EVERYTHING, REGISTRY, check

ROOT = Path(__file__).resolve().parent.parent


def test_the_registry_imports_nothing_of_the_grader_when_it_runs() -> None:
    tree = ast.parse((ROOT / "grader" / "registry.py").read_text())
    runtime = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert not [n for n in runtime if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("grader")]


def test_the_checks_load_without_the_rubric_so_there_is_no_import_circle() -> None:
    code = ("import sys, grader.tasks.lstm.model, grader.tasks.lstm.training, grader.tasks.rnn.checks\n"
            "print([m for m in ('grader.rubric', 'grader.pipeline') if m in sys.modules])\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.stdout.strip() == "[]", result.stderr


def test_every_shipped_check_says_which_student_functions_it_runs() -> None:
    specs = checks_of(LAB)
    assert specs["lstm.forward"].calls == {"__init__", "forward"}
    assert specs["lstm.loss_decrease"].calls == {EVERYTHING}  # the training loop runs everything
    assert all(spec.function.__doc__ for spec in specs.values())  # a check says what it checks


def test_an_id_registers_once() -> None:
    def probe(ctx: object) -> str:
        """Says hello."""
        return "hello"

    try:
        check("test.once", task=LAB.task("task2"))(probe)  # type: ignore[arg-type]
        assert REGISTRY["test.once"].function is probe and REGISTRY["test.once"].calls == {EVERYTHING}
        with pytest.raises(ValueError, match="registered twice"):
            check("test.once", task=LAB.task("task2"))(probe)  # type: ignore[arg-type]
    finally:
        REGISTRY.pop("test.once", None)
