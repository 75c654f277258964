"""grader batch end to end: a Moodle class in every layout, resumed after an interrupt, with hostile
students, re-weighted without regrading, and sharded."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Collection

import pytest
import yaml

from conftest import FIXTURES, ROOT
from grader.export import export, load_reports
from grader.rubric import load_rubric
from moodle_import import import_worksheet, is_valid_filename_for_import, shown

CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "expected.yaml").is_file())
NAMES = ["Zoë O'Brien", "Jean-Luc Picard", "Ana María López", "Nguyễn Văn An", "D'Arcy Smith-Jones", "Chloé Dubois",
         "Łukasz Żółć", "Seán Ó Súilleabháin"]
LAYOUTS = ("folder", "old_folder", "flat", "zipped_upload", "subfolder")


def student_name(n: int) -> str:
    return f"{NAMES[n % len(NAMES)]} {n}"


def add_student(z: zipfile.ZipFile, n: int, case: Path, layout: str) -> None:
    """Student n handing in the fixture `case` the way the given Moodle layout stores it."""
    prefix = f"{student_name(n)}_{200000 + n}_assignsubmission_file"
    files = [p for p in sorted(case.rglob("*")) if p.is_file() and p.name != "expected.yaml"]
    if layout == "zipped_upload":
        upload = io.BytesIO()
        with zipfile.ZipFile(upload, "w") as inner:
            for p in files:
                inner.write(p, f"lab5/{p.relative_to(case).as_posix()}")
        z.writestr(f"{prefix}/my_lab5.zip", upload.getvalue())
        return
    for p in files:
        relative = p.relative_to(case).as_posix()
        name = {"folder": f"{prefix}/{relative}", "old_folder": f"{prefix}_/{relative}",
                "flat": f"{prefix}_{relative.replace('/', '_')}", "subfolder": f"{prefix}/lab5/code/{relative}"}
        z.write(p, name[layout])
    if n % 5 == 0:  # some students also typed an online text
        z.writestr(f"{student_name(n)}_{200000 + n}_assignsubmission_onlinetext/onlinetext.html", "<p>done</p>")


def moodle_class(path: Path, cases: list[str]) -> dict[str, str]:
    """A 'Download all submissions' zip; participant number -> the fixture case handed in."""
    handed = {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, case in enumerate(cases):
            layout = "folder" if case in ("zipped", "notebook") else LAYOUTS[n % len(LAYOUTS)]
            add_student(z, n, FIXTURES / case, layout)
            handed[str(200000 + n)] = case
        z.writestr(f"Only Text_{200000 + len(cases)}_assignsubmission_onlinetext/onlinetext.html", "<p>hi</p>")
    return handed


def expected(case: str) -> dict[str, str]:
    spec = yaml.safe_load((FIXTURES / case / "expected.yaml").read_text())
    return {c: s for s in ("passed", "failed", "error") for c in spec.get(s, [])}


def batch(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "grader", "batch", *args], capture_output=True, text=True,
                          **kwargs)  # type: ignore[call-overload]


def reports(out: Path) -> dict[str, dict[str, object]]:
    return {p.stem: json.loads(p.read_text()) for p in (out / "reports").glob("*.json")}


@pytest.mark.slow
def test_a_moodle_class_in_every_layout_grades_as_its_fixtures_say(tmp_path: Path) -> None:
    """A class of every third case (and the zipped, notebook and answers-only ones), the layouts taken in
    turn: each layout meets every kind of case; test_fixtures grades every case itself."""
    download = tmp_path / "download.zip"
    cases = [c for c in CASES[::3] if c != "lstm_forward_hangs"] + ["zipped", "notebook", "answers_natural"]
    handed = moodle_class(download, sorted(set(cases)))
    out = tmp_path / "out"
    done = batch(str(download), "--out", str(out), "-j", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    got = reports(out)
    assert set(got) == {*handed, str(200000 + len(handed))}  # one report per student, online text too
    for key, case in handed.items():
        statuses = {c["id"]: c["status"] for c in got[key]["checks"]}  # type: ignore[index]
        assert statuses == {c: expected(case).get(c, "skipped") for c in statuses}, (case, got[key]["notes"])
        assert got[key]["student"] == {"id": key, "name": student_name(int(key) - 200000)}
    assert {r["isolation"] for r in got.values()} == {"linux-namespaces", None}  # None: no code ran
    text_only = got[str(200000 + len(handed))]
    assert all(c["status"] == "skipped" for c in text_only["checks"])  # type: ignore[index]
    assert any("onlinetext.html" in n for n in text_only["notes"])  # type: ignore[union-attr]
    participants = {int(k) for k in got}
    maximum = sum(c.points for c in load_rubric(ROOT / "grader.yaml").checks)
    imported = import_worksheet((out / "grades.csv").read_bytes(), participants, maxgrade=maximum)
    assert imported.grades == {int(k): r["score"] for k, r in got.items()}  # Moodle's own import rules
    for key, report in got.items():
        assert shown(imported.comments[int(key)]).startswith(f"Score {report['score']:g}/{maximum:g}.")
    with zipfile.ZipFile(out / "feedback.zip") as z:
        attached = [is_valid_filename_for_import(name, participants) for name in z.namelist()]
    assert sorted(f.participant for f in attached if f) == sorted(participants)
    rows = list(csv.DictReader(io.StringIO((out / "results.csv").read_text())))
    assert len(rows) == len(got) and {r["status"] for r in rows} >= {"graded", "nothing_gradable"}
    assert "<svg" in (out / "summary.html").read_text()
    assert f"{len(got)} students" in done.stdout


@pytest.mark.slow
def test_an_interrupted_batch_resumes_without_regrading_or_losing_anyone(tmp_path: Path) -> None:
    download = tmp_path / "download.zip"
    moodle_class(download, ["solved", "rnn_sigmoid", "lstm_mse", "rnn_missing_bias", "lstm_state_swapped",
                            "solved", "lstm_cell_loop", "rnn_relu", "solved", "lstm_both_h"])
    out = tmp_path / "out"
    (tmp_path / "tmp").mkdir()
    marked = {**os.environ, "TMPDIR": str(tmp_path / "tmp")}  # the fork server and its workers keep TMPDIR
    process = subprocess.Popen([sys.executable, "-m", "grader", "batch", str(download), "--out", str(out),
                                "-j", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=marked)
    while len(list((out / "reports").glob("*.json"))) < 2:
        time.sleep(0.05)
    time.sleep(random.uniform(0.0, 2.0))
    assert len(_processes(marked["TMPDIR"])) >= 4  # the probe sees them: the batch, 2 lanes, the fork server
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err[-2000:]
    time.sleep(1.0)
    assert not _processes(marked["TMPDIR"]), "processes of the batch survived it"
    first = {p.name: p.stat().st_mtime_ns for p in (out / "reports").glob("*.json")}
    assert 2 <= len(first) <= 11
    again = batch(str(download), "--out", str(out), "-j", "2")
    assert again.returncode == 0, again.stderr[-2000:]
    after = {p.name: p.stat().st_mtime_ns for p in (out / "reports").glob("*.json")}
    assert len(after) == 11 and all(after[name] == first[name] for name in first)
    assert f"{len(first)} already up to date" in again.stdout
    assert not list((out / "reports").glob(".*.tmp"))


@pytest.mark.slow
def test_hanging_crashing_forking_and_memory_hungry_students_each_get_their_reason(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    for name, case in (("hangs", "lstm_forward_hangs"), ("crashes", "lstm_os_exit_in_init"),
                       ("forks", "rnn_fork_bomb"), ("hungry", "lstm_memory_hog"), ("fine", "solved")):
        shutil.copytree(FIXTURES / case, folder / name, ignore=shutil.ignore_patterns("expected.yaml"))
    rubric = tmp_path / "rubric.yaml"  # the checks each reason shows in, the hang's limit short
    rubric.write_text(f"text: {ROOT / 'fixtures' / 'textData.txt'}\nchecks:\n  rnn.forward: {{examples: 5}}\n"
                      "  lstm.init: {}\n  lstm.forward: {examples: 5, timeout: 5}\n", encoding="utf-8")
    out = tmp_path / "out"
    done = batch(str(folder), "--out", str(out), "-j", "2", "--rubric", str(rubric))
    assert done.returncode == 0, done.stderr[-3000:]
    got = {k: {c["id"]: c for c in r["checks"]} for k, r in reports(out).items()}  # type: ignore[union-attr]
    assert "time limit" in got["hangs"]["lstm.forward"]["message"]
    assert "stopped without answering" in got["crashes"]["lstm.init"]["message"]
    assert "Operation not permitted" in got["forks"]["rnn.forward"]["message"]
    assert "can't allocate memory" in got["hungry"]["lstm.forward"]["message"]
    assert all(c["status"] == "passed" for c in got["fine"].values() if c["status"] != "skipped")
    assert "to look at: hangs" in done.stdout


@pytest.mark.slow
def test_export_after_reweighting_a_check_gives_new_totals_without_grading(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    for name, case in (("ann", "solved"), ("ben", "rnn_sigmoid")):
        shutil.copytree(FIXTURES / case, folder / name, ignore=shutil.ignore_patterns("expected.yaml"))
    out = tmp_path / "out"
    assert batch(str(folder), "--out", str(out), "-j", "2").returncode == 0
    stored = {p.name: p.read_bytes() for p in (out / "reports").glob("*.json")}
    heavier = tmp_path / "heavier.yaml"
    text = (ROOT / "grader.yaml").read_text().replace("fixtures/textData.txt", str(ROOT / "fixtures/textData.txt"))
    heavier.write_text(text.replace("  rnn.forward:\n    points: 2", "  rnn.forward:\n    points: 10"))
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "grader", "export", str(out), "--rubric", str(heavier)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    totals = {r["id"]: r for r in csv.DictReader(io.StringIO((out / "results.csv").read_text()))}
    full = f"{sum(c.points for c in load_rubric(heavier).checks):g}"  # 8 points more than grader.yaml's
    assert (totals["ann"]["rnn.forward"], totals["ann"]["total"], totals["ann"]["max"]) == ("10", full, full)
    assert (totals["ben"]["rnn.forward"], totals["ben"]["max"]) == ("0", full)
    assert float(full) == sum(c.points for c in load_rubric().checks) + 8
    assert {p.name: p.read_bytes() for p in (out / "reports").glob("*.json")} == stored  # nothing regraded
    assert time.monotonic() - started < 30  # a rebuild, not a regrade (grading takes minutes)


@pytest.mark.slow
def test_shards_exported_together_equal_one_unsharded_run(tmp_path: Path) -> None:
    download = tmp_path / "download.zip"
    moodle_class(download, ["solved", "rnn_sigmoid", "lstm_mse", "rnn_relu", "lstm_both_h", "notebook"])
    rubric = tmp_path / "rubric.yaml"  # a check of each task: what is compared is the exports, not the checks
    rubric.write_text(f"text: {ROOT / 'fixtures' / 'textData.txt'}\nchecks:\n  rnn.forward: {{examples: 2}}\n"
                      "  lstm.criterion: {}\n  answers.weight_counts: {}\n", encoding="utf-8")
    whole, joined = tmp_path / "whole", tmp_path / "joined"
    assert batch(str(download), "--out", str(whole), "-j", "2", "--rubric", str(rubric)).returncode == 0
    for k in (1, 2, 3):
        part = tmp_path / f"shard{k}"
        done = batch(str(download), "--out", str(part), "-j", "1", "--shard", f"{k}/3", "--rubric", str(rubric))
        assert done.returncode == 0, done.stderr[-2000:]
        shutil.copytree(part / "reports", joined / "reports", dirs_exist_ok=True)
    export(joined, load_rubric(rubric))
    assert len(load_reports(joined)) == len(load_reports(whole)) == 7
    for name in ("results.csv", "feedback.zip"):
        assert (joined / name).read_bytes() == (whole / name).read_bytes(), name
    assert without_times(joined / "grades.csv") == without_times(whole / "grades.csv")


def without_times(worksheet: Path) -> list[list[str]]:
    """A fresh worksheet's rows without "Last modified (grade)" (the time it was exported)."""
    rows = list(csv.reader(io.StringIO(worksheet.read_text(encoding="utf-8"))))
    column = rows[0].index("Last modified (grade)")
    return [row[:column] + row[column + 1:] for row in rows]


