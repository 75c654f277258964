"""results.csv: one row per student, one column per check, read back as a spreadsheet would."""

from __future__ import annotations

import csv
import io

from grader.report import CheckResult, Report
from grader.writers.results import results_csv


def check(check_id: str, status: str, score: float, internal: bool = False) -> CheckResult:
    return CheckResult(check_id, "task2", status, score, 2, "m", internal_error=internal)  # type: ignore[arg-type]


def test_each_student_gets_a_row_with_each_check_s_score_the_total_and_a_status() -> None:
    reports = [Report("a", (check("rnn.forward", "passed", 2), check("rnn.gradcheck", "failed", 0)),
                      student={"id": "101", "name": "Zoë, O'Brien"}),
               Report("b", (check("rnn.forward", "skipped", 0), check("rnn.gradcheck", "skipped", 0)),
                      student={"id": "102", "name": "Bob"}),
               Report("c", (check("rnn.forward", "error", 0, internal=True),), student={"id": "103", "name": "Cy"})]
    rows = list(csv.DictReader(io.StringIO(results_csv(reports, ["rnn.forward", "rnn.gradcheck"]))))
    assert rows == [
        {"id": "101", "name": "Zoë, O'Brien", "rnn.forward": "2", "rnn.gradcheck": "0", "total": "2", "max": "4",
         "status": "graded"},
        {"id": "102", "name": "Bob", "rnn.forward": "0", "rnn.gradcheck": "0", "total": "0", "max": "4",
         "status": "nothing_gradable"},
        {"id": "103", "name": "Cy", "rnn.forward": "0", "rnn.gradcheck": "", "total": "0", "max": "2",
         "status": "grader_error"}]
