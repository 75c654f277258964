"""Progress of a batch: a bar on a terminal, one line per student in a log."""

from __future__ import annotations

import io

from grader.records import Done
from grader.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_one_line_per_student_with_the_reason_to_look() -> None:
    log = io.StringIO()
    progress = Progress(log)
    progress.start(2)
    progress(Done("1", "Zoë", 14, 14, 2.5))
    progress(Done("2", "Bob", 0, 14, 20.1, trouble="lstm.forward: no answer within the time limit of 20 s"))
    progress.finish()
    assert log.getvalue().splitlines() == [
        "[1/2] Zoë: 14/14 in 2.5 s",
        "[2/2] Bob: 0/14 in 20.1 s  (lstm.forward: no answer within the time limit of 20 s)"]


def test_a_terminal_gets_a_bar_redrawn_in_place_with_done_total_and_what_needs_a_look() -> None:
    screen = Terminal()
    progress = Progress(screen)
    progress.start(4)
    progress(Done("1", "Zoë", 14, 14, 2.5))
    progress(Done("2", "Bob", 0, 14, 2.5, trouble="x"))
    progress.finish()
    frames = screen.getvalue().split("\r")[1:]
    assert len(frames) == 3 and "\n" not in "".join(frames[:-1]) and screen.getvalue().endswith("\n")
    assert frames[0].startswith("[" + "." * 30 + "] 0/4  ETA --:--")
    assert frames[2].startswith("[" + "#" * 15 + "." * 15 + "] 2/4  ETA ") and "1 to look at" in frames[2]
