"""Workers run student code walled off from the grader, within their limits."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import signal
import time
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np

import pytest

from conftest import LOAD, ROOT, without_isolation, linux_only
from grader.errors import InternalError, SubmissionFault, WorkerDied, WorkerTimeout
from conftest import GRADING, KINDS
from grader.sandbox import Limits, Sandbox, Worker
from grader.sandbox.linux import LinuxSandbox

pytestmark = linux_only

T = TypeVar("T")


def start(sandbox: Sandbox, code: str, timeout: float = 10, memory: int = 512,
          hidden: tuple[Path, ...] = ()) -> Worker:
    return sandbox.worker({"s.py": code.encode(), "textData.txt": b"abc"}, "s.py", "s.py", {},
                          Limits(timeout, memory), hidden, kind=KINDS["task2"])


def load_errors(sandbox: Sandbox, code: str, **options: object) -> list[str]:
    worker = start(sandbox, code, **options)  # type: ignore[arg-type]
    try:
        return [e["message"] for e in worker.call("load", **LOAD["task2"])["errors"]]
    finally:
        worker.kill()


def within(seconds: float, action: Callable[[], T]) -> T:
    """The result of `action`, which must come within `seconds` (it runs in a thread that may hang)."""
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(action())
        except BaseException as e:  # noqa: BLE001  (handed back to the test)
            errors.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds:g} s"
    if errors:
        raise errors[0]
    return results[0]


def needs_namespaces(sandbox: Sandbox) -> None:
    worker = start(sandbox, "")
    worker.kill()
    if worker.isolation != "linux-namespaces":
        without_isolation("this kernel does not allow unprivileged namespaces")


def test_definitions_run_and_failing_statements_are_recorded(sandbox: Sandbox) -> None:
    errors = load_errors(sandbox, "x = 1\ny = 1 / 0\nz = x + 1\n")
    assert errors == ["ZeroDivisionError: division by zero (s.py line 2, in <module>)"]


def test_the_reference_and_the_project_are_invisible(sandbox: Sandbox) -> None:
    needs_namespaces(sandbox)
    python = Path(sys.prefix).resolve()
    kept = [python.relative_to(ROOT).parts[0]] if ROOT in python.parents else []  # a virtualenv inside
    # the project is absent from the worker's root, or (Python living inside it) holds only the way to Python
    code = (f"import os\nopen({str(ROOT / 'reference' / 'rnn.py')!r})\n"
            f"assert not os.path.exists({str(ROOT)!r}) or os.listdir({str(ROOT)!r}) == {kept!r}, 'project visible'\n"
            "import reference\n")
    errors = load_errors(sandbox, code)
    assert errors[0].startswith("FileNotFoundError") and len(errors) == 2
    assert errors[1].startswith("ModuleNotFoundError: No module named 'reference'")


def test_other_students_files_are_invisible(sandbox: Sandbox, tmp_path: Path) -> None:
    needs_namespaces(sandbox)
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "task2.py").write_text("answer = 42\n")
    worker = start(sandbox, f"open({str(tmp_path / 'alice' / 'task2.py')!r})\n", hidden=(tmp_path,))
    errors = worker.call("load", **LOAD["task2"])["errors"]
    worker.kill()
    assert len(errors) == 1 and errors[0]["message"].startswith("FileNotFoundError")


def test_a_worker_sees_only_its_own_folder(sandbox: Sandbox) -> None:
    needs_namespaces(sandbox)
    code = ("import os\nassert sorted(os.listdir('.')) == ['s.py', 'textData.txt']\n"
            "assert os.listdir('..') == [os.path.basename(os.getcwd())], os.listdir('..')\n"
            "open('../planted.py', 'w')\n")
    errors = load_errors(sandbox, code)
    assert len(errors) == 1 and errors[0].startswith(("PermissionError", "OSError"))


def test_nothing_outside_its_folder_can_be_written(sandbox: Sandbox) -> None:
    needs_namespaces(sandbox)
    targets = [os.path.dirname(np.__file__) + "/planted.py", str(ROOT / "planted.py"), "/etc/planted"]
    private = "import tempfile\nopen(tempfile.gettempdir() + '/private.txt', 'w')\nopen('mine.txt', 'w')\n"
    code = "".join(f"open({t!r}, 'w')\n" for t in targets) + private
    errors = load_errors(sandbox, code)
    assert len(errors) == 3, errors  # its own folder and its private temporary folder are writable
    refused = ("Read-only file system", "Permission denied", "No such file or directory")  # absent is fine too
    assert all(any(why in e for why in refused) for e in errors), errors
    assert not any(os.path.exists(t) for t in [*targets, "/tmp/private.txt", "/dev/shm/private.txt"])


def test_signals_and_network_cannot_reach_outside(sandbox: Sandbox) -> None:
    needs_namespaces(sandbox)
    code = ("import os, signal, socket\nos.kill(-1, signal.SIGKILL)\n"
            "socket.create_connection(('127.0.0.1', 22), timeout=1)\n")
    errors = load_errors(sandbox, code)
    assert errors[0].startswith("ProcessLookupError")  # kill(-1) finds no process to signal
    assert errors[1].startswith("OSError: [Errno 101] Network is unreachable")


def test_an_endless_loop_times_out_naming_its_line(sandbox: Sandbox) -> None:
    worker = start(sandbox, "x = 0\nwhile True:\n    x += 1\n", timeout=2)
    began = time.monotonic()
    with pytest.raises(WorkerTimeout, match=r"2 s: still running s.py line [23] \(in <module>\)"):
        worker.call("load", **LOAD["task2"])
    assert time.monotonic() - began < 20  # the 2 s limit, a stack dump, a kill: not the default minute


def test_os_exit_is_a_dead_worker_not_a_dead_grader(sandbox: Sandbox) -> None:
    worker = start(sandbox, "import os\nos._exit(0)\n")
    with pytest.raises(WorkerDied, match="without answering"):
        worker.call("load", **LOAD["task2"])


def test_sys_exit_and_memory_bombs_are_recorded_and_survived(sandbox: Sandbox) -> None:
    errors = load_errors(sandbox, "import sys\nsys.exit(3)\nbomb = bytearray(2 * 1024**3)\nok = 1\n", memory=256)
    assert errors == ["called sys.exit(3) (s.py line 2, in <module>)",
                      "ran out of memory (MemoryError) (s.py line 3, in <module>)"]


def test_student_output_goes_to_files_not_to_the_grader(sandbox: Sandbox, capfd: pytest.CaptureFixture[str]) -> None:
    worker = start(sandbox, "import sys\nprint('{\"score\": 100}')\nprint('oops', file=sys.stderr)\n")
    worker.call("load", **LOAD["task2"])
    assert worker.output() == '{"score": 100}\n' and worker.output("stderr.txt") == "oops\n"
    worker.kill()
    assert capfd.readouterr() == ("", "")


def test_workers_have_one_thread_and_no_grading_code(sandbox: Sandbox) -> None:
    code = ("import sys, torch\nassert torch.get_num_threads() == 1\n"
            "leaks = [m for m in sys.modules if m.startswith(('reference', '_grader_reference', "
            f"{GRADING}'grader.pipeline', 'grader.rubric'))]\nassert not leaks, leaks\n")
    assert load_errors(sandbox, code) == []


def test_python_inside_a_hidden_folder_still_imports(sandbox: Sandbox) -> None:
    """Like a virtualenv inside the project: the folder is hidden, the way to Python is kept."""
    needs_namespaces(sandbox)
    code = "import sympy, xml.dom.minidom, tempfile\nopen(tempfile.gettempdir() + '/x', 'w')\n"
    assert load_errors(sandbox, code, hidden=(Path(sys.prefix).resolve().parent,)) == []


@pytest.mark.parametrize("target", ["secret", "environ"])
def test_output_is_read_only_from_the_graders_own_files(sandbox: Sandbox, tmp_path: Path, target: str) -> None:
    """A worker that puts a symlink or a FIFO where its output used to be neither leaks nor hangs."""
    secret = tmp_path / "secret.txt"
    secret.write_text("the reference answers\n")
    path = str(secret) if target == "secret" else f"/proc/{os.getpid()}/environ"
    code = ("import os, sys\nprint('out')\nprint('err', file=sys.stderr)\n"
            "for name in ('stdout.txt', 'stderr.txt'):\n    if os.path.lexists(name):\n        os.remove(name)\n"
            f"os.symlink({path!r}, 'stderr.txt')\nos.mkfifo('stdout.txt')\n")
    worker = start(sandbox, code)
    assert worker.call("load", **LOAD["task2"])["errors"] == []
    outputs = within(5, lambda: (worker.output(), worker.output("stderr.txt")))
    worker.kill()
    assert outputs == ("out\n", "err\n")


def test_a_fifo_for_stderr_does_not_hang_the_stack_dump_of_a_timeout(sandbox: Sandbox) -> None:
    code = ("import os\nif os.path.lexists('stderr.txt'):\n    os.remove('stderr.txt')\nos.mkfifo('stderr.txt')\n"
            "while True:\n    pass\n")
    worker = start(sandbox, code, timeout=2)

    def call() -> BaseException:
        with pytest.raises(WorkerTimeout) as caught:
            worker.call("load", **LOAD["task2"])
        return caught.value

    assert "still running s.py line" in str(within(8, call))


def test_long_output_keeps_its_beginning_and_end(sandbox: Sandbox) -> None:
    worker = start(sandbox, "print('first')\nprint('x' * 5_000_000)\nprint('last')\n")
    worker.call("load", **LOAD["task2"])
    text = worker.output()
    worker.kill()
    assert text.startswith("first\nxxx") and text.endswith("xxx\nlast\n") and len(text) < 200_000
    assert "characters left out" in text


@pytest.mark.parametrize("patch", [
    "import grader.worker as w\nw._answer = lambda m, r: {'ok': False, 'kind': 'internal', 'message': 'boom'}\n",
    "import grader.protocol as p\nsend = p.send\n"
    "p.send = lambda s, m: send(s, {'ok': False, 'kind': 'internal', 'message': 'boom'})\n",
    "import grader.worker as w\nw.OPERATIONS.clear()\n",
], ids=["answer", "send", "operations"])
def test_a_worker_cannot_make_the_grader_report_an_internal_error(sandbox: Sandbox, patch: str) -> None:
    worker = start(sandbox, patch)
    with pytest.raises(SubmissionFault):
        worker.call("load", **LOAD["task2"])
        worker.call("names", names=[])
    worker.kill()


def test_a_reply_that_does_not_decode_is_a_dead_worker(sandbox: Sandbox) -> None:
    code = ("import os, struct\nfor fd in os.listdir('/proc/self/fd'):\n    try:\n"
            "        if os.readlink(f'/proc/self/fd/{fd}').startswith('socket:'):\n            sock = int(fd)\n"
            "    except OSError:\n        pass\n"
            "header = b'{\"ok\": true, \"value\": {\"x\": {\"__array__\": Infinity}}}'\n"
            "payload = struct.pack('>I', len(header)) + header\n"
            "os.write(sock, struct.pack('>Q', len(payload)) + payload)\n")
    worker = start(sandbox, code)
    with pytest.raises(WorkerDied):
        worker.call("load", **LOAD["task2"])


def test_a_worker_sees_no_other_workers_folder(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither its own Sandbox's other workers, nor those of a Sandbox grading at the same time,
    even one whose temporary folder is somewhere unusual."""
    needs_namespaces(sandbox)
    if not os.path.isdir("/var/tmp"):
        pytest.skip("no /var/tmp to put an unusual temporary folder in")
    unusual = tempfile.mkdtemp(dir="/var/tmp")
    monkeypatch.setattr(tempfile, "tempdir", unusual)
    try:
        with LinuxSandbox(KINDS.values()) as other:
            theirs, sibling = start(other, "answer = 42\n"), start(sandbox, "answer = 41\n")
            folders = [str(theirs.workdir), str(sibling.workdir)]
            probe = "".join(f"os.listdir({f!r})\nopen({f + '/s.py'!r})\n" for f in folders)
            mine, their_own = (load_errors(box, "import os\n" + probe) for box in (sandbox, other))
            theirs.kill()
            sibling.kill()
    finally:
        shutil.rmtree(unusual, ignore_errors=True)
    for errors in (mine, their_own):
        assert len(errors) == 4 and all(e.startswith(("FileNotFoundError", "PermissionError")) for e in errors), errors


