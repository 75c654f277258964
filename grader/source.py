"""Making a task file runnable: invalid lines isolated, mixed tabs read as the rubric says.

A blank left unfilled (`criterion = `) or a typo must cost only the marks that depend on
it. Each line Python cannot compile is replaced by a call that raises when (and only
when) it runs, so the rest of the file still loads. Line numbers never change.

Indentation that mixes tabs and spaces so that Python refuses it (TabError) is read
`strict`ly by default: those lines are isolated like any other invalid line, placed
where the tab width that compiles reads them. `lenient` reads the whole file with
that tab width instead, so the lines run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from grader.submission import TaskFile

BROKEN_CALL = "__grader_broken__"
MAX_REPAIRS = 60
TAB_WIDTHS = (4, 8)
INDENTATIONS = ("strict", "lenient")
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


def prepare(file: TaskFile, indentation: str = "strict") -> Program:
    """Compile-check a task file and isolate each statement that does not compile.

    `indentation` says how lines Python refuses for mixing tabs and spaces are read:
    "strict" isolates them, "lenient" reads tabs at the width that compiles.
    """
    if indentation not in INDENTATIONS:
        raise ValueError(f"indentation must be one of {', '.join(INDENTATIONS)}, got {indentation!r}")
    lines = file.text.split("\n")
    notes: list[str] = []
    broken: dict[int, str] = {}
    tab_width: int | None = None
    """Once Python refused mixed tabs (strict): the width at which tabs are read to place stubs."""
    for _ in range(MAX_REPAIRS):
        error = compile_error("\n".join(lines), file.name)
        if error is None:
            return Program(file, "\n".join(lines), broken, tuple(notes))
        if isinstance(error, TabError) and indentation == "lenient" and not any("tabs" in n for n in notes):
            lines = _untabbed(lines, file.name, notes)
            continue
        if isinstance(error, TabError) and tab_width is None:
            tab_width = _tab_width(lines, file.name)
            notes.append(f"{file.name}: indentation read strictly, as Python does (rubric: indentation: strict)")
        line = _culprit(error, lines)
        if line is None or line in broken:
            break
        broken[line] = _describe(file, line, error, lines[line - 1])
        lines[line - 1] = _stub(lines, line, error, tab_width)
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
    width = _tab_width(lines, name) or TAB_WIDTHS[-1]
    notes.append(f"{name}: tabs and spaces are mixed in the indentation; "
                 f"read with tabs as {width} spaces (rubric: indentation: lenient)")
    return [_expand_indent(line, width) for line in lines]


def _tab_width(lines: list[str], name: str) -> int | None:
    """The first tab width at which the indentation compiles, if any does."""
    for width in TAB_WIDTHS:
        candidate = [_expand_indent(line, width) for line in lines]
        if not isinstance(compile_error("\n".join(candidate), name), IndentationError):
            return width
    return None


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


def _stub(lines: list[str], line: int, error: SyntaxError, tab_width: int | None = None) -> str:
    """A statement with the right indentation that raises the line's error when it runs.

    With `tab_width` (Python refused mixed tabs), a line whose indentation is refused is placed
    where tabs of that width put it, indented so that Python accepts it.
    """
    text = lines[line - 1]
    indent = text[: len(text) - len(text.lstrip(" \t"))]
    misplaced = isinstance(error, IndentationError) and not error.msg.startswith("expected an indented")
    if misplaced:
        indent = _previous_indent(lines, line) if tab_width is None else _level_indent(lines, line, tab_width)
    if _opens_block(lines, line, tab_width or 8) and not error.msg.startswith("expected an indented"):
        return f"{indent}if {BROKEN_CALL}({line}):"  # keeps the indented body attached
    return f"{indent}{BROKEN_CALL}({line})"


def _opens_block(lines: list[str], line: int, tab_width: int = 8) -> bool:
    """The next code line is indented deeper than this one (a block header, colon or not)."""
    for text in lines[line:]:
        if _is_code(text):
            return _width(text, tab_width) > _width(lines[line - 1], tab_width)
    return False


def _level_indent(lines: list[str], line: int, tab_width: int) -> str:
    """An indentation Python accepts after the lines before `line`, at the depth tabs of
    `tab_width` give it: a deeper line extends the previous one's with spaces, any other
    reuses that of the nearest line as deep (or the previous line's, if none is)."""
    wanted = _width(lines[line - 1], tab_width)
    before = [text for text in reversed(lines[: line - 1]) if _is_code(text)]
    if not before:
        return ""
    previous = before[0]
    if wanted > _width(previous, tab_width):
        return _indent(previous) + " " * (wanted - _width(previous, tab_width))
    level = next((text for text in before if _width(text, tab_width) <= wanted), previous)
    return _indent(level if _width(level, tab_width) == wanted else previous)


def _previous_indent(lines: list[str], line: int) -> str:
    for text in reversed(lines[: line - 1]):
        if _is_code(text):
            return _indent(text)
    return ""


def _is_code(text: str) -> bool:
    return bool(text.strip()) and not text.lstrip().startswith("#")


def _indent(text: str) -> str:
    return text[: len(text) - len(text.lstrip(" \t"))]


def _width(text: str, tab_width: int) -> int:
    return len(_indent(text).expandtabs(tab_width))


def _describe(file: TaskFile, line: int, error: SyntaxError, text: str) -> str:
    if isinstance(error, TabError):
        return f"{file.where(line)}: indentation mixes tabs and spaces (TabError): use one or the other"
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
