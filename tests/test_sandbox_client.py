"""The grader's side of a worker: of what it says, only its first message may report a fault of the grader."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from conftest import linux_only
from grader import protocol
from grader.errors import InternalError, WorkerDied
from grader.sandbox import OUTPUTS, Capture, Limits, Worker

pytestmark = linux_only  # its fake worker is a `sleep` in a session of its own


@pytest.mark.parametrize("first", [True, False])
def test_only_a_workers_first_message_may_report_a_fault_of_the_grader(tmp_path: Path, first: bool) -> None:
    """A fake worker (a sleeping process and a socket) that reports an internal fault first, or later."""
    process = subprocess.Popen(["sleep", "60"], start_new_session=True)
    ours, theirs = socket.socketpair()
    output = {name: Capture(tmp_path) for name in OUTPUTS}
    internal = {"ok": False, "kind": "internal", "message": "cannot confine a worker"}
    if not first:
        protocol.send(theirs, {"ok": True, "value": {"isolation": "namespaces"}})
    protocol.send(theirs, internal)
    try:
        with pytest.raises(InternalError if first else WorkerDied, match="cannot confine a worker"):
            Worker(process.pid, ours, tmp_path / "w", "s.py", Limits(5, 64), output, lambda: None).call("names",
                                                                                                      names=[])
    finally:
        process.kill()
        process.wait()
        theirs.close()
