"""Which of Huiying's queries mongoeco answers without reading the whole collection (docs/mongoeco-queries.md).

PyMongo against mongoeco's own wire server in this process, as the services reach `huiying mongo`; each
service's real indexes (its store's `ensure_indexes()`), documents of the services' shape, and every query
of the request path, the background loops and the staff queue. For each query, at 1,000 and at 10,000 stored
documents: how many documents the engine decoded (memory engine: documents it matched in Python; SQLite:
documents it decoded, and the thousands of SQLite VM instructions it ran, which grow with the rows a SQL
scan visits). A query whose figures grow ~10x from 1,000 to 10,000 reads the collection; one whose figures
stay flat uses an index (or the `_id`).

Run:  python docs/mongoeco-queries.py            (with the launcher's corrections, as `huiying mongo` serves)
      python docs/mongoeco-queries.py --without-candidates (without huiying/mongoeco_candidates.py)
      python docs/mongoeco-queries.py --released (mongoeco as released)
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

NOW = datetime(2026, 6, 1, tzinfo=UTC)
TEAMS = ["property_maintenance", "public_order", "mediation", "legal_aid", "volunteers", "community_work_group"]
Query = Callable[[Any], Awaitable[Any]]


def intake_doc(i: int) -> dict[str, Any]:
    at = NOW - timedelta(minutes=i)
    return {
        "_id": str(uuid.uuid4()),
        "tracking_code": f"HY{i:010d}",
        "service_code": "property_repair",
        "channel": "web",
        "status": "dispatched",
        "submitted_at": at,
        "updated_at": at,
        "routing_seq": 1,
        "timeline": [{"event_id": str(uuid.uuid4()), "type": "request.submitted", "at": at}],
        "outbox": [],
    }


def task_doc(i: int) -> dict[str, Any]:
    at = NOW - timedelta(minutes=i)
    team = TEAMS[i % len(TEAMS)]
    return {
        "_id": str(uuid.uuid4()),
        "tracking_code": f"HY{i:010d}",
        "service_code": "property_repair",
        "status": "dispatched",
        "team_id": team,
        "assignee": f"{team}.member",
        "priority_rank": 2,
        "submitted_at": at,
        "due_at": at + timedelta(days=7),
        "claim_due_at": at + timedelta(hours=5),
        "next_check_at": NOW + timedelta(hours=4, minutes=i),
        "rev": 1,
        "seq": 1,
        # 并单 keys (services/routing/domain/duplicates.py): the place (service, building, unit) and the resident
        "match_keys": [f"property_repair|b{i % 12}|u{i % 4}", f"resident|property_repair|1380000{i % 500:04d}"],
        "history": [],
        "outbox": [],
    }


def notify_doc(i: int) -> dict[str, Any]:
    event = str(uuid.uuid4())
    return {
        "_id": str(uuid.uuid4()),
        "tracking_code": f"HY{i:010d}",
        "recipient": {"language": "zh-CN", "preferred_channel": "inbox"},
        "events": [event],
        "messages": [{"_id": event, "subject": "..."}],
        "deliveries": [{"_id": f"{event}:inbox:resident", "status": "sent"}],
        "version": 2,
        "updated_at": NOW - timedelta(minutes=i),
    }


def queries() -> dict[str, list[tuple[str, Query]]]:
    """(what, query) per service collection, as the stores write them (services/*/store.py, shared/outbox.py)."""
    from pymongo import ASCENDING, ReturnDocument

    queue_order = [("priority_rank", ASCENDING), ("due_at", ASCENDING), ("submitted_at", ASCENDING)]
    now_ms = int(NOW.timestamp() * 1000)
    return {
        "intake": [
            (
                "insert a request (the submission)",
                lambda c: c.insert_one(intake_doc(-1) | {"tracking_code": "HYNEW0000001"}),
            ),
            ("find_one by tracking_code (track page)", lambda c: c.find_one({"tracking_code": "HY0000000007"})),
            (
                "status view: update_one {_id, routing_seq $lt, status $ne, timeline.event_id $ne}",
                lambda c: c.update_one(
                    {
                        "_id": "x",
                        "routing_seq": {"$lt": 2},
                        "status": {"$ne": "cancelled"},
                        "timeline.event_id": {"$ne": "e"},
                    },
                    {"$set": {"routing_seq": 2}},
                ),
            ),
            (
                "outbox sweeper: find {outbox_due $lt now}",
                lambda c: c.find({"outbox_due": {"$lt": now_ms}}).limit(50).to_list(),
            ),
        ],
        "routing": [
            ("insert a task", lambda c: c.insert_one(task_doc(-1))),
            (
                "save: find_one_and_update {_id, rev, status}",
                lambda c: c.find_one_and_update({"_id": "x", "rev": 1, "status": "dispatched"}, {"$inc": {"rev": 1}}),
            ),
            ("find_one by tracking_code", lambda c: c.find_one({"tracking_code": "HY0000000007"})),
            (
                "loads: find {team_id, status $in, assignee $ne null}",
                lambda c: c.find(
                    {"team_id": "mediation", "status": {"$in": ["dispatched", "claimed"]}, "assignee": {"$ne": None}},
                    {"assignee": 1},
                ).to_list(),
            ),
            (
                "staff queue: find {status $in, team_id} sorted, 50",
                lambda c: (
                    c.find({"status": {"$in": ["dispatched", "claimed"]}, "team_id": "mediation"})
                    .sort(queue_order)
                    .limit(50)
                    .to_list()
                ),
            ),
            (
                "staff queue: count_documents {status $in, team_id}",
                lambda c: c.count_documents({"status": {"$in": ["dispatched", "claimed"]}, "team_id": "mediation"}),
            ),
            (
                "并单 look-up: find {match_keys $in, submitted_at $gte} sorted newest first, 50",
                lambda c: (
                    c.find(
                        {
                            "match_keys": {"$in": ["property_repair|b3|u3", "resident|property_repair|13800000003"]},
                            "submitted_at": {"$gte": NOW - timedelta(days=90)},
                        }
                    )
                    .sort("submitted_at", -1)
                    .limit(50)
                    .to_list()
                ),
            ),
            (
                "SLA sweeper: find {next_check_at $lte now} sorted, 100",
                lambda c: (
                    c.find({"next_check_at": {"$lte": NOW}}).sort("next_check_at", ASCENDING).limit(100).to_list()
                ),
            ),
        ],
        "notify": [
            (
                "first event: update_one {_id, events $ne, recipient $exists false}, upsert",
                lambda c: c.update_one(
                    {"_id": str(uuid.uuid4()), "events": {"$ne": "e"}, "recipient": {"$exists": False}},
                    {"$push": {"events": "e"}, "$set": {"recipient": {}}},
                    upsert=True,
                ),
            ),
            (
                "next event: update_one {_id, version}",
                lambda c: c.update_one({"_id": "x", "version": 2}, {"$inc": {"version": 1}}),
            ),
            (
                "delivery claim: find_one_and_update {due_at $lte now, $or lease}, sort due_at",
                lambda c: c.find_one_and_update(
                    {"due_at": {"$lte": NOW}, "$or": [{"lease_until": None}, {"lease_until": {"$lte": NOW}}]},
                    {"$set": {"lease_until": NOW + timedelta(seconds=30)}},
                    sort=[("due_at", ASCENDING)],
                    return_document=ReturnDocument.AFTER,
                ),
            ),
            ("inbox: find_one by tracking_code", lambda c: c.find_one({"tracking_code": "HY0000000007"})),
        ],
    }


async def ensure_indexes(db: Any, service: str) -> None:
    """The service's own index declarations (its store's ensure_indexes)."""
    if service == "intake":
        from services.intake.store import MongoIntakeStore

        await MongoIntakeStore(db, writer=None).ensure_indexes()  # type: ignore[arg-type]
    elif service == "routing":
        from services.routing.store import MongoRoutingStore

        await MongoRoutingStore(db, writer=None).ensure_indexes()  # type: ignore[arg-type]
    else:
        from services.notify.store import MongoNotifyStore

        await MongoNotifyStore(db).ensure_indexes()


def counter(engine: Any) -> Callable[[], tuple[int, int]]:
    """(documents decoded, thousands of SQLite VM instructions) since the last call."""
    from mongoeco.engines.sqlite import SQLiteEngine

    counts = [0, 0]
    name = "_deserialize_document" if isinstance(engine, SQLiteEngine) else "_borrow_storage_document"
    original = getattr(engine, name)

    def counting(*args: Any) -> Any:
        counts[0] += 1
        return original(*args)

    setattr(engine, name, counting)
    if isinstance(engine, SQLiteEngine):

        def step() -> int:
            counts[1] += 1
            return 0

        engine._require_connection().set_progress_handler(step, 1000)

    def read() -> tuple[int, int]:
        out = (counts[0], counts[1])
        counts[0] = counts[1] = 0
        return out

    return read


async def measure(engine_name: str, sizes: tuple[int, ...]) -> dict[tuple[str, str], list[tuple[int, int]]]:
    from mongoeco.engines.memory import MemoryEngine
    from mongoeco.engines.sqlite import SQLiteEngine
    from mongoeco.wire.proxy import AsyncMongoEcoProxyServer
    from pymongo import AsyncMongoClient

    makers = {"intake": intake_doc, "routing": task_doc, "notify": notify_doc}
    collections = {"intake": "requests", "routing": "tasks", "notify": "requests"}
    figures: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            engine = SQLiteEngine(str(Path(tmp) / "q.db")) if engine_name == "sqlite" else MemoryEngine()
            # As the services reach it: PyMongo over the wire to mongoeco's server (what `huiying mongo` runs).
            async with (
                AsyncMongoEcoProxyServer(engine=engine, host="127.0.0.1", port=0) as proxy,
                AsyncMongoClient(proxy.address.uri) as client,
            ):
                for service, listed in queries().items():
                    db = client[service]
                    await ensure_indexes(db, service)
                    coll = db[collections[service]]
                    await coll.insert_many([makers[service](i) for i in range(size)])
                    # A few documents with work due, as a running stack has (notify's deliveries, outbox events).
                    if service == "notify":
                        await coll.update_many(
                            {"tracking_code": {"$in": ["HY0000000001", "HY0000000002"]}}, {"$set": {"due_at": NOW}}
                        )
                    read = counter(engine)
                    for what, query in listed:
                        read()
                        await query(coll)
                        figures.setdefault((service, what), []).append(read())
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--released", action="store_true", help="mongoeco as released (no launcher corrections)")
    parser.add_argument(
        "--without-candidates",
        action="store_true",
        help="the launcher's corrections without huiying/mongoeco_candidates.py (docs/mongoeco-candidates.md)",
    )
    parser.add_argument("--sizes", default="1000,10000")
    args = parser.parse_args()
    if not args.released:
        from huiying import mongoeco_candidates, mongoeco_patch

        print(mongoeco_patch.apply())
        if not args.without_candidates:
            print(mongoeco_candidates.apply())
    sizes = tuple(int(x) for x in args.sizes.split(","))
    results = {name: asyncio.run(measure(name, sizes)) for name in ("memory", "sqlite")}
    label = " / ".join(f"{s:,}" for s in sizes)
    print(f"| service | query | memory: documents read at {label} | SQLite: documents decoded, k VM steps at {label} |")
    print("| --- | --- | --- | --- |")
    for key in results["memory"]:
        mem = " / ".join(str(d) for d, _ in results["memory"][key])
        sql = " / ".join(f"{d}, {k}k" for d, k in results["sqlite"][key])
        print(f"| {key[0]} | {key[1]} | {mem} | {sql} |")


if __name__ == "__main__":
    main()
