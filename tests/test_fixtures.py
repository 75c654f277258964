"""Every fixture submission grades exactly as its expected.yaml says: each check's status, and the
known mistake (grader.mistakes) every failed check names, or none at all."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import pytest
import psutil
import yaml

from conftest import FIXTURES, ROOT
from grader import grade
from grader.mistakes import CATALOG
from grader.report import Report
from grader.rubric import Rubric
from grader.sandbox import BACKENDS, Sandbox

CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "expected.yaml").is_file())
LSTM_CHECKS = ["lstm.init", "lstm.forward", "lstm.gradcheck", "lstm.criterion", "lstm.state_carry",
               "lstm.loss_decrease"]


def expected_statuses(case: Path, rubric: Rubric) -> dict[str, str]:
    spec = yaml.safe_load((case / "expected.yaml").read_text())
    wanted = {check: status for status in ("passed", "failed", "error") for check in spec.get(status, [])}
    unknown = set(wanted) - {c.id for c in rubric.checks}
    assert not unknown, f"{case.name}/expected.yaml names unknown checks {unknown}"
    return {c.id: wanted.get(c.id, "skipped") for c in rubric.checks}


def expected_diagnosis(case: Path) -> str | None:
    """The catalog id every failed or erroneous check of the case names; None: no check names one."""
    diagnosis = yaml.safe_load((case / "expected.yaml").read_text()).get("diagnosis")
    assert diagnosis is None or diagnosis in CATALOG, f"{case.name}/expected.yaml: unknown mistake {diagnosis}"
    return diagnosis


def statuses(report: Report) -> dict[str, str]:
    return {c.id: c.status for c in report.checks}


def test_there_are_enough_cases_of_every_kind(rubric: Rubric) -> None:
    assert "solved" in CASES
    assert len([c for c in CASES if c.startswith("rnn_")]) >= 8
    lstm = {c: expected_statuses(FIXTURES / c, rubric) for c in CASES if c.startswith("lstm_")}
    correct = [c for c, s in lstm.items() if all(s[k] == "passed" for k in LSTM_CHECKS)]
    assert len(correct) >= 5 and len(lstm) - len(correct) >= 12


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES)
def test_fixture_grades_as_expected(case: str, backend: str, rubric: Rubric, graded: Callable[..., Report]) -> None:
    report = graded(case, backend)
    messages = "\n".join(f"{c.id}: {c.status}: {c.message}" for c in report.checks)
    assert statuses(report) == expected_statuses(FIXTURES / case, rubric), messages
    assert not report.internal_error, messages  # a submission never makes the grader fail
    for c in report.checks:
        assert c.message, f"{c.id} gives no message"
        config = rubric.config(c.id)
        right = [part for part, ok in (c.details.get("parts") or {}).items() if ok] if config.marks else []
        assert c.score == (c.max_score if c.status == "passed" else sum(config.params[f"{p}_points"] for p in right))
    diagnosis = expected_diagnosis(FIXTURES / case)
    named = {c.id: c.diagnosis for c in report.checks}
    assert named == {c.id: diagnosis if c.status in ("failed", "error") else None for c in report.checks}, messages
    if diagnosis:
        assert all(CATALOG[diagnosis].words in c.message for c in report.checks if c.diagnosis), messages


def test_every_mistake_in_the_catalog_has_a_fixture_that_shows_it() -> None:
    shown = {expected_diagnosis(FIXTURES / case) for case in CASES}
    assert set(CATALOG) <= shown, f"no fixture shows {sorted(set(CATALOG) - shown)}"


@pytest.mark.slow
def test_unfilled_criterion_keeps_lstm_forward_marks(graded: Callable[[str], Report]) -> None:
    got = statuses(graded("lstm_blank_criterion"))
    assert [got[k] for k in ("lstm.init", "lstm.forward", "lstm.gradcheck")] == ["passed"] * 3
    assert got["lstm.criterion"] == "error"


@pytest.mark.slow
@pytest.mark.parametrize("case,affected", [
    ("lstm_exit_in_forward", {"lstm.forward", "lstm.gradcheck", "lstm.state_carry", "lstm.loss_decrease"}),
    ("lstm_os_exit_in_init", {"lstm.init", "lstm.forward", "lstm.gradcheck", "lstm.state_carry",
                              "lstm.loss_decrease"}),
    ("lstm_fake_report", set()),
])
def test_exiting_or_lying_model_changes_only_the_affected_checks(
        case: str, affected: set[str], graded: Callable[[str], Report]) -> None:
    solved, got = statuses(graded("solved")), statuses(graded(case))
    assert {k for k in got if got[k] != solved[k] and k != "answers.weight_counts"} == affected  # no answers
    assert all(got[k] == "error" for k in affected)


FORGERS = [c for c in CASES if c.startswith("forger_")]
FORGERY = re.compile(r"\n# --- forgery begins.*?# --- forgery ends ---\n", re.DOTALL)


@pytest.mark.slow
@pytest.mark.parametrize("case", FORGERS)
def test_replacing_the_workers_own_functions_earns_no_mark(case: str, rubric: Rubric, sandbox: Sandbox,
                                                           graded: Callable[[str], Report], tmp_path: Path) -> None:
    """The same wrong code, graded with and without a block that patches the worker at import."""
    honest = tmp_path / case
    honest.mkdir()
    for f in (FIXTURES / case).glob("*.py"):
        source, forgeries = FORGERY.subn("\n", f.read_text())
        assert forgeries == 1, f"{f.name} should hold one forgery block"
        (honest / f.name).write_text(source)
    forged, plain = graded(case), grade(honest, rubric, sandbox)
    gained = [c.id for c, p in zip(forged.checks, plain.checks, strict=True) if c.score > p.score]
    assert not gained, f"the forgery earned {gained}"
    assert [c.message for c in forged.checks] != [c.message for c in plain.checks], "the forgery had no effect"


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_hang_costs_one_timeout_and_the_later_checks_say_why(graded: Callable[..., Report], backend: str) -> None:
    checks = {c.id: c for c in graded("lstm_forward_hangs", backend).checks}
    loop = re.compile(r"line 3[67] \(in forward\)")  # `while True:` / `pass`: the stack dump catches either
    assert loop.search(checks["lstm.forward"].message), checks["lstm.forward"].message
    for later in ("lstm.gradcheck", "lstm.state_carry", "lstm.loss_decrease"):
        assert checks[later].message.startswith("not run: code it needs already ran past its time limit "
                                                "(lstm.forward: no answer within the time limit of"), later
        assert loop.search(checks[later].message), later
    assert checks["lstm.criterion"].status == "passed"  # it never calls forward


@pytest.mark.slow
def test_the_process_backend_contains_the_hostile_the_fork_bomb_and_the_hang(
        graded: Callable[..., Report], process_sandbox: Sandbox) -> None:
    """As far as a process can be: same verdicts (test_fixture_grades_as_expected), nothing written into
    the project, and no process of theirs left once graded (but the workers the pool keeps ready)."""
    for case in ("hostile", "rnn_fork_bomb", "lstm_forward_hangs", "lstm_memory_hog"):
        assert graded(case, "process").isolation == "process"
    assert not list(ROOT.rglob("HOSTILE_WAS_HERE"))
    ready = set(process_sandbox.ahead())  # type: ignore[attr-defined]
    workers = [p for p in psutil.Process().children(recursive=True)
               if p.status() != psutil.STATUS_ZOMBIE and "grader.sandbox.process.spawned" in " ".join(p.cmdline())]
    assert {p.pid for p in workers} <= ready
