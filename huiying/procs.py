"""Starting and stopping child processes that die with their parent."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import IO, Any


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
