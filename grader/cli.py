"""The command line: `grader check PATH`, `grader batch SUBMISSIONS --out DIR`, `grader export DIR`.

Standard output carries the report and nothing else (with --format json, one JSON
document); messages for people go to standard error.

Exit status:
  0  grading ran, whatever the score;
  2  a usage or rubric error (a missing path, an invalid grader.yaml); nothing on stdout;
  3  an internal error of the grader. When some checks hit it, the full report is printed
     first (those checks are "error", with "internal_error": true and a traceback in their
     details) and the tracebacks go to stderr; when no report could be made, stdout is empty.
     A batch exits 3 after writing everything else, naming the students concerned;
130  a batch interrupted (Ctrl-C, SIGTERM): rerun the same command to resume.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from grader.errors import RubricError, UsageError
from grader.pipeline import grade
from grader.report import Report, render_json, render_text
from grader.rubric import load_rubric

if TYPE_CHECKING:
    from grader.batch import Outcome

EXIT_GRADED, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 2, 3, 130


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="grader", description="Autograder for Lab 5 (RNN and LSTM).")
    commands = top.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="grade one submission and print its report",
                                description="Grade one submission: a folder, a .zip, a .py or an .ipynb.")
    check.add_argument("path", help="the submission to grade")
    check.add_argument("--rubric", help="rubric file (default: grader.yaml of this project)")
    check.add_argument("--format", choices=("text", "json"), default="text",
                       help="text for people, json for programs (default: text)")
    batch = commands.add_parser(
        "batch", help="grade a whole class and write grades, feedback and a summary",
        description="Grade every student of a Moodle download (its zip, or the folder it unzips to), or of any "
                    "folder or zip holding one entry per student. Rerun the same command to resume.")
    batch.add_argument("submissions", help="Moodle's 'Download all submissions' zip, or a folder")
    batch.add_argument("--out", required=True, help="folder for reports/, grades.csv, feedback.zip, results.csv, "
                                                    "summary.html")
    batch.add_argument("-j", "--jobs", type=_positive, default=os.cpu_count() or 1,
                       help="students graded at once (default: the number of cores)")
    batch.add_argument("--rubric", help="rubric file (default: grader.yaml of this project)")
    batch.add_argument("--worksheet", help="the grading worksheet downloaded from Moodle, to fill in")
    batch.add_argument("--shard", type=_shard, help="K/N: grade only the students of shard K of N")
    batch.add_argument("--force", action="store_true", help="grade every student again, even if up to date")
    export = commands.add_parser("export", help="rebuild a batch's grades, feedback and summary from its reports",
                                 description="Rebuild grades.csv, feedback.zip, results.csv and summary.html from "
                                             "DIR/reports alone (scores follow the rubric's points; no code runs).")
    export.add_argument("out", help="the --out folder of a batch (or several shards' reports copied into one)")
    export.add_argument("--rubric", help="rubric file (default: grader.yaml of this project)")
    export.add_argument("--worksheet", help="the grading worksheet downloaded from Moodle, to fill in")
    return top


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return int(text)


def _shard(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)/(\d+)", text)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise argparse.ArgumentTypeError(f"must be K/N with 1 <= K <= N, got {text!r}")
    return int(match[1]), int(match[2])


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command in ("batch", "export"):
        return _class_command(args)
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


def _class_command(args: argparse.Namespace) -> int:
    from grader import batch, export  # the class commands' modules, loaded only for them
    from grader.progress import Progress

    try:
        rubric = load_rubric(args.rubric)
        out = Path(args.out)
        if args.command == "export":
            written = export.export(out, rubric, _optional(args.worksheet))
            _warn_unlisted(out, _optional(args.worksheet))
            return _exported(written, [])
        worksheet = _optional(args.worksheet)
        if worksheet is not None and not worksheet.is_file():
            raise UsageError(f"{worksheet}: no such file")
        progress = Progress(sys.stderr)
        outcome = batch.run(Path(args.submissions), out, rubric, args.jobs, args.shard, args.force,
                            on_start=progress.start, on_done=progress)
        progress.finish()
        export.save_run(out, {"seconds": round(outcome.seconds, 1), "graded": len(outcome.graded),
                              "resumed": outcome.resumed, "jobs": args.jobs, "rubric": str(rubric.path),
                              "finished": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        written = export.export(out, rubric, worksheet)
        _warn_unlisted(out, worksheet)
    except (UsageError, RubricError) as e:
        print(f"grader: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("grader: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(_batch_summary(outcome, out))
    if outcome.interrupted:
        print("grader: interrupted; run the same command again to grade the students left", file=sys.stderr)
        return EXIT_INTERRUPTED
    return _exported(written, [f"{d.name} ({d.key})" for d in outcome.internal_errors])


def _warn_unlisted(out: Path, worksheet: Path | None) -> None:
    from grader import export

    missing = export.unlisted(out, worksheet) if worksheet is not None else []
    if missing:
        print(f"grader: {len(missing)} student(s) graded have no row in {worksheet}, so no grade in grades.csv: "
              f"{', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}", file=sys.stderr)


def _optional(path: str | None) -> Path | None:
    return Path(path) if path else None


def _exported(written: list[Path], internal: list[str]) -> int:
    print("wrote " + ", ".join(str(p) for p in written))
    if internal:
        print(f"grader: internal error of the grader while grading {len(internal)} student(s): "
              f"{', '.join(internal)} (their reports say where)", file=sys.stderr)
        return EXIT_INTERNAL
    return EXIT_GRADED


def _batch_summary(outcome: Outcome, out: Path) -> str:
    graded = outcome.graded
    each = f" ({outcome.seconds / len(graded):.2f} s per student)" if graded else ""
    lines = [f"{outcome.students} students: {len(graded)} graded in {outcome.seconds:.1f} s{each}, "
             f"{outcome.resumed} already up to date; reports in {out / 'reports'}"]
    if graded:
        mean = sum(d.score for d in graded) / len(graded)
        lines.append(f"mean score of those graded: {mean:.2f}/{graded[0].max_score:g}")
    lines += [f"to look at: {d.name} ({d.key}): {d.trouble[:160]}" for d in graded if d.trouble]
    return "\n".join(lines)
