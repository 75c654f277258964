"""The grader's side of isolation: the warm fork server, and workers with deadlines.

Student code runs only in workers. The grader starts one fork server (a fresh
interpreter that imports numpy and torch once); each worker is forked from it in a few
milliseconds, gets its own folder with a copy of the files it needs, and is killed with
its whole process group when the check is done. What a worker prints goes to files the
grader made and reads only through its own descriptors; of what a worker sends, only its
first message (before any student code ran) may speak of a fault of the grader.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import re
import shutil
import signal
import site
import socket
import stat
import struct
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from grader import protocol
from grader.resources import installed
from grader.errors import InternalError, InvalidCode, Mismatch, StudentException, WorkerDied, WorkerTimeout

SERVER_START_SECONDS = 120.0
CHANNEL = b'{"channel": true}'
"""Asks the fork server to take the one socket sent with it as another control socket."""
STACK_FRAME = re.compile(r'File "(.+?)", line (\d+) in (\S+)')
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
"""What a worker sees of the host besides Python (read-only): programs, libraries, settings."""
OUTPUT_KEEP = 64 * 1024
"""Bytes of a worker's output read from its beginning, and as many from its end (what the worker's
own capped streams keep: grader.worker.output.KEEP)."""
OUTPUT_SLACK = 4 * 1024
"""Room for the line in which the worker says how much it left out: a file of up to 2 OUTPUT_KEEP +
OUTPUT_SLACK bytes is read whole."""
OUTPUTS = ("stdout.txt", "stderr.txt")
BROKEN_REPLY = (protocol.ProtocolError, OSError, ValueError, TypeError, LookupError, ArithmeticError,
                RecursionError, MemoryError, EOFError, struct.error)
"""What decoding a reply may raise: its bytes come from student code, so each is the worker's fault."""


@dataclass(frozen=True)
class Limits:
    """What one worker may use: wall time for its whole life, memory, output file size."""

    timeout: float
    memory_mb: int
    file_mb: int = 16
    cpu_seconds: float | None = None
    """CPU seconds for the worker's whole life (default: its timeout), for a worker that serves
    several checks one after another, each with its own deadline (Worker.renew)."""


class Sandbox:
    """One fork server and the workers forked from it (use as a context manager).

    `Sandbox(on=other)` uses the fork server of `other` (a Sandbox made before this process was
    forked from its maker, as a batch's lanes are) through a control socket of its own, with its
    own folder: one server, its torch imported and warmed once, serves every lane.
    """

    def __init__(self, on: Sandbox | None = None) -> None:
        # resolved: inside a worker's new root, no symlink of the host leads to it
        self._base = Path(tempfile.mkdtemp(prefix="grader-", dir=_common_folder())).resolve()
        self._count = 0
        self._ready = False
        control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._control = control
        self._server: subprocess.Popen[bytes] | None = None
        if on is None:
            self._log_path = self._base / "forkserver.log"
            with open(self._log_path, "wb") as log:
                self._server = subprocess.Popen(
                    [sys.executable, "-m", "grader.forkserver", str(theirs.fileno())],
                    pass_fds=(theirs.fileno(),), cwd=self._base, env=_server_environment(),
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    start_new_session=True)  # a Ctrl-C meant for a batch reaches its lanes, not the servers mid-check
            theirs.close()
        else:
            self._log_path = on._log_path
            try:
                socket.send_fds(on._control, [CHANNEL], [theirs.fileno()])  # one message: lanes cannot interleave
            except OSError as e:
                control.close()
                shutil.rmtree(self._base, ignore_errors=True)
                raise InternalError(f"the fork server is gone: {e}") from e
            finally:
                theirs.close()

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
        workdir.mkdir(mode=0o700)
        for name, data in files.items():
            (workdir / name).write_bytes(data)
        spec = {"workdir": str(workdir), "memory": limits.memory_mb,
                "cpu": int(limits.cpu_seconds or limits.timeout) + 2, "file_mb": limits.file_mb, "visible": _visible(),
                "hidden": [*_hideable([PACKAGE_ROOT, *hidden], workdir), *_installed_data(),
                           (str(self._base.parent), [str(workdir)])],
                "filename": filename, "display": display, "seed": seed,
                "broken": {str(k): v for k, v in broken.items()}}
        output = (_capture_file(self._base), _capture_file(self._base))
        try:
            pid, sock = self._fork(spec, output)
        except InternalError:
            for fd in output:
                os.close(fd)
            raise
        return Worker(pid, sock, workdir, display, limits, output)

    def _fork(self, spec: dict[str, Any], output: tuple[int, int]) -> tuple[int, socket.socket]:
        """Ask the fork server for a worker; its pid and the grader's end of its socket."""
        ours, theirs = socket.socketpair()
        try:
            socket.send_fds(self._control, [json.dumps(spec).encode()], [theirs.fileno(), *output])
            reply = json.loads(self._control.recv(65536) or b"{}")
        except OSError as e:
            ours.close()
            raise InternalError(f"the fork server is gone: {e}{self._server_log()}") from e
        finally:
            theirs.close()
        if "pid" not in reply:
            ours.close()
            raise InternalError(f"the fork server could not fork a worker: {reply.get('error')}")
        return int(reply["pid"]), ours

    def close(self) -> None:
        """Stop using the server (and stop it, if this Sandbox started it); remove the folder."""
        self._control.close()
        if self._server is not None:
            if not self._ready:  # still importing torch for workers nobody asked for: no need to wait
                self._server.kill()
            try:
                self._server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._server.kill()
                self._server.wait()
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
        try:
            text = self._log_path.read_bytes().decode(errors="replace").strip()
        except OSError:
            text = ""
        return f"\n{text[-2000:]}" if text else ""


