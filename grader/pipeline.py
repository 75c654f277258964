"""Grading one submission: find files, prepare them, run the rubric's checks, report."""

from __future__ import annotations

import contextlib
import itertools
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Collection, Mapping

from grader.config import CheckConfig, Rubric
from grader.context import Context, Written, kind
from grader.errors import InternalError, SubmissionFault, UsageError, WorkerTimeout
from grader.mistakes import DIAGNOSERS, most_likely, parts_reached
from grader.registry import EVERYTHING, REGISTRY
from grader.report import CheckResult, Report, Status
from grader.rubric import load_rubric
from grader.sandbox import ISOLATIONS, STRONG, Sandbox, open_sandbox
from grader.source import Program, prepare
from grader.submission import Submission, TaskFile, load_submission
from grader.tasks.spec import Lab, Task, call

MAX_MESSAGE = 300


@dataclass
class Grading:
    """What the checks of one submission share; `faults` are the grader's own failures, by task."""

    submission: Submission
    rubric: Rubric
    programs: dict[str, Program] = field(default_factory=dict)
    faults: dict[str, Exception] = field(default_factory=dict)
    sandbox: Sandbox | None = None
    load_faults: dict[str, SubmissionFault] = field(default_factory=dict)
    walls: set[tuple[str, str]] = field(default_factory=set)
    hangs: dict[str, tuple[frozenset[str], str]] = field(default_factory=dict)
    """By task: the student's functions a check was stuck in when it ran past its time limit, and
    what that check said."""
    shared: dict[str, Any] = field(default_factory=dict)
    """Results of student code that several checks judge (Context.share)."""
    pool: dict[str, Any] = field(default_factory=dict)
    """Workers left by passing checks for the next check of their task (Context.release)."""
    diagnoses: dict[tuple[str, str], str | None] = field(default_factory=dict)
    """By (task, part): the known mistake its diagnoser found there, once asked (grader.mistakes)."""


def grade(path: Path | str, rubric: Rubric | None = None, sandbox: Sandbox | None = None) -> Report:
    """Grade the submission at `path` (folder, .zip, .py or .ipynb) against `rubric`.

    Pass a `sandbox` to reuse its warm fork server across submissions. A failure of the
    grader itself becomes an "error" result of the checks it touches (internal_error).
    """
    rubric = rubric if rubric is not None else load_rubric()
    grading = _prepared(_found(Path(path), rubric))
    with contextlib.ExitStack() as stack:
        if sandbox is not None or grading.programs:  # written answers alone run nothing: no server
            grading.sandbox = sandbox if sandbox is not None else _started(stack, grading)
        stack.callback(lambda: [worker.kill() for worker, _ in grading.pool.values()])
        results = tuple(run_check(c, grading) for c in rubric.checks)
    submission = grading.submission
    notes = (*_notes(submission, grading.programs, rubric.lab), *_weak_walls(grading.walls))
    return Report(str(path), results, _file_names(submission), notes, isolation=_isolation(grading.walls))


def failed_report(path: str, rubric: Rubric, e: Exception) -> Report:
    """The report of a submission the grader failed on before any check ran: every check an
    internal error, naming it (a batch keeps going)."""
    return Report(path, tuple(_internal_error(c, e) for c in rubric.checks))


def _found(path: Path, rubric: Rubric) -> Grading:
    try:
        return Grading(load_submission(path, rubric.lab), rubric)
    except UsageError:
        raise
    except Exception as e:  # a bug finding files costs every task's checks, not the report
        return Grading(Submission(path), rubric, faults={task: _wrapped("finding the task files", e)
                                                         for task in rubric.lab.ids})


def _prepared(grading: Grading) -> Grading:
    for task, file in grading.submission.files.items():
        if not grading.rubric.lab.task(task).runs_code:  # data, read by its own checks
            continue
        try:
            grading.programs[task] = prepare(file, grading.rubric.indentation)
        except Exception as e:  # a bug in source repair costs this task's checks only
            grading.faults[task] = _wrapped(f"preparing {file.name}", e)
    return grading


def _started(stack: contextlib.ExitStack, grading: Grading) -> Sandbox | None:
    try:
        sandbox = stack.enter_context(open_sandbox([kind(grading.rubric.lab.task(t)) for t in grading.programs]))
    except Exception as e:  # without a sandbox no student code runs; the checks that need it say why
        for task, program in grading.programs.items():
            if not program.fatal:
                grading.faults.setdefault(task, _wrapped("starting the sandbox", e))
        return None
    prepare_grader(grading.rubric.lab, grading.programs)  # while the workers start
    return sandbox


