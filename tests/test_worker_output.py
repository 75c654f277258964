"""What student code prints: capped inside the worker, never fatal, and shown when a check fails."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from grader import grade
from grader.rubric import Rubric, load_rubric
from grader.sandbox import OUTPUT_KEEP, OUTPUT_SLACK, Sandbox
from grader.worker.output import KEEP, CappedStream

MARKER = re.compile(r"\n\[\.\.\. ([\d,]+) characters left out \.\.\.\]\n")


@pytest.fixture
def fd() -> Iterator[int]:
    fd, path = tempfile.mkstemp()
    os.unlink(path)
    yield fd
    os.close(fd)


def content(fd: int) -> str:
    return os.pread(fd, os.fstat(fd).st_size, 0).decode()


def test_the_worker_keeps_what_the_grader_reads() -> None:
    assert KEEP == OUTPUT_KEEP and OUTPUT_SLACK >= 100


def test_short_output_goes_straight_to_the_file(fd: int) -> None:
    stream = CappedStream(fd)
    print("loss", 3.25, file=stream)
    stream.write("no newline")
    assert content(fd) == "loss 3.25\nno newline"
    stream.persist()
    assert content(fd) == "loss 3.25\nno newline"


def test_long_output_keeps_its_beginning_and_end_and_counts_what_it_dropped(fd: int) -> None:
    stream = CappedStream(fd)
    lines = [f"line {i}\n" for i in range(200_000)]
    for line in lines:
        stream.write(line)
    stream.write("y" * 1_000_000)
    stream.write("\nlast\n")
    stream.persist()
    text, full = content(fd), "".join([*lines, "y" * 1_000_000, "\nlast\n"])
    head, marker, tail = MARKER.split(text)
    assert full.startswith(head) and full.endswith(tail) and tail.endswith("yyy\nlast\n")
    assert int(marker.replace(",", "")) == len(full) - len(head) - len(tail)
    assert len(head.encode()) == KEEP and len(tail.encode()) == KEEP
    assert len(text.encode()) <= 2 * OUTPUT_KEEP + OUTPUT_SLACK


def test_persisting_again_rewrites_the_tail_in_place(fd: int) -> None:
    stream = CappedStream(fd)
    stream.write("a" * 300_000)
    stream.persist()
    stream.write("b" * 100_000)
    stream.persist()
    head, marker, tail = MARKER.split(content(fd))
    assert head == "a" * KEEP and tail == "b" * KEEP and int(marker.replace(",", "")) == 400_000 - 2 * KEEP


def test_multibyte_text_is_cut_between_characters(fd: int) -> None:
    stream = CappedStream(fd)
    stream.write("é€😀" * 100_000)
    stream.persist()
    head, marker, tail = MARKER.split(content(fd))  # content() decodes strictly: no character was cut
    assert len(head.encode()) <= KEEP and len(tail.encode()) <= KEEP
    assert int(marker.replace(",", "")) == 300_000 - len(head) - len(tail)


def test_large_writes_leave_the_file_small(fd: int) -> None:
    """5 GB printed, 128 KiB written: the cost of printing is the making of the string, not its writing."""
    stream = CappedStream(fd)
    big = "x" * 50_000_000
    for _ in range(100):
        print(big, file=stream, flush=True)
    stream.persist()
    assert os.fstat(fd).st_size <= 2 * KEEP + OUTPUT_SLACK
    assert f"[... {100 * 50_000_001 - 2 * KEEP:,} characters left out ...]" in content(fd)


def test_writing_never_raises_even_when_the_file_does(tmp_path: Path) -> None:
    path = tmp_path / "read-only"
    path.write_text("")
    fd = os.open(path, os.O_RDONLY)  # every write fails (EBADF)
    stream = CappedStream(fd)
    try:
        assert stream.write("x" * 200_000) == 200_000
        stream.persist()
        stream.flush()
        stream.buffer.write(b"bytes")
    finally:
        os.close(fd)


def test_it_behaves_like_a_text_stream(fd: int) -> None:
    stream = CappedStream(fd)
    assert stream.fileno() == fd and not stream.isatty() and stream.writable() and not stream.readable()
    assert stream.encoding == "utf-8" and stream.errors == "replace"
    assert stream.buffer.write(b"caf\xc3") == 4 and stream.buffer.write(b"\xa9\n") == 2  # split in a character
    stream.writelines(["a\n", "b\n"])
    stream.close()  # a student closing sys.stdout changes nothing
    print("still", file=stream, flush=True)
    assert content(fd) == "café\na\nb\nstill\n" and not stream.closed
    with pytest.raises(TypeError):
        stream.write(b"bytes")  # type: ignore[arg-type]


def test_other_writes_to_the_descriptor_are_kept(fd: int) -> None:
    """C code (a stack dump, a C library's printf) writes to the descriptor itself."""
    stream = CappedStream(fd)
    stream.write("a" * 200_000)
    stream.persist()
    os.write(fd, b"\nStack (most recent call first):\n")
    stream.write("b" * 10)
    stream.persist()
    text = content(fd)
    assert "\nStack (most recent call first):\n" in text and text.endswith("b" * 10)


WRONG_RNN = """import numpy as np
data = open('textData.txt').read()
chars = sorted(set(data))
vocab_size, hidden_size, seq_length, learning_rate = len(chars), 8, 5, 0.1
print('vocabulary:', vocab_size, 'characters')
print()
print('x' * 1000)
def lossFun(inputs, targets, hprev):
  print('called with', len(inputs), 'inputs')
  return 1.0, 0, 0, 0, 0, 0, hprev
"""


def test_a_failing_check_shows_the_first_lines_the_code_printed(tmp_path: Path, rubric: Rubric,
                                                                sandbox: Sandbox) -> None:
    (tmp_path / "task2_min_char_rnn.py").write_text(WRONG_RNN)
    (tmp_path / "rubric.yaml").write_text(
        f"text: {rubric.text}\nseed: 1\nchecks:\n  rnn.forward:\n    points: 2\n    examples: 2\n")
    report = grade(tmp_path / "task2_min_char_rnn.py", load_rubric(tmp_path / "rubric.yaml"), sandbox)
    check = report.checks[0]
    assert check.status in ("failed", "error")
    assert check.details["output"][:2] == ["vocabulary: 70 characters", "x" * 200]
    assert check.details["output"][2].startswith("called with")
    assert len(check.details["output"]) <= 10
    assert check.message.endswith("; your code printed: vocabulary: 70 characters")
