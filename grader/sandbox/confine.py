"""Confinement for the kernel that runs untrusted student code.

Takes a kernel command line and a `SandboxSpec`; returns the command line that runs the same kernel
inside a sandbox, plus the environment it gets. Root layers, outermost first:

1. ``bwrap`` as root builds the namespaces (pid, net, ipc, uts, mount), a new session, dies with
   the grader, and the filesystem view (fsview.py: read-only system and Python, one bounded tmpfs
   for the working folder, /tmp and /dev/shm, read-only data and runtime dir). Root can bind the
   Python installation under /root (mode 0700).
2. ``setpriv`` drops to the unprivileged `SandboxSpec.uid` for good (RLIMIT_NPROC is not enforced
   for root, so a fork bomb run as root would be unbounded).
3. An unprivileged ``bwrap --unshare-user --unshare-pid --disable-userns`` enters a user namespace
   in which no further user namespaces can be made and the student is uid 1000, and a pid
   namespace whose init (the kernel's parent) ignores every signal from inside. It binds the
   bounded tmpfs's folders at the working folder, /tmp and /dev/shm. Because this namespace is
   created before the limits are lowered, RLIMIT_NPROC counts the processes of this sandbox only.
4. ``prlimit`` sets the resource limits (soft = hard); ``sh`` copies the data in and execs the kernel.

Rootless (the grader is an ordinary user; `rootless()`): layer 1 is an ordinary user's bwrap in a
user namespace of its own (no capabilities on the host), layer 2 is skipped (the kernel runs as the
invoking user, uid 1000 inside), layers 3 and 4 are the same. The tools come from the base system
(bubblewrap, util-linux, sh); nothing from the repository runs inside the sandbox but the kernel.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from grader.sandbox.fsview import MPL_CONFIG_DIR, copy_data_argv, inner_mounts, outer_mounts

__all__ = ["INNER_UID", "MPL_CONFIG_DIR", "THREAD_ENV_VARS", "Limits", "SandboxSpec",
           "confined_argv", "sandbox_env"]

SANDBOX_USER = "student"
INNER_UID = 1000
"""The uid student code sees inside the sandbox; the real one outside is `SandboxSpec.uid`."""

SANDBOX_HOME = "/tmp"

THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMEXPR_MAX_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMBA_NUM_THREADS",
    "TORCH_NUM_THREADS",
)

TOOLS = ("bwrap", "setpriv", "prlimit")


@dataclass(frozen=True)
class Limits:
    """Per-process resource limits for the kernel and everything it starts.

    The defaults suit one notebook that trains a small torch model on MNIST. Measured here (torch
    2.14 with its CUDA libraries, which are mapped even on CPU): `import torch; torch.zeros(10)`
    needs about 3.1 GiB of address space, a kernel that also imports torchvision and matplotlib
    peaks at 3.6 GiB (it fails under a 3.5 GiB limit without MALLOC_ARENA_MAX); the remaining
    4.4 GiB of `memory_bytes` is for the student's data.
    """

    cpu_seconds: int = 3600
    memory_bytes: int = 8 * 2**30
    max_processes: int = 256
    """Processes and threads of this sandbox; an ipykernel with torch uses 13."""
    max_open_files: int = 1024
    max_file_bytes: int = 2 * 2**30
    threads: int = 1
    disk_bytes: int = 2**30
    """What the notebook may write in all (working folder, /tmp, /dev/shm), beyond the provisioned
    data: one tmpfs (grader/sandbox/fsview.py), which lives in RAM, outside `memory_bytes`."""
    answer_bytes: int = 576 * 2**20
    """Size of the tmpfs the kernel side writes its answers to (the capture limit and some)."""


@dataclass(frozen=True)
class SandboxSpec:
    """Where one confined kernel lives and what it may use.

    `workdir` and `runtime_dir` become owned by `uid` (see `prepare_dirs`). Sandboxes that run at
    the same time may share `uid`: they cannot see or signal each other, and each has its own
    `max_processes` budget.
    """

    workdir: Path
    runtime_dir: Path
    limits: Limits = field(default_factory=Limits)
    network: bool = False
    uid: int = field(default_factory=lambda: 65534 if not rootless() else os.geteuid())
    gid: int = field(default_factory=lambda: 65534 if not rootless() else os.getegid())
    font_cache: Path | None = None
    """A directory from `build_font_cache`, bound read-only so matplotlib need not rebuild it."""


def sandbox_env(spec: SandboxSpec) -> dict[str, str]:
    """Return the kernel's whole environment: nothing is inherited from the grader."""
    threads = str(spec.limits.threads)
    env = {
        "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": SANDBOX_HOME,
        "USER": SANDBOX_USER,
        "LOGNAME": SANDBOX_USER,
        "LANG": "C.UTF-8",
        "TMPDIR": "/tmp",
        "MPLCONFIGDIR": MPL_CONFIG_DIR,
        # No MPLBACKEND: ipykernel's inline backend, as in Jupyter, and Agg without a display.
        "PYTHONDONTWRITEBYTECODE": "1",
        # Each glibc malloc arena reserves 64 MiB of address space, which RLIMIT_AS counts.
        "MALLOC_ARENA_MAX": "2",
        "JUPYTER_PLATFORM_DIRS": "1",
        # Inside, the kernel's parent is pid 1, the init of its own pid namespace (the inner
        # bwrap), which it cannot signal. Naming a parent keeps ipykernel from printing its
        # "Ctrl-C will not work" banner; naming 1 keeps it from polling a parent that never
        # changes (the whole namespace dies with that init).
        "JPY_PARENT_PID": "1",
    }
    env.update({name: threads for name in THREAD_ENV_VARS})
    return env


