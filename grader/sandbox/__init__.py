"""Where student code runs: workers with deadlines, behind one interface for two backends.

Student code runs only in workers, each a process of its own holding one submission, answering
the grader's requests over a socket (grader.protocol: JSON and .npy, never pickles) and killed
with every process it started when its check is done. Two backends make them:

- `linux` (grader.sandbox.linux): a warm fork server; each worker takes namespaces of its own
  and a new root, rlimits, no capability and a seccomp filter (grader.jail).
- `process` (grader.sandbox.process): fresh interpreters started as subprocesses, a few ahead
  of time; each runs as the user in a folder of its own, its memory watched by the grader
  (macOS, Windows, or Linux when forced).

`open_sandbox()` picks `linux` where it exists; GRADER_ISOLATION=linux|process forces one. Of what
a worker sends, only its first message (before any student code ran) may speak of a fault of the
grader, or of the walls it got.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import re
import shutil
import site
import socket
import struct
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable, Collection, Mapping, Self, Sequence

from grader import protocol
from grader.lab import TASKS, TORCH_TASKS
from grader.errors import InternalError, InvalidCode, Mismatch, StudentException, UsageError, WorkerDied, \
    WorkerTimeout

BACKENDS = ("linux", "process")
PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent
"""The project's folder (the grader's package and the reference): what every worker must not see."""
PYTHON_SETTINGS = {"PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
                   "PYTHONIOENCODING": "utf-8", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                   "OPENBLAS_NUM_THREADS": "1"}
"""How every interpreter the grader starts for workers runs: the same hashes, nothing written or read from
the user's site, one thread for numerical libraries."""
ISOLATIONS = ("linux-namespaces", "linux-process", "process")
"""What a worker's walls can be, strongest first: Linux namespaces and a new root; the Linux fork
server's rlimits and seccomp without namespaces (the kernel refused them); a plain process."""
STRONG = "linux-namespaces"
STACK_FRAME = re.compile(r'File "(.+?)", line (\d+) in (\S+)')
DUMP_MARGIN = 0.5
"""Seconds before its deadline at which a worker writes where it is (faulthandler), for a timeout to name."""
WATCH_SECONDS = 0.2
"""How often a backend that watches its workers from outside (their memory) looks while waiting."""
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
    """Makes workers (use as a context manager); a backend subclasses it."""

    backend = ""
    load_allowance = 0.0
    """Seconds added to a load's time limit for what the backend's workers set up only when first used."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def worker(self, files: Mapping[str, bytes], filename: str, display: str, broken: Mapping[int, str],
               limits: Limits, hidden: Sequence[Path] = (), seed: int = 0, torch: bool = True) -> Worker:
        """Start a worker in a new folder holding `files`; it loads nothing until asked.

        The worker cannot see the folders in `hidden` (where its backend can hide anything);
        `seed` seeds its random generators; `torch`: it has torch imported (else it may, at its cost).
        """
        raise NotImplementedError

    def isolation(self) -> str:
        """The walls this sandbox's workers get (one of ISOLATIONS), found by starting one if need be."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop every worker and helper process; remove the sandbox's folder."""
        raise NotImplementedError


def backend() -> str:
    """The backend workers come from: GRADER_ISOLATION's, or the strongest this system has.

    UsageError for a backend that is unknown or unavailable here.
    """
    forced = os.environ.get("GRADER_ISOLATION", "").strip().lower()
    if forced and forced not in BACKENDS:
        raise UsageError(f"GRADER_ISOLATION={forced!r} is not a backend: use one of {', '.join(BACKENDS)}, "
                         "or leave it unset to choose the strongest this system has")
    missing = _linux_missing()
    if forced == "linux" and missing:
        raise UsageError(f"GRADER_ISOLATION=linux, but this system cannot run it ({missing}): "
                         "use GRADER_ISOLATION=process, or leave it unset")
    return forced or ("process" if missing else "linux")


def open_sandbox(tasks: Collection[str] = tuple(TASKS)) -> Sandbox:
    """A sandbox of the chosen backend (backend()) for workers of `tasks`: the process backend starts
    workers of their kinds ahead of time (any kind is still served)."""
    if backend() == "linux":
        from grader.sandbox.linux import LinuxSandbox

        return LinuxSandbox()
    from grader.sandbox.process import ProcessSandbox

    return ProcessSandbox(kinds={task in TORCH_TASKS for task in tasks})


def _linux_missing() -> str:
    """What this system lacks for the Linux backend; empty if nothing."""
    if sys.platform != "linux":
        return f"it is {sys.platform}, not Linux"
    if not hasattr(os, "fork") or not hasattr(socket, "SOCK_SEQPACKET"):
        return "Python here has no fork() or no SOCK_SEQPACKET sockets"
    try:
        import resource  # noqa: F401
    except ImportError:
        return "Python here has no resource module"
    return ""


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


class Capture:
    """A file the grader made for a worker's stdout or stderr, read without moving the worker's offset.

    Where files can be read at an offset (POSIX), it is unlinked at once and read through the grader's
    own descriptor, so its name is nowhere a worker could change it; elsewhere it keeps its name in the
    sandbox's private folder and is read through a descriptor of its own.
    """

    def __init__(self, folder: Path) -> None:
        self.fd, name = tempfile.mkstemp(dir=folder)
        self._path: Path | None = Path(name)
        if hasattr(os, "pread"):
            os.unlink(name)
            self._path = None

    def read(self) -> str:
        """The file's text: all of it, or its first and last OUTPUT_KEEP bytes and how many were left out."""
        try:
            if self._path is None:
                return _excerpt(os.fstat(self.fd).st_size, lambda n, at: os.pread(self.fd, n, at))
            with open(self._path, "rb") as f:
                return _excerpt(os.fstat(f.fileno()).st_size, lambda n, at: _read_at(f, n, at))
        except OSError:
            return ""

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)
        if self._path is not None:
            with contextlib.suppress(OSError):
                self._path.unlink()


