"""The command line: reports, formats, exit codes; the same submission, the same JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT
from grader import cli, grade
from grader.errors import InternalError
from grader.rubric import Rubric
from grader.writers.json import render_json


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)


@pytest.mark.slow
def test_json_report_is_the_only_thing_on_stdout() -> None:
    done = run("check", str(FIXTURES / "hostile"), "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report) >= {"submission", "score", "max_score", "checks"}
    by_id = {c["id"]: c for c in report["checks"]}
    assert by_id["rnn.forward"]["status"] == "failed" and report["score"] < report["max_score"]
    for c in report["checks"]:
        assert set(c) >= {"id", "task", "status", "score", "max_score", "message"}
        assert c["status"] in ("passed", "failed", "error", "skipped")
    assert not list(ROOT.rglob("HOSTILE_WAS_HERE"))


@pytest.mark.slow
def test_grading_twice_gives_identical_json(rubric: Rubric) -> None:
    first = render_json(grade(FIXTURES / "rnn_sigmoid", rubric))
    assert render_json(grade(FIXTURES / "rnn_sigmoid", rubric)) == first


@pytest.mark.slow
def test_text_report_has_a_line_per_check_and_the_total(rubric: Rubric) -> None:
    done = run("check", str(FIXTURES / "rnn_missing_bias"))
    lines = done.stdout.splitlines()
    for c in rubric.checks:
        assert any(c.id in line for line in lines)
    assert lines[-2] == f"Total: 1/{sum(c.points for c in rubric.checks):g}" and lines[-1].startswith("Next: fix ")
    assert sum(line.startswith("SKIP") for line in lines) == 7  # no task 3 file, no answers in this folder


def test_a_missing_task_file_skips_its_checks_with_a_reason(tmp_path: Path, rubric: Rubric) -> None:
    (tmp_path / "readme.py").write_text("print('no lab here')\n")
    report = grade(tmp_path, rubric)
    assert {c.status for c in report.checks} == {"skipped"}
    assert "no file defining a function lossFun was found (looked at: readme.py)" in report.checks[0].message
    assert report.score == 0 and report.max_score == sum(c.points for c in rubric.checks)


def test_usage_and_rubric_errors_exit_2(tmp_path: Path) -> None:
    missing = run("check", str(tmp_path / "nothing"))
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr and missing.stdout == ""
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"text: {ROOT / 'fixtures' / 'textData.txt'}\nchecks: {{rnn.forwad: {{points: 1}}}}\n")
    wrong = run("check", str(FIXTURES / "solved"), "--rubric", str(bad))
    assert wrong.returncode == 2 and "checks.rnn.forwad: unknown check (did you mean 'rnn.forward'" in wrong.stderr
    assert run("check", str(FIXTURES / "solved"), "--format", "xml").returncode == 2


def test_an_internal_error_exits_3(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def broken(*args: object) -> None:
        raise InternalError("the fork server did not start")

    monkeypatch.setattr(cli, "grade", broken)
    assert cli.main(["check", str(FIXTURES / "solved")]) == 3
    assert "internal error: the fork server did not start" in capsys.readouterr().err


def test_a_grader_bug_outside_any_check_exits_3_with_the_traceback(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def broken(*args: object) -> None:
        raise AttributeError("'NoneType' object has no attribute 'checks'")

    monkeypatch.setattr(cli, "grade", broken)
    assert cli.main(["check", str(FIXTURES / "solved")]) == 3
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" in err and "AttributeError" in err


@pytest.mark.parametrize("args,words", [
    (["batch", "nowhere.zip", "--out", "OUT"], "nowhere.zip: no such file or folder"),
    (["batch", "CLASS", "--out", "OUT", "--shard", "3/2"], "must be K/N with 1 <= K <= N, got '3/2'"),
    (["batch", "CLASS", "--out", "OUT", "-j", "0"], "must be a whole number >= 1, got '0'"),
    (["batch", "CLASS", "--out", "OUT", "--worksheet", "missing.csv"], "missing.csv: no such file"),
    (["export", "OUT", "--worksheet", "missing.csv"], "missing.csv: cannot read the grading worksheet"),
])
def test_class_commands_refuse_bad_input_with_exit_2_and_a_message_naming_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], words: str) -> None:
    (tmp_path / "CLASS").mkdir()
    (tmp_path / "OUT" / "reports").mkdir(parents=True)
    paths = [str(tmp_path / a) if a in ("CLASS", "OUT", "nowhere.zip") else a for a in args]
    try:
        status: object = cli.main(paths)
    except SystemExit as e:  # argparse's own refusal
        status = e.code
    assert status == 2
    assert words in capsys.readouterr().err


def test_an_empty_class_writes_empty_exports_and_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "class").mkdir()
    assert cli.main(["batch", str(tmp_path / "class"), "--out", str(tmp_path / "out")]) == 0
    assert "0 students: 0 graded" in capsys.readouterr().out
    assert (tmp_path / "out" / "results.csv").read_text().startswith("id,name,")


def test_init_writes_the_starter_files_and_keeps_a_students_own(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "answers.yaml").write_text("q2_rnn_weights: mine\n")
    assert cli.main(["init", str(tmp_path / "lab")]) == 0
    names = sorted(p.name for p in (tmp_path / "lab").iterdir())
    assert names == ["answers.yaml", "task2_min_char_rnn.py", "task3_min_char_lstm.py", "textData.txt"]
    assert (tmp_path / "lab" / "answers.yaml").read_text() == "q2_rnn_weights: mine\n"
    assert (tmp_path / "lab" / "task2_min_char_rnn.py").read_bytes() == \
        (ROOT / "submissions_template" / "task2_min_char_rnn.py").read_bytes()
    assert "kept your own answers.yaml" in capsys.readouterr().err


@pytest.mark.parametrize("case, under, status", [
    ("answers_natural", "2", 0), ("answers_natural", "2.5", 1), ("answers_missing_factor_4", "1", 0),
    ("answers_missing_factor_4", "1.5", 1)])
def test_fail_under_exits_1_below_the_points_and_0_at_or_above(case: str, under: str, status: int) -> None:
    done = run("check", str(FIXTURES / case), "--task", "answers", "--fail-under", under)
    assert done.returncode == status, done.stderr
    assert done.stdout.rstrip().splitlines()[-2].startswith("Total: ")  # the report comes first either way
    assert ("below --fail-under" in done.stderr) == (status == 1)


def test_fail_under_leaves_usage_errors_at_2(tmp_path: Path) -> None:
    assert run("check", str(tmp_path / "missing"), "--fail-under", "1").returncode == 2


def test_task_grades_one_part_only_and_no_path_means_this_folder(tmp_path: Path) -> None:
    (tmp_path / "answers.yaml").write_text('q2_rnn_weights: "h(n+h+1)"\nq2_lstm_weights: "4h(n+h+2)"\n')
    done = subprocess.run([sys.executable, "-m", "grader", "check", "--task", "answers", "--format", "json"],
                          cwd=tmp_path, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)})
    report = json.loads(done.stdout)
    assert report["submission"] == "." and [c["id"] for c in report["checks"]] == ["answers.weight_counts"]
    assert (report["score"], report["max_score"]) == (2, 2)


def test_junit_and_gradescope_formats_are_the_only_thing_on_stdout() -> None:
    import xml.etree.ElementTree as ET

    junit = run("check", str(FIXTURES / "answers_no_bias"), "--task", "answers", "--format", "junit")
    suite = ET.fromstring(junit.stdout.encode()).find("testsuite")
    assert suite is not None and suite.get("failures") == "1"
    gradescope = json.loads(run("check", str(FIXTURES / "answers_no_bias"), "--task", "answers",
                                "--format", "gradescope").stdout)
    assert gradescope["tests"][0]["name"] == "answers.weight_counts" and gradescope["score"] == 0
    assert isinstance(gradescope["execution_time"], int) and gradescope["execution_time"] >= 0


def test_github_format_reads_as_text_with_commands_off_then_annotations_and_fills_summary_and_output(
        tmp_path: Path) -> None:
    import base64
    import os

    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output)}
    done = subprocess.run([sys.executable, "-m", "grader", "check", str(FIXTURES / "answers_no_bias"), "--task",
                           "answers", "--format", "github"], capture_output=True, text=True, cwd=ROOT, env=env)
    lines = done.stdout.splitlines()
    token = lines[0].removeprefix("::stop-commands::")
    assert token != lines[0] and lines.index(f"::{token}::") == len(lines) - 2  # the text report, inert
    assert lines[-1].startswith("::error file=answers.yaml,line=1,title=answers.weight_counts 0/2::")
    assert "| answers.weight\\_counts |" in summary.read_text()
    name, value = output.read_text().rstrip("\n").split("=", 1)
    assert name == "result" and json.loads(base64.b64decode(value))["status"] == "fail"


def test_gradescope_bundle_writes_the_autograder_zip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import zipfile

    assert cli.main(["gradescope-bundle", "--out", str(tmp_path / "autograder.zip")]) == 0
    with zipfile.ZipFile(tmp_path / "autograder.zip") as z:
        assert {"setup.sh", "run_autograder", "source/pyproject.toml"} <= set(z.namelist())
    assert "upload it as the assignment's autograder" in capsys.readouterr().out
    (tmp_path / "a file").write_text("")
    assert cli.main(["gradescope-bundle", "--out", str(tmp_path / "a file" / "a.zip")]) == 2
