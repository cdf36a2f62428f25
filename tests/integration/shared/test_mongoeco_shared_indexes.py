"""huiying/mongoeco_shared_indexes.py (correction 9): one SQLite index per entry table, with the same answers."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest
from mongoeco import AsyncMongoClient
from mongoeco.engines.sqlite import SQLiteEngine

from huiying import mongoeco_patch, mongoeco_shared_indexes
from huiying.mongoeco_shared_indexes import SHARED_MULTIKEY, SHARED_SCALAR

pytestmark = pytest.mark.skipif(
    mongoeco_patch.installed_version() != mongoeco_patch.PINNED, reason="the correction is pinned to one version"
)

FIELDS = ("team_id", "status", "tracking_code", "building", "assignee", "service_code")


def entry_indexes(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name IN ('multikey_entries', 'scalar_index_entries')"
        ).fetchall()
    return {row[0] for row in rows}


def task(i: int) -> dict[str, object]:
    return {
        "_id": str(uuid.uuid4()),
        "team_id": f"t{i % 3}",
        "status": "open" if i % 2 else "closed",
        "tracking_code": f"HY{i:06d}",
        "building": f"b{i % 5}",
        "terms": [f"w{i % 4}", "水管", f"u{i}"],
    }


async def test_every_mongodb_index_shares_one_sqlite_index_per_entry_table(tmp_path: Path) -> None:
    """4.11.0 gives every MongoDB index its own identical SQLite index on the shared entry tables, and SQLite writes
    every entry into all of them; corrected, there is one per table (plus the storage-key indexes)."""
    mongoeco_patch.apply()
    path = tmp_path / "shared.db"
    async with AsyncMongoClient(SQLiteEngine(str(path))) as client:
        tasks, staff = client["db"]["tasks"], client["other"]["staff"]
        for field in FIELDS:
            await tasks.create_index(field)
        await tasks.create_index("terms")
        await tasks.create_index([("team_id", 1), ("status", 1)])
        await staff.create_index("team")
        await tasks.insert_many([task(i) for i in range(40)])
        await staff.insert_many([{"_id": f"s{i}", "team": f"t{i % 3}"} for i in range(9)])
        # The same answers through the shared indexes (scalar, multikey, compound, another database).
        assert await tasks.count_documents({"terms": "w1"}) == 10
        assert await tasks.count_documents({"terms": "水管", "building": "b2"}) == 8
        assert [d["tracking_code"] async for d in tasks.find({"tracking_code": "HY000007"})] == ["HY000007"]
        assert await tasks.count_documents({"team_id": "t1", "status": "open"}) == 7
        assert await staff.count_documents({"team": "t2"}) == 3
        await tasks.update_one({"tracking_code": "HY000007"}, {"$set": {"terms": ["厨房"]}})
        assert await tasks.count_documents({"terms": "厨房"}) == 1
        assert await tasks.count_documents({"terms": "u7"}) == 0
    names = entry_indexes(path)
    assert {SHARED_MULTIKEY, SHARED_SCALAR} <= names
    assert not [n for n in names if n.startswith(("mkidx_", "scidx_"))], names
    assert len(names) == 4, names  # the two shared ones and the two (collection_id, storage_key) indexes


async def test_dropping_an_index_a_collection_or_a_database_leaves_the_others_readable(tmp_path: Path) -> None:
    mongoeco_patch.apply()
    path = tmp_path / "drops.db"
    async with AsyncMongoClient(SQLiteEngine(str(path))) as client:
        tasks, gone, staff = client["db"]["tasks"], client["db"]["gone"], client["other"]["staff"]
        for coll in (tasks, gone):
            await coll.create_index("terms")
            await coll.create_index("building")
            await coll.insert_many([task(i) for i in range(12)])
        await staff.create_index("team")
        await staff.insert_one({"_id": "s", "team": "t0"})
        await tasks.drop_index("building_1")
        await gone.drop()
        await client.drop_database("other")
        assert await tasks.count_documents({"terms": "w2"}) == 3  # read through the shared multikey index
        await tasks.create_index("building")
        assert await tasks.count_documents({"building": "b1"}) == 3
        with sqlite3.connect(path) as conn:
            (left,) = conn.execute("SELECT count(*) FROM multikey_entries WHERE index_name = 'building_1'").fetchone()
    assert {SHARED_MULTIKEY, SHARED_SCALAR} <= entry_indexes(path)
    assert left == 0  # mongoeco deleted the dropped index's entries (and the re-created one is scalar only)


async def test_a_database_written_before_the_correction_is_migrated_when_opened(tmp_path: Path) -> None:
    """A file from an earlier release: catalogue rows name per-index copies (`mkidx_`, `scidx_`). Opened with the
    correction, they point at the shared indexes and the copies are dropped, in the opening transaction."""
    mongoeco_patch.apply()
    path = tmp_path / "old.db"
    async with AsyncMongoClient(SQLiteEngine(str(path))) as client:
        tasks = client["db"]["tasks"]
        await tasks.create_index("terms")
        await tasks.create_index("building")
        await tasks.insert_many([task(i) for i in range(20)])
    # Make it what 4.11.0 as released wrote: its own copies, named in the catalogue.
    with sqlite3.connect(path) as conn:
        conn.execute(
            'CREATE INDEX "mkidx_0123456789abcdef" ON multikey_entries '
            "(collection_id, index_name, type_score, element_key, storage_key)"
        )
        conn.execute(
            'CREATE INDEX "scidx_0123456789abcdef" ON scalar_index_entries '
            "(collection_id, index_name, type_score, element_key, storage_key)"
        )
        conn.execute('DROP INDEX "huiying_multikey_entries_lookup"')
        conn.execute('DROP INDEX "huiying_scalar_index_entries_lookup"')
        conn.execute(
            "UPDATE indexes SET multikey_physical_name = 'mkidx_0123456789abcdef' "
            "WHERE multikey_physical_name IS NOT NULL"
        )
        conn.execute(
            "UPDATE indexes SET scalar_physical_name = 'scidx_0123456789abcdef' WHERE scalar_physical_name IS NOT NULL"
        )
    assert {"mkidx_0123456789abcdef", "scidx_0123456789abcdef"} <= entry_indexes(path)
    async with AsyncMongoClient(SQLiteEngine(str(path))) as client:
        tasks = client["db"]["tasks"]
        assert await tasks.count_documents({"terms": "w3"}) == 5
        assert await tasks.count_documents({"building": "b4"}) == 4
        await tasks.insert_one(task(99))
        assert await tasks.count_documents({"terms": "u99"}) == 1
    names = entry_indexes(path)
    assert {SHARED_MULTIKEY, SHARED_SCALAR} <= names and not [n for n in names if n.startswith(("mkidx_", "scidx_"))]
    with sqlite3.connect(path) as conn:
        named = set(conn.execute("SELECT multikey_physical_name, scalar_physical_name FROM indexes").fetchall())
    assert named <= {(SHARED_MULTIKEY, SHARED_SCALAR), (None, None), (None, SHARED_SCALAR), (SHARED_MULTIKEY, None)}


def test_other_versions_are_left_alone() -> None:
    assert "not applied" in mongoeco_shared_indexes.apply("4.12.0")
