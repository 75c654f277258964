"""Every text file the grader itself reads or writes names its encoding: on Windows the default is cp1252,
and a report, a worksheet or a student's answers.yaml must read the same on every system."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import FIXTURES, ROOT

STRICT = [sys.executable, "-X", "warn_default_encoding", "-W", "error::EncodingWarning", "-m", "grader"]


def test_grading_and_a_class_s_exports_never_rely_on_the_default_encoding(tmp_path: Path) -> None:
    for case in ("answers_unicode", "answers_no_bias", "answers_invalid_yaml"):
        shutil.copytree(FIXTURES / case, tmp_path / "class" / case, ignore=shutil.ignore_patterns("expected.yaml"))
    runs = [[*STRICT, "check", str(tmp_path / "class" / "answers_unicode"), "--format", fmt]
            for fmt in ("text", "json", "junit", "gradescope", "github")]
    runs += [[*STRICT, "batch", str(tmp_path / "class"), "--out", str(tmp_path / "out"), "-j", "1"],
             [*STRICT, "export", str(tmp_path / "out")], [*STRICT, "init", str(tmp_path / "start")]]
    for command in runs:
        done = subprocess.run(command, capture_output=True, text=True, encoding="utf-8", cwd=ROOT)
        assert done.returncode == 0 and "EncodingWarning" not in done.stderr, (command[6:8], done.stderr[-2000:])


def test_a_report_written_to_a_pipe_in_another_code_page_is_utf_8(tmp_path: Path) -> None:
    """Windows writes a redirected stdout in its ANSI code page (cp1252), which has no "−" (U+2212)."""
    (tmp_path / "answers.yaml").write_text('q2_rnn_weights: "h² + nh + h − 0"\nq2_lstm_weights: "4h(n+h+1)"\n',
                                           encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "cp1252"}
    for output in ("text", "github"):
        done = subprocess.run([sys.executable, "-m", "grader", "check", str(tmp_path), "--format", output],
                              capture_output=True, cwd=ROOT, timeout=120, env=env)
        assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
        assert "h² + nh + h − 0" in done.stdout.decode("utf-8")
