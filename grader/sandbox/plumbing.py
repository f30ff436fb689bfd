"""Host-side plumbing of a running kernel: its raw output, bounded, and files read from its sandbox.

`OutputTail` is where the kernel process's own stdout and stderr go (ipykernel's banners, and whatever
student code writes to file descriptors 1 and 2 with `os.write` or from C): a pipe drained by a thread
that keeps only the last bytes, so a flood costs neither the grader's memory nor its disk.

`copy_from_sandbox` reads a file the kernel wrote in its sandbox's private tmpfs (which no host path
shows) through `/proc/<pid>/root`, opening every component without following links: the student owns
those folders and may have planted symlinks pointing at the grader's own files. `SocketLinks` reaches
the kernel's sockets the same way.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections import deque
from pathlib import Path

TAIL_BYTES = 64 * 2**10
CHUNK = 2**16


def temp_prefix(kind: str) -> str:
    """A mkdtemp prefix naming this process, e.g. 'grader-rt-p1234-', so that the folders of a
    grader that was killed can be told from others' and removed (batch/lifetime.py)."""
    return f"{kind}-p{os.getpid()}-"


class OutputTail:
    """A pipe for a child's stdout/stderr; a daemon thread keeps its last `TAIL_BYTES`."""

    def __init__(self) -> None:
        self._read_fd, self.write_fd = os.pipe()
        self._chunks: deque[bytes] = deque()
        self._kept = 0
        self._thread = threading.Thread(target=self._drain, name="kernel-output", daemon=True)
        self._thread.start()

    def started(self) -> None:
        """The child has its copy of the write end: close ours, so EOF comes when it exits."""
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self._read_fd, CHUNK)
            except OSError:
                break
            if not chunk:
                break
            self._chunks.append(chunk)
            self._kept += len(chunk)
            while self._kept - len(self._chunks[0]) >= TAIL_BYTES:
                self._kept -= len(self._chunks.popleft())
        os.close(self._read_fd)

    def text(self) -> str:
        return b"".join(list(self._chunks))[-TAIL_BYTES:].decode("utf-8", "replace")

    def close(self) -> None:
        self.started()
        self._thread.join(timeout=5)


def sandbox_root_pid(launcher_pid: int) -> int | None:
    """The pid (on the host) of the first process inside the sandbox that `launcher_pid` (the
    outer bwrap) started: its `/proc/<pid>/root` is the sandbox's root."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == launcher_pid:
            return int(entry.name)
    return None


def open_in_sandbox(root_pid: int, inside: str, flags: int) -> int:
    """An fd of the file at path `inside` of the sandbox, every component opened without
    following links (OSError otherwise)."""
    *folders, name = inside.strip("/").split("/")
    fd = os.open(f"/proc/{root_pid}/root", os.O_PATH | os.O_DIRECTORY)
    try:
        for folder in folders:
            parent, fd = fd, -1
            try:
                fd = os.open(folder, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent)
            finally:
                os.close(parent)
        return os.open(name, flags | os.O_NOFOLLOW, dir_fd=fd)
    finally:
        if fd >= 0:
            os.close(fd)


def copy_from_sandbox(root_pid: int, inside: str, dest: Path, max_bytes: int) -> str:
    """Copy the regular file at path `inside` of the sandbox to `dest`, at most `max_bytes` + 1
    bytes of it (the reader sees that it was too big); '' or why it could not be read."""
    name = inside.rpartition("/")[2]
    try:
        fd = open_in_sandbox(root_pid, inside, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        return f"{name} cannot be read: {exc.strerror}"
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return f"{name} is not a regular file"
        with dest.open("wb") as out:
            left = max_bytes + 1
            while left > 0:
                chunk = os.read(fd, min(CHUNK * 16, left))
                if not chunk:
                    break
                out.write(chunk)
                left -= len(chunk)
    except OSError as exc:
        return f"{name} cannot be read: {exc.strerror}"
    finally:
        os.close(fd)
    return ""


class SocketLinks:
    """Links `<host_prefix>-<port>` to the kernel's ipc sockets, which it binds in its sandbox.

    The kernel's sockets live in the sandbox's own tmpfs, so no host folder needs to be writable
    from inside. Once the kernel has bound each of `ports` (at `<inside_prefix>-<port>`), a thread
    opens it (O_PATH, no link followed) and makes `<host_prefix>-<port>` a symlink to
    `/proc/self/fd/<fd>`: the grader's connections (and zmq's reconnections) always reach that
    very socket, even if the student later removes it or plants a symlink in its place.
    """

    def __init__(self, launcher_pid: int, inside_prefix: str, host_prefix: str,
                 ports: list[int], timeout: float = 300.0) -> None:
        self.fds: list[int] = []
        self._stop = threading.Event()
        self._args = (launcher_pid, inside_prefix, host_prefix, ports, timeout)
        self._thread = threading.Thread(target=self._link, name="kernel-sockets", daemon=True)
        self._thread.start()

    def _link(self) -> None:
        launcher_pid, inside_prefix, host_prefix, ports, timeout = self._args
        deadline = time.monotonic() + timeout
        waiting = list(ports)
        root_pid = None
        while waiting and time.monotonic() < deadline and not self._stop.is_set():
            root_pid = root_pid or sandbox_root_pid(launcher_pid)
            for port in list(waiting) if root_pid else []:
                try:
                    fd = open_in_sandbox(root_pid, f"{inside_prefix}-{port}", os.O_PATH)
                except OSError:
                    continue  # not bound yet
                if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                    os.close(fd)
                    continue
                self.fds.append(fd)
                os.symlink(f"/proc/self/fd/{fd}", f"{host_prefix}-{port}")
                waiting.remove(port)
            time.sleep(0.02)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for fd in self.fds:
            os.close(fd)
        self.fds.clear()
