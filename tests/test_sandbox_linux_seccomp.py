"""The seccomp filter: threads but no processes, with the kernel's own system call numbers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import without_isolation, linux_only

from grader.sandbox.linux import seccomp

pytestmark = linux_only


def test_forks_are_refused_by_the_filter_alone() -> None:
    """The seccomp filter on its own, in a bare interpreter: fork, vfork and posix_spawn fail, threads run."""
    code = ("import os, subprocess, threading\nfrom grader.sandbox.linux import seccomp\nseccomp.forbid_processes()\n"
            "t = threading.Thread(target=print, args=('thread',))\nt.start()\nt.join()\n"
            "for start in (os.fork, lambda: subprocess.run(['/bin/true'])):\n"
            "    try:\n        start()\n        print('started')\n"
            "    except PermissionError:\n        print('refused')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            cwd=Path(__file__).resolve().parent.parent)
    if "seccomp is not available" in result.stderr:
        without_isolation(result.stderr.strip().splitlines()[-1])
    assert result.stdout.split() == ["thread", "refused", "refused"], result.stderr


@pytest.mark.parametrize("machine, header", [
    ("x86_64", "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
    ("aarch64", "/usr/include/asm-generic/unistd.h"),
])
def test_the_filters_system_call_numbers_are_the_kernels(machine: str, header: str) -> None:
    if not os.path.exists(header):
        pytest.skip(f"no {header} here to compare with")
    numbers = {name: int(n) for name, n in re.findall(r"#define __NR(?:3264)?_(\w+)\s+(\d+)", Path(header).read_text())}
    column = seccomp.ARCHES[machine][0]
    ours = {name: pair[column] for name, pair in seccomp.SYSCALLS.items()}
    assert ours == {name: numbers.get(name) for name in ours}


def test_an_unknown_architecture_gets_no_filter() -> None:
    assert seccomp.seccomp_program("riscv64") is None