def _processes(tmpdir: str) -> set[int]:
    """The live processes of a batch run with TMPDIR=`tmpdir`: the batch, its lanes, its fork server and
    workers (the server keeps TMPDIR, and a forked process its parent's environment); other processes
    of the machine, a test run's or a user's, are not counted."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if f"TMPDIR={tmpdir}".encode() in (entry / "environ").read_bytes().split(b"\0"):
                    found.add(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.slow
def test_a_lane_that_dies_is_replaced_and_its_student_gets_an_error_report(monkeypatch: pytest.MonkeyPatch,
                                                                           tmp_path: Path) -> None:
    """A grader bug that kills a lane outright (lanes fork from this process, so they share the patch)."""
    import dataclasses

    from grader import batch as batch_module
    from grader.rubric import checks_of
    from grader.tasks import LAB
    from grader.registry import REGISTRY

    checks_of(LAB)
    real = REGISTRY["rnn.forward"].function

    def deadly(ctx: object) -> str:
        if "# kills the lane" in ctx.program.source:  # type: ignore[attr-defined]
            os._exit(9)
        return real(ctx)  # type: ignore[arg-type]

    monkeypatch.setitem(REGISTRY, "rnn.forward", dataclasses.replace(REGISTRY["rnn.forward"], function=deadly))
    folder = tmp_path / "class"
    rnn = (FIXTURES / "solved" / "task2_min_char_rnn.py").read_text()
    for name, extra in (("ann", ""), ("bob", "\n# kills the lane\n"), ("cy", "")):
        (folder / name).mkdir(parents=True)
        (folder / name / "task2_min_char_rnn.py").write_text(rnn + extra)
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text(f"text: {ROOT / 'fixtures' / 'textData.txt'}\nchecks:\n  rnn.forward: {{examples: 2}}\n")
    outcome = batch_module.run(folder, tmp_path / "out", load_rubric(rubric), jobs=2)
    assert sorted(d.key for d in outcome.graded) == ["ann", "bob", "cy"]
    got = {k: r["checks"][0] for k, r in reports(tmp_path / "out").items()}  # type: ignore[index]
    assert got["bob"]["internal_error"] and "ended unexpectedly" in got["bob"]["message"]
    assert got["ann"]["status"] == got["cy"]["status"] == "passed"
    assert [d.key for d in outcome.internal_errors] == ["bob"]


@pytest.mark.slow
def test_the_lanes_of_a_batch_share_one_fork_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """One server imports and warms torch for every lane (lanes fork from this process, so they share
    the patch that writes down each Sandbox made, and whether it started a server)."""
    from grader import batch as batch_module
    from grader.sandbox import Kind
    from grader.sandbox.linux import LinuxSandbox

    made = tmp_path / "made.txt"
    real = LinuxSandbox.__init__

    def noting(self: LinuxSandbox, kinds: Collection[Kind] = (), on: LinuxSandbox | None = None) -> None:
        real(self, kinds, on)
        with made.open("a") as f:
            f.write(f"{os.getpid()} {'own server' if on is None else 'shared'}\n")

    monkeypatch.setattr(LinuxSandbox, "__init__", noting)
    folder = tmp_path / "class"
    for name in ("ann", "bob", "cy"):
        shutil.copytree(FIXTURES / "rnn_matmul_operator", folder / name, ignore=shutil.ignore_patterns("*.yaml"))
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text(f"text: {ROOT / 'fixtures' / 'textData.txt'}\nchecks:\n  rnn.forward: {{examples: 2}}\n")
    outcome = batch_module.run(folder, tmp_path / "out", load_rubric(rubric), jobs=2)
    assert sorted(d.key for d in outcome.graded) == ["ann", "bob", "cy"]
    assert [r["checks"][0]["status"] for r in reports(tmp_path / "out").values()] == ["passed"] * 3  # type: ignore[index]
    lines = made.read_text().splitlines()
    assert [line.split(" ", 1)[1] for line in lines].count("own server") == 1
    assert lines[0] == f"{os.getpid()} own server"  # the batch's, made before its lanes
    assert sorted(line.split(" ", 1)[1] for line in lines[1:]) == ["shared", "shared"]


def test_a_class_is_not_graded_behind_weak_walls_unless_the_tutor_allows_it(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    shutil.copytree(FIXTURES / "rnn_matmul_operator", folder / "ann", ignore=shutil.ignore_patterns("*.yaml"))
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text(f"text: {ROOT / 'fixtures' / 'textData.txt'}\nchecks:\n  rnn.forward: {{examples: 2}}\n")
    env = {**os.environ, "GRADER_ISOLATION": "process"}
    refused = batch(str(folder), "--out", str(tmp_path / "out"), "--rubric", str(rubric), env=env)
    assert refused.returncode == 2 and not reports(tmp_path / "out")
    assert "isolation 'process'" in refused.stderr and "--allow-weak-isolation" in refused.stderr
    assert "other students' submissions" in refused.stderr
    allowed = batch(str(folder), "--out", str(tmp_path / "out"), "--rubric", str(rubric), "--allow-weak-isolation",
                    env=env)
    assert allowed.returncode == 0, allowed.stderr[-2000:]
    (report,) = reports(tmp_path / "out").values()
    assert report["isolation"] == "process" and report["checks"][0]["status"] == "passed"  # type: ignore[index]
