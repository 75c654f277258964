"""The class summary, parsed back as a browser reads it: its numbers agree with the reports, its rankings are
in order, and no student's text (name, message, printed output) leaves its element."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.mistakes import CATALOG
from grader.report import STATUSES, CheckResult, Report, Status
from grader.writers.summary import MAX_NAME, NAMES_SHOWN, summary_page
from html_reader import Element, parse

HOSTILE = '<script>alert("x")</script> O\'Brien & <b>bold</b>'
RUN = {"seconds": 120.0, "students": 6, "graded": 4, "jobs": 2, "rubric": "grader.yaml",
       "finished": "2026-11-27T10:42:13+00:00"}
CHECKS = {"rnn.forward": 2.0, "rnn.weights": 1.0, "lstm.state_carry": 1.0}


def check(check_id: str, status: Status, message: str = "", **more: Any) -> CheckResult:
    points = CHECKS[check_id]
    score = points if status == "passed" else 0.0
    return CheckResult(check_id, check_id.split(".")[0], status, score, points, message or status, **more)


def student(name: str, sid: str, *checks: CheckResult, seconds: float = 8.0) -> Report:
    return Report(f"subs/{sid}", checks, student={"id": sid, "name": name}, batch={"seconds": seconds})


def swapped(message: str = "after iteration 0, hprev holds the c of the last step") -> CheckResult:
    return check("lstm.state_carry", "failed", message, diagnosis="lstm.state_swapped")


def bias(check_id: str) -> CheckResult:
    return check(check_id, "failed", "hs[0] differs", diagnosis="rnn.missing_bias")


def klass() -> list[Report]:
    """Six students: two known mistakes (one made by three, one by two), one unknown failure, a timeout,
    a grader's internal error, and a student who did everything right."""
    return [
        student("Zoe", "6", check("rnn.forward", "passed"), check("rnn.weights", "passed"), swapped()),
        student("Anna", "1", bias("rnn.forward"), bias("rnn.weights"), swapped()),
        student("Ben", "2", bias("rnn.forward"), check("rnn.weights", "passed"), swapped()),
        student("Chloe", "3", check("rnn.forward", "error", "no answer within the time limit of 20 s"),
                check("rnn.weights", "failed", "the hidden state depends on 3 of 4 weights"),
                check("lstm.state_carry", "skipped", "no file defining a class _charLSTM")),
        student("Dev", "4", check("rnn.forward", "passed"),
                check("rnn.weights", "failed", "the hidden state depends on 2 of 4 weights; your code printed: hi"),
                check("lstm.state_carry", "error", "internal error in the grader: KeyError: 'hs'",
                      details={"traceback": "Traceback (most recent call last):\nKeyError: 'hs'"},
                      internal_error=True)),
        student("Eve", "5", check("rnn.forward", "passed"), check("rnn.weights", "passed"),
                check("lstm.state_carry", "passed")),
    ]


def page_of(reports: list[Report] | None = None, run: dict[str, Any] | None = None) -> Element:
    return parse(summary_page(klass() if reports is None else reports, RUN if run is None else run))


def test_the_header_counts_the_class_and_says_how_long_the_batch_took() -> None:
    stats = page_of().all("ul", "stats")[0].text()
    assert "6 students (4 graded this run, 2 resumed)" in stats
    scores = [r.score for r in klass()]
    assert scores == [3, 0, 1, 0, 2, 4]
    assert "mean score 1.7 / 4, median 1.5 / 4" in stats
    assert "2 min 0 s: 30.0 s per student graded (2 jobs in parallel)" in stats


