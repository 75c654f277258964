"""Run a command of this project in its own virtual environment, installing what is missing first.

    python3 bootstrap.py grader check fixtures/submissions/solved
    python3 bootstrap.py pytest

The first run creates .venv/ here and installs the grader into it, editable, with its test tools and
exactly torch 2.13.0 (the CPU build: pyproject.toml pins it); later runs start at once. The install is
redone only when pyproject.toml or setup.py change. Needs only Python 3.11 or newer.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".installed"
"""Holds the hash of the files the install depends on, written once the install succeeded."""
DEPENDS_ON = ("pyproject.toml", "setup.py")


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):
        print(f"bootstrap: the grader needs Python 3.11 or newer; this is {sys.version.split()[0]}", file=sys.stderr)
        return 2
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    if not _installed():
        status = _install()
        if status:
            return status
    command = _program(argv[0])
    if command is None:
        print(f"bootstrap: no program {argv[0]!r} in {VENV}", file=sys.stderr)
        return 2
    return subprocess.call([str(command), *argv[1:]], cwd=Path.cwd())


def _installed() -> bool:
    return STAMP.is_file() and STAMP.read_text(encoding="utf-8").strip() == _fingerprint()


def _install() -> int:
    print(f"bootstrap: installing the grader into {VENV} (first run only: a few minutes)", file=sys.stderr)
    if not _python().exists():
        venv.create(VENV, with_pip=True)
    steps = [[str(_python()), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
             [str(_python()), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[test]"]]
    for step in steps:
        status = subprocess.call(step, cwd=ROOT)
        if status:
            print(f"bootstrap: {' '.join(step[2:])} failed (exit {status}); run again to retry", file=sys.stderr)
            return status
    STAMP.write_text(_fingerprint() + "\n", encoding="utf-8")
    return 0


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for name in DEPENDS_ON:
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def _python() -> Path:
    return VENV / ("Scripts" if os.name == "nt" else "bin") / ("python.exe" if os.name == "nt" else "python")


def _program(name: str) -> Path | None:
    """A program of the venv: `grader`, `pytest`, `mypy`... (python itself too)."""
    folder = _python().parent
    for candidate in (folder / name, folder / f"{name}.exe"):
        if candidate.is_file():
            return candidate
    return None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
