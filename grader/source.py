"""Making a task file runnable: mixed tabs read sensibly, invalid lines isolated.

A blank left unfilled (`criterion = `) or a typo must cost only the marks that depend on
it. Each line Python cannot compile is replaced by a call that raises when (and only
when) it runs, so the rest of the file still loads. Line numbers never change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from grader.submission import TaskFile

BROKEN_CALL = "__grader_broken__"
MAX_REPAIRS = 60
TAB_WIDTHS = (4, 8)
_HEADER_LINE = re.compile(r"on line (\d+)")


@dataclass(frozen=True)
class Program:
    """A task file ready for a worker: source with the same line numbers, and what was isolated."""

    file: TaskFile
    source: str
    broken: dict[int, str] = field(default_factory=dict)
    """Line number -> message raised if that line runs."""
    notes: tuple[str, ...] = ()
    fatal: str | None = None
    """Why nothing of this file can run, if so."""

    def broken_summary(self) -> str:
        """One sentence naming the isolated lines, or '' when there are none."""
        if not self.broken:
            return ""
        spans = _spans(sorted(self.broken))
        first = self.broken[spans[0][0]]
        if len(self.broken) == 1:
            return first
        where = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in spans)
        return f"lines not valid Python in {self.file.name}: {where}; the first: {first}"


def prepare(file: TaskFile) -> Program:
    """Compile-check a task file and isolate each statement that does not compile."""
    lines = file.text.split("\n")
    notes: list[str] = []
    broken: dict[int, str] = {}
    for _ in range(MAX_REPAIRS):
        error = compile_error("\n".join(lines), file.name)
        if error is None:
            return Program(file, "\n".join(lines), broken, tuple(notes))
        if isinstance(error, TabError) and not any("tabs" in n for n in notes):
            lines = _untabbed(lines, file.name, notes)
            continue
        line = _culprit(error, lines)
        if line is None or line in broken:
            break
        broken[line] = _describe(file, line, error, lines[line - 1])
        lines[line - 1] = _stub(lines, line, error)
    reason = _describe(file, error.lineno or 0, error, "") if error else "could not be repaired"
    return Program(file, "", broken, tuple(notes), fatal=f"{reason}; the file could not be repaired")


def compile_error(source: str, filename: str) -> SyntaxError | None:
    """The first SyntaxError compiling `source` (nothing is executed), or None."""
    try:
        compile(source, filename, "exec", dont_inherit=True)
    except SyntaxError as e:
        return e
    except (ValueError, RecursionError, MemoryError) as e:
        return SyntaxError(f"cannot be compiled ({type(e).__name__})", (filename, 1, 0, ""))
    return None


def _untabbed(lines: list[str], name: str, notes: list[str]) -> list[str]:
    """Indentation mixes tabs and spaces inconsistently: read tabs as the width that compiles."""
    for width in TAB_WIDTHS:
        candidate = [_expand_indent(line, width) for line in lines]
        if not isinstance(compile_error("\n".join(candidate), name), IndentationError):
            break
    notes.append(f"{name}: tabs and spaces are mixed in the indentation; "
                 f"read with tabs as {width} spaces")
    return candidate


def _expand_indent(line: str, width: int) -> str:
    body = line.lstrip(" \t")
    return line[: len(line) - len(body)].expandtabs(width) + body


def _culprit(error: SyntaxError, lines: list[str]) -> int | None:
    if not error.lineno:
        return None
    if isinstance(error, IndentationError) and error.msg.startswith("expected an indented block"):
        header = _HEADER_LINE.search(error.msg)
        if header:
            return int(header.group(1))
    code_lines = [i for i, text in enumerate(lines, start=1) if text.strip()]
    return min(error.lineno, code_lines[-1]) if code_lines else None


def _stub(lines: list[str], line: int, error: SyntaxError) -> str:
    """A statement with the right indentation that raises the line's error when it runs."""
    text = lines[line - 1]
    indent = text[: len(text) - len(text.lstrip(" \t"))]
    if isinstance(error, IndentationError) and not error.msg.startswith("expected an indented"):
        indent = _previous_indent(lines, line)
    if _opens_block(lines, line) and not error.msg.startswith("expected an indented"):
        return f"{indent}if {BROKEN_CALL}({line}):"  # keeps the indented body attached
    return f"{indent}{BROKEN_CALL}({line})"


def _opens_block(lines: list[str], line: int) -> bool:
    """The next code line is indented deeper than this one (a block header, colon or not)."""
    width = len(lines[line - 1].expandtabs(8)) - len(lines[line - 1].expandtabs(8).lstrip())
    for text in lines[line:]:
        if text.strip() and not text.lstrip().startswith("#"):
            return len(text.expandtabs(8)) - len(text.expandtabs(8).lstrip()) > width
    return False


def _previous_indent(lines: list[str], line: int) -> str:
    for text in reversed(lines[: line - 1]):
        if text.strip() and not text.lstrip().startswith("#"):
            return text[: len(text) - len(text.lstrip(" \t"))]
    return ""


def _describe(file: TaskFile, line: int, error: SyntaxError, text: str) -> str:
    shown = f": {text.strip()}" if text.strip() else ""
    return f"{file.where(line)} is not valid Python ({error.msg}){shown}"


def _spans(numbers: list[int]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], n)
        else:
            spans.append((n, n))
    return spans
