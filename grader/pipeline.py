"""Grading one submission: find files, prepare them, run the rubric's checks, report."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Mapping

from grader.checks import REGISTRY
from grader.checks.context import Context
from grader.errors import SubmissionFault
from grader.report import CheckResult, Report, Status
from grader.rubric import CheckConfig, Rubric, load_rubric
from grader.sandbox import Sandbox
from grader.source import Program, prepare
from grader.submission import DEFINES, Submission, load_submission


def grade(path: Path | str, rubric: Rubric | None = None, sandbox: Sandbox | None = None) -> Report:
    """Grade the submission at `path` (folder, .zip, .py or .ipynb) against `rubric`.

    Pass a `sandbox` to reuse its warm fork server across submissions.
    """
    rubric = rubric if rubric is not None else load_rubric()
    submission = load_submission(path)
    programs = {task: prepare(f) for task, f in submission.files.items()}
    load_faults: dict[str, SubmissionFault] = {}
    private = _private_folders(rubric, submission)
    with contextlib.ExitStack() as stack:
        box = sandbox if sandbox is not None else stack.enter_context(Sandbox())
        results = tuple(run_check(c, programs.get(c.task), submission, rubric, box, load_faults, private)
                        for c in rubric.checks)
    return Report(str(path), results, _file_names(submission), _notes(submission, programs))


def run_check(config: CheckConfig, program: Program | None, submission: Submission, rubric: Rubric,
              sandbox: Sandbox, load_faults: dict[str, SubmissionFault], private: tuple[Path, ...]) -> CheckResult:
    """One check's result; the submission's faults become results, the grader's propagate."""
    if program is None:
        return _result(config, "skipped", _missing(config.task, submission))
    if program.fatal:
        return _result(config, "error", program.fatal)
    ctx = Context(config, program, rubric, sandbox, load_faults, private)
    try:
        message = REGISTRY[config.id].function(ctx)
    except SubmissionFault as fault:
        return _result(config, fault.status, _with_hints(str(fault), ctx), fault.details)  # type: ignore[arg-type]
    finally:
        ctx.close()
    return _result(config, "passed", message)


def _result(config: CheckConfig, status: Status, message: str,
            details: Mapping[str, Any] | None = None) -> CheckResult:
    score = config.points if status == "passed" else 0.0
    return CheckResult(config.id, config.task, status, score, config.points, message, config.visibility,
                       dict(details or {}))


def _with_hints(message: str, ctx: Context) -> str:
    """Point at what went wrong earlier: a statement that failed to load or an invalid line."""
    invalid = set(ctx.program.broken.values())
    hints = [f"note: {ctx.program.file.where(e['line'])} raised {e['message']}"
             for e in ctx.load_errors if e["message"] not in invalid][:2]
    if invalid and not any(text in message for text in invalid):
        hints.append(f"note: {ctx.program.broken_summary()}")
    return "; ".join([message, *hints])


def _missing(task: str, submission: Submission) -> str:
    looked = ", ".join(submission.looked_at[:8]) or "no .py, .ipynb or .zip files"
    return f"no file defining {DEFINES[task]} was found (looked at: {looked})"


def _private_folders(rubric: Rubric, submission: Submission) -> tuple[Path, ...]:
    """What workers must not see: the rubric's folder, and the submission's neighbours."""
    return (rubric.path.resolve().parent, rubric.text.resolve().parent, submission.path.resolve().parent)


def _file_names(submission: Submission) -> dict[str, str]:
    return {task: f.name for task, f in submission.files.items()}


def _notes(submission: Submission, programs: dict[str, Program]) -> tuple[str, ...]:
    notes = [*submission.notes]
    for _, program in sorted(programs.items()):
        notes += [*program.file.notes, *program.notes]
        if program.broken:
            notes.append(program.broken_summary())
    return tuple(notes)
