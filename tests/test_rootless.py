"""Rootless (issue 13, part 2): an ordinary user grades hostile notebooks in the rootless sandbox.

The module fixture creates the user `nbgrade-rootless` (if missing) and a venv for it built from the
system Python (/usr/bin/python3) with the grader and its dependencies but not torch (these notebooks
do not use it), then runs `grade` as that user on a class of hostile notebooks (numpy only) and
reads the results back. Needs root (to create the user) and Debian's python3-venv.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from answers import H11, H14, NUMPY_DATA_11, rubric_1_1
from conftest import REPO, build_notebook

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.geteuid() != 0, reason="creating a user needs root")]

USER = "nbgrade-rootless"
VENVS = Path("/var/lib/nbgrade-rootless")
WITHOUT = ("torch", "torchvision", "dask")  # not needed to grade numpy-only notebooks

RUBRIC = rubric_1_1() + """
  - id: "1.4"
    title: Plot the filters
    heading: "Exercise 1.4"
    points: 1
    checks:
      - type: section_ran
        name: plotting code runs
        points: 1
"""
LIMITS = "limits:\n  threads: 1\n  disk_mb: 64\n  memory_gb: 2\n  max_processes: 64\n"

CORRECT = ("code", NUMPY_DATA_11)
LATER = [H14, ("code", "print('1.4 ran', X.shape)")]
HOSTILE = {
    "crash": [H11, ("code", "import os\nos._exit(1)"), CORRECT, H14, ("code", "print('ran')")],
    "killparent": [H11, ("code", """
        import os, signal
        for sig in (signal.SIGKILL, signal.SIGTERM):
            os.kill(os.getppid(), sig)
        """), CORRECT, *LATER],
    "hang": [H11, ("code", "while True:\n    pass"), CORRECT, *LATER],
    "forkbomb": [H11, ("code", "import os\nwhile True:\n    os.fork()"), CORRECT, *LATER],
    "membomb": [H11, ("code", "x = bytearray(50 * 2**30)"), CORRECT, *LATER],
    "diskfill": [H11, ("code", """
        for i in range(3000):
            with open(f"fill{i}.bin", "wb") as fh:
                fh.write(b"x" * 2**20)
        """), CORRECT, *LATER],
    "snoop": [H11, ("code", """
        import glob, os, socket
        seen = [p for p in ({secrets!r}) if os.path.exists(p)] + glob.glob({home!r} + "/*")
        try:
            socket.create_connection(("127.0.0.1", 22), timeout=2)
            seen.append("connected")
        except OSError:
            pass
        for target in ({home!r} + "/written.txt", "/tmp/../{home_name}-written.txt"):
            try:
                open(target, "w").write("x")
            except OSError:
                continue
            seen.append(target)
        assert not seen, seen
        """), CORRECT, *LATER],
}


@dataclass
class Rootless:
    user: pwd.struct_passwd
    venv: Path
    root: Path  # a folder the user owns: notebooks, rubric, out, TMPDIR

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        env = {"PATH": f"{self.venv}/bin:/usr/bin:/bin", "HOME": self.user.pw_dir,
               "TMPDIR": str(self.root / "tmp"), "LANG": "C.UTF-8"}
        return subprocess.run(["runuser", "-u", USER, "--", "env", "-i",
                               *(f"{k}={v}" for k, v in env.items()), *args],
                              capture_output=True, text=True, timeout=timeout, check=False,
                              cwd=self.root)


def requirements() -> list[str]:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    return [d for d in deps if not d.split("[")[0].split("=")[0].split(">")[0].strip() in WITHOUT]


def build_venv() -> Path:
    """The user's venv from the system Python: dependencies once, the grader every time."""
    deps = requirements()
    venv = VENVS / f"venv-{hashlib.sha256(' '.join(deps).encode()).hexdigest()[:12]}"
    started = time.perf_counter()
    if not (venv / "ready").exists():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True)
        subprocess.run([f"{venv}/bin/pip", "install", "-q", *deps], check=True)
        (venv / "ready").write_text("\n".join(deps))
    with tempfile.TemporaryDirectory(prefix="rootless-src-") as src:  # builds leave files
        files = subprocess.run(["git", "ls-files", "-z", "grader", "reference", "pyproject.toml",
                                "README.md"], cwd=REPO, capture_output=True, check=True)
        for name in files.stdout.decode().split("\0"):
            if name and (REPO / name).is_file():
                (Path(src) / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(REPO / name, Path(src) / name)
        subprocess.run([f"{venv}/bin/pip", "install", "-q", "--no-deps", "--force-reinstall",
                        src], check=True, capture_output=True)
    for path in [VENVS, *VENVS.iterdir()]:
        path.chmod(0o755)
    print(f"rootless venv ready in {time.perf_counter() - started:.1f} s")
    return venv


@pytest.fixture(scope="module")
def rootless() -> Iterator[Rootless]:
    if subprocess.run(["id", USER], capture_output=True, check=False).returncode != 0:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", USER], check=True)
    user = pwd.getpwnam(USER)
    venv = build_venv()
    root = Path(tempfile.mkdtemp(prefix="rootless-", dir="/tmp"))
    (root / "tmp").mkdir()
    (root / "class").mkdir()
    os.chown(root, user.pw_uid, user.pw_gid)
    os.chown(root / "tmp", user.pw_uid, user.pw_gid)
    try:
        yield Rootless(user, venv, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def user_processes() -> str:
    return subprocess.run(["pgrep", "-a", "-u", USER], capture_output=True, text=True,
                          check=False).stdout


def write_class(r: Rootless) -> None:
    home = r.user.pw_dir
    secret = Path(home) / "secret.txt"
    secret.write_text("the grader user's own file")
    os.chown(secret, r.user.pw_uid, r.user.pw_gid)
    secrets = [str(secret), str(r.root / "class"), str(REPO / "rubrics"), "/etc/shadow"]
    for name, cells in HOSTILE.items():
        cells = [(kind, source.format(secrets=secrets, home=home,
                                      home_name=Path(home).name) if name == "snoop" else source)
                 for kind, source in cells]
        nbformat.write(build_notebook(cells), str(r.root / "class" / f"{name}.ipynb"))
    (r.root / "rubric.yaml").write_text(RUBRIC.replace("limits:\n  threads: 1\n", LIMITS))
    for path in r.root.rglob("*"):
        os.chown(path, r.user.pw_uid, r.user.pw_gid)


def test_ordinary_user_can_confine_kernels(rootless: Rootless) -> None:
    said = rootless.run("python", "-c", "from grader.sandbox.host import confinement_available;"
                        " print(confinement_available())")
    assert said.stdout.strip() == "None", said.stderr


def test_hostile_class_graded_rootless_by_an_ordinary_user(rootless: Rootless) -> None:
    write_class(rootless)
    done = rootless.run("grade", "class", "--rubric", "rubric.yaml", "--out", "out",
                        "--workers", "2", "--train-limit", "100", "--cell-timeout", "20",
                        "--cache", str(rootless.root / "refcache"))
    assert done.returncode == 0, done.stdout + done.stderr
    results = {name: json.loads((rootless.root / "out" / f"{name}.json").read_text())
               for name in HOSTILE}
    for name, result in results.items():
        q11, q14 = result["questions"]
        assert result["environment"]["sandbox"].startswith("bubblewrap"), name
        assert q14["checks"][0]["passed"], (name, q14)  # every kernel lived on, or was replaced
        if name != "crash":
            assert (q11["status"], q11["points"]) in (("pass", 10.0),), (name, q11)
    errors = {name: [e["ename"] for e in r["questions"][0]["errors"]] for name, r in
              results.items()}
    assert errors == {"crash": ["DeadKernelError"], "killparent": [], "hang": ["CellTimeoutError"],
                      "forkbomb": ["BlockingIOError"], "membomb": ["MemoryError"],
                      "diskfill": ["OSError"], "snoop": []}
    assert any("no space left" in e["evalue"].lower() or "errno 28" in e["evalue"].lower()
               for e in results["diskfill"]["questions"][0]["errors"])
    assert "graded after kernel restart 1" in " ".join(results["crash"]["notes"]) or \
        any("a new kernel replayed" in n for n in results["crash"]["notes"])
    assert not (Path(rootless.user.pw_dir) / "written.txt").exists()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and user_processes():
        time.sleep(0.1)
    assert user_processes() == ""
    assert list((rootless.root / "tmp").iterdir()) == []
