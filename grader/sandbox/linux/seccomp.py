"""The seccomp filter a worker installs last: no new processes, none of the calls a worker never needs.

Classic BPF over struct seccomp_data {int nr; u32 arch; u64 ip; u64 args[6]}, on x86_64 and
aarch64; elsewhere there is no filter and the caller falls back to RLIMIT_NPROC.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import platform

CLONE_THREAD = 0x00010000
PR_SET_SECCOMP, PR_SET_NO_NEW_PRIVS, SECCOMP_MODE_FILTER = 22, 38, 2
BPF_LD_W_ABS, BPF_JEQ, BPF_JGE, BPF_JSET, BPF_RET = 0x20, 0x15, 0x35, 0x45, 0x06
RET_KILL_PROCESS, RET_ERRNO, RET_ALLOW = 0x80000000, 0x00050000, 0x7FFF0000
X32_SYSCALL_BIT = 0x40000000
ARCHES = {"x86_64": (0, 0xC000003E), "aarch64": (1, 0xC00000B7)}
"""platform.machine(): (its column in SYSCALLS, its AUDIT_ARCH_*)."""
SYSCALLS: dict[str, tuple[int | None, int | None]] = {
    "clone": (56, 220), "clone3": (435, 435), "fork": (57, None), "vfork": (58, None),
    "execve": (59, 221), "execveat": (322, 281),
    "mount": (165, 40), "umount2": (166, 39), "pivot_root": (155, 41), "chroot": (161, 51),
    "open_tree": (428, 428), "move_mount": (429, 429), "fsopen": (430, 430), "fsconfig": (431, 431),
    "fsmount": (432, 432), "fspick": (433, 433), "mount_setattr": (442, 442),
    "unshare": (272, 97), "setns": (308, 268), "ptrace": (101, 117),
    "process_vm_readv": (310, 270), "process_vm_writev": (311, 271),
    "kexec_load": (246, 104), "kexec_file_load": (320, 294), "reboot": (169, 142),
    "init_module": (175, 105), "finit_module": (313, 273), "delete_module": (176, 106),
    "swapon": (167, 224), "swapoff": (168, 225), "bpf": (321, 280), "perf_event_open": (298, 241),
    "userfaultfd": (323, 282), "keyctl": (250, 219), "add_key": (248, 217), "request_key": (249, 218),
    "open_by_handle_at": (304, 265), "name_to_handle_at": (303, 264),
    "io_uring_setup": (425, 425), "io_uring_enter": (426, 426), "io_uring_register": (427, 427),
    "socket": (41, 198), "socketpair": (53, 199),
}
"""System call numbers on x86_64 and aarch64 (None: the call does not exist there)."""
PIVOT_ROOT = {machine: SYSCALLS["pivot_root"][column] for machine, (column, _) in ARCHES.items()}
SOCKETS = ("socket", "socketpair")
DENIED = [name for name in SYSCALLS if name not in ("clone", "clone3", *SOCKETS)]
"""Refused with EPERM: new processes, programs, mounts, namespaces, other processes' memory,
the kernel's modules, keys and BPF, and io_uring (which bypasses this filter); and new sockets when
asked (a worker without a network namespace of its own)."""


def seccomp_program(machine: str, sockets: bool = False) -> list[tuple[int, int, int, int]] | None:
    """The filter's BPF instructions (code, jt, jf, k) for `machine`; None if its calls are unknown.
    `sockets`: new sockets are refused too.

    Another architecture's calls kill the process. clone3 says ENOSYS, so that the C library
    falls back to clone, whose flags a filter can read: a thread (CLONE_THREAD) is allowed,
    a process is not.
    """
    if machine not in ARCHES:
        return None
    column, audit_arch = ARCHES[machine]
    number = {name: n for name, numbers in SYSCALLS.items() if (n := numbers[column]) is not None}
    program = [(BPF_LD_W_ABS, 0, 0, 4), (BPF_JEQ, 1, 0, audit_arch), (BPF_RET, 0, 0, RET_KILL_PROCESS),
               (BPF_LD_W_ABS, 0, 0, 0)]
    if machine == "x86_64":  # x32 calls share the arch, with this bit set
        program += [(BPF_JGE, 0, 1, X32_SYSCALL_BIT), (BPF_RET, 0, 0, RET_ERRNO | errno.EPERM)]
    program += [(BPF_JEQ, 0, 1, number["clone3"]), (BPF_RET, 0, 0, RET_ERRNO | errno.ENOSYS),
                (BPF_JEQ, 0, 4, number["clone"]), (BPF_LD_W_ABS, 0, 0, 16),  # the low half of args[0]
                (BPF_JSET, 0, 1, CLONE_THREAD), (BPF_RET, 0, 0, RET_ALLOW),
                (BPF_RET, 0, 0, RET_ERRNO | errno.EPERM)]
    for name in (*DENIED, *(SOCKETS if sockets else ())):
        if name in number:
            program += [(BPF_JEQ, 0, 1, number[name]), (BPF_RET, 0, 0, RET_ERRNO | errno.EPERM)]
    return [*program, (BPF_RET, 0, 0, RET_ALLOW)]


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


def forbid_processes(sockets: bool = False) -> bool:
    """Install the seccomp filter (after no_new_privs); False where this machine has none.
    `sockets`: refuse new sockets too."""
    program = seccomp_program(platform.machine(), sockets)
    if program is None:
        return False
    if _prctl(PR_SET_NO_NEW_PRIVS, 1) != 0:
        return False
    instructions = (_SockFilter * len(program))(*(_SockFilter(*i) for i in program))
    fprog = _SockFprog(len(program), instructions)
    return _prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog)) == 0


def _prctl(option: int, *args: int) -> int:
    values = [ctypes.c_ulong(a) for a in (*args, 0, 0, 0, 0)[:4]]
    return int(_libc().prctl(ctypes.c_int(option), *values))


@functools.cache
def _libc() -> ctypes.CDLL:
    """The C library, found when first needed (there is none to name so on Windows, where nothing calls it)."""
    return ctypes.CDLL(None, use_errno=True)
