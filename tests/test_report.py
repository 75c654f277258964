"""The Report: its sums, and its text and JSON renderings as a person and a script read them."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.report import STATUSES, CheckResult, Report, Status, render_json, render_text

CHECK_KEYS = ["id", "task", "status", "score", "max_score", "message", "visibility", "details", "internal_error",
              "diagnosis"]
REPORT_KEYS = ["submission", "score", "max_score", "internal_error", "files", "notes", "isolation", "checks"]


def result(check_id: str = "rnn.forward", status: Status = "passed", score: float = 2, max_score: float = 2,
           message: str = "ok", **more: Any) -> CheckResult:
    return CheckResult(check_id, "task2", status, score, max_score, message, **more)


def sample() -> Report:
    return Report("alice", (
        result("rnn.forward", "passed", 2, 2, "right loss and hidden state"),
        result("rnn.gradcheck", "failed", 0, 2, "dWxh differs", details={"worst": [3, 1], "error": 0.41}),
        result("lstm.init", "error", 0, 1, "NameError: name 'nn' is not defined"),
        result("lstm.forward", "skipped", 0, 2, "no task 3 file"),
    ), files={"task2": "a/task2_min_char_rnn.py"}, notes=("zip member b.py is a link",))


def test_a_check_result_becomes_a_dict_with_every_field_in_order() -> None:
    r = result(details={"output": ["hello"]}, visibility="hidden", internal_error=True, diagnosis="rnn.relu")
    d = r.to_dict()
    assert list(d) == CHECK_KEYS
    assert d == {"id": "rnn.forward", "task": "task2", "status": "passed", "score": 2, "max_score": 2,
                 "message": "ok", "visibility": "hidden", "details": {"output": ["hello"]}, "internal_error": True,
                 "diagnosis": "rnn.relu"}
    assert result().to_dict()["diagnosis"] is None


def test_a_check_results_dict_is_a_copy_its_reader_may_change() -> None:
    r = result(details={"k": 1})
    r.to_dict()["details"]["k"] = 2
    assert r.details == {"k": 1}


def test_scores_add_up_over_the_checks() -> None:
    report = sample()
    assert report.score == 2 and report.max_score == 7


def test_sums_are_rounded_so_tenths_add_up_exactly() -> None:
    report = Report("s", tuple(result(f"c{i}", score=0.1, max_score=0.1) for i in range(3)))
    assert sum(c.score for c in report.checks) != 0.3  # what plain float addition gives
    assert report.score == 0.3 and report.max_score == 0.3


def test_a_report_without_checks_scores_zero_of_zero() -> None:
    report = Report("empty", ())
    assert (report.score, report.max_score, report.internal_error) == (0, 0, False)
    assert render_text(report).splitlines()[-2] == "Total: 0/0"


def test_one_internal_error_marks_the_whole_report() -> None:
    fine = sample()
    broken = Report("s", (*fine.checks, result("lstm.criterion", "error", 0, 1, "internal", internal_error=True)))
    assert not fine.internal_error and broken.internal_error
    assert json.loads(render_json(broken))["internal_error"] is True


def test_the_json_parses_back_with_the_documented_keys() -> None:
    data = json.loads(render_json(sample()))
    assert list(data) == REPORT_KEYS
    assert data["submission"] == "alice" and data["score"] == 2 and data["max_score"] == 7
    assert data["internal_error"] is False
    assert data["files"] == {"task2": "a/task2_min_char_rnn.py"} and data["notes"] == ["zip member b.py is a link"]
    assert [c["id"] for c in data["checks"]] == ["rnn.forward", "rnn.gradcheck", "lstm.init", "lstm.forward"]
    assert all(list(c) == CHECK_KEYS for c in data["checks"])
    assert {c["status"] for c in data["checks"]} == set(STATUSES)
    assert data["checks"][1]["details"] == {"worst": [3, 1], "error": 0.41}


def test_the_json_is_the_same_text_for_equal_reports() -> None:
    assert render_json(sample()) == render_json(sample())
    assert render_json(sample()) == json.dumps(json.loads(render_json(sample())), indent=2)


def test_numpy_values_in_details_are_written_as_plain_numbers() -> None:
    report = Report("s", (result(details={"worst": np.array([[1.5, 2.0]]), "n": np.int64(7)}),))
    details = json.loads(render_json(report))["checks"][0]["details"]
    assert details == {"worst": [[1.5, 2.0]], "n": 7}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_a_non_finite_number_in_details_fails_loudly(value: float) -> None:
    with pytest.raises(ValueError, match="JSON compliant"):
        render_json(Report("s", (result(details={"error": value}),)))


def test_a_non_finite_score_fails_loudly() -> None:
    with pytest.raises(ValueError):
        render_json(Report("s", (result(score=float("nan")),)))


def test_an_object_json_cannot_write_fails_loudly_naming_its_type() -> None:
    with pytest.raises(TypeError, match="cannot write object in a report"):
        render_json(Report("s", (result(details={"what": object()}),)))


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
    assert Report.from_dict(json.loads(render_json(report))).isolation == isolation
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


def test_a_check_s_lead_is_its_own_sentence_without_what_the_grader_added() -> None:
    message = ("hs[0] differs: max abs error 0.18; smallest failing example: n=2; note: line 41 is blank; "
               "most likely: a sigmoid [rnn.sigmoid]; your code printed: hi")
    assert result(message=message).lead == "hs[0] differs: max abs error 0.18"
    assert result(message="right loss").lead == "right loss"


def test_a_report_names_its_student_or_else_its_submission() -> None:
    alone = Report("path/to/lab5", ())
    assert (alone.student_id, alone.student_name) == ("path/to/lab5", "path/to/lab5")
    in_class = Report("Zoë_1_assignsubmission_file", (), student={"id": "1", "name": "Zoë"})
    assert (in_class.student_id, in_class.student_name) == ("1", "Zoë")


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
