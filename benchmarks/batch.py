"""Benchmark: grade a class of 40 students built from the fixtures' correct submissions with
`grader batch -j 2`, and compare with one `grader check` of a single submission.

    python benchmarks/batch.py [--students 40] [--jobs 2]

Prints the wall time of the batch, the seconds per student, and the ratio to one `grader check`
measured in the same run; checks that every student's verdicts are their fixture's expected ones.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "submissions"


def correct_cases() -> list[Path]:
    """The fixture cases whose every listed check passes (the correct submissions, in every style), with
    at least one script: a file of written answers alone is not a student's lab."""
    cases = []
    for expected in sorted(FIXTURES.glob("*/expected.yaml")):
        spec = yaml.safe_load(expected.read_text())
        scripts = [c for c in spec.get("passed") or [] if c.startswith(("rnn.", "lstm."))]
        if scripts and not spec.get("failed") and not spec.get("error"):
            cases.append(expected.parent)
    return cases


def build_class(folder: Path, students: int) -> dict[str, Path]:
    """A Moodle download unzipped (one folder per student); which fixture each student handed in.

    Every correct case is handed in by as many students as the others, give or take one; the cases
    handed in once more are spread evenly over the (alphabetical) list, not its first ones.
    """
    cases, handed = correct_cases(), {}
    for n in range(students):
        case = cases[n * len(cases) // students] if students >= len(cases) else cases[n]
        entry = folder / f"Student {n:03d}_{100000 + n}_assignsubmission_file"
        shutil.copytree(case, entry, ignore=shutil.ignore_patterns("expected.yaml"))
        handed[str(100000 + n)] = case
    return handed


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def verdicts_unchanged(out: Path, handed: dict[str, Path]) -> list[str]:
    """The students whose statuses differ from their fixture's expected.yaml."""
    wrong = []
    for report_path in sorted((out / "reports").glob("*.json")):
        report = json.loads(report_path.read_text())
        spec = yaml.safe_load((handed[report["student"]["id"]] / "expected.yaml").read_text())
        expected = {c: s for s in ("passed", "failed", "error") for c in spec.get(s, [])}
        got = {c["id"]: c["status"] for c in report["checks"]}
        if got != {c: expected.get(c, "skipped") for c in got}:
            wrong.append(report["student"]["name"])
    return wrong


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--students", type=int, default=40)
    options.add_argument("--jobs", type=int, default=2)
    args = options.parse_args()
    grader = [sys.executable, "-m", "grader"]
    with tempfile.TemporaryDirectory(prefix="grader-bench-") as scratch:
        folder, out = Path(scratch) / "class", Path(scratch) / "out"
        handed = build_class(folder, args.students)
        single = timed([*grader, "check", str(FIXTURES / "solved")])
        batch = timed([*grader, "batch", str(folder), "--out", str(out), "-j", str(args.jobs)])
        reports = len(list((out / "reports").glob("*.json")))
        wrong = verdicts_unchanged(out, handed)
    each = batch / args.students
    print(f"command: python benchmarks/batch.py --students {args.students} --jobs {args.jobs}")
    print(f"class: {args.students} students from {len(correct_cases())} correct fixture cases, "
          f"{reports} reports written, verdicts unchanged: {'yes' if not wrong else 'NO: ' + ', '.join(wrong)}")
    print(f"grader batch -j {args.jobs}: {batch:.1f} s wall, {each:.2f} s per student")
    print(f"grader check fixtures/submissions/solved: {single:.1f} s wall; ratio batch per student / check: "
          f"{each / single:.2f}")
    print(f"target: at most 1.0 s per student: {'met' if each <= 1.0 else 'NOT met'}")
    return 0 if reports == args.students and not wrong else 1


if __name__ == "__main__":
    sys.exit(main())
