"""Which backend makes the workers: GRADER_ISOLATION's, or the strongest this system has."""

from __future__ import annotations

import os
import socket
import sys
from typing import Collection

from grader.errors import UsageError
from grader.sandbox.contract import Kind, Sandbox

BACKENDS = ("linux", "process")


def backend() -> str:
    """The backend workers come from: GRADER_ISOLATION's, or the strongest this system has.

    UsageError for a backend that is unknown or unavailable here.
    """
    forced = os.environ.get("GRADER_ISOLATION", "").strip().lower()
    if forced and forced not in BACKENDS:
        raise UsageError(f"GRADER_ISOLATION={forced!r} is not a backend: use one of {', '.join(BACKENDS)}, "
                         "or leave it unset to choose the strongest this system has")
    missing = _linux_missing()
    if forced == "linux" and missing:
        raise UsageError(f"GRADER_ISOLATION=linux, but this system cannot run it ({missing}): "
                         "use GRADER_ISOLATION=process, or leave it unset")
    return forced or ("process" if missing else "linux")


def open_sandbox(kinds: Collection[Kind] = ()) -> Sandbox:
    """A sandbox of the chosen backend (backend()) for workers of `kinds`: each backend readies those kinds
    ahead of time (any kind is still served)."""
    if backend() == "linux":
        from grader.sandbox.linux import LinuxSandbox

        return LinuxSandbox(kinds)
    from grader.sandbox.process import ProcessSandbox

    return ProcessSandbox(kinds=kinds)


def open_shared(kinds: Collection[Kind] = ()) -> Sandbox | None:
    """A sandbox of the chosen backend that processes forked from this one may join (Sandbox.join), its
    helpers readied once for workers of `kinds`; None where the backend cannot share (each then opens
    its own)."""
    if backend() == "linux":
        from grader.sandbox.linux import LinuxSandbox

        return LinuxSandbox(kinds)
    return None


def _linux_missing() -> str:
    """What this system lacks for the Linux backend; empty if nothing."""
    if sys.platform != "linux":
        return f"it is {sys.platform}, not Linux"
    if not hasattr(os, "fork") or not hasattr(socket, "SOCK_SEQPACKET"):
        return "Python here has no fork() or no SOCK_SEQPACKET sockets"
    try:
        import resource  # noqa: F401
    except ImportError:
        return "Python here has no resource module"
    return ""
