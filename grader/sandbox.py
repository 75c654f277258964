"""The grader's side of isolation: the warm fork server, and workers with deadlines.

Student code runs only in workers. The grader starts one fork server (a fresh
interpreter that imports numpy and torch once); each worker is forked from it in a few
milliseconds, gets its own folder with a copy of the files it needs, and is killed with
its whole process group when the check is done.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import site
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from grader import protocol
from grader.errors import InternalError, InvalidCode, Mismatch, StudentException, WorkerDied, WorkerTimeout

SERVER_START_SECONDS = 120.0
STACK_FRAME = re.compile(r'File "(.+?)", line (\d+) in (\S+)')
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Limits:
    """What one worker may use: wall time for its whole life, memory, output file size."""

    timeout: float
    memory_mb: int
    file_mb: int = 16


class Sandbox:
    """One fork server and the workers forked from it (use as a context manager)."""

    def __init__(self) -> None:
        self._base = Path(tempfile.mkdtemp(prefix="grader-"))
        self._count = 0
        control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._control = control
        self._log = open(self._base / "forkserver.log", "w+b")  # noqa: SIM115 (lives with the server)
        self._server = subprocess.Popen(
            [sys.executable, "-m", "grader.forkserver", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), cwd=self._base, env=_server_environment(),
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log)
        theirs.close()
        self._ready = False

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def worker(self, files: Mapping[str, bytes], filename: str, display: str, broken: Mapping[int, str],
               limits: Limits, hidden: Sequence[Path] = (), seed: int = 0) -> Worker:
        """Fork a worker in a new folder holding `files`; it loads nothing until asked.

        The worker cannot see this project nor the folders in `hidden`; `seed` seeds its
        random generators.
        """
        self._wait_ready()
        self._count += 1
        workdir = self._base / f"w{self._count:04d}"
        workdir.mkdir()
        for name, data in files.items():
            (workdir / name).write_bytes(data)
        spec = {"workdir": str(workdir), "memory": limits.memory_mb, "cpu": int(limits.timeout) + 2,
                "file_mb": limits.file_mb, "hidden": _hideable([PACKAGE_ROOT, *hidden], self._base),
                "tmp": _private_tmp(),
                "filename": filename, "display": display, "seed": seed,
                "broken": {str(k): v for k, v in broken.items()}}
        ours, theirs = socket.socketpair()
        try:
            socket.send_fds(self._control, [json.dumps(spec).encode()], [theirs.fileno()])
            reply = json.loads(self._control.recv(65536) or b"{}")
        except OSError as e:
            raise InternalError(f"the fork server is gone: {e}{self._server_log()}") from e
        finally:
            theirs.close()
        if "pid" not in reply:
            raise InternalError(f"the fork server could not fork a worker: {reply.get('error')}")
        return Worker(int(reply["pid"]), ours, workdir, display, limits)

    def close(self) -> None:
        self._control.close()
        try:
            self._server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._server.kill()
            self._server.wait()
        self._log.close()
        shutil.rmtree(self._base, ignore_errors=True)

    def _wait_ready(self) -> None:
        if self._ready:
            return
        self._control.settimeout(SERVER_START_SECONDS)
        try:
            message = self._control.recv(1024)
        except OSError as e:
            raise InternalError(f"the fork server did not start: {e}{self._server_log()}") from e
        self._control.settimeout(None)
        if not message:
            raise InternalError(f"the fork server did not start{self._server_log()}")
        self._ready = True

    def _server_log(self) -> str:
        self._log.flush()
        self._log.seek(0)
        text = self._log.read().decode(errors="replace").strip()
        return f"\n{text[-2000:]}" if text else ""


class Worker:
    """A running worker: send it requests until its deadline, then kill it."""

    def __init__(self, pid: int, sock: socket.socket, workdir: Path, display: str, limits: Limits) -> None:
        self.pid = pid
        self.workdir = workdir
        self.display = display
        self.limits = limits
        self._sock = sock
        self._deadline = time.monotonic() + limits.timeout
        self._alive = True
        self.isolation = str(self._receive(limits.timeout).get("isolation", "unknown"))

    def call(self, op: str, timeout: float | None = None, **args: Any) -> dict[str, Any]:
        """Send one request; return the value, or raise the SubmissionFault it amounts to.

        The answer must come within `timeout` seconds, and before the worker's own deadline.
        """
        if not self._alive:
            raise WorkerDied("the worker has already stopped")
        with contextlib.suppress(OSError):  # a dead worker is reported by the receive below
            protocol.send(self._sock, {"op": op, **args})
        return self._receive(timeout)

    def _receive(self, timeout: float | None) -> dict[str, Any]:
        deadline = self._deadline if timeout is None else min(self._deadline, time.monotonic() + timeout)
        limit = self.limits.timeout if timeout is None else min(timeout, self.limits.timeout)
        try:
            reply = protocol.receive(self._sock, deadline)
        except TimeoutError:
            where = self._where_stuck()
            self.kill()
            raise WorkerTimeout(f"no answer within the time limit of {limit:g} s{where}") from None
        except (protocol.ProtocolError, OSError) as e:
            self.kill()
            raise WorkerDied(f"the worker stopped without answering ({e}): did the code call os._exit, "
                             f"exceed the {self.limits.memory_mb} MiB memory limit or crash?"
                             f"{self._tail('stderr.txt')}") from None
        return _value(reply)

    def output(self, name: str = "stdout.txt") -> str:
        """What student code printed (stdout.txt or stderr.txt)."""
        try:
            return (self.workdir / name).read_text(errors="replace")
        except OSError:
            return ""

    def kill(self) -> None:
        if self._alive:
            self._alive = False
            self._sock.close()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)

    def _where_stuck(self) -> str:
        """Ask the worker for a stack dump (SIGUSR1) and name the student's line it is running."""
        try:
            os.killpg(self.pid, signal.SIGUSR1)
        except ProcessLookupError:
            return ""
        for _ in range(40):  # up to a second for the dump
            time.sleep(0.025)
            frames = STACK_FRAME.findall(self.output("stderr.txt"))
            mine = [(line, name) for file, line, name in frames if file == self.display]
            if mine:
                line, name = mine[0]
                return f": still running {self.display} line {line} (in {name}), an endless loop?"
        return " (an endless loop?)"

    def _tail(self, name: str) -> str:
        lines = [line for line in self.output(name).strip().splitlines() if line.strip()]
        return f"; last output: {lines[-1][:200]}" if lines else ""


