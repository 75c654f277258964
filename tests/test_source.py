"""Lines that are not valid Python are isolated without moving any other line."""

from __future__ import annotations

import pytest

from conftest import FIXTURES, ROOT
from grader.source import BROKEN_CALL, prepare
from grader.submission import TaskFile

TEMPLATE = ROOT / "submissions_template"
SOLVED = FIXTURES / "solved"


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


MIXED = "class A:\n\tdef f(self):\n\t\tx = 1\n        return x\n"  # Python: TabError on line 4
TAB_MESSAGE = "t.py line {}: indentation mixes tabs and spaces (TabError): use one or the other"
STRICT_NOTE = "t.py: indentation read strictly, as Python does (rubric: indentation: strict)"


def test_lenient_reads_mixed_tabs_with_the_width_that_compiles() -> None:
    program = prepare(task(MIXED), "lenient")
    assert program.fatal is None and not program.broken
    assert program.notes == ("t.py: tabs and spaces are mixed in the indentation; read with tabs as 4 spaces "
                             "(rubric: indentation: lenient)",)
    assert program.source.split("\n")[3] == "        return x"


def test_strict_turns_the_line_python_rejects_into_a_broken_line_with_the_fix() -> None:
    program = prepare(task(MIXED), "strict")
    assert program.fatal is None
    assert program.broken == {4: TAB_MESSAGE.format(4)}
    assert program.notes == (STRICT_NOTE,)
    lines = program.source.split("\n")
    assert lines[3] == f"\t\t{BROKEN_CALL}(4)"  # inside f, where the tab width that compiles reads it
    assert lines[:3] + lines[4:] == MIXED.split("\n")[:3] + MIXED.split("\n")[4:]
    compile(program.source, "t.py", "exec")


def test_strict_is_the_default() -> None:
    assert prepare(task(MIXED)) == prepare(task(MIXED), "strict")


def test_strict_breaks_a_tab_and_spaces_line_in_a_tab_tab_body_and_nothing_else() -> None:
    text = "class A:\n\tdef f(self):\n\t\tx = 1\n\t        y = 2\n\n\t\treturn x\n\tdef g(self):\n\t\treturn 3\n"
    program = prepare(task(text))
    assert list(program.broken) == [4] and program.broken[4] == TAB_MESSAGE.format(4)
    lines = program.source.split("\n")
    assert len(lines) == len(text.split("\n"))
    assert [i + 1 for i, (a, b) in enumerate(zip(lines, text.split("\n"), strict=True)) if a != b] == [4]
    assert lines[3] == f"\t\t{BROKEN_CALL}(4)"
    namespace: dict[str, object] = {BROKEN_CALL: lambda line: 1 / 0}
    exec(compile(program.source, "t.py", "exec"), namespace)
    assert namespace["A"]().g() == 3  # type: ignore[operator]


def test_strict_keeps_the_body_of_a_rejected_block_header() -> None:
    text = "class A:\n\tdef f(self):\n\t\tx = 1\n        if x:\n            x = 2\n\t\treturn x\n"
    program = prepare(task(text))
    assert program.fatal is None
    assert program.broken[4] == TAB_MESSAGE.format(4)
    assert program.source.split("\n")[3] == f"\t\tif {BROKEN_CALL}(4):"
    assert program.source.split("\n")[5] == "\t\treturn x"
    compile(program.source, "t.py", "exec")


def test_strict_puts_a_rejected_first_body_line_inside_its_block() -> None:
    text = "class A:\n\tdef f(self):\n        return 1\n\tdef g(self):\n\t\treturn 3\n"
    program = prepare(task(text))
    assert list(program.broken) == [3]
    namespace: dict[str, object] = {BROKEN_CALL: lambda line: 1 / 0}
    exec(compile(program.source, "t.py", "exec"), namespace)
    assert namespace["A"]().g() == 3  # type: ignore[operator]


@pytest.mark.parametrize("indentation", ["strict", "lenient"])
def test_the_courses_tab_indented_class_body_is_left_alone(indentation: str) -> None:
    text = (SOLVED / "task3_min_char_lstm.py").read_text()
    program = prepare(task(text, "task3_min_char_lstm.py"), indentation)
    assert (program.source, program.broken, program.notes, program.fatal) == (text, {}, (), None)


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