def rootless() -> bool:
    """Whether sandboxes are started by an ordinary user (the rootless layers)."""
    return os.geteuid() != 0


def confined_argv(argv: list[str], spec: SandboxSpec) -> list[str]:
    """Return `argv` wrapped so that it runs confined as described in the module docstring: the
    root layers when this process is root, the rootless ones otherwise.

    With `--die-with-parent` the sandbox is killed when the thread that started it exits, so start
    and stop a kernel from the same long-lived thread.
    """
    dropping = [] if rootless() else [*_setpriv_args(spec), "--"]
    return [
        *_outer_bwrap_args(spec),
        "--",
        *dropping,
        *_inner_bwrap_args(spec),
        "--",
        *_prlimit_args(spec.limits),
        "--",
        *copy_data_argv(argv),
    ]


def _outer_bwrap_args(spec: SandboxSpec) -> list[str]:
    """Return the outer bwrap invocation that builds the namespaces and the filesystem."""
    args = [shutil.which("bwrap") or "bwrap"]
    if rootless():  # an ordinary user's bwrap needs a user namespace for the rest
        args.append("--unshare-user")
    args += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if not spec.network:
        args.append("--unshare-net")
    args += ["--die-with-parent", "--new-session", "--hostname", "sandbox"]
    if not rootless():
        # Keep only what setpriv needs to switch user; the kernel ends with no capabilities.
        args += ["--cap-drop", "ALL"]
        for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP"):
            args += ["--cap-add", cap]
    args += ["--clearenv"]
    for name, value in sandbox_env(spec).items():
        args += ["--setenv", name, value]
    args += outer_mounts(spec)
    return args


def _setpriv_args(spec: SandboxSpec) -> list[str]:
    """Return the setpriv invocation that makes the rest run as the unprivileged uid for good."""
    return [
        shutil.which("setpriv") or "setpriv",
        f"--reuid={spec.uid}",
        f"--regid={spec.gid}",
        "--clear-groups",
        "--no-new-privs",
        "--inh-caps=-all",
        "--bounding-set=-all",
    ]


def _inner_bwrap_args(spec: SandboxSpec) -> list[str]:
    """Return the unprivileged bwrap that forbids new user namespaces; it keeps the whole view.

    It also enters the workdir: the outer bwrap, root without capabilities, may not (mode 0700).
    Its own pid namespace makes the kernel's parent that namespace's init, which ignores every
    signal sent from inside: `os.kill(os.getppid(), SIGKILL)` does nothing, and the processes
    outside (the bwraps watching the sandbox) are not in the kernel's pid namespace at all.
    """
    return [
        shutil.which("bwrap") or "bwrap",
        "--unshare-user",
        "--unshare-pid",
        "--disable-userns",
        "--uid",
        str(INNER_UID),
        "--gid",
        str(INNER_UID),
        *inner_mounts(spec),
        "--die-with-parent",
        "--chdir",
        str(spec.workdir),
    ]


def _prlimit_args(limits: Limits) -> list[str]:
    """Return the prlimit invocation setting every limit (soft = hard, so it cannot be raised)."""
    return [
        shutil.which("prlimit") or "prlimit",
        f"--cpu={limits.cpu_seconds}",
        f"--as={limits.memory_bytes}",
        f"--nproc={limits.max_processes}",
        f"--nofile={limits.max_open_files}",
        f"--fsize={limits.max_file_bytes}",
        "--core=0",
    ]


