"""Every fixture submission grades exactly as its expected.yaml says."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import FIXTURES
from grader import grade
from grader.rubric import Rubric

CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "expected.yaml").is_file())


def expected_statuses(case: Path, rubric: Rubric) -> dict[str, str]:
    spec = yaml.safe_load((case / "expected.yaml").read_text())
    wanted = {check: status for status in ("passed", "failed", "error") for check in spec.get(status, [])}
    unknown = set(wanted) - {c.id for c in rubric.checks}
    assert not unknown, f"{case.name}/expected.yaml names unknown checks {unknown}"
    return {c.id: wanted.get(c.id, "skipped") for c in rubric.checks}


def test_there_are_a_solved_case_and_at_least_eight_rnn_mistakes() -> None:
    assert "solved" in CASES
    assert len([c for c in CASES if c.startswith("rnn_")]) >= 8


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_fixture_grades_as_expected(case: str, rubric: Rubric) -> None:
    report = grade(FIXTURES / case, rubric)
    got = {c.id: c.status for c in report.checks}
    messages = "\n".join(f"{c.id}: {c.status}: {c.message}" for c in report.checks)
    assert got == expected_statuses(FIXTURES / case, rubric), messages
    for c in report.checks:
        assert c.message, f"{c.id} gives no message"
        assert c.score == (c.max_score if c.status == "passed" else 0)
