"""The portable worker program: a fresh interpreter that waits, warm, to serve one check.

Started by grader.sandbox.process as `python -m grader.sandbox.process.spawned PORT KIND`, with a token
of its own on stdin; KIND is the JSON of the kind of worker it is (grader.sandbox.contract.Kind:
`{"operations": [module, ...], "warm_up": "module:function" or null}`). It imports numpy and the
kind's operations modules, and warms them up (`server=False`), connects to the grader on
127.0.0.1:PORT, says its token, and waits for the spec of the check it is to serve. Then it walls
itself off as far as a plain process can: its own folder and temporary folder, rlimits on CPU time,
file size and core dumps where the system has them (and memory, on Linux), and an exit when the
grader is gone; the grader watches its memory and kills its whole process tree. It never uses
fork, nor anything only POSIX has.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time

from grader.sandbox.environment import one_thread

one_thread()

from grader import protocol  # noqa: E402
from grader.sandbox import rlimits  # noqa: E402
from grader.sandbox.contract import Kind, prepare  # noqa: E402

ORPHAN_CHECK_SECONDS = 1.0
TASKS = 32
"""New processes and threads a worker may start, where only a bound on all of the user's holds (macOS)."""


def main(argv: list[str]) -> int:
    port, kind = int(argv[0]), Kind.from_json(json.loads(argv[1]) if len(argv) > 1 else {})
    token = sys.stdin.buffer.read(protocol.TOKEN_BYTES)
    prepare([kind], server=False)  # an optimizer's first construction, say, falls to the check that trains
    from grader.worker import serve  # imports numpy

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
    rlimits.limit(int(spec["memory"]), int(spec["cpu"]), int(spec["file_mb"]), strict=False)  # type: ignore[call-overload]
    threading.Thread(target=_exit_with, args=(os.getppid(),), daemon=True).start()
    return {"isolation": "process", "processes": _bound_processes(),
            "uid": os.getuid() if hasattr(os, "getuid") else None}


def _bound_processes() -> str:
    """On Linux, the seccomp filter of the Linux backend's workers, new sockets refused too (this worker
    shares the host's network); elsewhere a bound on the user's processes where one holds; or nothing
    (Windows: the grader kills the worker's whole process tree)."""
    if sys.platform == "linux":
        from grader.sandbox.linux import seccomp

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
