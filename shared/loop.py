"""One periodic loop for every background job of a service: the outbox sweeper, routing's SLA sweeper and
notify's delivery worker.

`tick` runs, then the loop waits `interval_s` (or until `wake()`), and so on until `stop()`. A tick that
returns True had more work than one pass takes (a full batch): the loop runs it again at once. A tick that
raises is logged and counted and the loop goes on; a background job never dies quietly.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

from shared.metrics import LOOP_FAILURES

log = structlog.get_logger("huiying.loop")

Tick = Callable[[], Awaitable[bool | None]]


class PeriodicLoop:
    def __init__(self, name: str, tick: Tick, interval_s: float) -> None:
        self.name = name
        self.tick = tick
        self.interval_s = interval_s
        self.passes = 0  # completed ticks: tests wait on this with a deadline instead of sleeping
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._run(), name=self.name)

    def wake(self) -> None:
        """Something new is waiting: run the next tick now rather than after the interval."""
        self._wake.set()

    async def stop(self, grace_s: float = 10.0) -> None:
        """Let a running tick finish (up to `grace_s`), then cancel it; returns once the loop has ended."""
        self._stopping.set()
        self._wake.set()
        task, self._task = self._task, None
        if task is None:
            return
        done, _ = await asyncio.wait({task}, timeout=grace_s)
        if not done:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()  # before the tick, so a wake-up during it is not lost
            more = False
            try:
                more = bool(await self.tick())
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                LOOP_FAILURES.labels(loop=self.name).inc()
                log.warning("background pass failed", loop=self.name, error=f"{type(exc).__name__}: {exc}")
            self.passes += 1
            if more or self._stopping.is_set():
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)
