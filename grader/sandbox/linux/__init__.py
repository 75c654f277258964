"""The Linux backend: a warm fork server, and workers forked from it behind namespaces.

The grader starts one fork server (forkserver.py: a fresh interpreter that imports and warms the
operations of every kind of worker once); each worker is forked from it in a few milliseconds, gets
its own folder with a copy of the files it needs, walls itself off (jail.py, seccomp.py) and is
killed with its whole process group
when the check is done. What a worker prints goes to files the grader made and passed to it, read
only through the grader's own descriptors.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import site
import socket
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any, Collection, Mapping, Sequence

from grader.errors import InternalError, SubmissionFault
from grader.resources import installed
from grader.sandbox.capture import OUTPUTS, Capture
from grader.sandbox.client import Worker
from grader.sandbox.contract import Kind, Limits, Sandbox
from grader.sandbox.environment import environment
from grader.sandbox.folders import PACKAGE_ROOT, hideable, private_folder

SERVER_START_SECONDS = 120.0
CHANNEL = b'{"channel": true}'
"""Asks the fork server to take the one socket sent with it as another control socket."""
SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
"""What a worker sees of the host besides Python (read-only): programs, libraries, settings."""
SERVER_ENVIRONMENT = ("PATH", "HOME", "LANG", "TMPDIR", "LD_LIBRARY_PATH")
"""What the fork server (and so every worker) keeps of the grader's environment."""
PROBE = {"probe.py": b""}


class LinuxSandbox(Sandbox):
    """One fork server, its operations imported and warmed for workers of `kinds`, and the workers forked
    from it (of any kind: one not among `kinds` imports its operations when forked).

    `LinuxSandbox(on=other)` (other.join()) uses the fork server of `other` (made before this process
    was forked from its maker, as a batch's lanes are) through a control socket of its own, with its own
    folder: one server, its operations imported and warmed once, serves every lane.
    """

    backend = "linux"
    shareable = True

    def __init__(self, kinds: Collection[Kind] = (), on: LinuxSandbox | None = None) -> None:
        self._base = private_folder()
        self._count = 0
        self._ready = False
        self._isolation: str = "" if on is None else on._isolation
        control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._control = control
        self._server: subprocess.Popen[bytes] | None = None
        if on is None:
            self._log_path = self._base / "forkserver.log"
            with open(self._log_path, "wb") as log:
                self._server = subprocess.Popen(
                    [sys.executable, "-m", "grader.sandbox.linux.forkserver", str(theirs.fileno()),
                     json.dumps([kind.to_json() for kind in dict.fromkeys(kinds)])],
                    pass_fds=(theirs.fileno(),), cwd=self._base, env=environment(SERVER_ENVIRONMENT, str(PACKAGE_ROOT)),
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

    def worker(self, files: Mapping[str, bytes], filename: str, display: str, broken: Mapping[int, str],
               limits: Limits, hidden: Sequence[Path] = (), seed: int = 0, kind: Kind = Kind()) -> Worker:
        """Fork a worker of `kind` in a new folder holding `files`; it loads nothing until asked.

        The worker cannot see this project nor the folders in `hidden`; `seed` seeds its
        random generators. It has every module the server imported (all its kinds' operations).
        """
        self._wait_ready()
        self._count += 1
        workdir = self._base / f"w{self._count:04d}"
        workdir.mkdir(mode=0o700)
        for name, data in files.items():
            (workdir / name).write_bytes(data)
        spec = {"workdir": str(workdir), "memory": limits.memory_mb,
                "cpu": int(limits.cpu_seconds or limits.timeout) + 2, "file_mb": limits.file_mb, "visible": _visible(),
                "hidden": [*hideable([PACKAGE_ROOT, *hidden], workdir), *_installed_data(),
                           (str(self._base.parent), [str(workdir)])],
                "filename": filename, "display": display, "seed": seed, "operations": list(kind.operations),
                "broken": {str(k): v for k, v in broken.items()}}
        output = {name: Capture(self._base) for name in OUTPUTS}
        try:
            pid, sock = self._fork(spec, (output["stdout.txt"].fd, output["stderr.txt"].fd))
        except InternalError:
            for capture in output.values():
                capture.close()
            raise
        return Worker(pid, sock, workdir, display, limits, output, functools.partial(_kill_group, pid), "linux-")

    def join(self) -> LinuxSandbox:
        return LinuxSandbox(on=self)

    def isolation(self) -> str:
        """Found once, by forking a worker that runs nothing: namespaces, or none where the kernel refuses."""
        if not self._isolation:
            try:
                probe = self.worker(PROBE, "probe.py", "probe.py", {}, Limits(SERVER_START_SECONDS, 256))
            except (InternalError, SubmissionFault):
                return "linux-process"
            probe.kill()
            self._isolation = probe.isolation
        return self._isolation

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
            if not self._ready:  # still warming up for workers nobody asked for: no need to wait
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


def _kill_group(pid: int) -> None:
    """Kill a worker and every process it started (they share its process group, or its PID namespace)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@functools.cache
def _visible() -> list[str]:
    """What a worker sees of the host, read-only: the system's folders, and Python's as spelled here."""
    python = [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix,
              *sysconfig.get_paths().values(), *site.getsitepackages()]
    return sorted({*SYSTEM_FOLDERS, *(os.path.abspath(p) for p in python)})


def _installed_data() -> list[tuple[str, list[str]]]:
    """An installed grader's copy of the reference and rubric (grader.resources): hidden although it lies
    inside site-packages, which a worker must see."""
    data = installed()
    return [(str(data.resolve()), [])] if data is not None else []

