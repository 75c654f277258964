"""The HTML pages' shell, read back as a browser reads it: well formed, its title, inline style and blocks."""

from __future__ import annotations

from grader.tasks import LAB
from grader.writers.page import TITLE, page
from html_reader import parse


def test_the_shell_holds_the_title_the_inline_style_and_the_body_blocks_in_order() -> None:
    text = page("A &amp; B", "p { color: red; }", ["<h1>one</h1>", "<p>two</p>"])
    root = parse(text)
    assert [e.tag for e in root.all()] == ["html", "head", "meta", "title", "style", "body", "h1", "p"]
    assert root.all("title")[0].text() == "A & B" and root.all("style")[0].text() == "p { color: red; }"
    assert text.startswith("<!DOCTYPE html>\n") and text.endswith("</html>\n")
    assert "\n<h1>one</h1>\n<p>two</p>\n" in text  # one block a line: it reads as plain text in an editor


def test_the_lab_s_name_is_the_one_of_the_lab_escaped_for_html() -> None:
    assert parse(f"<p>{TITLE}</p>").text() == LAB.title
