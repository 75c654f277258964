"""Gradescope's autograder zip: setup.sh and run_autograder at its root, and this very grader as a project to install.

Gradescope extracts the zip into /autograder/source, runs setup.sh there once to build its image, copies
run_autograder to /autograder/run_autograder and runs it for every submission (working folder /autograder). The
zip's `source/` folder is a buildable project of this grader (so /autograder/source/source on Gradescope);
setup.sh installs it, with its exact torch pin, into a venv of its own Python 3.11 at /autograder/venv.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import stat
import tomllib
import zipfile
from pathlib import Path

from grader import resources
from grader.errors import InternalError

PROJECT = "source"
"""The zip's folder holding the grader's project, which setup.sh installs."""
CHECKOUT = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "grader", *resources.SHIPPED)
"""What a source checkout contributes to the project, as paths relative to its top level."""
EXECUTABLE, REGULAR = 0o755, 0o644
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
PYPI = "https://pypi.org/simple"
_STAMP = (1980, 1, 1, 0, 0, 0)
"""Every member's date, so that the same tree gives the same zip."""

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image (Ubuntu 22.04).
# It installs this grader, from the zip's own source/ folder, into a venv of its own Python 3.11.
#
# The image's system python3 is 3.10 and Gradescope's harness runs on it, so it is left alone: the grader
# gets a Python 3.11 beside it. First choice: Ubuntu's own python3.11 and python3.11-venv packages (universe,
# signed by Ubuntu, one apt-get, /usr/bin/python3.11 next to an untouched /usr/bin/python3). Should they be
# missing or broken on the image, a standalone CPython 3.11 installed by uv (itself from PyPI, put in a folder
# of its own with pip --target) under $ROOT/python.
#
# GRADER_AUTOGRADER_ROOT: where the autograder lives (default /autograder); the venv is $ROOT/venv.
set -euo pipefail

ROOT="${GRADER_AUTOGRADER_ROOT:-/autograder}"
VENV="$ROOT/venv"
HERE="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
PROJECT="$HERE/source"  # the zip is extracted into /autograder/source, so this is /autograder/source/source
TORCH="@TORCH@"  # exactly the pin of source/pyproject.toml: a range lets pip pull a CUDA build of several GB
# The CPU wheels' index first; PyPI for everything else. pip prefers torch's "+cpu" build from the first.
INDEXES=(--index-url "@TORCH_INDEX@" --extra-index-url "@PYPI@")
export DEBIAN_FRONTEND=noninteractive PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

python311_from_ubuntu() {
  apt-get update -qq || return 1
  apt-get install -y -qq --no-install-recommends python3.11 python3.11-venv || return 1
  python3.11 -m venv "$VENV" || return 1
}

python311_from_uv() {
  python3 -m pip --version >/dev/null 2>&1 \
    || apt-get install -y -qq --no-install-recommends python3-pip || return 1
  python3 -m pip install --quiet --target "$ROOT/uv" uv || return 1
  UV_PYTHON_INSTALL_DIR="$ROOT/python" "$ROOT/uv/bin/uv" venv --seed --python 3.11 \
    --python-preference only-managed "$VENV" || return 1
}

rm -rf -- "$VENV"
if ! python311_from_ubuntu; then
  echo "setup.sh: Ubuntu's python3.11 could not make a venv; installing a standalone Python 3.11 with uv" >&2
  rm -rf -- "$VENV"
  python311_from_uv
fi
"$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "setup.sh: $VENV has $("$VENV/bin/python" --version 2>&1), the grader needs 3.11 or later" >&2; exit 1; }

"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "${INDEXES[@]}" "$TORCH"
"$VENV/bin/python" -m pip install --quiet "${INDEXES[@]}" "$PROJECT"
"$VENV/bin/python" -I -c 'import torch; print("torch", torch.__version__); assert torch.version.cuda is None' \
  || { echo "setup.sh: torch is a CUDA build; the CPU wheel was expected" >&2; exit 1; }

