"""The CI files in examples/ are valid YAML wired as their platforms read them: the step that grades feeds
the reporter that reads it, and nothing loosens the torch pin."""

from __future__ import annotations

import re

import yaml

from conftest import ROOT

EXAMPLES = ROOT / "examples"


def test_the_github_classroom_workflow_feeds_the_grading_reporter_the_grader_s_result() -> None:
    flow = yaml.safe_load((EXAMPLES / "github-classroom.yml").read_text())
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
    job = yaml.safe_load((EXAMPLES / "gitlab-ci.yml").read_text())["lab5"]
    grading = next(line for line in job["script"] if line.startswith("grader check"))
    written = re.search(r"--format junit.*> (\S+)$", grading)
    assert written and job["artifacts"]["reports"]["junit"] == written[1] and job["artifacts"]["when"] == "always"


def test_no_example_installs_torch_on_its_own_terms() -> None:
    for example in EXAMPLES.glob("*.yml"):
        text = example.read_text()
        assert not re.search(r"\btorch\s*(==|>=|<|~=)", text), example.name  # the package's own pin applies
        assert "download.pytorch.org/whl/cpu" in text, example.name
