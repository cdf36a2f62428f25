"""The SLA sweeper: runs in every replica, every `HUIYING_ROUTING_SLA_SWEEP_INTERVAL_S` seconds.

There is no leader: each pass reads the tasks whose `next_check_at` has come and writes each due step
with a conditional update on the task's `rev`. When two replicas find the same task, one write wins and
the other matches nothing; the loser's next pass sees the markers (`sla.<clock>.lead_at`...) and has
nothing left to do. So every reminder and escalation happens once per due time.
"""

from __future__ import annotations

import asyncio

import structlog

from services.routing.metrics import SLA_SWEEP_SECONDS
from services.routing.service import RoutingService

log = structlog.get_logger("huiying.routing.sla")


class SlaSweeper:
    def __init__(self, service: RoutingService, interval_s: float, batch: int = 200) -> None:
        self.service, self.interval_s, self.batch = service, interval_s, batch
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.passes = 0  # completed passes (tests wait on it instead of sleeping)

    async def sweep_once(self) -> int:
        written = 0
        while True:
            count = await self.service.sweep_once(self.batch)
            written += count
            if count < self.batch:  # a full batch may mean more are waiting
                return written

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sla-sweeper")

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                with SLA_SWEEP_SECONDS.time():
                    written = await self.sweep_once()
                if written:
                    log.info("sla sweep", events=written)
            except Exception as exc:
                log.warning("sla sweep failed", error=f"{type(exc).__name__}: {exc}")
            self.passes += 1
            try:
                await asyncio.wait_for(self._stopping.wait(), self.interval_s)
            except TimeoutError:
                pass

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
