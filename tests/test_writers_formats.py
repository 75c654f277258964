"""The table of --format: every format a choice of the command line, each rendering a whole report."""

from __future__ import annotations

import json

import pytest

from grader import cli
from grader.writers.formats import FORMATS, Options, rendered
from grader.writers.text import render_text
from samples import sample


def test_the_command_line_takes_every_format_of_the_table_and_says_what_each_is_for(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert tuple(FORMATS) == ("text", "json", "junit", "gradescope", "github")
    assert [cli.parser().parse_args(["check", "--format", name]).format for name in FORMATS] == list(FORMATS)
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["check", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert all(f"{name} {form.purpose}" in shown for name, form in FORMATS.items())


@pytest.mark.parametrize("name", list(FORMATS))
def test_each_format_renders_the_whole_report_ending_with_a_line_end(name: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT"):
        monkeypatch.delenv(variable, raising=False)
    text = rendered(sample(), name, Options(seconds=3.2))
    assert text.endswith("\n") and "rnn.gradcheck" in text


def test_the_text_format_follows_the_terminal_and_gradescope_the_seconds() -> None:
    assert rendered(sample(), "text", Options(width=60, colour=True)) == render_text(sample(), 60, True)
    assert json.loads(rendered(sample(), "gradescope", Options(seconds=3.2)))["execution_time"] == 3
