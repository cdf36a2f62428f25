"""What happened to every request, counted from the outside after the drain.

- a witness: a durable quorum queue bound to every event on the exchange (declared before the load, so it
  survives broker restarts and node losses), read at the end;
- the team work queues `work.<team>`, read at the end (as a team's system would);
- per accepted request, over HTTP: intake's status, notify's inbox and delivery log;
- queue depths and dead-letter queues from `rabbitmqctl list_queues`.

A duplicated side effect is one that a consumer deduplicating on `message_id`/`event_id` would still see
twice: two task.dispatched events with different ids for one request, two inbox messages of one kind,
two deliveries of one event to one channel, two work items (different message ids) for one dispatch.
Copies with the same message id (at-least-once redeliveries) are counted apart, as `redelivered`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import httpx

WITNESS = "chaos.witness"
EXPECTED_INBOX = ("request.submitted", "task.dispatched")


async def connect_any(amqp_url: str, timeout: float = 60) -> aio_pika.abc.AbstractConnection:
    """A connection to the first node of the comma-separated list that answers (retried up to `timeout`)."""
    end = time.monotonic() + timeout
    while True:
        for url in amqp_url.split(","):
            try:
                return await aio_pika.connect(url.strip(), timeout=5)
            except Exception:
                continue
        if time.monotonic() > end:
            raise RuntimeError("no RabbitMQ node answers")
        await asyncio.sleep(1)


async def declare_witness(amqp_url: str, exchange: str, queue: str) -> None:
    connection = await connect_any(amqp_url)
    async with connection:
        channel = await connection.channel()
        events = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        witness = await channel.declare_queue(queue, durable=True, arguments={"x-queue-type": "quorum"})
        await witness.bind(events, "#")


async def read_queue(amqp_url: str, queue: str, *, delete: bool = False) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Every message now in `queue`, taken off it (and the queue deleted, with `delete`)."""
    connection = await connect_any(amqp_url)
    got: list[aio_pika.abc.AbstractIncomingMessage] = []
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=500)
        q = await channel.declare_queue(queue, passive=True)
        while True:
            message = await q.get(no_ack=True, fail=False)
            if message is None:
                if delete:
                    await q.delete(if_unused=False, if_empty=False)
                return got
            got.append(message)


@dataclass
class Completion:
    """Per accepted request, what the outside sees over HTTP."""

    status: dict[str, str] = field(default_factory=dict)  # request_id -> intake status
    inbox: dict[str, Counter[str]] = field(default_factory=dict)  # request_id -> event_type counts
    deliveries: dict[str, Counter[tuple[str, str, str]]] = field(default_factory=dict)

    def complete(self, request_id: str) -> bool:
        inbox = self.inbox.get(request_id, Counter())
        return self.status.get(request_id) == "dispatched" and all(inbox[t] for t in EXPECTED_INBOX)


async def staff_token(client: httpx.AsyncClient, routing: str) -> str:
    r = await client.post(f"{routing}/v1/auth/login", json={"username": "supervisor", "password": "dev-password"})
    r.raise_for_status()
    return str(r.json()["access_token"])


