"""Grading a whole class: find the students, grade the ones not graded yet in parallel lanes (each a
process with its own warm sandbox), and write each report as soon as it is done.

A lane writes `reports/<key>.json` atomically, with the content hashes of the submission and the
rubric it was graded from: a rerun skips every student whose report is up to date, so an
interrupted batch resumes where it stopped. One student never stops the class: a grader fault on a
student becomes that student's error report, and a lane that dies is replaced.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import multiprocessing
import os
import queue
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Callable

from grader.errors import InternalError, UsageError
from grader.config import Rubric
from grader.context import kind
from grader.pipeline import failed_report, grade, prepare_grader
from grader.records import REPORTS, UNREADABLE, Done, read_stored, report_path, write_report
from grader.report import Report
from grader.rubric import load_rubric
from grader.sandbox import STRONG, Sandbox, open_sandbox, open_shared
from grader.students import Student, copy_out, find_students, fingerprint, in_shard
from grader.tasks import LAB

KINDS = tuple(kind(task) for task in LAB.tasks if task.runs_code)
"""What a batch's workers serve: any task of the lab (a lane grades every task of its students)."""
LANE_POLL = 0.5


@dataclass
class Outcome:
    """What a batch did: how many students, graded now or resumed, and who needs a look."""

    students: int = 0
    graded: list[Done] = field(default_factory=list)
    resumed: int = 0
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def internal_errors(self) -> list[Done]:
        return [d for d in self.graded if d.internal_error]


Listener = Callable[[Done], None]


def run(source: Path, out: Path, rubric: Rubric, jobs: int = 1, shard: tuple[int, int] | None = None,
        force: bool = False, on_start: Callable[[int], None] = lambda total: None,
        on_done: Listener = lambda done: None, allow_weak_isolation: bool = False) -> Outcome:
    """Grade every student of `source` in this shard whose report is missing or stale, `jobs` at a time.

    UsageError, before grading anyone, where student code would not run behind namespaces, unless
    `allow_weak_isolation`."""
    started = time.monotonic()
    students = [s for s in find_students(source, outside=out) if in_shard(s.key, shard)]
    (out / REPORTS).mkdir(parents=True, exist_ok=True)
    rubric_hash = rubric_fingerprint(rubric)
    hashed = [(s, fingerprint(s)) for s in students]
    todo = [(s, fp) for s, fp in hashed if force or not _up_to_date(out, s, fp, rubric_hash)]
    outcome = Outcome(len(students), resumed=len(students) - len(todo))

    def heard(done: Done) -> None:
        outcome.graded.append(done)
        on_done(done)

    with contextlib.ExitStack() as stack:
        server = open_shared(KINDS) if todo and _forked() else None
        if server is not None:
            stack.enter_context(server)
        if todo and not allow_weak_isolation:
            _refuse_weak(server.isolation() if server is not None else "process")
        on_start(len(todo))
        try:
            _grade_all(todo, out, rubric, jobs, rubric_hash, heard, server)
        except KeyboardInterrupt:
            outcome.interrupted = True
    outcome.seconds = time.monotonic() - started
    return outcome


def _refuse_weak(isolation: str) -> None:
    """UsageError unless student code would run behind namespaces (SECURITY.md)."""
    if isolation == STRONG:
        return
    why = {"linux-process": "this kernel or container refuses the namespaces a worker needs",
           "process": "this system has no Linux namespaces, or GRADER_ISOLATION=process chose plain processes"}
    raise UsageError(f"not grading the class: student code would run with isolation {isolation!r} here "
                     f"({why.get(isolation, 'weaker walls than namespaces')}), so it could read and change "
                     "your files: other students' submissions, the marks, the rubric. Grade on Linux where "
                     "namespaces are allowed, or pass --allow-weak-isolation to accept that (see SECURITY.md)")


def _forked() -> bool:
    """Whether lanes start as forks of the batch (Linux), rather than new interpreters (fork is unsafe on
    macOS and absent on Windows)."""
    return sys.platform == "linux"


