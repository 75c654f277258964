"""A worker's walls: no processes, a bounded folder, and no way back to the host's root."""

from __future__ import annotations

import os
from pathlib import Path


from conftest import LOAD, without_isolation, linux_only

from grader.sandbox import Limits, Sandbox, Worker
from grader.sandbox.linux import _visible

pytestmark = linux_only


def start(sandbox: Sandbox, code: str, memory: int = 512) -> Worker:
    return sandbox.worker({"s.py": code.encode(), "textData.txt": b"abc"}, "s.py", "s.py", {}, Limits(20, memory))


def load_errors(sandbox: Sandbox, code: str, memory: int = 512) -> list[str]:
    worker = start(sandbox, code, memory)
    try:
        return [e["message"] for e in worker.call("load", **LOAD["task2"])["errors"]]
    finally:
        worker.kill()


def needs_namespaces(sandbox: Sandbox) -> None:
    worker = start(sandbox, "")
    worker.kill()
    if worker.isolation != "linux-namespaces":
        without_isolation("this kernel does not allow unprivileged namespaces")


def needs_root() -> None:
    if os.geteuid() != 0:
        without_isolation("the grader does not run as root here, so a worker has no root to give up")


def test_a_worker_cannot_start_a_process(sandbox: Sandbox) -> None:
    code = ("import os, subprocess, multiprocessing\npid = os.fork() or os._exit(0)\n"
            "subprocess.run(['/bin/true'])\nmultiprocessing.Process(target=print).start()\n")
    errors = load_errors(sandbox, code)
    assert len(errors) == 3 and all(e.startswith("PermissionError") for e in errors), errors


def test_six_children_of_1_5_gb_cannot_happen(sandbox: Sandbox) -> None:
    code = ("import os\nfor _ in range(6):\n    if os.fork() == 0:\n        block = bytearray(1536 * 2**20)\n"
            "        os._exit(0)\nok = 1\n")
    assert load_errors(sandbox, code, memory=2048) == ["PermissionError: [Errno 1] Operation not permitted "
                                                        "(s.py line 3, in <module>)"]


def test_threads_still_run_but_not_without_bound(sandbox: Sandbox) -> None:
    code = ("import threading\nt = threading.Thread(target=print)\nt.start()\nt.join()\n"
            "threading.stack_size(65536)\ndone = threading.Event()\n"
            "for _ in range(300):\n    threading.Thread(target=done.wait, args=(5,)).start()\n"
            "done.set()\n")
    errors = load_errors(sandbox, code)
    assert len(errors) == 1 and errors[0].startswith("RuntimeError: can't start new thread"), errors


def test_its_folder_holds_a_bounded_amount(sandbox: Sandbox) -> None:
    needs_namespaces(sandbox)
    code = ("for i in range(10):\n    with open(f'big{i}', 'wb') as f:\n        f.write(bytes(15 * 2**20))\n"
            "for i in range(20000):\n    open(f'empty{i}', 'w').close()\n")
    errors = load_errors(sandbox, code)
    assert len(errors) == 2 and all("No space left on device" in e for e in errors), errors


def test_the_kernels_settings_cannot_be_written(sandbox: Sandbox) -> None:
    code = ("import os\nos.close(os.open('/proc/sys/kernel/core_pattern', os.O_WRONLY))\n"
            "os.close(os.open('/proc/sysrq-trigger', os.O_WRONLY))\n")
    errors = load_errors(sandbox, code)
    assert len(errors) == 2 and all(e.startswith(("PermissionError", "OSError", "FileNotFoundError"))
                                    for e in errors), errors


def test_its_proc_is_read_only(sandbox: Sandbox) -> None:
    needs_namespaces(sandbox)
    code = "import os\nassert os.statvfs('/proc').f_flag & os.ST_RDONLY, 'a writable /proc'\n"
    assert load_errors(sandbox, code) == []


def test_a_worker_of_root_is_not_root_outside(sandbox: Sandbox) -> None:
    """Neither the process the grader forked nor its child in a new PID namespace, if any, which runs student code."""
    needs_root()
    worker = start(sandbox, "")
    try:
        children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
        statuses = [Path(f"/proc/{pid}/status").read_text() for pid in [worker.pid, *children]]
    finally:
        worker.kill()
    assert len(statuses) == (2 if worker.isolation == "linux-namespaces" else 1)
    for status in statuses:
        ids = [int(n) for line in status.splitlines() if line.startswith(("Uid:", "Gid:")) for n in line.split()[1:]]
        assert len(ids) == 8 and 0 not in ids and min(ids) >= 1000, status


def test_workers_of_root_get_uids_of_their_own(sandbox: Sandbox) -> None:
    needs_root()
    workers = [start(sandbox, "") for _ in range(3)]
    uids = {Path(f"/proc/{w.pid}/status").read_text().split("Uid:")[1].split()[0] for w in workers}
    for worker in workers:
        worker.kill()
    assert len(uids) == 3, uids


def test_a_workers_root_holds_only_the_system_python_and_its_own_folders(sandbox: Sandbox) -> None:
    needs_namespaces(sandbox)
    python_tops = sorted({Path(p).parts[1] for p in _visible()})
    allowed = {"dev", "proc", "tmp", *python_tops}
    code = f"import os\nextra = set(os.listdir('/')) - {allowed!r}\nassert not extra, extra\n"
    assert load_errors(sandbox, code) == []
