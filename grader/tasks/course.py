"""The course text, shared by the two coded tasks: as the grader measures trained models on it, through
the student's vocabulary, and the globals a script derives from it (set by the workers).

A training check never believes the loss a submission reports. The worker hands back the
weights the student's loop reached; the grader runs the reference model with them on the
first characters of the course text, and with the starting weights it chose itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from grader.errors import Mismatch

if TYPE_CHECKING:
    from grader.context import Context


@dataclass(frozen=True)
class CourseText:
    """The rubric's training text, read through the student's own vocabulary `chars`."""

    text: str
    chars: tuple[str, ...]

    def indices(self, length: int) -> np.ndarray:
        """The first `length` characters as indices into chars."""
        index = {c: i for i, c in enumerate(self.chars)}
        return np.array([index[c] for c in self.text[:length]], dtype=np.int64)

    def describe(self, length: int) -> str:
        return f"the first {min(length, len(self.text))} characters of the course text"


def sequences(indices: np.ndarray, length: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """A text as the training loops walk it: inputs of `length` characters, each with its targets
    (the next characters); the last sequence may be shorter."""
    for p in range(0, len(indices) - 1, length):
        chunk = indices[p:p + length + 1]
        yield chunk[:-1], chunk[1:]


def course_text(ctx: Context, chars: Any) -> CourseText:
    """The course text and the student's `chars`, which must list each of its characters once."""
    text = ctx.rubric.text.read_text(encoding="utf-8").replace("\r\n", "\n")
    if not (isinstance(chars, list) and all(isinstance(c, str) and len(c) == 1 for c in chars)):
        raise Mismatch(f"chars should be the list of the text's characters, got {_kind(chars)}")
    wanted = set(text)
    if len(chars) != len(set(chars)) or set(chars) != wanted:
        missing, extra = sorted(wanted - set(chars)), sorted(set(chars) - wanted)
        raise Mismatch(f"chars should list each of the text's {len(wanted)} characters once; it has "
                       f"{len(chars)} entries, missing {missing[:5]}, extra {extra[:5]}")
    return CourseText(text, tuple(chars))


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return f"a list of {len(value)} values"
    return f"a {type(value).__name__}"


def sizes(n: int, h: int) -> dict[str, Any]:
    """The globals a script derives from its text and hyperparameters, for n characters and h units."""
    chars = [chr(0x61 + i) for i in range(n)]
    return {"vocab_size": n, "hidden_size": h, "chars": chars, "char_to_ix": {c: i for i, c in enumerate(chars)},
            "ix_to_char": dict(enumerate(chars))}
