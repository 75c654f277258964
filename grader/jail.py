"""Walling off a freshly forked worker before it runs student code.

In order: a new session (so the grader can kill the whole process group), resource
limits, and, where the kernel allows unprivileged namespaces, new user, mount, PID,
network and IPC namespaces in which every file system is read-only but the worker's own
folder (its uid outside may be root, who owns much), the grader's private folders (the
reference, the rubric, other students' files, other workers' folders) are hidden under
empty tmpfs mounts,
/proc shows only the worker, and no capability is left. Without namespaces the worker
still runs in its own process with its limits; `confine` says which it got.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
from typing import Sequence

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND = 1, 2, 4, 8, 32, 4096
MS_REC, MS_PRIVATE = 16384, 1 << 18
SYS_MOUNT_SETATTR, AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY = 442, -100, 0x8000, 0x1
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
INNER_UID = 1000

_libc = ctypes.CDLL(None, use_errno=True)


def confine(workdir: str, memory_mb: int, cpu_seconds: int, file_mb: int,
            hidden: Sequence[tuple[str, Sequence[str]]], tmp: str) -> str:
    """Isolate this (single-threaded, just forked) process; returns 'namespaces' or 'process'.

    `hidden` lists folders to replace by empty ones, each with the paths inside it to keep;
    `tmp` becomes a private, writable temporary folder.
    """
    os.setsid()
    _silence()  # nothing open for writing on a disk, or the file system cannot turn read-only
    _limit(memory_mb, cpu_seconds, file_mb)
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    outer_uid, outer_gid = os.getuid(), os.getgid()
    if _libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC) != 0:
        os.chdir(workdir)
        _redirect_output()
        _no_new_privileges()
        return "process"
    _map_ids(outer_uid, outer_gid)
    _become_pid_one()
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _read_only_everywhere()
    _mount(workdir, workdir, None, MS_BIND)  # the worker's own folder, and only it, writable
    _mount(None, workdir, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV)
    os.chdir(workdir)
    # the work folders' parent too: the worker keeps its own folder (its cwd), not its siblings'
    for path, keep in [*hidden, (os.path.dirname(os.path.abspath(workdir)), [])]:
        _hide(path, keep)
    _mount("none", tmp, "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=1777")
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _redirect_output()
    _drop_capabilities()
    _no_new_privileges()
    return "namespaces"


def _hide(folder: str, keep: Sequence[str]) -> None:
    """An empty read-only folder over `folder`, with the paths in `keep` bound back inside."""
    held = [(path, os.open(path, os.O_PATH)) for path in keep]
    _mount("none", folder, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=0755")
    for path, fd in held:
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        os.close(fd)
    _mount(None, folder, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)


def _silence() -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def _redirect_output() -> None:
    for fd, name in ((1, "stdout.txt"), (2, "stderr.txt")):
        out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, fd)
        os.close(out)


def _read_only_everywhere() -> None:
    """Every mount read-only (mount_setattr, Linux 5.12+): the uid outside may own much."""
    attr = _MountAttr(MOUNT_ATTR_RDONLY, 0, 0, 0)
    if _libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, b"/", AT_RECURSIVE, ctypes.byref(attr),
                     ctypes.sizeof(attr)) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount_setattr /: {os.strerror(errno)}")


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def _limit(memory_mb: int, cpu_seconds: int, file_mb: int) -> None:
    """Memory on top of what the warm interpreter already maps; CPU; file size; no cores."""
    with open("/proc/self/statm") as f:
        mapped = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    address_space = mapped + memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_mb * 2**20, file_mb * 2**20))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails instead of killing


def _map_ids(uid: int, gid: int) -> None:
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"{INNER_UID} {uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"{INNER_UID} {gid} 1")


def _become_pid_one() -> None:
    """Fork into the new PID namespace; this process only waits and passes the exit on."""
    pid = os.fork()
    if pid == 0:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        return
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)  # meant for the worker (a stack dump)
    _, status = os.waitpid(pid, 0)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    args = [s.encode() if s is not None else None for s in (source, target, fstype)]
    if _libc.mount(args[0], args[1], args[2], flags, data.encode() or None) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {target}: {os.strerror(errno)}")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _drop_capabilities() -> None:
    header = _CapHeader(0x20080522, 0)
    data = (_CapData * 2)()
    if _libc.capset(ctypes.byref(header), data) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"capset: {os.strerror(errno)}")


def _no_new_privileges() -> None:
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