async def check(
    client: httpx.AsyncClient,
    intake: str,
    notify: str,
    token: str,
    accepted: list[dict[str, Any]],
    done: Completion,
    *,
    with_deliveries: bool,
) -> None:
    sem = asyncio.Semaphore(16)

    async def one(item: dict[str, Any]) -> None:
        rid, code = item["id"], item["tracking_code"]
        async with sem:
            try:
                track = await client.get(f"{intake}/v1/track/{code}")
                if track.status_code == 200:
                    done.status[rid] = track.json().get("status", "")
                inbox = await client.get(f"{notify}/v1/inbox/{code}")
                if inbox.status_code == 200:
                    done.inbox[rid] = Counter(m["event_type"] for m in inbox.json()["messages"])
                if with_deliveries:
                    r = await client.get(
                        f"{notify}/v1/deliveries",
                        params={"request_id": rid},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    if r.status_code == 200:
                        done.deliveries[rid] = Counter(
                            (d["event_type"], d["channel"], d["recipient"]) for d in r.json()["deliveries"]
                        )
            except httpx.HTTPError:
                pass  # a service restarting: asked again on the next round

    await asyncio.gather(*(one(i) for i in accepted if with_deliveries or not done.complete(i["id"])))


async def wait_drained(
    intake: str,
    notify: str,
    routing: str,
    accepted: list[dict[str, Any]],
    busy_queues: Callable[[], int],
    idle_timeout_s: float,
    cap_s: float = 1800,
) -> tuple[Completion, float, bool]:
    """Poll until every accepted request is complete and no consumer queue holds a message; then one last
    full read (deliveries included). Gives up when nothing has progressed for `idle_timeout_s` (a slow
    machine drains slowly, a stuck message never does), or after `cap_s`. Returns the completion, the
    seconds it took, and whether it drained."""
    started = last_progress = time.monotonic()
    done = Completion()
    drained = False
    seen = -1
    async with httpx.AsyncClient(timeout=10) as client:
        while time.monotonic() - last_progress < idle_timeout_s and time.monotonic() - started < cap_s:
            await check(client, intake, notify, "", accepted, done, with_deliveries=False)
            complete = sum(done.complete(i["id"]) for i in accepted)
            if complete > seen:
                seen, last_progress = complete, time.monotonic()
            if complete == len(accepted) and await asyncio.to_thread(busy_queues) == 0:
                drained = True
                break
            await asyncio.sleep(1.0)
        seconds = time.monotonic() - started
        token = await staff_token(client, routing)
        await check(client, intake, notify, token, accepted, done, with_deliveries=True)
    return done, seconds, drained


@dataclass
class Tally:
    accepted: int = 0
    lost: int = 0
    duplicated: int = 0
    unexpected: int = 0
    redelivered: int = 0
    details: dict[str, Any] = field(default_factory=dict)


def tally(
    accepted: list[dict[str, Any]],
    done: Completion,
    witness: list[aio_pika.abc.AbstractIncomingMessage],
    work_items: list[aio_pika.abc.AbstractIncomingMessage],
    tag: str = "",
) -> Tally:
    """`tag`: this run's marker in the descriptions; late at-least-once copies belonging to an earlier run on
    the same stack (same message id, after that run's drain) are not this run's and are left out."""
    ids = {i["id"] for i in accepted}
    marker = f"chaos {tag} #"

    def ours(body: bytes, rid: str) -> bool:
        if rid in ids:
            return True
        try:
            doc = json.loads(body)
        except ValueError:
            return False
        return marker in str(doc.get("description") or (doc.get("data") or {}).get("description") or "")

    t = Tally(accepted=len(accepted))
    # Events: distinct event ids per (request, type); copies of one id are redeliveries.
    events: dict[tuple[str, str], set[str]] = defaultdict(set)
    copies = Counter[str]()
    for m in witness:
        if m.correlation_id and not ours(m.body, m.correlation_id):
            continue
        events[(m.correlation_id or "", m.type or "")].add(m.message_id or "")
        copies[m.message_id or ""] += 1
    work: dict[str, set[str]] = defaultdict(set)
    for m in work_items:
        try:
            rid = json.loads(m.body)["request_id"]
        except (ValueError, KeyError):
            rid = ""
        if not ours(m.body, rid):
            continue
        work[rid].add(m.message_id or "")
        copies[m.message_id or ""] += 1
    t.redelivered = sum(n - 1 for n in copies.values())

    dup = Counter[str]()
    for (rid, kind), seen in events.items():
        if kind in ("request.submitted", "task.dispatched") and rid in ids:
            dup[f"event {kind}"] += len(seen) - 1
    for items in work.values():
        dup["work item"] += max(0, len(items) - 1)
    for kinds in done.inbox.values():
        dup["inbox message"] += sum(n - 1 for n in kinds.values() if n > 1)
    for sent in done.deliveries.values():
        dup["delivery"] += sum(n - 1 for n in sent.values() if n > 1)
    t.duplicated = sum(dup.values())

    missing = Counter[str]()
    lost = []
    for rid in ids:
        gaps = []
        if done.status.get(rid) != "dispatched":
            gaps.append(f"intake status {done.status.get(rid)!r}")
        gaps += [f"inbox {k}" for k in EXPECTED_INBOX if not done.inbox.get(rid, Counter())[k]]
        if not work.get(rid):
            gaps.append("work item")
        if gaps:
            lost.append({"request_id": rid, "missing": gaps})
            missing.update(g.split(" '")[0] for g in gaps)
    t.lost = len(lost)

    # Events for requests nobody saw accepted (poison messages carry no request id and are not counted).
    stray = {rid for (rid, kind) in events if kind == "request.submitted" and rid and rid not in ids}
    stray |= {rid for rid in work if rid not in ids}
    t.unexpected = len(stray)
    t.details = {
        "duplicated": {k: v for k, v in dup.items() if v},
        "lost": lost[:20],
        "missing": dict(missing),
        "unexpected_request_ids": sorted(stray)[:20],
    }
    return t
