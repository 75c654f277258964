"""Walling off a freshly forked worker before it runs student code.

`confine` runs in the worker right after the fork, before any student code. It starts a
new session (so the grader can kill the whole process group), puts its output onto the
capture files the grader passed, reads its files into memory, and sets limits on address
space, CPU time, file size and core dumps. Then, where the kernel allows, it takes new
mount, PID, network and IPC namespaces and builds a new root out of nothing: the system's
libraries and Python read-only, a minimal /dev, a read-only /proc of its own PID namespace,
a private /tmp and its own folder (both small tmpfs, the folder holding copies of its
files); it pivots into it and drops the old root. Last come no capability, no new
privileges, a bounded number of tasks, and a seccomp filter that refuses new processes and
the system calls a worker never needs.

Run by root, it takes the namespaces as root, builds the root, and only then becomes a
user of its own (WORKER_IDS + its pid, no groups, no capability left): no user namespace
ever maps anything to root. Run by a user, it takes a user namespace too, mapping only its
own uid. Without namespaces it runs in its folder on disk with the rest. `confine` says
what it got.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import resource
import signal
from dataclasses import dataclass
from typing import Sequence

from grader.sandbox import rlimits
from grader.sandbox.folders import within
from grader.sandbox.linux import seccomp

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUSER = 0x00020000, 0x08000000, 0x10000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
NAMESPACES = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND = 1, 2, 4, 8, 32, 4096
MS_REC, MS_PRIVATE, MNT_DETACH = 16384, 1 << 18, 2
SYS_MOUNT_SETATTR, AT_FDCWD, AT_RECURSIVE = 442, -100, 0x8000
MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV = 0x1, 0x2, 0x4
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
INNER_UID = 1000
WORKER_IDS = 0x7F000000
"""Run by root, a worker takes uid and gid WORKER_IDS + its pid: distinct for every live worker
(a pid is below 2**22) and above the ranges systems give to users (systemd's container range
and SSSD's ids end below it)."""
FOLDER_MB, TMP_MB, INODES, TASKS = 64, 64, 8192, 32
"""Room in the worker's folder (beyond its files) and in its /tmp; files in each; its tasks."""
DEVICES = ("null", "zero", "full", "random", "urandom")
STAGING = "/tmp"
"""Where the new root is built: a folder every user may reach (the mount is the worker's alone)."""
STDIO = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
         "stderr": "/proc/self/fd/2"}

_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class Rules:
    """What a worker may see and use."""

    workdir: str
    memory_mb: int
    cpu_seconds: int
    file_mb: int
    visible: Sequence[str]
    """Folders of the host shown read-only: the system's libraries, Python."""
    hidden: Sequence[tuple[str, Sequence[str]]]
    """Folders to show empty wherever they appear, each with the paths inside it to keep."""


@dataclass(frozen=True)
class Walls:
    """What confine() managed to put up."""

    isolation: str
    """'namespaces', or 'process' where the kernel allows none."""
    processes: str
    """What stops new processes: 'seccomp', 'rlimit' (RLIMIT_NPROC only) or 'none'."""
    uid: int
    """The worker's uid outside every namespace."""


def confine(rules: Rules, output: tuple[int, int], keep: int) -> Walls:
    """Wall off this (single-threaded, just forked) process as `rules` say.

    `output` are the grader's capture files for stdout and stderr; `keep` is the one other
    file descriptor left open (the socket to the grader).
    """
    os.setsid()
    _take_output(*output)
    os.chdir(rules.workdir)  # while every folder on the way can still be crossed
    files = _read_files()
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.geteuid() == 0:
        isolation, own_count = _isolate_as_root(rules, files), True
    else:
        isolation, own_count = _isolate_as_user(rules, files, own_uid=False)
    # now: its files are in place, whatever their size
    rlimits.limit(rules.memory_mb, rules.cpu_seconds, rules.file_mb, strict=True)
    _close_all_but(keep)
    return Walls(isolation, _bound_tasks(own_count), _outside_uid())


def _isolate_as_root(rules: Rules, files: dict[str, bytes]) -> str:
    """Namespaces taken as root, then a user of its own; without them, just the user."""
    uid = WORKER_IDS + os.getpid()
    if _libc.unshare(NAMESPACES) == 0:
        _become_pid_one(uid)
        if _build_root(rules, files, uid):
            _drop_privileges(uid)
            return "namespaces"
    os.chown(".", uid, uid)  # its folder on disk, which it then works in
    _give_up_root(uid)
    _check_reachable(rules.visible)
    return _isolate_as_user(rules, files, own_uid=True)[0]


def _check_reachable(paths: Sequence[str]) -> None:
    """Fail, saying why, if a uid of its own cannot read Python (say, in root's home)."""
    for path in paths:
        try:
            os.stat(path)
        except FileNotFoundError:
            continue  # not on this system
        except PermissionError:
            pass  # a folder on the way is closed to it, and so access() says no
        if not os.access(path, os.R_OK | os.X_OK):
            raise OSError(errno.EACCES, f"root may not make namespaces here, so a worker runs as a user of its own, "
                                        f"who cannot read {path}: install Python where every user can read it")