def prepare_grader(lab: Lab, tasks: Collection[str]) -> None:
    """What the grader's own checks of these tasks import (a reference needing torch, say): done in this
    thread while the workers start (Python 3.11 cannot compile in two at once); one that fails to import
    costs only the checks that need it."""
    for task in lab.tasks:
        if task.id in tasks and task.prepare is not None:
            with contextlib.suppress(ImportError):
                call(task.prepare)()


def _wrapped(step: str, e: Exception) -> InternalError:
    fault = InternalError(f"{step} failed: {_one_line(e)}")
    fault.__cause__ = e
    return fault


def run_check(config: CheckConfig, grading: Grading) -> CheckResult:
    """One check's result, whatever happens: the submission's faults and the grader's become results."""
    try:
        return _outcome(config, grading)
    except Exception as e:  # the grader's bug costs this check, never the report (Ctrl-C still stops)
        return _internal_error(config, e)


def _outcome(config: CheckConfig, grading: Grading) -> CheckResult:
    fault, program = grading.faults.get(config.task), grading.programs.get(config.task)
    task = grading.rubric.lab.task(config.task)
    if fault is not None:
        return _internal_error(config, fault)
    if not task.runs_code:
        return _read(config, task, grading.submission)
    if program is None:
        return _absent(config, task, grading.submission)
    if program.fatal:
        return _result(config, "error", program.fatal)
    if grading.sandbox is None:
        raise InternalError("no sandbox to run the check in")
    return _run(config, program, grading, grading.sandbox)


def _run(config: CheckConfig, program: Program, grading: Grading, sandbox: Sandbox) -> CheckResult:
    hung = _hung_before(config, grading)
    if hung:
        return _result(config, "error", hung)
    ctx = _context(config, program, grading, sandbox)
    try:
        message = REGISTRY[config.id].function(ctx)
    except SubmissionFault as fault:
        if isinstance(fault, WorkerTimeout):
            said = str(fault).removesuffix(f"; smallest failing example: {fault.details.get('example')}")
            grading.hangs.setdefault(config.task, (ctx.stuck_in(), f"{config.id}: {said}"))
        message, printed = _with_hints(str(fault), ctx), ctx.printed()
        ctx.close()  # before a diagnoser starts its own worker
        diagnosis = None if isinstance(fault, WorkerTimeout) else _diagnosis(config, program, grading, sandbox)
        if diagnosis is not None:
            message = f"{message}; {most_likely(diagnosis)}"
        message, details = _with_printed(message, fault.details, printed)
        return _result(config, fault.status, message, details, diagnosis=diagnosis)  # type: ignore[arg-type]
    except BaseException:
        ctx.close()
        raise
    ctx.release()
    return _result(config, "passed", message)


def _read(config: CheckConfig, task: Task, submission: Submission) -> CheckResult:
    """A check of a task read as data (written answers): in the grader's process, nothing runs."""
    file: TaskFile | None = submission.files.get(task.id)
    if file is None:
        return _result(config, "skipped", task.missing.format(looked=_looked(submission)))
    written = Written(config, file)
    try:
        message, status = REGISTRY[config.id].function(written), "passed"
    except SubmissionFault as fault:
        message, status = str(fault), fault.status
    if written.diagnosis is not None:
        message = f"{message}; {most_likely(written.diagnosis)}"
    return _result(config, status, message, written.details, diagnosis=written.diagnosis)  # type: ignore[arg-type]


def _context(config: CheckConfig, program: Program, grading: Grading, sandbox: Sandbox) -> Context:
    return Context(config, program, grading.rubric, sandbox, grading.load_faults, _private_folders(grading),
                   grading.walls, grading.shared, grading.pool)


def _diagnosis(config: CheckConfig, program: Program, grading: Grading, sandbox: Sandbox) -> str | None:
    """The known mistake behind a failed check: the first one found in the parts it reaches.

    Each part's diagnoser runs the student's code beside the mutants of the catalog in a worker of
    its own, once per submission. A part it cannot run (it raises, or hangs) names no mistake.
    """
    for part in parts_reached(REGISTRY[config.id], grading.rubric.lab.task(config.task)):
        key = (config.task, part)
        if key not in grading.diagnoses and key in DIAGNOSERS:
            settings = grading.rubric.diagnosis
            part_config = replace(config, id=f"{config.task}:{part}", timeout=settings["timeout"], params=settings)
            ctx = _context(part_config, program, grading, sandbox)
            try:
                grading.diagnoses[key] = DIAGNOSERS[key](ctx)
            except SubmissionFault:
                grading.diagnoses[key] = None
            finally:
                ctx.close()
        if grading.diagnoses.get(key):
            return grading.diagnoses[key]
    return None


