"""The GitHub Actions writer, read back as its consumers read it: annotations as the runner parses workflow
commands, the step summary as a Markdown table, the result as Classroom's grading reporter decodes it, and
$GITHUB_OUTPUT as the runner reads that file."""

from __future__ import annotations

import base64
import html
import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.report import CheckResult, Report, Status
from grader.writers.github import (HIDDEN, MAX_CELL, MAX_MESSAGE, MAX_RESULT, annotations, classroom_output,
                                   output_line, step_summary)

COMMAND = re.compile(r"^::(\w+)(?: (.*?))?::(.*)$")
HOSTILE = "a | b\n::add-mask::x\r\n<script>alert(1)</script> `code` **bold** [link](http://x) 100% done, : ok"
PIECES = ["\n::add-mask::x", "\n::stop-commands::t", "::error::fake", "##[add-mask]x", "%", "%0A", "%25", "%2C",
          "\r", "\r\n", "\n", ",", ":", "::", "=", "|", "\\", "\\|", "`", "<b>", "&amp;", " line 3", "\u2028"]
MESSAGES = st.text(max_size=200) | st.lists(st.sampled_from(PIECES) | st.text(max_size=8), max_size=12).map("".join)


def result(check_id: str, status: Status, score: float, max_score: float, message: str, task: str = "task2",
           **more: Any) -> CheckResult:
    return CheckResult(check_id, task, status, score, max_score, message, **more)


def report(*checks: CheckResult, files: dict[str, str] | None = None) -> Report:
    return Report(".", checks, {"task2": "task2_min_char_rnn.py"} if files is None else files)


def failed(n: int) -> CheckResult:
    return result(f"rnn.check{n}", "failed", 0, 1, f"check {n} differs")


def _unescape(text: str, escapes: list[tuple[str, str]]) -> str:
    for escaped, char in escapes:
        text = text.replace(escaped, char)
    return text


def parse(line: str) -> tuple[str, dict[str, str], str]:
    """A workflow command as the runner reads it (ActionCommand.TryParseV2): name, properties, data."""
    found = COMMAND.match(line)
    assert found is not None, f"not a workflow command: {line!r}"
    name, listed, data = found.groups()
    properties = {}
    for item in (listed or "").split(","):
        key, _, value = item.partition("=")
        properties[key] = _unescape(value, [("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")])
    return name, properties, _unescape(data, [("%0D", "\r"), ("%0A", "\n"), ("%25", "%")])


def commands(lines: list[str]) -> list[tuple[str, dict[str, str], str]]:
    """The commands in the step's output, read line by line as the runner reads it (a line ends at LF, CR
    or CR LF; not at U+2028 and the like, as str.splitlines would have it)."""
    output = "\n".join(lines) + "\n"
    assert "\r" not in output
    return [parse(line) for line in output.split("\n")[:-1]]


def cells(row: str) -> list[str]:
    """A GFM table row's cells: split at pipes that are not backslash-escaped, blanks around them trimmed."""
    assert row.startswith("|") and row.endswith("|")
    return [c.strip(" \t") for c in re.findall(r"((?:\\.|[^|\\])*)\|", row[1:])]


def shown(cell: str) -> str:
    """The text a cell shows: <br> a line break, backslash escapes and HTML entities resolved."""
    return html.unescape(re.sub(r"\\(.)", r"\1", cell.replace("<br>", "\n")))


def table(markdown: str) -> list[list[str]]:
    rows = [cells(line) for line in markdown.split("\n") if line.startswith("|")]  # GFM ends lines at LF, CR
    assert rows[1] == ["---", "---", "---:", "---"]
    assert all(len(row) == len(rows[0]) for row in rows)
    return [rows[0], *rows[2:]]


def decoded(result: str) -> dict[str, Any]:
    """The result as the reporter reads it: Buffer.from(value, "base64"), then JSON.parse."""
    document = json.loads(base64.b64decode(result, validate=True).decode("utf-8"))
    assert isinstance(document, dict)
    return document


