"""The environment of every interpreter the grader starts for workers, and one thread for numerical libraries."""

from __future__ import annotations

import os
from typing import Collection

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")
"""What tells numerical libraries how many threads to start: one, in every worker."""
PYTHON_SETTINGS = {"PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
                   "PYTHONIOENCODING": "utf-8", **{name: "1" for name in THREAD_VARIABLES}}
"""How every interpreter the grader starts for workers runs: the same hashes, nothing written or read from
the user's site, one thread for numerical libraries."""


def environment(keep: Collection[str], python_path: str) -> dict[str, str]:
    """The environment of an interpreter started for workers: the grader's variables named in `keep`,
    PYTHON_SETTINGS, and `python_path` (where it imports the grader from)."""
    kept = {k: v for k, v in os.environ.items() if k.upper() in keep}
    return {**kept, **PYTHON_SETTINGS, "PYTHONPATH": python_path}


def one_thread() -> None:
    """Have the numerical libraries this process imports from now on start one thread each."""
    for name in THREAD_VARIABLES:
        os.environ[name] = "1"
