"""results.json, read back as Gradescope reads it: only the keys of its autograder specification, each of the
JSON type the spec gives, scores that add up, and any text of the student's kept valid JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.mistakes import CATALOG
from grader.report import CheckResult, Report, Status
from grader.writers.gradescope import MAX_OUTPUT, crashed_json, gradescope_json
from samples import failed_forward, result

TOP = {"score", "execution_time", "output", "output_format", "visibility", "stdout_visibility", "extra_data",
       "tests", "leaderboard"}
TEST = {"name", "number", "score", "max_score", "status", "output", "output_format", "tags", "visibility"}
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}


def report(*checks: CheckResult, notes: tuple[str, ...] = (), batch: dict[str, Any] | None = None) -> Report:
    return Report("/autograder/submission", checks, {"task2": "task2_min_char_rnn.py"}, notes, batch=batch)


def class_report() -> Report:
    return report(
        failed_forward(),
        result("rnn.loss_decrease", "passed", 1, 1, "after 300 iterations the loss fell by 29.0%"),
        result("lstm.forward", "error", 0, 2, "no answer within the time limit of 20 s"),
        result("lstm.criterion", "failed", 0, 1, "the loss is summed, not averaged", visibility="hidden"),
        result("answers.weight_counts", "failed", 0.1, 2, "for n=3, h=2 your RNN formula gives 10"),
        result("answers.rnn", "passed", 0.2, 0.2, "right"),
        result("lstm.init", "skipped", 0, 1, "no file defining a class _charLSTM was found"),
    )


def no_constants(name: str) -> float:
    raise AssertionError(f"{name} is not JSON")


def read(text: str) -> dict[str, Any]:
    """results.json as a strict JSON reader takes it, checked against the spec's keys and types."""
    results = json.loads(text, parse_constant=no_constants)
    assert isinstance(results, dict) and set(results) <= TOP and {"score", "output", "tests"} <= set(results)
    assert type(results["score"]) is float and type(results["output"]) is str
    assert type(results.get("execution_time", 0)) is int
    assert results.get("output_format", "text") in FORMATS
    assert {results.get("visibility", "visible"), results.get("stdout_visibility", "visible")} <= VISIBILITIES
    assert type(results["tests"]) is list
    for test in results["tests"]:
        assert set(test) == TEST
        assert type(test["score"]) is float and type(test["max_score"]) is float
        assert all(type(test[key]) is str for key in ("name", "number", "output", "output_format"))
        assert test["status"] in ("passed", "failed") and test["visibility"] in VISIBILITIES
        assert test["output_format"] in FORMATS
        assert type(test["tags"]) is list and all(type(tag) is str for tag in test["tags"])
    json.dumps(results).encode("utf-8")  # no lone surrogate hides behind a \u escape
    for value in [results["output"], *(t["output"] for t in results["tests"])]:
        value.encode("utf-8")
    return results


def by_name(r: Report) -> dict[str, dict[str, Any]]:
    return {test["name"]: test for test in read(gradescope_json(r))["tests"]}


def test_one_test_per_check_numbered_in_report_order() -> None:
    shown = read(gradescope_json(class_report()))["tests"]
    assert [(t["number"], t["name"], t["tags"]) for t in shown] == [
        (str(n), c.id, [c.task]) for n, c in enumerate(class_report().checks, 1)]


def test_the_scores_of_the_tests_add_up_to_the_reports() -> None:
    results = read(gradescope_json(class_report()))
    assert results["score"] == class_report().score == pytest.approx(1.3)
    assert sum(t["score"] for t in results["tests"]) == pytest.approx(results["score"], abs=1e-9)
    assert [(t["score"], t["max_score"]) for t in results["tests"]] == [
        (c.score, c.max_score) for c in class_report().checks]


def test_a_check_that_errored_or_was_not_run_is_failed() -> None:
    shown = by_name(class_report())
    assert {name: t["status"] for name, t in shown.items()} == {
        "rnn.forward": "failed", "rnn.loss_decrease": "passed", "lstm.forward": "failed", "lstm.criterion": "failed",
        "answers.weight_counts": "failed", "answers.rnn": "passed", "lstm.init": "failed"}
    assert shown["lstm.init"]["output"] == "no file defining a class _charLSTM was found"


def test_a_hidden_check_is_shown_once_the_grades_are_published() -> None:
    shown = by_name(class_report())
    assert shown["lstm.criterion"]["visibility"] == "after_published"
    assert {t["visibility"] for name, t in shown.items() if name != "lstm.criterion"} == {"visible"}


