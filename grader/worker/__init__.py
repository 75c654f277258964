"""The worker: runs inside a confined process, loads one submission and answers requests.

The worker only runs student code and returns plain values; it never judges them. Every
failure of student code becomes an error reply, so the worker itself outlives it.
"""

from __future__ import annotations

import ctypes
import dataclasses
import faulthandler
import os
import random
import signal
import socket
import sys
import tempfile
from typing import Any, Callable

import numpy as np
import torch

from grader import jail, protocol
from grader.worker import loader, lstm, rnn
from grader.worker.loader import BadAnswer, NotRunnable, Module, describe
from grader.worker.output import capture

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
"""glibc's mallopt() parameters (malloc.h)."""
Operation = Callable[[Module, dict[str, Any]], dict[str, Any]]
OPERATIONS: dict[str, Operation] = {**loader.OPERATIONS, **rnn.OPERATIONS, **lstm.OPERATIONS}


def serve(spec: dict[str, Any], sock: socket.socket, output: tuple[int, int]) -> None:
    """Confine this process as `spec` says, then answer requests until the grader hangs up.

    `output` are the grader's files for its stdout and stderr. The first message says which
    walls were put up, or that they could not be: the only time the grader believes a worker.
    """
    # Python's folders, and any other on sys.path (a .pth file's, say), but the hidden ones
    visible = [*spec["visible"], *(p for p in sys.path if os.path.isabs(p) and not _hidden(p, spec["hidden"]))]
    rules = jail.Rules(spec["workdir"], spec["memory"], spec["cpu"], spec["file_mb"], visible, spec["hidden"])
    try:
        walls = jail.confine(rules, output, sock.fileno())
    except OSError as e:
        protocol.send(sock, {"ok": False, "kind": "internal", "message": f"cannot confine a worker: {e}"})
        return
    streams = capture()  # before any student code: printing never fails, nor costs much
    _reuse_freed_memory()
    faulthandler.register(signal.SIGUSR1, all_threads=False)  # where it hangs, asked before a kill (to fd 2)
    if walls.isolation == "namespaces":
        os.environ["TMPDIR"] = "/tmp"  # its own, in its new root
        tempfile.tempdir = None  # computed again, from TMPDIR
    sys.path[:] = [p for p in sys.path if not _hidden(p, spec["hidden"])]
    sys.argv = [spec["filename"]]
    _seed(int(spec["seed"]))
    protocol.send(sock, {"ok": True, "value": dataclasses.asdict(walls)})
    module = Module(spec["filename"], spec["display"], spec["broken"])
    try:
        while True:
            try:
                request = protocol.receive(sock)
            except (protocol.ProtocolError, OSError):
                return
            answer = _answer(module, request)
            for stream in streams:  # the worker's own, whatever sys.stdout now is
                stream.persist()
            protocol.send(sock, answer)
    finally:
        for stream in streams:
            stream.persist()


def _reuse_freed_memory() -> None:
    """Have malloc (glibc's) keep freed memory for reuse instead of unmapping it.

    A big temporary made on every call, like a debug `print("x" * 50_000_000)` in lossFun, then
    costs its writing (2 ms) rather than page faults on fresh memory each time (25 ms): thousands
    of calls would otherwise eat a check's time. What the worker maps is still bounded by RLIMIT_AS.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except AttributeError:  # another C library: it keeps its own ways
        return
    mallopt(M_MMAP_MAX, 0)  # big blocks from the heap too (glibc still maps when the heap cannot grow)
    mallopt(M_TRIM_THRESHOLD, 2**30)  # and freed memory at its top is kept, up to 1 GiB


def _hidden(path: str, hidden: list[tuple[str, list[str]]]) -> bool:
    """Whether `path` lies in a hidden folder, outside what that folder keeps visible."""

    def within(p: str, folder: str) -> bool:
        return p == folder or p.startswith(folder.rstrip("/") + "/")

    return any(within(path, folder) and not any(within(path, k) for k in keep) for folder, keep in hidden)


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
        return {"ok": False, "kind": "exception", "message": describe(e, module)}


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
