"""What telling a resident costs notify in database commands (issue 10): counted on notify's own client
(tests/integration/commands.py), for the receipt (`request.submitted`) and the dispatch notice
(`task.dispatched`) of one request, both delivered to the inbox."""

from __future__ import annotations

from typing import Any

from tests.integration.commands import CommandCounter, count_commands
from tests.support import eventually
from tests.unit.notify.events import dispatched, submitted

__all__ = ["count_commands"]  # the fixture


async def test_the_receipt_and_the_dispatch_notice_cost_at_most_three_commands(
    run_service: Any, count_commands: CommandCounter, publish: Any, handled: Any
) -> None:
    async with run_service("notify", notify_poll_interval_s=3600) as (http, app):
        worker = app.state.container.worker
        await eventually(lambda: worker.loop.passes >= 1, what="the delivery worker's first (idle) pass")
        count_commands.reset()
        await publish(submitted("r-budget", "HY00000000B1"))
        await eventually(lambda: handled() >= 1, what="the receipt recorded")
        receipt = count_commands.total
        await publish(dispatched("r-budget", "HY00000000B1", seq=1))
        await eventually(lambda: handled() >= 2, what="the dispatch notice recorded")
        print(f"notify, receipt + dispatch notice: {count_commands.total} commands: {count_commands.summary()}")
        # request.submitted carries everything its receipt needs: one write, no read.
        assert receipt <= 1, count_commands.summary()
        # task.dispatched: read the request's document, write the notice with the new team (one write)
        assert count_commands.total <= 3, count_commands.summary()
        assert count_commands.writes <= 2, count_commands.summary()
        count_commands.reset()
        messages = (await http.get("/v1/inbox/HY00000000B1")).json()["messages"]
        assert [m["event_type"] for m in messages] == ["request.submitted", "task.dispatched"]
        assert count_commands.total <= 1, count_commands.summary()  # the inbox is one read
