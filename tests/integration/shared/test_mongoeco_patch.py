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


def _count_memory_reads(engine: MemoryEngine) -> list[int]:
    """Counts the stored documents the memory engine decodes to match a filter."""
    seen = [0]
    original = engine._borrow_storage_document

    def counting(data: Any) -> Any:
        seen[0] += 1
        return original(data)

    engine._borrow_storage_document = counting  # type: ignore[method-assign,assignment]
    return seen


async def test_memory_an_upsert_of_a_new_id_does_not_read_the_collection() -> None:
    """notify creates a request's document with a guarded upsert: 4.11.0 looks the `_id` up, finds nothing and
    then matches the filter against every stored document."""
    mongoeco_patch.apply()
    engine = MemoryEngine()
    async with AsyncMongoClient(engine) as client:
        coll = client["db"]["c"]
        await coll.insert_many([{"_id": f"d{i}", "events": ["e"]} for i in range(300)])
        seen = _count_memory_reads(engine)
        guard = {"_id": "new", "events": {"$ne": "e1"}, "recipient": {"$exists": False}}
        result = await coll.update_one(guard, {"$push": {"events": "e1"}, "$set": {"recipient": {}}}, upsert=True)
        assert result.upserted_id == "new"
        assert (await coll.update_one({"_id": "missing", "v": 1}, {"$set": {"w": 1}})).matched_count == 0
        assert seen[0] < 10  # 4.11.0 unpatched: 300 per write
        # the look-up still finds what is there, and a numeric _id keeps mongoeco's own alias search
        assert (await coll.update_one({"_id": "d3", "events": "e"}, {"$set": {"w": 1}})).modified_count == 1
        await coll.insert_one({"_id": 1})
        assert (await coll.update_one({"_id": 1.0, "w": {"$exists": False}}, {"$set": {"w": 1}})).modified_count == 1


async def test_memory_a_range_on_an_indexed_field_reads_only_the_documents_in_range() -> None:
    """notify's delivery worker claims `{"due_at": {"$lte": now}, ...}` sorted by `due_at` (a sparse index), routing's
    SLA sweeper `next_check_at <= now`, the outbox sweeper `outbox_due < now`: 4.11.0's memory engine uses an index
    for equality only, so each of these read every document."""
    from datetime import UTC, datetime, timedelta

    from bson import Int64
    from pymongo import ReturnDocument

    mongoeco_patch.apply()
    engine = MemoryEngine()
    now = datetime(2026, 1, 1, tzinfo=UTC)
    async with AsyncMongoClient(engine) as client:
        coll = client["db"]["c"]
        await coll.create_index("due_at", sparse=True, name="due")
        await coll.create_index("check_at")
        await coll.create_index("n")
        docs: list[dict[str, Any]] = [
            {"_id": f"d{i}", "check_at": now + timedelta(hours=1 + i), "n": i} for i in range(300)
        ]
        docs += [{"_id": f"due{i}", "due_at": now - timedelta(minutes=i), "check_at": now, "n": -i} for i in range(3)]
        docs.append({"_id": "later", "due_at": now + timedelta(minutes=5), "n": 1000.5})
        await coll.insert_many(docs)
        seen = _count_memory_reads(engine)
        claimed = await coll.find_one_and_update(
            {"due_at": {"$lte": now}, "$or": [{"lease": None}, {"lease": {"$lte": now}}]},
            {"$set": {"lease": now + timedelta(seconds=30)}},
            sort=[("due_at", 1)],
            return_document=ReturnDocument.AFTER,
        )
        assert claimed is not None and claimed["_id"] == "due2"  # the most overdue, as before
        due = [d["_id"] async for d in coll.find({"check_at": {"$lte": now}})]
        assert sorted(due) == ["due0", "due1", "due2"]
        assert [d["_id"] async for d in coll.find({"n": {"$lt": -1}})] == ["due2"]
        assert [d["_id"] async for d in coll.find({"n": {"$lt": Int64(-1)}})] == ["due2"]  # as PyMongo sends it
        assert seen[0] < 30  # 4.11.0 unpatched: every document, for each of the three
        # the answers are the unpatched engine's: ranges over numbers and dates, bounds included or not
        assert await coll.count_documents({"n": {"$gte": 299}}) == 2
        assert await coll.count_documents({"n": {"$gt": 298.5, "$lt": 1000}}) == 1
        assert await coll.count_documents({"check_at": {"$gt": now + timedelta(hours=300)}}) == 0
        assert await coll.count_documents({"due_at": {"$gte": now}}) == 2  # due0 is due at `now` exactly


