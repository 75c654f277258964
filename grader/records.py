"""A batch's records on disk: one report per student under `reports/`, each written whole or not at all.

The batch writes them, the exports and a rerun read them back; none of this needs the pipeline or the checks.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.report import Report
from grader.writers.json import render_json

REPORTS = "reports"
"""The folder of an out folder that holds one `<key>.json` report per student."""
UNREADABLE = (OSError, ValueError, KeyError, TypeError)
"""What reading a stored report back raises when the file is missing or not a report the grader wrote."""


@dataclass(frozen=True)
class Done:
    """What the batch hears of one student once their report is written."""

    key: str
    name: str
    score: float
    max_score: float
    seconds: float
    trouble: str = ""
    """Why the student needs a look by hand: a grader error or a timeout ("" otherwise)."""
    internal_error: bool = False


def report_path(out: Path, key: str) -> Path:
    return out / REPORTS / f"{key}.json"


def report_paths(out: Path) -> list[Path]:
    """Every stored report of `out`, by file name."""
    return sorted((out / REPORTS).glob("*.json"))


def read_stored(path: Path) -> dict[str, Any]:
    """A stored report as its JSON says it (raises one of UNREADABLE when it cannot be read)."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def write_report(out: Path, key: str, report: Report) -> None:
    write_atomically(report_path(out, key), (render_json(report) + "\n").encode("utf-8"))


def write_atomically(path: Path, data: bytes) -> None:
    """A reader (or a rerun after a crash) sees the old file or the new one, whole."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
