"""`huiying bench`: submit N requests (a burst over C connections, or `--rate R` per second), then measure.

Prints, and with `--json FILE` writes as one JSON object: `accepted_per_s`; p50/p99 ms from submission to
routing's dispatch, to the receipt in the inbox and to the dispatch notice (from the timestamps the services
record, no polling error); `db_commands_per_request` by service (each service's /metrics); with `--spawn`,
`cpu_ms_per_request` by process and `rss_mb` (psutil on the spawned processes), and the ceiling of the same
embedded engine measured in the same run with the ratio. `--soak N` fills N requests in batches and prints the
CPU per request at checkpoints (1k, 10k, ..., N).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
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


JOURNEY = {"intake": 1, "routing": 2, "notify": 2}  # events each service handles per request


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# What residents write, a few everyday matters per kind (none an emergency): requests of one kind at one place
# within a few days are rare, as at a real desk, so the 并单 (duplicate) check finds what it would find there.
DESCRIPTIONS = {
    "property_repair": [
        "楼道灯不亮，晚上看不清台阶",
        "厨房水龙头一直滴水，关不紧",
        "单元门的门禁坏了，刷卡打不开",
    ],
    "environment_order": [
        "楼下垃圾桶满了两天没人清",
        "小区里有人乱停电动车，挡住消防通道",
        "绿化带里的树枝断了挂在半空",
    ],
    "dispute_mediation": [
        "楼上装修每天很早就开始，噪音太大",
        "邻居在公共走廊堆放杂物，沟通不了",
        "和物业对停车费有分歧，想请人调解",
    ],
    "legal_aid": [
        "公司拖欠三个月工资，想咨询怎么维权",
        "租房押金房东不退，想问问怎么办",
        "家里老人想立遗嘱，需要法律咨询",
    ],
    "volunteer_service": [
        "想报名参加周末的社区志愿活动",
        "我们单位想组织志愿者来社区服务",
        "想了解志愿服务时长怎么登记",
    ],
    "care_visit": [
        "我母亲八十多岁独居，希望有人上门看看",
        "家里老人腿脚不便，想申请定期探访",
        "残疾邻居最近没出门，请社区去看看",
    ],
    "community_health": [
        "想预约老年人免费体检",
        "孩子疫苗接种时间想咨询一下",
        "高血压随访想改个时间",
    ],
    "convenience_service": [
        "想问问社区有没有上门理发服务",
        "家里电视机坏了，有没有便民维修",
        "想办理老年卡，需要带什么材料",
    ],
    "employment": [
        "失业了想登记找工作",
        "想报名参加社区的技能培训",
        "有没有适合宝妈的兼职岗位推荐",
    ],
    "enquiry_complaint": [
        "上次反映的问题一直没人回复",
        "想问一下居住证怎么办理",
        "对小区停车管理有意见，想反映一下",
    ],
}


def body(i: int) -> dict[str, Any]:
    service = SERVICES[i % len(SERVICES)]
    place = random.Random(i)  # the same request for the same i, places spread as a community's are
    # 60 buildings of 6 units, 18 floors of 4 flats: about 25,000 residents.
    address = f"{place.randint(1, 60)}号楼{place.randint(1, 6)}单元{place.randint(1, 18)}0{place.randint(1, 4)}"
    return {
        "service_code": service,
        "description": place.choice(DESCRIPTIONS[service]),
        "location": {"address": address},
        "resident": {
            "name": "测试居民",
            "phone": f"138{random.randint(10_000_000, 99_999_999)}",
            "language": "zh-CN" if i % 3 else "en",
        },
    }


async def submit_all(
    client: httpx.AsyncClient, url: str, key: str, n: int, c: int, rate: float | None = None, first: int = 0
) -> tuple[list[dict[str, Any]], float]:
    """A burst over `c` connections, or with `rate` an open-model load: request i is sent at i/rate seconds,
    whether or not earlier ones were answered."""
    sem = asyncio.Semaphore(c if rate is None else n)
    results: list[dict[str, Any]] = []
    failures = 0
    start = time.perf_counter()

    async def one(i: int) -> None:
        nonlocal failures
        if rate is not None:
            await asyncio.sleep(max(0.0, start + (i - first) / rate - time.perf_counter()))
        async with sem:
            try:
                r = await client.post(f"{url}/v1/requests", json=body(i), headers={"X-API-Key": key})
            except httpx.HTTPError:
                failures += 1
                return
            if r.status_code == 201:
                results.append(r.json())
            else:
                failures += 1

    await asyncio.gather(*(one(i) for i in range(first, first + n)))
    elapsed = time.perf_counter() - start
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
        async with sem:
            try:
                await look(item)
            except (httpx.HTTPError, ValueError):
                pass  # a dropped connection or a half answer under load: look again next round

    async def look(item: dict[str, Any]) -> None:
        code = item["tracking_code"]
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


def latency_figures(done: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    figures: dict[str, dict[str, float]] = {}
    for label, field in (
        ("submit_to_dispatched", "dispatched_at"),
        ("submit_to_receipt", "receipt_at"),
        ("submit_to_dispatch_notice", "notice_at"),
    ):
        lat = [ms(d["submitted_at"], d[field]) for d in done.values()]
        figures[label] = {"p50_ms": round(percentile(lat, 0.5)), "p99_ms": round(percentile(lat, 0.99))}
    return figures


async def run(
    urls: dict[str, str],
    key: str,
    n: int,
    c: int,
    timeout: float,
    *,
    rate: float | None = None,
    pids: dict[str, int] | None = None,
) -> dict[str, Any]:
    from huiying.bench_measure import (
        cpu_seconds,
        db_commands,
        db_commands_by_name,
        events_handled,
        per_request,
        per_request_by_name,
        rss_mb,
        wait_until_quiet,
    )

    limits = httpx.Limits(max_connections=c + 20, max_keepalive_connections=c + 20)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        how = f"at {rate:g}/s (open model)" if rate else f"over {c} concurrent connections"
        print(f"submitting {n} requests {how} to {urls['intake']} ...")
        commands0, cpu0 = await db_commands(client, urls), cpu_seconds(pids or {})
        writes0 = await db_commands(client, urls, writes=True)
        by_name0 = await db_commands_by_name(client, urls)
        handled0 = await events_handled(client, urls)
        accepted, elapsed = await submit_all(client, urls["intake"], key, n, c, rate)
        print(f"  accepted {len(accepted)}/{n} in {elapsed:.2f}s -> {len(accepted) / elapsed:.1f} requests/s")
        started = time.perf_counter()
        # Per request: intake takes task.dispatched (status view), routing request.submitted (and its own
        # task.dispatched work item), notify both.
        wanted = {s: handled0.get(s, 0) + k * len(accepted) for s, k in JOURNEY.items()}
        await wait_until_quiet(client, urls, wanted, timeout)
        commands1, cpu1 = await db_commands(client, urls), cpu_seconds(pids or {})
        writes1 = await db_commands(client, urls, writes=True)
        by_name1 = await db_commands_by_name(client, urls)
        done = await wait_all(client, urls["intake"], urls["notify"], accepted, timeout)
        print(
            f"  {len(done)}/{len(accepted)} reached dispatch and both inbox messages "
            f"(drained {time.perf_counter() - started:.1f}s after the last submission)"
        )
    result: dict[str, Any] = {
        "requests": n,
        "accepted": len(accepted),
        "completed": len(done),
        "accepted_per_s": round(len(accepted) / elapsed, 1),
        **latency_figures(done),
        # Taken once the journey was done and before the bench's own reads (GET /v1/track, /v1/inbox); the
        # background loops' periodic reads (sweepers, delivery worker) during the run are included.
        "db_commands_per_request": per_request(commands0, commands1, len(accepted)),
        "db_writes_per_request": per_request(writes0, writes1, len(accepted)),
        "db_commands_per_request_by_name": per_request_by_name(by_name0, by_name1, len(accepted)),
    }
    for key in ("db_commands_per_request", "db_writes_per_request"):
        result[key]["total"] = round(sum(result[key].values()), 2)
    if pids:
        result["cpu_ms_per_request"] = per_request(cpu0, cpu1, len(accepted), scale=1000)
        result["cpu_ms_per_request"]["total"] = round(sum(result["cpu_ms_per_request"].values()), 1)
        result["rss_mb"] = {k: round(v) for k, v in rss_mb(pids).items()}
    for label in ("submit_to_dispatched", "submit_to_receipt", "submit_to_dispatch_notice"):
        f = result[label]
        print(f"  {label:<28} p50 {f['p50_ms']:8.0f} ms   p99 {f['p99_ms']:8.0f} ms")
    print(f"  db commands per request  {result['db_commands_per_request']}")
    print(f"  db writes per request    {result['db_writes_per_request']}")
    print(f"  by command               {result['db_commands_per_request_by_name']}")
    if pids:
        print(f"  cpu ms per request       {result['cpu_ms_per_request']}")
        print(f"  rss MB                   {result['rss_mb']}")
    return result


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def check_args(args: argparse.Namespace) -> str | None:
    """One line naming the wrong argument, or None."""
    if args.requests < 1:
        return f"-n/--requests must be at least 1 (got {args.requests})"
    if args.concurrency < 1:
        return f"-c/--concurrency must be at least 1 (got {args.concurrency})"
    if args.rate is not None and args.rate <= 0:
        return f"--rate must be a positive number of requests per second (got {args.rate})"
    if args.soak is not None and args.soak < 1000:
        return f"--soak must be at least 1000 requests (got {args.soak})"
    if args.soak is not None and not args.spawn:
        return "--soak measures the CPU of the processes it starts: add --spawn"
    if args.timeout <= 0:
        return f"--timeout must be positive (got {args.timeout})"
    return None


def _report(args: argparse.Namespace, result: dict[str, Any]) -> int:
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"  wrote {args.json}")
    complete = result.get("completed") == result.get("requests") if "requests" in result else True
    return 0 if complete else 1


def main(args: argparse.Namespace) -> int:
    problem = check_args(args)
    if problem:
        print(f"huiying bench: {problem}")
        return 2
    try:
        return _main(args)
    except httpx.HTTPError as exc:
        print(f"huiying bench: a service stopped answering ({type(exc).__name__}: {exc}); see the services' logs")
        return 1


def _main(args: argparse.Namespace) -> int:
    if not args.spawn:
        urls = {"intake": args.intake_url, "routing": args.routing_url, "notify": args.notify_url}
        result = asyncio.run(run(urls, args.api_key, args.requests, args.concurrency, args.timeout, rate=args.rate))
        return _report(args, result)
    from huiying.bench_measure import engine_ceiling
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
                "HUIYING_RATE_LIMIT_PER_KEY": "0",
                "HUIYING_RATE_LIMIT_PER_ADDRESS": "0",
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
        stack.start(ready_timeout_s=300.0 if args.soak else 90.0)  # a soak often starts on a loaded machine
        pids = {
            **{f"mongo-{k}": p.pid for k, p in stack.mongo.items()},
            **{k: p.pid for k, p in stack.services.items()},
        }
        urls = {s: stack.url(s) for s in ("intake", "routing", "notify")}
        try:
            if args.soak:
                from huiying.bench_soak import soak

                uris, databases = stack.mongo_uris, {s: settings.mongodb_db(s) for s in stack.mongo_uris}
                rows = asyncio.run(
                    soak(
                        urls,
                        args.api_key,
                        args.soak,
                        args.concurrency,
                        pids,
                        submit_all=submit_all,
                        journey=JOURNEY,
                        fill=args.soak_fill,
                        uris=uris,
                        databases=databases,
                    )
                )
                return _report(args, {"engine": args.engine, "soak_fill": args.soak_fill, "soak": rows})
            result = asyncio.run(
                run(urls, args.api_key, args.requests, args.concurrency, args.timeout, rate=args.rate, pids=pids)
            )
        finally:
            stack.stop()
            _cleanup_queues(settings)
    ceiling = engine_ceiling(args.engine)
    result["engine"] = args.engine
    result["engine_ceiling"] = ceiling
    # The journey's writes per request bound the throughput by the engine's write rate (one server per service).
    result["ceiling_ratio"] = round(result["accepted_per_s"] / max(ceiling["inserts_per_s"], 1e-9), 3)
    print(f"  engine ceiling ({args.engine}): {ceiling}; accepted/s is {result['ceiling_ratio']:.1%} of its inserts/s")
    return _report(args, result)


def _cleanup_queues(settings: Any) -> None:
    """Delete the private stack's queues, exchanges and policies (as shared/topology.py declares them)."""
    from huiying.topology import delete_all, topology_of

    try:
        asyncio.run(delete_all(settings, topology_of(settings)))
    except Exception as exc:
        print(f"(could not delete the bench queues: {exc})")
