"""Benchmark: one `grader check` of a submission under each backend, the runs interleaved.

    python benchmarks/check.py [--runs 3] [--case solved]

Runs `grader check fixtures/submissions/<case> --format json` under GRADER_ISOLATION=linux and
GRADER_ISOLATION=process in turn, `--runs` times each (the machine's speed drifts: interleaving shares
the drift out), and prints every wall time, the median of each backend and their ratio. Checks that
both backends gave the same verdicts and the report's isolation.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("linux", "process")


def graded(case: Path, backend: str) -> tuple[float, dict[str, object]]:
    """The wall time of one `grader check` under `backend`, and its JSON report."""
    env = {**os.environ, "GRADER_ISOLATION": backend}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "grader", "check", str(case), "--format", "json"], env=env,
                          capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"grader check under {backend} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return seconds, json.loads(done.stdout)


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--runs", type=int, default=3)
    options.add_argument("--case", default="solved", help="a folder of fixtures/submissions")
    args = options.parse_args()
    case = ROOT / "fixtures" / "submissions" / args.case
    times: dict[str, list[float]] = {b: [] for b in BACKENDS}
    verdicts: dict[str, set[str]] = {b: set() for b in BACKENDS}
    isolation: dict[str, set[str]] = {b: set() for b in BACKENDS}
    for _ in range(args.runs):
        for backend in BACKENDS:
            seconds, report = graded(case, backend)
            times[backend].append(seconds)
            checks = report["checks"]
            assert isinstance(checks, list)
            verdicts[backend].add(json.dumps([(c["id"], c["status"]) for c in checks]))
            isolation[backend].add(str(report["isolation"]))
    print(f"command: python benchmarks/check.py --runs {args.runs} --case {args.case}")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, {sys.platform}")
    for backend in BACKENDS:
        runs = ", ".join(f"{t:.1f}" for t in times[backend])
        print(f"grader check {args.case} under {backend:7}: {runs} s (median {statistics.median(times[backend]):.1f} s); "
              f"isolation {', '.join(sorted(isolation[backend]))}")
    ratio = statistics.median(times["process"]) / statistics.median(times["linux"])
    print(f"process / linux: {ratio:.2f}")
    same = len(verdicts["linux"] | verdicts["process"]) == 1
    print(f"verdicts the same under both backends, every run: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
