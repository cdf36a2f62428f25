"""huiying/mongoeco_candidates.py: `$in` and AND filters read through the smallest index candidates (memory), and a
date range inside a SQL filter reads through its single-field index (SQLite), with mongoeco's own answers."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import Int64
from mongoeco import AsyncMongoClient
from mongoeco.engines.memory import MemoryEngine
from mongoeco.engines.sqlite import SQLiteEngine

from huiying import mongoeco_candidates, mongoeco_patch

pytestmark = pytest.mark.skipif(
    mongoeco_candidates.installed_version() != mongoeco_candidates.PINNED,
    reason="the correction is pinned to one version",
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)
WRAPPED = (
    (MemoryEngine, "_indexed_candidate_storage_keys_for_plan_locked"),
    (SQLiteEngine, "_translate_query_plan_with_multikey"),
    (SQLiteEngine, "_sort_requires_python"),
    (SQLiteEngine, "_build_select_sql"),
)


def _apply() -> None:
    mongoeco_patch.apply()  # as the launcher: corrections 1-7 first, then these
    mongoeco_candidates.apply()


@contextlib.contextmanager
def uncorrected() -> Iterator[None]:
    """This module's corrections taken off for the duration (mongoeco_patch's stay): the engine to compare with."""
    saved = [(cls, name, cls.__dict__[name]) for cls, name in WRAPPED]
    for cls, name, method in saved:
        if getattr(method, mongoeco_candidates._MARK, False):
            setattr(cls, name, method.__wrapped__)
    try:
        yield
    finally:
        for cls, name, method in saved:
            setattr(cls, name, method)


def task(i: int) -> dict[str, Any]:
    """A routing task of the 并单 look-up's shape, one an hour (a long history, a short window)."""
    return {
        "_id": f"t{i:06d}",
        "status": "dispatched" if i > 3 else "claimed",
        "submitted_at": NOW - timedelta(hours=i),
        # a building's unit and a resident (the first ten residents wrote once, the others every fifty hours)
        "match_keys": [f"repair|b{i % 12}|u{i % 4}", f"resident|{i}" if i < 10 else f"resident|r{i % 50}"],
    }


LOOKUP = {"match_keys": {"$in": ["repair|b3|u3", "resident|r7"]}, "submitted_at": {"$gte": NOW - timedelta(hours=72)}}
FOUND = [f"t{i:06d}" for i in range(73) if i % 12 == 3 or (i >= 10 and i % 50 == 7)]
# The soak's case: a window holding the whole collection, keys held by a few tasks.
CROWDED = {"match_keys": {"$in": ["resident|3", "resident|7"]}, "submitted_at": {"$gte": NOW - timedelta(days=3650)}}


def test_other_versions_are_left_alone() -> None:
    line = mongoeco_candidates.apply("4.12.0")
    assert "not applied" in line and "4.12.0" in line


def test_every_correction_is_in_place_after_apply() -> None:
    _apply()
    assert mongoeco_candidates.is_applied()


async def _memory_reads(size: int) -> tuple[int, int]:
    """(documents read by an `$in` on an indexed field, by the 并单 look-up in a crowded window) over `size` tasks."""
    engine = MemoryEngine()
    async with AsyncMongoClient(engine) as client:
        coll = client["db"][f"tasks_{uuid.uuid4().hex[:6]}"]
        await coll.create_index("status")
        await coll.create_index("match_keys")
        await coll.create_index("submitted_at")
        await coll.insert_many([task(i) for i in range(size)])
        seen = [0]
        original = engine._borrow_storage_document

        def counting(data: Any) -> Any:
            seen[0] += 1
            return original(data)

        engine._borrow_storage_document = counting  # type: ignore[method-assign]
        claimed = await coll.find({"status": {"$in": ["claimed", "closed"]}}).to_list()
        assert [d["_id"] for d in claimed] == [f"t{i:06d}" for i in range(4)]
        by_in, seen[0] = seen[0], 0
        found = await coll.find(CROWDED).sort("submitted_at", -1).limit(50).to_list()
        assert [d["_id"] for d in found] == ["t000003", "t000007"]
        by_keys, seen[0] = seen[0], 0
        found = await coll.find(LOOKUP).sort("submitted_at", -1).limit(50).to_list()
        assert [d["_id"] for d in found] == FOUND
        assert seen[0] <= 73  # min(tasks under the two keys, tasks in the 72-hour window)
        return by_in, by_keys


