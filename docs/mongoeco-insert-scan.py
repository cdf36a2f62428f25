"""Minimal reproduction (for mongoeco upstream): in mongoeco 4.11.0 a single write costs more the larger the
collection, on both engines.

- insert_one / update_one: the `_id` uniqueness check reads and decodes EVERY stored document
  (`scan_payload_id=True`; SQLite `_validate_document_against_unique_indexes`, memory `_ensure_unique_indexes`),
  although the storage-key look-up before it is exact for any `_id` without a number in it.
- SQLite, a guarded write `update_one({"_id": x, "n": {"$gte": 1}}, ...)`: selected by a SQL scan of the
  collection, because the `_id` fast path only takes a filter that is exactly `{"_id": x}`.
- SQLite, an insert into a collection with a unique secondary index: "is there an array in this field?" is
  answered by a SQL scan, cached only until the next write.
- memory, a guarded upsert whose `_id` is not stored yet (`update_one({"_id": new, "n": {"$exists": False}}, ...,
  upsert=True)`): the `_id` look-up finds nothing and the engine then matches the filter against every document.
- a claim `find_one_and_update({"due": {"$lte": now}}, ..., sort=[("due", 1)])` on an indexed date: the memory
  engine uses an index for equality only, so it matches every document; SQLite, because of the sort, reads and
  decodes every document in Python.

Run:  python docs/mongoeco-insert-scan.py --engine sqlite            (mongoeco as released)
      python docs/mongoeco-insert-scan.py --engine sqlite --patched  (with huiying/mongoeco_patch.py)
No server, no network: mongoeco's own client on its own engines.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SIZES = (250, 1000, 4000)  # --sizes to change


async def timed(calls: list[Any]) -> float:
    started = time.perf_counter()
    for call in calls:
        await call
    return (time.perf_counter() - started) * 1000 / len(calls)


async def measure(
    engine_name: str, sample: int, sizes: tuple[int, ...] = SIZES
) -> list[tuple[int, float, float, float, float, float]]:
    from mongoeco import AsyncMongoClient
    from mongoeco.engines.memory import MemoryEngine
    from mongoeco.engines.sqlite import SQLiteEngine

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        engine = SQLiteEngine(str(Path(tmp) / "repro.db")) if engine_name == "sqlite" else MemoryEngine()
        async with AsyncMongoClient(engine) as client:
            coll = client["repro"]["docs"]
            await coll.create_index("code", unique=True)
            await coll.create_index("due", sparse=True)
            now = datetime(2026, 1, 1, tzinfo=UTC)
            stored = 0
            for size in sizes:
                # Fill up to `size` with one bulk insert (cheap), then time single writes at that size.
                fill = [{"_id": str(uuid.uuid4()), "code": str(uuid.uuid4()), "n": 1} for _ in range(size - stored)]
                await coll.insert_many(fill)
                ids = [str(uuid.uuid4()) for _ in range(sample)]
                insert = await timed([coll.insert_one({"_id": i, "code": i, "n": 1}) for i in ids])
                update = await timed([coll.update_one({"_id": i}, {"$inc": {"n": 1}}) for i in ids])
                guarded = await timed([coll.update_one({"_id": i, "n": {"$gte": 1}}, {"$inc": {"n": 1}}) for i in ids])
                new = [str(uuid.uuid4()) for _ in range(sample)]
                upsert = await timed(
                    [
                        coll.update_one({"_id": i, "n": {"$exists": False}}, {"$set": {"n": 1, "code": i}}, upsert=True)
                        for i in new
                    ]
                )
                await coll.update_many({"_id": {"$in": ids}}, {"$set": {"due": now - timedelta(minutes=1)}})
                claim = await timed(
                    [
                        coll.find_one_and_update({"due": {"$lte": now}}, {"$unset": {"due": ""}}, sort=[("due", 1)])
                        for _ in ids
                    ]
                )
                stored = size + 2 * sample
                rows.append((size, insert, update, guarded, upsert, claim))
                print(
                    f"{size:>8} {insert:>11.2f} {update:>11.2f} {guarded:>17.2f} {upsert:>13.2f} {claim:>12.2f}",
                    flush=True,
                )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=["sqlite", "memory"], default="sqlite")
    parser.add_argument("--patched", action="store_true", help="apply huiying/mongoeco_patch.py first")
    parser.add_argument("--sample", type=int, default=30)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="collection sizes, e.g. 1000,50000")
    args = parser.parse_args()
    if args.patched:
        from huiying.mongoeco_patch import apply

        print(apply())
    print(f"engine {args.engine}{' (patched)' if args.patched else ''}: milliseconds per single write")
    heads = (("stored", 8), ("insert_one", 11), ("update _id", 11), ("update _id+guard", 17))
    heads += (("upsert new _id", 13), ("sorted claim", 12))
    print(" ".join(f"{h:>{w}}" for h, w in heads))
    asyncio.run(measure(args.engine, args.sample, tuple(int(x) for x in args.sizes.split(","))))


if __name__ == "__main__":
    main()
