"""A worker's stdout and stderr: files the grader made, read from both ends through its own descriptors."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

OUTPUT_KEEP = 64 * 1024
"""Bytes of a worker's output read from its beginning, and as many from its end (what the worker's
own capped streams keep: grader.worker.output.KEEP)."""
OUTPUT_SLACK = 4 * 1024
"""Room for the line in which the worker says how much it left out: a file of up to 2 OUTPUT_KEEP +
OUTPUT_SLACK bytes is read whole."""
OUTPUTS = ("stdout.txt", "stderr.txt")


class Capture:
    """A file the grader made for a worker's stdout or stderr, read without moving the worker's offset.

    Where files can be read at an offset (POSIX), it is unlinked at once and read through the grader's
    own descriptor, so its name is nowhere a worker could change it; elsewhere it keeps its name in the
    sandbox's private folder and is read through a descriptor of its own.
    """

    def __init__(self, folder: Path) -> None:
        self.fd, name = tempfile.mkstemp(dir=folder)
        self._path: Path | None = Path(name)
        if hasattr(os, "pread"):
            os.unlink(name)
            self._path = None

    def read(self) -> str:
        """The file's text: all of it, or its first and last OUTPUT_KEEP bytes and how many were left out."""
        try:
            if self._path is None:
                return _excerpt(os.fstat(self.fd).st_size, lambda n, at: os.pread(self.fd, n, at))
            with open(self._path, "rb") as f:
                return _excerpt(os.fstat(f.fileno()).st_size, lambda n, at: _read_at(f, n, at))
        except OSError:
            return ""

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)
        if self._path is not None:
            with contextlib.suppress(OSError):
                self._path.unlink()


def _excerpt(size: int, read: Callable[[int, int], bytes]) -> str:
    """A file of `size` bytes read by `read(count, offset)`: all of it, or its first and last OUTPUT_KEEP
    bytes and how many were left out."""
    if size <= 2 * OUTPUT_KEEP + OUTPUT_SLACK:
        return read(size, 0).decode(errors="replace")
    head, tail = read(OUTPUT_KEEP, 0), read(OUTPUT_KEEP, size - OUTPUT_KEEP)
    return (f"{head.decode(errors='replace')}\n[... {size - 2 * OUTPUT_KEEP:,} bytes left out ...]\n"
            f"{tail.decode(errors='replace')}")


def _read_at(file: BinaryIO, count: int, offset: int) -> bytes:
    file.seek(offset)
    return file.read(count)
