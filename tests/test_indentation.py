"""The rubric's `indentation` decides whether lines Python refuses for mixed tabs are graded."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
import yaml

from conftest import FIXTURES, ROOT
from grader import grade
from grader.report import Report
from grader.rubric import load_rubric
from grader.sandbox import Sandbox

CASE = FIXTURES / "lstm_mixed_tabs_in_init"
LSTM_CHECKS = ["lstm.init", "lstm.forward", "lstm.gradcheck", "lstm.criterion", "lstm.state_carry",
               "lstm.loss_decrease"]


def lenient_rubric(folder: Path) -> Path:
    """The shipped rubric, read leniently, with few examples (the marks here need no more)."""
    doc = yaml.safe_load((ROOT / "grader.yaml").read_text())
    doc["indentation"] = "lenient"
    doc["text"] = str((ROOT / doc["text"]).resolve())
    for config in doc["checks"].values():
        if "examples" in config:
            config["examples"] = min(config["examples"], 3)
    path = folder / "lenient.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.mark.slow
def test_lenient_rubric_grades_the_mixed_tabs_line_and_says_so(tmp_path: Path, sandbox: Sandbox) -> None:
    report = grade(CASE, load_rubric(lenient_rubric(tmp_path)), sandbox)
    got = {c.id: c.status for c in report.checks}
    messages = "\n".join(f"{c.id}: {c.status}: {c.message}" for c in report.checks)
    assert [got[k] for k in LSTM_CHECKS] == ["passed"] * 6, messages
    assert any("read with tabs as 8 spaces (rubric: indentation: lenient)" in n for n in report.notes)


@pytest.mark.slow
def test_strict_rubric_names_the_line_and_the_fix(graded: Callable[[str], Report]) -> None:
    report = graded("lstm_mixed_tabs_in_init")
    init = next(c for c in report.checks if c.id == "lstm.init")
    assert init.status == "error"
    assert ("task3_min_char_lstm.py line 33: indentation mixes tabs and spaces (TabError): use one or the other"
            in init.message)
    assert ("task3_min_char_lstm.py: indentation read strictly, as Python does (rubric: indentation: strict)"
            in report.notes)
