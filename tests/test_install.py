"""The grader as students and CI install it: a wheel, no source tree, run from an unrelated folder."""

from __future__ import annotations

import ast
import os
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT
from grader import resources
from grader.rubric import load_rubric

PEEK = """
import site
from grader.context import load_request
from grader.sandbox import Limits, open_sandbox
from grader.tasks import LAB
data = site.getsitepackages()[0] + "/grader/_data"
code = f"import os\\nos.listdir({data!r})\\nopen({data + '/reference/rnn.py'!r})\\n"
with open_sandbox() as box:
    worker = box.worker({"s.py": code.encode(), "textData.txt": b"abc"}, "s.py", "s.py", {}, Limits(10, 512))
    print([e["message"].split(":")[0] for e in worker.call("load", **load_request(LAB, LAB.task("task2")))["errors"]])
    worker.kill()
"""

REQUIREMENTS_MET = """
from importlib.metadata import requires, version, PackageNotFoundError
from pip._vendor.packaging.requirements import Requirement
unmet = []
for line in requires("lab5-grader"):
    wanted = Requirement(line)
    if wanted.marker is not None and not wanted.marker.evaluate({"extra": ""}):
        continue  # the test extra's
    try:
        if not wanted.specifier.contains(version(wanted.name), prereleases=True):
            unmet.append(line)
    except PackageNotFoundError:
        unmet.append(line)
print(unmet)
"""


def test_setup_py_ships_what_the_grader_reads() -> None:
    """setup.py cannot import the package it builds: its list is kept equal to grader.resources' here."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    shipped = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                   and any(isinstance(t, ast.Name) and t.id == "SHIPPED" for t in node.targets))
    assert ast.literal_eval(shipped) == resources.SHIPPED
    assert all((ROOT / name).exists() for name in resources.SHIPPED)


@pytest.mark.slow
def test_a_wheel_installed_in_a_fresh_venv_grades_from_any_folder(tmp_path: Path) -> None:
    """pip install of the built wheel (no source tree anywhere near), then `grader check` elsewhere: full
    marks for the solved fixture, and a worker cannot read the installed copy of the reference."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info",
                                                                 "__pycache__", ".hypothesis", ".*_cache"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path / "dist"),
                    str(source)], check=True, env=env, capture_output=True)
    shutil.rmtree(source)
    venv.create(tmp_path / "venv", with_pip=True)
    python = tmp_path / "venv" / "bin" / "python"
    # its dependencies are this environment's (a .pth line: copying torch again would take half a minute),
    # the grader only the wheel's: a folder named by a .pth line has its own .pth files (this
    # environment's editable grader among them) left unread
    paths = subprocess.run([str(python), "-c", "import site; print(site.getsitepackages()[0])"], check=True,
                           capture_output=True, text=True).stdout.strip()
    Path(paths, "outer.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)], check=True,
                   env=env, capture_output=True)
    met = subprocess.run([str(python), "-c", REQUIREMENTS_MET], env=env, capture_output=True, text=True)
    assert met.stdout.strip() == "[]", met.stdout + met.stderr[-2000:]  # every requirement of the wheel is met
    where = subprocess.run([str(python), "-c", "import grader; print(grader.__file__)"], cwd=tmp_path, env=env,
                           capture_output=True, text=True).stdout
    assert where.startswith(paths), where  # the wheel's grader, not this environment's
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(FIXTURES / "solved", elsewhere / "my_lab5", ignore=shutil.ignore_patterns("expected.yaml"))
    graded = subprocess.run([str(tmp_path / "venv" / "bin" / "grader"), "check", "my_lab5"], cwd=elsewhere,
                            env=env, capture_output=True, text=True)
    assert graded.returncode == 0, graded.stderr[-2000:]
    full = sum(c.points for c in load_rubric().checks)
    assert f"\nTotal: {full:g}/{full:g}\n" in graded.stdout, graded.stdout[-2000:]
    peeked = subprocess.run([str(python), "-c", PEEK], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert peeked.stdout.strip() == "['FileNotFoundError']", peeked.stdout + peeked.stderr[-2000:]
