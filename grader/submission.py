"""Finding a submission's task files by content, in a folder, a .zip or a single file."""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterator

from grader.errors import UsageError

TASKS = {
    "task2": re.compile(r"^[ \t]*def[ \t]+lossFun[ \t]*\(", re.MULTILINE),
    "task3": re.compile(r"^[ \t]*class[ \t]+_charLSTM\b", re.MULTILINE),
}
DEFINES = {"task2": "a function lossFun", "task3": "a class _charLSTM"}
SOURCE_SUFFIXES = (".py", ".ipynb")
SKIPPED_FOLDERS = {"__MACOSX", "__pycache__", ".git", ".ipynb_checkpoints", "site-packages", "venv",
                   ".venv", "node_modules"}
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


def load_submission(path: Path | str) -> Submission:
    """Find the task files of the submission at `path` (folder, .zip, .py or .ipynb)."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path}: no such file or folder")
    notes: list[str] = []
    candidates = list(_sources(path, notes))
    files: dict[str, TaskFile] = {}
    for task, pattern in TASKS.items():
        matching = [c for c in candidates if pattern.search(c.text)]
        if matching:
            chosen = _choose(task, matching, notes)
            files[task] = TaskFile(task, chosen.name, chosen.text, chosen.notes, chosen.cells)
    looked_at = tuple(c.name for c in candidates)
    return Submission(path, files, tuple(notes), looked_at)


def _choose(task: str, matching: list[TaskFile], notes: list[str]) -> TaskFile:
    """Several files define the same task: grade the most finished-looking one, and say so."""
    ranked = sorted(matching, key=lambda c: (not _compiles(c.text), task not in c.name.lower(),
                                             c.name.count("/"), len(c.name), c.name))
    if len(ranked) > 1:
        others = ", ".join(c.name for c in ranked[1:])
        notes.append(f"{len(ranked)} files define {DEFINES[task]}: graded {ranked[0].name}, "
                     f"ignored {others}")
    return ranked[0]


def _compiles(text: str) -> bool:
    try:
        compile(text, "<candidate>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _sources(path: Path, notes: list[str]) -> Iterator[TaskFile]:
    if path.is_dir():
        yield from _folder(path, notes)
    elif path.suffix.lower() == ".zip":
        yield from _archive(path, path.name, notes)
    elif path.suffix.lower() in SOURCE_SUFFIXES:
        yield from _decoded(path.name, path.read_bytes(), notes)
    else:
        notes.append(f"{path.name}: not a .py, .ipynb or .zip file; nothing to grade in it")


def _folder(root: Path, notes: list[str]) -> Iterator[TaskFile]:
    seen = 0
    for p in sorted(root.rglob("*")):
        parts = p.relative_to(root).parts
        if any(part in SKIPPED_FOLDERS or part.startswith(".") for part in parts) or not p.is_file():
            continue
        seen += 1
        if seen > MAX_FILES:
            notes.append(f"more than {MAX_FILES} files in {root.name}; the rest were not read")
            return
        name = "/".join(parts)
        if p.suffix.lower() == ".zip":
            yield from _archive(p, name, notes)
        elif p.suffix.lower() in SOURCE_SUFFIXES:
            if p.stat().st_size > MAX_FILE_BYTES:
                notes.append(f"{name}: larger than {MAX_FILE_BYTES // 1_000_000} MB; not read")
                continue
            yield from _decoded(name, p.read_bytes(), notes)


def _archive(path: Path, name: str, notes: list[str]) -> Iterator[TaskFile]:
    """Source files inside a zip, read in memory: nothing is extracted to disk."""
    try:
        with zipfile.ZipFile(path) as z:
            members = [m for m in z.infolist() if _wanted_member(m)]
            for m in members[:MAX_FILES]:
                if m.file_size > MAX_FILE_BYTES:
                    notes.append(f"{name}:{m.filename}: larger than {MAX_FILE_BYTES // 1_000_000} MB;"
                                 " not read")
                    continue
                data = z.read(m)
                yield from _decoded(f"{name}:{m.filename}", data[:MAX_FILE_BYTES], notes)
    except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as e:
        notes.append(f"{name}: cannot read the zip archive ({e})")


def _wanted_member(m: zipfile.ZipInfo) -> bool:
    parts = PurePosixPath(m.filename).parts
    if m.is_dir() or any(p in SKIPPED_FOLDERS or p.startswith(".") for p in parts):
        return False
    return PurePosixPath(m.filename).suffix.lower() in SOURCE_SUFFIXES


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
