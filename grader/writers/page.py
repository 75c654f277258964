"""The shell of the writers' HTML pages: one self-contained document, inline CSS, one block a line."""

from __future__ import annotations

from html import escape
from typing import Sequence

from grader.tasks import LAB

TITLE = escape(LAB.title)
"""The lab's name as HTML, for a page's title and headings."""


def page(title: str, style: str, body: Sequence[str]) -> str:
    """The whole page: `title` and the `body` blocks are HTML (escaped by the caller), `style` is CSS."""
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{title}</title>",
        f"<style>{style}</style>",
        "</head>",
        "<body>",
        *body,
        "</body>",
        "</html>",
        "",
    ])
