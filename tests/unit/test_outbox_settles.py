"""The outbox's settle batching: the bound of a batch, the ids a waiting settle holds, which settles a later one
covers, and the window's bound against the lease. No broker, no database (tests/integration/shared/
test_outbox_settles.py runs the same relay on both)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from shared.events import Envelope
from shared.outbox import OUTBOX, OutboxRelay, OutboxWriter, SettleQueue, _Settle


@dataclass(frozen=True)
class Collection:
    """What the relay reads of a collection before it writes to it: its names."""

    name: str = "requests"
    full_name: str = "intake.requests"


class RecordingBus:
    def __init__(self) -> None:
        self.published: list[str] = []

    async def publish(self, envelope: Envelope) -> None:
        self.published.append(str(envelope.event_id))


def settle(doc: str, *ids: str, complete: bool = True, collection: Any = None) -> _Settle:
    return _Settle(collection or Collection(), doc, ids, complete)


def test_a_batch_is_full_at_its_bound_and_takes_at_most_that_many_oldest_first() -> None:
    queue = SettleQueue(3)
    assert [queue.put(settle(f"r{i}", f"e{i}")) for i in range(5)] == [False, False, True, True, True]
    assert [s.doc_id for s in queue.take()] == ["r0", "r1", "r2"]
    assert len(queue) == 2
    assert [s.doc_id for s in queue.take()] == ["r3", "r4"]
    assert len(queue) == 0 and queue.take() == []


def test_a_bound_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        SettleQueue(0)


def test_the_ids_of_a_settle_stay_waiting_until_it_was_written() -> None:
    queue = SettleQueue(10)
    queue.put(settle("r1", "a"))
    key = ("intake.requests", "r1")
    assert queue.waiting(key) == {"a"}
    taken = queue.take()
    assert queue.waiting(key) == {"a"}  # being written: a write meanwhile must not publish it again
    queue.done(taken)
    assert queue.waiting(key) == frozenset()


def test_the_same_document_in_two_collections_is_two_documents() -> None:
    queue = SettleQueue(10)
    queue.put(settle("r1", "a"))
    queue.put(settle("r1", "b", collection=Collection("tasks", "routing.tasks")))
    assert queue.waiting(("intake.requests", "r1")) == {"a"}
    assert queue.waiting(("routing.tasks", "r1")) == {"b"}
    assert len(queue.take()) == 2


def test_a_later_settle_covering_an_earlier_one_of_the_same_document_replaces_it_in_either_order() -> None:
    for order in (["a"], ["a", "b"]), (["a", "b"], ["a"]):
        queue = SettleQueue(10)
        for ids in order:
            queue.put(settle("r1", *ids))
        queue.put(settle("r2", "c"))
        taken = queue.take()
        assert [(s.doc_id, s.published) for s in taken] == [("r1", ("a", "b")), ("r2", ("c",))]
        queue.done(taken)
        assert queue.waiting(("intake.requests", "r1")) == frozenset()


def test_of_two_settles_with_the_same_ids_the_later_is_kept() -> None:
    queue = SettleQueue(10)
    first, second = settle("r1", "a"), settle("r1", "a")
    queue.put(first)
    queue.put(second)
    assert [id(s) for s in queue.take()] == [id(second)]


def test_a_settle_after_a_failed_publish_is_never_dropped() -> None:
    """It hands the document's unconfirmed events to the sweeper; a complete settle does not do that."""
    queue = SettleQueue(10)
    queue.put(settle("r1", "a", complete=False))
    queue.put(settle("r1", "a", "b"))
    assert [s.complete for s in queue.take()] == [False, True]


def test_settles_that_do_not_cover_each_other_are_all_kept() -> None:
    queue = SettleQueue(10)
    queue.put(settle("r1", "a"))
    queue.put(settle("r1", "b"))
    assert [s.published for s in queue.take()] == [("a",), ("b",)]


def relay(bus: RecordingBus, *, lease_s: float = 30.0, **kwargs: Any) -> OutboxRelay:
    return OutboxRelay(bus, OutboxWriter("me", lease_s), [], sweep_interval_s=60, **kwargs)  # type: ignore[arg-type]


def test_the_window_stays_well_inside_the_lease() -> None:
    assert relay(RecordingBus(), settle_window_s=1.0).settle_window_s == 1.0
    # A window as long as the lease would let the sweeper take documents whose settle merely waits.
    assert relay(RecordingBus(), lease_s=2.0, settle_window_s=1.0).settle_window_s == 0.5


def envelope_doc(n: int) -> dict[str, Any]:
    from tests.unit.test_outbox_writer import event

    return event(n).to_document()


async def test_a_write_carrying_events_whose_settle_waits_publishes_only_its_new_ones() -> None:
    bus = RecordingBus()
    r = relay(bus, settle_most=3)
    collection: Any = Collection()
    first, second = envelope_doc(1), envelope_doc(2)
    assert await r.publish_after_write(collection, {"_id": "r1", OUTBOX: [first]})
    assert await r.publish_after_write(collection, {"_id": "r1", OUTBOX: [first, second]})
    assert bus.published == [first["event_id"], second["event_id"]]  # the first once
    # A write with nothing new (a status change without events) publishes nothing and queues nothing.
    assert await r.publish_after_write(collection, {"_id": "r1", OUTBOX: [first, second]})
    assert len(bus.published) == 2 and r.settles_waiting == 2
    # The later settle covers both events: it alone reaches the bulk write.
    assert [s.published for s in r._settles.take()] == [(first["event_id"], second["event_id"])]
