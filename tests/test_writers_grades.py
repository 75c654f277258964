"""grades.csv: the Moodle worksheet with a plain-text comment per student, read back by Moodle's rules."""

from __future__ import annotations

from grader.report import CheckResult, Report
from grader.writers.grades import feedback_comment, grades_csv
from moodle_import import import_worksheet, shown


def report(student: tuple[str, str], *checks: CheckResult) -> Report:
    return Report("entry", checks, student={"id": student[0], "name": student[1]})


FAILED = CheckResult("rnn.forward", "task2", "failed", 0, 2,
                     "the last hidden state hs[0] differs: max abs error 0.18; smallest failing example: n=2; "
                     "most likely: a sigmoid instead of np.tanh in the hidden-state line [rnn.sigmoid]; "
                     "your code printed: hi", diagnosis="rnn.sigmoid")
PASSED = CheckResult("rnn.gradcheck", "task2", "passed", 2, 2, "right")
SKIPPED = CheckResult("lstm.init", "task3", "skipped", 0, 1, "no file defining a class _charLSTM was found "
                      "(looked at: a.py)")


def test_the_comment_gives_the_score_each_lost_mark_in_a_sentence_and_the_mistake() -> None:
    assert feedback_comment(report(("1", "Zoë"), FAILED, PASSED, SKIPPED)) == (
        "Score 2/5. No file defining a class _charLSTM was found (looked at: a.py). "
        "rnn.forward (0/2): the last hidden state hs[0] differs: max abs error 0.18. "
        "Most likely: a sigmoid instead of np.tanh in the hidden-state line.")


def test_a_hidden_check_s_comment_gives_only_its_points() -> None:
    hidden = CheckResult("rnn.weights", "task2", "failed", 0, 1, "secret detail", visibility="hidden")
    assert feedback_comment(report(("1", "Zoë"), hidden)) == "Score 0/1. rnn.weights (0/1)."


def test_a_fresh_worksheet_is_read_by_moodle_as_the_grades_and_comments_meant() -> None:
    reports = [report(("101", "Zoë O'Brien"), FAILED, PASSED), report(("102", "Bob, Jr."), PASSED),
               report(("alice", "alice"), PASSED)]  # not a Moodle participant: not in the worksheet
    imported = import_worksheet(grades_csv(reports), {101, 102}, maxgrade=4)
    assert imported.grades == {101: 2, 102: 2}
    assert shown(imported.comments[101]) == feedback_comment(reports[0])
