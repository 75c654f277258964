"""The portable backend: workers that are fresh interpreters, a few started ahead of time.

Each worker is `python -m grader.sandbox.process.spawned` (never a fork), started as a subprocess in a
new process group, its stdout and stderr on files the grader made. It imports numpy and the operations
of its kind of worker, warmed up, connects to this sandbox's socket on 127.0.0.1 and proves who it is
with a random token it read on stdin; then it waits for the one check it will serve. A sandbox keeps
POOL_SIZE workers of each kind starting or waiting, so that the next check rarely waits for an
interpreter. The grader watches each worker's memory while it waits for an answer, and kills the
worker with its whole process tree (psutil).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Collection, Mapping, Sequence

import psutil

from grader import protocol
from grader.errors import InternalError
from grader.sandbox.capture import OUTPUTS, Capture
from grader.sandbox.client import Worker
from grader.sandbox.contract import Kind, Limits, Sandbox
from grader.sandbox.environment import environment
from grader.sandbox.folders import PACKAGE_ROOT, hideable, private_folder

POOL_SIZE = 2
"""Workers kept starting or waiting: the next check's is ready while this one runs."""
START_SECONDS = 120.0
"""How long an interpreter may take to import its operations, warm them up and connect."""
TOKEN_SECONDS = 5.0
"""How long a connection may take to say its token."""
ENVIRONMENT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TEMP", "TMP", "LD_LIBRARY_PATH", "USER", "LOGNAME",
               "USERNAME", "SYSTEMROOT", "WINDIR", "USERPROFILE", "APPDATA", "LOCALAPPDATA", "HOMEDRIVE", "HOMEPATH",
               "COMSPEC", "PATHEXT")
"""What a worker keeps of the grader's environment: Windows needs SYSTEMROOT even for sockets, and some
libraries ask for the user's name (getpass: USER, LOGNAME or USERNAME)."""
NEW_GROUP = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)


@dataclass
class _Started:
    """A worker interpreter on its way: its process, token and output files, and its kind."""

    process: subprocess.Popen[bytes]
    token: bytes
    output: dict[str, Capture]
    kind: Kind


