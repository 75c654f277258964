"""Task files are found by what they define, whatever their name, container or encoding."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from conftest import FIXTURES
from grader.errors import UsageError
from grader.submission import decode, load_submission

SOLVED = FIXTURES / "solved"


def test_folder_files_are_found_by_content(tmp_path: Path) -> None:
    (tmp_path / "my rnn.py").write_bytes((SOLVED / "task2_min_char_rnn.py").read_bytes())
    (tmp_path / "Lab5_task3.py").write_bytes((SOLVED / "task3_min_char_lstm.py").read_bytes())
    (tmp_path / "notes.py").write_text("print('hello')\n")
    found = load_submission(tmp_path)
    assert {t: f.name for t, f in found.files.items()} == {"task2": "my rnn.py", "task3": "Lab5_task3.py"}


def test_a_single_file_is_a_submission_of_one_task() -> None:
    found = load_submission(SOLVED / "task3_min_char_lstm.py")
    assert list(found.files) == ["task3"]


def test_zip_members_are_read_without_extracting_and_dotted_paths_ignored(tmp_path: Path) -> None:
    archive = tmp_path / "hand-in.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("folder/anything.py", (SOLVED / "task2_min_char_rnn.py").read_text())
        z.writestr("../../escape.py", "def lossFun(a, b, c):\n  pass\n")
        z.writestr("__MACOSX/folder/._anything.py", b"\x00\x05junk")
    found = load_submission(archive)
    assert found.files["task2"].name == "hand-in.zip:folder/anything.py"
    assert not (tmp_path.parent.parent / "escape.py").exists()
    assert found.notes == ()  # the "../" member and the macOS junk are not even candidates


def test_corrupt_zip_is_noted_not_fatal(tmp_path: Path) -> None:
    bad = tmp_path / "broken.zip"
    bad.write_bytes(b"PK\x03\x04 definitely not a zip")
    found = load_submission(bad)
    assert found.files == {} and "cannot read the zip archive" in found.notes[0]


def test_notebook_code_cells_become_a_script_with_cell_positions(tmp_path: Path) -> None:
    cells = [{"cell_type": "markdown", "source": ["# title"]},
             {"cell_type": "code", "source": ["%matplotlib inline\n", "def lossFun(i, t, h):\n", "  return 1"]}]
    (tmp_path / "lab.ipynb").write_text(json.dumps({"cells": cells}))
    file = load_submission(tmp_path).files["task2"]
    assert file.text.split("\n")[:2] == ["", "def lossFun(i, t, h):"]
    assert file.where(2) == "lab.ipynb cell 2 line 2"


def test_latin1_and_crlf_are_decoded_and_noted() -> None:
    notes: list[str] = []
    assert decode("# caf\xe9\r\nx = 1\r\n".encode("latin-1"), "a.py", notes) == "# caf\xe9\nx = 1\n"
    assert notes == ["a.py: not UTF-8; read as Latin-1", "a.py: Windows (CRLF) line endings read as LF"]
    assert decode(b"\xef\xbb\xbfx = 1\n", "b.py", []) == "x = 1\n"


def test_the_most_finished_duplicate_is_graded(tmp_path: Path) -> None:
    good = (SOLVED / "task2_min_char_rnn.py").read_text()
    (tmp_path / "task2_min_char_rnn.py").write_text(good.replace("+ bh)  # hidden state", "+ bh  # oops"))
    (tmp_path / "task2_min_char_rnn (1).py").write_text(good)
    found = load_submission(tmp_path)
    assert found.files["task2"].name == "task2_min_char_rnn (1).py"


def test_a_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file or folder"):
        load_submission(tmp_path / "nope")
