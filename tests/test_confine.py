"""The sandbox really confines: each test runs real code (a confined `python -c` or a confined
ipykernel) and checks from both sides what it could and could not do. No mocks.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest
from jupyter_client import BlockingKernelClient
from nbclient import NotebookClient

from grader.sandbox.confine import (
    INNER_UID,
    MPL_CONFIG_DIR,
    Limits,
    SandboxSpec,
    confined_argv,
    sandbox_env,
)
from grader.sandbox.fsview import python_roots
from grader.sandbox.host import (
    build_font_cache,
    confinement_available,
    prepare_dirs,
    seal_runtime_dir,
)
from grader.sandbox.managers import ConfinedKernelManager, confined_kernel_manager

pytestmark = pytest.mark.kernel  # every test here starts a kernel or a sandbox

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 20.0
SpecFactory = Callable[..., SandboxSpec]


@pytest.fixture(scope="module", autouse=True)
def _require_confinement() -> None:
    """Fail (not skip) every test here if sandboxing does not work: the grader depends on it."""
    reason = confinement_available()
    if reason is not None:
        pytest.fail(f"sandboxing is unavailable: {reason}")


@pytest.fixture
def make_spec(tmp_path: Path) -> SpecFactory:
    """Return a factory of prepared specs with fresh workdir and runtime_dir under tmp_path."""

    def make(**limits: int) -> SandboxSpec:
        spec = SandboxSpec(
            workdir=tmp_path / "work", runtime_dir=tmp_path / "run", limits=Limits(**limits)
        )
        spec.workdir.mkdir(exist_ok=True)
        spec.runtime_dir.mkdir(exist_ok=True)
        prepare_dirs(spec)
        return spec

    return make


def start_confined(code: str, spec: SandboxSpec) -> subprocess.Popen[str]:
    """Start `python -c code` confined, in its own process group as jupyter_client does."""
    argv = confined_argv([sys.executable, "-c", textwrap.dedent(code)], spec)
    return subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def run_confined(
    code: str, spec: SandboxSpec, timeout: float = TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run `python -c code` confined; always kill its process group afterwards."""
    proc = start_confined(code, spec)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        kill_group(proc)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def kill_group(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the process group led by `proc` (if still there) and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate()


def pids_with(marker: str) -> dict[int, list[str]]:
    """Return {pid: argv} of the host's processes whose command line contains `marker`."""
    found: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
            argv = raw.decode(errors="replace").removesuffix("\0").split("\0")
        except OSError:
            continue
        if any(marker in arg for arg in argv):
            found[int(entry.name)] = argv
    return found


def pythons_ending_with(marker: str) -> list[int]:
    """Return the host pids of Pythons (not bwrap wrappers) whose last argument is `marker`."""
    found = pids_with(marker).items()
    return [pid for pid, argv in found if argv[0] == sys.executable and argv[-1] == marker]


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass; return whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def host_uid_of(pid: int) -> int:
    """Return the real uid of a host process, as the host kernel sees it."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for pid {pid}")


# --- 8. availability -------------------------------------------------------------------------


def test_missing_bubblewrap_is_explained_in_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    reason = confinement_available()
    assert reason is not None
    assert "bubblewrap" in reason and "apt-get install bubblewrap" in reason
    assert reason.endswith(".") and reason.count(". ") == 0


def test_missing_util_linux_tools_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bwrap").symlink_to("/usr/bin/bwrap")
    monkeypatch.setenv("PATH", str(tmp_path))
    reason = confinement_available()
    assert reason is not None and "setpriv and prlimit" in reason and "util-linux" in reason


# --- 1. network --------------------------------------------------------------------------------


def test_no_socket_reaches_host_loopback_or_outside(make_spec: SpecFactory) -> None:
    spec = make_spec()
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    try:
        result = run_confined(
            f"""
            import socket
            print(sorted(name for _, name in socket.if_nameindex()))
            for address in [("127.0.0.1", {port}), ("127.0.0.1", 22), ("1.1.1.1", 53)]:
                try:
                    socket.create_connection(address, timeout=2)
                    print("REACHED", address)
                except OSError as e:
                    print("blocked", address, type(e).__name__)
            """,
            spec,
        )
    finally:
        server.close()
    assert result.returncode == 0, result.stderr
    assert "['lo']" in result.stdout
    assert "REACHED" not in result.stdout and result.stdout.count("blocked") == 3


def test_only_unix_sockets_in_runtime_dir_are_reachable(
    make_spec: SpecFactory, tmp_path: Path
) -> None:
    spec = make_spec()
    inside = socket.socket(socket.AF_UNIX)
    inside.bind(str(spec.runtime_dir / "ok.sock"))
    os.chown(spec.runtime_dir / "ok.sock", spec.uid, spec.gid)
    inside.listen()
    inside.settimeout(TIMEOUT)
    outside = socket.socket(socket.AF_UNIX)
    outside.bind(str(tmp_path / "outside.sock"))
    os.chmod(tmp_path / "outside.sock", 0o777)
    outside.listen()
    abstract_name = f"\0confine-test-{uuid.uuid4().hex}"
    abstract = socket.socket(socket.AF_UNIX)
    abstract.bind(abstract_name)
    abstract.listen()
    received: list[bytes] = []

    def accept_one() -> None:
        conn, _ = inside.accept()
        received.append(conn.recv(100))
        conn.close()

    acceptor = threading.Thread(target=accept_one, daemon=True)
    acceptor.start()
    try:
        result = run_confined(
            f"""
            import socket
            for path in [{str(spec.runtime_dir / "ok.sock")!r}, {str(tmp_path / "outside.sock")!r},
                         {abstract_name!r}]:
                s = socket.socket(socket.AF_UNIX)
                try:
                    s.connect(path)
                    s.sendall(b"hello")
                    print("reached", repr(path))
                except OSError as e:
                    print("blocked", repr(path), type(e).__name__)
            """,
            spec,
        )
        acceptor.join(TIMEOUT)
    finally:
        for sock in (inside, outside, abstract):
            sock.close()
    assert result.returncode == 0, result.stderr
    assert received == [b"hello"]
    assert result.stdout.count("reached") == 1 and result.stdout.count("blocked") == 2


def test_network_flag_shares_the_host_network(make_spec: SpecFactory) -> None:
    spec = replace(make_spec(), network=True)
    server = socket.create_server(("127.0.0.1", 0))
    try:
        code = f"import socket; socket.create_connection(('127.0.0.1', {server.getsockname()[1]}))"
        assert run_confined(code, spec).returncode == 0
    finally:
        server.close()


# --- 2. filesystem -----------------------------------------------------------------------------


def test_repo_rubrics_reference_and_host_secrets_are_invisible(
    make_spec: SpecFactory, tmp_path: Path
) -> None:
    spec = make_spec()
    secret = tmp_path / "other-submission.ipynb"
    secret.write_text("{}")
    host_tmp_file = Path(f"/tmp/confine-test-{uuid.uuid4().hex}")
    host_tmp_file.write_text("host tmp")
    hidden = [
        REPO / "rubrics",
        REPO / "reference",
        REPO / "grader",
        REPO / "submissions",
        REPO / "tests",
        REPO / "pyproject.toml",
        Path("/work/shared"),
        Path.home() / ".npmrc",
        Path.home() / ".gitconfig",
        Path(sys.base_prefix).parent.parent / ".git",
        Path("/etc/shadow"),
        Path("/etc/passwd"),
        Path("/var"),
        Path("/sys"),
        secret,
        host_tmp_file,
    ]
    hidden = [path for path in hidden if path.exists()]
    try:
        result = run_confined(
            f"""
            import os, sys
            for path in {[str(p) for p in hidden]!r}:
                print("VISIBLE" if os.path.exists(path) else "hidden", path)
            for module in ("grader", "reference"):
                try:
                    __import__(module)
                    print("IMPORTED", module)
                except ImportError:
                    print("hidden", module)
            # a bound dir's siblings stay hidden: only the path down to it exists
            for root in {[str(p) for p in python_roots()]!r}:
                parent = os.path.dirname(root)
                print("siblings", sorted(os.listdir(parent)), os.path.basename(root))
            """,
            spec,
        )
    finally:
        host_tmp_file.unlink()
    assert result.returncode == 0, result.stderr
    assert len(hidden) >= 8
    assert "VISIBLE" not in result.stdout and "IMPORTED" not in result.stdout
    for line in result.stdout.splitlines():
        if line.startswith("siblings"):
            _, listing, name = line.split(" ", 2)
            assert listing == repr([name]), line


def test_only_the_working_folder_and_private_tmp_are_writable_no_host_folder(
        make_spec: SpecFactory) -> None:
    spec = make_spec()
    (spec.workdir / "data.txt").write_text("provisioned")
    prepare_dirs(spec)
    targets = ["f.txt", "data.txt", "/tmp/f.txt", "/dev/shm/f.txt"]
    readonly = ["/usr/f.txt", f"{sys.prefix}/f.txt", f"{sys.base_prefix}/f.txt", "/f.txt",
                "/run/f.txt", "/dev/f.txt",
                str(spec.runtime_dir / "f.txt")]
    result = run_confined(
        f"""
        import os
        print("cwd", os.getcwd())
        for path in {targets + readonly!r}:
            try:
                with open(path, "w") as f:
                    f.write("x")
                print("wrote", path)
            except OSError as e:
                print("refused", path, e.errno)
        """,
        spec,
    )
    assert result.returncode == 0, result.stderr
    assert f"cwd {spec.workdir}" in result.stdout
    for path in targets:
        assert f"wrote {path}" in result.stdout
    for path in readonly:
        assert f"refused {path}" in result.stdout
    # the working folder is the sandbox's own copy (in its bounded tmpfs): the host's is untouched
    assert sorted(p.name for p in spec.workdir.iterdir()) == ["data.txt"]
    assert (spec.workdir / "data.txt").read_text() == "provisioned"
    assert list(spec.runtime_dir.iterdir()) == []
    assert not Path("/tmp/f.txt").exists()


# --- 3. unprivileged uid, fork bomb ------------------------------------------------------------


def test_student_runs_as_unprivileged_uid_inside_and_on_host(make_spec: SpecFactory) -> None:
    spec = make_spec()
    marker = f"confine-uid-{uuid.uuid4().hex}"
    proc = start_confined(
        f"""
        import os, sys, time
        status = open("/proc/self/status").read()
        caps = [line for line in status.splitlines() if line.startswith(("CapEff", "CapBnd"))]
        print(os.getuid(), os.geteuid(), os.getgroups(), caps, flush=True)
        time.sleep(30)  # {marker}
        """,
        spec,
    )
    try:
        assert wait_until(lambda: any(a[0] == sys.executable for a in pids_with(marker).values()))
        kernels = [pid for pid, argv in pids_with(marker).items() if argv[0] == sys.executable]
        assert [host_uid_of(pid) for pid in kernels] == [spec.uid]
        assert proc.stdout is not None
        line = proc.stdout.readline()
    finally:
        kill_group(proc)
    zero_caps = "['CapEff:\\t0000000000000000', 'CapBnd:\\t0000000000000000']"
    assert line.strip() == f"{INNER_UID} {INNER_UID} [] {zero_caps}"
    assert spec.uid != 0


def test_fork_bomb_is_stopped_by_process_limit(make_spec: SpecFactory) -> None:
    spec = make_spec(max_processes=32)
    marker = f"confine-forkbomb-{uuid.uuid4().hex}"
    result = run_confined(
        f"""
        import os, time
        forked = 0
        try:
            while forked < 200:  # bounded even if the limit failed: {marker}
                if os.fork() == 0:
                    time.sleep(30)
                    os._exit(0)
                forked += 1
            print("unbounded", forked)
        except OSError as e:
            print("stopped", forked, e.errno == {errno.EAGAIN}, flush=True)
        os._exit(0)
        """,
        spec,
        timeout=10,
    )
    assert result.stdout.startswith("stopped"), result.stdout + result.stderr
    _, forked, eagain = result.stdout.split()
    assert 0 < int(forked) < 32 and eagain == "True"
    # the sleeping children died with the sandbox when the bomb's parent exited
    assert wait_until(lambda: not pids_with(marker), timeout=5)


def test_process_limit_is_per_sandbox_even_with_shared_uid(make_spec: SpecFactory) -> None:
    first = make_spec(max_processes=32)
    second = replace(first, workdir=first.workdir.parent / "work2")
    second.workdir.mkdir()
    prepare_dirs(second)
    holder = start_confined(
        """
        import os, time
        for _ in range(25):
            if os.fork() == 0:
                time.sleep(20)
                os._exit(0)
        print("holding", flush=True)
        time.sleep(20)
        """,
        first,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        result = run_confined(
            """
            import os, time
            forked = 0
            try:
                while forked < 100:
                    if os.fork() == 0:
                        time.sleep(5)
                        os._exit(0)
                    forked += 1
            except OSError:
                pass
            print(forked, flush=True)
            os._exit(0)
            """,
            second,
            timeout=10,
        )
    finally:
        kill_group(holder)
    assert first.uid == second.uid
    assert 25 < int(result.stdout) < 32  # 26 held by the first sandbox did not count here


# --- 4. resource limits ------------------------------------------------------------------------


def test_memory_bomb_gets_memory_error(make_spec: SpecFactory) -> None:
    spec = make_spec(memory_bytes=512 * 2**20)
    result = run_confined(
        """
        try:
            bytearray(10**11)
        except MemoryError:
            print("huge allocation refused")
        chunks = []
        try:
            while True:
                chunks.append(bytearray(10 * 2**20))
        except MemoryError:
            print("growth stopped at", len(chunks) * 10, "MiB")
        """,
        spec,
    )
    assert result.returncode == 0, result.stderr
    assert "huge allocation refused" in result.stdout
    mib = int(result.stdout.split("growth stopped at ")[1].split()[0])
    assert 100 < mib < 512


def test_cpu_time_limit_kills_infinite_loop(make_spec: SpecFactory) -> None:
    spec = make_spec(cpu_seconds=2)
    result = run_confined("print('looping', flush=True)\nwhile True: pass", spec)
    assert "looping" in result.stdout
    assert result.returncode == 128 + signal.SIGKILL


def test_file_size_limit_stops_huge_write(make_spec: SpecFactory) -> None:
    spec = make_spec(max_file_bytes=2**20)
    result = run_confined(
        f"""
        import os
        try:
            with open("big.bin", "wb") as f:
                f.write(bytes(2 * 2**20))
        except OSError as e:
            print("refused", e.errno == {errno.EFBIG}, os.path.getsize("big.bin") <= 2**20)
        """,
        spec,
    )
    assert result.stdout.strip() == "refused True True", result.stderr


def test_open_file_limit_bites(make_spec: SpecFactory) -> None:
    spec = make_spec(max_open_files=64)
    result = run_confined(
        f"""
        files = []
        try:
            while len(files) < 1000:
                files.append(open("/dev/null"))
        except OSError as e:
            print("stopped", len(files), e.errno == {errno.EMFILE})
        """,
        spec,
    )
    _, count, emfile = result.stdout.split()
    assert int(count) < 64 and emfile == "True", result.stderr


def test_thread_limits_and_clean_environment(make_spec: SpecFactory) -> None:
    spec = make_spec(threads=2)
    os.environ["CONFINE_TEST_SECRET"] = "hunter2"
    try:
        result = run_confined("import os, json; print(json.dumps(dict(os.environ)))", spec)
    finally:
        del os.environ["CONFINE_TEST_SECRET"]
    assert result.returncode == 0, result.stderr
    assert "hunter2" not in result.stdout
    env = json.loads(result.stdout)
    assert env.pop("PWD") == str(spec.workdir)
    assert env == sandbox_env(spec)
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "2"


# --- 5. process lifetime -----------------------------------------------------------------------


def test_exit_and_segfault_are_just_a_dead_process(make_spec: SpecFactory) -> None:
    spec = make_spec()
    assert run_confined("import os; os._exit(7)", spec).returncode == 7
    crashed = run_confined("import ctypes; ctypes.string_at(0)", spec)
    assert crashed.returncode == 128 + signal.SIGSEGV
    assert list(spec.workdir.iterdir()) == []  # no core file


def test_killing_process_group_kills_detached_grandchildren(make_spec: SpecFactory) -> None:
    spec = make_spec()
    marker = f"confine-pgroup-{uuid.uuid4().hex}"
    proc = start_confined(
        f"""
        import os, subprocess, sys, time
        sleeper = [sys.executable, "-c", "import time; time.sleep(60)", "{marker}"]
        subprocess.Popen(sleeper, start_new_session=True)
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execv(sys.executable, sleeper)
            os._exit(0)
        time.sleep(60)
        """,
        spec,
    )
    try:
        assert wait_until(lambda: len(pythons_ending_with(marker)) == 2)
        os.killpg(proc.pid, signal.SIGKILL)
        assert wait_until(lambda: not pids_with(marker), timeout=5)
    finally:
        kill_group(proc)


def test_sandbox_dies_with_grader(make_spec: SpecFactory) -> None:
    spec = make_spec()
    marker = f"confine-orphan-{uuid.uuid4().hex}"
    argv = confined_argv([sys.executable, "-c", "import time; time.sleep(60)", marker], spec)
    grader_code = f"import subprocess, time; subprocess.Popen({argv!r}); time.sleep(60)"
    grader = subprocess.Popen([sys.executable, "-c", grader_code], start_new_session=True)
    try:
        assert wait_until(lambda: len(pythons_ending_with(marker)) == 1)
        grader.kill()
        assert wait_until(lambda: not pids_with(marker), timeout=5)
    finally:
        os.killpg(grader.pid, signal.SIGKILL)
        grader.wait()


# --- 7. matplotlib font cache ------------------------------------------------------------------


@pytest.fixture(scope="module")
def font_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_font_cache(tmp_path_factory.mktemp("fonts"))


def test_prepared_font_cache_spares_matplotlib_a_rebuild(
    make_spec: SpecFactory, font_cache: Path
) -> None:
    code = f"""
        import glob, os, time
        started = time.perf_counter()
        import matplotlib.pyplot as plt
        plt.plot([1, 2])
        plt.savefig("f.png")
        (font_list,) = glob.glob("{MPL_CONFIG_DIR}/fontlist-*.json")
        built_here = os.stat(font_list).st_uid == os.getuid()
        print("built" if built_here else "prepared", time.perf_counter() - started)
        """
    cold = run_confined(code, make_spec())
    warm = run_confined(code, replace(make_spec(), font_cache=font_cache))
    assert cold.returncode == warm.returncode == 0, cold.stderr + warm.stderr
    assert cold.stdout.startswith("built ") and warm.stdout.startswith("prepared ")
    assert warm.stderr == ""  # matplotlib neither rebuilt nor failed to save its cache


# --- 6. a real confined ipykernel ----------------------------------------------------------------


class Kernel:
    """A started ConfinedKernelManager and its blocking client."""

    def __init__(self, spec: SandboxSpec) -> None:
        self.spec = spec
        self.km = ConfinedKernelManager(spec=spec)
        self.km.start_kernel(env=sandbox_env(spec), cwd=str(spec.workdir))
        self.client: BlockingKernelClient = self.km.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)
        seal_runtime_dir(spec)

    def run(self, code: str, timeout: float = 60) -> tuple[str, str]:
        """Execute `code`; return (status, all text output including error names)."""
        output: list[str] = []

        def collect(msg: dict) -> None:
            content = msg["content"]
            if msg["msg_type"] == "stream":
                output.append(content["text"])
            elif msg["msg_type"] == "error":
                output.append(f"{content['ename']}: {content['evalue']}\n")

        reply = self.client.execute_interactive(code, timeout=timeout, output_hook=collect)
        return reply["content"]["status"], "".join(output)

    def close(self) -> None:
        self.client.stop_channels()
        self.km.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory, font_cache: Path) -> Iterator[Kernel]:
    base = tmp_path_factory.mktemp("kernel")
    spec = SandboxSpec(
        workdir=base / "work", runtime_dir=base / "run", limits=Limits(), font_cache=font_cache
    )
    spec.workdir.mkdir()
    spec.runtime_dir.mkdir()
    started = Kernel(spec)
    try:
        yield started
    finally:
        started.close()


def test_kernel_runs_torch_numpy_matplotlib_and_torchvision(kernel: Kernel) -> None:
    status, output = kernel.run(
        "import torch, numpy, matplotlib.pyplot as plt\n"
        "plt.plot([1, 2]); plt.savefig('f.png')\n"
        "import torchvision, os\n"
        "print(torch.get_num_threads(), float(torch.ones(3).sum()), numpy.arange(3).sum(),\n"
        "      os.path.getsize('f.png') > 1000)"
    )
    assert status == "ok", output
    assert output == "1 3.0 3 True\n"


def test_kernel_cannot_read_rubrics(kernel: Kernel) -> None:
    status, output = kernel.run(f"open({str(REPO / 'rubrics' / 'x')!r})")
    assert status == "error" and output.startswith("FileNotFoundError")


def test_kernel_cannot_connect_to_loopback(kernel: Kernel) -> None:
    status, output = kernel.run("import socket; socket.create_connection(('127.0.0.1', 22), 2)")
    assert status == "error" and output.startswith("ConnectionRefusedError")


def test_kernel_is_not_root(kernel: Kernel) -> None:
    status, output = kernel.run("import os; print(os.getuid() != 0, os.getuid())")
    assert status == "ok" and output == f"True {INNER_UID}\n"


def test_kernel_cannot_tamper_with_its_read_only_runtime_dir(kernel: Kernel) -> None:
    connection_file = kernel.spec.runtime_dir / "kernel.json"
    status, output = kernel.run(f"import os; os.unlink({str(connection_file)!r})")
    assert status == "error" and output.startswith("OSError: [Errno 30]"), output
    assert connection_file.exists()


def test_kernel_interrupt_stops_a_long_cell(kernel: Kernel) -> None:
    timer = threading.Timer(1.0, kernel.km.interrupt_kernel)
    timer.start()
    try:
        status, output = kernel.run("import time; time.sleep(30)")
    finally:
        timer.cancel()
    assert status == "error" and output.startswith("KeyboardInterrupt")


def test_kernel_crash_is_just_a_dead_kernel(make_spec: SpecFactory) -> None:
    spec = make_spec()
    crashed = Kernel(spec)
    try:
        crashed.client.execute("import ctypes; ctypes.string_at(0)")
        assert wait_until(lambda: not crashed.km.is_alive(), timeout=TIMEOUT)
    finally:
        crashed.close()


def test_nbclient_runs_a_notebook_confined_and_interrupts_a_timed_out_cell(
    make_spec: SpecFactory,
) -> None:
    spec = make_spec()
    cells = ["import os\nprint(os.getuid(), os.getcwd())", "import time\ntime.sleep(30)", "1 + 1"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = NotebookClient(
        nb,
        km=confined_kernel_manager(spec),
        timeout=2,
        interrupt_on_timeout=True,
        allow_errors=True,
        on_notebook_start=lambda **_: seal_runtime_dir(spec),
    )
    client.execute(cwd=str(spec.workdir))
    first, slow, last = (cell.outputs for cell in nb.cells)
    assert first[0]["text"] == f"{INNER_UID} {spec.workdir}\n"
    assert slow[-1]["ename"] == "KeyboardInterrupt"  # the kernel survived the timeout
    assert last[0]["data"]["text/plain"] == "2"
