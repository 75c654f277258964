"""Finding a class's students in every layout Moodle writes, and copying their files out safely."""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from grader.errors import UsageError
from grader.students import MAX_RATIO, Member, Student, copy_out, find_students, fingerprint, in_shard

RNN = b"def lossFun(inputs, targets, hprev):\n    pass\n"


def moodle_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def by_key(students: list[Student]) -> dict[str, Student]:
    return {s.key: s for s in students}


def test_every_moodle_layout_gives_one_student_per_participant(tmp_path: Path) -> None:
    z = moodle_zip(tmp_path / "class.zip", {
        "Zoë O'Brien_100001_assignsubmission_file/task2_min_char_rnn.py": RNN,
        "Zoë O'Brien_100001_assignsubmission_onlinetext/onlinetext.html": b"<p>see file</p>",
        "Jean-Luc Picard_100002_assignsubmission_file_/lab/code/task2.py": RNN,
        "Ana María López_100003_assignsubmission_file_task2_min_char_rnn.py": RNN,
        "Ana María López_100003_assignsubmission_file_notes.pdf": b"%PDF",
        "Bob Li_100004_assignsubmission_onlinetext/onlinetext.html": b"<p>my answer</p>",
    })
    students = by_key(find_students(z))
    assert set(students) == {"100001", "100002", "100003", "100004"}
    assert (students["100001"].name, students["100001"].id) == ("Zoë O'Brien", "100001")
    assert [m.name for m in students["100002"].members] == ["lab/code/task2.py"]
    assert sorted(m.name for m in students["100003"].members) == ["", "task2_min_char_rnn.py"]
    assert [m.name for m in students["100004"].members] == [""]  # online text only: nothing gradable


class _Unflagged(zipfile.ZipInfo):
    """A member whose name is written as cp437 bytes, without the UTF-8 flag (zipfile would set it)."""

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        return self.filename.encode("cp437"), self.flag_bits


@pytest.mark.parametrize("encoding", ["utf-8", "cp437"])
def test_names_without_the_utf_8_flag_read_as_the_tool_wrote_them(tmp_path: Path, encoding: str) -> None:
    """Info-ZIP on Linux and macOS writes UTF-8 names without the flag that says so; an old tool wrote cp437."""
    path = tmp_path / "rezipped.zip"
    with zipfile.ZipFile(path, "w") as z:
        for name in ("Zoë O'Brien_100001_assignsubmission_file_/task2_min_char_rnn.py",
                     "Ana López_100003_assignsubmission_file_/task2.py"):
            z.writestr(_Unflagged(name.encode(encoding).decode("cp437")), RNN)
    with zipfile.ZipFile(path) as z:
        assert not any(info.flag_bits & 0x800 for info in z.infolist())
    students = by_key(find_students(path))
    assert {s.name for s in students.values()} == {"Zoë O'Brien", "Ana López"}
    for student in students.values():
        assert copy_out(student, tmp_path / student.key) == []
        assert (tmp_path / student.key / student.members[0].name).read_bytes() == RNN


def test_the_folder_moodle_unzips_to_gives_the_same_students(tmp_path: Path) -> None:
    members = {"Zoë O'Brien_100001_assignsubmission_file/task2.py": RNN,
               "Ana María_100003_assignsubmission_file_task2.py": RNN}
    zipped = find_students(moodle_zip(tmp_path / "class.zip", members))
    folder = tmp_path / "class"
    with zipfile.ZipFile(tmp_path / "class.zip") as z:
        z.extractall(folder)
    unzipped = find_students(folder)
    assert [(s.key, s.name, [m.name for m in s.members]) for s in zipped] == \
           [(s.key, s.name, [m.name for m in s.members]) for s in unzipped]


def test_a_folder_a_tool_unzipped_into_is_looked_through(tmp_path: Path) -> None:
    z = moodle_zip(tmp_path / "class.zip", {"Lab 5-123456/Zoë_100001_assignsubmission_file/task2.py": RNN,
                                            "Lab 5-123456/Bob_100004_assignsubmission_file/task2.py": RNN})
    assert [s.key for s in find_students(z)] == ["100001", "100004"]


def test_any_folder_of_entries_is_one_student_per_entry(tmp_path: Path) -> None:
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "task2.py").write_bytes(RNN)
    (tmp_path / "bob.py").write_bytes(RNN)
    moodle_zip(tmp_path / "chloé.zip", {"task2.py": RNN})
    students = find_students(tmp_path)
    assert [(s.name, s.id) for s in students] == [("alice", "alice"), ("bob", "bob"), ("chloé", "chloé")]
    assert len({s.key for s in students}) == 3 and all(s.key.isascii() for s in students)


def test_a_missing_or_broken_download_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        find_students(tmp_path / "missing.zip")
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    with pytest.raises(UsageError, match="broken.zip: not a zip archive"):
        find_students(tmp_path / "broken.zip")


