"""The 并单 look-up (MongoRoutingStore.matching) on the embedded engine: one command that reads the tasks of its
window (found through the `submitted_at` range), not the history: a community's years of requests do not make
each dispatch slower."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from mongoeco.engines.memory import MemoryEngine
from mongoeco.wire.proxy import AsyncMongoEcoProxyServer
from pymongo import AsyncMongoClient

from huiying import mongoeco_patch
from services.routing.store import MongoRoutingStore

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def task(i: int) -> dict[str, Any]:
    return {
        "_id": str(uuid.uuid4()),
        "status": "dispatched",
        "description": f"楼道灯不亮 {i}",
        "submitted_at": NOW - timedelta(minutes=i),
        # twelve buildings x four units, one resident in fifty
        "match_keys": [f"repair|b{i % 12}|u{i % 4}", f"resident|repair|13800{i % 50:06d}"],
    }


async def test_the_match_lookup_reads_the_window_not_the_history() -> None:
    mongoeco_patch.apply()
    engine = MemoryEngine()
    async with (
        AsyncMongoEcoProxyServer(engine=engine, host="127.0.0.1", port=0) as proxy,
        AsyncMongoClient(proxy.address.uri) as client,
    ):
        db = client[f"routing_{uuid.uuid4().hex[:8]}"]
        store = MongoRoutingStore(db, writer=None)  # type: ignore[arg-type]
        await store.ensure_indexes()
        docs = [task(i) for i in range(1200)]
        for i, doc in enumerate(docs):
            doc["submitted_at"] = NOW - timedelta(hours=i)  # fifty days of history, one task an hour
        await db["tasks"].insert_many(docs)
        keys = ["repair|b3|u3", "resident|repair|13800000007", "repair|b3|u3", "nobody"]
        since = NOW - timedelta(hours=72)  # the window: 73 of the 1,200 tasks
        read = [0]
        original = engine._borrow_storage_document

        def counting(data: Any) -> Any:
            read[0] += 1
            return original(data)

        for limit in (5, 50, 500):
            engine._borrow_storage_document = counting  # type: ignore[method-assign]
            read[0] = 0
            found = await store.matching(keys, since, limit)
            engine._borrow_storage_document = original  # type: ignore[method-assign]
            assert read[0] <= 73, read[0]  # the window's tasks; without the range's candidates, all 1,200
            expected = [d for d in docs if set(keys) & set(d["match_keys"]) and d["submitted_at"] >= since]
            assert [d["_id"] for d in found] == [d["_id"] for d in expected][:limit]
        assert await store.matching([], since, 5) == []
        assert await store.matching(["repair|b3|u3"], NOW + timedelta(minutes=1), 5) == []
