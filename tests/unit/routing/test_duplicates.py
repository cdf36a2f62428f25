"""The duplicate and repeat rules (并单): Chinese-aware similarity, the window, the place (building, unit,
distance) and the look-up keys; and the dispatch hook against in-memory stores (both sides marked, once)."""

from __future__ import annotations

import math
import random
from datetime import timedelta

import pytest

from services.routing.domain.duplicates import (
    DuplicatePolicy,
    Seen,
    Where,
    duplicates,
    lookup_keys,
    match_keys,
    metres_between,
    place_keys,
    repeat_of,
    resident_key,
    same_place,
    similarity,
    words,
)
from services.routing.segment import SEGMENTER
from tests.unit.routing.factories import local
from tests.unit.routing.test_service import World

T0 = local(2026, 11, 24, 9)
POLICY = DuplicatePolicy()


def alike(a: str, b: str) -> float:
    return similarity(words(a, SEGMENTER), words(b, SEGMENTER))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("厨房水管漏水", "我家厨房的水管一直在漏水"),
        ("3号楼2单元厨房水管漏水，水流到楼下了", "厨房的水管一直在漏水，楼下也渗水"),
        ("楼道灯不亮", "楼道的灯不亮了"),
        ("The kitchen pipe is leaking", "kitchen pipe leaking again"),
    ],
)
def test_the_same_matter_in_other_words_is_alike(a: str, b: str) -> None:
    assert alike(a, b) >= POLICY.min_similarity


@pytest.mark.parametrize(
    ("a", "b"),
    [("厨房水管漏水", "楼道灯不亮"), ("电梯坏了", "垃圾没人清理"), ("3号楼漏水", "3号楼电梯坏了")],
)
def test_other_matters_at_the_same_place_are_not(a: str, b: str) -> None:
    assert alike(a, b) < POLICY.min_similarity


def test_words_drop_particles_numbers_and_the_place() -> None:
    assert words("3号楼2单元的厨房水管漏水了", SEGMENTER) == {"厨房", "水管", "漏水"}
    assert similarity(set(), {"漏水"}) == 0.0


def test_the_place_is_the_unit_the_building_or_a_short_distance() -> None:
    assert same_place(Where("3", "2单元"), Where("3", "2 单元"), 50) == "unit"
    assert same_place(Where("3", "2单元"), Where("3", "1单元"), 50) == "building"
    assert same_place(Where("3"), Where("5"), 50) is None
    near, far = Where(lat=39.9002, long=116.4001), Where(lat=39.903, long=116.4)
    here = Where(lat=39.9, long=116.4)
    assert round(metres_between(39.9, 116.4, 39.9002, 116.4001)) == 24
    assert same_place(here, near, 50) == "distance" and same_place(here, far, 50) is None
    assert same_place(Where(), Where(), 50) is None  # nothing known: never the same place


def test_everything_within_the_distance_shares_a_look_up_key() -> None:
    """The key a new request looks up by is among the nine stored on any request within `distance_m`."""
    rng = random.Random(7)
    for _ in range(2000):
        lat, long = rng.uniform(18, 54), rng.uniform(73, 135)
        bearing, metres = rng.uniform(0, 2 * math.pi), rng.uniform(0, 50)
        lat2 = lat + metres * math.cos(bearing) / 111_320
        long2 = long + metres * math.sin(bearing) / (111_320 * math.cos(math.radians(lat)))
        stored = set(place_keys("k", Where(lat=lat, long=long), 50, neighbours=True))
        (looked_up,) = place_keys("k", Where(lat=lat2, long=long2), 50, neighbours=False)
        assert looked_up in stored


def test_keys_carry_the_kind_and_hide_the_phone() -> None:
    keys = match_keys("property_repair", Where("3"), "+86 138-0013-8000", 50)
    assert keys[0] == "place|property_repair|b|3"
    assert keys[-1] == resident_key("property_repair", "13800138000") and "13800138000" not in keys[-1]
    assert resident_key("k", "110") is None and resident_key("k", None) is None
    assert lookup_keys("other", Where("3"), None, 50) == ["place|other|b|3"]


def seen(id_: str, text: str, *, at: timedelta = timedelta(0), building: str = "3", status: str = "dispatched",
         resident: bool = False, resolved_after: timedelta | None = None) -> Seen:  # fmt: skip
    return Seen(id_, status, text, Where(building, "2单元"), T0 + at, resident,
                T0 + at + resolved_after if resolved_after is not None else None)  # fmt: skip


def test_duplicates_keep_to_the_window_the_place_the_words_and_live_matters() -> None:
    others = [
        seen("same", "厨房的水管一直在漏水"),
        seen("later", "厨房水管漏水，水一直流", at=timedelta(milliseconds=60)),  # dispatched at once
        seen("old", "厨房水管漏水", at=-timedelta(hours=73)),
        seen("elsewhere", "厨房水管漏水", building="5"),
        seen("other-words", "楼道灯不亮"),
        seen("merged", "厨房水管漏水", status="duplicate"),
        seen("new", "厨房水管漏水"),  # itself
    ]
    found = duplicates("new", "厨房水管漏水", Where("3", "2单元"), T0, others, POLICY, SEGMENTER)
    assert {m.id for m in found} == {"same", "later"}
    assert all(m.place == "unit" for m in found) and found[0].similarity >= found[1].similarity


def test_a_repeat_is_the_same_resident_and_matter_after_an_answer() -> None:
    others = [
        seen("answered", "广场舞噪音太大", at=-timedelta(days=20), resident=True, resolved_after=timedelta(days=2)),
        seen("still-open", "广场舞噪音太大", at=-timedelta(days=1), resident=True),
        seen("someone-else", "广场舞噪音太大", at=-timedelta(days=5), resolved_after=timedelta(days=1)),
        seen("long-ago", "广场舞噪音太大", at=-timedelta(days=200), resident=True, resolved_after=timedelta(days=1)),
        seen("other-matter", "楼道灯不亮", at=-timedelta(days=3), resident=True, resolved_after=timedelta(days=1)),
    ]
    assert repeat_of("new", "广场舞噪音又来了", T0, others, POLICY, SEGMENTER) == "answered"
    assert repeat_of("new", "电梯坏了", T0, others, POLICY, SEGMENTER) is None


async def test_dispatch_marks_both_sides_once_and_a_redelivery_adds_nothing() -> None:
    from tests.unit.routing.factories import submitted

    world = World()
    first = submitted(description="厨房水管漏水", at=T0)
    second = submitted(description="我家厨房的水管在漏水", at=T0 + timedelta(milliseconds=60))
    other = submitted(description="厨房水管漏水", building="5", address="5号楼", at=T0)
    for data in (first, second, other, second):  # the last one: a redelivery
        await world.submit(data)
    a, b, c = [await world.store.get(d.request_id) for d in (first, second, other)]
    assert a is not None and b is not None and c is not None
    assert [x.id for x in a.duplicate_candidates] == [second.request_id]
    assert [x.id for x in b.duplicate_candidates] == [first.request_id]
    assert c.duplicate_candidates == []
    assert world.publisher.types() == ["task.dispatched"] * 3  # marks publish nothing
