"""intake's data path on fakes: admission control refuses at once, channel keys come from memory."""

from __future__ import annotations

import pytest

from services.intake.admission import Admission
from services.intake.domain.channels import CreateChannel
from services.intake.service import Busy, Overloaded
from tests.unit.intake.test_service import Desk, command


async def test_admission_refuses_at_once_past_the_in_flight_bound_and_stores_nothing() -> None:
    desk = Desk()
    desk.service.admission = Admission(max_inflight=2, slow_s=1.0, recent_latency_s=lambda: 0.0)
    desk.service.admission.inflight = 2
    with pytest.raises(Overloaded, match="busy") as refused:
        await desk.service.submit(command())
    assert isinstance(refused.value, Busy)  # every door answers Busy with 503 and Retry-After
    assert desk.store.requests == {} and desk.publisher.published == []
    desk.service.admission.inflight = 1
    await desk.service.submit(command())
    assert len(desk.store.requests) == 1 and desk.service.admission.inflight == 1  # the slot was given back


async def test_admission_refuses_while_the_database_is_slow() -> None:
    latency = [3.0]
    desk = Desk()
    desk.service.admission = Admission(max_inflight=64, slow_s=2.0, recent_latency_s=lambda: latency[0])
    with pytest.raises(Overloaded, match="slow"):
        await desk.service.submit(command())
    latency[0] = 0.01
    await desk.service.submit(command())
    assert len(desk.store.requests) == 1


async def test_a_key_disabled_elsewhere_works_until_the_next_refresh() -> None:
    desk = Desk()
    _, key = await desk.service.create_channel(CreateChannel("hotline", "12345 热线", "hotline"), "root")
    assert await desk.service.channel_for_key(key) is not None
    desk.store.channels["hotline"]["active"] = False  # another replica disabled it
    assert await desk.service.channel_for_key(key) is not None  # served from memory: bounded staleness
    await desk.service.refresh_keys()  # the periodic refresh (HUIYING_CHANNEL_CACHE_S)
    assert await desk.service.channel_for_key(key) is None
