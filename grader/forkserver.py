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
    _warm()
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


def _warm() -> None:
    """Once, what every task 3 worker would otherwise pay for after its fork: an optimizer's first
    construction imports some 800 modules (2.4 s here), an LSTM's first call sets itself up (0.5 s)."""
    for dtype in (torch.float32, torch.float64):
        model = torch.nn.Sequential(torch.nn.Linear(2, 2)).to(dtype)
        lstm, cell = torch.nn.LSTM(2, 2).to(dtype), torch.nn.LSTMCell(2, 2).to(dtype)
        optimizer = torch.optim.SGD([*model.parameters(), *lstm.parameters(), *cell.parameters()], lr=0.1)
        output, _ = lstm(torch.zeros(3, 1, 2, dtype=dtype))
        scores = model(output[:, 0]) + cell(torch.zeros(3, 2, dtype=dtype))[0]
        torch.nn.functional.cross_entropy(scores, torch.zeros(3, dtype=torch.long)).backward()
        optimizer.step()
    torch.manual_seed(0)  # nothing of this warming shows in a worker, which seeds its own generators


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
