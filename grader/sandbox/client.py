"""The grader's side of one running worker: its requests, deadlines, first message and kill."""

from __future__ import annotations

import contextlib
import dataclasses
import re
import shutil
import socket
import struct
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from grader import protocol
from grader.errors import InternalError, InvalidCode, Mismatch, StudentException, WorkerDied, WorkerTimeout
from grader.sandbox.capture import OUTPUTS, Capture
from grader.sandbox.contract import Limits

STACK_FRAME = re.compile(r'File "(.+?)", line (\d+) in (\S+)')
DUMP_MARGIN = 0.5
"""Seconds before its deadline at which a worker writes where it is (faulthandler), for a timeout to name."""
WATCH_SECONDS = 0.2
"""How often a backend that watches its workers from outside (their memory) looks while waiting."""
BROKEN_REPLY = (protocol.ProtocolError, OSError, ValueError, TypeError, LookupError, ArithmeticError,
                RecursionError, MemoryError, EOFError, struct.error)
"""What decoding a reply may raise: its bytes come from student code, so each is the worker's fault."""


class Worker:
    """A running worker: send it requests until its deadline, then kill it."""

    def __init__(self, pid: int, sock: socket.socket, workdir: Path, display: str, limits: Limits,
                 output: Mapping[str, Capture], stop: Callable[[], None], prefix: str = "",
                 watch: Callable[[], str] | None = None) -> None:
        self.pid = pid
        self.workdir = workdir
        self.display = display
        self.limits = limits
        self._sock = sock
        self._output = dict(output)
        self._stop = stop
        self._watch = watch
        """Says why a worker must stop (over its memory), checked while waiting; None: the kernel does."""
        self._printed: dict[str, str] = {}
        self._deadline = time.monotonic() + limits.timeout
        self._alive = True
        walls = self._hello()
        self.isolation = prefix + str(walls.get("isolation", "unknown"))
        """One of ISOLATIONS (`prefix`, the backend's, before what the worker got)."""
        self.processes = str(walls.get("processes", "unknown"))
        """What stops the worker's new processes: 'seccomp', 'rlimit' or 'none'."""

    @property
    def alive(self) -> bool:
        return self._alive

    def renew(self, timeout: float) -> None:
        """A new deadline, `timeout` seconds from now, for the next check this worker serves."""
        self.limits = dataclasses.replace(self.limits, timeout=timeout)
        self._deadline = time.monotonic() + timeout

    def call(self, op: str, timeout: float | None = None, **args: Any) -> dict[str, Any]:
        """Send one request; return the value, or raise the SubmissionFault it amounts to.

        The answer must come within `timeout` seconds, and before the worker's own deadline.
        """
        if not self._alive:
            raise WorkerDied("the worker has already stopped")
        deadline = self._deadline if timeout is None else min(self._deadline, time.monotonic() + timeout)
        left = deadline - time.monotonic()
        dump_in = max(left - min(DUMP_MARGIN, left / 10), 0.0)  # where it is, written before the kill
        with contextlib.suppress(OSError):  # a dead worker is reported by the receive below
            protocol.send(self._sock, {"op": op, "dump_in": dump_in, **args})
        reply = self._receive(deadline, self.limits.timeout if timeout is None else min(timeout, self.limits.timeout))
        try:
            return _value(reply)
        except WorkerDied:  # it sent what no worker may send: nothing it says from now on counts
            self.kill()
            raise

    def _hello(self) -> dict[str, Any]:
        """The worker's first message, sent once confined and before any student code ran."""
        try:
            reply = protocol.receive(self._sock, self._deadline)
        except (TimeoutError, *BROKEN_REPLY) as e:
            self.kill()
            raise InternalError(f"a worker did not start ({type(e).__name__}: {e})"
                                f"{self._tail('stderr.txt')}") from None
        if reply.get("ok") is not True or not isinstance(reply.get("value"), dict):
            self.kill()
            raise InternalError(str(reply.get("message", "a worker did not say how it is confined"))[:4000])
        return reply["value"]  # type: ignore[no-any-return]

    def _receive(self, deadline: float, limit: float) -> dict[str, Any]:
        try:
            self._wait(deadline)
            return protocol.receive(self._sock, deadline)
        except TimeoutError:
            where = self._where_stuck()
            self.kill()
            raise WorkerTimeout(f"no answer within the time limit of {limit:g} s{where}") from None
        except BROKEN_REPLY as e:
            self.kill()
            raise WorkerDied(f"the worker stopped without answering ({e}): did the code call os._exit, "
                             f"exceed the {self.limits.memory_mb} MiB memory limit or crash?"
                             f"{self._tail('stderr.txt')}") from None

    def _wait(self, deadline: float) -> None:
        """Wait for the answer to begin, watching the worker meanwhile if its backend does."""
        if self._watch is None:
            return
        while not protocol.readable(self._sock, min(deadline, time.monotonic() + WATCH_SECONDS)):
            if time.monotonic() >= deadline:
                raise TimeoutError
            why = self._watch()
            if why:
                self.kill()
                raise WorkerDied(f"the worker was stopped: {why}")

    def output(self, name: str = "stdout.txt") -> str:
        """What student code printed (stdout.txt or stderr.txt): all of it, or its beginning and end."""
        if name not in OUTPUTS:
            raise ValueError(f"a worker's output is one of {OUTPUTS}, not {name!r}")
        if name in self._printed:
            return self._printed[name]
        return self._output[name].read()

    def kill(self) -> None:
        """Kill the worker and all its processes; keep what it printed, remove its folder."""
        if not self._alive:
            return
        self._alive = False
        self._sock.close()
        self._stop()
        self._printed = {name: capture.read() for name, capture in self._output.items()}
        for capture in self._output.values():
            capture.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _where_stuck(self) -> str:
        """The student's line the worker was running when it wrote where it was (DUMP_MARGIN before
        its deadline, through faulthandler)."""
        for _ in range(40):  # up to a second for a dump still being written
            frames = STACK_FRAME.findall(self.output("stderr.txt"))
            mine = [(line, name) for file, line, name in frames if file == self.display]
            if mine:
                line, name = mine[0]
                return f": still running {self.display} line {line} (in {name}), an endless loop?"
            time.sleep(0.025)
        return " (an endless loop?)"

    def _tail(self, name: str) -> str:
        lines = [line for line in self.output(name).strip().splitlines() if line.strip()]
        return f"; last output: {lines[-1][:200]}" if lines else ""


def _value(reply: dict[str, Any]) -> dict[str, Any]:
    """The value of a reply, or the fault it reports; a reply of no kind a worker may send
    (even 'internal': the worker may be student code by now) is a broken worker."""
    if reply.get("ok") is True and isinstance(reply.get("value"), dict):
        return reply["value"]  # type: ignore[no-any-return]
    message = str(reply.get("message", "the worker sent an answer of no known form"))[:4000]
    kind = reply.get("kind")
    if kind == "bad_answer":
        raise Mismatch(message)
    if kind == "not_runnable":
        raise InvalidCode(message)
    if kind == "exception":
        raise StudentException(message)
    raise WorkerDied(f"the worker sent an answer of no kind it may send ({str(kind)[:40]}: {message}); "
                     "did the code change the worker?")
