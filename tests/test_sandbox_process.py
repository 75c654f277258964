"""The portable backend: workers as fresh interpreters, answering as the Linux ones do, killed whole."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import psutil
import pytest

from conftest import LOAD, FIXTURES, ROOT
from grader.errors import WorkerDied, WorkerTimeout
from conftest import KINDS
from grader.sandbox import Limits, Worker
from grader.sandbox.process import POOL_SIZE, ProcessSandbox, _kill_tree, _MemoryWatch

NO_FORK = """\
# What a Windows Python lacks, taken away from this one before anything else runs (but what a library's
# Linux half uses, such as signal.SIGKILL in psutil or os.register_at_fork in torch: on Windows they have
# halves of their own).
import os, signal, socket, sys
import psutil  # first: its Linux half imports resource (its Windows half does not)
sys.modules["resource"] = None  # import resource: ImportError
for name in ("fork", "forkpty", "killpg", "getuid", "geteuid", "pread", "setsid", "O_NOFOLLOW", "O_NONBLOCK"):
    if hasattr(os, name):
        delattr(os, name)
for name in ("SIGUSR1", "SIGCHLD"):
    if hasattr(signal, name):
        delattr(signal, name)
for name in ("AF_UNIX", "SOCK_SEQPACKET", "send_fds", "recv_fds"):
    if hasattr(socket, name):
        delattr(socket, name)
