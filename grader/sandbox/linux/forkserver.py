"""The warm server that forks workers: its kinds' operations imported and warmed once, one thread, no judgement.

Started by the grader as `python -m grader.sandbox.linux.forkserver FD KINDS`, FD being its control
socket and KINDS a JSON list of the kinds of worker it will fork (grader.sandbox.contract.Kind: each
`{"operations": [module, ...], "warm_up": "module:function" or null}`). It imports every operations
module and calls every warm_up once (`server=True`). For each request (a JSON message carrying three
file descriptors: the worker's socket and the files for its stdout and stderr) it forks a worker,
which walls itself off (grader.sandbox.linux.jail) and serves the operations its spec names, and
answers with the worker's pid. A request `{"channel": true}` carrying one socket opens another
control socket, answered the same way (the lanes of a batch share one server). It ends when its
first control socket closes. It never imports the reference or the checks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import select
import signal
import socket
import sys
import tempfile
from typing import Any

from grader.sandbox.environment import one_thread

one_thread()

import numpy.random  # noqa: E402,F401  (warm imports are the point of the server; every worker seeds it)

from grader.sandbox.contract import Kind, prepare  # noqa: E402
from grader.sandbox.folders import is_hidden  # noqa: E402
from grader.sandbox.linux import jail  # noqa: E402
from grader.worker import serve  # noqa: E402

READY = b'{"ready": true}'


def main() -> None:
    prepare([Kind.from_json(kind) for kind in json.loads(sys.argv[2] if len(sys.argv) > 2 else "[]")], server=True)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped by the kernel
    control = socket.socket(fileno=int(sys.argv[1]))  # SOCK_SEQPACKET: one request, one message
    control.send(READY)
    channels = [control]
    while True:
        for channel in select.select(channels, [], [])[0]:
            try:
                data, fds, _, _ = socket.recv_fds(channel, 65536, 3)
            except OSError:  # a lane that died mid-request
                data, fds = b"", []
            if not data:
                if channel is control:
                    return  # the grader went away
                channels.remove(channel)
                channel.close()
                continue
            _answer(channel, data, fds, channels)


def _answer(channel: socket.socket, data: bytes, fds: list[int], channels: list[socket.socket]) -> None:
    """Answer one request; a channel whose lane went away meanwhile is not an error of the server's."""
    target = channel
    try:
        request = json.loads(data)
        if not isinstance(request, dict):
            raise ValueError("a request must be a JSON object")
        if request.get("channel") is True and len(fds) == 1:
            target = socket.socket(fileno=os.dup(fds[0]))  # the new channel hears that it is open
            channels.append(target)
            reply = READY
        elif len(fds) == 3:
            reply = json.dumps({"pid": _fork_worker(request, fds, channels)}).encode()
        else:
            raise ValueError("a request must carry a socket and two output files")
    except (OSError, ValueError) as e:
        reply = json.dumps({"error": f"{type(e).__name__}: {e}"}).encode()
    finally:
        for fd in fds:
            os.close(fd)
    with contextlib.suppress(OSError):
        target.send(reply)


def _fork_worker(spec: dict[str, object], fds: list[int], channels: list[socket.socket]) -> int:
    pid = os.fork()
    if pid:
        return pid
    try:
        for channel in channels:
            channel.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        sock = socket.socket(fileno=os.dup(fds[0]))
        serve(spec, sock, functools.partial(confine, output=(fds[1], fds[2]), keep=sock.fileno()))
        code = 0
    except BaseException:  # noqa: BLE001  (a worker must never return into the server loop)
        code = 70
    sys.stdout.flush()
    os._exit(code)


def confine(spec: dict[str, Any], output: tuple[int, int], keep: int) -> dict[str, Any]:
    """The Linux walls (grader.sandbox.linux.jail), for a worker just forked: `output` are the grader's
    files for its stdout and stderr, `keep` the one other descriptor left open (its socket)."""
    # Python's folders, and any other on sys.path (a .pth file's, say), but the hidden ones
    visible = [*spec["visible"], *(p for p in sys.path if os.path.isabs(p) and not is_hidden(p, spec["hidden"]))]
    rules = jail.Rules(spec["workdir"], spec["memory"], spec["cpu"], spec["file_mb"], visible, spec["hidden"])
    walls = jail.confine(rules, output, keep)
    if walls.isolation == "namespaces":
        os.environ["TMPDIR"] = "/tmp"  # its own, in its new root
        tempfile.tempdir = None  # computed again, from TMPDIR
    return dataclasses.asdict(walls)


if __name__ == "__main__":
    main()
