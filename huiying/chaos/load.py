"""Steady load: N requests at R per second, each sent the way a careful client sends it.

Every request carries an `Idempotency-Key`; a connection error, a timeout, a 429 or a 5xx is retried (on
the next intake replica, as a load balancer would) with the same key, after intake's Retry-After or a
growing back-off, until intake answers for sure. A request counts as accepted once intake answered 201 (or
200, the replay of an accepted one). A timeout can leave a request stored that the client never heard
about: the next try with the same key answers 200 with it, so it is accepted like any other. Only a
request still unanswered when its budget (ten minutes) runs out counts as not accepted, and anything
stored for it anyway shows up as "unexpected" in the audit.

At a rate the stack cannot keep (a loaded machine), intake refuses what it cannot store at once (503 with
Retry-After) and the client keeps trying: the load then takes longer than N / rate, and `load_s` says so.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from huiying.bench import SERVICES

API_KEY = "dev-web-key"
# Requests on the wire at once. The rest wait their turn here: httpx's connection pool, given hundreds of
# waiting requests (a stack that falls behind the rate), spends the client's CPU sorting them out and
# starves the load it is meant to send (its time-outs then leave requests stored but never answered).
IN_FLIGHT = 64


@dataclass
class LoadResult:
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)  # idempotency key -> intake's answer
    refused: dict[str, str] = field(default_factory=dict)  # key -> last problem (never accepted)
    server_errors: int = 0  # 5xx answers seen, retried or not
    retries: int = 0
    started: float = 0.0
    finished: float = 0.0

    @property
    def seconds(self) -> float:
        return self.finished - self.started


def request_body(run: str, i: int) -> dict[str, Any]:
    return {
        "service_code": SERVICES[i % len(SERVICES)],
        "description": f"chaos {run} #{i}: 楼道灯不亮，请尽快处理",
        "location": {"address": f"{1 + i % 12}号楼{1 + i % 4}单元{101 + i % 20}"},
        "resident": {"name": "测试居民", "phone": f"138{i % 100_000_000:08d}", "language": "zh-CN" if i % 3 else "en"},
    }


async def send_one(
    client: httpx.AsyncClient,
    in_flight: asyncio.Semaphore,
    intakes: list[str],
    run: str,
    i: int,
    result: LoadResult,
    budget_s: float,
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
            async with in_flight:
                r = await client.post(
                    f"{url}/v1/requests", json=body, headers={"X-API-Key": API_KEY, "Idempotency-Key": key}
                )
        except httpx.HTTPError as exc:
            problem, wait = f"{type(exc).__name__}", 0.0
        else:
            if r.status_code in (200, 201):
                result.accepted[key] = r.json()
                return
            if r.status_code >= 500:
                result.server_errors += 1
            elif r.status_code != 429:
                result.refused[key] = f"HTTP {r.status_code}: {r.text[:200]}"
                return
            problem, wait = f"HTTP {r.status_code}", retry_after(r)
        result.retries += 1
        # Intake's Retry-After, or a back-off growing to 5 s; jittered, so the retries of a burst spread out.
        await asyncio.sleep(max(wait, min(5.0, 0.25 * 2 ** min(attempt, 5))) * random.uniform(0.75, 1.25))
    result.refused[key] = problem


def retry_after(r: httpx.Response) -> float:
    try:
        return min(30.0, float(r.headers.get("Retry-After", 0)))
    except ValueError:
        return 0.0


async def steady_load(
    intakes: list[str],
    run: str,
    n: int,
    rate: float,
    *,
    at_midpoint: Any = None,
    budget_s: float = 600.0,
) -> tuple[LoadResult, Any]:
    """Send request i at start + i/rate; call `at_midpoint()` (a coroutine function) once half are sent.
    Returns the load's result and what `at_midpoint` returned."""
    result = LoadResult(started=time.monotonic())
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    in_flight = asyncio.Semaphore(IN_FLIGHT)
    fault: asyncio.Task[Any] | None = None
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        tasks: list[asyncio.Task[None]] = []
        for i in range(n):
            due = result.started + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if i == n // 2 and at_midpoint is not None:
                fault = asyncio.create_task(at_midpoint())
            tasks.append(asyncio.create_task(send_one(client, in_flight, intakes, run, i, result, budget_s)))
        await asyncio.gather(*tasks)
        injected = await fault if fault is not None else None
    result.finished = time.monotonic()
    return result, injected
