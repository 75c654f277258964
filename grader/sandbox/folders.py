"""Folders: the sandboxes' private ones, the project a worker must not see, and which folders it can be kept from."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import site
import sys
import sysconfig
import tempfile
from pathlib import Path, PurePath
from typing import Sequence

from grader.errors import InternalError

PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent
"""The project's folder (the grader's package and the reference): what every worker must not see."""


def private_folder() -> Path:
    """A new folder for a sandbox, inside the one folder every sandbox of this user keeps its work in
    (so that workers can hide it whole). Resolved: inside a worker's new root no symlink of the host
    leads to it."""
    return Path(tempfile.mkdtemp(prefix="grader-", dir=_common_folder())).resolve()


def _common_folder() -> Path:
    user = os.getuid() if hasattr(os, "getuid") else _user_name()
    folder = Path(tempfile.gettempdir()) / f"lab5-grader-{user}"
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    if not hasattr(os, "getuid"):  # Windows: the user's own temporary folder is private already
        return folder
    info = folder.lstat()
    if not os.path.isdir(folder) or folder.is_symlink() or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise InternalError(f"{folder} is not a private folder of this user: remove it, or set TMPDIR")
    return folder


def _user_name() -> str:
    """The user's name as the environment gives it (Windows: USERNAME), for a folder name."""
    import getpass

    try:
        name = getpass.getuser()
    except (OSError, KeyError, ImportError, AttributeError):  # no name in the environment, no password database
        name = "user"
    return re.sub(r"[^\w.-]", "_", name)


def hideable(paths: Sequence[Path], workdir: Path) -> list[tuple[str, list[str]]]:
    """Folders a worker must not see, each with what inside it must stay visible.

    A folder holding Python itself (a virtualenv inside the project, say) or the worker's
    own folder is still hidden, with just those paths put back; a folder inside one of them
    is not hidden at all.
    """
    needed = _outermost({workdir.resolve(), *(p for p in _python_paths() if p.exists())})
    folders = {p.resolve() for p in paths if p.is_dir()}
    folders = {f for f in folders if f != Path("/") and not any(within(f, n) for n in needed)}
    return [(str(f), [str(n) for n in needed if within(n, f)]) for f in _outermost(folders)]


def _outermost(paths: set[Path]) -> list[Path]:
    """The paths not inside another of them, in order."""
    return sorted(p for p in paths if not any(q != p and within(p, q) for q in paths))


@functools.cache
def _python_paths() -> tuple[Path, ...]:
    """Where Python and its packages live: a worker must always be able to read them."""
    return tuple(p.resolve() for p in (Path(sys.prefix), Path(sys.base_prefix),
                                       *map(Path, sysconfig.get_paths().values()),
                                       *map(Path, site.getsitepackages())))


def within(path: str | PurePath, folder: str | PurePath) -> bool:
    """Whether `path` is `folder` or lies inside it (by their names: neither is resolved)."""
    path, folder = PurePath(path), PurePath(folder)
    return path == folder or folder in path.parents


def is_hidden(path: str, folders: Sequence[tuple[str, Sequence[str]]]) -> bool:
    """Whether `path` lies in one of `folders` (hideable's), outside what that folder keeps visible."""
    return any(within(path, folder) and not any(within(path, k) for k in keep) for folder, keep in folders)
