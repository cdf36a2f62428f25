"""Before/after figures for docs/mongoeco-candidates.md: only the queries huiying/mongoeco_candidates.py touches.

Run:  python docs/mongoeco-candidates.py          (the launcher's corrections 1-7, without mongoeco_candidates)
      python docs/mongoeco-candidates.py --fix    (with it)
Per query, at 1,000 / 10,000 tasks: memory engine, documents matched in Python (CPU ms per query); SQLite (an
in-memory database, so every read runs on the engine's own connection), documents decoded, thousands of VM
steps (CPU ms per query). CPU figures depend on the machine's load; the counts do not.
"""

import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from mongoeco.engines.memory import MemoryEngine
from mongoeco.engines.sqlite import SQLiteEngine
from mongoeco.wire.proxy import AsyncMongoEcoProxyServer
from pymongo import AsyncMongoClient

from huiying import mongoeco_candidates, mongoeco_patch

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def task(i: int) -> dict[str, Any]:
    return {
        "_id": f"t{i:06d}",
        "team_id": f"g{i % 6}",
        "status": "claimed" if i < 4 else "closed",
        "assignee": "a",
        "submitted_at": NOW - timedelta(hours=i),
        "match_keys": [f"repair|b{i % 12}|u{i % 4}", f"resident|{i}" if i < 10 else f"resident|r{i % 50}"],
    }


QUERIES: dict[str, Any] = {
    "status $in (4 match)": lambda c: c.find({"status": {"$in": ["claimed", "dispatched"]}}).to_list(),
    "loads {team_id, status $in, assignee $ne null}": lambda c: c.find(
        {"team_id": "g1", "status": {"$in": ["claimed", "dispatched"]}, "assignee": {"$ne": None}}
    ).to_list(),
    "并单, history one an hour, 72 h window": lambda c: (
        c.find(
            {
                "match_keys": {"$in": ["repair|b3|u3", "resident|r7"]},
                "submitted_at": {"$gte": NOW - timedelta(hours=72)},
            }
        )
        .sort("submitted_at", -1)
        .limit(50)
        .to_list()
    ),
    "并单, 90-day window, two tasks under the keys": lambda c: (
        c.find(
            {"match_keys": {"$in": ["resident|3", "resident|7"]}, "submitted_at": {"$gte": NOW - timedelta(days=90)}}
        )
        .sort("submitted_at", -1)
        .limit(50)
        .to_list()
    ),
}


async def run(kind: str, n: int) -> dict[str, tuple[int, int, float]]:
    out: dict[str, tuple[int, int, float]] = {}
    engine: Any = SQLiteEngine(":memory:") if kind == "sqlite" else MemoryEngine()
    async with (
        AsyncMongoEcoProxyServer(engine=engine, host="127.0.0.1", port=0) as proxy,
        AsyncMongoClient(proxy.address.uri) as client,
    ):
        c = client["db"]["t"]
        for field in ("status", "team_id", "match_keys", "submitted_at"):
            await c.create_index(field)
        await c.insert_many([task(i) for i in range(n)])
        name = "_deserialize_document" if kind == "sqlite" else "_borrow_storage_document"
        original = getattr(engine, name)
        cnt = [0, 0]

        def counting(*args: Any) -> Any:
            cnt[0] += 1
            return original(*args)

        def step() -> int:
            cnt[1] += 1
            return 0

        setattr(engine, name, counting)
        if kind == "sqlite":
            engine._require_connection().set_progress_handler(step, 1000)
        for what, query in QUERIES.items():
            await query(c)  # once, to fill mongoeco's per-collection feature caches
            cnt[0] = cnt[1] = 0
            started = time.process_time()
            for _ in range(5):
                await query(c)
            out[what] = (cnt[0] // 5, cnt[1] // 5, (time.process_time() - started) / 5 * 1000)
    return out


def main() -> None:
    mongoeco_patch.apply()
    if "--fix" in sys.argv:
        print(mongoeco_candidates.apply())
    res = {(k, n): asyncio.run(run(k, n)) for k in ("memory", "sqlite") for n in (1000, 10000)}
    print("| query | memory: documents read (CPU ms) | SQLite: documents decoded, k VM steps (CPU ms) |")
    print("| --- | --- | --- |")
    for what in QUERIES:
        m = " / ".join(f"{res[('memory', n)][what][0]} ({res[('memory', n)][what][2]:.1f})" for n in (1000, 10000))
        s = " / ".join(
            f"{res[('sqlite', n)][what][0]}, {res[('sqlite', n)][what][1]}k ({res[('sqlite', n)][what][2]:.1f})"
            for n in (1000, 10000)
        )
        print(f"| {what} | {m} | {s} |")


if __name__ == "__main__":
    main()
