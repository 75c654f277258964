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
from grader.report import render_json
from grader.rubric import Rubric


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
    assert lines[-1] == f"Total: 1/{sum(c.points for c in rubric.checks):g}"
    assert sum(line.startswith("SKIP") for line in lines) == 6  # no task 3 file in this folder


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
    assert run("check").returncode == 2


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