def test_a_failed_checks_output_gives_its_example_and_mistake_on_lines_of_their_own() -> None:
    output = by_name(report(failed_forward()))["rnn.forward"]["output"]
    assert output.split("\n") == [
        "the last hidden state hs[0] differs: max abs error 0.18 at [0, 0]; your code printed: data has 25874 "
        "characters, 70 unique.",
        "Smallest failing example: vocabulary n=2, hidden size h=1, sequence length 1, inputs [0], targets [0]",
        f"Most likely: {CATALOG['rnn.missing_bias'].words} [rnn.missing_bias]",
    ]


def test_a_diagnosis_the_catalog_does_not_know_is_given_by_its_id() -> None:
    check = result("rnn.forward", "failed", 0, 2, "differs", diagnosis="rnn.from_the_future")
    assert by_name(report(check))["rnn.forward"]["output"] == "differs\nMost likely: [rnn.from_the_future]"


def test_an_internal_error_says_it_is_the_graders_fault_without_the_traceback() -> None:
    check = result("rnn.forward", "error", 0, 2, "internal error in the grader: KeyError: 'hs'",
                   details={"traceback": "Traceback (most recent call last): grader/pipeline.py"}, internal_error=True)
    text = gradescope_json(report(check))
    assert "fault of the grader" in by_name(report(check))["rnn.forward"]["output"]
    assert "fault of the grader" in read(text)["output"] and "Traceback" not in text


def test_the_summary_gives_the_score_the_counts_the_files_and_the_notes() -> None:
    results = read(gradescope_json(report(*class_report().checks, notes=("task2: line 12 mixes tabs",))))
    assert results["output"].split("\n") == [
        "Score 1.3/9.2 (2 passed, 3 failed, 1 error, 1 skipped).", "task2: task2_min_char_rnn.py",
        "Note: task2: line 12 mixes tabs"]
    assert results["visibility"] == "visible" and results["stdout_visibility"] == "hidden"


@pytest.mark.parametrize(("given_time", "batch", "expected"), [
    (12.6, None, 13), (None, {"seconds": 9.4}, 9), (3.0, {"seconds": 9.4}, 3), (None, None, None),
    (None, {"seconds": "long"}, None)])
def test_execution_time_is_whole_seconds_given_or_the_batchs_or_left_out(given_time: float | None,
                                                                        batch: dict[str, Any] | None,
                                                                        expected: int | None) -> None:
    results = read(gradescope_json(report(failed_forward(), batch=batch), execution_time=given_time))
    assert results.get("execution_time") == expected


def test_a_long_output_is_cut_and_says_how_much() -> None:
    output = by_name(report(result("rnn.forward", "failed", 0, 2, "y" * 50_000)))["rnn.forward"]["output"]
    assert len(output) < MAX_OUTPUT + 50 and output.endswith(f"({50_000 - MAX_OUTPUT} more characters)")


def test_characters_gradescope_cannot_store_are_dropped() -> None:
    message = "got \x00\x1b[31mred\x1b[0m\ud800 <b>&amp;</b>\ttab\r\n"
    assert by_name(report(result("rnn.forward", "failed", 0, 2, message)))["rnn.forward"]["output"] == (
        "got [31mred[0m <b>&amp;</b>\ttab\r\n")


def test_a_report_without_checks_scores_zero_with_no_tests() -> None:
    results = read(gradescope_json(Report("/autograder/submission", ())))
    assert results["score"] == 0.0 and results["tests"] == [] and results["output"] == "Score 0/0."


def test_a_crash_still_gives_results_scoring_zero_with_the_reason() -> None:
    results = read(crashed_json("the grader's sandbox could not start: ENOSPC"))
    assert results["score"] == 0.0 and results["tests"] == []
    assert results["output"] == "the grader's sandbox could not start: ENOSPC"
    assert read(crashed_json(""))["output"]


ANY_TEXT = st.lists(st.one_of(st.text(st.characters(exclude_categories=()), max_size=20),
                              st.sampled_from(["\x00", "\ud800", "\udfff", '"', "\\", "\u2028", "\r\n", "NaN"])),
                    max_size=12).map("".join)


def sendable(text: str) -> str:
    """What Gradescope can be given of `text`: no lone surrogates, no control characters but tab and line ends."""
    return "".join(c for c in text if not (0xD800 <= ord(c) <= 0xDFFF or (ord(c) < 0x20 and c not in "\t\n\r")))


@given(message=ANY_TEXT, note=ANY_TEXT, status=st.sampled_from(["passed", "failed", "error", "skipped"]),
       score=st.floats(0, 2))
def test_any_message_gives_valid_results_with_the_right_types(message: str, note: str, status: Status,
                                                              score: float) -> None:
    results = read(gradescope_json(report(result("rnn.forward", status, score, 2, message), notes=(note,))))
    assert results["tests"][0]["output"] == sendable(message)
    assert results["output"].endswith(f"Note: {sendable(note)}")
    assert results["tests"][0]["score"] == score
    assert read(crashed_json(message))["output"] == (sendable(message) or "grading failed")
