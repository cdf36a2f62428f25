"""huiying/mongoeco_features.py: mongoeco's SQLite feature answers survive writes and stay right."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mongoeco import AsyncMongoClient
from mongoeco.engines.memory import MemoryEngine
from mongoeco.engines.sqlite import SQLiteEngine
from mongoeco.types import Binary, Decimal128, UndefinedType

from huiying import mongoeco_features, mongoeco_patch

pytestmark = pytest.mark.skipif(
    mongoeco_features.installed_version() != mongoeco_features.PINNED,
    reason="the correction is pinned to one version",
)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[SQLiteEngine]:
    mongoeco_patch.apply()
    mongoeco_features.apply()
    yield SQLiteEngine(str(tmp_path / "f.db"))


def count_vm_steps(engine: SQLiteEngine) -> list[int]:
    """Hundreds of SQLite VM instructions on the engine's connection and on each connection it opens (readers)."""
    steps = [0]

    def step() -> int:
        steps[0] += 1
        return 0

    engine._require_connection().set_progress_handler(step, 100)
    create = engine._create_sqlite_connection

    def counted() -> Any:
        conn = create()
        conn.set_progress_handler(step, 100)
        return conn

    engine._create_sqlite_connection = counted  # type: ignore[method-assign]
    return steps


def test_other_versions_are_left_alone() -> None:
    line = mongoeco_features.apply("4.12.0")
    assert "not applied" in line and "4.12.0" in line


def test_the_correction_is_applied() -> None:
    mongoeco_features.apply()
    assert mongoeco_features.is_applied()


async def test_a_filtered_find_after_a_write_runs_no_feature_pass(engine: SQLiteEngine) -> None:
    async with AsyncMongoClient(engine) as client:
        coll = client["db"]["tasks"]
        await coll.create_index("at")
        await coll.create_index("keys")
        await coll.insert_many(
            [{"_id": str(uuid.uuid4()), "keys": [f"k{i % 40}"], "at": i, "team": f"t{i % 7}"} for i in range(2000)]
        )

        async def look_up() -> list[Any]:
            cursor = coll.find({"keys": {"$in": ["k1", "k2"]}, "at": {"$gte": 100}}).sort("at", -1).limit(50)
            return await cursor.to_list(None)

        assert len(await look_up()) == 50  # caches the collection's feature answers
        steps = count_vm_steps(engine)
        await look_up()
        cached = steps[0]
        for n in range(3):
            await coll.insert_one({"_id": str(uuid.uuid4()), "keys": ["k1"], "at": 5000 + n, "team": "t1"})
            await coll.update_one({"at": 7}, {"$set": {"team": "t2"}})
            steps[0] = 0
            found = await look_up()
            assert found[0]["at"] == 5000 + n
            # 4.11.0 re-runs its feature passes over all 2,000 rows after each write: many times the cached cost
            assert steps[0] <= cached * 1.5 + 20, (steps[0], cached)


QUERIES: list[tuple[dict[str, Any], list[tuple[str, int]] | None]] = [
    ({"v": {"$gte": 10}}, None),
    ({"v": {"$lt": 5}}, None),
    ({"v": 3}, None),
    ({"v": {"$in": [3, "x", "é"]}}, None),
    ({"v": {"$type": "array"}}, None),
    ({"v": {"$type": "decimal"}}, None),
    # not {"$type": "binData"}: 4.11.0's SQLite engine matches no document with it, with or without the correction
    ({"v": {"$in": [Binary(b"\x01\x02")]}}, None),
    ({"v": {"$type": "undefined"}}, None),
    ({"v": {"$exists": True}}, [("v", 1)]),
    ({"v": {"$exists": True}}, [("v", -1)]),
    ({"v.x": 1}, None),
]


async def _answers(coll: Any, forget: SQLiteEngine | None = None) -> list[list[str]]:
    answers: list[list[str]] = []
    for query, sort in QUERIES:
        if forget is not None:
            forget._invalidate_collection_features_cache()
        cursor = coll.find(query)
        if sort is not None:
            cursor = cursor.sort(sort)
            answers.append([d["_id"] for d in await cursor.to_list(None)])
        else:
            answers.append(sorted(d["_id"] for d in await cursor.to_list(None)))
    return answers


WRITTEN: list[tuple[str, Any]] = [
    ("decimal128", Decimal128("2.5")),
    ("bytes", Binary(b"\x01\x02")),
    ("undefined", UndefinedType()),
    ("array", [-1, 30.5]),
    ("non-ascii string", "é"),
    ("string", "x"),
    ("real", 3.5),
    ("embedded document", {"x": 1}),
]


