"""Minimal reproduction (for mongoeco upstream): in mongoeco 4.11.0 every MongoDB index on a SQLite database adds
its own SQLite index on the shared entry tables (`mkidx_<hash>` on `multikey_entries`, `scidx_<hash>` on
`scalar_index_entries`), all with the same columns, so every entry row written goes into all of them.

Run:  python docs/mongoeco-shared-indexes.py             (mongoeco as released)
      python docs/mongoeco-shared-indexes.py --others    (the launcher's other corrections, not this one)
      python docs/mongoeco-shared-indexes.py --patched   (all of them, with huiying/mongoeco_shared_indexes.py)
No server, no network: mongoeco's own client on its own engine. Prints, for 1, 8 and 16 single-field indexes on a
collection of documents with a 20-word array field: the SQLite indexes on the entry tables, the file size, and
the mean time of one insert_one.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

FIELDS = [f"f{i}" for i in range(15)]


def document(i: int) -> dict[str, object]:
    return {"_id": str(uuid.uuid4()), "terms": [f"w{(i * 7 + j) % 3000}" for j in range(20)]} | {
        f: f"{f}-{i % 50}" for f in FIELDS
    }


async def measure(indexes: int, stored: int, sample: int) -> tuple[int, float, float]:
    from mongoeco import AsyncMongoClient
    from mongoeco.engines.sqlite import SQLiteEngine

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "repro.db"
        async with AsyncMongoClient(SQLiteEngine(str(path))) as client:
            coll = client["repro"]["docs"]
            await coll.create_index("terms")  # multikey: one entry per word
            for field in FIELDS[: indexes - 1]:
                await coll.create_index(field)
            await coll.insert_many([document(i) for i in range(stored)])
            started = time.perf_counter()
            for i in range(sample):
                await coll.insert_one(document(stored + i))
            per_insert = (time.perf_counter() - started) * 1000 / sample
            assert await coll.count_documents({"terms": "w7"}) >= 1
        with sqlite3.connect(path) as conn:
            (count,) = conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name IN ('multikey_entries', 'scalar_index_entries')"
            ).fetchone()
        return count, path.stat().st_size / 1e6, per_insert


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patched", action="store_true", help="apply huiying/mongoeco_patch.py (all corrections)")
    parser.add_argument("--others", action="store_true", help="apply every correction but this one")
    parser.add_argument("--stored", type=int, default=2000)
    parser.add_argument("--sample", type=int, default=200)
    args = parser.parse_args()
    if args.patched or args.others:
        from huiying import mongoeco_patch, mongoeco_shared_indexes

        if args.others:  # the launcher's apply(), this correction left out
            mongoeco_shared_indexes.apply = lambda version=None: "left out"  # type: ignore[assignment]
        print(mongoeco_patch.apply())
    print("MongoDB indexes | SQLite indexes on the entry tables | file MB | insert_one ms")
    for indexes in (1, 8, 16):
        count, size, per_insert = await measure(indexes, args.stored, args.sample)
        print(f"{indexes:15} | {count:34} | {size:7.1f} | {per_insert:13.2f}")


if __name__ == "__main__":
    asyncio.run(main())