def _excerpt(size: int, read: Callable[[int, int], bytes]) -> str:
    """A file of `size` bytes read by `read(count, offset)`: all of it, or its first and last OUTPUT_KEEP
    bytes and how many were left out."""
    if size <= 2 * OUTPUT_KEEP + OUTPUT_SLACK:
        return read(size, 0).decode(errors="replace")
    head, tail = read(OUTPUT_KEEP, 0), read(OUTPUT_KEEP, size - OUTPUT_KEEP)
    return (f"{head.decode(errors='replace')}\n[... {size - 2 * OUTPUT_KEEP:,} bytes left out ...]\n"
            f"{tail.decode(errors='replace')}")


def _read_at(file: BinaryIO, count: int, offset: int) -> bytes:
    file.seek(offset)
    return file.read(count)


def environment(keep: Collection[str], python_path: str) -> dict[str, str]:
    """The environment of an interpreter started for workers: the grader's variables named in `keep`,
    PYTHON_SETTINGS, and `python_path` (where it imports the grader from)."""
    kept = {k: v for k, v in os.environ.items() if k.upper() in keep}
    return {**kept, **PYTHON_SETTINGS, "PYTHONPATH": python_path}


def private_folder() -> Path:
    """A new folder for a sandbox, inside the one folder every sandbox of this user keeps its work in
    (so that workers can hide it whole). Resolved: inside a worker's new root no symlink of the host
    leads to it."""
    return Path(tempfile.mkdtemp(prefix="grader-", dir=_common_folder())).resolve()


def _common_folder() -> Path:
    user = os.getuid() if hasattr(os, "getuid") else _user_name()
    folder = Path(tempfile.gettempdir()) / f"lab5-grader-{user}"
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    if not hasattr(os, "getuid"):  # Windows: the user's own temporary folder is private already
        return folder
    info = folder.lstat()
    if not os.path.isdir(folder) or folder.is_symlink() or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise InternalError(f"{folder} is not a private folder of this user: remove it, or set TMPDIR")
    return folder


def _user_name() -> str:
    """The user's name as the environment gives it (Windows: USERNAME), for a folder name."""
    import getpass

    try:
        name = getpass.getuser()
    except (OSError, KeyError, ImportError, AttributeError):  # no name in the environment, no password database
        name = "user"
    return re.sub(r"[^\w.-]", "_", name)


def hideable(paths: Sequence[Path], workdir: Path) -> list[tuple[str, list[str]]]:
    """Folders a worker must not see, each with what inside it must stay visible.

    A folder holding Python itself (a virtualenv inside the project, say) or the worker's
    own folder is still hidden, with just those paths put back; a folder inside one of them
    is not hidden at all.
    """
    needed = _outermost({workdir.resolve(), *(p for p in _python_paths() if p.exists())})
    folders = {p.resolve() for p in paths if p.is_dir()}
    folders = {f for f in folders if f != Path("/") and not any(_within(f, n) for n in needed)}
    return [(str(f), [str(n) for n in needed if _within(n, f)]) for f in _outermost(folders)]


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
