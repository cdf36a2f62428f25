"""Starting, supervising and stopping child processes that die with their parent."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

# Back-off between restarts of a child that keeps dying: 0.5 s, 1 s, 2 s, ... up to 30 s. A child that has
# stayed up for STABLE_S counts as healthy again and its next crash restarts it after 0.5 s.
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 30.0
STABLE_S = 60.0


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    # Linux: ask the kernel to SIGTERM the child if the launcher dies (even by SIGKILL).
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass
    os.setsid()  # own process group: Ctrl-C reaches the launcher only, which stops children in order


def spawn(
    args: Sequence[str], *, env: dict[str, str], stdout: int | IO[Any] | None = None, stderr: Any = None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "huiying.cli", *args],
        env=env,
        stdout=stdout,
        stderr=stderr,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )


def stop(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> int | None:
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(5)


def read_ready_line(proc: subprocess.Popen[bytes], deadline_s: float) -> str:
    """Wait for the child's `READY <uri>` line."""
    assert proc.stdout is not None
    end = time.monotonic() + deadline_s
    os.set_blocking(proc.stdout.fileno(), False)
    buffer = b""
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with code {proc.returncode} before it was ready")
        chunk = proc.stdout.read()
        if chunk:
            buffer += chunk
            for line in buffer.decode(errors="replace").splitlines():
                if line.startswith("READY "):
                    return line.split(" ", 1)[1].strip()
        time.sleep(0.05)
    raise TimeoutError(f"not ready within {deadline_s:.0f}s")


def port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def port_owner(port: int) -> str:
    """Who listens on `port`: "pid 1234 (python -m huiying.cli serve intake)", or a plain answer when the
    system does not say (another user's process)."""
    import psutil

    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return "another process"
    for conn in connections:
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
            try:
                proc = psutil.Process(conn.pid)
                command = " ".join(proc.cmdline()) or proc.name()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                return f"pid {conn.pid}"
            if len(command) > 80:
                command = command[:77] + "..."
            return f"pid {conn.pid} ({command})"
    return "another process"


@dataclass
class Supervised:
    """One child the launcher keeps running: restarted with back-off when it dies."""

    name: str
    start: Callable[[], subprocess.Popen[bytes]]
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    failures_in_row: int = 0
    restart_at: float | None = None
    hold_until: float = 0.0  # a chaos fault keeps it down until then
    history: list[int | None] = field(default_factory=list)  # exit codes seen

    def launch(self) -> None:
        self.proc = self.start()
        self.started_at = time.monotonic()
        self.restart_at = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def check(self, now: float, say: Callable[[str], None]) -> None:
        """Notice a death (schedule a restart after the back-off) or do a due restart."""
        if self.proc is None:
            return
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.restarts += 1
                self.launch()
                say(f"huiying: {self.name} restarted (restart {self.restarts}, pid {self.pid})")
            return
        code = self.proc.poll()
        if code is None:
            return
        self.history.append(code)
        if now - self.started_at >= STABLE_S:
            self.failures_in_row = 0
        delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2**self.failures_in_row)
        self.failures_in_row += 1
        self.restart_at = max(now + delay, self.hold_until)
        say(f"huiying: {self.name} exited with code {code}; restarting it in {self.restart_at - now:.1f}s")

    def stop(self) -> int | None:
        self.restart_at = None
        if self.proc is None:
            return None
        code = stop(self.proc)
        self.proc = None
        return code
