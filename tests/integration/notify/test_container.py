"""The app holds one thing of its own, the container bootstrap.py built; /readyz asks it."""

from __future__ import annotations

from typing import Any

from services.notify.bootstrap import Container
from tests.integration.notify.conftest import FAST
from tests.support import eventually


async def test_the_app_is_ready_through_its_container_and_parks_nothing_else(run_service: Any) -> None:
    async with run_service("notify", **FAST) as (notify, app):
        r = await notify.get("/readyz")
        assert r.status_code == 200, r.text
        assert r.json() == {"status": "ready", "checks": {"database": True, "broker": True}}
        assert isinstance(app.state.container, Container)
        assert set(app.state._state) == {"settings", "clock", "container"}
        worker = app.state.container.worker
        await eventually(lambda: worker.loop.passes >= 1, timeout=10, what="the delivery worker's first pass")
        assert not worker.loop.stopping
    assert worker.loop.stopping  # closed with the lifespan: the worker first
