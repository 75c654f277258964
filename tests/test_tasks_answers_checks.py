"""Part 1 question 2 (answers.weight_counts): counts written as formulas, marked as polynomials, the
slip behind a wrong one named, and nothing a student writes ever run."""

from __future__ import annotations

import builtins
import re
import os
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT
from grader import grade
from grader.errors import RubricError
from grader.export import rescored
from grader.mistakes import CATALOG
from grader.report import CheckResult
from grader.rubric import Rubric, load_rubric

CHECK = "answers.weight_counts"


def answered(folder: Path, rnn: str, lstm: str, rubric: Rubric | None = None, **free: str) -> CheckResult:
    lines = [f"q2_rnn_weights: {rnn}", f"q2_lstm_weights: {lstm}", *(f"{k}: {v}" for k, v in free.items())]
    folder.mkdir(exist_ok=True)
    (folder / "answers.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return result(folder, rubric)


def result(path: Path, rubric: Rubric | None = None) -> CheckResult:
    report = grade(path, rubric or load_rubric(ROOT / "grader.yaml"))
    return next(c for c in report.checks if c.id == CHECK)


@pytest.mark.parametrize("rnn, lstm", [
    ("h(n+h+1)", "4h(n + h + 1)"),
    ("n*h + h^2 + h", "4*(n*h + h**2 + h)"),
    ("h*n+h*h+h", "4 * h * (n + h + 2)"),
    ("H(N+H+1)", "4h×(n+h+1)"),
    ('"h² + nh + h"', "h·(n+h+1)·4"),
    ('"h·(n+h+1)"', "4h(n+h+1) = 4nh + 4h² + 4h"),
    ("'$h(n+h+1)$'", "'4h\\cdot(n+h+2)'"),
])
def test_counts_written_the_ways_students_write_them_are_right(tmp_path: Path, rnn: str, lstm: str) -> None:
    got = answered(tmp_path, rnn, lstm)
    assert (got.status, got.score, got.max_score) == ("passed", 2, 2), got.message
    assert got.details["parts"] == {"rnn": True, "lstm": True} and got.diagnosis is None


@pytest.mark.parametrize("rnn, lstm, slip, shown", [
    ("h(n+h)", "4h(n+h)", "answers.no_bias", "for n=3, h=2 your RNN formula gives 10; the network has 12"),
    ("h(n+h+1) + n(h+1)", "4h(n+h+1) + n*h + n", "answers.output_layer_counted",
     "for n=3, h=2 your RNN formula gives 21; the network has 12"),
    ("h(n+h+1)", "h(n+h+1)", "answers.missing_factor_4",
     "for n=3, h=2 your LSTM formula gives 12; the network has 48 or 56"),
    ("nh + h", "4h(n+1)", "answers.missing_recurrent", "for n=3, h=2 your RNN formula gives 8"),
    ("4h(n+h+2)", "h(n+h+1)", "answers.swapped", "for n=3, h=2 your RNN formula gives 56"),
])
def test_a_known_slip_is_explained_with_numbers_and_named(tmp_path: Path, rnn: str, lstm: str, slip: str,
                                                          shown: str) -> None:
    got = answered(tmp_path, rnn, lstm)
    assert got.status == "failed" and got.diagnosis == slip
    assert shown in got.message and f"answers.yaml line {1 if 'RNN' in shown else 2}" in got.message
    assert got.message.endswith(f"most likely: {CATALOG[slip].words} [{slip}]")


def test_each_part_earns_its_own_points_and_only_both_pass(tmp_path: Path) -> None:
    got = answered(tmp_path, "h(n+h+1)", "4h(n+h)")
    assert (got.status, got.score, got.max_score) == ("failed", 1, 2)
    assert got.details["parts"] == {"rnn": True, "lstm": False}
    assert got.message.startswith("RNN count h(n+h+1) right; answers.yaml line 2: for n=3, h=2 your LSTM")


def test_reweighting_a_part_rescores_stored_results_without_reading_answers_again(tmp_path: Path) -> None:
    got = answered(tmp_path, "h(n+h+1)", "4h(n+h)")
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text(f"text: {ROOT / 'fixtures' / 'textData.txt'}\n"
                      f"checks:\n  {CHECK}: {{rnn_points: 3, lstm_points: 2}}\n")
    report = grade(tmp_path, load_rubric(ROOT / "grader.yaml"))
    (again,) = rescored(report, load_rubric(rubric)).checks
    assert (again.score, again.max_score, again.status) == (3, 5, got.status)


def test_the_accepted_counts_come_from_the_rubric(tmp_path: Path) -> None:
    """A course whose question includes an output layer says so in grader.yaml, not in code."""
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text(f"text: {ROOT / 'fixtures' / 'textData.txt'}\n"
                      f"checks:\n  {CHECK}:\n    rnn: ['h(n+h+1) + n(h+1)']\n    lstm: ['4h(n+h+1) + n(h+1)']\n")
    got = answered(tmp_path / "s", "h(n+h+1) + n(h+1)", "4h(n+h+1)+nh+n", load_rubric(rubric))
    assert got.status == "passed", got.message


@pytest.mark.parametrize("body, said", [
    ("rnn: [h(n+h+1)]\n    lstm: ['4h(', '4h']", "4h(': not a formula"),
    ("rnn: 'h(n+h+1)'", "must be a list of formulas"),
    ("points: 3", "points: must equal rnn_points + lstm_points (2)"),
])
def test_a_rubric_with_a_bad_formula_or_inconsistent_points_is_refused(tmp_path: Path, body: str, said: str) -> None:
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text(f"text: {ROOT / 'fixtures' / 'textData.txt'}\nchecks:\n  {CHECK}:\n    {body}\n")
    with pytest.raises(RubricError, match=f"checks.{CHECK}.*{re.escape(said)}"):
        load_rubric(rubric)


@pytest.mark.parametrize("text, status, said", [
    ('q2_rnn_weights: "h(n+h+1)"\nq1: Sequence tasks: text\nq2_lstm_weights: "4h(n+h+1)"\n', "error",
     "answers.yaml line 2: not valid YAML"),
    ("- q2_rnn_weights: h(n+h+1)\n- q2_lstm_weights: 4h(n+h+1)\n", "error",
     "answers.yaml line 1: expected 'key: answer' lines as in the starter answers.yaml, found a list"),
    ('q2_rnn_weights: "h(n+h+1)"\nq3: gradients\n', "error", "answers.yaml has no key q2_lstm_weights"),
    ('q2_rnn_weights: 12\nq2_lstm_weights: ""\n', "failed", "q2_rnn_weights is the number 12"),
    ('q2_rnn_weights: [h, n]\nq2_lstm_weights: ""\n', "failed", "no answer given for q2_lstm_weights"),
])
def test_a_broken_answers_file_is_named_with_its_line(tmp_path: Path, text: str, status: str, said: str) -> None:
    (tmp_path / "answers.yaml").write_text(text)
    got = result(tmp_path)
    assert got.status == status and said in got.message, got.message


def test_a_missing_key_costs_only_its_own_part(tmp_path: Path) -> None:
    (tmp_path / "answers.yaml").write_text('q2_rnn_weights: "h(n+h+1)"\n')
    got = result(tmp_path)
    assert (got.status, got.score) == ("error", 1)


def test_no_answers_file_is_skipped_saying_what_to_hand_in(tmp_path: Path) -> None:
    (tmp_path / "notes.yaml").write_text("title: my lab\n")
    got = result(tmp_path)
    assert got.status == "skipped" and "answers.yaml" in got.message and "q2_rnn_weights" in got.message


def test_the_answers_file_is_found_by_its_keys_in_a_zip_whatever_its_name(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "lab5.zip", "w") as z:
        z.writestr("Lab 5/Part 1 - my answers.YML", 'q2_rnn_weights: "h(n+h+1)"\nq2_lstm_weights: "4h(n+h+2)"\n')
        z.writestr("Lab 5/config.yaml", "epochs: 3\n")
    report = grade(tmp_path / "lab5.zip", load_rubric(ROOT / "grader.yaml"))
    assert report.files["answers"] == "lab5.zip:Lab 5/Part 1 - my answers.YML"
    assert next(c for c in report.checks if c.id == CHECK).status == "passed"


def test_the_free_text_answers_are_kept_for_the_tutor_not_scored(tmp_path: Path) -> None:
    got = answered(tmp_path, "h(n+h+1)", "4h(n+h+1)", q1='"sequences"', q3='"vanishing gradients"', q4="x * 3 = 3x")
    assert got.details["answers"] == {"q2_rnn_weights": "h(n+h+1)", "q2_lstm_weights": "4h(n+h+1)",
                                      "q1": "sequences", "q3": "vanishing gradients", "q4": "x * 3 = 3x"}
    assert got.score == 2


def test_hostile_answers_fail_fast_and_run_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An injection string and a 100 KB formula are 'not a formula'; grading them starts no process, opens
    no file for writing, and (since nothing else needs one) starts no sandbox."""
    pwned = tmp_path / "pwned"
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "answers.yaml").write_text(
        f"q2_rnn_weights: \"__import__('os').system('touch {pwned}')\"\n"
        f"q2_lstm_weights: \"{'(n+h)*' * 20_000}h\"\n")
    rubric = load_rubric(ROOT / "grader.yaml")
    calls: list[str] = []
    real_open = builtins.open

    def refused(name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            raise AssertionError(f"{name} called")
        return call

    def reading_only(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if any(c in mode for c in "wax+"):
            calls.append(f"open({file!r}, {mode!r})")
        return real_open(file, mode, *args, **kwargs)

    for module, name in ((os, "fork"), (os, "system"), (os, "posix_spawn"), (subprocess, "Popen"),
                         (builtins, "eval"), (builtins, "exec")):
        monkeypatch.setattr(module, name, refused(name))
    monkeypatch.setattr(builtins, "open", reading_only)
    monkeypatch.setattr("grader.pipeline.Sandbox", refused("Sandbox"))
    got = result(tmp_path / "s", rubric)
    monkeypatch.undo()
    assert calls == [] and not pwned.exists()
    assert got.status == "failed" and got.score == 0
    assert "line 1: q2_rnn_weights: not a formula" in got.message
    assert "line 2: q2_lstm_weights: " in got.message and "200 characters" in got.message
    assert len(got.details["answers"]["q2_lstm_weights"]) < 2100  # the report keeps a bounded piece
