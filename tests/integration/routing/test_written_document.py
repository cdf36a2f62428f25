"""MongoRoutingStore.written_document: the work-items consumer builds an item from what this process's write
stored, not from a read back (one database command less per dispatched request); anything else reads."""

from __future__ import annotations

import uuid

from mongoeco.engines.memory import MemoryEngine
from mongoeco.wire.proxy import AsyncMongoEcoProxyServer
from pymongo import AsyncMongoClient

from huiying import mongoeco_patch
from services.routing.domain.lifecycle import Outcome, open_task
from services.routing.domain.rules import RoutingInput, decide
from services.routing.domain.teams import normalize_building
from services.routing.store import MongoRoutingStore
from shared.outbox import OutboxWriter, new_owner_id
from tests.unit.routing.factories import DIRECTORY, RULES, context, submitted


def dispatch_outcome() -> Outcome:
    sub = submitted()
    building = normalize_building(sub.location.building, sub.location.address)
    grid = DIRECTORY.grid_of(building)
    inp = RoutingInput(
        sub.service_code, sub.description, building, grid, dict(sub.attributes), tuple(sub.resident.vulnerability)
    )
    return open_task(sub, decide(inp, RULES, 1, DIRECTORY), grid, building, context(), sub.submitted_at, None)


async def test_the_item_of_a_write_this_process_made_needs_no_read() -> None:
    mongoeco_patch.apply()
    async with (
        AsyncMongoEcoProxyServer(engine=MemoryEngine(), host="127.0.0.1", port=0) as proxy,
        AsyncMongoClient(proxy.address.uri) as client,
    ):
        db = client[f"routing_{uuid.uuid4().hex[:8]}"]
        try:
            store = MongoRoutingStore(db, OutboxWriter(new_owner_id("test"), 5.0))
            outcome = dispatch_outcome()
            written = await store.insert_task(outcome)
            assert written is not None and outcome.events
            task_id, seq = written["_id"], outcome.events[-1].seq
            await db["tasks"].delete_one({"_id": task_id})  # a read would now find nothing
            remembered = await store.written_document(task_id, seq)
            assert remembered is not None and remembered["team_id"] == outcome.task.team_id
            assert not {"outbox", "outbox_due", "outbox_lease"} & set(remembered)  # as a read would return it
            assert await store.written_document(task_id, seq) is None  # taken once; then it is read (gone)
            # An event later than what this process wrote (another replica's write): read, not remembered.
            again = dispatch_outcome()
            stored = await store.insert_task(again)
            assert stored is not None
            await db["tasks"].update_one({"_id": stored["_id"]}, {"$set": {"team_id": "elsewhere"}, "$inc": {"seq": 1}})
            later = await store.written_document(stored["_id"], again.events[-1].seq + 1)
            assert later is not None and later["team_id"] == "elsewhere"
        finally:
            await client.drop_database(db.name)
