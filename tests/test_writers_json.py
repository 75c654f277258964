"""The JSON report as a script reads it: its keys, its stable text, and what it refuses to write."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from grader.report import STATUSES, Report
from grader.writers.json import render_json
from samples import result, sample

CHECK_KEYS = ["id", "task", "status", "score", "max_score", "message", "visibility", "details", "internal_error",
              "diagnosis"]
REPORT_KEYS = ["submission", "score", "max_score", "internal_error", "files", "notes", "isolation", "checks"]


def test_one_internal_error_marks_the_whole_json() -> None:
    broken = Report("s", (*sample().checks, result("lstm.criterion", "error", 0, 1, "internal", internal_error=True)))
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


@pytest.mark.parametrize("isolation", ["linux-namespaces", "linux-process", "process"])
def test_the_walls_student_code_ran_behind_are_read_back_from_the_json(isolation: str) -> None:
    report = dataclasses.replace(sample(), isolation=isolation)
    assert Report.from_dict(json.loads(render_json(report))).isolation == isolation
