"""Lines that are not valid Python are isolated without moving any other line."""

from __future__ import annotations

from conftest import ROOT
from grader.source import BROKEN_CALL, prepare
from grader.submission import TaskFile

TEMPLATE = ROOT / "submissions_template"


def task(text: str, name: str = "t.py") -> TaskFile:
    return TaskFile("task3", name, text)


def test_handout_blanks_are_isolated_on_their_own_lines() -> None:
    text = (TEMPLATE / "task3_min_char_lstm.py").read_text()
    program = prepare(task(text, "task3_min_char_lstm.py"))
    assert program.fatal is None
    assert sorted(program.broken) == [43, 98, 99]
    lines = program.source.split("\n")
    assert len(lines) == len(text.split("\n"))
    assert lines[42] == f"{BROKEN_CALL}(43)" and lines[97] == f"  {BROKEN_CALL}(98)"
    assert "task3_min_char_lstm.py line 43 is not valid Python" in program.broken[43]
    compile(program.source, "x", "exec")


def test_task2_blank_is_isolated_inside_lossfun() -> None:
    program = prepare(task((TEMPLATE / "task2_min_char_rnn.py").read_text()))
    assert list(program.broken) == [41]
    assert program.source.split("\n")[40] == f"    {BROKEN_CALL}(41)"


def test_mixed_tabs_are_read_with_the_width_that_compiles() -> None:
    text = "class A:\n\tdef f(self):\n\t\tx = 1\n        return x\n"
    program = prepare(task(text))
    assert program.fatal is None and not program.broken
    assert any("tabs and spaces are mixed" in n for n in program.notes)


def test_a_broken_block_header_keeps_its_body() -> None:
    text = "def f():\n    for i in range(3)\n        pass\n    return 1\n"
    program = prepare(task(text))
    assert list(program.broken) == [2]
    assert program.source.split("\n")[1] == f"    if {BROKEN_CALL}(2):"


def test_an_unclosed_bracket_is_reported_at_its_line() -> None:
    text = "a = 1\nb = (a +\nc = 3\n"
    program = prepare(task(text))
    assert program.fatal is None
    assert list(program.broken) == [2] and "'(' was never closed" in program.broken[2]


def test_broken_summary_groups_neighbouring_lines() -> None:
    program = prepare(task("x = \ny = \nz = 1\nw = \n"))
    assert program.broken_summary() == ("lines not valid Python in t.py: 1-2, 4; the first: "
                                        "t.py line 1 is not valid Python (invalid syntax): x =")
    assert prepare(task("x = 1\ny = \n")).broken_summary() == "t.py line 2 is not valid Python (invalid syntax): y ="


def test_notebook_lines_are_named_by_cell() -> None:
    file = TaskFile("task2", "lab.ipynb", "a = \n", cells=((3, 7),))
    assert prepare(file).broken[1].startswith("lab.ipynb cell 3 line 7 is not valid Python")
