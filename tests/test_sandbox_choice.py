"""Choosing the backend: GRADER_ISOLATION's, or the strongest this system has; a wrong one is a usage error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT
from grader.errors import UsageError
from grader.sandbox import backend


@pytest.mark.parametrize("forced, wanted", [("process", "process"), ("PROCESS", "process"), ("", None)])
def test_grader_isolation_forces_a_backend(monkeypatch: pytest.MonkeyPatch, forced: str, wanted: str | None) -> None:
    monkeypatch.setenv("GRADER_ISOLATION", forced)
    assert backend() == (wanted or ("linux" if sys.platform == "linux" else "process"))


def test_an_unknown_or_unavailable_backend_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_ISOLATION", "docker")
    with pytest.raises(UsageError, match="'docker' is not a backend: use one of linux, process"):
        backend()
    monkeypatch.setenv("GRADER_ISOLATION", "linux")
    monkeypatch.setattr(sys, "platform", "darwin")
    with pytest.raises(UsageError, match="cannot run it \\(it is darwin, not Linux\\)"):
        backend()


def test_the_cli_says_so_and_exits_2(tmp_path: Path) -> None:
    env = {**os.environ, "GRADER_ISOLATION": "jail"}
    done = subprocess.run([sys.executable, "-m", "grader", "check", str(FIXTURES / "solved")], env=env,
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2 and "GRADER_ISOLATION='jail' is not a backend" in done.stderr
