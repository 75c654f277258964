"""Finding the students of a class in Moodle's download (a zip or the folder it unzips to), or in any
folder or zip holding one entry per student, and copying each one's files out safely.

Nothing is written outside the folder the caller gives: member names with `..`, absolute names and
links are never followed, and size and compression-ratio limits stop a zip bomb with a note for
that student only.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterator

from grader.errors import UsageError
from grader.moodle import parse_entry
from grader.submission import GRADABLE_SUFFIXES, open_regular, open_zip

SKIPPED = ("__MACOSX", ".DS_Store", "Thumbs.db")
MAX_MEMBER_BYTES = 20_000_000
MAX_STUDENT_BYTES = 60_000_000
MAX_RATIO = 200
"""A member that inflates more than this many times (beyond its first MiB) is a zip bomb."""
CHUNK = 1 << 20


@dataclass(frozen=True)
class Member:
    """One file a student handed in: where it is in the class's download, and its name for grading."""

    source: str
    """A zip member's name, or a path relative to the class folder."""
    name: str
    """Its relative path in the student's own folder ("" when it is not gradable)."""


@dataclass(frozen=True)
class Student:
    """One student's entry: a stable key, Moodle's participant number and name, and their files."""

    key: str
    id: str
    name: str
    entry: str
    """The entry's name in the download, as the report shows it."""
    members: tuple[Member, ...]
    origin: Path
    """The class's download: a zip, or a folder."""


def find_students(origin: Path, outside: Path | None = None) -> list[Student]:
    """Every student of the class at `origin`, in a stable order (by key); nothing inside the folder
    `outside` (a batch's own output, written inside the class's folder) counts."""
    if not origin.exists():
        raise UsageError(f"{origin}: no such file or folder")
    listed = _zip_members(origin) if origin.is_file() else _folder_members(origin)
    if outside is not None and origin.is_dir() and outside.resolve().is_relative_to(origin.resolve()):
        mine = outside.resolve().relative_to(origin.resolve()).as_posix() + "/"
        listed = [source for source in listed if not (source + "/").startswith(mine)]
    wrapper = _wrapper(listed)
    groups: dict[str, tuple[str, str, str, list[Member]]] = {}
    for source in listed:
        first, rest = _split(source[len(wrapper):])
        key, sid, name, inner = _owner(first, rest, origin.is_dir() and (origin / wrapper / first).is_dir())
        groups.setdefault(key, (sid, name, first, []))[3].append(Member(source, inner if _gradable(inner) else ""))
    return [Student(key, sid, name, entry, tuple(members), origin)
            for key, (sid, name, entry, members) in sorted(groups.items())]


def _wrapper(listed: list[str]) -> str:
    """The one folder around Moodle's entries ("Lab 5-123/" when a tool unzipped into a folder of its
    own), or ""."""
    firsts = {_split(source)[0] for source in listed}
    if len(firsts) != 1 or parse_entry(next(iter(firsts))) is not None:
        return ""
    prefix = next(iter(firsts)) + "/"
    inner = {_split(source[len(prefix):])[0] for source in listed if source.startswith(prefix)}
    return prefix if inner and all(parse_entry(first) is not None for first in inner) else ""


def _zip_members(origin: Path) -> list[str]:
    try:
        with open_zip(origin) as z:
            return [m.filename for m in z.infolist() if not m.is_dir() and not _skipped(m.filename)]
    except (zipfile.BadZipFile, OSError) as e:
        raise UsageError(f"{origin}: not a zip archive Moodle could have written ({e})") from None


def _folder_members(origin: Path) -> list[str]:
    found = []
    for folder, dirs, files in os.walk(origin):  # links to folders are not followed
        dirs[:] = sorted(d for d in dirs if not _skipped(d))
        for f in sorted(files):
            relative = Path(folder, f).relative_to(origin).as_posix()
            if not _skipped(relative):
                found.append(relative)
    return found


def _skipped(name: str) -> bool:
    return any(part in SKIPPED or part.startswith("._") for part in PurePosixPath(name).parts)


def _split(source: str) -> tuple[str, str]:
    parts = PurePosixPath(source.replace("\\", "/")).parts
    return parts[0], "/".join(parts[1:])


def _owner(first: str, rest: str, is_folder: bool) -> tuple[str, str, str, str]:
    """(key, id, name, name inside the student's folder) of one member of the download."""
    moodle = parse_entry(first)
    if moodle is not None:
        inner = rest if rest else moodle.file or first
        return _safe_key(moodle.id), moodle.id, moodle.name, inner
    entry = first if rest or is_folder else _stem(first)
    return _safe_key(entry), entry, entry, rest if rest else first


