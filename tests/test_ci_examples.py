"""The CI files in examples/ are valid YAML wired as their platforms read them: the step that grades feeds
the reporter that reads it, the maintainers' matrix tests every system, and nothing loosens the torch pin."""

from __future__ import annotations

import re

import yaml

from conftest import ROOT

EXAMPLES = ROOT / "examples"


def test_the_github_classroom_workflow_feeds_the_grading_reporter_the_grader_s_result() -> None:
    flow = yaml.safe_load((EXAMPLES / "github-classroom.yml").read_text(encoding="utf-8"))
    assert flow["permissions"] == {"checks": "write", "actions": "read", "contents": "read"}
    steps = flow["jobs"]["grade"]["steps"]
    grade = next(s for s in steps if s.get("id") == "grade")
    assert grade["run"].split()[:3] == ["grader", "check", "."] and "--format github" in grade["run"]
    reporter = next(s for s in steps if str(s.get("uses", "")).startswith("classroom-resources/"))
    assert reporter["uses"] == "classroom-resources/autograding-grading-reporter@v1"
    runners = reporter["with"]["runners"].split(",")
    # the reporter reads each runner's result from the variable <RUNNER>_RESULTS
    assert {f"{r.upper()}_RESULTS": f"${{{{ steps.{r}.outputs.result }}}}" for r in runners} == reporter["env"]


def test_the_gitlab_job_reports_the_junit_file_it_writes() -> None:
    job = yaml.safe_load((EXAMPLES / "gitlab-ci.yml").read_text(encoding="utf-8"))["lab5"]
    grading = next(line for line in job["script"] if line.startswith("grader check"))
    written = re.search(r"--format junit.*> (\S+)$", grading)
    assert written and job["artifacts"]["reports"]["junit"] == written[1] and job["artifacts"]["when"] == "always"


def test_the_test_matrix_runs_the_suite_with_python_3_11_on_linux_macos_and_windows() -> None:
    job = yaml.safe_load((EXAMPLES / "github-test-matrix.yml").read_text(encoding="utf-8"))["jobs"]["test"]
    assert job["strategy"]["fail-fast"] is False  # one system's failure must not cancel the others
    assert sorted(job["strategy"]["matrix"]["os"]) == ["macos-latest", "ubuntu-latest", "windows-latest"]
    assert job["runs-on"] == "${{ matrix.os }}"
    assert job["defaults"]["run"]["shell"] == "bash"  # the same commands on Windows
    setup = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/setup-python@"))
    assert str(setup["with"]["python-version"]) == "3.11"
    runs = [s for s in job["steps"] if "run" in s]
    assert any('-e ".[test]"' in s["run"] for s in runs)
    test = next(s for s in runs if "pytest" in s["run"])
    assert test["run"].split()[:3] == ["python", "-m", "pytest"] and test["env"]["HYPOTHESIS_PROFILE"] == "ci"


def test_no_example_installs_torch_on_its_own_terms() -> None:
    for example in EXAMPLES.glob("*.yml"):
        text = example.read_text(encoding="utf-8")
        assert not re.search(r"\btorch\s*(==|>=|<|~=)", text), example.name  # the package's own pin applies
        assert "download.pytorch.org/whl/cpu" in text, example.name
