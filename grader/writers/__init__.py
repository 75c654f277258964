"""Writers: finished Reports to the files people read (one module per format), and what they share."""

from __future__ import annotations

from grader.mistakes import CATALOG, most_likely
from grader.report import CheckResult


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, saying how much was cut (a message can carry a student's printed text)."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text) - limit} more characters)"


def spelled_out(check: CheckResult) -> list[str]:
    """A check's message for a format read outside a terminal: its sentence, then the smallest failing
    example and the likely mistake (words and id) on lines of their own."""
    example = check.details.get("example")
    message = check.message
    if example:
        message = message.replace(f"; smallest failing example: {example}", "", 1)
    if check.diagnosis is not None and check.diagnosis in CATALOG:
        message = message.replace(f"; {most_likely(check.diagnosis)}", "", 1)
    lines = [message]
    if example:
        lines.append(f"Smallest failing example: {example}")
    if check.diagnosis is not None:
        mistake = CATALOG.get(check.diagnosis)
        lines.append(f"Most likely: {mistake.words + ' ' if mistake else ''}[{check.diagnosis}]")
    return lines
