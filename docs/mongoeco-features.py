"""What a write costs the next query on mongoeco's SQLite engine: its feature passes (docs/mongoeco-features.md).

PyMongo against mongoeco's own wire server in this process, as the services reach `huiying mongo`; routing's
tasks and notify's requests with their stores' real indexes (`ensure_indexes()`), documents of the services'
shape (docs/mongoeco-queries.py). At 1,000 and 10,000 stored documents, each round is one write to the
collection (a task inserted; a notify document updated) followed by the query; the figures are the query's
median milliseconds and thousands of SQLite VM instructions (on every connection the engine uses, its
dedicated readers included) over the rounds; and, for comparison, the VM instructions of the same query
repeated with no write in between (every feature answer cached).

Run:  python docs/mongoeco-features.py              (the launcher's corrections and huiying/mongoeco_features.py)
      python docs/mongoeco-features.py --without    (the launcher's corrections only: 4.11.0's feature cache)
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

_spec = importlib.util.spec_from_file_location("mongoeco_queries", Path(__file__).with_name("mongoeco-queries.py"))
assert _spec is not None and _spec.loader is not None
queries_doc = importlib.util.module_from_spec(_spec)
sys.modules["mongoeco_queries"] = queries_doc
_spec.loader.exec_module(queries_doc)
NOW = queries_doc.NOW
ROUNDS = 7


def vm_steps(engine: Any) -> list[int]:
    """A counter of thousands of VM instructions on the engine's connection and on every connection it opens."""
    count = [0]

    def step() -> int:
        count[0] += 1
        return 0

    engine._require_connection().set_progress_handler(step, 1000)
    create = engine._create_sqlite_connection

    def counted() -> Any:
        conn = create()
        conn.set_progress_handler(step, 1000)
        return conn

    engine._create_sqlite_connection = counted
    return count


def cases() -> list[tuple[str, str, str, Callable[[Any], Awaitable[Any]], Callable[[Any], Awaitable[Any]]]]:
    """(service, collection, what, write, query)."""
    wanted = {
        ("routing", "并单 look-up: find {match_keys $in, submitted_at $gte} sorted newest first, 50"),
        ("notify", "delivery claim: find_one_and_update {due_at $lte now, $or lease}, sort due_at"),
    }
    found: list[tuple[str, str, str, Callable[[Any], Awaitable[Any]], Callable[[Any], Awaitable[Any]]]] = []
    for service, listed in queries_doc.queries().items():
        for what, query in listed:
            if (service, what) not in wanted:
                continue
            if service == "routing":
                found.append((service, "tasks", what, lambda c: c.insert_one(queries_doc.task_doc(-1)), query))
            else:
                found.append(
                    (
                        service,
                        "requests",
                        what,
                        lambda c: c.update_one({"tracking_code": "HY0000000009"}, {"$inc": {"version": 1}}),
                        query,
                    )
                )
    return found


async def measure(size: int) -> dict[str, tuple[float, float, float]]:
    from mongoeco.engines.sqlite import SQLiteEngine
    from mongoeco.wire.proxy import AsyncMongoEcoProxyServer
    from pymongo import AsyncMongoClient

    makers = {"routing": queries_doc.task_doc, "notify": queries_doc.notify_doc}
    figures: dict[str, tuple[float, float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        engine = SQLiteEngine(str(Path(tmp) / "f.db"))
        async with (
            AsyncMongoEcoProxyServer(engine=engine, host="127.0.0.1", port=0) as proxy,
            AsyncMongoClient(proxy.address.uri) as client,
        ):
            steps = vm_steps(engine)
            for service, coll_name, what, write, query in cases():
                db = client[service]
                await queries_doc.ensure_indexes(db, service)
                coll = db[coll_name]
                await coll.insert_many([makers[service](i) for i in range(size)])
                if service == "notify":
                    await coll.update_many(
                        {"tracking_code": {"$in": ["HY0000000001", "HY0000000002"]}}, {"$set": {"due_at": NOW}}
                    )
                await query(coll)  # the answers a first query caches
                quiet: list[int] = []
                for _ in range(ROUNDS):
                    steps[0] = 0
                    await query(coll)
                    quiet.append(steps[0])
                ms: list[float] = []
                ks: list[int] = []
                for _ in range(ROUNDS):
                    await write(coll)
                    steps[0] = 0
                    started = time.perf_counter()
                    await query(coll)
                    ms.append((time.perf_counter() - started) * 1000)
                    ks.append(steps[0])
                key = f"{service} | {what}"
                figures[key] = (statistics.median(ms), statistics.median(ks), statistics.median(quiet))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--without", action="store_true", help="without huiying/mongoeco_features.py")
    parser.add_argument("--sizes", default="1000,10000")
    args = parser.parse_args()
    from huiying import mongoeco_features, mongoeco_patch

    print(mongoeco_patch.apply())
    if not args.without:
        print(mongoeco_features.apply())
    sizes = tuple(int(x) for x in args.sizes.split(","))
    results = [asyncio.run(measure(size)) for size in sizes]
    label = " / ".join(f"{s:,}" for s in sizes)
    print(f"| service | query | after one write: ms at {label} | k VM steps at {label} | no write before: k VM steps |")
    print("| --- | --- | --- | --- | --- |")
    for key in results[0]:
        ms = " / ".join(f"{r[key][0]:.1f}" for r in results)
        ks = " / ".join(f"{r[key][1]:.0f}k" for r in results)
        quiet = " / ".join(f"{r[key][2]:.0f}k" for r in results)
        print(f"| {key} | {ms} | {ks} | {quiet} |")


if __name__ == "__main__":
    main()
