"""grade(): a fault of the grader costs the checks it touches, never the report."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT
from grader import cli, grade, pipeline
from grader.rubric import checks_of
from grader.tasks import LAB
from grader.registry import REGISTRY
from grader.context import Context
from grader.errors import InternalError
from grader.report import Report
from grader.writers.json import render_json
from grader.writers.text import render_text
from grader.rubric import load_rubric
from grader.sandbox import Sandbox
from grader.sandbox.linux import LinuxSandbox
from grader.source import Program
from grader.submission import TaskFile

SOLVED = FIXTURES / "solved"
CHEAP = """\
text: {text}
seed: 4660
checks:
  rnn.forward: {{points: 2, examples: 3}}
  lstm.init: {{points: 1, examples: 2}}
  lstm.criterion: {{points: 1, examples: 3}}
"""


@pytest.fixture
def cheap(tmp_path: Path) -> Path:
    """A rubric of three fast checks, two tasks: the pipeline's behaviour, not the checks'."""
    path = tmp_path / "cheap.yaml"
    path.write_text(CHEAP.format(text=ROOT / "fixtures" / "textData.txt"))
    return path


def break_check(monkeypatch: pytest.MonkeyPatch, check_id: str, error: Exception) -> None:
    """Make a registered check meet odd output the way a grader bug would: by raising `error`."""
    def faulty(ctx: Context) -> str:
        ctx.worker()
        raise error

    checks_of(LAB)
    monkeypatch.setitem(REGISTRY, check_id, dataclasses.replace(REGISTRY[check_id], function=faulty))


def by_id(report: Report) -> dict[str, tuple[str, str]]:
    return {c.id: (c.status, c.message) for c in report.checks}


def test_a_fault_in_one_check_keeps_the_others(monkeypatch: pytest.MonkeyPatch, cheap: Path,
                                                sandbox: Sandbox) -> None:
    break_check(monkeypatch, "lstm.init", KeyError("hs"))
    report = grade(SOLVED, load_rubric(cheap), sandbox)
    faulty = report.checks[1]
    assert (faulty.status, faulty.score) == ("error", 0)
    assert faulty.message == "internal error in the grader: KeyError: 'hs'"
    assert "Traceback" in faulty.details["traceback"] and "in faulty" in faulty.details["traceback"]
    assert faulty.internal_error and report.internal_error
    assert by_id(report)["rnn.forward"][0] == by_id(report)["lstm.criterion"][0] == "passed"
    assert report.score == 3


def test_an_internal_error_raised_in_a_check_is_reported_like_any_fault(
        monkeypatch: pytest.MonkeyPatch, cheap: Path, sandbox: Sandbox) -> None:
    break_check(monkeypatch, "rnn.forward", InternalError("the worker's reply has no 'loss'\nmore detail"))
    report = grade(SOLVED, load_rubric(cheap), sandbox)
    status, message = by_id(report)["rnn.forward"]
    assert status == "error"
    assert message == "internal error in the grader: InternalError: the worker's reply has no 'loss'"
    assert "more detail" in report.checks[0].details["traceback"]
    assert [c.status for c in report.checks[1:]] == ["passed", "passed"]


def test_a_fault_in_one_check_keeps_the_others_and_exits_3(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], cheap: Path) -> None:
    break_check(monkeypatch, "lstm.criterion", IndexError("list index out of range"))
    status = cli.main(["check", str(SOLVED), "--rubric", str(cheap), "--format", "json"])
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert status == 3 and report["internal_error"] is True
    checks = {c["id"]: c for c in report["checks"]}
    assert checks["lstm.criterion"]["status"] == "error" and checks["lstm.criterion"]["internal_error"]
    assert "IndexError: list index out of range" in checks["lstm.criterion"]["details"]["traceback"]
    assert checks["rnn.forward"]["status"] == "passed" and not checks["rnn.forward"]["internal_error"]
    assert report["score"] == 3 and "internal error in lstm.criterion" in err


def test_the_text_report_is_printed_whole_before_exit_3(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], cheap: Path) -> None:
    break_check(monkeypatch, "rnn.forward", ValueError("could not convert string to float: 'nan?'"))
    assert cli.main(["check", str(SOLVED), "--rubric", str(cheap)]) == 3
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2] == "Total: 2/4"
    assert any(line.startswith("ERROR") and "internal error in the grader: ValueError" in line for line in lines)


def test_a_clean_run_exits_0_and_says_no_internal_error(
        capsys: pytest.CaptureFixture[str], cheap: Path) -> None:
    assert cli.main(["check", str(SOLVED), "--rubric", str(cheap), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["internal_error"] is False and not any(c["internal_error"] for c in report["checks"])


def test_a_keyboard_interrupt_in_a_check_is_not_swallowed(
        monkeypatch: pytest.MonkeyPatch, cheap: Path, sandbox: Sandbox) -> None:
    def interrupted(ctx: Context) -> str:
        raise KeyboardInterrupt

    checks_of(LAB)
    monkeypatch.setitem(REGISTRY, "rnn.forward", dataclasses.replace(REGISTRY["rnn.forward"], function=interrupted))
    with pytest.raises(KeyboardInterrupt):
        grade(SOLVED, load_rubric(cheap), sandbox)


def test_a_crash_preparing_a_task_file_errors_that_tasks_checks_only(
        monkeypatch: pytest.MonkeyPatch, cheap: Path, sandbox: Sandbox) -> None:
    real = pipeline.prepare

    def fragile(file: TaskFile, indentation: str = "strict") -> Program:
        if file.task == "task2":
            raise IndexError("string index out of range")
        return real(file, indentation)

    monkeypatch.setattr(pipeline, "prepare", fragile)
    report = grade(SOLVED, load_rubric(cheap), sandbox)
    status, message = by_id(report)["rnn.forward"]
    assert status == "error" and report.internal_error
    assert message.startswith("internal error in the grader: InternalError: preparing task2_min_char_rnn.py")
    assert "IndexError: string index out of range" in message
    assert [c.status for c in report.checks[1:]] == ["passed", "passed"]


def test_a_sandbox_that_cannot_start_errors_every_check_that_needs_it(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], cheap: Path, tmp_path: Path) -> None:
    def no_server(kinds: object) -> Sandbox:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(pipeline, "open_sandbox", no_server)
    (tmp_path / "rnn.py").write_bytes((SOLVED / "task2_min_char_rnn.py").read_bytes())
    assert cli.main(["check", str(tmp_path), "--rubric", str(cheap), "--format", "json"]) == 3
    checks = json.loads(capsys.readouterr().out)["checks"]
    assert checks[0]["status"] == "error" and "starting the sandbox failed" in checks[0]["message"]
    assert "Too many open files" in checks[0]["message"]
    assert [c["status"] for c in checks[1:]] == ["skipped", "skipped"]  # no task 3 file: nothing to run


def test_a_crash_finding_the_files_errors_every_check(
        monkeypatch: pytest.MonkeyPatch, cheap: Path, sandbox: Sandbox) -> None:
    def lost(path: Path, lab: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(pipeline, "load_submission", lost)
    report = grade(SOLVED, load_rubric(cheap), sandbox)
    assert {c.status for c in report.checks} == {"error"} and report.internal_error
    assert report.checks[0].message == ("internal error in the grader: InternalError: finding the task files "
                                        "failed: RecursionError: maximum recursion depth exceeded")


def test_a_fork_server_gone_midway_errors_the_checks_and_keeps_the_report(cheap: Path) -> None:
    class Gone:
        def worker(self, *args: object, **kwargs: object) -> None:
            raise InternalError("the fork server is gone: [Errno 32] Broken pipe")

    report = grade(SOLVED, load_rubric(cheap), Gone())  # type: ignore[arg-type]
    assert {c.status for c in report.checks} == {"error"} and report.internal_error
    assert all("the fork server is gone" in c.message for c in report.checks)


def test_a_submission_of_links_to_the_reference_gets_0_and_every_check_names_the_link(
        capsys: pytest.CaptureFixture[str], cheap: Path, tmp_path: Path) -> None:
    for name in ("task2_min_char_rnn.py", "task3_min_char_lstm.py"):
        (tmp_path / name).symlink_to(ROOT / "reference" / name)
    assert cli.main(["check", str(tmp_path), "--rubric", str(cheap), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["score"] == 0 and report["files"] == {} and not report["internal_error"]
    for c in report["checks"]:
        name = "task2_min_char_rnn.py" if c["task"] == "task2" else "task3_min_char_lstm.py"
        assert c["status"] == "error" and c["message"] == (
            f"{name} is a symbolic link (to {ROOT / 'reference' / name}); hand in the file itself, not a link")


def test_a_linked_secret_never_reaches_the_report(cheap: Path, tmp_path: Path, sandbox: Sandbox) -> None:
    secret = tmp_path / "outside"
    secret.mkdir()
    (secret / "answers.py").write_text("def lossFun(i, t, h):\n    return 'TOP-SECRET-ANSWER-4660'\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "rnn.py").symlink_to(secret / "answers.py")
    (tmp_path / "sub" / "more").symlink_to(secret, target_is_directory=True)
    (tmp_path / "sub" / "task3_min_char_lstm.py").write_bytes((SOLVED / "task3_min_char_lstm.py").read_bytes())
    report = grade(tmp_path / "sub", load_rubric(cheap), sandbox)
    assert "TOP-SECRET" not in render_json(report) and "TOP-SECRET" not in render_text(report)
    assert [c.status for c in report.checks] == ["error", "passed", "passed"]
    assert report.checks[0].message.startswith("rnn.py is a symbolic link (to ")


def test_a_report_warns_when_a_worker_ran_with_fewer_walls() -> None:
    from grader.pipeline import _weak_walls

    assert _weak_walls({("linux-namespaces", "seccomp")}) == []
    notes = _weak_walls({("linux-namespaces", "seccomp"), ("linux-process", "rlimit")})
    assert len(notes) == 1 and "isolation linux-process, new processes stopped by rlimit" in notes[0]
    assert "should not grade untrusted code" in notes[0]
    assert _weak_walls({("process", "none")}) == []  # the portable backend: the report's isolation line says it


def test_a_report_names_the_weakest_walls_any_of_its_workers_had() -> None:
    from grader.pipeline import _isolation

    assert _isolation(set()) is None
    assert _isolation({("linux-namespaces", "seccomp")}) == "linux-namespaces"
    assert _isolation({("linux-namespaces", "seccomp"), ("linux-process", "rlimit")}) == "linux-process"
    assert _isolation({("process", "none"), ("linux-namespaces", "seccomp")}) == "process"


@pytest.mark.parametrize("stuck,skipped", [
    (frozenset({"forward", "helper"}), {"lstm.gradcheck", "lstm.state_carry", "lstm.loss_decrease"}),
    (frozenset({"criterion"}), {"lstm.criterion", "lstm.state_carry", "lstm.loss_decrease"}),
    (frozenset(), {"lstm.init", "lstm.gradcheck", "lstm.criterion", "lstm.state_carry", "lstm.loss_decrease"}),
])
def test_after_a_hang_only_the_checks_that_run_the_same_code_are_not_run(stuck: frozenset[str],
                                                                         skipped: set[str]) -> None:
    """An empty stack dump names no function: then any check of the task might meet the hang."""
    from grader.pipeline import Grading, _hung_before
    from grader.rubric import load_rubric
    from grader.submission import Submission

    rubric = load_rubric()
    grading = Grading(Submission(Path(".")), rubric, hangs={"task3": (stuck, "lstm.forward: no answer")})
    later = [c for c in rubric.checks if c.task == "task3" and c.id != "lstm.forward"]
    assert {c.id for c in later if _hung_before(c, grading)} == skipped
    assert not any(_hung_before(c, grading) for c in rubric.checks if c.task == "task2")


TWO_RNN_CHECKS = """\
text: {text}
diagnosis: {{timeout: 7}}
checks:
  rnn.forward: {{examples: 2}}
  rnn.gradcheck: {{examples: 2}}
  lstm.init: {{examples: 2}}