async def test_memory_an_in_and_the_match_lookup_read_as_many_documents_at_any_size() -> None:
    """4.11.0 takes no candidates from an `$in`: 500 / 5,000 documents read for the `$in`, and the whole window
    (correction 5) for the look-up, here the whole collection; corrected, the buckets of its values."""
    _apply()
    small, large = await _memory_reads(500), await _memory_reads(5000)
    assert small == large == (4, 2), (small, large)  # the four claimed tasks; the two tasks under the keys


async def test_memory_an_and_takes_its_smallest_candidates() -> None:
    """routing's loads `{team_id, status $in, assignee $ne null}`: 4.11.0 takes the first equality's bucket; a
    smaller `$in` (or range) is taken instead."""
    _apply()
    engine = MemoryEngine()
    async with AsyncMongoClient(engine) as client:
        coll = client["db"]["tasks"]
        await coll.create_index("team_id")
        await coll.create_index("status")
        await coll.insert_many(
            [
                {"_id": f"t{i}", "team_id": "g", "status": "closed" if i > 5 else "claimed", "assignee": "a"}
                for i in range(2000)
            ]
        )
        seen = [0]
        original = engine._borrow_storage_document

        def counting(data: Any) -> Any:
            seen[0] += 1
            return original(data)

        engine._borrow_storage_document = counting  # type: ignore[method-assign]
        query = {"team_id": "g", "status": {"$in": ["claimed", "dispatched"]}, "assignee": {"$ne": None}}
        assert await coll.count_documents(query) == 6
        assert seen[0] <= 6  # 4.11.0: the team's 2,000


def _varied(i: int) -> dict[str, Any]:
    """Documents with the field missing, null, scalar of every type the services store, arrays, nested arrays."""
    values: list[Any] = [
        "a",
        "b",
        1,
        1.0,
        Int64(2),
        2.5,
        True,
        False,
        None,
        NOW - timedelta(hours=i % 7),
        ["a", 3],
        ["b", "c", 1],
        [["a"]],
        [],
        {"x": 1},
        "1",
    ]
    doc: dict[str, Any] = {"_id": f"v{i:04d}", "n": i % 5, "at": NOW - timedelta(hours=i % 11)}
    if i % 17:
        doc["f"] = values[i % len(values)]
    return doc


VARIED_QUERIES: list[dict[str, Any]] = [
    {"f": {"$in": ["a", "c"]}},
    {"f": {"$in": [1, "b"]}},
    {"f": {"$in": [Int64(1), 2]}},
    {"f": {"$in": [2.5, True]}},
    {"f": {"$in": [False, 0]}},
    {"f": {"$in": [NOW, NOW - timedelta(hours=3)]}},
    {"f": {"$in": [None, "a"]}},
    {"f": {"$in": [["a", 3], "zz"]}},
    {"f": {"$in": [{"x": 1}]}},
    {"f": {"$in": ["nothing"]}},
    # (an empty `$in` on a field with an index fails on SQLite in 4.11.0, corrected or not: a syntax error)
    {"f": {"$in": ["a", 1]}, "n": {"$gte": 2}},
    {"f": {"$in": ["a", 1]}, "n": 3},
    {"f": "a", "at": {"$gte": NOW - timedelta(hours=4)}},
    {"f": "b"},
    {"f": {"$in": ["c", "1"]}, "at": {"$gte": NOW - timedelta(hours=5)}},
    {"f": {"$in": ["a", "b"]}, "n": {"$in": [1, 2, 3]}, "at": {"$lte": NOW}},
    {"f": {"$in": ["b", 2]}, "at": {"$lt": NOW - timedelta(hours=2)}},
    {"at": {"$gte": NOW - timedelta(hours=4)}, "n": {"$in": [1, 4]}},
    {"at": {"$gt": NOW - timedelta(hours=6)}, "f": {"$exists": False}},
    {"$or": [{"f": {"$in": ["a"]}}, {"n": 2}], "at": {"$lte": NOW - timedelta(hours=1)}},
]


