"""The sandbox contract: what a backend makes (Sandbox), for which kind of worker (Kind), within what (Limits)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Self, Sequence

if TYPE_CHECKING:
    from grader.sandbox.client import Worker

ISOLATIONS = ("linux-namespaces", "linux-process", "process")
"""What a worker's walls can be, strongest first: Linux namespaces and a new root; the Linux fork
server's rlimits and seccomp without namespaces (the kernel refused them); a plain process."""
STRONG = "linux-namespaces"


@dataclass(frozen=True)
class Limits:
    """What one worker may use: wall time for its whole life, memory, output file size."""

    timeout: float
    memory_mb: int
    file_mb: int = 16
    cpu_seconds: float | None = None
    """CPU seconds for the worker's whole life (default: its timeout), for a worker that serves
    several checks one after another, each with its own deadline (Worker.renew)."""


@dataclass(frozen=True)
class Kind:
    """A kind of worker: the modules whose OPERATIONS it serves (imported, with what they import, before any
    student code runs), and the function that warms them up once imported ("package.module:function")."""

    operations: tuple[str, ...] = ()
    warm_up: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The kind as a worker program is told it (on its command line)."""
        return {"operations": list(self.operations), "warm_up": self.warm_up}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Kind:
        return cls(tuple(data.get("operations", ())), data.get("warm_up"))


def prepare(kinds: Iterable[Kind], server: bool) -> None:
    """Import every operations module of `kinds`, then call each of their warm_ups once: `server` says
    whether the workers are forked from this process (then it pays what a fork would otherwise pay)."""
    kinds = list(kinds)
    for module in dict.fromkeys(m for kind in kinds for m in kind.operations):
        importlib.import_module(module)
    for warm_up in dict.fromkeys(kind.warm_up for kind in kinds if kind.warm_up):
        module, _, function = warm_up.partition(":")
        getattr(importlib.import_module(module), function)(server=server)


class Sandbox:
    """Makes workers (use as a context manager); a backend subclasses it."""

    backend = ""
    load_allowance = 0.0
    """Seconds added to a load's time limit for what the backend's workers of a kind with a warm_up set up
    only when first used."""
    shareable = False
    """Whether processes forked from this one after it was made may join it (Sandbox.join)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def worker(self, files: Mapping[str, bytes], filename: str, display: str, broken: Mapping[int, str],
               limits: Limits, hidden: Sequence[Path] = (), seed: int = 0, kind: Kind = Kind()) -> Worker:
        """Start a worker of `kind` in a new folder holding `files`; it loads nothing until asked.

        The worker cannot see the folders in `hidden` (where its backend can hide anything);
        `seed` seeds its random generators.
        """
        raise NotImplementedError

    def join(self) -> Sandbox:
        """A sandbox of its own (its own folder and workers) on this one's shared helpers, for a process
        forked from this one after it was made (a batch's lane). Only where `shareable`."""
        raise NotImplementedError(f"the {self.backend} backend's sandboxes cannot be shared")

    def isolation(self) -> str:
        """The walls this sandbox's workers get (one of ISOLATIONS), found by starting one if need be."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop every worker and helper process; remove the sandbox's folder."""
        raise NotImplementedError
