"""Versioned config documents with their audit trail (shared/configstore.py), against the embedded MongoDB:
versions and audit entries, stale edits, idempotent receipt, and two replicas' copies over one database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from shared.configstore import ConfigStore, LiveConfig, StaleConfig
from tests.support import eventually, unique

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
async def store(mongo: AsyncMongoClient[dict[str, Any]]) -> Any:
    name = unique("hyt-config-")
    db = mongo[name]
    s = ConfigStore(db)
    await s.ensure_indexes()
    yield s
    await mongo.drop_database(name)


async def test_the_file_seeds_version_1_once(store: ConfigStore) -> None:
    await store.ensure_seeded("sla", {"a": 1}, T0, "routing/sla.yaml")
    await store.ensure_seeded("sla", {"a": 2}, T0, "routing/sla.yaml")  # a second replica starting
    found = await store.latest("sla")
    assert found is not None and (found.version, found.body, found.changed_by) == (1, {"a": 1}, "config")
    assert await store.head_versions() == {"sla": 1}


async def test_each_change_is_a_version_with_who_when_before_after(store: ConfigStore) -> None:
    await store.ensure_seeded("sla", {"a": 1}, T0, "file")
    v2 = await store.save("sla", 1, {"a": 2}, "admin", T0 + timedelta(minutes=1), "faster")
    v3 = await store.save("sla", 2, {"a": 3}, "admin2", T0 + timedelta(minutes=2))
    assert (v2.version, v3.version) == (2, 3)
    log = [v.audit() for v in await store.history("sla")]
    assert [(e["version"], e["who"], e["before"], e["after"]) for e in log] == [
        (3, "admin2", {"a": 2}, {"a": 3}),
        (2, "admin", {"a": 1}, {"a": 2}),
        (1, "config", None, {"a": 1}),
    ]
    assert log[1]["note"] == "faster" and log[1]["when"] == T0 + timedelta(minutes=1)
    old = await store.get("sla", 2)
    assert old is not None and old.body == {"a": 2}  # every version stays readable


async def test_an_edit_of_a_stale_version_is_refused_and_stores_nothing(store: ConfigStore) -> None:
    await store.ensure_seeded("teams", {"t": []}, T0, "file")
    await store.save("teams", 1, {"t": ["a"]}, "first", T0)
    with pytest.raises(StaleConfig) as refused:
        await store.save("teams", 1, {"t": ["b"]}, "second", T0)
    assert refused.value.current == 2
    assert [v.version for v in await store.history("teams")] == [2, 1]


async def test_a_head_left_behind_by_a_crash_is_caught_up(store: ConfigStore) -> None:
    await store.ensure_seeded("calendar", {"y": 1}, T0, "file")
    # a writer stopped between its insert and the head: version 2 exists, the head still says 1
    await store.versions.insert_one(
        {
            "_id": "calendar:000002",
            "name": "calendar",
            "version": 2,
            "body": {"y": 2},
            "changed_by": "admin",
            "changed_at": T0,
            "note": None,
            "before": {"y": 1},
        }
    )
    found = await store.latest("calendar")
    assert found is not None and found.version == 2
    assert (await store.head_versions())["calendar"] == 2
    saved = await store.save("calendar", 2, {"y": 3}, "admin", T0)
    assert saved.version == 3


async def test_a_received_version_is_stored_once_and_never_moves_the_head_back(store: ConfigStore) -> None:
    assert await store.receive("templates", 2, {"v": 2}, "admin", T0)
    assert not await store.receive("templates", 2, {"v": 2}, "admin", T0)  # redelivered
    assert await store.receive("templates", 1, {"v": 1}, "config", T0)  # late
    assert (await store.head_versions())["templates"] == 2


async def test_a_change_through_one_replica_is_seen_by_the_other_within_seconds(
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    name = unique("hyt-config-")
    try:
        a_store, b_store = ConfigStore(mongo[name]), ConfigStore(mongo[name])  # two processes, one database
        seen: list[dict[str, Any]] = []
        a = LiveConfig(a_store, {"sla": lambda body: body["limit"]})
        b = LiveConfig(b_store, {"sla": lambda body: body["limit"]}, seen.append)
        await a_store.ensure_seeded("sla", {"limit": 4}, T0, "file")
        await a.refresh()
        await b.refresh()
        assert a.values == b.values == {"sla": 4}
        loop = b.loop(0.2)
        loop.start()
        try:
            passes = loop.passes
            await eventually(lambda: loop.passes > passes + 2, timeout=5, what="b's refresh loop to run")
            assert len(seen) == 1  # nothing changed: nothing re-read or re-applied
            await a_store.save("sla", 1, {"limit": 2}, "admin", T0)
            await a.refresh()
            assert a.values["sla"] == 2
            await eventually(lambda: b.values.get("sla") == 2, timeout=3, what="replica b to see version 2")
            assert seen[-1] == {"sla": 2} and b.versions == {"sla": 2}
        finally:
            await loop.stop()
    finally:
        await mongo.drop_database(name)


async def test_a_version_that_does_not_parse_keeps_the_previous_value(store: ConfigStore) -> None:
    def parse(body: dict[str, Any]) -> int:
        if "limit" not in body:
            raise ValueError("no limit")
        return int(body["limit"])

    live = LiveConfig(store, {"sla": parse})
    await store.ensure_seeded("sla", {"limit": 4}, T0, "file")
    await live.refresh()
    await store.save("sla", 1, {"oops": True}, "someone", T0)  # written past the checks (by hand)
    await live.refresh()
    assert live.values == {"sla": 4}
