"""The student's feedback page, parsed back as a browser reads it: what it shows, and that a student's text
(name, message, printed output) stays text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from grader.mistakes import CATALOG
from grader.report import CheckResult, Report
from grader.writers.feedback import MAX_LINE, MAX_LINES, feedback_page
from html_reader import Element, parse
from samples import failed_forward, result

HOSTILE = '<script>alert("x")</script> O\'Brien & <b>bold</b>'


def report(*checks: CheckResult, name: str = "Ada Lovelace") -> Report:
    return Report("subs/ada", checks, {"task2": "task2_min_char_rnn.py"}, student={"id": "100200", "name": name},
                  batch={"seconds": 9.5})


def class_report() -> Report:
    return report(
        failed_forward(),
        result("rnn.loss_decrease", "passed", 1, 1, "after 300 iterations the loss fell by 29.0%"),
        result("lstm.forward", "error", 0, 2, "no answer within the time limit of 20 s"),
        result("lstm.criterion", "failed", 0, 1, "secret: the criterion is summed", visibility="hidden"),
        result("lstm.init", "skipped", 0, 1, "no file defining a class _charLSTM was found"),
        result("lstm.gradcheck", "skipped", 0, 2, "no file defining a class _charLSTM was found"),
    )


def sections(page: str) -> dict[str, Element]:
    """The page's check sections by check id."""
    return {s.attrs["id"]: s for s in parse(page).all("section") if "id" in s.attrs}


def test_the_page_names_the_student_and_their_total() -> None:
    root = parse(feedback_page(class_report()))
    assert [p.text() for p in root.all("p", "student")] == ["Ada Lovelace"]
    assert root.all("p", "total")[0].text() == "Total: 1 / 9 points"
    assert "Ada Lovelace" in root.all("title")[0].text()


def test_every_check_of_the_report_is_on_the_page() -> None:
    root = parse(feedback_page(class_report()))
    shown = [code.text() for code in root.all("code", "id")]
    assert sorted(shown) == sorted(c.id for c in class_report().checks)


def test_a_failed_check_shows_its_message_example_mistake_and_output_each_on_its_own() -> None:
    check = sections(feedback_page(report(failed_forward())))["rnn.forward"]
    assert check.all("span", "mark")[0].text() == "FAIL" and check.all("span", "points")[0].text() == "0 / 2 points"
    assert check.all("p", "message")[0].text() == "the last hidden state hs[0] differs: max abs error 0.18 at [0, 0]"
    assert check.all("p", "example")[0].text().endswith("inputs [0], targets [0]")
    diagnosis = check.all("p", "diagnosis")[0].text()
    assert CATALOG["rnn.missing_bias"].words in diagnosis and "[rnn.missing_bias]" in diagnosis
    assert check.all("pre", "output")[0].text() == "data has 25874 characters, 70 unique.\niter 0"


def test_what_the_message_says_beyond_the_shown_parts_stays_in_the_message() -> None:
    check = sections(feedback_page(report(failed_forward("; note: line 12 raised NameError"))))["rnn.forward"]
    assert check.all("p", "message")[0].text().endswith("; note: line 12 raised NameError")


def test_a_diagnosis_the_catalog_does_not_know_is_shown_by_its_id() -> None:
    check = result("rnn.forward", "failed", 0, 2, "differs", diagnosis="rnn.from_the_future")
    shown = sections(feedback_page(report(check)))["rnn.forward"]
    assert "[rnn.from_the_future]" in shown.all("p", "diagnosis")[0].text()


def test_a_hidden_check_shows_only_its_id_and_points() -> None:
    page = feedback_page(class_report())
    hidden = sections(page)["lstm.criterion"]
    assert hidden.all("span", "points")[0].text() == "0 / 1 point"
    assert hidden.all("p") == [] and "secret" not in page


def test_skipped_checks_share_one_line_per_reason() -> None:
    skipped = parse(feedback_page(class_report())).all("section", "skipped")[0]
    lines = skipped.all("li")
    assert len(lines) == 1
    assert [c.text() for c in lines[0].all("code")] == ["lstm.init", "lstm.gradcheck"]
    assert "(0 / 3 points): no file defining a class _charLSTM" in lines[0].text()


