"""huiying/mongoeco_patch.py: the launcher's corrections to mongoeco 4.11.0 keep its answers and drop its scans."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mongoeco import AsyncMongoClient
from mongoeco.engines.memory import MemoryEngine
from mongoeco.engines.sqlite import SQLiteEngine
from mongoeco.errors import DuplicateKeyError

from huiying import mongoeco_patch

pytestmark = pytest.mark.skipif(
    mongoeco_patch.installed_version() != mongoeco_patch.PINNED, reason="the correction is pinned to one version"
)


@pytest.fixture(params=["sqlite", "memory"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    mongoeco_patch.apply()
    yield SQLiteEngine(str(tmp_path / "t.db")) if request.param == "sqlite" else MemoryEngine()


def test_other_versions_are_left_alone() -> None:
    line = mongoeco_patch.apply("4.12.0")
    assert "not applied" in line and "4.12.0" in line


async def test_an_insert_does_not_read_the_stored_documents(engine: Any) -> None:
    async with AsyncMongoClient(engine) as client:
        coll = client["db"]["c"]
        await coll.insert_many([{"_id": str(uuid.uuid4()), "n": i} for i in range(300)])
        scanned = 0
        if isinstance(engine, SQLiteEngine):
            original = engine._load_documents

            def counting(*args: Any, **kwargs: Any) -> Any:
                nonlocal scanned
                for item in original(*args, **kwargs):
                    scanned += 1
                    yield item

            engine._load_documents = counting  # type: ignore[method-assign]
        else:
            original = engine._borrow_storage_document

            def counting(data: Any) -> Any:
                nonlocal scanned
                scanned += 1
                return original(data)

            engine._borrow_storage_document = counting  # type: ignore[method-assign]
        await coll.insert_one({"_id": "new-one", "n": -1})
        await coll.update_one({"_id": "new-one"}, {"$set": {"n": -2}})
        assert scanned < 10  # the written document itself at most; 4.11.0 unpatched reads all 300 on each write


async def test_duplicate_ids_are_still_refused(engine: Any) -> None:
    async with AsyncMongoClient(engine) as client:
        coll = client["db"]["c"]
        await coll.insert_one({"_id": "a"})
        await coll.insert_one({"_id": 1})
        with pytest.raises(DuplicateKeyError):
            await coll.insert_one({"_id": "a"})
        with pytest.raises(DuplicateKeyError):
            await coll.insert_one({"_id": 1.0})  # numeric ids: 1 and 1.0 are the same _id (mongoeco's own scan)


async def test_guarded_writes_by_id_still_match_exactly(engine: Any) -> None:
    async with AsyncMongoClient(engine) as client:
        coll = client["db"]["c"]
        await coll.insert_many([{"_id": f"d{i}", "v": i, "tags": ["x"]} for i in range(50)])
        assert (await coll.update_one({"_id": "d7", "v": 8}, {"$set": {"w": 1}})).matched_count == 0
        assert (await coll.update_one({"_id": "d7", "v": 7, "tags": "x"}, {"$set": {"w": 1}})).modified_count == 1
        assert (await coll.update_one({"_id": "nope", "v": 7}, {"$set": {"w": 1}})).matched_count == 0
        doc = await coll.find_one_and_update({"_id": "d9", "v": {"$gte": 9}}, {"$inc": {"v": 1}}, return_document=True)
        assert doc is not None and doc["v"] == 10
        assert await coll.find_one_and_update({"_id": "d9", "v": {"$lt": 9}}, {"$inc": {"v": 1}}) is None


async def test_a_unique_index_sees_arrays_stored_after_the_check_was_cached(engine: Any) -> None:
    async with AsyncMongoClient(engine) as client:
        coll = client["db"]["c"]
        await coll.create_index("code", unique=True)
        await coll.insert_one({"_id": "s1", "code": "a"})
        await coll.insert_one({"_id": "s2", "code": "b"})  # the "no arrays in `code`" answer is now kept
        await coll.insert_one({"_id": "s3", "code": ["c", "d"]})  # ...and turned to yes by this write
        with pytest.raises(DuplicateKeyError):
            await coll.insert_one({"_id": "s4", "code": "d"})  # multikey uniqueness still enforced
        assert await coll.find_one({"code": "c"}) is not None


async def test_which_of_intakes_queries_mongoeco_answers_from_an_index(tmp_path: Path) -> None:
    """docs/mongoeco-insert-scan.md's table, checked: the tracking-code look-up uses the index; the sweeper's
    range runs in SQL (not decoding every document in Python); a sparse index is not used (so intake's hot path
    does not query by `idem`: the insert finds an earlier Idempotency-Key through the unique index)."""
    from shared.outbox import DUE

    mongoeco_patch.apply()
    async with AsyncMongoClient(SQLiteEngine(str(tmp_path / "x.db"))) as client:
        coll = client["db"]["requests"]
        await coll.create_index("tracking_code", unique=True)
        await coll.create_index("idem", unique=True, sparse=True, name="idempotency")
        await coll.create_index(DUE, name="outbox_due")
        await coll.insert_many([{"_id": f"r{i}", "tracking_code": f"HY{i:010d}"} for i in range(100)])

        async def details(query: dict[str, Any]) -> str:
            return str(await coll.find(query).explain())

        assert "scalar_index_entries" in await details({"tracking_code": "HY0000000007"})
        assert "'strategy': 'sql'" in await details({DUE: {"$lt": 5}})
        assert "scalar_index_entries" not in await details({"idem": "web:key"})