def _isolate_as_user(rules: Rules, files: dict[str, bytes], own_uid: bool) -> tuple[str, bool]:
    """A user namespace mapping only this uid, and the others in it; or none.

    Also says whether RLIMIT_NPROC counts this worker's tasks alone: it does in its own user
    namespace, or under a uid of its own; otherwise it counts all of a user's processes.
    """
    uid, gid = os.geteuid(), os.getegid()  # as seen from outside: inside the namespace they change
    if _libc.unshare(CLONE_NEWUSER | NAMESPACES) != 0:
        return "process", own_uid
    _map_ids(uid, gid)
    _become_pid_one(None)
    built = _build_root(rules, files, None)
    _drop_privileges(None)
    return "namespaces" if built else "process", True


def _bound_tasks(own_count: bool) -> str:
    """No new processes (seccomp), and at most TASKS tasks where the count is the worker's alone."""
    if own_count:
        resource.setrlimit(resource.RLIMIT_NPROC, (TASKS, TASKS))
    _no_new_privileges()
    if seccomp.forbid_processes():
        return "seccomp"
    return "rlimit" if own_count else "none"


def _outside_uid() -> int:
    """This process's uid in the first user namespace (from /proc/self/uid_map)."""
    with open("/proc/self/uid_map") as f:
        inside, outside, _ = f.readline().split()
    return os.geteuid() - int(inside) + int(outside)


def _take_output(stdout: int, stderr: int) -> None:
    null = os.open(os.devnull, os.O_RDONLY)
    for fd, target in ((null, 0), (stdout, 1), (stderr, 2)):
        os.dup2(fd, target)
    os.close(null)


def _read_files() -> dict[str, bytes]:
    """The files of its folder (the current one), read while they are still reachable."""
    files = {}
    for name in os.listdir("."):
        with open(name, "rb") as f:
            files[name] = f.read()
    return files


def _drop_privileges(uid: int | None) -> None:
    """No capability left in any set, the bounding set too; as root, also become `uid`."""
    cap = 0
    while _prctl(PR_CAPBSET_DROP, cap) == 0:  # until past the last capability there is
        cap += 1
    if uid is not None:
        _give_up_root(uid)
    header = _CapHeader(0x20080522, 0)
    if _libc.capset(ctypes.byref(header), (_CapData * 2)()) != 0:
        _fail("capset")


def _give_up_root(uid: int) -> None:
    """Become a user of its own, with no groups."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    # a changed uid makes /proc/self root's, and then uid_map cannot be written
    _prctl(PR_SET_DUMPABLE, 1)


def _map_ids(uid: int, gid: int) -> None:
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"{INNER_UID} {uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"{INNER_UID} {gid} 1")


def _become_pid_one(uid: int | None) -> None:
    """Fork into the new PID namespace; this process only waits (as `uid`, if given) and passes the exit on."""
    ready, go = os.pipe()
    pid = os.fork()
    if pid == 0:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        os.close(go)
        if not os.read(ready, 1):  # nothing runs here until the waiter outside has given up root
            os._exit(70)
        os.close(ready)
        return
    os.close(ready)
    _drop_privileges(uid)
    os.write(go, b"1")
    # nothing of the old root, and nothing the worker could reach through /proc/1
    _prctl(PR_SET_DUMPABLE, 0)
    os.closerange(0, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    os.chdir("/")
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)  # meant for the worker (a stack dump)
    _, status = os.waitpid(pid, 0)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _build_root(rules: Rules, files: dict[str, bytes], owner: int | None) -> bool:
    """A new root holding only what the worker may see; pivot into it and drop the old one.

    Its folder holds `files`, owned by `owner` if given. False, with nothing changed, where
    this namespace may not mount at all (as where AppArmor restricts the namespaces of users).
    """
    try:
        _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing done here reaches the host's mounts
    except PermissionError:
        return False
    links, folders = _plan(rules.visible)
    try:
        _mount("none", STAGING, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,nr_inodes=1024,mode=0755")
        _mount_tmpfs(STAGING + "/tmp", TMP_MB * 2**20, "mode=1777")  # first: Python may live in /tmp
        _graft(STAGING, links, folders)
    finally:
        for fd in folders.values():
            os.close(fd)
    _make_folder(STAGING + rules.workdir, files, owner)
    for path, keep in rules.hidden:
        if os.path.isdir(STAGING + path):
            _hide(STAGING + path, [STAGING + k for k in keep if os.path.exists(STAGING + k)])
    _make_dev(STAGING + "/dev")
    os.makedirs(STAGING + "/proc", exist_ok=True)
    _mount("proc", STAGING + "/proc", "proc", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _mount(None, STAGING, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    _pivot(STAGING)
    os.chdir(rules.workdir)
    return True


def _plan(visible: Sequence[str]) -> tuple[dict[str, str], dict[str, int]]:
    """The symlinks to make and the host's folders (held open) to bind, to show `visible`.

    A folder this process may not reach (Python in root's home, for a worker that had to
    give up root before its namespaces) is left out.
    """
    links: dict[str, str] = {}
    real = {_follow(path, links) for path in visible if os.path.lexists(path)}
    outermost = sorted(f for f in real if os.path.isdir(f) and not any(within(f, g) and f != g for g in real))
    folders = {}
    for folder in outermost:
        try:
            folders[folder] = os.open(folder, os.O_PATH | os.O_DIRECTORY)
        except PermissionError:
            continue
    return {path: target for path, target in links.items() if not any(within(path, f) for f in folders)}, folders


def _follow(path: str, links: dict[str, str], depth: int = 0) -> str:
    """The real path of `path`, noting in `links` each symlink met on the way."""
    if depth > 40:
        raise OSError(errno.ELOOP, f"too many symbolic links in {path}")
    here = "/"
    for part in path.split("/"):
        if not part:
            continue
        step = os.path.join(here, part)
        if os.path.islink(step):
            links[step] = os.readlink(step)
            here = _follow(os.path.normpath(os.path.join(here, links[step])), links, depth + 1)
        else:
            here = step
    return here


def _mount_tmpfs(path: str, size: int, options: str) -> None:
    os.makedirs(path, exist_ok=True)
    _mount("none", path, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},nr_inodes={INODES},{options}")


def _graft(root: str, links: dict[str, str], folders: dict[str, int]) -> None:
    """The symlinks, and the folders (read-only), at their own paths inside `root`."""
    for path, target in sorted(links.items()):
        os.makedirs(root + os.path.dirname(path), exist_ok=True)
        if not os.path.lexists(root + path):
            os.symlink(target, root + path)
    for path, fd in folders.items():
        os.makedirs(root + path, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", root + path, None, MS_BIND | MS_REC)
        _read_only(root + path)


def _make_folder(path: str, files: dict[str, bytes], owner: int | None) -> None:
    """The worker's folder: a small tmpfs holding its files (and so a bound on what it writes)."""
    size = FOLDER_MB * 2**20 + sum(len(data) for data in files.values())
    _mount_tmpfs(path, size, "mode=0755" if owner is None else f"mode=0755,uid={owner},gid={owner}")
    for name, data in files.items():
        with open(os.path.join(path, name), "wb") as f:
            f.write(data)
        if owner is not None:
            os.chown(os.path.join(path, name), owner, owner)


