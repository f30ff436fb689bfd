"""The sandbox's view of the disk: what is read-only, and the one bounded place that is writable.

Takes a `SandboxSpec`; returns bwrap's mount operations for the outer layer (`outer_mounts`) and the
inner layer (`inner_mounts`). Read-only: /usr, the Python installation, a few files of /etc.
Writable: one size-limited tmpfs, `SPACE`, holding the working folder, /tmp and /dev/shm (bound at
those paths by the inner layer), and a second one, `ANSWERS`, for the kernel side's answers. A
notebook that fills its space gets ENOSPC; the grader's disk never sees a byte of it, and it vanishes
with the sandbox.
The provisioned data (the host's `workdir`) is bound read-only at `DATA` and copied into the working
folder when the kernel starts (`copy_data_argv`), so the copy counts against the space (whose size
is the data's plus `Limits.disk_bytes`). The runtime dir (connection file, the grader's inputs) is
bound read-only: no host folder is writable from inside.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.sandbox.confine import SandboxSpec

SPACE = "/run/grader"
"""The bounded tmpfs; its sub-folders appear as the working folder, /tmp and /dev/shm."""
ANSWERS = "/run/grader-io"
"""Where the kernel binds its sockets and the kernel side writes its answers: a tmpfs of its own (so
that a notebook that filled its space can still be inspected), which the grader reaches through the
sandbox's root (plumbing.py)."""
SOCKETS = f"{ANSWERS}/kernel"
"""The kernel's ipc socket prefix inside the sandbox: sockets `kernel-<port>`."""
DATA = "/run/grader-data"
FONTS = "/run/grader-fonts"
MPL_CONFIG_DIR = "/tmp/matplotlib"
"""Writable (matplotlib refuses a read-only one); holds the prepared font list, read-only."""

# /etc is not bound as a whole: it holds host configuration and (in /etc/shadow) secrets.
ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/fonts")
ETC_FILES_FOR_NETWORK = ("/etc/resolv.conf", "/etc/hosts", "/etc/ssl", "/etc/ca-certificates")
ROOT_LINKS_OR_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def space_bytes(spec: SandboxSpec) -> int:
    """The tmpfs's size: the provisioned data, which is copied in, plus the notebook's quota."""
    return tree_bytes(spec.workdir) + spec.limits.disk_bytes


def tree_bytes(root: Path) -> int:
    """The bytes of the regular files under `root` (links not followed)."""
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            info = os.lstat(os.path.join(folder, name))
            total += info.st_size if stat.S_ISREG(info.st_mode) else 0
    return total


def outer_mounts(spec: SandboxSpec) -> list[str]:
    """The outer bwrap's mounts: system and Python read-only, the space, data, runtime dir."""
    args = ["--ro-bind", "/usr", "/usr", *_root_link_args()]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--perms", "0755", "--size", str(space_bytes(spec)), "--tmpfs", SPACE]
    for name in ("work", "tmp", "shm"):
        args += ["--perms", "1777", "--dir", f"{SPACE}/{name}"]
    args += ["--perms", "1777", "--size", str(spec.limits.answer_bytes), "--tmpfs", ANSWERS]
    created = {Path(p) for p in ("/", "/usr", "/proc", "/dev", "/run", SPACE, ANSWERS)}
    etc = ETC_FILES + (ETC_FILES_FOR_NETWORK if spec.network else ())
    for path in [Path(p) for p in etc if os.path.exists(p)] + python_roots():
        args += [*_parent_dir_args(path, created), "--ro-bind", str(path), str(path)]
    for path in _runtime_paths(spec):
        args += [*_parent_dir_args(path, created), "--ro-bind", str(path.resolve()), str(path)]
    args += ["--ro-bind", str(spec.workdir.resolve()), DATA]
    if spec.font_cache is not None:
        args += ["--ro-bind", str(spec.font_cache.resolve()), FONTS]
    # bwrap's own tmpfs (/, /run, ...) and /dev are the sandbox user's when rootless: read-only,
    # or they would be unbounded writable space in RAM
    return [*args, "--remount-ro", "/dev", "--remount-ro", "/"]


def inner_mounts(spec: SandboxSpec) -> list[str]:
    """The inner bwrap's mounts: the outer view, with the space's folders at their places.

    Sources are paths of the outer view; the runtime dir (and a Python installed under /tmp, as
    a clone's venv may be) is bound again because the new /tmp hides it.
    """
    args = ["--dev-bind", "/", "/"]  # a plain --bind would add nodev and break /dev/urandom
    args += ["--bind", f"{SPACE}/tmp", "/tmp", "--bind", f"{SPACE}/shm", "/dev/shm"]
    for path in _runtime_paths(spec) + _hidden_python_roots():
        args += ["--ro-bind", str(path), str(path)]
    args += ["--bind", f"{SPACE}/work", str(spec.workdir)]
    args += ["--dir", MPL_CONFIG_DIR]
    if spec.font_cache is not None:
        for font_list in sorted(spec.font_cache.glob("fontlist-*.json")):
            args += ["--ro-bind", f"{FONTS}/{font_list.name}",
                     f"{MPL_CONFIG_DIR}/{font_list.name}"]
    return args


def copy_data_argv(argv: list[str]) -> list[str]:
    """`argv`, run after the provisioned data are copied into the working folder (the cwd)."""
    script = f'cp -R {DATA}/. . && exec "$@"'
    return ["/bin/sh", "-c", script, "grader-copy-data", *argv]


def _root_link_args() -> list[str]:
    """Return bwrap args recreating /bin, /lib, ... as on the host (symlinks if /usr is merged)."""
    args: list[str] = []
    for path in ROOT_LINKS_OR_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    return args


def _parent_dir_args(path: Path, created: set[Path]) -> list[str]:
    """Return --dir ops making each missing ancestor of `path` traversable (bwrap's are 0700)."""
    args: list[str] = []
    for parent in reversed(path.parents):
        if parent not in created:
            args += ["--perms", "0755", "--dir", str(parent)]
            created.add(parent)
    created.add(path)
    return args


def _runtime_paths(spec: SandboxSpec) -> list[Path]:
    """The runtime dir at the path given and (if different) at its real path.

    The kernel command names the connection file by its real path, the socket names use the
    path as given; both must work inside.
    """
    paths: list[Path] = []
    for variant in (Path(os.path.abspath(spec.runtime_dir)), spec.runtime_dir.resolve()):
        if variant not in paths:
            paths.append(variant)
    return paths


def _hidden_python_roots() -> list[Path]:
    """The Python directories that the inner layer's /tmp and /dev/shm would hide."""
    hidden = (Path("/tmp"), Path("/dev/shm"))
    return [p for p in python_roots() if any(p.is_relative_to(h) for h in hidden)]


def python_roots() -> list[Path]:
    """Return the directories of this Python (venv and base installation), narrowest first.

    Only these are bound, not their parents: /root and /work hold things students must not see.
    """
    roots: list[Path] = []
    for prefix in (sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix):
        for path in (Path(prefix), Path(prefix).resolve()):
            if path not in roots:
                roots.append(path)
    return roots
