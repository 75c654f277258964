"""The portable worker program: a fresh interpreter that waits, warm, to serve one check.

Started by grader.sandbox.process as `python -m grader.worker.spawned PORT [torch]`, with a token of
its own on stdin. It imports numpy (and torch, warmed, when asked), connects to the grader on
127.0.0.1:PORT, says its token, and waits for the spec of the check it is to serve. Then it walls
itself off as far as a plain process can: its own folder and temporary folder, rlimits on CPU time,
file size and core dumps where the system has them (and memory, on Linux), and an exit when the
grader is gone; the grader watches its memory and kills its whole process tree. It never uses
fork, nor anything only POSIX has.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_name] = "1"

from grader import protocol  # noqa: E402

ORPHAN_CHECK_SECONDS = 1.0
TASKS = 32
"""New processes and threads a worker may start, where only a bound on all of the user's holds (macOS)."""


def main(argv: list[str]) -> int:
    port, with_torch = int(argv[0]), "torch" in argv[1:]
    token = sys.stdin.buffer.read(protocol.TOKEN_BYTES)
    if with_torch:
        from grader.tasks.lstm.worker import warm_up

        warm_up(server=False)  # in the check that trains, if any: most checks of task 3 never do
    from grader.worker import serve  # imports numpy, and torch as lazily as its operations allow

    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(token)
    try:
        spec = protocol.receive(sock)
    except (protocol.ProtocolError, OSError):
        return 0  # the grader closed without needing this worker
    serve(spec, sock, confine)
    return 0


def confine(spec: dict[str, object]) -> dict[str, object]:
    """The walls of a plain process: its folder, its own temporary folder, rlimits where they exist,
    and no life beyond the grader's."""
    workdir = str(spec["workdir"])
    os.chdir(workdir)
    temporary = os.path.join(workdir, ".tmp")
    os.makedirs(temporary, exist_ok=True)
    for name in ("TMPDIR", "TEMP", "TMP"):
        os.environ[name] = temporary
    import tempfile

    tempfile.tempdir = None  # computed again, from TMPDIR
    os.environ.pop("PYTHONPATH", None)  # it names the grader's folder
    _limit(int(spec["memory"]), int(spec["cpu"]), int(spec["file_mb"]))  # type: ignore[call-overload]
    threading.Thread(target=_exit_with, args=(os.getppid(),), daemon=True).start()
    return {"isolation": "process", "processes": _bound_processes(),
            "uid": os.getuid() if hasattr(os, "getuid") else None}


def _bound_processes() -> str:
    """On Linux, the seccomp filter of the Linux backend's workers, new sockets refused too (this worker
    shares the host's network); elsewhere a bound on the user's processes where one holds; or nothing
    (Windows: the grader kills the worker's whole process tree)."""
    if sys.platform == "linux":
        from grader import seccomp

        if seccomp.forbid_processes(sockets=True):
            return "seccomp"
    try:
        import resource
    except ImportError:
        return "none"
    if not hasattr(os, "getuid") or os.getuid() == 0:  # root's count is not bounded
        return "none"
    import psutil

    uid = os.getuid()
    own = sum(1 for p in psutil.process_iter(["uids"]) if p.info["uids"] is not None and p.info["uids"].real == uid)
    try:
        resource.setrlimit(resource.RLIMIT_NPROC, (own + TASKS, own + TASKS))
    except (ValueError, OSError):
        return "none"
    return "rlimit"


def _limit(memory_mb: int, cpu_seconds: int, file_mb: int) -> None:
    """CPU time, file size and core dumps, where Python has `resource` (not on Windows: there the grader's
    deadline and memory watch are all); address space only on Linux, where it is enforced as asked."""
    try:
        import resource
    except ImportError:
        return
    import signal

    cpu = int(time.process_time()) + cpu_seconds  # on top of what starting (importing torch) took
    limits = [(resource.RLIMIT_CPU, cpu, cpu + 1),
              (resource.RLIMIT_FSIZE, file_mb * 2**20, file_mb * 2**20), (resource.RLIMIT_CORE, 0, 0)]
    if sys.platform == "linux":
        mapped = _mapped_bytes()
        limits.append((resource.RLIMIT_AS, mapped + memory_mb * 2**20, mapped + memory_mb * 2**20))
    for kind, soft, hard in limits:
        try:
            resource.setrlimit(kind, (soft, hard))
        except (ValueError, OSError):
            continue  # a limit this system refuses: the grader's watch still holds
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails instead of killing


def _mapped_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _exit_with(parent: int) -> None:
    """End this worker once the process that started it (the grader) is gone, whatever it is running."""
    import psutil

    try:
        grader = psutil.Process(parent)
        while grader.is_running() and os.getppid() == parent:  # POSIX: an orphan gets another parent
            time.sleep(ORPHAN_CHECK_SECONDS)
    except psutil.Error:
        pass
    os._exit(70)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