async def test_sqlite_a_sorted_claim_on_a_date_range_reads_only_the_documents_in_range(tmp_path: Path) -> None:
    """notify's delivery worker: `find_one_and_update({"due_at": {"$lte": now}, "$or": [...]}, sort=due_at)`. With a
    sort, 4.11.0's SQLite engine reads and decodes every document of the collection in Python to choose one."""
    from datetime import UTC, datetime, timedelta

    from pymongo import ReturnDocument

    mongoeco_patch.apply()
    engine = SQLiteEngine(str(tmp_path / "claim.db"))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    async with AsyncMongoClient(engine) as client:
        coll = client["db"]["c"]
        await coll.create_index("due_at", sparse=True, name="due")
        docs: list[dict[str, Any]] = [{"_id": f"d{i}", "n": i} for i in range(300)]
        docs += [{"_id": f"due{i}", "due_at": now - timedelta(minutes=i, milliseconds=i)} for i in range(3)]
        docs.append({"_id": "later", "due_at": now + timedelta(milliseconds=1)})
        docs.append({"_id": "leased", "due_at": now - timedelta(hours=1), "lease": now + timedelta(minutes=1)})
        await coll.insert_many(docs)
        decoded = [0]
        original = engine._deserialize_document

        def counting(document: Any) -> Any:
            decoded[0] += 1
            return original(document)

        engine._deserialize_document = counting  # type: ignore[method-assign,assignment]

        async def claim() -> Any:
            doc = await coll.find_one_and_update(
                {"due_at": {"$lte": now}, "$or": [{"lease": None}, {"lease": {"$lte": now}}]},
                {"$set": {"lease": now + timedelta(seconds=30)}},
                sort=[("due_at", 1)],
                return_document=ReturnDocument.AFTER,
            )
            return doc and doc["_id"]

        # the most overdue unleased first, as before; `due0` is due at `now` exactly; `later` is not due
        assert [await claim() for _ in range(4)] == ["due2", "due1", "due0", None]
        assert decoded[0] < 40  # 4.11.0 unpatched: all 305 documents for each claim
        assert await coll.count_documents({"lease": {"$exists": True}}) == 4


async def test_an_equality_on_an_array_field_seeks_its_multikey_index_and_keeps_its_answers(tmp_path: Path) -> None:
    """Routing's search (`{terms: <word>}`): the same documents, found through the whole multikey index key."""
    mongoeco_patch.apply()
    async with AsyncMongoClient(SQLiteEngine(str(tmp_path / "m.db"))) as client:
        coll = client["db"]["tasks"]
        await coll.create_index("terms")
        await coll.insert_many(
            [{"_id": f"t{i}", "team": f"g{i % 3}", "terms": ["厨房", "水管", f"w{i}"]} for i in range(60)]
            + [{"_id": "scalar", "team": "g1", "terms": "水管"}, {"_id": "number", "team": "g1", "terms": [7, "x"]}]
        )
        found = {d["_id"] async for d in coll.find({"terms": "水管", "team": "g1"})}
        assert found == {f"t{i}" for i in range(60) if i % 3 == 1} | {"scalar"}
        assert {d["_id"] async for d in coll.find({"$and": [{"terms": "水管"}, {"terms": "w4"}]})} == {"t4"}
        assert {d["_id"] async for d in coll.find({"terms": 7})} == {"number"}
        assert await coll.count_documents({"terms": "w4"}) == 1
        plan = str(await coll.find({"terms": "水管", "team": "g1"}).explain())
        assert "type_score = ?" in plan and "multikey_entries" in plan


