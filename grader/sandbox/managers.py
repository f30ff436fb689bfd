"""Kernel managers whose kernel runs confined: jupyter_client's, with the command line wrapped.

Takes a `SandboxSpec`; the manager puts the connection file and ipc sockets in the spec's runtime dir,
interrupts by message, and starts `confined_argv(kernel command)`.
"""

from __future__ import annotations

import os

from jupyter_client import AsyncKernelManager, KernelManager
from jupyter_client.kernelspec import KernelSpec
from traitlets import Instance

from grader.sandbox.confine import SandboxSpec, confined_argv
from grader.sandbox.fsview import SOCKETS
from grader.sandbox.host import prepare_dirs
from grader.sandbox.plumbing import SocketLinks


class _Confined:
    """What a kernel manager needs to run its kernel confined by `self.spec`."""

    spec: SandboxSpec

    _links: SocketLinks | None = None

    def _confined_defaults(self, spec: SandboxSpec, kwargs: dict[str, object]) -> dict[str, object]:
        """Return `kwargs` with ipc transport, the connection file in the runtime dir, and `ip`
        the host-side prefix of the links to the kernel's sockets (`plumbing.SocketLinks`)."""
        kwargs.setdefault("transport", "ipc")
        kwargs.setdefault("ip", str(spec.runtime_dir / "k"))  # short: sun_path has 108 bytes
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
        """Write the connection file (mode 0600) owned by the sandbox user, who must read it; the
        sockets it names are the kernel's, in its sandbox."""
        prepare_dirs(self.spec)
        host_ip, self.ip = self.ip, SOCKETS
        try:
            super().write_connection_file(**kwargs)
        finally:
            self.ip = host_ip
        os.lchown(self.connection_file, self.spec.uid, self.spec.gid)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: object) -> None:
        """Launch, then link the kernel's sockets as it binds them (plumbing.SocketLinks)."""
        await super()._async_launch_kernel(kernel_cmd, **kw)
        ports = [self.shell_port, self.iopub_port, self.stdin_port, self.control_port,
                 self.hb_port]
        self._links = SocketLinks(self.provisioner.process.pid, SOCKETS, self.ip, ports)

    def cleanup_ipc_files(self) -> None:
        """Remove the socket links and close what they point to."""
        super().cleanup_ipc_files()
        if self._links is not None:
            self._links.close()
            self._links = None

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