def _value(reply: dict[str, Any]) -> dict[str, Any]:
    if reply.get("ok") is True and isinstance(reply.get("value"), dict):
        return reply["value"]  # type: ignore[no-any-return]
    message = str(reply.get("message", "the worker sent an answer of no known form"))[:4000]
    if reply.get("kind") == "bad_answer":
        raise Mismatch(message)
    if reply.get("kind") == "not_runnable":
        raise InvalidCode(message)
    if reply.get("kind") == "internal":
        raise InternalError(message)
    raise StudentException(message)


def _hideable(paths: Sequence[Path], base: Path) -> list[tuple[str, list[str]]]:
    """Folders a worker must not see, each with what inside it must stay visible.

    A folder holding Python itself (a virtualenv inside the project, say) or the work
    folders is still hidden, with just those paths put back; a folder inside one of them
    is not hidden at all.
    """
    needed = sorted({base.resolve(), *_python_paths()})
    folders = {p.resolve() for p in paths if p.is_dir()}
    folders = {f for f in folders if f != Path("/") and not any(_within(f, n) for n in needed)}
    outermost = [f for f in folders if not any(g != f and _within(f, g) for g in folders)]
    return [(str(f), [str(n) for n in needed if _within(n, f) and n.exists()]) for f in sorted(outermost)]


def _python_paths() -> list[Path]:
    """Where Python and its packages live: a worker must always be able to read them."""
    return [p.resolve() for p in (Path(sys.prefix), Path(sys.base_prefix),
                                  *map(Path, sysconfig.get_paths().values()), *map(Path, site.getsitepackages()))]


def _private_tmp() -> str:
    """Where a worker gets its own writable temporary folder: /tmp, unless Python lives there."""
    return "/dev/shm" if any(_within(p, Path("/tmp")) for p in _python_paths()) else "/tmp"


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _server_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR", "LD_LIBRARY_PATH")}
    env.update(PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1", PYTHONNOUSERSITE="1",
               PYTHONPATH=str(PACKAGE_ROOT), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1")
    return env
