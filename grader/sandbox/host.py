"""Host-side preparation for sandboxes: can they run here, their folders, matplotlib's font list.

`confinement_available()` says in one sentence why sandboxes cannot run here (or None);
`prepare_dirs` and `seal_runtime_dir` hand a sandbox's folders to its user and take the runtime dir
back once the kernel is up; `build_font_cache` builds matplotlib's font list once, confined.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from grader.sandbox.confine import TOOLS, Limits, SandboxSpec, confined_argv, rootless


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
    needed = TOOLS if not rootless() else tuple(t for t in TOOLS if t != "setpriv")
    missing = [tool for tool in needed if shutil.which(tool) is None]
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
    if not rootless():  # (rootless: the sandbox runs as this user, and sees the dir read-only)
        os.chown(spec.runtime_dir, 0, 0)
    os.chmod(spec.runtime_dir, 0o755)


FONT_LIST_CODE = """
import glob, os, sys
os.environ["MPLCONFIGDIR"] = os.getcwd()
import matplotlib.font_manager
(path,) = glob.glob("fontlist-*.json")
sys.stdout.write(path + "\\n" + open(path, encoding="utf-8").read())
"""


def build_font_cache(cache_dir: Path, limits: Limits | None = None) -> Path:
    """Build matplotlib's font list once per grader run, confined, and return `cache_dir`.

    Built inside a sandbox so the font paths it records are the ones a kernel sees; the sandbox
    prints it (no host folder is writable from inside) and it is written to `cache_dir`. Pass the
    result as `SandboxSpec.font_cache`; without it every kernel spends time rebuilding the list.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="confine-fonts-") as tmp:
        spec = SandboxSpec(workdir=Path(tmp) / "work", runtime_dir=Path(tmp) / "run",
                           limits=limits or Limits())
        spec.workdir.mkdir()
        spec.runtime_dir.mkdir()
        prepare_dirs(spec)
        argv = confined_argv([sys.executable, "-c", FONT_LIST_CODE], spec)
        built = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    name, _, text = built.stdout.partition("\n")
    if built.returncode != 0 or not name.startswith("fontlist-") or "/" in name:
        detail = (built.stderr.strip().splitlines() or [f"exit status {built.returncode}"])[-1]
        raise RuntimeError(f"building matplotlib's font list in {cache_dir} failed: {detail}")
    (cache_dir / name).write_text(text, encoding="utf-8")
    if not rootless():
        for path in [cache_dir, *cache_dir.iterdir()]:
            os.lchown(path, 0, 0)
    os.chmod(cache_dir, 0o755)
    return cache_dir
