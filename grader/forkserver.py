"""The warm server that forks workers: numpy and torch imported once, one thread, no judgement.

Started by the grader as `python -m grader.forkserver FD`, FD being its control socket. For
each request (a JSON message carrying three file descriptors: the worker's socket and the
files for its stdout and stderr) it forks a worker and answers with the worker's pid. It
never imports the reference or the checks.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_name] = "1"

import numpy.random  # noqa: E402,F401  (warm imports are the point of the server; every worker seeds it)
import torch  # noqa: E402

from grader.worker import serve  # noqa: E402

def main() -> None:
    torch.set_num_threads(1)  # a child forked from a multi-threaded torch hangs in libgomp
    torch.set_num_interop_threads(1)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped by the kernel
    control = socket.socket(fileno=int(sys.argv[1]))  # SOCK_SEQPACKET: one request, one message
    control.send(b'{"ready": true}')
    while True:
        data, fds, _, _ = socket.recv_fds(control, 65536, 3)
        if not data:
            return  # the grader went away
        try:
            if len(fds) != 3:
                raise ValueError("a request must carry a socket and two output files")
            pid = _fork_worker(json.loads(data), fds, control)
            control.send(json.dumps({"pid": pid}).encode())
        except (OSError, ValueError) as e:
            control.send(json.dumps({"error": f"{type(e).__name__}: {e}"}).encode())
        finally:
            for fd in fds:
                os.close(fd)


def _fork_worker(spec: dict[str, object], fds: list[int], control: socket.socket) -> int:
    pid = os.fork()
    if pid:
        return pid
    try:
        control.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        serve(spec, socket.socket(fileno=os.dup(fds[0])), (fds[1], fds[2]))
        code = 0
    except BaseException:  # noqa: BLE001  (a worker must never return into the server loop)
        code = 70
    sys.stdout.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
