"""Progress of a long batch on standard error: a bar on a terminal, one line per student in a log."""

from __future__ import annotations

import time
from typing import TextIO

from grader.records import Done

BAR = 30


class Progress:
    """Told of each student done; shows done/total, time left and how many need a look so far."""

    def __init__(self, stream: TextIO, total: int = 0) -> None:
        self.stream, self.total, self.done, self.troubled = stream, total, 0, 0
        self.started = time.monotonic()
        self.bar = stream.isatty()

    def start(self, total: int) -> None:
        self.total, self.started = total, time.monotonic()
        if total and self.bar:
            self._draw()

    def __call__(self, done: Done) -> None:
        self.done += 1
        self.troubled += bool(done.trouble)
        if self.bar:
            self._draw()
        else:
            mark = f"  ({done.trouble[:100]})" if done.trouble else ""
            self.stream.write(f"[{self.done}/{self.total}] {done.name}: {_points(done.score)}/"
                              f"{_points(done.max_score)} in {done.seconds:.1f} s{mark}\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.bar and self.total:
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self) -> None:
        filled = BAR * self.done // max(self.total, 1)
        elapsed = time.monotonic() - self.started
        left = elapsed / self.done * (self.total - self.done) if self.done else None
        eta = f"ETA {_clock(left)}" if left is not None else "ETA --:--"
        trouble = f", {self.troubled} to look at" if self.troubled else ""
        self.stream.write(f"\r[{'#' * filled}{'.' * (BAR - filled)}] {self.done}/{self.total}  {eta}{trouble} ")


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds + 0.5), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{seconds:02d}" if minutes >= 60 else f"{minutes}:{seconds:02d}"


def _points(x: float) -> str:
    return f"{x:g}"
