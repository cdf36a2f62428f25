"""`huiying bench`: submit N requests concurrently, then measure how fast they travel.

Prints accepted requests/s (POST /v1/requests, N requests over C connections) and, per request, the
latency from submission to routing's dispatch, to the receipt in the inbox, and to the dispatch notice
in the inbox (p50/p99), using the timestamps the services record (no polling error).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

SERVICES = [
    "property_repair",
    "environment_order",
    "dispute_mediation",
    "legal_aid",
    "volunteer_service",
    "care_visit",
    "community_health",
    "convenience_service",
    "employment",
    "enquiry_complaint",
]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def body(i: int) -> dict[str, Any]:
    return {
        "service_code": SERVICES[i % len(SERVICES)],
        "description": f"bench request {i}: 楼道灯不亮，请尽快处理",
        "location": {"address": f"{1 + i % 12}号楼{1 + i % 4}单元{101 + i % 20}"},
        "resident": {
            "name": "测试居民",
            "phone": f"138{random.randint(10_000_000, 99_999_999)}",
            "language": "zh-CN" if i % 3 else "en",
        },
    }


async def submit_all(
    client: httpx.AsyncClient, url: str, key: str, n: int, c: int
) -> tuple[list[dict[str, Any]], float]:
    sem = asyncio.Semaphore(c)
    results: list[dict[str, Any]] = []
    failures = 0

    async def one(i: int) -> None:
        nonlocal failures
        async with sem:
            r = await client.post(f"{url}/v1/requests", json=body(i), headers={"X-API-Key": key})
            if r.status_code == 201:
                results.append(r.json())
            else:
                failures += 1

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    elapsed = time.perf_counter() - started
    if failures:
        print(f"  {failures} submissions failed")
    return results, elapsed


async def wait_all(
    client: httpx.AsyncClient, intake: str, notify: str, accepted: list[dict[str, Any]], timeout: float
) -> dict[str, dict[str, Any]]:
    done: dict[str, dict[str, Any]] = {}
    sem = asyncio.Semaphore(20)
    end = time.monotonic() + timeout

    async def check(item: dict[str, Any]) -> None:
        code = item["tracking_code"]
        async with sem:
            track = (await client.get(f"{intake}/v1/track/{code}")).json()
            dispatched = [e for e in track.get("timeline", []) if e["type"] == "task.dispatched"]
            if not dispatched:
                return
            r = await client.get(f"{notify}/v1/inbox/{code}")
            if r.status_code != 200:
                return
            messages = r.json()["messages"]
            kinds = {m["event_type"]: m for m in messages}
            if "request.submitted" in kinds and "task.dispatched" in kinds:
                done[code] = {
                    "submitted_at": item["submitted_at"],
                    "dispatched_at": dispatched[0]["at"],
                    "receipt_at": kinds["request.submitted"]["created_at"],
                    "notice_at": kinds["task.dispatched"]["created_at"],
                }

    while len(done) < len(accepted) and time.monotonic() < end:
        await asyncio.gather(*(check(i) for i in accepted if i["tracking_code"] not in done))
        if len(done) < len(accepted):
            await asyncio.sleep(0.5)
    return done


def ms(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds() * 1000


async def run(intake: str, notify: str, key: str, n: int, c: int, timeout: float) -> int:
    limits = httpx.Limits(max_connections=c + 20, max_keepalive_connections=c + 20)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        print(f"submitting {n} requests over {c} concurrent connections to {intake} ...")
        accepted, elapsed = await submit_all(client, intake, key, n, c)
        print(f"  accepted {len(accepted)}/{n} in {elapsed:.2f}s -> {len(accepted) / elapsed:.1f} requests/s")
        lat = [ms(a["submitted_at"], a["submitted_at"]) for a in accepted]  # warm the parser
        started = time.perf_counter()
        done = await wait_all(client, intake, notify, accepted, timeout)
        print(
            f"  {len(done)}/{len(accepted)} reached dispatch and both inbox messages "
            f"(drained {time.perf_counter() - started:.1f}s after the last submission)"
        )
        for label, field in (
            ("submit -> dispatched", "dispatched_at"),
            ("submit -> receipt in inbox", "receipt_at"),
            ("submit -> dispatch notice in inbox", "notice_at"),
        ):
            lat = [ms(d["submitted_at"], d[field]) for d in done.values()]
            print(
                f"  {label:<36} p50 {percentile(lat, 0.5):8.0f} ms   p99 {percentile(lat, 0.99):8.0f} ms"
                f"   max {max(lat) if lat else float('nan'):8.0f} ms"
            )
        if lat:
            print(f"  mean dispatch latency {statistics.mean(lat):.0f} ms")
        return 0 if len(done) == len(accepted) == n else 1


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(args: argparse.Namespace) -> int:
    if not args.spawn:
        return asyncio.run(
            run(args.intake_url, args.notify_url, args.api_key, args.requests, args.concurrency, args.timeout)
        )
    from huiying.stack import Stack
    from shared.settings import Settings

    tag = uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory(prefix="huiying-bench-") as tmp:
        env = dict(os.environ)
        env.update(
            {
                "HUIYING_MODE": "dev",
                "HUIYING_EVENTS_EXCHANGE": f"bench-{tag}.events",
                "HUIYING_WORK_EXCHANGE": f"bench-{tag}.work",
                "HUIYING_QUEUE_PREFIX": f"bench-{tag}.",
                "HUIYING_QUEUE_EXPIRES_MS": "600000",  # if the bench is killed, the broker cleans up
                "HUIYING_EMBEDDED_ENGINE": args.engine,
                "HUIYING_DATA_DIR": tmp,
                "HUIYING_LOG_LEVEL": "WARNING",
                **{f"HUIYING_{s.upper()}_PORT": str(free_port()) for s in ("intake", "routing", "notify")},
            }
        )
        for s in ("INTAKE", "ROUTING", "NOTIFY"):
            env.pop(f"HUIYING_{s}_MONGODB_URI", None)
        old = dict(os.environ)
        os.environ.update(env)
        try:
            settings = Settings()
        finally:
            os.environ.clear()
            os.environ.update(old)
        stack = Stack(settings, env=env, log_dir=Path(tmp) / "logs")
        print(f"starting a private stack ({args.engine} engine) ...")
        stack.start()
        try:
            return asyncio.run(
                run(
                    stack.url("intake"),
                    stack.url("notify"),
                    args.api_key,
                    args.requests,
                    args.concurrency,
                    args.timeout,
                )
            )
        finally:
            stack.stop()
            _cleanup_queues(settings)


def _cleanup_queues(settings: Any) -> None:
    """Delete the private stack's queues, exchanges and policies (as shared/topology.py declares them)."""
    from huiying.topology import delete_all, topology_of

    try:
        asyncio.run(delete_all(settings, topology_of(settings)))
    except Exception as exc:
        print(f"(could not delete the bench queues: {exc})")