async def _answers(coll: Any) -> list[Any]:
    out: list[Any] = []
    for query in VARIED_QUERIES:
        out.append([d["_id"] async for d in coll.find(query)])
        out.append([d["_id"] async for d in coll.find(query).sort([("at", -1), ("_id", 1)]).limit(7)])
        out.append(await coll.count_documents(query))
    return out


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_the_answers_are_the_uncorrected_engines(kind: str) -> None:
    """Same documents in the same order as 4.11.0 without this module, over varied data (missing fields, null,
    numbers of every width, booleans, dates, arrays, nested arrays, documents) and varied filters."""
    _apply()
    engine = SQLiteEngine(":memory:") if kind == "sqlite" else MemoryEngine()
    async with AsyncMongoClient(engine) as client:
        coll = client["db"]["v"]
        for field in ("f", "n", "at"):
            await coll.create_index(field)
        await coll.insert_many([_varied(i) for i in range(400)])
        corrected = await _answers(coll)
        with uncorrected():
            released = await _answers(coll)
        assert corrected == released
        assert any(isinstance(a, list) and a for a in corrected)  # the filters do find documents


async def _sqlite_steps(
    size: int, query: dict[str, Any] = LOOKUP, expected: list[str] = FOUND, every: int = 1000
) -> tuple[int, int]:
    """(documents decoded, SQLite VM steps in units of `every`) of a look-up (sorted, limit 50) over `size` tasks;
    the in-memory database keeps every read on the engine's own connection, where the steps are counted. The
    answer is also checked against 4.11.0's without this module."""
    engine = SQLiteEngine(":memory:")
    async with AsyncMongoClient(engine) as client:
        coll = client["db"]["tasks"]
        await coll.create_index("match_keys")
        await coll.create_index("submitted_at")
        await coll.insert_many([task(i) for i in range(size)])
        # once to fill mongoeco's per-collection feature caches (cleared by every write), then measured
        assert [d["_id"] for d in await coll.find(query).sort("submitted_at", -1).limit(50).to_list()] == expected
        counts = [0, 0]
        original = engine._deserialize_document

        def decoding(document: Any) -> Any:
            counts[0] += 1
            return original(document)

        def step() -> int:
            counts[1] += 1
            return 0

        engine._deserialize_document = decoding  # type: ignore[method-assign,assignment]
        engine._require_connection().set_progress_handler(step, every)
        found = await coll.find(query).sort("submitted_at", -1).limit(50).to_list()
        engine._require_connection().set_progress_handler(None, every)
        engine._deserialize_document = original  # type: ignore[method-assign]
        assert [d["_id"] for d in found] == expected
        with uncorrected():
            assert [d["_id"] for d in await coll.find(query).sort("submitted_at", -1).to_list()] == expected
        return counts[0], counts[1]


async def test_sqlite_the_match_lookup_costs_the_same_at_any_size() -> None:
    """4.11.0 runs the look-up's date bound as json_extract over every row (and, sorted, asks SQL about every
    row's sort value first): its VM steps grow with the collection. Corrected, they follow the window (from 1,000
    tasks on, the window's 72 rows are fewer than the two keys' history, so the window is read at both sizes)."""
    _apply()
    small, large = await _sqlite_steps(1000), await _sqlite_steps(4000)
    assert small[0] == large[0]  # the matching documents only, on both
    assert large[1] <= small[1] * 1.5 + 2, (small, large)


async def test_sqlite_a_crowded_window_reads_the_keys_rows_only() -> None:
    """The soak's case on SQLite: a window holding the whole history. Reading the window's rows through the date
    index still reads all of them; with the keys' strings in the same AND, the rows are the keys' index entries
    (multikey for arrays, scalar for plain values) and the date is checked on those few rows."""
    _apply()
    crowded = ["t000003", "t000007"]
    steps = [(await _sqlite_steps(size, CROWDED, crowded, every=100))[1] for size in (400, 4000)]
    # Through the window's rows: ~10x the steps at 10x the tasks. Through the keys' rows: about the same.
    assert steps[1] <= steps[0] * 1.5 + 5, steps