def test_a_sandbox_that_forked_nothing_closes_at_once() -> None:
    """A submission with nothing to run (every file broken, or only links) is not kept waiting for torch:
    a server that is still starting is killed, not waited for."""
    box = LinuxSandbox(KINDS.values())
    box.close()
    assert box._server.returncode == -signal.SIGKILL


def test_a_sandbox_on_another_uses_its_server_with_a_folder_of_its_own(sandbox: Sandbox) -> None:
    """As a batch's lanes do: no second server; each keeps its own workers' folders, and closing one
    stops neither the server nor the other."""
    lane = sandbox.join()
    assert isinstance(lane, LinuxSandbox)
    try:
        assert lane._server is None and lane._base != sandbox._base
        worker = start(lane, "answer = 42\n")
        assert worker.workdir.parent == lane._base
        assert worker.call("load", **LOAD["task2"])["errors"] == []
        worker.kill()
    finally:
        lane.close()
    assert not lane._base.exists() and sandbox._server.poll() is None
    assert load_errors(sandbox, "answer = 41\n") == []


def test_a_sandbox_on_a_closed_one_says_its_server_is_gone() -> None:
    closed = LinuxSandbox(KINDS.values())
    closed.close()
    with pytest.raises(InternalError, match="the fork server is gone"):
        closed.join()


