"""Workers run student code walled off from the grader, within their limits."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

import pytest

from conftest import ROOT
from grader.errors import WorkerDied, WorkerTimeout
from grader.sandbox import Limits, Sandbox, Worker


def start(sandbox: Sandbox, code: str, timeout: float = 10, memory: int = 512,
          hidden: tuple[Path, ...] = ()) -> Worker:
    return sandbox.worker({"s.py": code.encode(), "textData.txt": b"abc"}, "s.py", "s.py", {},
                          Limits(timeout, memory), hidden)


def load_errors(sandbox: Sandbox, code: str, **options: object) -> list[str]:
    worker = start(sandbox, code, **options)  # type: ignore[arg-type]
    try:
        return [e["message"] for e in worker.call("load", task="task2")["errors"]]
    finally:
        worker.kill()


def needs_namespaces(sandbox: Sandbox) -> None:
    worker = start(sandbox, "")
    worker.kill()
    if worker.isolation != "namespaces":
        pytest.skip("this kernel does not allow unprivileged namespaces")


def test_definitions_run_and_failing_statements_are_recorded(sandbox: Sandbox) -> None:
    errors = load_errors(sandbox, "x = 1\ny = 1 / 0\nz = x + 1\n")
    assert errors == ["ZeroDivisionError: division by zero (s.py line 2, in <module>)"]


def test_the_reference_and_the_project_are_invisible(sandbox: Sandbox) -> None:
    needs_namespaces(sandbox)
    python = Path(sys.prefix).resolve()
    kept = [python.relative_to(ROOT).parts[0]] if ROOT in python.parents else []  # a virtualenv inside
    code = (f"import os\nopen({str(ROOT / 'reference' / 'rnn.py')!r})\n"
            f"assert os.listdir({str(ROOT)!r}) == {kept!r}, 'project visible'\nimport reference\n")
    errors = load_errors(sandbox, code)
    assert errors[0].startswith("FileNotFoundError") and len(errors) == 2
    assert errors[1].startswith("ModuleNotFoundError: No module named 'reference'")


def test_other_students_files_are_invisible(sandbox: Sandbox, tmp_path: Path) -> None:
    needs_namespaces(sandbox)
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "task2.py").write_text("answer = 42\n")
    worker = start(sandbox, f"open({str(tmp_path / 'alice' / 'task2.py')!r})\n", hidden=(tmp_path,))
    errors = worker.call("load", task="task2")["errors"]
    worker.kill()
    assert len(errors) == 1 and errors[0]["message"].startswith("FileNotFoundError")


def test_a_worker_sees_only_its_own_folder(sandbox: Sandbox) -> None:
    needs_namespaces(sandbox)
    code = ("import os\nassert sorted(os.listdir('.')) == ['s.py', 'stderr.txt', 'stdout.txt', 'textData.txt']\n"
            "assert os.listdir('..') == [], os.listdir('..')\nopen('../planted.py', 'w')\n")
    errors = load_errors(sandbox, code)
    assert len(errors) == 1 and errors[0].startswith(("PermissionError", "OSError"))


def test_nothing_outside_its_folder_can_be_written(sandbox: Sandbox) -> None:
    needs_namespaces(sandbox)
    targets = [os.path.dirname(np.__file__) + "/planted.py", str(ROOT / "planted.py"), "/etc/planted"]
    private = "import tempfile\nopen(tempfile.gettempdir() + '/private.txt', 'w')\nopen('mine.txt', 'w')\n"
    code = "".join(f"open({t!r}, 'w')\n" for t in targets) + private
    errors = load_errors(sandbox, code)
    assert len(errors) == 3, errors  # its own folder and its private temporary folder are writable
    assert all("Read-only file system" in e or "Permission denied" in e for e in errors), errors
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
        worker.call("load", task="task2")
    assert time.monotonic() - began < 5  # the 2 s limit, a stack dump, a kill


def test_os_exit_is_a_dead_worker_not_a_dead_grader(sandbox: Sandbox) -> None:
    worker = start(sandbox, "import os\nos._exit(0)\n")
    with pytest.raises(WorkerDied, match="without answering"):
        worker.call("load", task="task2")


def test_sys_exit_and_memory_bombs_are_recorded_and_survived(sandbox: Sandbox) -> None:
    errors = load_errors(sandbox, "import sys\nsys.exit(3)\nbomb = bytearray(2 * 1024**3)\nok = 1\n", memory=256)
    assert errors == ["called sys.exit(3) (s.py line 2, in <module>)",
                      "ran out of memory (MemoryError) (s.py line 3, in <module>)"]


def test_student_output_goes_to_files_not_to_the_grader(sandbox: Sandbox, capfd: pytest.CaptureFixture[str]) -> None:
    worker = start(sandbox, "import sys\nprint('{\"score\": 100}')\nprint('oops', file=sys.stderr)\n")
    worker.call("load", task="task2")
    assert worker.output() == '{"score": 100}\n' and worker.output("stderr.txt") == "oops\n"
    worker.kill()
    assert capfd.readouterr() == ("", "")


def test_workers_have_one_thread_and_no_grading_code(sandbox: Sandbox) -> None:
    code = ("import sys, torch\nassert torch.get_num_threads() == 1\n"
            "leaks = [m for m in sys.modules if m.startswith(('reference', '_grader_reference', "
            "'grader.checks', 'grader.pipeline', 'grader.rubric'))]\nassert not leaks, leaks\n")
    assert load_errors(sandbox, code) == []


def test_python_inside_a_hidden_folder_still_imports(sandbox: Sandbox) -> None:
    """Like a virtualenv inside the project: the folder is hidden, the way to Python is kept."""
    needs_namespaces(sandbox)
    code = "import sympy, xml.dom.minidom, tempfile\nopen(tempfile.gettempdir() + '/x', 'w')\n"
    assert load_errors(sandbox, code, hidden=(Path(sys.prefix).resolve().parent,)) == []
