"""Loading a task file in-process: statements one by one, the training loop as a step function."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.worker import loader
from grader.context import load_request
from grader.tasks import LAB
from grader.worker.loader import BadAnswer, Module, NotRunnable, step_function

LOSS = """\
calls = []
def lossFun(x):
    calls.append(x)
    return x
"""


def module(tmp_path: Path, source: str, broken: dict[str, str] | None = None) -> Module:
    path = tmp_path / "s.py"
    path.write_text(textwrap.dedent(source))
    return Module(str(path), "s.py", broken or {})


def loaded(tmp_path: Path, source: str, task: str = "task2", **request: Any) -> tuple[Module, dict[str, Any]]:
    m = module(tmp_path, source)
    return m, loader.load(m, {**load_request(LAB, LAB.task(task)), **request})


def test_a_failing_statement_is_recorded_with_its_line_and_the_rest_still_run(tmp_path: Path) -> None:
    m, answer = loaded(tmp_path, "a = 1\nb = undefined_name\nc = a + 1\nd = 1 / 0\ne = c * 10\n")
    assert answer["errors"] == [
        {"line": 2, "message": "NameError: name 'undefined_name' is not defined (s.py line 2, in <module>)"},
        {"line": 4, "message": "ZeroDivisionError: division by zero (s.py line 4, in <module>)"}]
    assert m.namespace["c"] == 2 and m.namespace["e"] == 20 and "b" not in m.namespace
    assert answer["loop"] is False and answer["skipped"] == 0


def test_an_error_inside_a_function_names_the_functions_line(tmp_path: Path) -> None:
    _, answer = loaded(tmp_path, "def f():\n    return [][1]\n\nx = f()\n")
    assert answer["errors"] == [{"line": 4, "message": "IndexError: list index out of range (s.py line 2, in f)"}]


def test_sys_exit_at_load_is_recorded_and_does_not_stop_the_load(tmp_path: Path) -> None:
    m, answer = loaded(tmp_path, "import sys\nsys.exit(3)\nafter = True\n")
    assert answer["errors"] == [{"line": 2, "message": "called sys.exit(3) (s.py line 2, in <module>)"}]
    assert m.namespace["after"] is True


def test_the_training_loop_is_not_run_at_load_nor_what_follows_it(tmp_path: Path) -> None:
    m, answer = loaded(tmp_path, LOSS + "n = 0\nwhile True:\n    lossFun(n)\n    n += 1\nafter = 1\n")
    assert answer == {"errors": [], "loop": True, "skipped": 0}
    assert m.namespace["calls"] == [] and m.namespace["n"] == 0 and "after" not in m.namespace


def test_a_loop_that_does_not_call_the_training_function_runs_at_load(tmp_path: Path) -> None:
    m, answer = loaded(tmp_path, LOSS + "total = 0\nfor i in range(4):\n    total += i\n")
    assert answer["loop"] is False and m.namespace["total"] == 6


def test_another_tasks_training_loop_is_skipped(tmp_path: Path) -> None:
    source = LOSS + "k = 0\nwhile k < 3:\n    charLSTM(k)\n    k += 1\nn = 0\nwhile True:\n    lossFun(n)\n"
    m, answer = loaded(tmp_path, source)
    assert answer == {"errors": [], "loop": True, "skipped": 1}
    assert m.namespace["n"] == 0 and m.namespace["k"] == 0


def test_each_step_runs_exactly_one_iteration_and_keeps_globals(tmp_path: Path) -> None:
    m, _ = loaded(tmp_path, LOSS + "n = 0\nwhile True:\n    lossFun(n)\n    n += 1\n    last = n * 10\n")
    step = step_function(m)
    assert step() is True
    assert m.namespace["calls"] == [0] and m.namespace["n"] == 1 and m.namespace["last"] == 10
    assert step() is True and step() is True
    assert m.namespace["calls"] == [0, 1, 2] and m.namespace["n"] == 3 and m.namespace["last"] == 30
    assert step_function(m) is step


def test_a_while_loop_ends_when_its_condition_fails(tmp_path: Path) -> None:
    m, _ = loaded(tmp_path, LOSS + "n = 0\nwhile n < 2:\n    lossFun(n)\n    n += 1\n")
    step = step_function(m)
    assert [step(), step(), step()] == [True, True, False]
    assert m.namespace["calls"] == [0, 1]


def test_break_ends_the_loop_and_continue_finishes_an_iteration(tmp_path: Path) -> None:
    source = LOSS + textwrap.dedent("""\
    n = 0
    while True:
        n += 1
        if n == 2:
            continue
        if n == 4:
            break
        lossFun(n)
    """)
    m, _ = loaded(tmp_path, source)
    step = step_function(m)
    assert [step(), step(), step(), step()] == [True, True, True, False]
    assert m.namespace["calls"] == [1, 3]


def test_a_for_loop_steps_through_its_iterable_then_returns_false(tmp_path: Path) -> None:
    m, answer = loaded(tmp_path, LOSS + "for i, c in enumerate('xy'):\n    lossFun(c)\n    seen = i\n")
    assert answer["loop"] is True and m.namespace["calls"] == []
    step = step_function(m)
    assert step() is True and m.namespace["calls"] == ["x"] and m.namespace["seen"] == 0
    assert step() is True and m.namespace["calls"] == ["x", "y"] and m.namespace["seen"] == 1
    assert step() is False and step() is False
    assert m.namespace["calls"] == ["x", "y"]


def test_a_global_statement_in_the_loop_is_harmless(tmp_path: Path) -> None:
    m, _ = loaded(tmp_path, LOSS + "n = 0\nwhile True:\n    global n\n    n += 1\n    lossFun(n)\n")
    step = step_function(m)
    assert step() and step()
    assert m.namespace["calls"] == [1, 2]


def test_skip_leaves_out_calls_to_a_skipped_name_and_what_uses_their_results(tmp_path: Path) -> None:
    source = """\
    def build():
        raise RuntimeError("boom")
    model = build()
    optimizer = model.parameters()
    params, = [optimizer]
    fine = 3
    """
    m, answer = loaded(tmp_path, source, skip=["build"])
    assert answer == {"errors": [], "loop": False, "skipped": 3}
    assert m.namespace["fine"] == 3 and not {"model", "optimizer", "params"} & set(m.namespace)
    _, unskipped = loaded(tmp_path, source)
    assert [e["line"] for e in unskipped["errors"]] == [3, 4, 5]


def test_the_body_of_a_main_guard_is_lifted_to_the_top_level(tmp_path: Path) -> None:
    source = LOSS + textwrap.dedent("""\
    if __name__ == "__main__":
        x = 5
        if __name__ == "__main__":
            y = x + 1
        n = 0
        while True:
            lossFun(n)
            n += 1
    """)
    m, answer = loaded(tmp_path, source)
    assert answer["loop"] is True and m.namespace["x"] == 5 and m.namespace["y"] == 6
    step = step_function(m)
    assert step() and m.namespace["calls"] == [0]


def test_names_gives_lists_of_strings_as_lists_and_numbers_as_arrays(tmp_path: Path) -> None:
    m, _ = loaded(tmp_path, "chars = ['b', 'a']\ntext = 'xy'\nw = [[1, 2]]\nk = 3\nt = ('p', 'q')\n")
    answer = loader.names(m, {"names": ["chars", "text", "w", "k", "t"]})
    assert answer["chars"] == ["b", "a"] and answer["text"] == ["x", "y"] and answer["t"] == ["p", "q"]
    assert isinstance(answer["w"], np.ndarray) and answer["w"].dtype == np.float64
    np.testing.assert_array_equal(answer["w"], [[1.0, 2.0]])
    assert isinstance(answer["k"], np.ndarray) and answer["k"].shape == () and answer["k"] == 3.0


def test_names_refuses_a_value_that_is_not_numbers(tmp_path: Path) -> None:
    m, _ = loaded(tmp_path, "table = {'a': 1}\n")
    with pytest.raises(BadAnswer, match="table should be an array of numbers, got dict"):
        loader.names(m, {"names": ["table"]})


def test_train_sets_globals_runs_iterations_and_returns_finals(tmp_path: Path) -> None:
    m, _ = loaded(tmp_path, LOSS + "n = 0\nwhile n < 5:\n    w = w * 2\n    lossFun(n)\n    n += 1\n")
    answer = loader.train(m, {"set": {"w": [1.0, -1.5]}, "iterations": 3, "final": ["w", "n"]})
    assert answer["iterations"] == 3
    np.testing.assert_array_equal(answer["final"]["w"], [8.0, -12.0])
    assert answer["final"]["n"] == 3
    more = loader.train(m, {"set": {}, "iterations": 10, "final": ["n"]})
    assert more["iterations"] == 2 and more["final"]["n"] == 5  # the same loop, carried on until it ends


def test_train_without_a_loop_is_not_runnable(tmp_path: Path) -> None:
    m, _ = loaded(tmp_path, LOSS)
    with pytest.raises(NotRunnable, match="no training loop .* calling lossFun\\) found in s.py"):
        loader.train(m, {"set": {}, "iterations": 1, "final": [], "calls": ["lossFun"]})


def test_define_again_reruns_a_class_so_a_default_reads_the_current_global(tmp_path: Path) -> None:
    m, _ = loaded(tmp_path, "size = 2\nclass Model:\n    def __init__(self, n=size):\n        self.n = n\n")
    m.namespace["size"] = 5
    assert m.namespace["Model"]().n == 2
    m.define_again("Model")
    assert m.namespace["Model"]().n == 5
    m.define_again("Absent")  # a class the file does not define: nothing happens
    assert "Absent" not in m.namespace


def test_a_class_whose_statement_failed_is_not_defined_again(tmp_path: Path) -> None:
    m, answer = loaded(tmp_path, "class Broken(Missing):\n    pass\n")
    assert answer["errors"] and "Broken" not in m.classes


def test_function_names_what_is_missing_and_the_broken_line(tmp_path: Path) -> None:
    m = module(tmp_path, "lossFun = 3\n", broken={"41": "s.py line 41: hs[t] = is not finished"})
    loader.load(m, load_request(LAB, LAB.task("task2")))
    with pytest.raises(NotRunnable, match=r"^lossFun is not defined by s.py; s.py line 41: hs\[t\] = is not"):
        m.function("lossFun")


def test_reaching_a_broken_line_is_not_runnable_with_its_message(tmp_path: Path) -> None:
    m = module(tmp_path, "__grader_broken__(7)\nafter = 1\n", broken={"7": "s.py line 7: not Python"})
    answer = loader.load(m, load_request(LAB, LAB.task("task2")))
    assert answer["errors"] == [{"line": 1, "message": "s.py line 7: not Python"}]
    assert m.namespace["after"] == 1


def test_open_finds_the_training_text_wherever_the_student_said(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "textData.txt").write_text("hello")
    m, answer = loaded(tmp_path, "with open('/home/me/lab5/TextData.TXT') as f:\n    data = f.read()\n")
    assert answer["errors"] == [] and m.namespace["data"] == "hello"
