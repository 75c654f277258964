"""The command line: `grader check [PATH]`, `grader init [DIR]`, `grader batch SUBMISSIONS --out DIR`,
`grader export DIR`, `grader gradescope-bundle --out ZIP`.

Standard output carries the report and nothing else (with --format json, one JSON
document; junit, gradescope and github likewise their own format); messages for people go to
standard error.

Exit status:
  0  grading ran, whatever the score (unless --fail-under says otherwise);
  1  with --fail-under POINTS: the score is below POINTS (the report is printed first);
  2  a usage or rubric error (a missing path, an invalid grader.yaml); nothing on stdout;
  3  an internal error of the grader. When some checks hit it, the full report is printed
     first (those checks are "error", with "internal_error": true and a traceback in their
     details) and the tracebacks go to stderr; when no report could be made, stdout is empty.
     A batch exits 3 after writing everything else, naming the students concerned;
130  a batch interrupted (Ctrl-C, SIGTERM): rerun the same command to resume.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
import re
import shutil
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from grader.errors import InternalError, RubricError, UsageError
from grader.pipeline import grade
from grader.report import Report
from grader.resources import starter_files
from grader.sandbox import backend
from grader.config import Rubric
from grader.rubric import load_rubric
from grader.tasks import LAB
from grader.writers.formats import FORMATS, Options, rendered

if TYPE_CHECKING:
    from grader.batch import Outcome

EXIT_GRADED, EXIT_BELOW, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
TASK_NAMES = {task.name: task.id for task in LAB.tasks}
"""--task's names for the lab's tasks."""


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="grader", description=f"Autograder for {LAB.title} ({LAB.subject}).")
    commands = top.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="grade one submission and print its report",
                                description="Grade one submission: a folder, a .zip, a .py or an .ipynb.")
    check.add_argument("path", nargs="?", default=".", help="the submission to grade (default: this folder)")
    check.add_argument("--rubric", help="rubric file (default: grader.yaml of this project)")
    check.add_argument("--format", choices=tuple(FORMATS), default="text",
                       help=", ".join(f"{name} {form.purpose}" for name, form in FORMATS.items())
                       + " (default: text)")
    check.add_argument("--task", choices=tuple(TASK_NAMES), action="append",
                       help="grade only this part: rnn (task 2), lstm (task 3) or answers (Part 1); repeatable")
    check.add_argument("--fail-under", type=float, metavar="POINTS",
                       help="exit 1 when the score is below POINTS (for CI steps that pass or fail on the score)")
    init = commands.add_parser("init", help="write the lab's starter files into a folder",
                               description="Write the starter files (the two scripts with their blanks, "
                                           "textData.txt, answers.yaml) into DIR; existing files are kept.")
    init.add_argument("dir", nargs="?", default=".", help="where to write them (default: this folder)")
    bundle = commands.add_parser("gradescope-bundle", help="write Gradescope's autograder zip",
                                 description="Write the zip to upload as a Gradescope autograder: setup.sh and "
                                             "run_autograder at its root, this grader's project in source/.")
    bundle.add_argument("--out", default="autograder.zip", help="the zip to write (default: autograder.zip)")
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
    batch.add_argument("--allow-weak-isolation", action="store_true",
                       help="grade even where student code cannot be walled off in Linux namespaces (it could "
                            "then read and change your files: see SECURITY.md)")
    export = commands.add_parser("export", help="rebuild a batch's grades, feedback and summary from its reports",
                                 description="Rebuild grades.csv, feedback.zip, results.csv and summary.html from "
                                             "DIR/reports alone (scores follow the rubric's points; no code runs).")
    export.add_argument("out", help="the --out folder of a batch (or several shards' reports copied into one)")
    export.add_argument("--rubric", help="rubric file (default: grader.yaml of this project)")
    export.add_argument("--worksheet", help="the grading worksheet downloaded from Moodle, to fill in")
    return top


def _utf8_output() -> None:
    """Reports in UTF-8 wherever they go: Windows writes a redirected stdout in its ANSI code page
    (cp1252), in which a report's "²" or "↵" cannot be written, and a JUnit file says it is UTF-8."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
        if encoding != "utf8" and isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(encoding="utf-8", errors="replace")


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
    _utf8_output()
    args = parser().parse_args(argv)
    if args.command in ("batch", "export"):
        return _class_command(args)
    if args.command == "init":
        return _init(Path(args.dir))
    if args.command == "gradescope-bundle":
        return _gradescope_bundle(Path(args.out))
    try:
        backend()  # an unknown or unavailable GRADER_ISOLATION is a usage error, before any grading
        rubric = _only(load_rubric(args.rubric), args.task)
        started = time.monotonic()
        report = grade(args.path, rubric)
        seconds = time.monotonic() - started
    except (UsageError, RubricError) as e:
        print(f"grader: {e}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as e:  # the grader's own failure with no report: loud, exit 3
        traceback.print_exception(e, file=sys.stderr)
        print(f"grader: internal error: {e}", file=sys.stderr)
        return EXIT_INTERNAL
    width, colour = _terminal()
    sys.stdout.write(rendered(report, args.format, Options(seconds, width, colour)))
    sys.stdout.flush()
    status = _exit_status(report)
    if status == EXIT_GRADED and args.fail_under is not None and report.score < args.fail_under:
        print(f"grader: score {report.score:g} is below --fail-under {args.fail_under:g}", file=sys.stderr)
        return EXIT_BELOW
    return status


def _terminal() -> tuple[int | None, bool]:
    """For the text report: the terminal's width and whether to colour, or (None, False) for a pipe or
    a file. Colour also respects NO_COLOR (https://no-color.org) and TERM=dumb."""
    if not sys.stdout.isatty():
        return None, False
    colour = not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    return shutil.get_terminal_size().columns, colour


def _only(rubric: Rubric, tasks: list[str] | None) -> Rubric:
    """The rubric with only the checks of the tasks named by --task (all of them when none is)."""
    if not tasks:
        return rubric
    wanted = {TASK_NAMES[t] for t in tasks}
    return dataclasses.replace(rubric, checks=tuple(c for c in rubric.checks if c.task in wanted))


def _gradescope_bundle(out: Path) -> int:
    from grader.gradescope_bundle import build_bundle

    try:
        names = build_bundle(out)
    except InternalError as e:
        print(f"grader: {e}", file=sys.stderr)
        return EXIT_INTERNAL
    except OSError as e:
        print(f"grader: {out}: cannot write the zip ({e.strerror or e})", file=sys.stderr)
        return EXIT_USAGE
    print(f"wrote {out} ({len(names)} files): upload it as the assignment's autograder")
    return EXIT_GRADED


def _init(folder: Path) -> int:
    """Copy the starter files into `folder`, keeping any that already exist there."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        kept = []
        for source in sorted(starter_files().iterdir()):
            target = folder / source.name
            if target.exists():
                kept.append(target.name)
                continue
            shutil.copyfile(source, target)
            print(target)
    except OSError as e:
        print(f"grader: {folder}: cannot write the starter files ({e.strerror or e})", file=sys.stderr)
        return EXIT_USAGE
    if kept:
        print(f"grader: kept your own {', '.join(kept)} in {folder} (not overwritten)", file=sys.stderr)
    return EXIT_GRADED


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
        if args.command == "batch":
            backend()
        if args.command == "export":
            written = export.export(out, rubric, _optional(args.worksheet))
            _warn_unlisted(out, _optional(args.worksheet))
            return _exported(written, [])
        worksheet = _optional(args.worksheet)
        if worksheet is not None and not worksheet.is_file():
            raise UsageError(f"{worksheet}: no such file")
        progress = Progress(sys.stderr)
        outcome = batch.run(Path(args.submissions), out, rubric, args.jobs, args.shard, args.force,
                            on_start=progress.start, on_done=progress,
                            allow_weak_isolation=args.allow_weak_isolation)
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