class Worker:
    """A running worker: send it requests until its deadline, then kill it."""

    def __init__(self, pid: int, sock: socket.socket, workdir: Path, display: str, limits: Limits,
                 output: tuple[int, int]) -> None:
        self.pid = pid
        self.workdir = workdir
        self.display = display
        self.limits = limits
        self._sock = sock
        self._output = dict(zip(OUTPUTS, output, strict=True))
        self._printed: dict[str, str] = {}
        self._deadline = time.monotonic() + limits.timeout
        self._alive = True
        walls = self._hello()
        self.isolation = str(walls.get("isolation", "unknown"))
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
        with contextlib.suppress(OSError):  # a dead worker is reported by the receive below
            protocol.send(self._sock, {"op": op, **args})
        reply = self._receive(timeout)
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

    def _receive(self, timeout: float | None) -> dict[str, Any]:
        deadline = self._deadline if timeout is None else min(self._deadline, time.monotonic() + timeout)
        limit = self.limits.timeout if timeout is None else min(timeout, self.limits.timeout)
        try:
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

    def output(self, name: str = "stdout.txt") -> str:
        """What student code printed (stdout.txt or stderr.txt): all of it, or its beginning and end."""
        if name not in OUTPUTS:
            raise ValueError(f"a worker's output is one of {OUTPUTS}, not {name!r}")
        if name in self._printed:
            return self._printed[name]
        return _read_output(self._output[name])

    def kill(self) -> None:
        """Kill the worker and all its processes; keep what it printed, remove its folder."""
        if not self._alive:
            return
        self._alive = False
        self._sock.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self._printed = {name: _read_output(fd) for name, fd in self._output.items()}
        for fd in self._output.values():
            os.close(fd)
        shutil.rmtree(self.workdir, ignore_errors=True)

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


def _read_output(fd: int) -> str:
    """A capture file's text, through the grader's own descriptor: all of it, or its first and
    last OUTPUT_KEEP bytes and how many were left out."""
    size = os.fstat(fd).st_size
    if size <= 2 * OUTPUT_KEEP + OUTPUT_SLACK:
        return os.pread(fd, size, 0).decode(errors="replace")
    head, tail = os.pread(fd, OUTPUT_KEEP, 0), os.pread(fd, OUTPUT_KEEP, size - OUTPUT_KEEP)
    return (f"{head.decode(errors='replace')}\n[... {size - 2 * OUTPUT_KEEP:,} bytes left out ...]\n"
            f"{tail.decode(errors='replace')}")


def _capture_file(folder: Path) -> int:
    """A new file, already unlinked, for a worker's output: its name is nowhere a worker could change it."""
    fd, path = tempfile.mkstemp(dir=folder)
    os.unlink(path)
    return fd


def _common_folder() -> Path:
    """The one folder every Sandbox of this user keeps its work in, so that workers can hide it whole."""
    folder = Path(tempfile.gettempdir()) / f"lab5-grader-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise InternalError(f"{folder} is not a private folder of this user: remove it, or set TMPDIR")
    return folder


@functools.cache
def _visible() -> list[str]:
    """What a worker sees of the host, read-only: the system's folders, and Python's as spelled here."""
    python = [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix,
              *sysconfig.get_paths().values(), *site.getsitepackages()]
    return sorted({*SYSTEM_FOLDERS, *(os.path.abspath(p) for p in python)})


def _hideable(paths: Sequence[Path], workdir: Path) -> list[tuple[str, list[str]]]:
    """Folders a worker must not see, each with what inside it must stay visible.

    A folder holding Python itself (a virtualenv inside the project, say) or the worker's
    own folder is still hidden, with just those paths put back; a folder inside one of them
    is not hidden at all.
    """
    needed = _outermost({workdir.resolve(), *(p for p in _python_paths() if p.exists())})
    folders = {p.resolve() for p in paths if p.is_dir()}
    folders = {f for f in folders if f != Path("/") and not any(_within(f, n) for n in needed)}
    return [(str(f), [str(n) for n in needed if _within(n, f)]) for f in _outermost(folders)]


def _installed_data() -> list[tuple[str, list[str]]]:
    """An installed grader's copy of the reference and rubric (grader.resources): hidden although it lies
    inside site-packages, which a worker must see."""
    data = installed()
    return [(str(data.resolve()), [])] if data is not None else []


def _outermost(paths: set[Path]) -> list[Path]:
    """The paths not inside another of them, in order."""
    return sorted(p for p in paths if not any(q != p and _within(p, q) for q in paths))


@functools.cache
def _python_paths() -> tuple[Path, ...]:
    """Where Python and its packages live: a worker must always be able to read them."""
    return tuple(p.resolve() for p in (Path(sys.prefix), Path(sys.base_prefix),
                                       *map(Path, sysconfig.get_paths().values()),
                                       *map(Path, site.getsitepackages())))


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _server_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR", "LD_LIBRARY_PATH")}
    env.update(PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1", PYTHONNOUSERSITE="1",
               PYTHONPATH=str(PACKAGE_ROOT), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1")
    return env