def test_a_worker_printing_100_mb_still_answers_and_keeps_both_ends(sandbox: Sandbox) -> None:
    code = ("import sys\nprint('first')\ndef lossFun(inputs, targets, hprev):\n    return 1\n"
            "for _ in range(2):\n    print('x' * 50_000_000)\n    sys.stdout.write('y' * 10)\nprint('last')\n")
    worker = start(sandbox, code)
    assert worker.call("load", **LOAD["task2"])["errors"] == []
    text = worker.output()
    worker.kill()
    assert text.startswith("first\nxxx") and text.endswith("xxx\nyyyyyyyyyylast\n") and len(text) < 200_000
    printed = len("first\n") + 2 * (50_000_001 + 10) + len("last\n")
    assert f"[... {printed - 2 * 64 * 1024:,} characters left out ...]" in text
    assert worker.output() == text  # kept after the kill


def test_an_endless_loop_that_printed_much_still_names_its_line(sandbox: Sandbox) -> None:
    code = ("import sys\nfor _ in range(3):\n    print('e' * 10_000_000, file=sys.stderr)\n"
            "def lossFun(inputs, targets, hprev):\n    while True:\n        print('x' * 1000, file=sys.stderr)\n")
    worker = start(sandbox, code, timeout=3)
    worker.call("load", **LOAD["task2"])
    with pytest.raises(WorkerTimeout, match=r"still running s.py line 6 \(in lossFun\)"):
        params = {name: np.zeros((1, 1)) for name in ("Wxh", "Whh", "Why", "bh", "by")}
        worker.call("rnn.loss", params=params, inputs=[0], targets=[0], hprev=np.zeros((1, 1)))
