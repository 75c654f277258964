"""What the engine knows of a lab and its tasks: the specs each task package fills in (a leaf module)."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any, Callable

CODE_SUFFIXES = (".py", ".ipynb")
"""The files a task of code is found in."""


@dataclass(frozen=True)
class Mistake:
    """One known mistake: its id, the part of its task it lives in, and what the student did."""

    id: str
    part: str
    words: str


@dataclass(frozen=True)
class Task:
    """One task of a lab, as the engine knows it: how its file is found, what its workers serve, and
    where its checks are. The checks say what is right; the engine never names a task."""

    id: str
    """The task's id in reports and check configs."""
    name: str
    """What users type to choose it (`grader check --task NAME`); with `id`, the words in a file's name
    that say it is meant for this task."""
    found: str
    """What a file found for it does, in a note about several: "define a function f"."""
    missing: str
    """The message of its checks when no file is found; `{looked}` is replaced by the files looked at."""
    pattern: re.Pattern[str]
    """What a file's text must hold to be this task's (found by content, never by file name)."""
    checks: tuple[str, ...]
    """Modules that register its checks and diagnosers when imported (grader.registry, grader.mistakes)."""
    parts: tuple[str, ...] = ()
    """Its parts in the order a failed check asks them for a known mistake (the student's functions,
    then the training loop); a check reaches those it calls (CheckSpec.calls), or all of them."""
    mistakes: tuple[Mistake, ...] = ()
    suffixes: tuple[str, ...] = CODE_SUFFIXES
    """The kinds of file it is found in."""
    worker: str | None = ""
    """The module of the operations its workers serve ("" for the loader's own only); None for a task
    read as data in the grader's process, whose checks are given the file (grader.context.Written)."""
    warm_up: str | None = None
    """"module:function" warming its workers' imports, called with server=True where one server forks
    every worker; a task with one has heavy workers (started ahead, given longer to load)."""
    training: frozenset[str] = frozenset()
    """A top-level loop that uses one of these names is the task's training loop."""
    prepare: str | None = None
    """"module:function" the grader itself runs before grading the task (an import its checks need)."""
    complete: Callable[[str], bool] | None = None
    """Whether a file's text looks finished, to choose among several (default: it compiles)."""

    @property
    def runs_code(self) -> bool:
        return self.worker is not None

    @property
    def words(self) -> tuple[str, ...]:
        return (self.id, self.name)


@dataclass(frozen=True)
class Lab:
    """A lab sheet: its title, the training text every script opens, and its tasks in report order."""

    title: str
    """"Lab 5": in page titles and help."""
    subject: str
    """What it is about, in the CLI's help: "RNN and LSTM"."""
    slug: str
    """"lab5": in names of machines' formats (a JUnit suite, pytest's option) and folders."""
    text: str
    """The name of the training text each script opens, whatever path it gives (the rubric says which file)."""
    tasks: tuple[Task, ...]

    def task(self, task_id: str) -> Task:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise KeyError(task_id)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(task.id for task in self.tasks)


def call(where: str) -> Callable[..., Any]:
    """The function named "package.module:function"."""
    module, _, function = where.partition(":")
    return getattr(importlib.import_module(module), function)  # type: ignore[no-any-return]