def test_an_internal_error_says_it_is_the_graders_fault_without_the_traceback() -> None:
    check = result("rnn.forward", "error", 0, 2, "internal error in the grader: KeyError: 'hs'",
                   details={"traceback": "Traceback (most recent call last): grader/pipeline.py"}, internal_error=True)
    page = feedback_page(report(check))
    assert "fault of the grader" in sections(page)["rnn.forward"].text()
    assert "Traceback" not in page


def test_a_hostile_name_message_and_output_stay_text() -> None:
    check = result("rnn.forward", "failed", 0, 2, HOSTILE, details={"output": [HOSTILE], "example": HOSTILE})
    page = feedback_page(report(check, name=HOSTILE))
    root = parse(page)
    assert root.all("script") == [] and root.all("b") == []
    assert "<script" not in page
    assert root.all("p", "student")[0].text() == HOSTILE
    assert root.all("pre", "output")[0].text() == HOSTILE


def test_long_printed_output_is_cut_to_its_first_lines_and_their_first_characters() -> None:
    output = ["x" * 10_000] * 50
    page = feedback_page(report(result("rnn.forward", "failed", 0, 2, "differs", details={"output": output})))
    lines = sections(page)["rnn.forward"].all("pre", "output")[0].text().split("\n")
    assert len(lines) == MAX_LINES
    assert all(line.startswith("x" * MAX_LINE + "…") and len(line) < MAX_LINE + 40 for line in lines)


def test_a_ten_thousand_character_message_is_cut_and_says_how_much() -> None:
    page = feedback_page(report(result("rnn.forward", "failed", 0, 2, "y" * 10_000)))
    message = sections(page)["rnn.forward"].all("p", "message")[0].text()
    assert len(message) < 2100 and message.endswith("more characters)")


def test_the_page_needs_no_network_and_no_scripts() -> None:
    page = feedback_page(class_report())
    assert "http://" not in page and "https://" not in page and "<script" not in page.lower()
    assert parse(page).all("style") != []


def test_the_source_reads_as_plain_text_one_block_a_line() -> None:
    page = feedback_page(class_report())
    lines = page.splitlines()
    assert sum(line.startswith("<section") for line in lines) == len(sections(page)) + 1  # and the skipped one
    assert any(line.startswith('<p class="message">the last hidden state') for line in lines)


def test_a_report_outside_a_batch_is_named_by_its_submission() -> None:
    page = feedback_page(Report("subs/ada.zip", (failed_forward(),)))
    assert parse(page).all("p", "student")[0].text() == "subs/ada.zip"


@given(name=st.text(max_size=150), message=st.text(max_size=300),
       output=st.lists(st.text(max_size=150).filter(str.strip), min_size=1, max_size=4))
def test_any_text_in_a_name_message_or_output_stays_inside_its_element(name: str, message: str,
                                                                        output: list[str]) -> None:
    said = result("rnn.forward", "failed", 0, 2, message)
    printed = result("rnn.gradcheck", "failed", 0, 2, "differs", details={"output": output})
    root = parse(feedback_page(report(said, printed, name=name)))
    assert root.all("script") == []
    assert root.all("p", "student")[0].text() == (name or "subs/ada")
    assert root.all("p", "message")[0].text() == message
    assert root.all("pre", "output")[0].text() == "\n".join(output)


def test_written_answers_are_shown_under_their_keys_as_text() -> None:
    answers = {"q2_rnn_weights": "h(n+h)", "q1": HOSTILE}
    check = result("answers.weight_counts", "failed", 1, 2, "for n=3, h=2 your RNN formula gives 10",
                   details={"answers": answers, "parts": {"rnn": False, "lstm": True}})
    shown = sections(feedback_page(report(check)))["answers.weight_counts"]
    keys = [dt.text() for dt in shown.all("dt")]
    assert keys == ["q2_rnn_weights", "q1"]
    assert [dd.text() for dd in shown.all("dd")] == ["h(n+h)", HOSTILE]
    assert not shown.all("script") and not shown.all("b")