def test_the_histogram_has_one_bar_per_score_and_heights_proportional_to_counts() -> None:
    reports = [student(f"s{i}", str(i), check("rnn.forward", "passed" if i % 3 else "failed"),
                       check("rnn.weights", "passed" if i % 2 else "failed")) for i in range(12)]
    bars = page_of(reports).all("svg", "histogram")[0].all("rect", "bar")
    counts = [int(b.attrs["data-count"]) for b in bars]
    assert counts == [sum(r.score == v for r in reports) for v in range(4)]
    per_student = {float(b.attrs["height"]) / int(b.attrs["data-count"]) for b in bars if b.attrs["data-count"] != "0"}
    assert max(per_student) == pytest.approx(min(per_student))
    assert [float(b.attrs["height"]) for b in bars if b.attrs["data-count"] == "0"] == [0.0] * counts.count(0)


def test_the_histogram_writes_each_nonzero_count_over_its_bar_and_labels_its_axes() -> None:
    svg = page_of().all("svg", "histogram")[0]
    assert sorted(t.text() for t in svg.all("text", "count")) == ["1", "1", "1", "1", "2"]
    labels = [t.text() for t in svg.all("text")]
    assert "total score (out of 4)" in labels and "students" in labels


def test_fractional_scores_fall_into_ten_equal_bins() -> None:
    reports = [Report(f"s{i}", (CheckResult("c", "t", "passed", i / 4, 7.5, "ok"),)) for i in range(31)]
    bars = page_of(reports).all("svg", "histogram")[0].all("rect", "bar")
    assert len(bars) == 10 and sum(int(b.attrs["data-count"]) for b in bars) == 31


def test_each_checks_stacked_bar_and_counts_equal_the_reports_statuses() -> None:
    reports = klass()
    rows = {row.attrs["data-check"]: row for row in page_of(reports).all("table", "checks")[0].all("tr")[1:]}
    assert list(rows) == list(CHECKS)
    for check_id, row in rows.items():
        expected = [sum(c.id == check_id and c.status == s for r in reports for c in r.checks) for s in STATUSES]
        assert [int(row.all("td", s)[0].text()) for s in STATUSES] == expected
        widths = [float(row.all("svg", "stacked")[0].all("rect", s)[0].attrs["width"]) for s in STATUSES]
        assert widths == pytest.approx([360 * n / len(reports) for n in expected], abs=0.01)


def test_the_legend_names_every_status_in_words() -> None:
    assert page_of().all("p", "legend")[0].text() == "".join(STATUSES)


def test_known_mistakes_are_ranked_by_students_and_come_before_other_failures() -> None:
    root = page_of()
    rows = root.all("table", "diagnosed")[0].all("tr", "mistake")
    assert [r.attrs["data-id"] for r in rows] == ["lstm.state_swapped", "rnn.missing_bias"]
    swapped_row = rows[0].all("td")
    assert swapped_row[0].text() == "3" and swapped_row[1].text() == CATALOG["lstm.state_swapped"].words
    assert swapped_row[4].text() == "Anna, Ben, Zoe"
    assert rows[1].all("td")[0].text() == "2" and rows[1].all("td")[3].text() == "rnn.forward, rnn.weights"
    tables = [t.attrs["class"] for t in root.all("table")]
    assert tables.index("diagnosed") < tables.index("messages")


def test_other_failures_are_grouped_by_check_and_message_with_numbers_and_tails_cut() -> None:
    rows = page_of().all("table", "messages")[0].all("tr", "message")
    cells = [[td.text() for td in row.all("td")] for row in rows]
    assert cells[0] == ["2", "rnn.weights", "the hidden state depends on # of # weights", "Chloe, Dev"]
    assert sorted(c[1] for c in cells[1:]) == ["lstm.state_carry", "rnn.forward"]
    assert all(c[0] == "1" for c in cells[1:])


def test_a_common_failure_names_five_students_and_counts_the_rest() -> None:
    reports = [student(f"student {i:02}", str(i), check("rnn.weights", "failed", f"depends on {i} weights"))
               for i in range(8)]
    row = page_of(reports).all("table", "messages")[0].all("tr", "message")[0]
    who = row.all("td")[3].text()
    assert who == ", ".join(f"student {i:02}" for i in range(NAMES_SHOWN)) + " and 3 more"


