"""A grading run's lifetime: one run per output folder, signals as interrupts, no temp left over.

- `out_lock(out_dir)`: an exclusive lock on `<out>/.grade.lock` for the whole run; a second `grade`
  on the same `--out` is refused at once with the pid of the first (`BatchInputError`, exit 2).
- `interrupts_on_signals()`: SIGTERM and SIGHUP raise KeyboardInterrupt in this process, as Ctrl-C
  does, so every `finally` runs: kernels shut down, workers stopped, temp folders removed.
- `die_with_parent()`: in a worker, SIGTERM when the grader dies (even by `kill -9`), then the same.
- `remove_stale_temp()`: the temp folders (`grade-*`, `grader-rt-*`, `grade-nb-*`) of grader
  processes that no longer exist, left by a `kill -9`, are removed by the next run. Each folder's
  name carries the pid of the process that made it (`plumbing.temp_prefix`).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import re
import shutil
import signal
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import TypeVar

from grader.batch.discover import BatchInputError

T = TypeVar("T")
LOCK_NAME = ".grade.lock"
TEMP_KINDS = ("grade-", "grader-rt-")  # grade-<student>-..., grade-nb-..., grader-rt-...
_OWNER = re.compile(r"-p(\d+)-[a-z0-9_]{8}$")  # mkdtemp adds 8 characters after the prefix
PR_SET_PDEATHSIG = 1


@contextlib.contextmanager
def out_lock(out_dir: Path) -> Iterator[None]:
    """Hold `<out>/.grade.lock` for the run; refuse when another process holds it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(out_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 100, 0).decode(errors="replace").strip() or "unknown"
            raise BatchInputError(
                f"{out_dir} is being written by another grade process (pid {holder}): wait for "
                "it to finish, or choose another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock; a killed process's lock goes with it


@contextlib.contextmanager
def out_write_errors(out_dir: Path) -> Iterator[None]:
    """A full (or read-only) output file system is one clear sentence, not a traceback.

    Nothing is half-written meanwhile: reports and exports are written to a temp file and renamed,
    each gradebook row in one transaction, so the gradebook holds every result recorded before.
    """
    try:
        yield
    except (OSError, sqlite3.OperationalError) as exc:
        full = getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or "disk is full" in \
            str(exc)
        if not full and getattr(exc, "errno", None) != errno.EROFS:
            raise
        why = "its file system is full" if full else "its file system is read-only"
        raise BatchInputError(
            f"cannot write the results to {out_dir}: {why}. The gradebook keeps every result "
            "recorded before; make room and run the same command again to go on") from None


class WorkerStopped(KeyboardInterrupt):
    """A worker was told to stop (the grader's SIGTERM, or its death): clean up, then exit."""


def check_room(out_dir: Path, min_free: int = 2**20) -> None:
    """OSError(ENOSPC) when `out_dir`'s file system has less than `min_free` bytes left: SQLite
    would otherwise say "disk I/O error" on opening the gradebook."""
    info = os.statvfs(out_dir)
    if info.f_bavail * info.f_frsize < min_free:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(out_dir))


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Interrupt once; further SIGTERMs (the grader's, then its death signal) must not cut the
    clean-up short."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def _stop_worker(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise WorkerStopped(f"signal {signal.Signals(signum).name}")


@contextlib.contextmanager
def interrupts_on_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP interrupt this process like Ctrl-C while the block runs."""
    saved = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    except KeyboardInterrupt:
        remove_own_temp()  # whatever an interrupted clean-up missed
        raise
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def die_with_parent() -> None:
    """In a worker: SIGTERM when the grader dies; SIGTERM raises WorkerStopped (`run_in_worker`)."""
    signal.signal(signal.SIGTERM, _stop_worker)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() == 1:  # the grader died before the line above ran
        raise WorkerStopped("the grader is gone")


def run_in_worker(task: Callable[..., T], *args: object) -> T:
    """`task(*args)` in a worker; once stopped (its `finally` blocks ran), the worker exits: it
    must not wait for more tasks from a grader that is gone."""
    try:
        return task(*args)
    except WorkerStopped:
        remove_own_temp()
        os._exit(128 + signal.SIGTERM)


def _temp_folders(root: Path | None) -> Iterator[tuple[os.DirEntry, int]]:
    """(folder, owner pid) of the grader temp folders in `root` (the temp dir) this user owns."""
    for entry in os.scandir(root or Path(tempfile.gettempdir())):
        match = _OWNER.search(entry.name)
        if (entry.name.startswith(TEMP_KINDS) and match and entry.is_dir(follow_symlinks=False)
                and entry.stat(follow_symlinks=False).st_uid == os.geteuid()):
            yield entry, int(match[1])


def remove_stale_temp(root: Path | None = None) -> list[Path]:
    """Remove this user's grader temp folders whose process is gone; return what was removed."""
    removed = []
    for entry, pid in _temp_folders(root):
        if not _alive(pid):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
    return removed


def remove_own_temp(root: Path | None = None) -> None:
    """Remove the temp folders this process made (after an interrupt: its kernels are gone)."""
    for entry, pid in _temp_folders(root):
        if pid == os.getpid():
            shutil.rmtree(entry.path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True
