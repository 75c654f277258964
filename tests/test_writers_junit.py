"""JUnit XML, parsed back as GitLab and dorny/test-reporter read it: one named suite, one testcase per check
with its verdict as a child, counts and times that parse, and a student's text that stays well-formed XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from grader.mistakes import CATALOG
from grader.report import CheckResult, Report, Status
from grader.writers.junit import HIDDEN, MAX_LEAD, MAX_TEXT, junit_xml
from samples import failed_forward, result

DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
VERDICTS = {"failed": "failure", "error": "error", "skipped": "skipped"}


def report(*checks: CheckResult, notes: tuple[str, ...] = (), batch: dict[str, Any] | None = None) -> Report:
    return Report("subs/ada", checks, {"task2": "task2_min_char_rnn.py"}, notes, {"id": "100200", "name": "Ada"},
                  batch)


def class_report() -> Report:
    return report(
        failed_forward(),
        result("rnn.loss_decrease", "passed", 1, 1, "after 300 iterations the loss fell by 29.0%",
               details={"seconds": 1.25}),
        result("lstm.forward", "error", 0, 2, "no answer within the time limit of 20 s", details={"seconds": 20}),
        result("answers.weight_counts", "failed", 1, 2, "for n=3, h=2 your RNN formula gives 10"),
        result("lstm.init", "skipped", 0, 1, "no file defining a class _charLSTM was found"),
        batch={"seconds": 31.5},
    )


def parse(xml: str) -> ET.Element:
    """The document's one suite, after checking the declaration and the `<testsuites>` root around it."""
    assert xml.startswith(DECLARATION + "\n")
    root = ET.fromstring(xml.encode("utf-8"))
    assert root.tag == "testsuites" and [child.tag for child in root] == ["testsuite"]
    return root[0]


def cases(suite: ET.Element) -> dict[str, ET.Element]:
    return {case.attrib["name"]: case for case in suite.iter("testcase")}


def verdict(case: ET.Element) -> ET.Element | None:
    found = [child for child in case if child.tag in VERDICTS.values()]
    assert len(found) <= 1
    return found[0] if found else None


def test_the_document_is_one_suite_named_lab5_inside_testsuites() -> None:
    suite = parse(junit_xml(class_report()))
    assert suite.attrib["name"] == "lab5"


def test_one_testcase_per_check_in_report_order_its_classname_the_task() -> None:
    suite = parse(junit_xml(class_report()))
    shown = [(case.attrib["classname"], case.attrib["name"]) for case in suite.iter("testcase")]
    assert shown == [(c.task, c.id) for c in class_report().checks]


def test_the_counts_agree_with_the_testcases_verdicts() -> None:
    xml = junit_xml(class_report())
    suite = parse(xml)
    children = [verdict(case) for case in suite.iter("testcase")]
    tags = [child.tag if child is not None else None for child in children]
    expected = {"tests": len(tags), "failures": tags.count("failure"), "errors": tags.count("error"),
                "skipped": tags.count("skipped")}
    assert expected == {"tests": 5, "failures": 2, "errors": 1, "skipped": 1}
    for element in (suite, ET.fromstring(xml.encode("utf-8"))):
        assert {key: int(element.attrib[key]) for key in expected} == expected


def test_each_status_has_its_child_and_a_passed_check_none() -> None:
    for check, case in zip(class_report().checks, parse(junit_xml(class_report())).iter("testcase"),
                           strict=True):
        child = verdict(case)
        assert (child.tag if child is not None else "passed") == VERDICTS.get(check.status, "passed")
        assert child is None or child.attrib["message"]


def test_the_message_attribute_is_the_lead_and_the_text_the_whole_message() -> None:
    failure = verdict(cases(parse(junit_xml(report(failed_forward()))))["rnn.forward"])
    assert failure is not None and failure.tag == "failure"
    assert failure.attrib["message"] == "the last hidden state hs[0] differs: max abs error 0.18 at [0, 0]"
    assert failure.text is not None
    assert failure.text.split("\n") == [
        "the last hidden state hs[0] differs: max abs error 0.18 at [0, 0]; your code printed: data has 25874 "
        "characters, 70 unique.",
        "Smallest failing example: vocabulary n=2, hidden size h=1, sequence length 1, inputs [0], targets [0]",
        f"Most likely: {CATALOG['rnn.missing_bias'].words} [rnn.missing_bias]",
    ]


def test_a_diagnosis_the_catalog_does_not_know_is_given_by_its_id() -> None:
    check = result("rnn.forward", "failed", 0, 2, "differs", diagnosis="rnn.from_the_future")
    failure = verdict(cases(parse(junit_xml(report(check))))["rnn.forward"])
    assert failure is not None and failure.text == "differs\nMost likely: [rnn.from_the_future]"


def test_a_skipped_check_gives_its_reason_as_the_message() -> None:
    skipped = verdict(cases(parse(junit_xml(class_report())))["lstm.init"])
    assert skipped is not None and skipped.tag == "skipped"
    assert skipped.attrib["message"] == "no file defining a class _charLSTM was found" and not skipped.text


def test_times_are_seconds_the_checks_own_or_zero_and_the_suite_the_batchs() -> None:
    suite = parse(junit_xml(class_report()))
    times = [float(case.attrib["time"]) for case in suite.iter("testcase")]
    assert times == [0, 1.25, 20, 0, 0]
    assert float(suite.attrib["time"]) == 31.5


