"""The Report and its check results: their sums, dicts, leads and names."""

from __future__ import annotations

from grader.report import Report
from samples import result, sample

CHECK_KEYS = ["id", "task", "status", "score", "max_score", "message", "visibility", "details", "internal_error",
              "diagnosis"]


def test_a_check_result_becomes_a_dict_with_every_field_in_order() -> None:
    r = result(task="task2", details={"output": ["hello"]}, visibility="hidden", internal_error=True,
               diagnosis="rnn.relu")
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


def test_one_internal_error_marks_the_whole_report() -> None:
    fine = sample()
    broken = Report("s", (*fine.checks, result("lstm.criterion", "error", 0, 1, "internal", internal_error=True)))
    assert not fine.internal_error and broken.internal_error


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