class ProcessSandbox(Sandbox):
    """Workers started as fresh interpreters, POOL_SIZE of each kind ahead of time (those with a warm_up
    first: they take longest to start)."""

    backend = "process"
    load_allowance = 10.0
    """What a warm_up leaves to a worker's first use (an optimizer's first construction: 1.6 s here, several
    times that on a slow laptop) happens in the load of a task file: these workers warm up as workers
    (server=False), not once for all as the fork server does."""

    def __init__(self, size: int = POOL_SIZE, kinds: Collection[Kind] = ()) -> None:
        """`kinds`: which workers to start ahead of time, before any is asked for."""
        self._base = private_folder()
        self._count = 0
        self._size = size
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._port = self._listener.getsockname()[1]
        self._starting: dict[Kind, deque[_Started]] = {}
        self._pending: set[bytes] = set()
        """Tokens of the workers started and not yet connected."""
        self._connected: dict[bytes, socket.socket] = {}
        for kind in sorted(dict.fromkeys(kinds), key=lambda k: k.warm_up is None):  # warmed ones first: slowest
            self._fill(kind)

    def isolation(self) -> str:
        return "process"

    def ahead(self) -> list[int]:
        """The pids of the workers started ahead of time, waiting for a check (or still starting)."""
        return [s.process.pid for kind in self._starting.values() for s in kind]

    def worker(self, files: Mapping[str, bytes], filename: str, display: str, broken: Mapping[int, str],
               limits: Limits, hidden: Sequence[Path] = (), seed: int = 0, kind: Kind = Kind()) -> Worker:
        """A started interpreter of `kind` given a new folder holding `files`; it loads nothing until asked.
        A plain process can hide nothing: `hidden` only leaves sys.path.
        """
        waiting = self._starting.get(kind)
        started = waiting.popleft() if waiting else self._start(kind)
        self._fill(kind)  # the next one starts now, while this one serves
        try:
            sock = self._connection(started)
        except InternalError:
            _kill_tree(started.process)
            for capture in started.output.values():
                capture.close()
            raise
        self._count += 1
        workdir = self._base / f"w{self._count:04d}"
        workdir.mkdir(mode=0o700)
        for name, data in files.items():
            (workdir / name).write_bytes(data)
        hide = hideable([PACKAGE_ROOT, *hidden], workdir)
        spec = {"workdir": str(workdir), "memory": limits.memory_mb, "file_mb": limits.file_mb,
                "cpu": int(limits.cpu_seconds or limits.timeout) + 2, "hidden": hide, "filename": filename,
                "display": display, "seed": seed, "broken": {str(k): v for k, v in broken.items()},
                "operations": list(kind.operations)}
        with contextlib.suppress(OSError):  # a worker gone meanwhile is reported by its first answer
            protocol.send(sock, spec)
        watch = _MemoryWatch(started.process.pid, limits.memory_mb)
        return Worker(started.process.pid, sock, workdir, display, limits, started.output,
                      lambda: _kill_tree(started.process), watch=watch)

    def close(self) -> None:
        """Kill every worker still starting or waiting; remove the folder."""
        for started in [s for waiting in self._starting.values() for s in waiting]:
            _kill_tree(started.process)
            for capture in started.output.values():
                capture.close()
        self._starting = {}
        for sock in self._connected.values():
            sock.close()
        self._listener.close()
        shutil.rmtree(self._base, ignore_errors=True)

    def _fill(self, kind: Kind) -> None:
        waiting = self._starting.setdefault(kind, deque())
        while len(waiting) < self._size:
            waiting.append(self._start(kind))

    def _start(self, kind: Kind) -> _Started:
        output = {name: Capture(self._base) for name in OUTPUTS}
        token = secrets.token_hex(32).encode()
        process = subprocess.Popen(
            [sys.executable, "-m", "grader.sandbox.process.spawned", str(self._port), json.dumps(kind.to_json())],
            cwd=self._base,
            env=environment(ENVIRONMENT, _python_path()), stdin=subprocess.PIPE, stdout=output["stdout.txt"].fd,
            stderr=output["stderr.txt"].fd, start_new_session=True, creationflags=NEW_GROUP)
        assert process.stdin is not None
        with contextlib.suppress(OSError):  # one that died at once is reported when it does not connect
            process.stdin.write(token)
            process.stdin.close()
        self._pending.add(token)
        return _Started(process, token, output, kind)

    def _connection(self, started: _Started) -> socket.socket:
        """The socket of `started`, once it connected and said its token (others' are kept for later)."""
        deadline = time.monotonic() + START_SECONDS
        while started.token not in self._connected:
            if started.process.poll() is not None:
                raise InternalError(f"a worker did not start (exit {started.process.returncode})"
                                    f"{_last_line(started.output['stderr.txt'])}")
            if time.monotonic() > deadline:
                raise InternalError(f"a worker did not start within {START_SECONDS:g} s")
            if protocol.readable(self._listener, min(deadline, time.monotonic() + 0.5)):
                self._accept()
        sock = self._connected.pop(started.token)
        sock.settimeout(None)
        return sock

    def _accept(self) -> None:
        """Take one connection, kept by its token; one that says no token of ours is closed."""
        sock, _ = self._listener.accept()
        sock.settimeout(TOKEN_SECONDS)
        try:
            token = _read_token(sock)
        except OSError:
            token = b""
        if token in self._pending:
            self._pending.discard(token)
            self._connected[token] = sock
        else:
            sock.close()


def _read_token(sock: socket.socket) -> bytes:
    data = b""
    while len(data) < protocol.TOKEN_BYTES:
        chunk = sock.recv(protocol.TOKEN_BYTES - len(data))
        if not chunk:
            break
        data += chunk
    return data


class _MemoryWatch:
    """Says when a worker's process tree holds more than its memory limit above what it held at start."""

    def __init__(self, pid: int, memory_mb: int) -> None:
        self._pid = pid
        self._memory_mb = memory_mb
        self._start = _resident(pid)

    def __call__(self) -> str:
        used = _resident(self._pid) - self._start
        if used > self._memory_mb * 2**20:
            return f"it used {used / 2**20:,.0f} MiB, over its memory limit of {self._memory_mb} MiB"
        return ""


def _resident(pid: int) -> int:
    """Resident bytes of a process and all its descendants (0 for those gone)."""
    total = 0
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        for process in (root, *root.children(recursive=True)):
            with contextlib.suppress(psutil.Error):
                total += process.memory_info().rss
    return total


def _kill_tree(process: subprocess.Popen[bytes]) -> None:
    """Kill a worker and every process it started: stopped first, so that none starts another meanwhile."""
    tree: dict[int, psutil.Process] = {}
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(process.pid)
        for _ in range(3):  # a process started just before its parent stopped is found the next time
            for member in (root, *root.children(recursive=True)):
                if member.pid not in tree:
                    tree[member.pid] = member
                    with contextlib.suppress(psutil.Error):
                        member.suspend()
    for member in tree.values():
        with contextlib.suppress(psutil.Error):
            member.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)  # reaped: no zombie left behind
    psutil.wait_procs([m for m in tree.values() if m.pid != process.pid], timeout=2)


def _last_line(capture: Capture) -> str:
    lines = [line for line in capture.read().splitlines() if line.strip()]
    return f"; last output: {lines[-1][:300]}" if lines else ""


def _python_path() -> str:
    """The grader's folder first, then the user's PYTHONPATH (a worker drops it before any student code)."""
    return os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH", "")]))
