"""Steady load: N requests at R per second, each sent the way a careful client sends it.

Every request carries an `Idempotency-Key`; a connection error, a timeout or a 5xx is retried (on the next
intake replica, as a load balancer would) with the same key until the request is accepted or its retry
budget runs out. A request counts as accepted once intake answered 201 (or 200, the replay of an accepted
one); a request it never answered for sure counts as not accepted, and anything stored for it anyway shows
up as "unexpected" in the audit.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from huiying.bench import SERVICES

API_KEY = "dev-web-key"


@dataclass
class LoadResult:
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)  # idempotency key -> intake's answer
    refused: dict[str, str] = field(default_factory=dict)  # key -> last problem (never accepted)
    server_errors: int = 0  # 5xx answers seen, retried or not
    retries: int = 0
    started: float = 0.0
    finished: float = 0.0


def request_body(run: str, i: int) -> dict[str, Any]:
    return {
        "service_code": SERVICES[i % len(SERVICES)],
        "description": f"chaos {run} #{i}: 楼道灯不亮，请尽快处理",
        "location": {"address": f"{1 + i % 12}号楼{1 + i % 4}单元{101 + i % 20}"},
        "resident": {"name": "测试居民", "phone": f"138{i % 100_000_000:08d}", "language": "zh-CN" if i % 3 else "en"},
    }


async def send_one(
    client: httpx.AsyncClient, intakes: list[str], run: str, i: int, result: LoadResult, budget_s: float
) -> None:
    key = f"chaos-{run}-{i}"
    body = request_body(run, i)
    end = time.monotonic() + budget_s
    attempt = 0
    problem = "not sent"
    while time.monotonic() < end:
        url = intakes[(i + attempt) % len(intakes)]
        attempt += 1
        try:
            r = await client.post(
                f"{url}/v1/requests", json=body, headers={"X-API-Key": API_KEY, "Idempotency-Key": key}
            )
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}"
        else:
            if r.status_code in (200, 201):
                result.accepted[key] = r.json()
                return
            if r.status_code >= 500:
                result.server_errors += 1
                problem = f"HTTP {r.status_code}"
            elif r.status_code == 429:
                problem = "HTTP 429"
            else:
                result.refused[key] = f"HTTP {r.status_code}: {r.text[:200]}"
                return
        result.retries += 1
        await asyncio.sleep(min(2.0, 0.2 * attempt))
    result.refused[key] = problem


async def steady_load(
    intakes: list[str],
    run: str,
    n: int,
    rate: float,
    *,
    at_midpoint: Any = None,
    budget_s: float = 90.0,
) -> tuple[LoadResult, Any]:
    """Send request i at start + i/rate; call `at_midpoint()` (a coroutine function) once half are sent.
    Returns the load's result and what `at_midpoint` returned."""
    result = LoadResult(started=time.monotonic())
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    fault: asyncio.Task[Any] | None = None
    async with httpx.AsyncClient(timeout=15, limits=limits) as client:
        tasks: list[asyncio.Task[None]] = []
        for i in range(n):
            due = result.started + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if i == n // 2 and at_midpoint is not None:
                fault = asyncio.create_task(at_midpoint())
            tasks.append(asyncio.create_task(send_one(client, intakes, run, i, result, budget_s)))
        await asyncio.gather(*tasks)
        injected = await fault if fault is not None else None
    result.finished = time.monotonic()
    return result, injected
