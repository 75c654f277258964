"""The command line: `grader check PATH [--rubric FILE] [--format text|json]`.

Exit status: 0 when grading ran (whatever the score), 2 for a usage or rubric error,
3 for an internal error of the grader.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from grader.errors import GraderError, InternalError, RubricError, UsageError
from grader.pipeline import grade
from grader.report import render_json, render_text
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
    except (InternalError, GraderError) as e:
        print(f"grader: internal error: {e}", file=sys.stderr)
        return EXIT_INTERNAL
    output = render_json(report) if args.format == "json" else render_text(report)
    sys.stdout.write(output + ("\n" if args.format == "json" else ""))
    return EXIT_GRADED
