"""The project's data files (rubric, reference, training text, starter files), wherever the grader runs from.

In a source checkout they sit at the project's top level: grader.yaml, reference/, fixtures/textData.txt,
submissions_template/. An installed package (a wheel, `pip install .`, a git URL) carries copies of the
same tree in grader/_data/, put there by setup.py when the package is built, and read through
importlib.resources. Workers never see either (grader.sandbox hides both).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from grader.errors import InternalError

DATA = "_data"
"""The installed copy's folder inside the package."""
SOURCE_TREE = Path(__file__).resolve().parent.parent
SHIPPED = ("grader.yaml", "reference", "fixtures/textData.txt", "submissions_template")
"""What the package carries, as paths relative to the project's top level (setup.py copies these)."""


def installed() -> Path | None:
    """The installed copy of the data, if this grader is an installed package."""
    folder = files("grader").joinpath(DATA)
    return Path(str(folder)) if folder.is_dir() else None


def root() -> Path:
    """The folder holding grader.yaml, reference/, fixtures/ and submissions_template/."""
    here = installed() or SOURCE_TREE
    if not (here / "grader.yaml").is_file():
        raise InternalError(f"the grader's data files are missing from {here}: reinstall the grader "
                            "(pip install lab5-grader, or pip install . in its source folder)")
    return here


def reference_file(name: str) -> Path:
    """A module of the reference implementation (loaded into the grader's process, never a worker's)."""
    return root() / "reference" / f"{name}.py"


def starter_files() -> Path:
    """The folder of files students start from: the two scripts with their blanks, the text, answers.yaml."""
    return root() / "submissions_template"