def test_every_correction_is_in_place_after_apply() -> None:
    """A correction whose wrapper is lost (e.g. in a merge) must not go unnoticed: the merged base once replaced
    SQLite's update helper with None, and every update on SQLite failed."""
    mongoeco_patch.apply()
    assert mongoeco_patch.is_applied()
    import mongoeco.engines.sqlite as sqlite_module

    assert callable(sqlite_module._sqlite_update_with_operation)


async def test_sqlite_a_string_id_that_is_not_stored_is_not_looked_for_in_every_row(tmp_path: Path) -> None:
    """notify creates a request's document with an upsert guarded by `_id`; 4.11.0 looks the `_id` up by its
    storage key, finds nothing and then runs `json_extract(document, '$._id') = ?` over every row."""
    mongoeco_patch.apply()
    engine = SQLiteEngine(str(tmp_path / "miss.db"))
    async with AsyncMongoClient(engine) as client:
        coll = client["db"]["requests"]
        await coll.insert_many([{"_id": str(uuid.uuid4()), "events": ["e"]} for _ in range(300)])
        statements: list[str] = []
        engine._require_connection().set_trace_callback(statements.append)
        for _ in range(5):
            new = str(uuid.uuid4())
            guard = {"_id": new, "events": {"$ne": "e1"}, "recipient": {"$exists": False}}
            result = await coll.update_one(guard, {"$push": {"events": "e1"}, "$set": {"recipient": {}}}, upsert=True)
            assert result.upserted_id == new
            assert (await coll.update_one({"_id": "missing"}, {"$set": {"w": 1}})).matched_count == 0
            assert await coll.find_one_and_update({"_id": "gone", "v": 1}, {"$set": {"w": 1}}) is None
        scans = [s for s in statements if "$._id" in s]
        assert not scans, scans[:1]  # 4.11.0 unpatched: 15 statements, each over all 300 rows and more
        # what is stored is still found; numeric ids keep mongoeco's own look-up (1 and 1.0 are one _id)
        assert (await coll.update_one({"_id": new, "events": "e1"}, {"$set": {"w": 1}})).modified_count == 1
        await coll.insert_one({"_id": 1})
        assert (await coll.update_one({"_id": 1.0}, {"$set": {"w": 1}})).modified_count == 1


async def test_sqlite_a_write_with_a_multikey_index_does_not_read_every_entry(tmp_path: Path) -> None:
    """Every insert or save of a routing task deletes its old multikey entries by (collection, storage key); 4.11.0 has
    no index for that on `multikey_entries`, so each write read every entry of every task (correction 8)."""
    mongoeco_patch.apply()
    engine = SQLiteEngine(str(tmp_path / "mk.db"))
    async with AsyncMongoClient(engine) as client:
        coll = client["db"]["tasks"]
        await coll.create_index("terms")

        async def steps_per_write(stored: int) -> float:
            words = [[f"w{(i * 7 + j) % 300}" for j in range(20)] for i in range(stored)]
            await coll.insert_many([{"_id": str(uuid.uuid4()), "terms": w} for w in words])
            count = [0]

            def step() -> int:
                count[0] += 1
                return 0

            conn = engine._require_connection()
            conn.set_progress_handler(step, 100)
            for i in range(5):
                await coll.insert_one({"_id": f"new-{stored}-{i}", "terms": ["水管", f"w{i}"]})
                await coll.update_one({"_id": f"new-{stored}-{i}"}, {"$set": {"terms": ["厨房"]}})
            conn.set_progress_handler(None, 0)
            return count[0] / 10

        small = await steps_per_write(200)  # 4,000 entries
        large = await steps_per_write(1800)  # 40,000 entries in all
        # Unpatched, the delete visits every entry: ~10x the steps. Through the index the steps hardly move.
        assert large < 2 * small, (small, large)
        written = {f"new-{n}-{i}" for n in (200, 1800) for i in range(5)}
        assert {d["_id"] async for d in coll.find({"terms": "厨房"})} == written
        assert await coll.count_documents({"terms": "水管"}) == 0  # the old entries went with the update
