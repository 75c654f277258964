"""Finding a submission's task files by content, in a folder, a .zip or a single file."""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Iterator

from grader.errors import UsageError
from grader.tasks import LAB
from grader.tasks.spec import Lab, Task

READ_SUFFIXES = tuple(dict.fromkeys(suffix for task in LAB.tasks for suffix in task.suffixes))
"""The files whose text is read: those the lab's tasks are found in (sources, and data such as answers)."""
LINKABLE_SUFFIXES = (*READ_SUFFIXES, ".zip")
GRADABLE_SUFFIXES = LINKABLE_SUFFIXES
"""What a submission is made of for the grader (a batch copies out only these; anything else a student
handed in is listed in a note)."""
SKIPPED_FOLDERS = {"__MACOSX", "__pycache__", ".git", ".ipynb_checkpoints", "site-packages", "venv",
                   ".venv", "node_modules"}
UNFOLLOWED = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
"""Flags that open a link as an error and a pipe without waiting (POSIX; Windows has neither)."""
MAX_FILE_BYTES = 2_000_000
MAX_FILES = 500


@dataclass(frozen=True)
class TaskFile:
    """One task's source, decoded to text with LF line endings."""

    task: str
    name: str
    text: str
    notes: tuple[str, ...] = ()
    cells: tuple[tuple[int, int], ...] = ()
    """For a notebook: (cell number, line in cell) for each line of `text`."""

    def where(self, line: int) -> str:
        """A person's name for a line: 'file.py line 41' or 'lab.ipynb cell 3 line 2'."""
        if self.cells and 1 <= line <= len(self.cells):
            cell, in_cell = self.cells[line - 1]
            return f"{self.name} cell {cell} line {in_cell}"
        return f"{self.name} line {line}"


@dataclass(frozen=True)
class Submission:
    """What was handed in: the task files found, and what was noticed finding them."""

    path: Path
    files: dict[str, TaskFile] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    looked_at: tuple[str, ...] = ()
    unreadable: dict[str, str] = field(default_factory=dict)
    """Task -> why its file was not read, for a task with no file found: a link was handed in."""


@dataclass
class _Walk:
    """What finding the sources noticed besides them: notes, and the links left unopened."""

    notes: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    """(name in the submission, sentence saying it is a link) of each link named like a source."""


def load_submission(path: Path | str, lab: Lab = LAB) -> Submission:
    """Find the files of `lab`'s tasks in the submission at `path` (folder, .zip, .py or .ipynb).

    Inside the submission a symbolic link is never opened or followed (`path` itself may be one).
    """
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path}: no such file or folder")
    walk = _Walk()
    candidates = list(_sources(path, walk))
    files: dict[str, TaskFile] = {}
    for task in sorted(lab.tasks, key=lambda t: not t.runs_code):  # the code's notes first, as they were
        matching = [c for c in candidates if _suffix(c.name) in task.suffixes and task.pattern.search(c.text)]
        if matching:
            chosen = _choose(task, matching, walk.notes)
            files[task.id] = TaskFile(task.id, chosen.name, chosen.text, chosen.notes, chosen.cells)
    looked_at = tuple(c.name for c in candidates)
    return Submission(path, files, tuple(walk.notes), looked_at, _unreadable(walk.links, files, lab))


def _unreadable(links: list[tuple[str, str]], files: dict[str, TaskFile], lab: Lab) -> dict[str, str]:
    """Each task of code not found, with the links that may have been meant as its file."""
    reasons: dict[str, list[str]] = {}
    for name, sentence in links:
        for task in _meant(name, lab):
            if task not in files:
                reasons.setdefault(task, []).append(sentence)
    return {task: "; ".join(sentences) for task, sentences in reasons.items()}


def _meant(name: str, lab: Lab) -> list[str]:
    """The tasks of code a file's name says it is for; every one when it says none."""
    coded = [task for task in lab.tasks if task.runs_code]
    said = [task.id for task in coded if any(word in name.lower() for word in task.words)]
    return said or [task.id for task in coded]


def _suffix(name: str) -> str:
    return PurePosixPath(name).suffix.lower()