def _hide(folder: str, keep: Sequence[str]) -> None:
    """An empty read-only folder over `folder`, with the paths in `keep` bound back inside."""
    held = [(path, os.open(path, os.O_PATH)) for path in keep]
    _mount("none", folder, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=0755")
    for path, fd in held:
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        os.close(fd)
    _mount(None, folder, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)


def _make_dev(dev: str) -> None:
    """The few devices Python and its libraries open, bound from the host's, and stdio links."""
    os.makedirs(dev, exist_ok=True)
    for name in DEVICES:
        os.close(os.open(f"{dev}/{name}", os.O_WRONLY | os.O_CREAT, 0o666))
        _mount(f"/dev/{name}", f"{dev}/{name}", None, MS_BIND)
    for name, target in STDIO.items():
        os.symlink(target, f"{dev}/{name}")


def _pivot(root: str) -> None:
    """Make `root` the root, and detach the old one so that no path leads back to it."""
    os.chdir(root)
    number = seccomp.PIVOT_ROOT.get(platform.machine())
    if number is None:  # no pivot_root number known here: the old root stays behind a chroot, which
        os.chroot(".")  # only CAP_SYS_CHROOT (soon dropped) could leave
    elif _libc.syscall(number, b".", b".") != 0:
        _fail("pivot_root")
    elif _libc.umount2(b".", MNT_DETACH) != 0:
        _fail("umount the old root")
    os.chdir("/")


def _read_only(path: str) -> None:
    """Everything mounted at and under `path` read-only (mount_setattr, Linux 5.12+; else the top only)."""
    attr = _MountAttr(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0, 0, 0)
    if _libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, path.encode(), AT_RECURSIVE, ctypes.byref(attr),
                     ctypes.sizeof(attr)) == 0:
        return
    if ctypes.get_errno() != errno.ENOSYS:
        _fail(f"mount_setattr {path}")
    _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def _close_all_but(keep: int) -> None:
    """Close what the fork server left open (and any way back to the old root) but stdio and `keep`."""
    os.closerange(3, keep)
    os.closerange(keep + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0])


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    args = [s.encode() if s is not None else None for s in (source, target, fstype)]
    if _libc.mount(args[0], args[1], args[2], flags, data.encode() or None) != 0:
        _fail(f"mount {target}")


def _fail(what: str) -> None:
    number = ctypes.get_errno()
    raise OSError(number, f"{what}: {os.strerror(number)}")


def _prctl(option: int, *args: int) -> int:
    values = [ctypes.c_ulong(a) for a in (*args, 0, 0, 0, 0)[:4]]
    return int(_libc.prctl(ctypes.c_int(option), *values))


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _no_new_privileges() -> None:
    if _prctl(PR_SET_NO_NEW_PRIVS, 1) != 0:
        _fail("no_new_privs")
