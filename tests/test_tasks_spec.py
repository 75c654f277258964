"""A task is one package plus one name: a toy task defined here (a function to fill, its reference and one
check) is found, run in a sandboxed worker and marked by the engine, which knows it only by its spec."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import strategies as st

from grader import grade
from grader.compare import check_close
from grader.context import Context
from grader.examples import explained
from grader.registry import Param, check
from grader.rubric import load_rubric
from grader.tasks.spec import Lab, Task

TOY = Task(id="toy", name="squares", found="define a function square",
           missing="no file defining a function square was found (looked at: {looked})",
           pattern=re.compile(r"^def[ \t]+square[ \t]*\(", re.MULTILINE), checks=(__name__,), parts=("square",))
TOY_LAB = Lab(title="Toy lab", subject="squares", slug="toy", text="words.txt", tasks=(TOY,))


def reference_square(x: np.ndarray) -> np.ndarray:
    return x * x


@check("toy.square", task=TOY, params={"examples": Param(6, 1)}, calls=("square",))
def square(ctx: Context) -> str:
    """square(x) is x squared, element by element."""
    worker = ctx.worker()

    def probe(x: float) -> None:
        with explained(f"x = {x!r}"):
            got = worker.call("call", function="square", args=[np.array([x])])["value"]
            check_close("square(x)", got, reference_square(np.array([x])), 1e-9, 1e-12)

    ctx.search(st.floats(-10, 10), probe)
    return "square(x) is x squared"


@pytest.fixture
def rubric_file(tmp_path: Path) -> Path:
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "words.txt").write_text("the toy lab's text\n")
    rubric = tmp_path / "lab" / "toy.yaml"
    rubric.write_text("text: words.txt\nseed: 7\nchecks:\n  toy.square:\n    points: 2\n    timeout: 20\n")
    return rubric


def submission(tmp_path: Path, body: str) -> Path:
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "my_squares.py").write_text(f"import numpy as np\n\ndef square(x):\n    return {body}\n")
    return folder


@pytest.mark.slow
def test_a_toy_task_registered_from_a_test_is_graded_like_the_lab_s_own(tmp_path: Path, rubric_file: Path) -> None:
    rubric = load_rubric(rubric_file, lab=TOY_LAB)
    assert [c.id for c in rubric.checks] == ["toy.square"] and rubric.lab is TOY_LAB
    report = grade(submission(tmp_path, "x * x"), rubric)
    assert report.files == {"toy": "my_squares.py"}
    assert [(c.id, c.task, c.status, c.score) for c in report.checks] == [("toy.square", "toy", "passed", 2.0)]
    assert report.checks[0].message == "square(x) is x squared"
    assert report.isolation is not None  # it ran in a worker


@pytest.mark.slow
def test_a_toy_task_s_wrong_answer_fails_with_the_smallest_example(tmp_path: Path, rubric_file: Path) -> None:
    report = grade(submission(tmp_path, "2 * x"), load_rubric(rubric_file, lab=TOY_LAB))
    result = report.checks[0]
    assert (result.status, result.score) == ("failed", 0.0)
    assert "square(x)" in result.message and "x = " in result.message


def test_a_toy_task_without_its_file_is_skipped_with_its_own_words(tmp_path: Path, rubric_file: Path) -> None:
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "notes.py").write_text("print('hello')\n")
    report = grade(folder, load_rubric(rubric_file, lab=TOY_LAB))
    assert [(c.status, c.message) for c in report.checks] == [
        ("skipped", "no file defining a function square was found (looked at: notes.py)")]


def test_the_lab_s_checks_are_not_the_toy_s(rubric_file: Path) -> None:
    from grader.rubric import checks_of
    from grader.tasks import LAB

    assert set(checks_of(TOY_LAB)) == {"toy.square"}
    assert "toy.square" not in checks_of(LAB)
