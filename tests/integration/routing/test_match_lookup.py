"""The 并单 look-up (MongoRoutingStore.matching) on the embedded engine: the same tasks as the `$in` query, read
through the single-field `match_keys` index instead of every task in the window."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from mongoeco.engines.memory import MemoryEngine
from mongoeco.wire.proxy import AsyncMongoEcoProxyServer
from pymongo import DESCENDING, AsyncMongoClient

from huiying import mongoeco_patch
from services.routing.store import MATCH_FIELDS, MongoRoutingStore

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


async def test_the_match_lookup_reads_the_keys_tasks_not_the_window() -> None:
    mongoeco_patch.apply()
    engine = MemoryEngine()
    async with (
        AsyncMongoEcoProxyServer(engine=engine, host="127.0.0.1", port=0) as proxy,
        AsyncMongoClient(proxy.address.uri) as client,
    ):
        db = client[f"routing_{uuid.uuid4().hex[:8]}"]
        store = MongoRoutingStore(db, writer=None)  # type: ignore[arg-type]
        await store.ensure_indexes()
        await db["tasks"].insert_many([task(i) for i in range(1200)])
        keys = ["repair|b3|u3", "resident|repair|13800000007", "repair|b3|u3", "nobody"]
        since = NOW - timedelta(days=30)  # every task is in the window
        read = [0]
        original = engine._borrow_storage_document

        def counting(data: Any) -> Any:
            read[0] += 1
            return original(data)

        engine._borrow_storage_document = counting  # type: ignore[method-assign]
        for limit in (5, 50, 500):
            read[0] = 0
            found = await store.matching(keys, since, limit)
            assert read[0] < 250, read[0]  # the $in query: all 1,200 tasks of the window, for each limit
            engine._borrow_storage_document = original  # type: ignore[method-assign]
            cursor = db["tasks"].find(
                {"match_keys": {"$in": keys}, "submitted_at": {"$gte": since}}, dict.fromkeys(MATCH_FIELDS, 1)
            )
            expected = await cursor.sort("submitted_at", DESCENDING).limit(limit).to_list()
            engine._borrow_storage_document = counting  # type: ignore[method-assign]
            assert [d["_id"] for d in found] == [d["_id"] for d in expected]
        assert await store.matching([], since, 5) == []
        assert await store.matching(["repair|b3|u3"], NOW + timedelta(minutes=1), 5) == []