def read_outputs(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT as the runner reads it on Linux (FileCommandManager): lines end at LF; `name=value`,
    or `name<<delimiter` and the lines up to the one that is the delimiter."""
    outputs, lines = {}, iter(text.split("\n"))
    for line in lines:
        if not line:
            continue
        equals, heredoc = line.find("="), line.find("<<")
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            name, value = line.split("=", 1)
        else:
            name, delimiter = line.split("<<", 1)
            value_lines = []
            for value_line in lines:
                if value_line == delimiter:
                    break
                value_lines.append(value_line)
            else:
                raise AssertionError(f"no line closes {name}<<{delimiter}")
            value = "\n".join(value_lines)
        outputs[name] = value
    return outputs


def test_a_failed_check_is_annotated_on_the_students_file_and_line() -> None:
    message = "hs[3] differs: max abs error 0.41 at row 7 (task2_min_char_rnn.py line 41, in step)"
    [(name, properties, data)] = commands(annotations(report(result("rnn.forward", "failed", 0, 2, message))))
    assert name == "error"
    assert properties == {"file": "task2_min_char_rnn.py", "line": "41", "title": "rnn.forward 0/2"}
    assert data == message


def test_the_line_of_a_written_answer_is_found_in_the_answers_file() -> None:
    check = result("answers.weight_counts", "failed", 1, 2, "answers.yaml line 2: for n=3, h=2 your RNN formula "
                   "gives 10", task="answers")
    [(_, properties, _)] = commands(annotations(report(check, files={"answers": "answers.yaml"})))
    assert properties == {"file": "answers.yaml", "line": "2", "title": "answers.weight_counts 1/2"}


def test_passed_and_skipped_checks_are_not_annotated_and_errors_are() -> None:
    checks = [result("rnn.loss", "passed", 1, 1, "fell"), result("lstm.init", "skipped", 0, 1, "no file", "task3"),
              result("rnn.forward", "error", 0, 2, "no answer within the time limit of 20 s")]
    assert [p["title"] for _, p, _ in commands(annotations(report(*checks)))] == ["rnn.forward 0/2"]


@pytest.mark.parametrize("name", ["lab5.zip:path/in/task2.py", "/home/ada/task2.py", "../task2.py", "a=b.py",
                                  " task2.py"])
def test_a_file_that_is_not_a_plain_relative_path_is_not_pointed_at(name: str) -> None:
    check = result("rnn.forward", "failed", 0, 2, f"differs ({name} line 4, in step)")
    [(_, properties, data)] = commands(annotations(report(check, files={"task2": name})))
    assert properties == {"title": "rnn.forward 0/2"} and data == check.message


def test_a_path_in_a_folder_keeps_its_folders() -> None:
    check = result("rnn.forward", "failed", 0, 2, "raised (lab 5/src/task2.py line 9, in f)")
    [(_, properties, _)] = commands(annotations(report(check, files={"task2": "lab 5/src/task2.py"})))
    assert properties["file"] == "lab 5/src/task2.py" and properties["line"] == "9"


@pytest.mark.parametrize("message", ["raised in helper.py line 3", "lab.ipynb cell 3 line 2 raised",
                                     "my_task2_min_char_rnn.py line 5", "no line named"])
def test_only_a_line_of_the_tasks_own_file_is_pointed_at(message: str) -> None:
    files = {"task2": "lab.ipynb" if "ipynb" in message else "task2_min_char_rnn.py"}
    [(_, properties, _)] = commands(annotations(report(result("rnn.forward", "failed", 0, 2, message), files=files)))
    assert "line" not in properties and "file" in properties


def test_a_check_whose_task_has_no_file_is_annotated_without_one() -> None:
    check = result("lstm.forward", "error", 0, 2, "no file defining a class _charLSTM was found", "task3")
    [(_, properties, _)] = commands(annotations(report(check)))
    assert properties == {"title": "lstm.forward 0/2"}


def test_a_hidden_check_is_annotated_with_its_points_only() -> None:
    check = result("lstm.criterion", "failed", 0, 1, "secret (task2_min_char_rnn.py line 3)", visibility="hidden")
    [(_, properties, data)] = commands(annotations(report(check)))
    assert data == HIDDEN and "line" not in properties and properties["title"] == "lstm.criterion 0/1"


def test_an_internal_error_says_it_is_the_graders_fault() -> None:
    check = result("rnn.forward", "error", 0, 2, "internal error in the grader: KeyError: 'hs'", internal_error=True)
    [(_, _, data)] = commands(annotations(report(check)))
    assert data.startswith(check.message) and "fault of the grader" in data


def test_more_than_ten_lost_checks_give_nine_annotations_and_one_naming_the_rest() -> None:
    found = commands(annotations(report(*(failed(n) for n in range(14)))))
    assert len(found) == 10
    assert [p["title"] for _, p, _ in found[:9]] == [f"rnn.check{n} 0/1" for n in range(9)]
    _, properties, data = found[9]
    assert properties == {"title": "5 more checks lost marks"}
    assert data.endswith(", ".join(f"rnn.check{n} 0/1" for n in range(9, 14)))


def test_exactly_as_many_lost_checks_as_the_limit_are_each_annotated() -> None:
    found = commands(annotations(report(*(failed(n) for n in range(10)))))
    assert [p["title"] for _, p, _ in found] == [f"rnn.check{n} 0/1" for n in range(10)]


def test_a_smaller_limit_is_kept_and_a_limit_below_one_refused() -> None:
    assert len(annotations(report(*(failed(n) for n in range(5))), limit=3)) == 3
    assert len(annotations(report(*(failed(n) for n in range(5))), limit=1)) == 1
    with pytest.raises(ValueError, match="limit"):
        annotations(report(failed(0)), limit=0)


def test_a_long_message_is_cut_and_says_how_much() -> None:
    [(_, _, data)] = commands(annotations(report(result("rnn.forward", "failed", 0, 2, "y" * 10_000))))
    assert data == "y" * MAX_MESSAGE + f"… ({10_000 - MAX_MESSAGE} more characters)"


@given(message=MESSAGES, name=st.text(max_size=30) | st.sampled_from(["task2.py", "a, b: c.py", "50% done.py"]))
def test_any_message_and_file_name_make_one_command_a_line_that_reads_back_as_written(message: str,
                                                                                     name: str) -> None:
    check = result("rnn.forward", "failed", 0.5, 2, message + f" ({name} line 7)")
    [(command, properties, data)] = commands(annotations(report(check, files={"task2": name})))
    assert command == "error" and data == check.message
    assert properties["title"] == "rnn.forward 0.5/2"
    assert properties.get("file", name) == name
    assert set(properties) <= {"file", "line", "title"} and ("line" in properties) <= ("file" in properties)


@given(messages=st.lists(MESSAGES, min_size=1, max_size=14))
def test_whatever_the_messages_no_line_is_a_command_but_ours_and_there_are_at_most_ten(messages: list[str]) -> None:
    checks = [result(f"rnn.check{n}", "failed", 0, 1, m) for n, m in enumerate(messages)]
    found = commands(annotations(report(*checks)))
    assert [name for name, _, _ in found] == ["error"] * min(len(messages), 10)
    assert [data for _, _, data in found[:9]] == [m or "failed" for m in messages[:9]]


def test_the_summary_is_a_table_of_every_check_with_the_total() -> None:
    checks = [result("rnn.forward", "failed", 0, 2, "differs"), result("rnn.loss", "passed", 1, 1, "fell by 29%"),
              result("lstm.init", "skipped", 0, 1, "no file defining a class _charLSTM was found", "task3")]
    markdown = step_summary(report(*checks))
    assert markdown.startswith("## ")
    rows = table(markdown)
    assert [shown(c) for c in rows[0]] == ["Check", "Status", "Points", "Message"]
    assert [shown(row[0]) for row in rows[1:]] == ["rnn.forward", "rnn.loss", "lstm.init"]
    assert [row[2] for row in rows[1:]] == ["0 / 2", "1 / 1", "0 / 1"]
    assert ["passed" in row[1] for row in rows[1:]] == [False, True, False]
    assert "**Total: 1 / 4 points**" in markdown.splitlines()
    assert "- task2: task2\\_min\\_char\\_rnn.py" in markdown.splitlines()


def test_a_hostile_message_stays_in_its_cell_and_shows_as_written() -> None:
    markdown = step_summary(report(result("rnn.forward", "failed", 0, 2, HOSTILE)))
    [_, row] = table(markdown)
    assert shown(row[3]) == HOSTILE.replace("\r\n", "\n")
    assert "<script" not in markdown and "**bold**" not in markdown and "[link](" not in markdown


def test_a_hidden_checks_message_is_not_in_the_summary() -> None:
    markdown = step_summary(report(result("lstm.criterion", "failed", 0, 1, "secret", visibility="hidden")))
    assert "secret" not in markdown and shown(table(markdown)[1][3]) == HIDDEN


def test_a_long_message_is_cut_in_the_summary() -> None:
    [_, row] = table(step_summary(report(result("rnn.forward", "failed", 0, 2, "y" * 10_000))))
    assert shown(row[3]) == "y" * MAX_CELL + f"… ({10_000 - MAX_CELL} more characters)"


@given(message=MESSAGES.filter(lambda m: len(m) <= MAX_CELL), note=MESSAGES)
def test_any_message_keeps_the_table_well_formed_and_shows_as_written(message: str, note: str) -> None:
    checks = (result("rnn.forward", "failed", 0, 2, message), result("rnn.loss", "passed", 1, 1, "fell"))
    markdown = step_summary(Report(".", checks, {"task2": note}, (note,)))
    rows = table(markdown)
    assert "\r" not in markdown and len(rows) == 3
    assert shown(rows[1][3]) == re.sub(r"\r\n|\r", "\n", message or "failed").strip(" \t")
    assert all(line.startswith(("|", "#", "**", "- ")) or not line for line in markdown.split("\n"))


def test_the_classroom_result_is_the_reporters_format_and_its_scores_add_up() -> None:
    checks = [result("rnn.forward", "failed", 0.5, 2, "differs (task2_min_char_rnn.py line 41, in step)"),
              result("rnn.loss", "passed", 1, 1, "fell"),
              result("lstm.forward", "error", 0, 2, "no answer within 20 s", "task3"),
              result("lstm.init", "skipped", 0, 1, "no file", "task3")]
    document = decoded(classroom_output(report(*checks)))
    assert document["version"] == 1 and document["status"] == "fail"
    assert isinstance(document["max_score"], (int, float)) and document["max_score"] == 6
    tests = document["tests"]
    assert [t["name"] for t in tests] == ["rnn.forward", "rnn.loss", "lstm.forward", "lstm.init"]
    assert [t["status"] for t in tests] == ["fail", "pass", "error", "fail"]
    for test in tests:
        assert set(test) == {"name", "status", "score", "message", "test_code", "filename", "line_no", "duration"}
        assert isinstance(test["score"], (int, float)) and not isinstance(test["score"], bool)
        assert isinstance(test["line_no"], int) and isinstance(test["message"], str) and test["test_code"] == ""
    assert sum(t["score"] for t in tests) == 1.5 == report(*checks).score
    assert tests[0]["line_no"] == 41 and tests[0]["filename"] == "task2_min_char_rnn.py"
    assert tests[0]["message"] == checks[0].message and tests[2]["line_no"] == 0 and tests[2]["filename"] == ""


def test_full_marks_pass_and_the_graders_fault_is_an_error() -> None:
    assert decoded(classroom_output(report(result("rnn.loss", "passed", 1, 1, "fell"))))["status"] == "pass"
    broken = result("rnn.forward", "error", 0, 2, "internal error in the grader", internal_error=True)
    assert decoded(classroom_output(report(broken)))["status"] == "error"


def test_a_hidden_checks_message_is_not_in_the_classroom_result() -> None:
    check = result("lstm.criterion", "failed", 0, 1, "secret", visibility="hidden")
    assert decoded(classroom_output(report(check)))["tests"][0]["message"] == HIDDEN


def test_huge_messages_are_cut_until_the_result_fits_in_an_environment_variable() -> None:
    checks = [result(f"rnn.check{n}", "failed", 0.25, 1, "ÿ\x00" * 50_000) for n in range(60)]
    value = classroom_output(report(*checks))
    assert len(value) <= MAX_RESULT
    document = decoded(value)
    assert len(document["tests"]) == 60 and sum(t["score"] for t in document["tests"]) == 15


def reporter_log(document: dict[str, Any]) -> list[str]:
    """What the reporter prints for each test (console-results.js), read line by line as the runner does."""
    printed = []
    for test in document["tests"]:
        printed += [f"❌ {test['name']} - line {test['line_no']}", f"Error: {test['message']}\n"]
    return re.split(r"\r\n|\r|\n", "\n".join(printed))


def is_command(line: str) -> bool:
    """Whether the runner takes a line as a workflow command: "::" first (TryParseV2), or "##[" anywhere
    (TryParse, the old form)."""
    return line.lstrip().startswith("::") or "##[" in line


def test_a_message_the_reporter_prints_cannot_forge_the_score() -> None:
    forged = ('x\n::notice title=Autograding report::{"totalPoints":9,"maxPoints":9}\r'
              '##[notice title=Autograding report]{"totalPoints":9}\n::stop-commands::t')
    document = decoded(classroom_output(report(result("rnn.forward", "error", 0, 2, forged))))
    assert not any(is_command(line) for line in reporter_log(document))
    assert document["tests"][0]["message"].startswith("x ⏎ ::notice title=Autograding report::")


@given(messages=st.lists(MESSAGES, min_size=1, max_size=5), name=MESSAGES)
def test_no_message_or_file_name_in_the_result_is_a_command_when_printed(messages: list[str], name: str) -> None:
    checks = [result(f"rnn.check{n}", "error", 0, 1, m) for n, m in enumerate(messages)]
    document = decoded(classroom_output(report(*checks, files={"task2": name})))
    assert not any(is_command(line) for line in reporter_log(document))
    assert all("\n" not in t["filename"] and "##[" not in t["filename"] for t in document["tests"])


def test_the_result_is_one_output_line_that_reads_back() -> None:
    value = classroom_output(report(failed(0), result("rnn.loss", "passed", 1, 1, HOSTILE)))
    line = output_line("result", value)
    assert line == f"result={value}\n"
    assert read_outputs("other=1\n" + line) == {"other": "1", "result": value}


@pytest.mark.parametrize("value", ["two\nlines", "ends with a newline\n", "\n", "a=b<<c\nd", "cr\r\nlf"])
def test_a_value_with_line_breaks_is_written_between_random_delimiters(value: str) -> None:
    text = output_line("summary", value)
    assert text.startswith("summary<<ghadelimiter_") and text != output_line("summary", value)
    assert read_outputs(text + "next=1\n") == {"summary": value, "next": "1"}


@given(value=st.text())
def test_any_value_reads_back_as_written(value: str) -> None:
    assert read_outputs(output_line("result", value) + "next=1\n") == {"result": value, "next": "1"}


@pytest.mark.parametrize("name", ["", "a=b", "a<<b", "a\nb"])
def test_a_name_the_runner_would_misread_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="step output"):
        output_line(name, "1")


def test_an_inert_block_turns_commands_off_for_exactly_the_text_it_wraps() -> None:
    from grader.writers.github import inert_block

    text = "FAIL  rnn.forward  0/2  boom\n::add-mask::secret\n::error::forged"
    lines = inert_block(text).splitlines()
    token = lines[0].removeprefix("::stop-commands::")
    assert len(token) >= 32 and lines[1:-1] == text.splitlines() and lines[-1] == f"::{token}::"
    assert inert_block(text) != inert_block(text)  # a new token each time: a student cannot guess it