def _stem(name: str) -> str:
    path = PurePosixPath(name)
    return path.stem if path.suffix.lower() in GRADABLE_SUFFIXES else name


def _safe_key(text: str) -> str:
    """A file name for the student's report: the text itself when safe, else a readable part and a hash."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "student"
    if safe == text:
        return safe
    return f"{safe[:60]}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def _gradable(name: str) -> bool:
    return PurePosixPath(name).suffix.lower() in GRADABLE_SUFFIXES


def in_shard(key: str, shard: tuple[int, int] | None) -> bool:
    """Whether the student with `key` is graded by shard K of N (K from 1); every student without one."""
    if shard is None:
        return True
    k, n = shard
    return int(hashlib.sha256(key.encode()).hexdigest()[:12], 16) % n == k - 1


def fingerprint(student: Student) -> str:
    """A content hash of everything the student handed in (names and bytes), for resuming."""
    digest = hashlib.sha256()
    with _opened(student.origin) as read:
        for member in sorted(student.members, key=lambda m: m.source):
            digest.update(member.source.encode() + b"\0")
            try:
                for chunk in read(member.source, MAX_STUDENT_BYTES):
                    digest.update(chunk)
            except UNREADABLE as e:
                digest.update(f"\0unreadable: {e}".encode())
    return digest.hexdigest()


def copy_out(student: Student, folder: Path) -> list[str]:
    """Write the student's gradable files into `folder` (which must exist); the notes for their report."""
    notes, total = [], 0
    ignored = sorted(m.source for m in student.members if not m.name)
    if ignored:
        notes.append(f"not graded (not .py, .ipynb or .zip): {', '.join(ignored[:10])}"
                     + (f" and {len(ignored) - 10} more" if len(ignored) > 10 else ""))
    with _opened(student.origin) as read:
        for member in (m for m in student.members if m.name):
            target = _inside(folder, member.name)
            if target is None:
                notes.append(f"{member.source}: a name that leads outside the submission; not read")
                continue
            try:
                total += _write(target, read(member.source, min(MAX_MEMBER_BYTES, MAX_STUDENT_BYTES - total)))
            except FileExistsError:
                notes.append(f"{member.source}: a second file named {member.name}; not read")
            except UNREADABLE as e:
                target.unlink(missing_ok=True)
                notes.append(f"{member.source}: {e}; not read")
    return notes


def _inside(folder: Path, name: str) -> Path | None:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if not parts or any(p in ("", ".", "..") or "\0" in p or ":" in p for p in parts) or parts[0].startswith("/"):
        return None
    target = folder.joinpath(*parts)
    if not target.resolve().is_relative_to(folder.resolve()):
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


class _TooBig(Exception):
    """A member that is larger, or inflates more, than the limits allow."""


UNREADABLE = (_TooBig, zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError, EOFError, zlib.error)
"""What reading one member may raise: a broken, encrypted or hostile member costs that member only."""


def _write(target: Path, chunks: Iterator[bytes]) -> int:
    written = 0
    with open(target, "xb") as f:
        for chunk in chunks:
            f.write(chunk)
            written += len(chunk)
    return written


class _opened:
    """The class's download opened for reading members: a zip once, or a folder."""

    def __init__(self, origin: Path) -> None:
        self.origin = origin
        self.zip: zipfile.ZipFile | None = None

    def __enter__(self) -> _opened:
        if self.origin.is_file():
            self.zip = open_zip(self.origin)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.zip is not None:
            self.zip.close()

    def __call__(self, source: str, limit: int) -> Iterator[bytes]:
        if self.zip is None:
            return _file_chunks(self.origin / source, limit)
        return _zip_chunks(self.zip, source, limit)


def _zip_chunks(z: zipfile.ZipFile, source: str, limit: int) -> Iterator[bytes]:
    info = z.getinfo(source)
    if stat.S_ISLNK(info.external_attr >> 16):
        raise _TooBig("a symbolic link, never followed")
    read = 0
    with z.open(info) as stream:
        while chunk := stream.read(CHUNK):
            read += len(chunk)
            if read > limit:
                raise _TooBig(f"larger than {limit // 1_000_000} MB")
            if read > CHUNK and read > MAX_RATIO * max(info.compress_size, 1):
                raise _TooBig(f"inflates more than {MAX_RATIO} times (a zip bomb?)")
            yield chunk


def _file_chunks(path: Path, limit: int) -> Iterator[bytes]:
    try:
        f = open_regular(path)
    except OSError as e:
        raise _TooBig("a symbolic link, never followed" if os.path.islink(path) else str(e.strerror)) from None
    with f:
        read = 0
        while chunk := f.read(CHUNK):
            read += len(chunk)
            if read > limit:
                raise _TooBig(f"larger than {limit // 1_000_000} MB")
            yield chunk