"""


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessSandbox]:
    with ProcessSandbox(kinds=KINDS.values()) as box:
        yield box


def start(pool: ProcessSandbox, code: str, timeout: float = 20, memory: int = 512) -> Worker:
    return pool.worker({"s.py": code.encode(), "textData.txt": b"abc"}, "s.py", "s.py", {}, Limits(timeout, memory),
                       kind=KINDS["task3"])


def tree(pid: int) -> list[psutil.Process]:
    """A process and its descendants, but those already dead (zombies)."""
    try:
        root = psutil.Process(pid)
        family = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []
    return [p for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_a_worker_runs_the_code_and_says_it_is_a_plain_process(pool: ProcessSandbox) -> None:
    worker = start(pool, "import os\nx = 41 + 1\nFOLDER = os.getcwd()\n")
    try:
        assert worker.call("load", **LOAD["task2"])["errors"] == []
        assert worker.call("names", names=["x"])["x"] == 42
        assert "".join(worker.call("names", names=["FOLDER"])["FOLDER"]) == str(worker.workdir)
        assert worker.isolation == "process"
        assert worker.processes == ("seccomp" if sys.platform == "linux" else "none")
        assert psutil.Process(worker.pid).ppid() == os.getpid()  # a subprocess of the grader, not a fork
    finally:
        worker.kill()
    assert pool.isolation() == "process"


def test_the_next_workers_of_each_kind_are_already_starting(pool: ProcessSandbox) -> None:
    start(pool, "x = 1\n").kill()
    pool.worker({"s.py": b""}, "s.py", "s.py", {}, Limits(20, 512), kind=KINDS["task2"]).kill()
    ahead = pool.ahead()
    assert len(ahead) == 2 * POOL_SIZE and all(psutil.Process(pid).is_running() for pid in ahead)
    kinds = sorted(str(KINDS["task3"].warm_up) in " ".join(psutil.Process(pid).cmdline()) for pid in ahead)
    assert kinds == [False] * POOL_SIZE + [True] * POOL_SIZE


def test_a_worker_without_torch_imports_it_only_if_the_code_does(pool: ProcessSandbox) -> None:
    code = "import sys\nBEFORE = int('torch' in sys.modules)\nimport torch\nAFTER = int(torch.tensor([2]).item())\n"
    worker = pool.worker({"s.py": code.encode()}, "s.py", "s.py", {}, Limits(60, 2048), kind=KINDS["task2"])
    try:
        assert worker.call("load", **LOAD["task2"])["errors"] == []
        assert worker.call("names", names=["BEFORE", "AFTER"]) == {"BEFORE": 0, "AFTER": 2}
    finally:
        worker.kill()


def test_an_endless_loop_costs_one_timeout_and_names_its_line(pool: ProcessSandbox) -> None:
    worker = start(pool, "x = 0\nwhile True:\n    x += 1\n", timeout=3)
    began = time.monotonic()
    with pytest.raises(WorkerTimeout, match=r"3 s: still running s.py line [23] \(in <module>\)"):
        worker.call("load", **LOAD["task2"])
    assert time.monotonic() - began < 3 + 5  # its limit and a kill (the stack was dumped before it), not two
    assert not tree(worker.pid)


def test_new_processes_are_refused_on_linux(pool: ProcessSandbox) -> None:
    code = ("import subprocess, sys\ntry:\n"
            "    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(99)'])\n"
            "    STARTED = 1\nexcept OSError:\n    STARTED = 0\n")
    worker = start(pool, code)
    worker.call("load", **LOAD["task2"])
    started = worker.call("names", names=["STARTED"])["STARTED"]
    family = tree(worker.pid)
    worker.kill()
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in family)
    assert started == (0 if sys.platform == "linux" else 1)


def test_killing_a_worker_kills_every_process_it_started() -> None:
    """What a worker where nothing refuses new processes (macOS, Windows) leaves: a child and a grandchild."""
    code = ("import subprocess, sys, time\n"
            "subprocess.Popen([sys.executable, '-c', 'import subprocess, sys, time; '\n"
            "    'subprocess.Popen([sys.executable, \"-c\", \"import time; time.sleep(99)\"]); time.sleep(99)'])\n"
            "time.sleep(99)\n")
    process = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    deadline = time.monotonic() + 30
    while len(tree(process.pid)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    family = tree(process.pid)
    assert len(family) == 3
    _kill_tree(process)
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in family)


def test_os_exit_is_a_dead_worker(pool: ProcessSandbox) -> None:
    worker = start(pool, "import os\nos._exit(3)\n")
    with pytest.raises(WorkerDied, match="without answering"):
        worker.call("load", **LOAD["task2"])
    assert not worker.alive and not tree(worker.pid)


def test_a_memory_bomb_is_recorded_and_survived(pool: ProcessSandbox) -> None:
    worker = start(pool, "bomb = bytearray(3 * 1024**3)\nok = 1\n", memory=256)
    try:
        errors = [e["message"] for e in worker.call("load", **LOAD["task2"])["errors"]]
    except WorkerDied as e:  # no rlimit here: the grader's watch stopped it
        assert "over its memory limit of 256 MiB" in str(e)
    else:  # Linux: its address space is bounded, as in the Linux backend
        assert errors == ["ran out of memory (MemoryError) (s.py line 1, in <module>)"]
    finally:
        worker.kill()


def test_the_memory_watch_sees_a_whole_process_tree_past_its_limit() -> None:
    code = "import time\nx = bytearray(300 * 1024**2)\nfor i in range(0, len(x), 4096):\n    x[i] = 1\ntime.sleep(99)\n"
    parent = subprocess.Popen([sys.executable, "-c", f"import subprocess, sys, time\n"
                               f"subprocess.Popen([sys.executable, '-c', {code!r}])\ntime.sleep(99)\n"])
    try:
        watch = _MemoryWatch(parent.pid, 200)
        deadline = time.monotonic() + 30
        while not watch() and time.monotonic() < deadline:  # the child's 300 MiB count against the parent
            time.sleep(0.1)
        assert "over its memory limit of 200 MiB" in watch()
    finally:
        _kill_tree(parent)


def test_a_stranger_without_the_token_is_turned_away() -> None:
    with ProcessSandbox(kinds=KINDS.values()) as box:  # its workers not connected yet: the stranger comes first
        with socket.create_connection(("127.0.0.1", box._port)) as stranger:
            stranger.sendall(b"0" * 64)
            worker = start(box, "x = 2\n")
            try:
                worker.call("load", **LOAD["task2"])
                assert worker.call("names", names=["x"])["x"] == 2
            finally:
                worker.kill()
            stranger.settimeout(5)
            assert stranger.recv(1) == b""  # closed by the sandbox


def test_closing_the_sandbox_leaves_no_process(tmp_path: Path) -> None:
    box = ProcessSandbox(kinds=KINDS.values())
    started = box.ahead()
    worker = start(box, "x = 1\n")
    worker.call("load", **LOAD["task2"])
    box.close()
    worker.kill()
    assert not any(tree(pid) for pid in (*started, worker.pid))


@pytest.mark.slow
def test_without_fork_or_resource_a_submission_grades_in_full(tmp_path: Path) -> None:
    """As on Windows: neither the grader nor its workers have fork, resource, killpg, SIGUSR1, AF_UNIX or
    O_NOFOLLOW (a sitecustomize takes them away from every interpreter); the solved case still gets full
    marks. (A hang's one timeout under this backend: test_fixtures, its stack dump needs no signal.)"""
    (tmp_path / "sitecustomize.py").write_text(NO_FORK, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]), "USERNAME": "student"}
    env.pop("USER", None)  # torch asks getpass for a name: without os.getuid, from the environment, as on Windows
    env.pop("GRADER_ISOLATION", None)  # chosen: no fork, so not Linux's
    script = ("import os, sys, json\nassert not hasattr(os, 'fork')\n"
              "try:\n    import resource\nexcept ImportError:\n    pass\nelse:\n    raise SystemExit('resource!')\n"
              "from grader import grade\nfrom grader.sandbox import backend\n"
              "print(json.dumps([backend(), grade(sys.argv[1]).to_dict()]))\n")
    done = subprocess.run([sys.executable, "-c", script, str(FIXTURES / "solved")],
                          env=env, capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    chosen, solved = json.loads(done.stdout.strip().splitlines()[-1])
    assert chosen == "process"
    assert solved["score"] == solved["max_score"] == 16 and solved["isolation"] == "process", solved["checks"]