def rubric_fingerprint(rubric: Rubric) -> str:
    """A content hash of what a report depends on besides the submission: the rubric and the text."""
    digest = hashlib.sha256()
    for path in (rubric.path, rubric.text):
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _up_to_date(out: Path, student: Student, submission_hash: str, rubric_hash: str) -> bool:
    try:
        stored = read_stored(report_path(out, student.key))["batch"]
    except UNREADABLE:
        return False
    return bool(stored.get("submission_sha256") == submission_hash and stored.get("rubric_sha256") == rubric_hash)


def _grade_all(todo: list[tuple[Student, str]], out: Path, rubric: Rubric, jobs: int, rubric_hash: str,
               on_done: Listener, server: Sandbox | None) -> None:
    """Hand the students one at a time to `jobs` lanes (sharing the fork `server`, if any); a lane that
    dies is replaced, and the student it was grading gets an error report."""
    if not todo:
        return
    lanes = _Lanes(str(rubric.path), str(out), rubric_hash, server)
    waiting = list(reversed(todo))
    with _interruptible():
        try:
            for _ in range(min(jobs, len(todo))):
                lanes.give(lanes.start(), waiting.pop())
            while lanes.busy:
                finished = lanes.wait()
                if finished is None:
                    continue
                number, done = finished
                if done is None:  # the lane died: its student gets an error report, a new lane the rest
                    on_done(_lane_died(lanes.lost.pop(), out, rubric, rubric_hash))
                    if lanes.deaths > 2 * jobs + len(todo):
                        raise InternalError("the grading lanes keep dying (see the messages above)")
                    number = lanes.start() if waiting else number
                else:
                    on_done(done)
                if waiting:
                    lanes.give(number, waiting.pop())
        finally:
            lanes.stop()


class _Lanes:
    """The lane processes of a batch, each with its own queue of work, and what each is grading."""

    def __init__(self, rubric: str, out: str, rubric_hash: str, server: Sandbox | None) -> None:
        # a forked lane starts as a copy of the batch, its modules already imported, and joins the shared
        # `server` (a backend that can share) or starts workers of its own; a spawned lane has a sandbox of its own
        self.context: Any = multiprocessing.get_context("fork" if _forked() else "spawn")
        if _forked():  # imported once while the server warms up, not once in every lane (1.5 s each)
            prepare_grader(LAB, LAB.ids)
        self.arguments = (rubric, out, rubric_hash, server)
        self.results: Any = self.context.Queue()
        self.processes: dict[int, tuple[BaseProcess, Any]] = {}
        self.working: dict[int, tuple[Student, str]] = {}
        self.lost: list[tuple[Student, str]] = []
        self.deaths = self.started = 0

    @property
    def busy(self) -> bool:
        return bool(self.working)

    def start(self) -> int:
        number, self.started = self.started, self.started + 1
        tasks = self.context.Queue()
        process = self.context.Process(target=lane, args=(number, *self.arguments, tasks, self.results), daemon=True)
        process.start()
        self.processes[number] = (process, tasks)
        return number

    def give(self, number: int, item: tuple[Student, str]) -> None:
        self.working[number] = item
        self.processes[number][1].put(item)

    def wait(self) -> tuple[int, Done | None] | None:
        """A lane that finished a student (with what it heard), or one that died (None), or None."""
        try:
            number, done = self.results.get(timeout=LANE_POLL)
            self.working.pop(number, None)
            return number, done
        except queue.Empty:
            pass
        for number, (process, _) in list(self.processes.items()):
            if not process.is_alive():
                del self.processes[number]
                self.deaths += 1
                if number in self.working:
                    self.lost.append(self.working.pop(number))
                    return number, None
        return None

    def stop(self) -> None:
        """Stop every lane: each kills its fork server and workers on the way out."""
        for process, tasks in self.processes.values():
            if process.is_alive():
                tasks.put(None)
        _stop([process for process, _ in self.processes.values()])


