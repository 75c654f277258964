"""What a check is given: its configuration, the task file, and a worker holding the submission (Context),
or the file itself for a task read as data (Written)."""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from hypothesis import strategies as st

from grader.errors import SubmissionFault, WorkerDied, WorkerTimeout
from grader.registry import EVERYTHING, REGISTRY
from grader.examples import search
from grader.resources import reference_file
from grader.sandbox import STACK_FRAME, Kind, Limits, Sandbox, Worker
from grader.source import Program
from grader.submission import TaskFile
from grader.tasks.spec import Lab, Task

if TYPE_CHECKING:
    from grader.config import CheckConfig, Rubric

T = TypeVar("T")
SUBMISSION_NAME = "submission.py"


@dataclass
class Context:
    """One check on one task file. The worker is forked on first use and killed by close()."""

    config: CheckConfig
    program: Program
    rubric: Rubric
    sandbox: Sandbox
    load_faults: dict[str, SubmissionFault] = field(default_factory=dict)
    """Shared by the checks of one submission: a task file that hung or crashed on load."""
    private: tuple[Path, ...] = ()
    """Folders the worker must not see (the submission's neighbours, the rubric's)."""
    walls: set[tuple[str, str]] = field(default_factory=set)
    """Shared by the checks of one submission: (isolation, processes) of every worker started."""
    shared: dict[str, Any] = field(default_factory=dict)
    """Shared by the checks of one submission: results of student code that several checks judge
    (one bounded run of a training loop), computed by the first check that needs them."""
    pool: dict[str, tuple[Worker, list[dict[str, Any]]]] = field(default_factory=dict)
    """Shared by the checks of one submission: a worker a check that only calls the student's
    functions left alive after passing, with its load errors, for the next such check of the task."""
    load_errors: list[dict[str, Any]] = field(default_factory=list)
    printed_elsewhere: str = ""
    """What the student's code printed while computing shared results this check judges."""
    _worker: Worker | None = None
    _key: str = ""
    _printed_before: str = ""

    def param(self, name: str) -> Any:
        return self.config.params[name]

    def tolerances(self) -> tuple[float, float]:
        """The check's rtol and atol."""
        return self.param("rtol"), self.param("atol")

    @property
    def task(self) -> Task:
        return self.rubric.lab.task(self.config.task)

    def sharing(self, key: str) -> dict[str, CheckConfig]:
        """The rubric's checks that judge the shared result `key` (CheckSpec.shares), by id: what the
        check computing it must run it for."""
        return {c.id: c for c in self.rubric.checks if c.id in REGISTRY and REGISTRY[c.id].shares == key}

    def worker(self, skip: tuple[str, ...] = (), timeout: float | None = None) -> Worker:
        """A worker with the submission's definitions loaded (not its training loop).

        Top-level statements calling a name in `skip` are left out of the load. `timeout` (wall
        seconds for the worker's whole life) is the check's own unless given.
        """
        if self._worker is not None:
            return self._worker
        task = self.task
        self._key = key = f"{task.id}:{','.join(skip)}"
        if key in self.load_faults:
            raise self.load_faults[key]
        if self.poolable and key in self.pool:
            self._worker, self.load_errors = self.pool.pop(key)
            if self._worker.alive:
                self._worker.renew(self.config.timeout)
                self._printed_before = self._worker.output()
                return self._worker
        lab = self.rubric.lab
        files = {SUBMISSION_NAME: self.program.source.encode(), lab.text: self.rubric.text.read_bytes()}
        limits = Limits(timeout or self.config.timeout, self.config.memory,
                        cpu_seconds=self._pool_budget() if self.poolable else None)
        self._worker = self.sandbox.worker(files, SUBMISSION_NAME, self.program.file.name, self.program.broken,
                                           limits, self.private, self.rubric.seed, kind=kind(task))
        self.walls.add((self._worker.isolation, self._worker.processes))
        try:
            loaded = self._worker.call("load", timeout=self.load_timeout, **load_request(lab, task, skip))
        except (WorkerTimeout, WorkerDied) as e:
            fault = type(e)(f"loading {self.program.file.name} did not finish: {e}")
            self.load_faults[key] = fault
            raise fault from None
        self.load_errors = list(loaded["errors"])
        return self._worker

    @property
    def load_timeout(self) -> float:
        """Seconds a task file's definitions may take to load: the rubric's, and what a worker of this
        sandbox may still have to set up meanwhile for a task of heavy workers (Sandbox.load_allowance)."""
        extra = self.sandbox.load_allowance if self.task.warm_up is not None else 0.0
        return self.rubric.load_timeout + extra

    @property
    def poolable(self) -> bool:
        """Whether this check only calls the student's functions (it does not run the training loop):
        then the worker it leaves after passing may serve the next such check, saving a start."""
        spec = REGISTRY.get(self.config.id)
        return spec is not None and EVERYTHING not in spec.calls

    def _pool_budget(self) -> float:
        """CPU seconds for a worker that may serve every such check of the task in turn."""
        return sum(c.timeout for c in self.rubric.checks if c.task == self.config.task
                   and c.id in REGISTRY and EVERYTHING not in REGISTRY[c.id].calls)

    def release(self) -> None:
        """The check passed: leave its worker for the next check that may use it, or stop it."""
        if self._worker is not None and self.poolable and self._worker.alive:
            self.pool[self._key] = (self._worker, self.load_errors)
            self._worker = None
        self.close()

    def share(self, key: str, compute: Callable[[], T]) -> T:
        """The shared result `key`, computed now by `compute` if no check of this submission has; a
        SubmissionFault it raised is raised again for every check that asks."""
        if key not in self.shared:
            try:
                self.shared[key] = compute()
            except SubmissionFault as fault:
                self.shared[key] = fault
                raise
        value = self.shared[key]
        if isinstance(value, SubmissionFault):
            raise value
        return value  # type: ignore[no-any-return]

    def printed(self) -> str:
        """What the student's code printed in this check (its beginning and end)."""
        own = self._worker.output() if self._worker is not None else ""
        if self._printed_before and own.startswith(self._printed_before):
            own = own[len(self._printed_before):]  # a worker that served earlier checks
        return own or self.printed_elsewhere

    def stuck_in(self) -> frozenset[str]:
        """The student's functions on the stack when this check's worker ran past its time limit
        (from the stack dump the worker wrote before it was killed)."""
        if self._worker is None:
            return frozenset()
        frames = STACK_FRAME.findall(self._worker.output("stderr.txt"))
        return frozenset(name for file, _, name in frames if file == self.program.file.name)

    def search(self, strategy: st.SearchStrategy[T], probe: Callable[[T], None]) -> None:
        """Look for the smallest input on which `probe` fails, over the rubric's example count."""
        search(strategy, probe, examples=int(self.param("examples")), random_seed=self.rubric.seed)

    def close(self) -> None:
        if self._worker is not None:
            self._worker.kill()
            self._worker = None


def load_request(lab: Lab, task: Task, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """What a worker's "load" is told of the lab (grader.worker.loader.load): the task's training loop,
    the other tasks' (left out), and the name of the training text."""
    others = sorted({name for t in lab.tasks if t is not task for name in t.training})
    return {"training": sorted(task.training), "others": others, "text": lab.text, "skip": list(skip)}


def kind(task: Task) -> Kind:
    """The kind of worker a task of code runs in: its operations, and its warm-up."""
    return Kind((task.worker,) if task.worker else (), task.warm_up)


@dataclass
class Written:
    """What a check of a task read as data is given (its configuration and the file), and what it leaves
    for the report: details, and the known mistake it found."""

    config: CheckConfig
    file: TaskFile
    details: dict[str, Any] = field(default_factory=dict)
    diagnosis: str | None = None

    def param(self, name: str) -> Any:
        return self.config.params[name]


@functools.cache
def reference(name: str) -> ModuleType:
    """A module of the project's reference/ folder, loaded into the grader (never a worker)."""
    path = reference_file(name)
    spec = importlib.util.spec_from_file_location(f"_grader_reference_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