def _choose(task: Task, matching: list[TaskFile], notes: list[str]) -> TaskFile:
    """Several files are the same task's: grade the most finished-looking one, and say so."""
    finished = task.complete or _compiles
    ranked = sorted(matching, key=lambda c: (not finished(c.text), task.id not in c.name.lower(),
                                             c.name.count("/"), len(c.name), c.name))
    if len(ranked) > 1:
        others = ", ".join(c.name for c in ranked[1:])
        notes.append(f"{len(ranked)} files {task.found}: graded {ranked[0].name}, ignored {others}")
    return ranked[0]


def _compiles(text: str) -> bool:
    try:
        compile(text, "<candidate>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _sources(path: Path, walk: _Walk) -> Iterator[TaskFile]:
    real = path.resolve()  # the tutor's own path may be a link; nothing inside it is followed
    if real.is_dir():
        yield from _folder(real, walk)
    elif path.suffix.lower() == ".zip":
        yield from _archive(real, path.name, walk)
    elif path.suffix.lower() in READ_SUFFIXES:
        yield from _file(real, path.name, walk)
    else:
        walk.notes.append(f"{path.name}: not a .py, .ipynb, .yaml or .zip file; nothing to grade in it")


def _folder(root: Path, walk: _Walk) -> Iterator[TaskFile]:
    entries = _entries(root, walk)
    if len(entries) > MAX_FILES:
        walk.notes.append(f"more than {MAX_FILES} files in {root.name}; the rest were not read")
    for parts in entries[:MAX_FILES]:
        path, name = root.joinpath(*parts), "/".join(parts)
        if path.suffix.lower() == ".zip":
            yield from _archive(path, name, walk)
        elif path.suffix.lower() in READ_SUFFIXES:
            yield from _file(path, name, walk)


def _entries(root: Path, walk: _Walk) -> list[tuple[str, ...]]:
    """The files under `root` (as path parts, sorted), never going through a symbolic link."""
    found: list[tuple[str, ...]] = []
    for folder, subfolders, names in os.walk(root, followlinks=False):
        base = Path(folder).relative_to(root).parts
        subfolders[:] = sorted(d for d in subfolders if _kept(d) and not _folder_link(root, (*base, d), walk))
        found += [(*base, n) for n in names if _kept(n) and not _file_link(root, (*base, n), walk)]
        if len(found) > MAX_FILES:
            break
    return sorted(found)


def _kept(name: str) -> bool:
    """Not a tool's folder (a virtualenv, git) nor a hidden file."""
    return name not in SKIPPED_FOLDERS and not name.startswith(".")


def _folder_link(root: Path, parts: tuple[str, ...], walk: _Walk) -> bool:
    path = root.joinpath(*parts)
    if not path.is_symlink():
        return False
    walk.notes.append(f"{'/'.join(parts)} is a symbolic link to a folder (to {_target(path)}); not followed")
    return True


def _file_link(root: Path, parts: tuple[str, ...], walk: _Walk) -> bool:
    """Whether a file is a symbolic link; one named like a source is noted, never opened."""
    path = root.joinpath(*parts)
    if not path.is_symlink():
        return False
    if path.suffix.lower() in LINKABLE_SUFFIXES:
        _noted_link("/".join(parts), _target(path), walk)
    return True


def _target(link: Path) -> str:
    try:
        return os.readlink(link)
    except OSError as e:
        return f"an unknown place: {e.strerror}"


def _noted_link(name: str, target: str, walk: _Walk) -> None:
    shown = " ".join(target.split())[:200]
    sentence = f"{name} is a symbolic link (to {shown}); hand in the file itself, not a link"
    walk.notes.append(sentence)
    walk.links.append((name, sentence))


def _file(path: Path, name: str, walk: _Walk) -> Iterator[TaskFile]:
    try:
        with open_regular(path) as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        walk.notes.append(f"{name}: {e.strerror or e}; not read")
        return
    if len(data) > MAX_FILE_BYTES:
        walk.notes.append(f"{name}: larger than {MAX_FILE_BYTES // 1_000_000} MB; not read")
        return
    yield from _decoded(name, data, walk.notes)


def open_regular(path: Path) -> BinaryIO:
    """A regular file, opened without following a link nor waiting on a pipe."""
    if not UNFOLLOWED and path.is_symlink():  # Windows: no flag for it, so the name is looked at first
        raise OSError(errno.ELOOP, "a symbolic link")
    f = open(path, "rb", opener=lambda p, flags: os.open(p, flags | UNFOLLOWED))
    if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
        f.close()
        raise OSError(errno.EINVAL, "not a regular file")
    return f


def open_zip(file: Path | BinaryIO) -> zipfile.ZipFile:
    """A zip archive opened for reading, its names read as UTF-8 where the archive does not say but every
    name is (Info-ZIP on Linux and macOS writes UTF-8 names without the flag that says so), else as the
    zip format's own cp437."""
    try:
        return zipfile.ZipFile(file, metadata_encoding="utf-8")
    except UnicodeDecodeError:
        if not isinstance(file, Path):
            file.seek(0)
        return zipfile.ZipFile(file)


def _archive(path: Path, name: str, walk: _Walk) -> Iterator[TaskFile]:
    """Source files inside a zip, read in memory: nothing is extracted to disk, no link is read."""
    try:
        with open_regular(path) as stream, open_zip(stream) as z:
            for m in [m for m in z.infolist() if _wanted_member(m)][:MAX_FILES]:
                yield from _member(z, m, f"{name}:{m.filename}", walk)
    except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as e:
        walk.notes.append(f"{name}: cannot read the zip archive ({e})")


def _wanted_member(m: zipfile.ZipInfo) -> bool:
    parts = PurePosixPath(m.filename).parts
    if m.is_dir() or any(p in SKIPPED_FOLDERS or p.startswith(".") for p in parts):
        return False
    return PurePosixPath(m.filename).suffix.lower() in LINKABLE_SUFFIXES


def _member(z: zipfile.ZipFile, m: zipfile.ZipInfo, name: str, walk: _Walk) -> Iterator[TaskFile]:
    """A member's source; a link (S_IFLNK in its Unix mode bits) is noted, its target never looked up."""
    if stat.S_ISLNK(m.external_attr >> 16):
        _noted_link(name, z.read(m)[:200].decode("utf-8", "replace"), walk)
    elif PurePosixPath(m.filename).suffix.lower() not in READ_SUFFIXES:
        return  # a zip inside a zip is not opened
    elif m.file_size > MAX_FILE_BYTES:
        walk.notes.append(f"{name}: larger than {MAX_FILE_BYTES // 1_000_000} MB; not read")
    else:
        yield from _decoded(name, z.read(m)[:MAX_FILE_BYTES], walk.notes)


def _decoded(name: str, data: bytes, notes: list[str]) -> Iterator[TaskFile]:
    file_notes: list[str] = []
    text = decode(data, name, file_notes)
    if name.lower().endswith(".ipynb"):
        try:
            text, cells = notebook_code(text)
        except ValueError as e:
            notes.append(f"{name}: not a readable notebook ({e})")
            return
        yield TaskFile("", name, text, tuple(file_notes), cells)
    else:
        yield TaskFile("", name, text, tuple(file_notes))


def decode(data: bytes, name: str, notes: list[str]) -> str:
    """Bytes to text: UTF-8 (with or without BOM), else Latin-1; CRLF and CR become LF."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        notes.append(f"{name}: not UTF-8; read as Latin-1")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        notes.append(f"{name}: Windows (CRLF) line endings read as LF")
    if "\x00" in text:
        text = text.replace("\x00", "")
        notes.append(f"{name}: NUL bytes removed")
    return text


MAGIC = re.compile(r"^\s*[%!]")


def notebook_code(text: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The code cells of a notebook as one script, and where each line came from.

    IPython magics and shell escapes (%..., !...) become blank lines.
    """
    try:
        nb = json.loads(text)
        cells = nb["cells"]
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(str(e)) from e
    lines: list[str] = []
    origin: list[tuple[int, int]] = []
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        body = "".join(source) if isinstance(source, list) else str(source)
        for i, line in enumerate(body.split("\n"), start=1):
            lines.append("" if MAGIC.match(line) else line)
            origin.append((number, i))
    return "\n".join(lines) + "\n", tuple(origin)
