"""What `huiying bench` measures besides latency: database commands per service (each service's /metrics),
CPU per process (psutil on the spawned processes), and the ceiling of the embedded engine measured in the same
run (mongoeco single inserts and updates per second, in this process, with the launcher's corrections)."""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psutil

SERVICES = ("intake", "routing", "notify")


WRITES = ('command="insert"', 'command="update"', 'command="delete"', 'command="findAndModify"')


async def metric_sums(
    client: httpx.AsyncClient, urls: dict[str, str], metric: str, labels: tuple[str, ...] = ()
) -> dict[str, float]:
    """A counter summed per service from each service's /metrics; with `labels`, only the series that carry
    one of them (e.g. 'command="insert"')."""
    totals: dict[str, float] = {}
    for service, url in urls.items():
        text = (await client.get(f"{url}/metrics")).text
        totals[service] = sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(metric + "{") and (not labels or any(label in line for label in labels))
        )
    return totals


async def db_commands(client: httpx.AsyncClient, urls: dict[str, str], *, writes: bool = False) -> dict[str, float]:
    """Database commands per service (only the writing commands with `writes`)."""
    return await metric_sums(client, urls, "huiying_db_commands_total", WRITES if writes else ())


async def db_commands_by_name(client: httpx.AsyncClient, urls: dict[str, str]) -> dict[str, dict[str, float]]:
    """Database commands per service and command name (`huiying_db_commands_total{service,command}`)."""
    out: dict[str, dict[str, float]] = {}
    for service, url in urls.items():
        text = (await client.get(f"{url}/metrics")).text
        counts = out.setdefault(service, {})
        for line in text.splitlines():
            if line.startswith("huiying_db_commands_total{") and 'command="' in line:
                name = line.split('command="', 1)[1].split('"', 1)[0]
                counts[name] = counts.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return out


def per_request_by_name(
    before: dict[str, dict[str, float]], after: dict[str, dict[str, float]], n: int
) -> dict[str, dict[str, float]]:
    """Commands per request by service and command name; names that did not move are left out."""
    out: dict[str, dict[str, float]] = {}
    for service, counts in after.items():
        moved = per_request(before.get(service, {}), counts, n)
        out[service] = {name: v for name, v in sorted(moved.items()) if v}
    return out


async def events_handled(client: httpx.AsyncClient, urls: dict[str, str]) -> dict[str, float]:
    """Events each service took off its queues and finished with (outcome ok or ignored)."""
    return await metric_sums(client, urls, "huiying_events_handled_total", ('outcome="ok"', 'outcome="ignored"'))


async def wait_until_quiet(
    client: httpx.AsyncClient, urls: dict[str, str], wanted: dict[str, float], timeout: float
) -> None:
    """Until every service handled the events the journey causes (`wanted`, counted from the start) and the
    database writes stopped moving for 2 s (background settles and the delivery worker done; periodic reads
    of the background loops go on), so the command and CPU figures are taken before the bench's own reads."""
    end = time.monotonic() + timeout
    seen: dict[str, float] = {}
    moved_at = time.monotonic()
    while time.monotonic() < end:
        handled = await events_handled(client, urls)
        if all(handled.get(s, 0) >= n for s, n in wanted.items()):
            break
        if handled != seen:
            seen, moved_at = handled, time.monotonic()
        elif time.monotonic() - moved_at > 60:
            break  # nothing handled for a minute (events dead-lettered?): measure what there is
        await asyncio.sleep(0.5)
    last: dict[str, float] = {}
    quiet_end = min(end, time.monotonic() + 30)
    while time.monotonic() < quiet_end:
        now = await db_commands(client, urls, writes=True)
        if now == last:
            return
        last = now
        await asyncio.sleep(2)


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User + system CPU seconds of each named process so far."""
    out: dict[str, float] = {}
    for name, pid in pids.items():
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        out[name] = times.user + times.system
    return out


def rss_mb(pids: dict[str, int]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, pid in pids.items():
        try:
            out[name] = psutil.Process(pid).memory_info().rss / 1e6
        except psutil.Error:
            continue
    return out


def per_request(before: dict[str, float], after: dict[str, float], n: int, scale: float = 1.0) -> dict[str, float]:
    return {k: round((after[k] - before.get(k, 0.0)) * scale / max(n, 1), 2) for k in after}


async def _ceiling(engine_name: str, n: int) -> dict[str, float]:
    from mongoeco import AsyncMongoClient
    from mongoeco.engines.memory import MemoryEngine
    from mongoeco.engines.sqlite import SQLiteEngine

    from huiying.mongoeco_patch import apply

    apply()
    with tempfile.TemporaryDirectory(prefix="huiying-ceiling-") as tmp:
        engine = (
            SQLiteEngine(str(Path(tmp) / "c.db"), executor_workers=1) if engine_name == "sqlite" else MemoryEngine()
        )
        async with AsyncMongoClient(engine) as client:
            coll = client["ceiling"]["docs"]
            ids = [str(uuid.uuid4()) for _ in range(n)]
            started = time.perf_counter()
            for i in ids:
                await coll.insert_one({"_id": i, "status": "submitted", "outbox": [{"event_id": i}]})
            inserts = n / (time.perf_counter() - started)
            started = time.perf_counter()
            for i in ids:
                await coll.update_one({"_id": i, "status": "submitted"}, {"$set": {"status": "dispatched"}})
            updates = n / (time.perf_counter() - started)
    return {"inserts_per_s": round(inserts, 1), "updates_per_s": round(updates, 1)}


def engine_ceiling(engine_name: str, n: int = 300) -> dict[str, float]:
    """Single inserts and guarded updates per second on the same embedded engine, measured now."""
    return asyncio.run(_ceiling(engine_name, n))


def checkpoints(total: int) -> list[int]:
    """1k, 10k, 100k, ... up to `total`, and `total` itself."""
    points, p = [], 1000
    while p < total:
        points.append(p)
        p *= 10
    return [*points, total]


def summary_line(result: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in result.items())