def test_outside_a_batch_the_suite_takes_as_long_as_its_checks() -> None:
    checks = (result("rnn.forward", "passed", 2, 2, "right", details={"seconds": 0.5}),
              result("rnn.weights", "passed", 1, 1, "right", details={"seconds": 0.25}),
              result("rnn.gradcheck", "passed", 2, 2, "right", details={"seconds": "soon"}))
    suite = parse(junit_xml(report(*checks)))
    assert float(suite.attrib["time"]) == 0.75
    assert [float(case.attrib["time"]) for case in suite.iter("testcase")] == [0.5, 0.25, 0]


def test_the_points_are_suite_properties_and_each_cases_system_out() -> None:
    suite = parse(junit_xml(class_report()))
    properties = {p.attrib["name"]: p.attrib["value"] for p in suite.iter("property")}
    assert properties == {"score": "2", "max_score": "8"}
    assert [case.findtext("system-out") for case in suite.iter("testcase")] == [
        "score 0/2", "score 1/1", "score 0/2", "score 1/2", "score 0/1"]


def test_a_hidden_check_shows_its_verdict_but_not_its_message() -> None:
    hidden = result("lstm.criterion", "failed", 0, 1, "secret: the criterion is summed", visibility="hidden",
                    diagnosis="lstm.summed_loss", details={"example": "secret example"})
    xml = junit_xml(report(hidden))
    failure = verdict(cases(parse(xml))["lstm.criterion"])
    assert failure is not None and failure.attrib["message"] == HIDDEN and failure.text == HIDDEN
    assert "secret" not in xml and "summed" not in xml


def test_an_internal_error_says_it_is_the_graders_fault_without_the_traceback() -> None:
    check = result("rnn.forward", "error", 0, 2, "internal error in the grader: KeyError: 'hs'",
                   details={"traceback": "Traceback (most recent call last): grader/pipeline.py"}, internal_error=True)
    xml = junit_xml(report(check))
    error = verdict(cases(parse(xml))["rnn.forward"])
    assert error is not None and error.tag == "error" and "fault of the grader" in (error.text or "")
    assert "Traceback" not in xml


def test_the_files_and_notes_of_loading_are_the_suites_system_out() -> None:
    suite = parse(junit_xml(report(failed_forward(), notes=("task2: line 12 mixes tabs and spaces",))))
    assert suite.findtext("system-out") == "task2: task2_min_char_rnn.py\nnote: task2: line 12 mixes tabs and spaces"


def test_characters_xml_cannot_hold_are_dropped_and_markup_stays_text() -> None:
    message = "got \x00\x1b[31mred\x1b[0m\ud800 <b>&amp;</b> ]]> \"'\ufffe"
    failure = verdict(cases(parse(junit_xml(report(result("rnn.forward", "failed", 0, 2, message)))))["rnn.forward"])
    assert failure is not None
    assert failure.attrib["message"] == failure.text == "got [31mred[0m <b>&amp;</b> ]]> \"'"


def test_a_long_message_is_cut_and_says_how_much() -> None:
    failure = verdict(cases(parse(junit_xml(report(result("rnn.forward", "failed", 0, 2, "y" * 50_000)))))
                      ["rnn.forward"])
    assert failure is not None and failure.text is not None
    assert len(failure.text) < MAX_TEXT + 50 and failure.text.endswith(f"({50_000 - MAX_TEXT} more characters)")
    assert len(failure.attrib["message"]) < MAX_LEAD + 50


def test_an_empty_report_is_an_empty_suite() -> None:
    suite = parse(junit_xml(Report("subs/ada", ())))
    assert list(suite.iter("testcase")) == [] and suite.attrib["tests"] == "0" and float(suite.attrib["time"]) == 0


def xml_char(c: str) -> bool:
    """XML 1.0's Char production."""
    n = ord(c)
    return n in (0x9, 0xA, 0xD) or 0x20 <= n <= 0xD7FF or 0xE000 <= n <= 0xFFFD or n >= 0x10000


def visible(text: str) -> str:
    """What a reader can be given of `text` in XML: its characters XML allows."""
    return "".join(c for c in text if xml_char(c))


def read_back(text: str) -> str:
    """`visible(text)` as element text: a parser reads every line end as LF."""
    return visible(text).replace("\r\n", "\n").replace("\r", "\n")


ANY_TEXT = st.lists(st.one_of(st.text(st.characters(exclude_categories=()), max_size=20),
                              st.sampled_from(["]]>", "<&\"'", "<![CDATA[", "&amp;", "\x00", "\r\n", "\r", "\x1b",
                                               "\ud800", "\udfff", "\ufffe", "\t", "; note:"])),
                    max_size=12).map("".join)


@given(message=ANY_TEXT, note=ANY_TEXT, status=st.sampled_from(["failed", "error", "skipped"]))
def test_any_text_in_a_message_or_note_stays_well_formed_and_reads_back(message: str, note: str,
                                                                        status: Status) -> None:
    check = result("rnn.forward", status, 0, 2, message)
    suite = parse(junit_xml(report(check, notes=(note,))))
    child = verdict(cases(suite)["rnn.forward"])
    assert child is not None and child.tag == VERDICTS[status]
    assert child.attrib["message"] == visible(check.lead)
    assert (child.text or "") == (read_back(message) if status != "skipped" or message != check.lead else "")
    assert suite.findtext("system-out") == read_back(f"task2: task2_min_char_rnn.py\nnote: {note}")