def _stop(lanes: Any) -> None:
    """Stop every lane: each kills its fork server and workers on the way out."""
    lanes = list(lanes)
    for p in lanes:
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + 10
    for p in lanes:
        p.join(max(0.1, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join()


class _interruptible:
    """SIGTERM stops a batch as Ctrl-C does (KeyboardInterrupt), so that its lanes are stopped too."""

    def __enter__(self) -> None:
        self.previous = signal.signal(signal.SIGTERM, _interrupt)

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGTERM, self.previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _lane_died(item: tuple[Student, str], out: Path, rubric: Rubric, rubric_hash: str) -> Done:
    student, fp = item
    error = RuntimeError("the grader's process grading this student ended unexpectedly")
    report = _annotated(failed_report(student.entry, rubric, error), student, [], fp, rubric_hash, 0.0)
    write_report(out, student.key, report)
    return _done(student, report)


def lane(number: int, rubric_path: str, out: str, rubric_hash: str, server: Sandbox | None, tasks: Any,
         results: Any) -> None:
    """One lane: a warm sandbox (on the batch's shared `server` when there is one) grading students one
    after another until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the batch decides when its lanes stop
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    parent, rubric = os.getppid(), load_rubric(rubric_path)
    scratch = Path(tempfile.mkdtemp(prefix="grader-batch-"))
    sandbox = _on(server)
    try:
        while (item := _next(tasks, parent)) is not None:
            student, fp = item
            report = grade_student(student, fp, rubric, rubric_hash, sandbox, scratch)
            write_report(Path(out), student.key, report)
            results.put((number, _done(student, report)))
            if report.internal_error:  # a broken sandbox (or shared server) must not cost the next student
                sandbox.close()
                sandbox = open_sandbox(KINDS)
    finally:
        sandbox.close()
        shutil.rmtree(scratch, ignore_errors=True)


def _on(server: Sandbox | None) -> Sandbox:
    """A sandbox on the batch's shared server, or a sandbox of its own (when that server is gone, or there
    is none)."""
    if server is not None:
        with contextlib.suppress(InternalError):
            return server.join()
    return open_sandbox(KINDS)


def _next(tasks: Any, parent: int) -> tuple[Student, str] | None:
    while os.getppid() == parent:  # a batch killed outright leaves no lane behind
        try:
            item: tuple[Student, str] | None = tasks.get(timeout=LANE_POLL)
            return item
        except queue.Empty:
            continue
    return None


def grade_student(student: Student, submission_hash: str, rubric: Rubric, rubric_hash: str, sandbox: Sandbox,
                  scratch: Path) -> Report:
    """One student's report: their files copied out safely, graded, and labelled for the class."""
    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="s-", dir=scratch))
    notes: list[str] = []
    try:
        notes = copy_out(student, folder)
        report = grade(folder, rubric, sandbox)
    except Exception as e:  # noqa: BLE001  (a grader bug on one student is that student's error report)
        report = failed_report(student.entry, rubric, e)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return _annotated(report, student, notes, submission_hash, rubric_hash, time.monotonic() - started)


def _annotated(report: Report, student: Student, notes: list[str], submission_hash: str, rubric_hash: str,
               seconds: float) -> Report:
    return dataclasses.replace(
        report, submission=student.entry, notes=(*notes, *report.notes),
        student={"id": student.id, "name": student.name},
        batch={"key": student.key, "submission_sha256": submission_hash, "rubric_sha256": rubric_hash,
               "seconds": round(seconds, 3), "graded_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})


def _done(student: Student, report: Report) -> Done:
    trouble = next((f"{c.id}: {c.message}" for c in report.checks
                    if c.internal_error or (c.status == "error" and "time limit" in c.message)), "")
    seconds = float((report.batch or {}).get("seconds", 0.0))
    return Done(student.key, student.name, report.score, report.max_score, seconds, trouble, report.internal_error)