def test_the_list_to_look_at_holds_exactly_the_students_with_an_error() -> None:
    reports = klass()
    rows = page_of(reports).all("table", "errors")[0].all("tr", "flagged")
    errored = {r.student["id"] for r in reports if r.student and any(c.status == "error" for c in r.checks)}
    assert [r.attrs["data-student"] for r in rows] == ["4", "3"]  # the grader's own error first
    assert {r.attrs["data-student"] for r in rows} == errored


def test_the_graders_internal_errors_and_time_limits_are_flagged_as_such() -> None:
    rows = page_of().all("table", "errors")[0].all("tr", "flagged")
    assert [k.text() for k in rows[0].all("span", "kind")] == ["GRADER BUG"]
    assert "KeyError: 'hs'" in rows[0].all("pre")[0].text()
    assert [k.text() for k in rows[1].all("span", "kind")] == ["TIME LIMIT"]
    assert "no answer within the time limit" in rows[1].text()


def test_a_class_without_errors_says_so() -> None:
    text = page_of(klass()[:3]).text()
    assert "No student's grading hit an error or a time limit." in text


def test_the_students_table_is_sorted_by_name_with_a_cell_per_check() -> None:
    table = page_of().all("table", "scores")[0]
    assert [th.text() for th in table.all("th")[3:-1]] == list(CHECKS)
    rows = table.all("tr", "student")
    assert [r.all("td")[0].text() for r in rows] == ["Anna", "Ben", "Chloe", "Dev", "Eve", "Zoe"]
    chloe = [td.text() for td in rows[2].all("td")]
    assert chloe == ["Chloe", "3", "0 / 4", "0 !", "0", "–", "8.0"]


def test_hostile_names_messages_and_output_stay_text() -> None:
    reports = [student(HOSTILE, '"><script>', check("rnn.forward", "error", HOSTILE, details={"output": [HOSTILE]}),
                       check("rnn.weights", "failed", HOSTILE))]
    page = summary_page(reports, RUN)
    root = parse(page)
    assert root.all("script") == [] and root.all("b") == []
    assert "<script" not in page
    assert root.all("tr", "student")[0].all("td")[0].text() == HOSTILE
    assert root.all("tr", "flagged")[0].attrs["data-student"] == '"><script>'


def test_a_ten_thousand_character_name_and_message_are_cut() -> None:
    reports = [student("N" * 10_000, "1", check("rnn.weights", "failed", "M" * 10_000))]
    root = page_of(reports)
    name = root.all("tr", "student")[0].all("td")[0].text()
    assert name.startswith("N" * MAX_NAME + "…") and len(name) < MAX_NAME + 40
    assert len(root.all("tr", "message")[0].all("td")[2].text()) < 400


def test_the_page_needs_no_network_and_no_scripts() -> None:
    page = summary_page(klass(), RUN)
    assert "http://" not in page and "https://" not in page and "<script" not in page.lower()


def test_an_empty_class_still_makes_a_page() -> None:
    root = page_of([], {**RUN, "students": 0, "graded": 0})
    assert "no reports" in root.all("ul", "stats")[0].text()


@given(names=st.lists(st.text(max_size=MAX_NAME), min_size=1, max_size=4), message=st.text(max_size=200))
def test_any_text_in_names_and_messages_stays_inside_its_element(names: list[str], message: str) -> None:
    reports = [student(name, str(i), check("rnn.forward", "error", message), check("rnn.weights", "failed", message))
               for i, name in enumerate(names)]
    root = page_of(reports)
    assert root.all("script") == []
    shown = sorted(row.all("td")[0].text() for row in root.all("tr", "student"))
    assert shown == sorted(name or f"subs/{i}" for i, name in enumerate(names))
    assert len(root.all("tr", "flagged")) == len(names)
