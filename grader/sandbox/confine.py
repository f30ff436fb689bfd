"""Confinement for the kernel that runs untrusted student code.

Takes a kernel command line and a `SandboxSpec`; returns the command line that runs the same kernel
inside a sandbox, plus the environment it gets. The layers, outermost first:

1. ``bwrap`` as root builds the filesystem view (read-only system and Python dirs, read-write
   workdir and runtime dir, private /tmp), new pid/net/ipc/uts namespaces, a new session, and
   dies with the grader. It must run as root because the Python installation lives under /root
   (mode 0700), which an unprivileged bwrap cannot reach.
2. ``setpriv`` drops to the unprivileged `SandboxSpec.uid`: RLIMIT_NPROC is not enforced for root,
   so a fork bomb run as root would be unbounded.
3. An unprivileged ``bwrap --unshare-user --disable-userns`` enters a user namespace in which no
   further user namespaces can be made (less kernel attack surface) and the student is uid 1000.
   Because this namespace is created before the limits are lowered, RLIMIT_NPROC counts the
   processes of this sandbox only, even when several sandboxes share a uid.
4. ``prlimit`` sets the resource limits (soft = hard) and execs the kernel.

All three tools come from the base system (bubblewrap, util-linux); nothing from the repository runs
inside the sandbox.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client import AsyncKernelManager, KernelManager
from jupyter_client.kernelspec import KernelSpec
from traitlets import Instance

SANDBOX_USER = "student"
INNER_UID = 1000
"""The uid student code sees inside the sandbox; the real one outside is `SandboxSpec.uid`."""

SANDBOX_HOME = "/tmp"
MPL_CONFIG_DIR = "/tmp/matplotlib"
"""Writable (matplotlib refuses a read-only one); holds the prepared font list, read-only."""

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

# /etc is not bound as a whole: it holds host configuration and (in /etc/shadow) secrets.
ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/fonts")
ETC_FILES_FOR_NETWORK = ("/etc/resolv.conf", "/etc/hosts", "/etc/ssl", "/etc/ca-certificates")
ROOT_LINKS_OR_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
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
    tmp_bytes: int = 2**30
    """Size of each private tmpfs (/tmp, /dev/shm); tmpfs lives in RAM, outside `memory_bytes`."""


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
    uid: int = 65534
    gid: int = 65534
    font_cache: Path | None = None
    """A directory from `build_font_cache`, bound read-only so matplotlib need not rebuild it."""


def confinement_available() -> str | None:
    """Return None if confined kernels can be started here, else one sentence saying why not."""
    reason = _static_obstacle()
    if reason is not None:
        return reason
    with tempfile.TemporaryDirectory(prefix="confine-probe-") as tmp:
        spec = SandboxSpec(workdir=Path(tmp) / "work", runtime_dir=Path(tmp) / "run")
        spec.workdir.mkdir()
        spec.runtime_dir.mkdir()
        prepare_dirs(spec)
        argv = confined_argv([sys.executable, "-c", "pass"], spec)
        try:
            probe = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        except subprocess.TimeoutExpired:
            return "a test sandbox did not finish within 30 s, so sandboxing is not usable here."
    if probe.returncode != 0:
        detail = (probe.stderr.strip().splitlines() or [f"exit status {probe.returncode}"])[-1]
        return (
            f"a test sandbox failed to start ({detail}), so student code cannot be confined here."
        )
    return None


def _static_obstacle() -> str | None:
    """Return why confinement cannot work without trying it, or None if nothing is known wrong."""
    if platform.system() != "Linux":
        return f"the sandbox needs Linux namespaces and this machine runs {platform.system()}."
    if os.geteuid() != 0:
        return (
            f"the grader runs as uid {os.geteuid()}, but it must run as root to start each "
            "kernel as an unprivileged user."
        )
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if "bwrap" in missing:
        return "bubblewrap is not installed (run ./setup.sh or `apt-get install bubblewrap`)."
    if missing:
        return (
            f"{' and '.join(missing)} from util-linux are missing (`apt-get install util-linux`)."
        )
    if _read_int("/proc/sys/user/max_user_namespaces") == 0:
        return (
            "user namespaces are disabled (user.max_user_namespaces is 0); enable them with "
            "`sysctl -w user.max_user_namespaces=10000`."
        )
    if _read_int("/proc/sys/kernel/unprivileged_userns_clone") == 0:
        return (
            "unprivileged user namespaces are disabled; enable them with "
            "`sysctl -w kernel.unprivileged_userns_clone=1`."
        )
    return None


def _read_int(path: str) -> int | None:
    """Return the integer in a /proc file, or None if the file does not exist here."""
    try:
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None


def prepare_dirs(spec: SandboxSpec) -> None:
    """Give the sandbox user the workdir (recursively) and the runtime dir; root can still read.

    Symlinks are changed themselves, never followed, so a link left by a previous run cannot make
    this hand a host file to the sandbox user.
    """
    for top in (spec.runtime_dir, spec.workdir):
        os.lchown(top, spec.uid, spec.gid)
        os.chmod(top, 0o700)
    for root, dirs, files in os.walk(spec.workdir):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), spec.uid, spec.gid)


def seal_runtime_dir(spec: SandboxSpec) -> None:
    """Take the runtime dir back from the sandbox user once the kernel has bound its sockets.

    Call it when the kernel is ready and before any student code runs (nbclient's
    `on_notebook_start` hook). Until then the student could swap a socket file for a symlink,
    and the grader, as root, would follow it on (re)connecting to some other host socket.
    """
    os.chown(spec.runtime_dir, 0, 0)
    os.chmod(spec.runtime_dir, 0o755)


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


def confined_argv(argv: list[str], spec: SandboxSpec) -> list[str]:
    """Return `argv` wrapped so that it runs confined as described in the module docstring.

    The result must be started by root. With `--die-with-parent` the sandbox is killed when the
    thread that started it exits, so start and stop a kernel from the same long-lived thread.
    """
    return [
        *_outer_bwrap_args(spec),
        "--",
        *_setpriv_args(spec),
        "--",
        *_inner_bwrap_args(spec),
        "--",
        *_prlimit_args(spec.limits),
        "--",
        *argv,
    ]


def _outer_bwrap_args(spec: SandboxSpec) -> list[str]:
    """Return the privileged bwrap invocation that builds the namespaces and the filesystem."""
    args = [shutil.which("bwrap") or "bwrap"]
    args += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if not spec.network:
        args.append("--unshare-net")
    args += ["--die-with-parent", "--new-session", "--hostname", "sandbox"]
    # Keep only what setpriv needs to switch user; the kernel itself ends with no capabilities.
    args += ["--cap-drop", "ALL"]
    for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP"):
        args += ["--cap-add", cap]
    args += ["--clearenv"]
    for name, value in sandbox_env(spec).items():
        args += ["--setenv", name, value]
    args += _filesystem_args(spec)
    return args


def _filesystem_args(spec: SandboxSpec) -> list[str]:
    """Return bwrap's mount operations: system and Python read-only, the two spec dirs writable."""
    args = ["--ro-bind", "/usr", "/usr", *_root_link_args()]
    args += ["--proc", "/proc", "--dev", "/dev"]
    size = str(spec.limits.tmp_bytes)
    args += ["--perms", "1777", "--size", size, "--tmpfs", "/tmp"]
    args += ["--perms", "1777", "--size", size, "--tmpfs", "/dev/shm"]
    args += ["--perms", "0777", "--dir", MPL_CONFIG_DIR]
    created = {Path(p) for p in ("/", "/usr", "/proc", "/dev", "/tmp", MPL_CONFIG_DIR)}
    etc = ETC_FILES + (ETC_FILES_FOR_NETWORK if spec.network else ())
    for path in [Path(p) for p in etc if os.path.exists(p)] + python_roots():
        args += [*_parent_dir_args(path, created), "--ro-bind", str(path), str(path)]
    for path in _writable_paths(spec):
        args += [*_parent_dir_args(path, created), "--bind", str(path.resolve()), str(path)]
    if spec.font_cache is not None:
        for font_list in sorted(spec.font_cache.glob("fontlist-*.json")):
            args += ["--ro-bind", str(font_list), f"{MPL_CONFIG_DIR}/{font_list.name}"]
    return args


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


