"""The worker: runs inside a confined process, loads one submission and answers requests.

The worker only runs student code and returns plain values; it never judges them. Every
failure of student code becomes an error reply, so the worker itself outlives it.
"""

from __future__ import annotations

import ctypes
import faulthandler
import importlib
import random
import socket
import sys
import threading
import time
from typing import Any, Callable

import numpy as np

from grader import protocol
from grader.sandbox.folders import is_hidden
from grader.worker import loader
from grader.worker.loader import BadAnswer, NotRunnable, Module, one_line
from grader.worker.output import capture

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
"""glibc's mallopt() parameters (malloc.h)."""
Operation = Callable[[Module, dict[str, Any]], dict[str, Any]]
OPERATIONS: dict[str, Operation] = dict(loader.OPERATIONS)
"""What the worker answers: the loader's, and those of the modules its spec names (serve)."""


def serve(spec: dict[str, Any], sock: socket.socket, confine: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Confine this process with `confine(spec)`, then answer requests until the grader hangs up.

    It serves the OPERATIONS of the modules in `spec["operations"]` besides the loader's, imported first
    (their server has imported them already: it costs nothing then). `confine` returns which walls it put
    up, or raises OSError if it could not; the first message says so: the only time the grader believes
    a worker.
    """
    try:
        served = [importlib.import_module(name) for name in spec.get("operations", [])]
    except ImportError as e:
        protocol.send(sock, {"ok": False, "kind": "internal", "message": f"cannot load a worker's operations: {e}"})
        return
    try:
        walls = confine(spec)
    except OSError as e:
        protocol.send(sock, {"ok": False, "kind": "internal", "message": f"cannot confine a worker: {e}"})
        return
    streams = capture()  # before any student code: printing never fails, nor costs much
    _reuse_freed_memory()
    for operations in served:
        OPERATIONS.update(operations.OPERATIONS)
    sys.path[:] = [p for p in sys.path if not is_hidden(p, spec["hidden"])]
    sys.argv = [spec["filename"]]
    _seed(int(spec["seed"]))
    protocol.send(sock, {"ok": True, "value": walls})
    module = Module(spec["filename"], spec["display"], spec["broken"])
    try:
        while True:
            try:
                request = protocol.receive(sock)
            except (protocol.ProtocolError, OSError):
                return
            answer = _answered(module, request)
            for stream in streams:  # the worker's own, whatever sys.stdout now is
                stream.persist()
            protocol.send(sock, answer)
    finally:
        for stream in streams:
            stream.persist()




def _reuse_freed_memory() -> None:
    """Have malloc (glibc's) keep freed memory for reuse instead of unmapping it.

    A big temporary made on every call, like a debug `print("x" * 50_000_000)` in a student's function, then
    costs its writing (2 ms) rather than page faults on fresh memory each time (25 ms): thousands
    of calls would otherwise eat a check's time. What the worker maps is still bounded by RLIMIT_AS.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError, TypeError):  # another C library (or none to name: Windows) keeps its own ways
        return
    mallopt(M_MMAP_MAX, 0)  # big blocks from the heap too (glibc still maps when the heap cannot grow)
    mallopt(M_TRIM_THRESHOLD, 2**30)  # and freed memory at its top is kept, up to 1 GiB


def _answered(module: Module, request: dict[str, Any]) -> dict[str, Any]:
    """The answer to a request; where the worker is at its `dump_in` seconds is written to stderr (fd 2),
    for a timeout to name the line it was stuck on."""
    dump_in = request.get("dump_in")
    if isinstance(dump_in, (int, float)) and dump_in > 0:
        _WATCHDOG.arm(dump_in)
    try:
        return _answer(module, request)
    finally:
        _WATCHDOG.disarm()


class _Watchdog:
    """Writes every thread's stack to fd 2 when a request runs past its moment (portable: no signal).

    It is a thread of Python, so the stacks are read under the GIL: faulthandler's own timer reads
    them from a C thread while they change, and can crash the worker it was to describe.
    """

    def __init__(self) -> None:
        self._due: float | None = None
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float) -> None:
        with self._changed:
            self._due = time.monotonic() + seconds
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="grader-watchdog", daemon=True)
                self._thread.start()
            self._changed.notify()

    def disarm(self) -> None:
        with self._changed:
            self._due = None
            self._changed.notify()

    def _watch(self) -> None:
        with self._changed:
            while True:
                left = None if self._due is None else self._due - time.monotonic()
                if left is not None and left <= 0:
                    self._due = None
                    faulthandler.dump_traceback(file=2, all_threads=True)
                else:
                    self._changed.wait(left)


_WATCHDOG = _Watchdog()


def _answer(module: Module, request: dict[str, Any]) -> dict[str, Any]:
    operation = OPERATIONS.get(str(request.get("op")))
    if operation is None:
        return {"ok": False, "kind": "exception", "message": f"the worker knows no operation {request.get('op')!r}"}
    try:
        return {"ok": True, "value": operation(module, request)}
    except BadAnswer as e:
        return {"ok": False, "kind": "bad_answer", "message": str(e)}
    except NotRunnable as e:
        return {"ok": False, "kind": "not_runnable", "message": str(e)}
    except BaseException as e:  # noqa: BLE001  (student code may raise anything, even SystemExit)
        return {"ok": False, "kind": "exception", "message": one_line(e, module)}


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)
