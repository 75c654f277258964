"""Where student code runs: workers with deadlines, behind one contract for two backends.

Student code runs only in workers, each a process of its own holding one submission, answering
the grader's requests over a socket (grader.protocol: JSON and .npy, never pickles) and killed
with every process it started when its check is done. Two backends make them, one subpackage each:

- `linux` (grader.sandbox.linux): a warm fork server; each worker takes namespaces of its own
  and a new root, rlimits, no capability and a seccomp filter (grader.sandbox.linux.jail).
- `process` (grader.sandbox.process): fresh interpreters started as subprocesses, a few ahead
  of time; each runs as the user in a folder of its own, its memory watched by the grader
  (macOS, Windows, or Linux when forced).

The contract (contract.py) says what a backend makes: a Sandbox, making Workers (client.py) of a Kind
within Limits. `open_sandbox()` (choice.py) picks `linux` where it exists; GRADER_ISOLATION=linux|process
forces one. Of what a worker sends, only its first message (before any student code ran) may speak of a
fault of the grader, or of the walls it got. A backend imports these modules, never this package's face.
"""

from __future__ import annotations

from grader.sandbox.capture import OUTPUT_KEEP, OUTPUT_SLACK, OUTPUTS, Capture
from grader.sandbox.choice import BACKENDS, backend, open_sandbox, open_shared
from grader.sandbox.client import STACK_FRAME, Worker
from grader.sandbox.contract import ISOLATIONS, STRONG, Kind, Limits, Sandbox

__all__ = ["BACKENDS", "ISOLATIONS", "OUTPUTS", "OUTPUT_KEEP", "OUTPUT_SLACK", "STACK_FRAME", "STRONG", "Capture",
           "Kind", "Limits", "Sandbox", "Worker", "backend", "open_sandbox", "open_shared"]
