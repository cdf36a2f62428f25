"""notify's front door: body size and requests per address, and tracking-code guessing on the inbox."""

from __future__ import annotations

from typing import Any

from tests.integration.notify.conftest import FAST
from tests.support import eventually
from tests.unit.notify.events import submitted


async def test_inbox_guessing_is_limited_per_address(run_service: Any, publish: Any) -> None:
    async with run_service("notify", rate_limit_window_s=3600, notify_inbox_misses_per_address=3, **FAST) as (
        notify,
        _,
    ):
        await publish(submitted("r1", "HY0000000001"))

        async def found() -> bool:
            return (await notify.get("/v1/inbox/HY0000000001")).status_code == 200  # found: not a miss

        await eventually(found, what="the inbox")
        guesses = [
            (await notify.get(f"/v1/inbox/HY000000010{n}", headers={"X-Forwarded-For": f"203.0.113.{n}"})).status_code
            for n in range(3)
        ]
        assert guesses == [404, 404, 404]
        r = await notify.get("/v1/inbox/HY0000000109")
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        # Over the limit even a real code waits: a lucky guess looks the same.
        assert (await notify.get("/v1/inbox/HY0000000001")).status_code == 429


async def test_notify_limits_body_size_and_request_rate(run_service: Any) -> None:
    async with run_service(
        "notify", rate_limit_window_s=3600, max_body_bytes=2048, rate_limit_per_address=5, **FAST
    ) as (notify, _):
        big = await notify.request("GET", "/v1/inbox/HY0000000001", content=b"x" * 4096)
        assert big.status_code == 413
        answers = [(await notify.get("/v1/inbox/HY0000000001?allow_empty=true")).status_code for _ in range(5)]
        assert answers[-1] == 429 and answers.count(429) == 1  # the refused body counted as the first
        assert (await notify.get("/healthz")).status_code == 200