# Grade the starter files once, so that a grader that cannot run in this image fails the build, not a student.
smoke="$(mktemp -d)"
"$VENV/bin/grader" init "$smoke/starter" >/dev/null
"$VENV/bin/grader" check "$smoke/starter"
rm -rf -- "$smoke"
echo "setup.sh: the grader is installed in $VENV"
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission: grade $ROOT/submission, write $ROOT/results/results.json.
# A results.json is always left, even when grading crashed, the venv is missing or the grader's output is not a
# report: then score 0 and the reason, written by the venv's Python (the grader's crashed_json), else by the
# system python3's json module, else by a fixed printf. A placeholder saying grading did not finish is written
# first, in case this script is stopped. The student's files are only ever a path given to the grader: nothing
# here reads, sources or expands them.
#
# GRADER_AUTOGRADER_ROOT: the autograder's folder (default /autograder), holding submission/ and results/.
# GRADER_BIN: the grader program (default $ROOT/venv/bin/grader, installed by setup.sh); tests point it at
#             their own. The Python beside it (else $ROOT/venv/bin/python) writes the fallback report.
set -uo pipefail  # no -e: every failure below must still end in a results.json

ROOT="${GRADER_AUTOGRADER_ROOT:-/autograder}"
GRADER="${GRADER_BIN:-$ROOT/venv/bin/grader}"
SUBMISSION="$ROOT/submission"
RESULTS="$ROOT/results/results.json"
STATIC='{"score": 0.0, "output": "Grading failed: the grader could not run, and no reason could be written.'\
' Your tutor will look at it.", "output_format": "text", "visibility": "visible", "stdout_visibility": "hidden",'\
' "tests": []}'

IS_REPORT='
import json, sys
def constant(name):
    raise ValueError(name)
try:
    with open(sys.argv[1], encoding="utf-8") as f:
        r = json.load(f, parse_constant=constant)
except (OSError, ValueError):
    sys.exit(1)
ok = isinstance(r, dict) and isinstance(r.get("tests"), list) and type(r.get("score")) in (int, float)
sys.exit(0 if ok else 1)
'
CRASHED_BY_GRADER='
import sys
from grader.writers.gradescope import crashed_json
with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
    reason = f.read().strip()
with open(sys.argv[2], "w", encoding="utf-8") as f:
    f.write(crashed_json(reason) + "\n")
'
CRASHED_BY_JSON='
import json, re, sys
with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
    reason = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f]", "", f.read()).strip()[-10000:] or "grading failed"
results = {"score": 0.0, "output": reason, "output_format": "text", "visibility": "visible",
           "stdout_visibility": "hidden", "tests": []}
with open(sys.argv[2], "w", encoding="utf-8") as f:
    f.write(json.dumps(results, indent=2) + "\n")
'

mkdir -p -- "$ROOT/results"
cd -- "$ROOT" 2>/dev/null || cd /
WORK="$(mktemp -d 2>/dev/null)" || { WORK="$ROOT/results/.grading"; mkdir -p -- "$WORK"; }
trap 'rm -rf -- "$WORK"' EXIT

