"""Gradescope's autograder zip, unpacked as unzip would and run as Gradescope runs it: its layout, its two scripts,
a project that builds, and a results.json Gradescope can read for every submission, even when the grader cannot run."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest

from conftest import FIXTURES, ROOT
from grader import resources
from grader.gradescope_bundle import build_bundle
from grader.rubric import load_rubric
from test_writers_gradescope import read

SCRIPTS = ("setup.sh", "run_autograder")
PIN = "torch==2.13.0"
GRADER = shutil.which("grader") or str(Path(sys.executable).parent / "grader")
"""This venv's grader, which run_autograder is pointed at instead of the one setup.sh would install."""
HOSTILE_NAME = "auto grader $(touch pwned) `touch pwned`"
"""The autograder's folder in these tests: were any path expanded by the shell, a file `pwned` would appear."""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    build_bundle(out)
    return out


@pytest.fixture(scope="module")
def unpacked(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The zip extracted as Gradescope does into /autograder/source, modes applied as unzip applies them."""
    into = tmp_path_factory.mktemp("source")
    with zipfile.ZipFile(bundle) as z:
        for info in z.infolist():
            target = into / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(z.read(info))
            target.chmod(stat.S_IMODE(info.external_attr >> 16))
    return into


def autograder(tmp_path: Path, case: str | None) -> Path:
    """A folder laid out like /autograder: the fixture case (without its expected.yaml) in submission/."""
    root = tmp_path / HOSTILE_NAME
    if case is None:
        (root / "submission").mkdir(parents=True)
    else:
        shutil.copytree(FIXTURES / case, root / "submission", ignore=shutil.ignore_patterns("expected.yaml"))
    (root / "results").mkdir()
    return root


def run_autograder(unpacked: Path, root: Path, grader: str | None = GRADER,
                   **env: str) -> subprocess.CompletedProcess[str]:
    variables = {**os.environ, "GRADER_AUTOGRADER_ROOT": str(root), "TMPDIR": str(root.parent), **env}
    if grader is not None:
        variables["GRADER_BIN"] = grader
    else:
        variables.pop("GRADER_BIN", None)
    done = subprocess.run([str(unpacked / "run_autograder")], env=variables, cwd=root.parent, capture_output=True,
                          text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert not list(root.parent.rglob("pwned")), "a path was expanded by the shell"
    return done


def results(root: Path) -> dict[str, Any]:
    """results.json as Gradescope reads it (the writer's tests' reader: only the spec's keys and types)."""
    return read((root / "results" / "results.json").read_text(encoding="utf-8"))


def full_marks() -> float:
    return float(sum(c.points for c in load_rubric().checks))


def test_setup_sh_and_run_autograder_sit_at_the_zips_root_executable_with_lf_endings(bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as z:
        for name in SCRIPTS:
            info = z.getinfo(name)
            mode = info.external_attr >> 16
            assert stat.S_ISREG(mode) and stat.S_IMODE(mode) == 0o755, (name, oct(mode))
            text = z.read(name)
            assert text.startswith(b"#!/usr/bin/env bash\n") and b"\r" not in text
        assert {stat.S_IMODE(i.external_attr >> 16) for i in z.infolist() if i.filename not in SCRIPTS} == {0o644}


@pytest.mark.parametrize("script", SCRIPTS)
def test_both_scripts_pass_bashs_syntax_check(unpacked: Path, script: str) -> None:
    done = subprocess.run(["bash", "-n", str(unpacked / script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_source_folder_is_this_graders_project_with_its_exact_torch_pin(bundle: Path, tmp_path: Path) -> None:
    names = build_bundle(tmp_path / "again.zip")
    with zipfile.ZipFile(bundle) as z:
        assert z.namelist() == names
        pyproject = tomllib.loads(z.read("source/pyproject.toml").decode())
    assert PIN in pyproject["project"]["dependencies"]
    assert pyproject["project"]["dependencies"] == tomllib.loads((ROOT / "pyproject.toml").read_text())[
        "project"]["dependencies"]
    for name in ("setup.py", "MANIFEST.in", "README.md", "grader.yaml", "grader/cli.py",
                 "grader/writers/gradescope.py", "reference/rnn.py", "fixtures/textData.txt",
                 "submissions_template/task3_min_char_lstm.py"):
        assert f"source/{name}" in names, name
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names if n.startswith("source/fixtures/submissions")]
    assert (tmp_path / "again.zip").read_bytes() == bundle.read_bytes()


def test_setup_sh_installs_python_3_11_beside_the_system_one_and_the_cpu_torch(unpacked: Path) -> None:
    text = (unpacked / "setup.sh").read_text()
    assert "set -euo pipefail" in text
    assert "apt-get install -y -qq --no-install-recommends python3.11 python3.11-venv" in text
    assert 'python3.11 -m venv "$VENV"' in text and "uv" in text  # the standalone fallback
    assert 'VENV="$ROOT/venv"' in text and 'ROOT="${GRADER_AUTOGRADER_ROOT:-/autograder}"' in text
    assert f'TORCH="{PIN}"' in text
    assert ('--index-url "https://download.pytorch.org/whl/cpu" --extra-index-url "https://pypi.org/simple"'
            in text)
    assert '"$VENV/bin/python" -m pip install --quiet "${INDEXES[@]}" "$PROJECT"' in text


def test_a_grader_that_is_missing_still_leaves_a_results_json_with_score_0_and_the_reason(
        unpacked: Path, tmp_path: Path) -> None:
    root = autograder(tmp_path, "solved")
    done = run_autograder(unpacked, root, str(tmp_path / "no" / "grader"))
    assert done.returncode == 0, done.stderr
    shown = results(root)
    assert shown["score"] == 0.0 and shown["tests"] == []
    assert "the grader program" in shown["output"] and "was not found" in shown["output"]


def test_without_setup_the_missing_venv_is_the_reason(unpacked: Path, tmp_path: Path) -> None:
    root = autograder(tmp_path, "solved")
    assert run_autograder(unpacked, root, grader=None).returncode == 0
    shown = results(root)
    assert shown["score"] == 0.0 and f"{root}/venv/bin/grader was not found (has setup.sh run?)" in shown["output"]


@pytest.mark.parametrize("program", [
    "false",
    '#!/bin/sh\necho "{not json"\necho "Traceback: KeyError: boom" >&2\nexit 3\n',
    '#!/bin/sh\necho \'{"score": NaN, "tests": []}\'\n',
    '#!/bin/sh\necho \'["a list"]\'\n',
], ids=["false", "traceback", "nan", "not-an-object"])
def test_a_grader_that_fails_or_writes_no_report_leaves_score_0_with_the_end_of_its_messages(
        unpacked: Path, tmp_path: Path, program: str) -> None:
    root = autograder(tmp_path, "solved")
    grader = program
    if program.startswith("#!"):
        grader = str(tmp_path / "grader")
        Path(grader).write_text(program)
        Path(grader).chmod(0o755)
    assert run_autograder(unpacked, root, grader).returncode == 0
    shown = results(root)
    assert shown["score"] == 0.0 and shown["tests"] == []
    assert shown["output"].startswith("Grading failed: the grader exited with status ")
    assert ("Traceback: KeyError: boom" in shown["output"]) == ("boom" in program)


def test_with_no_python_anywhere_a_fixed_results_json_is_written(unpacked: Path, tmp_path: Path) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("mkdir", "mktemp", "mv", "cp", "rm", "cat", "tail"):
        (tools / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    root = autograder(tmp_path, "solved")
    done = subprocess.run([shutil.which("bash") or "/bin/bash", str(unpacked / "run_autograder")], cwd=tmp_path,
                          env={"PATH": str(tools), "GRADER_AUTOGRADER_ROOT": str(root),
                               "GRADER_BIN": str(tmp_path / "no" / "grader")}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    shown = results(root)
    assert shown["score"] == 0.0 and shown["output"].startswith("Grading failed: the grader could not run")


def test_a_run_stopped_midway_leaves_the_placeholder_saying_grading_did_not_finish(
        unpacked: Path, tmp_path: Path) -> None:
    killer = tmp_path / "grader"
    killer.write_text("#!/bin/sh\nkill -KILL $PPID\n")
    killer.chmod(0o755)
    root = autograder(tmp_path, "solved")
    assert run_autograder(unpacked, root, str(killer)).returncode == -9
    shown = results(root)
    assert shown["score"] == 0.0 and shown["output"].startswith("Grading did not finish")


def test_an_empty_submission_gets_every_check_at_zero(unpacked: Path, tmp_path: Path) -> None:
    root = autograder(tmp_path, None)
    assert run_autograder(unpacked, root).returncode == 0
    shown = results(root)
    assert shown["score"] == 0.0 and [t["name"] for t in shown["tests"]] == [c.id for c in load_rubric().checks]
    assert sum(t["max_score"] for t in shown["tests"]) == full_marks()


@pytest.mark.slow
def test_the_solved_submission_gets_full_marks_in_results_json(unpacked: Path, tmp_path: Path) -> None:
    root = autograder(tmp_path, "solved")
    done = run_autograder(unpacked, root)
    assert done.returncode == 0, done.stderr
    shown = results(root)
    assert {t["status"] for t in shown["tests"]} == {"passed"}
    assert shown["score"] == sum(t["max_score"] for t in shown["tests"]) == full_marks()
    assert not (root / "results" / "results.json.partial").exists()


@pytest.mark.slow
@pytest.mark.parametrize("case", ["rnn_blank", "hostile"])
def test_a_broken_or_hostile_submission_gets_a_valid_results_json_and_less(
        unpacked: Path, tmp_path: Path, case: str) -> None:
    root = autograder(tmp_path, case)
    done = run_autograder(unpacked, root)
    assert done.returncode == 0, done.stderr
    shown = results(root)
    assert len(shown["tests"]) == len(load_rubric().checks)
    assert 0 <= shown["score"] < full_marks()
    assert not list(tmp_path.rglob("HOSTILE_WAS_HERE")) and not list(ROOT.rglob("HOSTILE_WAS_HERE"))


def installed_copy(tmp_path: Path) -> Path:
    """The grader as pip installs it, without a source tree: grader/ with its data in grader/_data."""
    package = tmp_path / "site-packages" / "grader"
    shutil.copytree(ROOT / "grader", package, ignore=shutil.ignore_patterns("__pycache__"))
    for name in resources.SHIPPED:
        source, copy = ROOT / name, package / resources.DATA / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, copy)
    return package


def test_an_installed_grader_bundles_its_package_with_the_data_and_a_pyproject_of_its_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = installed_copy(tmp_path)
    monkeypatch.setattr(resources, "installed", lambda: package / resources.DATA)
    names = build_bundle(tmp_path / "autograder.zip")
    assert names[:2] == list(SCRIPTS)
    assert {"source/pyproject.toml", "source/grader/cli.py", "source/grader/_data/grader.yaml",
            "source/grader/_data/reference/rnn.py", "source/grader/_data/fixtures/textData.txt"} <= set(names)
    assert "source/setup.py" not in names and not [n for n in names if "__pycache__" in n]
    with zipfile.ZipFile(tmp_path / "autograder.zip") as z:
        pyproject = tomllib.loads(z.read("source/pyproject.toml").decode())
        assert f'TORCH="{PIN}"' in z.read("setup.sh").decode()
    assert pyproject["project"]["name"] == "lab5-grader" and PIN in pyproject["project"]["dependencies"]
    assert not [d for d in pyproject["project"]["dependencies"] if "extra" in d]
    assert pyproject["project"]["scripts"] == {"grader": "grader.cli:main"}
    assert pyproject["tool"]["setuptools"]["packages"] == ["grader", "grader.sandbox", "grader.sandbox.linux",
                                                           "grader.sandbox.process", "grader.tasks",
                                                           "grader.tasks.answers", "grader.tasks.lstm",
                                                           "grader.tasks.rnn", "grader.worker", "grader.writers"]


@pytest.mark.slow
@pytest.mark.parametrize("origin", ["checkout", "installed"])
def test_the_bundled_project_builds_a_wheel_that_carries_the_data_and_the_pin(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, origin: str) -> None:
    if origin == "installed":
        package = installed_copy(tmp_path)
        monkeypatch.setattr(resources, "installed", lambda: package / resources.DATA)
    build_bundle(tmp_path / "autograder.zip")
    with zipfile.ZipFile(tmp_path / "autograder.zip") as z:
        z.extractall(tmp_path / "unzipped")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                           "-w", str(tmp_path / "dist"), str(tmp_path / "unzipped" / "source")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("lab5_grader-*.whl")
    with zipfile.ZipFile(wheel) as w:
        names = set(w.namelist())
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        assert f"Requires-Dist: {PIN}" in w.read(metadata).decode()
        assert "grader = grader.cli:main" in w.read(entry_points).decode()
    assert {"grader/cli.py", "grader/tasks/rnn/checks.py", "grader/_data/grader.yaml", "grader/_data/reference/lstm.py",
            "grader/_data/fixtures/textData.txt", "grader/_data/submissions_template/answers.yaml"} <= names