"""


def test_a_failed_check_names_the_mistake_its_part_s_diagnoser_finds_once_per_submission(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sandbox: Sandbox) -> None:
    from grader.errors import Mismatch
    from grader.mistakes import DIAGNOSERS

    rubric_path = tmp_path / "two.yaml"
    rubric_path.write_text(TWO_RNN_CHECKS.format(text=ROOT / "fixtures" / "textData.txt"))
    for check_id in ("rnn.forward", "rnn.gradcheck", "lstm.init"):
        break_check(monkeypatch, check_id, Mismatch(f"{check_id} differs"))
    asked: list[tuple[str, float]] = []

    def relu(ctx: Context) -> str:
        ctx.worker()  # a worker of its own, with the rubric's diagnosis timeout
        asked.append((ctx.config.id, ctx.config.timeout))
        return "rnn.relu"

    def cannot_run(ctx: Context) -> str:
        raise Mismatch("the part cannot be built")

    monkeypatch.setitem(DIAGNOSERS, ("task2", "lossFun"), relu)
    monkeypatch.setitem(DIAGNOSERS, ("task3", "__init__"), cannot_run)
    report = grade(SOLVED, load_rubric(rubric_path), sandbox)
    checks = {c.id: c for c in report.checks}
    assert asked == [("task2:lossFun", 7.0)]
    for check_id in ("rnn.forward", "rnn.gradcheck"):
        assert checks[check_id].diagnosis == "rnn.relu"
        assert checks[check_id].message.startswith(f"{check_id} differs; most likely: a ReLU (np.maximum(0, ...)) "
                                                   "instead of np.tanh in the hidden-state line [rnn.relu]; ")
    assert checks["lstm.init"].diagnosis is None
    assert checks["lstm.init"].message.startswith("lstm.init differs; your code printed")
    assert json.loads(render_json(report))["checks"][0]["diagnosis"] == "rnn.relu"


def test_a_check_that_ran_out_of_time_is_not_diagnosed(monkeypatch: pytest.MonkeyPatch, cheap: Path,
                                                       sandbox: Sandbox) -> None:
    from grader.errors import WorkerTimeout
    from grader.mistakes import DIAGNOSERS

    break_check(monkeypatch, "rnn.forward", WorkerTimeout("no answer within the time limit of 20 s"))
    asked: list[str] = []
    monkeypatch.setitem(DIAGNOSERS, ("task2", "lossFun"), lambda ctx: asked.append("asked") or "rnn.relu")
    forward = grade(SOLVED, load_rubric(cheap), sandbox).checks[0]
    assert (forward.status, forward.diagnosis, asked) == ("error", None, [])


@pytest.mark.parametrize("broken,started", [(False, 2), (True, 3)])
def test_a_passing_check_leaves_its_worker_to_the_next_check_of_its_task_and_a_failing_one_does_not(
        monkeypatch: pytest.MonkeyPatch, cheap: Path, sandbox: Sandbox, broken: bool, started: int) -> None:
    """cheap: rnn.forward, then lstm.init and lstm.criterion, which only call the student's functions."""
    from grader.errors import Mismatch
    from grader.mistakes import DIAGNOSERS

    forks: list[str] = []
    real = LinuxSandbox.worker

    def counted(self: LinuxSandbox, *args: object, **kwargs: object) -> object:
        forks.append(str(args[1]))
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(LinuxSandbox, "worker", counted)
    if broken:
        break_check(monkeypatch, "lstm.init", Mismatch("lstm.init differs"))
        for part in ("__init__",):
            monkeypatch.setitem(DIAGNOSERS, ("task3", part), lambda ctx: None)
    report = grade(SOLVED, load_rubric(cheap), sandbox)
    assert [c.status for c in report.checks] == ["passed", "failed" if broken else "passed", "passed"]
    assert len(forks) == started