def _hung_before(config: CheckConfig, grading: Grading) -> str | None:
    """Why a check is not run: code it needs already ran past its time limit in an earlier check.

    One hang costs one timeout, not one per check. Where the stack dump named no function of the
    student's, any check of the task might meet the same hang.
    """
    if config.task not in grading.hangs:
        return None
    stuck, first = grading.hangs[config.task]
    calls = REGISTRY[config.id].calls
    if stuck and EVERYTHING not in calls and not calls & stuck:
        return None
    return f"not run: code it needs already ran past its time limit ({first})"


def _result(config: CheckConfig, status: Status, message: str, details: Mapping[str, Any] | None = None,
            internal_error: bool = False, diagnosis: str | None = None) -> CheckResult:
    score = config.score(status, details or {})
    return CheckResult(config.id, config.task, status, score, config.points, message, config.visibility,
                       dict(details or {}), internal_error, diagnosis)


def _internal_error(config: CheckConfig, e: Exception) -> CheckResult:
    trace = "".join(traceback.format_exception(e))
    return _result(config, "error", f"internal error in the grader: {_one_line(e)}", {"traceback": trace},
                   internal_error=True)


def _one_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    text = f"{type(e).__name__}: {lines[0]}" if lines else type(e).__name__
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def _with_hints(message: str, ctx: Context) -> str:
    """Point at what went wrong earlier: a statement that failed to load or an invalid line."""
    invalid = set(ctx.program.broken.values())
    hints = [f"note: {ctx.program.file.where(e['line'])} raised {e['message']}"
             for e in ctx.load_errors if e["message"] not in invalid][:2]
    if invalid and not any(text in message for text in invalid):
        hints.insert(0, f"note: {ctx.program.broken_summary()}")  # the cause first, its consequences after
    return "; ".join([message, *hints])


def _with_printed(message: str, details: Mapping[str, Any], output: str, count: int = 10,
                  width: int = 200, hint: int = 120) -> tuple[str, dict[str, Any]]:
    """A failing check's message and details with the first lines the student's code printed (often
    the clue): up to `count` non-empty lines of `width` characters in details, the first in the
    message if that stays within `hint` characters."""
    printed = (line.rstrip()[:width] for line in output.splitlines() if line.strip())
    lines = list(itertools.islice(printed, count))
    if not lines:
        return message, dict(details)
    said = f"; your code printed: {lines[0].strip()}"
    return message + said if len(said) <= hint else message, {**details, "output": lines}


def _absent(config: CheckConfig, task: Task, submission: Submission) -> CheckResult:
    """No file for this task: skipped, or an error when a link was handed in instead of the file."""
    if task.id in submission.unreadable:
        return _result(config, "error", submission.unreadable[task.id])
    return _result(config, "skipped", task.missing.format(looked=_looked(submission)))


def _looked(submission: Submission) -> str:
    return ", ".join(submission.looked_at[:8]) or "no .py, .ipynb or .zip files"


def _private_folders(grading: Grading) -> tuple[Path, ...]:
    """What workers must not see: the rubric's folder, and the submission's neighbours."""
    rubric, submission = grading.rubric, grading.submission.path
    return (rubric.path.resolve().parent, rubric.text.resolve().parent, submission.resolve().parent,
            submission.absolute().parent)  # both, when the tutor's path is a link


def _isolation(walls: set[tuple[str, str]]) -> str | None:
    """The weakest walls any worker had (grader.sandbox.ISOLATIONS); None if no worker ran."""
    got = {isolation for isolation, _ in walls}
    return max(got, key=lambda i: ISOLATIONS.index(i) if i in ISOLATIONS else len(ISOLATIONS), default=None)


def _weak_walls(walls: set[tuple[str, str]]) -> list[str]:
    """A warning when some worker ran with fewer walls than this grader can build (SECURITY.md)."""
    # the portable backend's walls are what it has: the report's isolation line says so
    weak = sorted({w for w in walls if w != (STRONG, "seccomp") and w[0] != "process"})
    if not weak:
        return []
    got = "; ".join(f"isolation {i}, new processes stopped by {p}" for i, p in weak)
    return [f"student code ran with fewer walls than usual ({got}): this machine should not grade "
            "untrusted code (see SECURITY.md)"]


def _file_names(submission: Submission) -> dict[str, str]:
    return {task: f.name for task, f in submission.files.items()}


def _notes(submission: Submission, programs: dict[str, Program], lab: Lab) -> tuple[str, ...]:
    read = [file for task, file in submission.files.items() if not lab.task(task).runs_code]
    notes = [*submission.notes, *(note for file in read for note in file.notes)]
    for _, program in sorted(programs.items()):
        notes += [*program.file.notes, *program.notes]
        if program.broken:
            notes.append(program.broken_summary())
    return tuple(notes)
