"""Build step only (the project is described in pyproject.toml): copy the data files the grader reads
(grader.resources.SHIPPED) into the package as grader/_data/, so that an installed grader needs no source tree."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = ("grader.yaml", "reference", "fixtures/textData.txt", "submissions_template")  # = grader.resources.SHIPPED


class BuildWithData(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the source tree itself
            return
        target = Path(self.build_lib) / "grader" / "_data"
        for name in SHIPPED:
            source, copy = ROOT / name, target / name
            copy.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, copy, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(source, copy)


setup(cmdclass={"build_py": BuildWithData})
