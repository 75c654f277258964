"""Task files are found by what they define, whatever their name, container or encoding."""

from __future__ import annotations

import json
import os
import stat
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


SECRET = "TOP-SECRET-ANSWER-4660"


def secret_file(folder: Path, name: str = "answers.py") -> Path:
    """A task 2 file outside the submission, whose text must never reach the grader."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(f"def lossFun(inputs, targets, hprev):\n    return '{SECRET}'\n")
    return folder / name


def test_a_symlink_to_a_file_outside_the_folder_is_never_read(tmp_path: Path) -> None:
    target = secret_file(tmp_path / "elsewhere")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "task2_min_char_rnn.py").symlink_to(target)
    found = load_submission(tmp_path / "sub")
    assert found.files == {} and found.looked_at == ()
    message = f"task2_min_char_rnn.py is a symbolic link (to {target}); hand in the file itself, not a link"
    assert found.unreadable == {"task2": message} and found.notes == (message,)
    assert SECRET not in repr(found)


def test_a_folder_linked_inside_the_submission_is_not_walked(tmp_path: Path) -> None:
    secret_file(tmp_path / "elsewhere", "task2_min_char_rnn.py")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "lab").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    found = load_submission(tmp_path / "sub")
    assert found.files == {} and found.looked_at == () and found.unreadable == {}
    assert found.notes == (f"lab is a symbolic link to a folder (to {tmp_path / 'elsewhere'}); not followed",)
    assert SECRET not in repr(found)


def test_a_link_in_a_nested_folder_is_named_by_its_path_and_kept_from_its_task(tmp_path: Path) -> None:
    (tmp_path / "lab" / "code").mkdir(parents=True)
    (tmp_path / "lab" / "code" / "my_lstm.ipynb").symlink_to("../../../reference/task3.ipynb")
    (tmp_path / "lab" / "rnn.py").write_bytes((SOLVED / "task2_min_char_rnn.py").read_bytes())
    found = load_submission(tmp_path)
    assert list(found.files) == ["task2"]
    assert found.unreadable == {"task3": "lab/code/my_lstm.ipynb is a symbolic link (to "
                                         "../../../reference/task3.ipynb); hand in the file itself, not a link"}


def test_a_link_whose_name_says_no_task_counts_for_every_task_not_found(tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "solution.py").symlink_to(secret_file(tmp_path / "elsewhere"))
    (sub / "lab.zip").symlink_to(tmp_path / "elsewhere" / "lab.zip")
    (sub / "data.txt").symlink_to(tmp_path / "elsewhere" / "data.txt")  # not a source: ignored
    found = load_submission(sub)
    assert set(found.unreadable) == {"task2", "task3"}
    assert all("solution.py is a symbolic link" in r and "lab.zip is a symbolic link" in r
               for r in found.unreadable.values())
    assert len(found.notes) == 2 and SECRET not in repr(found)


def test_a_link_does_not_hide_a_real_file_of_its_task(tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "task2_min_char_rnn.py").symlink_to(secret_file(tmp_path / "elsewhere"))
    (sub / "mine.py").write_bytes((SOLVED / "task2_min_char_rnn.py").read_bytes())
    found = load_submission(sub)
    assert found.files["task2"].name == "mine.py" and found.unreadable == {} and len(found.notes) == 1
    assert "task2_min_char_rnn.py is a symbolic link" in found.notes[0]


def zip_link(z: zipfile.ZipFile, name: str, target: str) -> None:
    """A zip member as `zip --symlinks` stores a link: S_IFLNK mode bits, the target as its data."""
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    z.writestr(info, target)


def test_a_zip_member_that_is_a_symlink_is_not_read_as_a_file(tmp_path: Path) -> None:
    archive = tmp_path / "hand-in.zip"
    with zipfile.ZipFile(archive, "w") as z:
        zip_link(z, "lab/task2_min_char_rnn.py", "def lossFun(inputs, targets, hprev):\n    pass\n")
        z.writestr("lab/task3_min_char_lstm.py", (SOLVED / "task3_min_char_lstm.py").read_text())
    found = load_submission(archive)
    assert list(found.files) == ["task3"] and found.looked_at == ("hand-in.zip:lab/task3_min_char_lstm.py",)
    reason = found.unreadable["task2"]
    assert reason.startswith("hand-in.zip:lab/task2_min_char_rnn.py is a symbolic link (to def lossFun(")
    assert reason.endswith("); hand in the file itself, not a link") and "\n" not in reason


def test_a_zip_inside_a_folder_has_its_links_refused_too(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "inner.zip", "w") as z:
        zip_link(z, "task3_min_char_lstm.py", "../../reference/task3_min_char_lstm.py")
    found = load_submission(tmp_path)
    assert found.unreadable == {"task3": "inner.zip:task3_min_char_lstm.py is a symbolic link (to "
                                         "../../reference/task3_min_char_lstm.py); hand in the file itself, not a link"}


def test_a_zip_with_escaping_member_names_writes_nothing_and_is_read_by_content(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    absolute = tmp_path / "abs" / "task3_escape.py"
    with zipfile.ZipFile(work / "hand-in.zip", "w") as z:
        z.writestr("../../task2_escape.py", (SOLVED / "task2_min_char_rnn.py").read_text())
        member = zipfile.ZipInfo("placeholder")
        member.filename = str(absolute)  # as a hostile tool writes it: ZipFile.writestr would strip the "/"
        z.writestr(member, (SOLVED / "task3_min_char_lstm.py").read_text())
    before = sorted(tmp_path.rglob("*"))
    found = load_submission(work / "hand-in.zip")
    assert sorted(tmp_path.rglob("*")) == before and not absolute.exists()
    assert found.files["task3"].name == f"hand-in.zip:{absolute}"
    assert found.files["task3"].text == (SOLVED / "task3_min_char_lstm.py").read_text()
    assert "task2" not in found.files  # a "../" member is never a candidate


def test_a_top_level_link_chosen_by_the_tutor_is_followed(tmp_path: Path) -> None:
    (tmp_path / "folder").symlink_to(SOLVED, target_is_directory=True)
    (tmp_path / "one.py").symlink_to(SOLVED / "task2_min_char_rnn.py")
    assert set(load_submission(tmp_path / "folder").files) == {"task2", "task3", "answers"}
    assert list(load_submission(tmp_path / "one.py").files) == ["task2"]


def test_a_fifo_named_like_a_source_is_never_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "task2_min_char_rnn.py")
    found = load_submission(tmp_path)
    assert found.files == {} and found.notes == ("task2_min_char_rnn.py: not a regular file; not read",)


def test_the_answers_file_is_found_by_its_keys_and_never_taken_for_a_script(tmp_path: Path) -> None:
    (tmp_path / "Lab5 answers.YML").write_text('q2_rnn_weights: "h(n+h+1)"\nq2_lstm_weights: ""\n')
    (tmp_path / "config.yaml").write_text("lr: 0.1\n")
    (tmp_path / "sneaky.yaml").write_text("def lossFun(inputs, targets, hprev):\n  q1: x\n")
    submission = load_submission(tmp_path)
    assert submission.files["answers"].name == "Lab5 answers.YML" and "task2" not in submission.files


def test_of_two_answers_files_the_complete_one_is_read_and_the_report_says_so(tmp_path: Path) -> None:
    (tmp_path / "draft.yaml").write_text('q2_rnn_weights: "h"\n')
    (tmp_path / "answers.yaml").write_text("".join(f"{k}: x\n" for k in ("q2_rnn_weights", "q2_lstm_weights",
                                                                          "q1", "q3", "q4")))
    submission = load_submission(tmp_path)
    assert submission.files["answers"].name == "answers.yaml"
    assert "2 files hold Part 1's answers: graded answers.yaml, ignored draft.yaml" in submission.notes