def _writable_paths(spec: SandboxSpec) -> list[Path]:
    """Return the writable dirs, each at the path given and (if different) at its real path.

    The kernel command names the connection file by its real path, the socket names use the
    path as given; both must work inside.
    """
    paths: list[Path] = []
    for path in (spec.workdir, spec.runtime_dir):
        for variant in (Path(os.path.abspath(path)), path.resolve()):
            if variant not in paths:
                paths.append(variant)
    return paths


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
        "--dev-bind",  # a plain --bind would add nodev and break /dev/urandom
        "/",
        "/",
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


def build_font_cache(cache_dir: Path, limits: Limits = Limits()) -> Path:
    """Build matplotlib's font list once per grader run, confined, and return `cache_dir`.

    Built inside a sandbox so the font paths it records are the ones a kernel sees. Pass the
    result as `SandboxSpec.font_cache`; without it every kernel spends time rebuilding the list.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="confine-fonts-") as runtime:
        spec = SandboxSpec(workdir=cache_dir, runtime_dir=Path(runtime), limits=limits)
        prepare_dirs(spec)
        code = "import os; os.environ['MPLCONFIGDIR'] = os.getcwd(); import matplotlib.font_manager"
        argv = confined_argv([sys.executable, "-c", code], spec)
        built = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    if built.returncode != 0:
        detail = (built.stderr.strip().splitlines() or [f"exit status {built.returncode}"])[-1]
        raise RuntimeError(f"building matplotlib's font list in {cache_dir} failed: {detail}")
    for path in [cache_dir, *cache_dir.iterdir()]:
        os.lchown(path, 0, 0)
    os.chmod(cache_dir, 0o755)
    return cache_dir


class _Confined:
    """What a kernel manager needs to run its kernel confined by `self.spec`."""

    spec: SandboxSpec

    def _confined_defaults(self, spec: SandboxSpec, kwargs: dict[str, object]) -> dict[str, object]:
        """Return `kwargs` with transport, sockets and connection file put in the runtime dir."""
        kwargs.setdefault("transport", "ipc")
        kwargs.setdefault("ip", str(spec.runtime_dir / "kernel"))
        kwargs.setdefault("connection_file", str(spec.runtime_dir / "kernel.json"))
        return {"spec": spec, **kwargs}

    @property
    def kernel_spec(self) -> KernelSpec | None:
        """Return the kernel spec, set to be interrupted by message."""
        kernel_spec = super().kernel_spec
        if kernel_spec is not None:
            kernel_spec.interrupt_mode = "message"
        return kernel_spec

    def write_connection_file(self, **kwargs: object) -> None:
        """Write the connection file (mode 0600) owned by the sandbox user, who must read it."""
        prepare_dirs(self.spec)
        super().write_connection_file(**kwargs)
        os.lchown(self.connection_file, self.spec.uid, self.spec.gid)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        """Return the kernel's command line wrapped in the sandbox."""
        return confined_argv(super().format_kernel_cmd(extra_arguments), self.spec)


class ConfinedKernelManager(_Confined, KernelManager):
    """A KernelManager whose kernel runs confined by `spec`, talking over ipc sockets.

    Transport, socket path and connection file default to `spec.runtime_dir`. Interrupts are sent
    as messages: a signal to the process group would reach only bwrap, not the kernel.
    """

    spec = Instance(SandboxSpec)

    def __init__(self, spec: SandboxSpec, **kwargs: object) -> None:
        super().__init__(**self._confined_defaults(spec, kwargs))


class AsyncConfinedKernelManager(_Confined, AsyncKernelManager):
    """The asyncio flavour of `ConfinedKernelManager`, nbclient's default kind of manager."""

    spec = Instance(SandboxSpec)

    def __init__(self, spec: SandboxSpec, **kwargs: object) -> None:
        super().__init__(**self._confined_defaults(spec, kwargs))


def confined_kernel_manager(spec: SandboxSpec) -> AsyncConfinedKernelManager:
    """Return a kernel manager for nbclient whose kernel runs confined by `spec`."""
    return AsyncConfinedKernelManager(spec=spec)
