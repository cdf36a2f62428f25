"""Minimal reproduction: in mongoeco 4.11 the cost of inserting (or updating) one document grows with the
collection, on both engines, because every write compares the document's `_id` with every stored document.

Run: python docs/mongoeco/insert_scan_repro.py [--engine sqlite|memory] [--patched]

Without --patched the per-insert time at 4,000 documents is several times that at 250; with --patched
(huiying/mongoeco_patch.py applied) it stays flat. No server, no network: mongoeco's own client.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path


async def measure(engine_name: str, sizes: list[int], sample: int) -> list[tuple[int, float, float]]:
    from mongoeco import AsyncMongoClient
    from mongoeco.engines.memory import MemoryEngine
    from mongoeco.engines.sqlite import SQLiteEngine

    with tempfile.TemporaryDirectory() as tmp:
        engine = SQLiteEngine(str(Path(tmp) / "repro.db")) if engine_name == "sqlite" else MemoryEngine()
        async with AsyncMongoClient(engine) as client:
            return await _rows(client["repro"]["docs"], sizes, sample)


async def _rows(coll, sizes: list[int], sample: int) -> list[tuple[int, float, float]]:  # type: ignore[no-untyped-def]
    if True:
        rows = []
        stored = 0
        for size in sizes:
            # Fill up to `size` with one bulk insert (cheap), then time single writes at that size.
            if size > stored:
                await coll.insert_many([{"_id": str(uuid.uuid4()), "n": i} for i in range(stored, size)])
                stored = size
            ids = [str(uuid.uuid4()) for _ in range(sample)]
            started = time.perf_counter()
            for i in ids:
                await coll.insert_one({"_id": i, "n": -1})
            insert_ms = (time.perf_counter() - started) * 1000 / sample
            started = time.perf_counter()
            for i in ids:
                await coll.update_one({"_id": i}, {"$set": {"n": -2}})
            update_ms = (time.perf_counter() - started) * 1000 / sample
            stored += sample
            rows.append((size, insert_ms, update_ms))
        return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=["sqlite", "memory"], default="sqlite")
    parser.add_argument("--patched", action="store_true", help="apply huiying/mongoeco_patch.py first")
    parser.add_argument("--sample", type=int, default=50)
    args = parser.parse_args()
    if args.patched:
        from huiying.mongoeco_patch import apply

        print(apply())
    rows = asyncio.run(measure(args.engine, [250, 1000, 4000], args.sample))
    print(f"engine {args.engine}{' (patched)' if args.patched else ''}")
    print(f"{'stored':>8} {'insert_one ms':>14} {'update_one ms':>14}")
    for size, ins, upd in rows:
        print(f"{size:>8} {ins:>14.2f} {upd:>14.2f}")


if __name__ == "__main__":
    main()
