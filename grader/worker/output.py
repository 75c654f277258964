"""The worker's sys.stdout and sys.stderr: a capped text stream whose writes never fail and cost little.

The first KEEP bytes a stream is given go straight to its file descriptor (the grader's capture
file). After that only the last KEEP characters are kept in memory, and a count of those
dropped; `persist()` (the worker calls it after every request and at exit) writes them to the
file after the beginning, preceded by a line like "[... 52,428,800 characters left out ...]",
in place of what it wrote there the time before. So a file never holds much more than 2 KEEP
bytes, and printing 50 MB costs the student the making of the string, not its writing.

Only Python-level writes are capped: C code writing to fd 1 or 2 itself (a C library's printf,
faulthandler's stack dump, `os.write(1, ...)`) writes to the file directly, under the worker's
RLIMIT_FSIZE. Such bytes are kept: the next tail is written after them.
"""

from __future__ import annotations

import codecs
import io
import os
import sys
import threading
from typing import Any

KEEP = 64 * 1024
"""Bytes kept from the beginning of a stream, and at most as many from its end (the grader's
sandbox.OUTPUT_KEEP: it reads as much from each end of the file)."""
ENCODING, ERRORS = "utf-8", "replace"


def capture() -> tuple[CappedStream, CappedStream]:
    """Make sys.stdout and sys.stderr (and their __dunder__ twins) capped streams on fds 1 and 2."""
    out, err = CappedStream(1, "<stdout>"), CappedStream(2, "<stderr>")
    sys.stdout, sys.stderr = out, err
    # typeshed calls these final; left alone, they would write to the file without a cap
    sys.__stdout__ = out  # type: ignore[misc,assignment]
    sys.__stderr__ = err  # type: ignore[misc,assignment]
    return out, err


class CappedStream(io.TextIOBase):
    """A text stream onto `fd` that keeps its first and last KEEP bytes and counts what it drops."""

    encoding, errors = ENCODING, ERRORS

    def __init__(self, fd: int, name: str = "<capped>", keep: int = KEEP) -> None:
        super().__init__()
        self._fd, self._name, self._keep = fd, name, keep
        self._room = keep
        """Bytes left for the beginning, written straight to the file; 0 once it is full."""
        self._tail: list[str] = []
        self._tail_chars = 0
        self._since = 0
        """Characters given to the tail since it was last persisted."""
        self._dropped = 0
        self._start = self._end = 0
        """Where in the file the persisted tail starts and ends."""
        self._lock = threading.RLock()
        self._buffer = _ByteStream(self)

    def write(self, s: str) -> int:
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        with self._lock:
            rest = self._write_head(s) if self._room else s
            if rest:
                self._add_to_tail(rest)
        return len(s)

    def _write_head(self, s: str) -> str:
        """Write what fits of `s` into the beginning; the rest, which then goes to the tail."""
        piece = s[: self._room]  # a character takes at least one byte
        data = piece.encode(ENCODING, ERRORS)
        if len(data) > self._room:  # whole characters only
            piece = data[: self._room].decode(ENCODING, "ignore")
            data = piece.encode(ENCODING, ERRORS)
        _write_all(self._fd, data)
        self._room -= len(data)
        rest = s[len(piece):]
        if rest or not self._room:
            self._room = 0
            self._start = self._end = _offset(self._fd)
        return rest

    def _add_to_tail(self, s: str) -> None:
        """Keep the last `keep` characters given (and at times up to twice as many): O(keep) a call."""
        self._since += len(s)
        if len(s) >= self._keep:
            self._dropped += self._tail_chars + len(s) - self._keep
            self._tail, self._tail_chars = [s[-self._keep:]], self._keep
            return
        self._tail.append(s)
        self._tail_chars += len(s)
        if self._tail_chars > 2 * self._keep:
            text = "".join(self._tail)
            self._dropped += len(text) - self._keep
            self._tail, self._tail_chars = [text[-self._keep:]], self._keep

    def persist(self) -> None:
        """Write the kept end into the file after the beginning (never raises)."""
        with self._lock:
            if not self._since:
                return
            text = "".join(self._tail)
            if _offset(self._fd) != self._end:  # someone else wrote after the last tail: keep that,
                self._start = _offset(self._fd)  # and write only what is new after it
                text = text[-self._since:] if self._since < len(text) else text
                self._dropped = self._since - len(text)
                self._tail, self._tail_chars = [text], len(text)
            data = text.encode(ENCODING, ERRORS)[-self._keep:].decode(ENCODING, "ignore")  # whole characters
            dropped = self._dropped + len(text) - len(data)
            marker = f"\n[... {dropped:,} characters left out ...]\n" if dropped else ""
            self._end = self._start + _write_at(self._fd, (marker + data).encode(ENCODING, ERRORS), self._start)
            self._since = 0

    def flush(self) -> None:
        """Nothing to do: the beginning is already in the file, and the end goes there at persist()."""

    def close(self) -> None:
        """Closing a capture does nothing: the worker still persists what it holds."""

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    @property
    def name(self) -> str:
        return self._name

    @property
    def mode(self) -> str:
        return "w"

    @property
    def line_buffering(self) -> bool:
        return False

    @property
    def buffer(self) -> _ByteStream:
        """A binary stream onto this one, as TextIOWrapper has."""
        return self._buffer

    def reconfigure(self, **options: Any) -> None:
        """Accepted and ignored (students call sys.stdout.reconfigure(encoding='utf-8'))."""


class _ByteStream(io.RawIOBase):
    """sys.stdout.buffer: bytes decoded as UTF-8 (a character split across writes is kept whole)."""

    def __init__(self, text: CappedStream) -> None:
        super().__init__()
        self._text = text
        self._decoder = codecs.getincrementaldecoder(ENCODING)(ERRORS)

    def write(self, b: Any) -> int:
        data = bytes(b)
        self._text.write(self._decoder.decode(data))
        return len(data)

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._text.fileno()

    def isatty(self) -> bool:
        return False

    def close(self) -> None:
        """Closing a capture does nothing."""


def _offset(fd: int) -> int:
    try:
        return os.lseek(fd, 0, os.SEEK_CUR)
    except OSError:
        return -1


def _write_all(fd: int, data: bytes) -> int:
    """Write `data` at the file's offset; how much was written (a failure just stops it)."""
    done = 0
    try:
        while done < len(data):
            done += os.write(fd, data[done:])
    except OSError:
        pass
    return done


def _write_at(fd: int, data: bytes, start: int) -> int:
    """Write `data` at `start`, cut the file there and leave its offset at the end."""
    try:
        os.lseek(fd, start, os.SEEK_SET)
        done = _write_all(fd, data)
        os.ftruncate(fd, start + done)
        return done
    except OSError:
        return 0
