"""`huiying bench --spawn --soak N`: the CPU per request as the stored requests grow (issue 10's soak).

At each checkpoint (1k, 10k, ..., N stored requests) the soak measures `MEASURED` real journeys through the
running stack: submitted over HTTP to intake, routed, told to the resident, exactly as `huiying bench` does;
the CPU of the six processes (psutil) from the first submission until every service handled its events and
the writes stopped, divided by the requests. Only those journeys are measured.

Between checkpoints the stores are filled. `--soak-fill clone` (the default) copies the documents that real
journeys wrote: after the first real batch, the soak reads each journey's documents back from the three
databases (intake's request, routing's task, notify's request document, each as its service's write paths
left it: outbox settled, status view applied, messages delivered) and inserts copies in batches of
`FILL_BATCH` (`insert_many`), each copy with new ids (every UUID in it), a new tracking code (wherever it
appears, e.g. in a message's text) and its times moved back by `HISTORY_SPACING` per copy: the copies are the
community's history, one request every half hour (48 a day, about 17,500 a year: 50,000 stored are nearly three
years), spread over time as real records are, so a query bounded by a date window (the 并单 look-up's 90 days)
meets the window's requests, not all of them. A copy is the history of a finished request: routing's task is
closed (`closed_at` a day after its submission, no SLA check pending), intake's status view says so, notify has
nothing left to send. The services' indexes take every copy as they take a request the services wrote; a
50,000-request fill takes minutes instead of the half hour of 50,000 journeys. `--soak-fill journeys` fills
with real journeys instead (batches of 500 over HTTP, the pipeline drained after each), to check that the
copies do not flatter the figures.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx

Document = dict[str, Any]
Submit = Callable[..., Awaitable[tuple[list[dict[str, Any]], float]]]

MEASURED = 200  # real journeys measured at each checkpoint
CONCURRENCY = 10  # submissions in flight: a steady trickle the pipeline keeps up with on two cores
FILL_BATCH = 500
HISTORY_SPACING = timedelta(minutes=30)  # one stored request every half hour, going back in time
INSERT_SLICE = 100
# The documents one request leaves in each service's database (service -> collection).
REQUEST_COLLECTIONS = {"intake": "requests", "routing": "tasks", "notify": "requests"}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def copy_journey(
    documents: dict[str, Document], tracking_code: str, new_code: str, shift: timedelta
) -> dict[str, Document]:
    """One request's documents (service -> document) as another request: every UUID replaced by a new one
    (the same new one wherever the old one appears, in every service), the tracking code by `new_code`, every
    time moved back by `shift`."""
    ids: dict[str, str] = {}

    def new_id(match: re.Match[str]) -> str:
        return ids.setdefault(match.group(0), str(uuid.uuid4()))

    def rewrite(value: Any) -> Any:
        if isinstance(value, str):
            if tracking_code in value:
                value = value.replace(tracking_code, new_code)
            return _UUID.sub(new_id, value) if "-" in value else value
        if isinstance(value, datetime):
            return value - shift
        if isinstance(value, dict):
            return {k: rewrite(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rewrite(v) for v in value]
        return value

    return {service: rewrite(doc) for service, doc in documents.items()}


def as_history(documents: dict[str, Document]) -> dict[str, Document]:
    """A copied journey as a finished request of the past: closed in routing (no SLA check pending, no call-back
    open), closed in intake's status view, nothing due in notify. Only the fields the services' loops select on
    change; the rest stays as the journey left it."""
    task = documents.get("routing")
    if task is not None:
        closed = task["submitted_at"] + timedelta(days=1)
        task.update(status="closed", closed_at=closed, updated_at=closed)
        for field in ("next_check_at", "followup_team", "outbox_due"):
            task.pop(field, None)
    request = documents.get("intake")
    if request is not None:
        request["status"] = "closed"
        request.pop("outbox_due", None)
    message = documents.get("notify")
    if message is not None:
        message.pop("due_at", None)
    return documents


class CloneFill:
    """Fills the three databases with copies of real journeys' documents (see the module's docstring)."""

    def __init__(self, uris: dict[str, str], databases: dict[str, str], new_code: Callable[[], str]) -> None:
        from pymongo import AsyncMongoClient

        self.clients: dict[str, AsyncMongoClient[Document]] = {
            s: AsyncMongoClient(uris[s]) for s in REQUEST_COLLECTIONS
        }
        self.collections = {s: self.clients[s][databases[s]][c] for s, c in REQUEST_COLLECTIONS.items()}
        self.templates: list[tuple[str, dict[str, Document]]] = []
        self.new_code = new_code
        self.copies = 0

    async def learn(self, request_ids: list[str]) -> int:
        """Take these finished journeys as templates; returns how many were complete in all three services."""
        found: dict[str, dict[str, Document]] = {}
        for service, collection in self.collections.items():
            async for doc in collection.find({"_id": {"$in": request_ids}}):
                found.setdefault(doc["_id"], {})[service] = doc
        for docs in found.values():
            if len(docs) == len(self.collections):
                self.templates.append((docs["intake"]["tracking_code"], docs))
        return len(self.templates)

    async def fill(self, n: int) -> None:
        if not self.templates:
            raise RuntimeError("no finished journey to copy: the first batch of real requests did not complete")
        done = 0
        while done < n:
            batch: dict[str, list[Document]] = {s: [] for s in self.collections}
            for _ in range(min(FILL_BATCH, n - done)):
                code, docs = self.templates[self.copies % len(self.templates)]
                self.copies += 1
                copied = as_history(copy_journey(docs, code, self.new_code(), HISTORY_SPACING * self.copies))
                for service, doc in copied.items():
                    batch[service].append(doc)
            # The three servers take their copies at the same time (one process each).
            await asyncio.gather(*(self._insert(s, docs) for s, docs in batch.items()))
            done += len(batch["intake"])

    async def _insert(self, service: str, docs: list[Document]) -> None:
        """In slices of `INSERT_SLICE`: a server busy with a long insert answers no heartbeat, and the driver then
        drops the connection and cancels the insert; a slice that failed so is sent again (copies it already
        stored are refused as duplicates and skipped)."""
        from pymongo.errors import BulkWriteError, PyMongoError

        for start in range(0, len(docs), INSERT_SLICE):
            part = docs[start : start + INSERT_SLICE]
            for attempt in range(5):
                try:
                    await self.collections[service].insert_many(part, ordered=False)
                    break
                except BulkWriteError as exc:
                    if all(e.get("code") == 11000 for e in exc.details.get("writeErrors", [])):
                        break
                    raise
                except PyMongoError:
                    if attempt == 4:
                        raise
                    await asyncio.sleep(2)

    async def close(self) -> None:
        from pymongo.errors import PyMongoError

        for client in self.clients.values():
            try:
                await client.close()
            except PyMongoError:
                pass  # the figures are taken; a client that cannot close cleanly must not lose them


async def soak(
    urls: dict[str, str],
    key: str,
    total: int,
    c: int,
    pids: dict[str, int],
    *,
    submit_all: Submit,
    journey: dict[str, int],
    fill: str = "clone",
    uris: dict[str, str] | None = None,
    databases: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Fill up to each checkpoint, then measure `MEASURED` real journeys there; one row per checkpoint.
    `submit_all` and `journey` are huiying/bench.py's (how a batch is submitted, events per service per request)."""
    from huiying.bench_measure import checkpoints, cpu_seconds, events_handled, per_request, wait_until_quiet
    from shared.tracking import new_tracking_code

    rows: list[dict[str, Any]] = []
    stored = journeys = 0
    cloner = CloneFill(uris or {}, databases or {}, new_tracking_code) if fill == "clone" else None
    async with httpx.AsyncClient(timeout=120) as client:
        handled0 = await events_handled(client, urls)

        async def settle() -> None:
            wanted = {s: handled0.get(s, 0) + k * journeys for s, k in journey.items()}
            await wait_until_quiet(client, urls, wanted, 900)

        async def real(n: int) -> list[dict[str, Any]]:
            """`n` journeys; a submission refused under load (intake's admission control answers 503) is sent
            again, so each measured batch holds `n` journeys."""
            nonlocal stored, journeys
            accepted: list[dict[str, Any]] = []
            for _ in range(20):
                if len(accepted) >= n:
                    break
                more, _ = await submit_all(
                    client, urls["intake"], key, n - len(accepted), min(c, CONCURRENCY), first=stored
                )
                accepted += more
                stored += len(more)
                journeys += len(more)
            await settle()  # the fill never outruns the pipeline
            return accepted

        try:
            points = checkpoints(total)
            for point in points:
                measured = min(MEASURED, point)
                started = time.perf_counter()
                while stored < point - measured:
                    if cloner is None or not cloner.templates:
                        # The first batch is real in either mode: the templates, and the processes warmed up.
                        accepted = await real(
                            min(FILL_BATCH if cloner is None else MEASURED, point - measured - stored)
                        )
                        if cloner is not None:
                            await cloner.learn([a["id"] for a in accepted])
                    else:
                        n = point - measured - stored
                        await cloner.fill(n)
                        stored += n
                if stored:
                    print(f"  filled to {stored} in {time.perf_counter() - started:.0f}s", flush=True)
                cpu0 = cpu_seconds(pids)
                accepted = await real(measured)
                cpu = per_request(cpu0, cpu_seconds(pids), len(accepted), scale=1000)
                row = {"stored": stored, "cpu_ms_per_request": round(sum(cpu.values()), 1), "by_process": cpu}
                rows.append(row)
                print(f"  {stored:>8} stored: {row['cpu_ms_per_request']:.1f} ms CPU per request  {cpu}", flush=True)
                if cloner is not None and point != points[-1]:
                    await cloner.learn([a["id"] for a in accepted])
        finally:
            if cloner is not None:
                await cloner.close()
    if len(rows) > 1:
        ratio = rows[-1]["cpu_ms_per_request"] / max(rows[0]["cpu_ms_per_request"], 1e-9)
        print(f"  CPU per request at {rows[-1]['stored']} / at {rows[0]['stored']}: {ratio:.2f}x")
    return rows
