"""The command line: `grader check PATH [--rubric FILE] [--format text|json]`.

Standard output carries the report and nothing else (with --format json, one JSON
document); messages for people go to standard error.

Exit status:
  0  grading ran, whatever the score;
  2  a usage or rubric error (a missing path, an invalid grader.yaml); nothing on stdout;
  3  an internal error of the grader. When some checks hit it, the full report is printed
     first (those checks are "error", with "internal_error": true and a traceback in their
     details) and the tracebacks go to stderr; when no report could be made, stdout is empty.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from typing import Sequence

from grader.errors import RubricError, UsageError
from grader.pipeline import grade
from grader.report import Report, render_json, render_text
from grader.rubric import load_rubric

EXIT_GRADED, EXIT_USAGE, EXIT_INTERNAL = 0, 2, 3


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="grader", description="Autograder for Lab 5 (RNN and LSTM).")
    commands = top.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="grade one submission and print its report",
                                description="Grade one submission: a folder, a .zip, a .py or an .ipynb.")
    check.add_argument("path", help="the submission to grade")
    check.add_argument("--rubric", help="rubric file (default: grader.yaml of this project)")
    check.add_argument("--format", choices=("text", "json"), default="text",
                       help="text for people, json for programs (default: text)")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        rubric = load_rubric(args.rubric)
        report = grade(args.path, rubric)
    except (UsageError, RubricError) as e:
        print(f"grader: {e}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as e:  # the grader's own failure with no report: loud, exit 3
        traceback.print_exception(e, file=sys.stderr)
        print(f"grader: internal error: {e}", file=sys.stderr)
        return EXIT_INTERNAL
    output = render_json(report) if args.format == "json" else render_text(report)
    sys.stdout.write(output + ("\n" if args.format == "json" else ""))
    sys.stdout.flush()
    return _exit_status(report)


def _exit_status(report: Report) -> int:
    """3 when a check failed through the grader's fault (after its report is out), else 0."""
    for c in report.checks:
        if c.internal_error:
            print(f"grader: internal error in {c.id}:\n{c.details.get('traceback', c.message)}",
                  file=sys.stderr)
    return EXIT_INTERNAL if report.internal_error else EXIT_GRADED