@pytest.mark.parametrize("how", ["insert", "update", "replace"])
@pytest.mark.parametrize(("kind", "value"), WRITTEN, ids=[w[0] for w in WRITTEN])
async def test_a_written_value_changes_the_answers_as_a_fresh_look_does(
    engine: SQLiteEngine, tmp_path: Path, how: str, kind: str, value: Any
) -> None:
    """The corrected engine, its answers cached before the write, answers every query as an engine that recomputes
    every feature answer before each query (4.11.0's own result for the data, without any cached answer)."""
    fresh = SQLiteEngine(str(tmp_path / "fresh.db"))
    async with AsyncMongoClient(engine) as cached_client, AsyncMongoClient(fresh) as fresh_client:
        results: list[list[list[str]]] = []
        for client, forget in ((cached_client, False), (fresh_client, True)):
            coll = client["db"]["c"]
            await coll.create_index("v")
            await coll.insert_many([{"_id": f"d{i:03d}", "v": i} for i in range(40)])
            before = await _answers(coll, fresh if forget else None)  # cached: "no", or "all numbers" for the sort
            if how == "insert":
                await coll.insert_one({"_id": "new", "v": value})
            elif how == "update":
                await coll.update_one({"_id": "d007"}, {"$set": {"v": value}})
            else:
                await coll.replace_one({"_id": "d007"}, {"v": value})
            after = await _answers(coll, fresh if forget else None)
            results.append([*before, *after])
        assert results[0] == results[1]
        # and the memory engine agrees (for the other values 4.11.0's SQLite engine differs from it, cache or not)
        if kind in ("decimal128", "real"):
            async with AsyncMongoClient(MemoryEngine()) as memory_client:
                coll = memory_client["db"]["c"]
                await coll.insert_many([{"_id": f"d{i:03d}", "v": i} for i in range(40)])
                if how == "insert":
                    await coll.insert_one({"_id": "new", "v": value})
                elif how == "update":
                    await coll.update_one({"_id": "d007"}, {"$set": {"v": value}})
                else:
                    await coll.replace_one({"_id": "d007"}, {"v": value})
                assert await _answers(coll) == results[0][len(QUERIES) :]


async def test_a_rolled_back_transaction_leaves_no_wrong_answer(engine: SQLiteEngine) -> None:
    async with AsyncMongoClient(engine) as client:
        coll = client["db"]["c"]
        await coll.create_index("v")
        await coll.insert_many([{"_id": f"d{i:03d}", "v": i} for i in range(40)])
        await _answers(coll)
        async with client.start_session() as session:
            session.start_transaction()
            await coll.insert_one({"_id": "in-txn", "v": Decimal128("1.5")}, session=session)
            await coll.update_one({"_id": "d001"}, {"$set": {"v": "s"}}, session=session)
            session.abort_transaction()
        assert await coll.find_one({"_id": "in-txn"}) is None
        await coll.insert_one({"_id": "after", "v": [2, 50]})
        ids = [d["_id"] for d in await coll.find({"v": {"$exists": True}}).sort("v", 1).to_list(None)]
        assert "after" in ids and ids.index("d000") == 0
        assert sorted(d["_id"] for d in await coll.find({"v": {"$gte": 45}}).to_list(None)) == ["after"]
        assert [d["_id"] for d in await coll.find({"v": {"$type": "decimal"}}).to_list(None)] == []

        async with client.start_session() as session:
            session.start_transaction()
            await coll.insert_one({"_id": "committed", "v": Decimal128("1.5")}, session=session)
            session.commit_transaction()
        assert [d["_id"] for d in await coll.find({"v": {"$type": "decimal"}}).to_list(None)] == ["committed"]
        assert "committed" in [d["_id"] for d in await coll.find({"v": {"$lt": 2}}).to_list(None)]


async def test_a_ttl_purge_leaves_no_transaction_open(engine: SQLiteEngine, tmp_path: Path) -> None:
    """4.11.0's TTL purge drops a collection's answers after its commit. The correction must not run SQL there: a
    statement would open an implicit transaction that no commit closes, the next write would be a savepoint inside
    it, and the database would stay locked for every other connection (the chaos suite's hang after kill-database)."""
    import sqlite3
    from datetime import UTC, datetime, timedelta

    async with AsyncMongoClient(engine) as client:
        windows = client["db"]["rate_windows"]
        await windows.create_index("expires_at", expire_after_seconds=0)
        await windows.insert_one({"_id": "old", "n": 1, "expires_at": datetime.now(UTC) - timedelta(minutes=5)})
        await windows.insert_one({"_id": "live", "n": 1, "expires_at": datetime.now(UTC) + timedelta(minutes=5)})
        assert await windows.count_documents({"n": {"$gte": 1}}) == 1  # purges "old", answers cached
        await windows.update_one({"_id": "live"}, {"$inc": {"n": 1}})
        await windows.insert_one({"_id": "old2", "n": 1, "expires_at": datetime.now(UTC) - timedelta(minutes=5)})
        assert [d["_id"] async for d in windows.find({"n": {"$gte": 1}})] == ["live"]  # purges "old2"
        await windows.update_one({"_id": "live"}, {"$inc": {"n": 1}})
        assert not engine._require_connection().in_transaction
        other = sqlite3.connect(tmp_path / "f.db", timeout=1)
        try:
            other.execute("BEGIN IMMEDIATE")  # "database is locked" while a write is left uncommitted
            other.rollback()
        finally:
            other.close()
        assert (await windows.find_one({"_id": "live"}) or {}).get("n") == 3
