"""The fork server as the grader talks to it: ready, a worker per request with three fds, errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import ROOT, linux_only
from grader import protocol
from conftest import KINDS

pytestmark = linux_only

READY_SECONDS = 60
"""The server imports and warms torch before it is ready: about 3 s here, one server for the module."""


class Server:
    def __init__(self, tmp: Path) -> None:
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {**{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")},
               "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
        kinds = json.dumps([kind.to_json() for kind in KINDS.values()])
        self.process = subprocess.Popen([sys.executable, "-m", "grader.sandbox.linux.forkserver", str(theirs.fileno()),
                                         kinds],
                                        pass_fds=(theirs.fileno(),), cwd=tmp, env=env,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        theirs.close()
        self.control.settimeout(READY_SECONDS)
        self.ready = self.control.recv(1024)
        self.control.settimeout(10)

    def ask(self, data: bytes, fds: list[int]) -> dict[str, Any]:
        socket.send_fds(self.control, [data], fds)
        return json.loads(self.control.recv(65536))  # type: ignore[no-any-return]

    def close(self) -> int:
        self.control.close()
        try:
            return self.process.wait(timeout=10)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            assert self.process.stderr is not None
            self.process.stderr.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("forkserver"))
    yield s
    s.close()


def output_file() -> int:
    fd, path = tempfile.mkstemp()
    os.unlink(path)
    return fd


def test_the_server_says_it_is_ready(server: Server) -> None:
    assert json.loads(server.ready) == {"ready": True}


def test_a_request_with_three_fds_forks_a_worker_that_holds_the_socket(server: Server, tmp_path: Path) -> None:
    ours, theirs = socket.socketpair()
    out, err = output_file(), output_file()
    try:
        # a worker whose folder is missing cannot confine itself: it says so on its socket, then ends
        spec = {"workdir": str(tmp_path / "missing"), "memory": 256, "cpu": 5, "file_mb": 1,
                "visible": [], "hidden": []}
        reply = server.ask(json.dumps(spec).encode(), [theirs.fileno(), out, err])
        theirs.close()
        assert list(reply) == ["pid"] and isinstance(reply["pid"], int)
        assert reply["pid"] not in (os.getpid(), server.process.pid)
        said = protocol.receive(ours, deadline=time.monotonic() + 10)
        assert said["ok"] is False and said["kind"] == "internal"
        assert said["message"].startswith("cannot confine a worker: ") and "missing" in said["message"]
        ours.settimeout(10)
        assert ours.recv(1) == b""  # the worker has ended, and the server kept no copy of its socket
    finally:
        ours.close()
        os.close(out)
        os.close(err)


def test_a_request_without_fds_is_refused_with_a_message(server: Server) -> None:
    reply = server.ask(b"{}", [])
    assert reply == {"error": "ValueError: a request must carry a socket and two output files"}


def test_a_request_with_one_fd_is_refused_and_the_server_goes_on(server: Server) -> None:
    ours, theirs = socket.socketpair()
    try:
        reply = server.ask(b"{}", [theirs.fileno()])
        theirs.close()
        assert reply == {"error": "ValueError: a request must carry a socket and two output files"}
        ours.settimeout(10)
        assert ours.recv(1) == b""  # the server closed the fd it was given: no worker holds it
    finally:
        ours.close()
    assert server.ask(b"{}", []).keys() == {"error"}


def test_a_request_that_is_not_json_is_refused(server: Server) -> None:
    fds = [output_file() for _ in range(3)]
    try:
        reply = server.ask(b"not json", fds)
    finally:
        for fd in fds:
            os.close(fd)
    assert reply["error"].startswith("JSONDecodeError: ")


@pytest.mark.slow  # a second server
def test_the_server_exits_when_the_grader_hangs_up(tmp_path: Path) -> None:
    s = Server(tmp_path)
    assert json.loads(s.ready) == {"ready": True}
    assert s.close() == 0


def test_a_channel_request_opens_a_control_socket_that_forks_workers_alike(server: Server) -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    socket.send_fds(server.control, [b'{"channel": true}'], [theirs.fileno()])
    theirs.close()
    ours.settimeout(10)
    try:
        assert json.loads(ours.recv(1024)) == {"ready": True}  # said on the new channel, not on the first
        socket.send_fds(ours, [b"{}"], [])
        assert json.loads(ours.recv(65536)) == {"error": "ValueError: a request must carry a socket and two "
                                                          "output files"}
    finally:
        ours.close()
    # a channel that closes (a lane that ended or died) leaves the server serving the others
    assert server.ask(b"{}", []).keys() == {"error"}
    assert server.process.poll() is None
