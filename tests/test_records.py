"""A batch's records on disk: a stored report reads back as written, and a write leaves no half file."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.records import REPORTS, UNREADABLE, read_stored, report_path, report_paths, write_atomically, write_report
from grader.report import Report
from samples import sample


def test_a_stored_report_reads_back_as_the_report_written(tmp_path: Path) -> None:
    (tmp_path / REPORTS).mkdir()
    write_report(tmp_path, "101", sample())
    assert report_paths(tmp_path) == [tmp_path / REPORTS / "101.json"] == [report_path(tmp_path, "101")]
    assert Report.from_dict(read_stored(report_path(tmp_path, "101"))) == sample()


def test_a_file_written_again_is_replaced_whole_with_no_temporary_left(tmp_path: Path) -> None:
    write_atomically(tmp_path / "grades.csv", b"old")
    write_atomically(tmp_path / "grades.csv", b"new")
    assert [p.name for p in tmp_path.iterdir()] == ["grades.csv"] and (tmp_path / "grades.csv").read_bytes() == b"new"


@pytest.mark.parametrize("text", [None, "{not json", "[]"])
def test_a_missing_or_broken_stored_report_raises_what_its_readers_catch(tmp_path: Path, text: str | None) -> None:
    path = tmp_path / "101.json"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(UNREADABLE):
        read_stored(path)["batch"]