# The venv's Python: beside the grader program when that is a path, else the default venv's.
PY=""
resolved="$(command -v -- "$GRADER" 2>/dev/null)"
if [[ "$resolved" == /* && -x "${resolved%/*}/python" ]]; then
  PY="${resolved%/*}/python"
elif [ -x "$ROOT/venv/bin/python" ]; then
  PY="$ROOT/venv/bin/python"
fi
SYSTEM_PY="$(command -v python3 2>/dev/null)"

is_report() {  # $1: a file, $2: the grader's exit status; true when the file is a results.json to keep
  if [ -n "$PY" ] && "$PY" -I -c "$IS_REPORT" "$1" 2>/dev/null; then return 0; fi
  if [ -n "$SYSTEM_PY" ]; then "$SYSTEM_PY" -I -c "$IS_REPORT" "$1" 2>/dev/null; return; fi
  [ -z "$PY" ] && [ "$2" -eq 0 ] && [ -s "$1" ]  # no Python to read it: trust only a grader that succeeded
}

write_crashed() {  # $1: a file holding the reason; writes results.json with score 0 and that reason
  local partial="$RESULTS.partial"
  if [ -n "$PY" ] && "$PY" -I -c "$CRASHED_BY_GRADER" "$1" "$partial" 2>/dev/null && [ -s "$partial" ]; then
    :
  elif [ -n "$SYSTEM_PY" ] && "$SYSTEM_PY" -I -c "$CRASHED_BY_JSON" "$1" "$partial" 2>/dev/null \
      && [ -s "$partial" ]; then
    :
  else
    printf '%s\n' "$STATIC" >"$partial"
  fi
  mv -f -- "$partial" "$RESULTS" 2>/dev/null || printf '%s\n' "$STATIC" >"$RESULTS"
}

printf '%s\n' "Grading did not finish: it was stopped (out of time or memory) before the grader wrote a report." \
  >"$WORK/reason"
write_crashed "$WORK/reason"

if [ -z "$resolved" ]; then
  printf '%s\n' "Grading failed: the grader program $GRADER was not found (has setup.sh run?)." >"$WORK/reason"
  echo "run_autograder: $GRADER not found" >&2
  write_crashed "$WORK/reason"
  exit 0
fi

"$GRADER" check "$SUBMISSION" --format gradescope <"/dev/null" >"$WORK/report.json" 2>"$WORK/stderr"
status=$?
tail -c 65536 -- "$WORK/stderr" >&2  # into Gradescope's log of this run, for the tutor

if is_report "$WORK/report.json" "$status"; then
  # copied beside results.json, then renamed over it: never a half-written file, whatever filesystem $WORK is on
  { cp -- "$WORK/report.json" "$RESULTS.partial" && mv -f -- "$RESULTS.partial" "$RESULTS"; } \
    || cp -f -- "$WORK/report.json" "$RESULTS"
  exit 0
fi
{
  printf '%s' "Grading failed: the grader exited with status $status without a valid report."
  if [ -s "$WORK/stderr" ]; then
    printf '%s\n' " The end of its messages:"
    tail -n 20 -- "$WORK/stderr" | tail -c 4000
  else
    printf '%s\n' " It printed no message."
  fi
} >"$WORK/reason"
write_crashed "$WORK/reason"
exit 0
"""


def build_bundle(out: Path) -> list[str]:
    """Write Gradescope's autograder zip to `out`; return its member names, in the zip's order."""
    project = _project()
    torch = _torch_pin(project["pyproject.toml"])
    members = {"setup.sh": (_setup_sh(torch), EXECUTABLE), "run_autograder": (RUN_AUTOGRADER.encode(), EXECUTABLE)}
    members |= {f"{PROJECT}/{name}": (content, REGULAR) for name, content in project.items()}
    _write_zip(out, members)
    return list(members)


def _project() -> dict[str, bytes]:
    """The files of a buildable project of this grader: the source checkout's, or the installed package's."""
    data = resources.installed()
    return _checkout(resources.SOURCE_TREE) if data is None else _installed(data.parent)


def _checkout(top: Path) -> dict[str, bytes]:
    """The project's own files as a source checkout holds them (setup.py ships the data when it is built)."""
    files: dict[str, bytes] = {}
    for name in CHECKOUT:
        if not (top / name).exists():
            raise InternalError(f"{top / name} is missing: the grader's source tree is incomplete")
        files |= _tree(top, name)
    return files


def _installed(package: Path) -> dict[str, bytes]:
    """The installed package folder (grader/, with its data in grader/_data) and a pyproject.toml built from the
    installed distribution's metadata."""
    return {"pyproject.toml": _pyproject(_distribution(), _packages(package)).encode(),
            **_tree(package.parent, package.name)}


def _tree(top: Path, name: str) -> dict[str, bytes]:
    """`top/name`, a file or every file below a folder, keyed by its path from `top`; no bytecode."""
    path = top / name
    found = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {p.relative_to(top).as_posix(): p.read_bytes() for p in found
            if "__pycache__" not in p.relative_to(top).parts and p.suffix != ".pyc"}


def _packages(package: Path) -> list[str]:
    """The importable packages in the installed folder (not the data, whose reference/ has an __init__.py)."""
    found = [package.name]
    for init in sorted(package.rglob("__init__.py")):
        parts = init.parent.relative_to(package).parts
        if parts and resources.DATA not in parts and "__pycache__" not in parts:
            found.append(".".join((package.name, *parts)))
    return found


def _distribution() -> importlib.metadata.Distribution:
    """The installed distribution that provides the `grader` package."""
    names = importlib.metadata.packages_distributions().get("grader", [])
    if not names:
        raise InternalError("the grader is installed without package metadata: reinstall it with pip")
    return importlib.metadata.distribution(names[0])


def _pyproject(dist: importlib.metadata.Distribution, packages: list[str]) -> str:
    """A pyproject.toml that builds the installed package folder back into the same distribution."""
    meta = dist.metadata
    dependencies = [r for r in dist.requires or [] if "extra ==" not in r]
    scripts = [e for e in dist.entry_points if e.group == "console_scripts"]
    lines = ['[build-system]', 'requires = ["setuptools>=64"]', 'build-backend = "setuptools.build_meta"', '',
             '[project]', f'name = {_toml(meta["Name"])}', f'version = {_toml(meta["Version"])}',
             f'description = {_toml(_field(meta, "Summary", ""))}',
             f'requires-python = {_toml(_field(meta, "Requires-Python", ">=3.11"))}',
             f'dependencies = {_toml(dependencies)}', '', '[project.scripts]',
             *(f'{_toml(e.name)} = {_toml(e.value)}' for e in scripts), '', '[tool.setuptools]',
             f'packages = {_toml(packages)}', '', '[tool.setuptools.package-data]',
             f'grader = {_toml([f"{resources.DATA}/**/*"])}']
    return "\n".join(lines) + "\n"


def _field(meta: importlib.metadata.PackageMetadata, name: str, default: str) -> str:
    """A metadata field that may be absent."""
    return str((meta.get_all(name) or [default])[0])


def _toml(value: object) -> str:
    """A string or list of strings as TOML (JSON's escapes are TOML's)."""
    return json.dumps(value)


def _torch_pin(pyproject: bytes) -> str:
    """The project's torch requirement, which must be one exact version (`torch==X`)."""
    dependencies = tomllib.loads(pyproject.decode("utf-8")).get("project", {}).get("dependencies", [])
    for requirement in dependencies:
        if re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0].lower() == "torch":
            match = re.fullmatch(r"torch\s*==\s*([\w.+!-]+)", requirement.strip())
            if match is None:
                raise InternalError(f"pyproject.toml: torch must be pinned to one version (torch==X), got "
                                    f"{requirement!r}: a range lets pip pull a CUDA build of several GB")
            return f"torch=={match[1]}"
    raise InternalError("pyproject.toml: torch is not among the project's dependencies")


def _setup_sh(torch: str) -> bytes:
    script = SETUP_SH.replace("@TORCH@", torch).replace("@TORCH_INDEX@", TORCH_INDEX).replace("@PYPI@", PYPI)
    return script.encode()


def _write_zip(out: Path, members: dict[str, tuple[bytes, int]]) -> None:
    """The zip, written beside `out` and moved into place, each member with its Unix mode."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, (content, mode) in members.items():
            info = zipfile.ZipInfo(name, _STAMP)
            info.create_system = 3  # Unix, so that unzip applies the mode below
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, content)
    os.replace(partial, out)
