"""The pytest plugin, run as CI runs it: `pytest --lab5 PATH` is one test item per check, named by its id,
with the check's words on failure and its score in JUnit XML; without --lab5 a pytest run is unaffected."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import FIXTURES
from grader.pytest_plugin import GRADER_FAULT, HIDDEN, failure_text
from grader.report import CheckResult
from grader.rubric import Rubric

TEXT = FIXTURES.parent / "textData.txt"
TINY = '''
import sys


def test_the_plugin_is_loaded_but_has_imported_nothing_heavy(request):
    assert request.config.pluginmanager.has_plugin("grader.pytest_plugin")
    assert not {"grader.pipeline", "grader.rubric", "torch"} & set(sys.modules)


def test_another_one():
    assert True
'''


def pytest_in(folder: Path, *args: str, plugin: str | None = "grader.pytest_plugin",
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """A pytest run in `folder` with a config of its own (the project's addopts and filterwarnings stay out),
    the plugin loaded by -p (its entry point may not be installed) and no other plugin loaded on its own."""
    (folder / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    loading = ["-p", plugin] if plugin else []
    if plugin:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # else an installed entry point registers it a second time
    command = [sys.executable, "-m", "pytest", *loading, "-p", "no:cacheprovider", "-c", str(folder / "pytest.ini"),
               "--rootdir", str(folder), *args]
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=timeout)


def lab5(folder: Path, case: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return pytest_in(folder, "--lab5", str(FIXTURES / case), *args, timeout=timeout)


def test_each_check_is_an_item_named_by_its_id_in_rubric_order(tmp_path: Path, rubric: Rubric) -> None:
    done = lab5(tmp_path, "answers_natural", "--collect-only", "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    collected = [line for line in done.stdout.splitlines() if line.startswith("lab5::")]
    assert collected == [f"lab5::{c.id}" for c in rubric.checks]
    assert "lab5: not graded (no check was run)" in done.stdout


def test_with_lab5_the_test_paths_given_are_not_collected(tmp_path: Path, rubric: Rubric) -> None:
    (tmp_path / "test_tiny.py").write_text("raise SystemExit('imported')\n", encoding="utf-8")
    done = lab5(tmp_path, "answers_natural", "test_tiny.py", "--collect-only", "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(rubric.checks)} tests collected" in done.stdout and "test_tiny" not in done.stdout


def test_answers_alone_pass_their_check_and_skip_the_others(tmp_path: Path, rubric: Rubric) -> None:
    done = lab5(tmp_path, "answers_natural", "-q", "-rA")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASSED lab5::answers.weight_counts" in done.stdout
    assert f"1 passed, {len(rubric.checks) - 1} skipped" in done.stdout
    total = sum(c.points for c in rubric.checks)
    assert f"lab5: 2/{total:g} points" in done.stdout
    skips = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert skips and all("answers_natural: no file defining" in line for line in skips)  # not the plugin's line
    assert "pytest_plugin" not in done.stdout


def test_a_failed_check_fails_its_item_with_the_check_message_and_no_traceback(tmp_path: Path) -> None:
    done = lab5(tmp_path, "answers_no_bias", "-q", "-rA")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED lab5::answers.weight_counts" in done.stdout and "1 failed, 10 skipped" in done.stdout
    assert "for n=3, h=2 your RNN formula gives 10; the network has 12" in done.stdout
    assert "\nmost likely: the biases left out of the count" in done.stdout
    assert "\nfailed: 0/2 points" in done.stdout and "lab5: 0/16 points" in done.stdout
    assert "Traceback" not in done.stdout and "pytest_plugin" not in done.stdout


def test_junit_xml_carries_each_check_score_as_properties(tmp_path: Path, rubric: Rubric) -> None:
    done = lab5(tmp_path, "answers_no_bias", "-q", "--junitxml", str(tmp_path / "junit.xml"))
    assert done.returncode == 1, done.stdout + done.stderr
    cases = {case.get("name"): case for case in ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")}
    assert list(cases) == [c.id for c in rubric.checks]
    for check in rubric.checks:
        properties = {p.get("name"): p.get("value") for p in cases[check.id].iter("property")}
        assert cases[check.id].get("classname") == "lab5"
        assert properties == {"score": "0.0", "max_score": str(float(check.points))}
    failure = cases["answers.weight_counts"].find("failure")
    assert failure is not None and "your RNN formula gives 10" in (failure.text or "")


def test_keyword_selection_grades_only_the_selected_checks(tmp_path: Path, rubric: Rubric) -> None:
    done = lab5(tmp_path, "answers_natural", "-q", "-k", "answers")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"1 passed, {len(rubric.checks) - 1} deselected" in done.stdout
    assert f"lab5: 2/2 points (1 of {len(rubric.checks)} checks selected)" in done.stdout


def test_a_hidden_check_fails_without_saying_what_it_found(tmp_path: Path) -> None:
    rubric = tmp_path / "hidden.yaml"
    rubric.write_text(f"text: {TEXT}\nchecks:\n  answers.weight_counts:\n    visibility: hidden\n", encoding="utf-8")
    done = lab5(tmp_path, "answers_no_bias", "-q", "--lab5-rubric", str(rubric))
    assert done.returncode == 1, done.stdout + done.stderr
    assert HIDDEN in done.stdout and "your RNN formula" not in done.stdout and "lab5: 0/2 points" in done.stdout


def test_a_missing_submission_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    done = pytest_in(tmp_path, "--lab5", str(tmp_path / "nowhere"))
    assert done.returncode == pytest.ExitCode.USAGE_ERROR
    assert f"--lab5: {tmp_path / 'nowhere'}: no such file or folder" in done.stderr


def test_an_invalid_rubric_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(f"text: {TEXT}\nchecks:\n  rnn.forwards: {{}}\n", encoding="utf-8")
    done = lab5(tmp_path, "answers_natural", "--lab5-rubric", str(tmp_path / "bad.yaml"))
    assert done.returncode == pytest.ExitCode.USAGE_ERROR
    assert "--lab5-rubric: " in done.stderr and "bad.yaml" in done.stderr and "rnn.forward" in done.stderr


def test_a_rubric_without_a_submission_is_a_usage_error(tmp_path: Path) -> None:
    done = pytest_in(tmp_path, "--lab5-rubric", "grader.yaml")
    assert done.returncode == pytest.ExitCode.USAGE_ERROR and "--lab5-rubric needs --lab5 PATH" in done.stderr


def test_without_lab5_a_run_collects_its_own_tests_as_before(tmp_path: Path) -> None:
    (tmp_path / "test_tiny.py").write_text(TINY, encoding="utf-8")
    done = pytest_in(tmp_path, "-q", "-rA")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASSED test_tiny.py::test_another_one" in done.stdout and "2 passed" in done.stdout
    assert "lab5" not in done.stdout


def test_a_grader_that_breaks_fails_each_item_saying_it_is_its_own_fault(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text("import grader.pipeline\n\n\ndef broken(*args, **kwargs):\n"
                                          "    raise KeyError('hs')\n\n\ngrader.pipeline.grade = broken\n",
                                          encoding="utf-8")
    done = lab5(tmp_path, "answers_natural", "-q", "-rA", "-k", "answers")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED lab5::answers.weight_counts" in done.stdout
    assert f"internal error in the grader: KeyError: 'hs'\nerror: 0/2 points\n{GRADER_FAULT}" in done.stdout
    assert "Captured grader traceback" in done.stdout and "the grader failed on some checks" in done.stdout


def test_an_internal_error_says_it_is_the_graders_fault() -> None:
    check = CheckResult("rnn.forward", "task2", "error", 0, 2, "internal error in the grader: KeyError: 'hs'",
                        internal_error=True)
    assert failure_text(check) == f"internal error in the grader: KeyError: 'hs'\nerror: 0/2 points\n{GRADER_FAULT}"


def test_what_the_grader_added_to_a_message_gets_lines_of_its_own() -> None:
    check = CheckResult("rnn.forward", "task2", "failed", 0, 2, "hs[0] differs: max abs error 0.18 at [0, 0]; "
                        "smallest failing example: n=2, h=1; most likely: no bias [rnn.missing_bias]")
    assert failure_text(check).splitlines() == ["hs[0] differs: max abs error 0.18 at [0, 0]",
                                                "smallest failing example: n=2, h=1",
                                                "most likely: no bias [rnn.missing_bias]", "failed: 0/2 points"]


def test_the_entry_point_once_installed_loads_this_plugin(tmp_path: Path) -> None:
    points = importlib.metadata.entry_points(group="pytest11", name="lab5")
    if not points:
        pytest.skip("the lab5 entry point is not installed (pyproject.toml's pytest11 group; pip install -e .)")
    assert [p.value for p in points] == ["grader.pytest_plugin"]
    done = pytest_in(tmp_path, "--lab5", str(FIXTURES / "answers_natural"), "-q", plugin=None)
    assert done.returncode == 0 and "lab5: 2/" in done.stdout, done.stdout + done.stderr


@pytest.mark.slow
def test_the_solved_submission_passes_every_item_with_full_marks(tmp_path: Path, rubric: Rubric) -> None:
    done = lab5(tmp_path, "solved", "-q", "-rA", timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(rubric.checks)} passed" in done.stdout
    assert all(f"PASSED lab5::{c.id}" in done.stdout for c in rubric.checks)
    total = sum(c.points for c in rubric.checks)
    assert f"lab5: {total:g}/{total:g} points" in done.stdout
