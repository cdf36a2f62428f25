"""Benchmark of notify's delivery path, printing figures (no broker needed).

    .venv/bin/python -m services.notify.bench -n 500 --replicas 2 --concurrency 4

1. Planning: how many events per second the pure planning step renders into inbox + delivery records.
2. Sending: N pending SMS deliveries in an embedded MongoDB (mongoeco, memory engine, the same server
   the tests use) sent by R delivery workers (as R replicas would, each with C sends in flight) to a
   local HTTP SMS gateway; prints deliveries/s, claim-to-accepted latency p50/p99, and checks that every
   delivery reached the gateway exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import uvicorn
from pymongo import AsyncMongoClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from huiying.procs import read_ready_line, stop
from services.notify.bootstrap import build_senders
from services.notify.config import NotifySettings, load_config
from services.notify.domain.deliveries import RetryPolicy
from services.notify.domain.messages import Links
from services.notify.domain.planning import Policy, plan_for_resident, recipient_from
from services.notify.store import MongoNotifyStore
from services.notify.worker import DeliveryWorker
from shared.events import RequestSubmitted, new_event
from shared.logs import configure_logging

DAYTIME = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # outside the quiet hours


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def submitted(i: int) -> Any:
    data = RequestSubmitted(
        request_id=f"bench-{i}",
        tracking_code=f"HY{i:010d}",
        service_code="legal_aid",
        service_name={"zh-CN": "法律援助咨询", "en": "Legal aid consultation"},
        description="bench",
        location={"address": "1号楼"},  # type: ignore[arg-type]
        resident={"name": "x", "phone": "13800138000", "language": "zh-CN", "preferred_channel": "sms"},  # type: ignore[arg-type]
        channel="web",
        submitted_at=DAYTIME,
    )
    return new_event(data, producer="intake", seq=1, occurred_at=DAYTIME)


def bench_planning(n: int) -> tuple[float, list[dict[str, Any]]]:
    templates = load_config(NotifySettings()).templates
    policy = Policy(links=Links("http://portal", "http://console"), enabled=frozenset({"inbox", "sms"}))
    events = [submitted(i) for i in range(n)]
    started = time.perf_counter()
    deliveries: list[dict[str, Any]] = []
    for e in events:
        plan = plan_for_resident(e, e.payload(), recipient_from(e, e.payload()), templates, policy, DAYTIME)
        deliveries += [d for d in plan.deliveries if d["channel"] == "sms"]
    return n / (time.perf_counter() - started), deliveries


async def bench_sending(uri: str, deliveries: list[dict[str, Any]], replicas: int, concurrency: int) -> None:
    received: dict[str, int] = {}
    accepted_at: dict[str, float] = {}

    async def sms(request: Request) -> JSONResponse:
        body = await request.json()
        received[body["id"]] = received.get(body["id"], 0) + 1
        accepted_at.setdefault(body["id"], time.perf_counter())
        return JSONResponse({"message_id": body["id"]})

    with socket.socket() as probe:  # a free port, never the services' defaults
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Route("/sms", sms, methods=["POST"])]), port=port, log_level="warning", log_config=None
        )
    )
    serving = asyncio.create_task(server.serve())
    try:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
        store = MongoNotifyStore(client[f"bench_{uuid.uuid4().hex[:8]}"])
        await store.ensure_indexes()
        # One request document per delivery, as the service writes them (services/notify/domain/record.py).
        await store.requests.insert_many(
            [
                {"_id": d["request_id"], "tracking_code": d["tracking_code"], "events": [d["event_id"]],
                 "messages": [], "deliveries": [d], "version": 1, "due_at": d["next_attempt_at"]}
                for d in deliveries
            ]
        )  # fmt: skip
        for _ in range(200):  # up to 10 s for the gateway to listen
            if server.started:
                break
            await asyncio.sleep(0.05)
        workers = []
        for r in range(replicas):
            gateway = NotifySettings(notify_sms_url=f"http://127.0.0.1:{port}/sms")
            senders = build_senders(gateway, load_config(gateway), lambda: DAYTIME)
            worker = DeliveryWorker(
                store,
                senders,
                lambda: DAYTIME,
                owner=f"replica-{r}",
                policy=RetryPolicy(),
                quiet=None,
                tz="Asia/Shanghai",
                lease_s=60,
                poll_interval_s=0.2,
                concurrency=concurrency,
            )
            workers.append((worker, senders))
        started = time.perf_counter()
        for worker, _ in workers:
            worker.start()
        deadline = started + 600
        while await store.requests.count_documents({"deliveries.status": "sent"}) < len(deliveries):
            if time.perf_counter() > deadline:
                raise SystemExit("bench: not every delivery was sent within 600 s")
            await asyncio.sleep(0.2)
        elapsed = time.perf_counter() - started
        for worker, senders in workers:
            await worker.stop()
            await senders.close()
        latencies = [accepted_at[d["_id"]] - started for d in deliveries]
        duplicates = sum(c - 1 for c in received.values())
        print(
            f"sending: {len(deliveries)} SMS by {replicas} replica(s) x {concurrency} in flight: "
            f"{len(deliveries) / elapsed:.0f} deliveries/s; time to accepted p50 {percentile(latencies, 50):.2f}s "
            f"p99 {percentile(latencies, 99):.2f}s; reached the gateway: {len(received)} distinct, "
            f"{duplicates} duplicate(s)"
        )
        await client.close()
    finally:
        server.should_exit = True
        await serving


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=500, help="deliveries to send")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    configure_logging("notify-bench", "WARNING", json=False)
    rate, deliveries = bench_planning(args.n)
    print(f"planning: {rate:.0f} events/s rendered into inbox + delivery records (pure, one core)")
    mongo = [sys.executable, "-m", "huiying.cli", "mongo", "--engine", "memory", "--port", "0"]
    proc = subprocess.Popen(mongo, stdout=subprocess.PIPE)
    try:
        uri = read_ready_line(proc, 30)
        asyncio.run(bench_sending(uri, deliveries, args.replicas, args.concurrency))
    finally:
        stop(proc)


if __name__ == "__main__":
    main()
