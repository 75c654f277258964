"""The text report as a person reads it: a line per check, columns, wrapping, colour, the next step, and no
line a submission's text can start."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.report import Report
from grader.writers.text import render_text
from samples import result, sample


def test_a_report_without_checks_totals_zero_of_zero() -> None:
    assert render_text(Report("empty", ())).splitlines()[-2] == "Total: 0/0"


def test_the_text_has_a_line_per_check_with_its_mark_points_and_message() -> None:
    lines = render_text(sample()).splitlines()
    assert lines[0] == "Submission: alice"
    assert lines[1] == "  task2: a/task2_min_char_rnn.py"
    assert lines[2] == "  note: zip member b.py is a link"
    checks = lines[3:7]
    assert [line.split()[0] for line in checks] == ["PASS", "FAIL", "ERROR", "SKIP"]
    assert [line.split()[1] for line in checks] == ["rnn.forward", "rnn.gradcheck", "lstm.init", "lstm.forward"]
    assert [line.split()[2] for line in checks] == ["2/2", "0/2", "0/1", "0/2"]
    assert checks[1].endswith("  dWxh differs") and checks[2].endswith("NameError: name 'nn' is not defined")
    assert lines[7] == "Total: 2/7" and lines[8].startswith("Next: ") and len(lines) == 9


@pytest.mark.parametrize("isolation", ["linux-namespaces", "linux-process", "process"])
def test_the_text_says_which_walls_student_code_ran_behind(isolation: str) -> None:
    report = dataclasses.replace(sample(), isolation=isolation)
    lines = render_text(report).splitlines()
    assert lines[3].startswith(f"  isolation: {isolation} (") and lines[4].startswith("PASS")
    assert "isolation" not in render_text(sample())  # no student code ran: nothing to say


def test_the_text_columns_line_up() -> None:
    checks = render_text(sample()).splitlines()[3:7]
    starts = {line.index(line.split()[2]) + len(line.split()[2]) for line in checks}  # points end together
    messages = {line.index("  ", line.index("/")) for line in checks}
    assert len(starts) == 1 and len(messages) == 1


def test_the_text_shows_fractional_points_without_trailing_zeros() -> None:
    report = Report("s", (result(score=0.5, max_score=1.0), result("b", score=0.25, max_score=1)))
    text = render_text(report)
    assert "0.5/1 " in text and "0.25/1 " in text and "\nTotal: 0.75/2\n" in text


MESSAGE = ("the last hidden state hs[0] differs: max abs error 0.18 at [0, 0] (got -0.0497657, expected 0.130247); "
           "smallest failing example: vocabulary n=2, hidden size h=1, inputs [0], targets [0]; most likely: the "
           "hidden bias bh left out of the hidden-state line [rnn.missing_bias]")


def test_the_example_and_diagnosis_are_indented_under_their_check() -> None:
    lines = render_text(Report("s", (result("rnn.forward", "failed", message=MESSAGE),))).splitlines()
    assert lines[1].startswith("FAIL  rnn.forward") and lines[1].endswith("expected 0.130247)")
    assert lines[2] == "      smallest failing example: vocabulary n=2, hidden size h=1, inputs [0], targets [0]"
    assert lines[3].startswith("      most likely: the hidden bias") and lines[3].endswith("[rnn.missing_bias]")


@given(st.integers(50, 160), st.text(st.characters(codec="ascii", categories=["L", "N", "P", "Zs"]), max_size=400))
def test_wrapped_to_a_terminal_no_line_is_wider_and_no_word_is_lost(width: int, words: str) -> None:
    report = Report("s", (result("lstm.forward", "failed", message=f"{words}; most likely: {words}"),))
    text = render_text(report, width=width)
    body = text.splitlines()[1:-2]  # the check's lines
    assert all(len(line) <= width for line in body if " " in line.strip())  # a single long word may stick out
    assert " ".join(" ".join(body).split()).count(" ".join(words.split())) >= (2 if words.split() else 0)


def test_colour_marks_the_statuses_only_when_asked() -> None:
    report = Report("s", (result("a", "passed"), result("b", "failed", message="x")))
    assert "\033[" not in render_text(report)
    coloured = render_text(report, colour=True)
    assert "\033[32mPASS\033[0m" in coloured and "\033[31mFAIL\033[0m" in coloured


@pytest.mark.parametrize("statuses, internal, says", [
    (["passed", "passed"], False, "Next: nothing: every check passed"),
    (["passed", "skipped"], False, "Next: add the files the skipped checks name"),
    (["failed", "error"], False, "Next: fix a (1 more after it)"),
    (["error", "passed"], True, "tell your tutor"),
])
def test_the_last_line_says_what_to_do_next(statuses: list[str], internal: bool, says: str) -> None:
    checks = tuple(result(name, status, internal_error=internal and status == "error")  # type: ignore[arg-type]
                   for name, status in zip("ab", statuses, strict=True))
    assert says in render_text(Report("s", checks)).splitlines()[-1]


@given(st.text(max_size=60), st.text(max_size=60))
def test_no_text_from_a_submission_can_start_a_line_of_the_report(message: str, note: str) -> None:
    """Every line begins with the grader's own words, so a student's exception cannot print a fake line
    (or, in a CI log, a workflow command such as ::add-mask::)."""
    report = Report(f"s\n{note}", (result("a", "failed", message=f"x\n::add-mask::{message}\r::error::{note}"),),
                    {"task2": f"n\n::warning::{note}"}, (f"see\n::stop-commands::{note}",))
    for width in (None, 60):
        for line in render_text(report, width=width).splitlines():
            assert not line.lstrip().startswith("::"), line