def test_names_leading_outside_are_never_written_and_are_noted(tmp_path: Path) -> None:
    z = moodle_zip(tmp_path / "class.zip", {"Eve_100009_assignsubmission_file/../../escape.py": RNN,
                                            "Eve_100009_assignsubmission_file/ok.py": RNN})
    (student,) = find_students(z)
    folder = tmp_path / "out" / "eve"
    folder.mkdir(parents=True)
    notes = copy_out(student, folder)
    assert [p.name for p in folder.rglob("*.py")] == ["ok.py"]
    assert not (tmp_path / "escape.py").exists() and not (tmp_path / "out" / "escape.py").exists()
    assert any("leads outside" in n for n in notes)


def test_a_zip_member_stored_as_a_link_is_never_followed(tmp_path: Path) -> None:
    path = tmp_path / "class.zip"
    with zipfile.ZipFile(path, "w") as z:
        link = zipfile.ZipInfo("Eve_100009_assignsubmission_file/task2.py")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(link, "/etc/passwd")
    (student,) = find_students(path)
    folder = tmp_path / "eve"
    folder.mkdir()
    notes = copy_out(student, folder)
    assert list(folder.iterdir()) == [] and any("symbolic link" in n for n in notes)


def test_a_link_in_a_class_folder_is_never_followed(tmp_path: Path) -> None:
    (tmp_path / "class" / "eve").mkdir(parents=True)
    secret = tmp_path / "secret.py"
    secret.write_bytes(RNN)
    os.symlink(secret, tmp_path / "class" / "eve" / "task2.py")
    (student,) = find_students(tmp_path / "class")
    folder = tmp_path / "out"
    folder.mkdir()
    assert any("symbolic link" in n for n in copy_out(student, folder))
    assert list(folder.iterdir()) == []


def test_a_zip_bomb_costs_its_student_a_note_and_nothing_else(tmp_path: Path) -> None:
    z = moodle_zip(tmp_path / "class.zip", {"Eve_100009_assignsubmission_file/bomb.py": b"#" * 50_000_000,
                                            "Bob_100004_assignsubmission_file/task2.py": RNN})
    students = by_key(find_students(z))
    eve, bob = tmp_path / "eve", tmp_path / "bob"
    eve.mkdir()
    bob.mkdir()
    notes = copy_out(students["100009"], eve)
    assert any(f"inflates more than {MAX_RATIO} times" in n for n in notes) and list(eve.iterdir()) == []
    assert copy_out(students["100004"], bob) == [] and (bob / "task2.py").read_bytes() == RNN


def test_what_is_not_gradable_is_listed_in_a_note(tmp_path: Path) -> None:
    z = moodle_zip(tmp_path / "class.zip", {"Bob_100004_assignsubmission_onlinetext/onlinetext.html": b"hi",
                                            "Bob_100004_assignsubmission_file/report.pdf": b"%PDF"})
    (student,) = find_students(z)
    (tmp_path / "bob").mkdir()
    notes = copy_out(student, tmp_path / "bob")
    assert notes == ["not graded (not .py, .ipynb or .zip): Bob_100004_assignsubmission_file/report.pdf, "
                     "Bob_100004_assignsubmission_onlinetext/onlinetext.html"]


def test_the_fingerprint_follows_the_content_and_names_only(tmp_path: Path) -> None:
    def student(files: dict[str, bytes], name: str) -> Student:
        return find_students(moodle_zip(tmp_path / name, files))[0]

    a = student({"Bob_1_assignsubmission_file/t.py": RNN}, "a.zip")
    same = student({"Bob_1_assignsubmission_file/t.py": RNN}, "b.zip")
    edited = student({"Bob_1_assignsubmission_file/t.py": RNN + b"#"}, "c.zip")
    renamed = student({"Bob_1_assignsubmission_file/u.py": RNN}, "d.zip")
    assert fingerprint(a) == fingerprint(same)
    assert len({fingerprint(a), fingerprint(edited), fingerprint(renamed)}) == 3


@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=30, unique=True), st.integers(1, 6))
def test_shards_split_the_students_into_parts_that_do_not_overlap(keys: list[str], n: int) -> None:
    shards = [[k for k in keys if in_shard(k, (i, n))] for i in range(1, n + 1)]
    assert sorted(k for shard in shards for k in shard) == sorted(keys)
    assert all(in_shard(k, None) for k in keys)


def test_a_student_record_survives_a_trip_to_a_lane() -> None:
    import pickle

    student = Student("1", "1", "Zoë", "Zoë_1_assignsubmission_file", (Member("a/b.py", "b.py"),), Path("/x.zip"))
    assert pickle.loads(pickle.dumps(student)) == student


def test_a_batch_s_own_output_inside_the_class_folder_is_not_a_student(tmp_path: Path) -> None:
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "task2.py").write_bytes(RNN)
    (tmp_path / "marks" / "reports").mkdir(parents=True)
    (tmp_path / "marks" / "reports" / "alice.json").write_text("{}")
    (tmp_path / "marks" / "grades.csv").write_text("")
    assert [s.name for s in find_students(tmp_path, outside=tmp_path / "marks")] == ["alice"]
    assert [s.name for s in find_students(tmp_path)] == ["alice", "marks"]
