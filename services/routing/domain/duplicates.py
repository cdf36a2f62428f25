"""Duplicates and repeats (并单): which requests may be the same matter. Pure (the words come from a
segmenter the service injects: jieba over the compact word table, services/routing/segment.py).

A request is a **possible duplicate** of another when they are of the same kind, at the same place (the same
building, or within `distance_m` when both have coordinates), submitted within `window_hours` of each other,
and their descriptions are alike (`similarity` ≥ `min_similarity`). Staff see the flag and merge in one step
(the `duplicate` action); nothing is merged by itself.

A request is a **repeat** (重复投诉) when the same resident (the same phone) brings the same kind of matter
again after an earlier request of theirs was resolved or closed, within `repeat_window_days`; the ledger
counts them.

Look-ups go through `match_keys`, stored on every task and indexed: `place|<kind>|b|<building>`, the geo
cells `place|<kind>|g|<row>:<col>` of the task and its eight neighbours, and `resident|<kind>|<phone hash>`.
A new request asks for its own building key, its own cell key and its own resident key: the cells are at least
`distance_m` wide, so everything within that distance is in one of the nine cells stored on the other task.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Tokens = Callable[[str], list[str]]
Place = Literal["unit", "building", "distance"]
METRES_PER_DEGREE = 111_320.0
# Longitude cells are twice as wide in degrees as latitude cells: still at least `distance_m` wide up to 60°.
LONG_STRETCH = 2.0

# Words that say nothing about the matter (particles, pronouns, politeness, time words).
STOP_WORDS = frozenset(
    "的 了 在 是 我 我家 我们 你们 您 他 她 它 有 和 与 也 都 就 还 又 很 太 请 麻烦 谢谢 一下 一直 已经 "
    "现在 今天 昨天 这 那 这个 那个 里 上 下 个 吗 呢 吧 啊 呀 着 过 被 把 给 让 到 从 对 没有 没 不 能 要 想 会 "
    "the a an is are was were it its of to in on at and or my our we i you please there this that".split()
    # the place is compared on its own (building, unit, distance): its words say nothing about the matter
    + "号 楼 号楼 栋 单元 室 层 幢 building unit room floor no".split()
)
_WORDLIKE = re.compile(r"[\w\u4e00-\u9fff]")


class DuplicatePolicy(BaseModel):
    """deploy/routing/duplicates.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    window_hours: float = Field(72, gt=0, le=24 * 60)
    distance_m: float = Field(50, gt=0, le=5000)
    min_similarity: float = Field(0.5, gt=0, le=1)
    repeat_window_days: float = Field(90, gt=0, le=366)
    max_candidates: int = Field(50, ge=1, le=500)  # the most one look-up reads (newest first)
    # The most marks a task carries: a burst of reports of one outage flags each with its few closest, and
    # the cost of a report stays bounded however many came before it.
    max_marks: int = Field(5, ge=1, le=50)

    @property
    def window(self) -> timedelta:
        return timedelta(hours=self.window_hours)

    @property
    def repeat_window(self) -> timedelta:
        return timedelta(days=self.repeat_window_days)


@dataclass(frozen=True)
class Where:
    building: str | None = None
    unit: str | None = None
    lat: float | None = None
    long: float | None = None


def words(text: str, tokens: Tokens) -> set[str]:
    """The words that carry meaning: segmented (jieba for Chinese), lower-cased, without stop words."""
    out = set()
    for token in tokens(text.lower()):
        token = token.strip()
        if token and token not in STOP_WORDS and not token.isdigit() and _WORDLIKE.search(token):
            out.add(token)
    return out


def similarity(a: set[str], b: set[str]) -> float:
    """Shared words over the geometric mean of the sizes (0..1): a short report and a long one of the same
    leak score high; two reports that share one word of many score low."""
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


def metres_between(lat1: float, long1: float, lat2: float, long2: float) -> float:
    """Great-circle distance (haversine), in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(long2 - long1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(min(1.0, h)))


def same_place(a: Where, b: Where, distance_m: float) -> Place | None:
    if a.building and a.building == b.building:
        if a.unit and b.unit and _unit(a.unit) == _unit(b.unit):
            return "unit"
        return "building"
    if None not in (a.lat, a.long, b.lat, b.long):
        assert a.lat is not None and a.long is not None and b.lat is not None and b.long is not None
        if metres_between(a.lat, a.long, b.lat, b.long) <= distance_m:
            return "distance"
    return None


def _unit(unit: str) -> str:
    return re.sub(r"\s+", "", unit).lower()


def _cell(lat: float, long: float, distance_m: float) -> tuple[int, int]:
    step = distance_m / METRES_PER_DEGREE
    return math.floor(lat / step), math.floor(long / (step * LONG_STRETCH))


def place_keys(kind: str, where: Where, distance_m: float, *, neighbours: bool) -> list[str]:
    """The keys a task is stored under (`neighbours`: its cell and the eight around it) or looked up by."""
    keys = [f"place|{kind}|b|{where.building}"] if where.building else []
    if where.lat is not None and where.long is not None:
        row, col = _cell(where.lat, where.long, distance_m)
        around = [(row + dr, col + dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1)] if neighbours else [(row, col)]
        keys += [f"place|{kind}|g|{r}:{c}" for r, c in around]
    return keys


def resident_key(kind: str, phone: str | None) -> str | None:
    """The same resident and kind of matter: by phone, hashed (the key is an index entry, not a contact)."""
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) < 7:
        return None
    digits = digits.removeprefix("86") if len(digits) == 13 else digits
    return f"resident|{kind}|{hashlib.sha256(digits.encode()).hexdigest()[:24]}"


def match_keys(kind: str, where: Where, phone: str | None, distance_m: float) -> list[str]:
    """What a new task stores in `match_keys`."""
    resident = resident_key(kind, phone)
    return place_keys(kind, where, distance_m, neighbours=True) + ([resident] if resident else [])


def lookup_keys(kind: str, where: Where, phone: str | None, distance_m: float) -> list[str]:
    """What a new task looks others up by."""
    resident = resident_key(kind, phone)
    return place_keys(kind, where, distance_m, neighbours=False) + ([resident] if resident else [])


@dataclass(frozen=True)
class Seen:
    """Another task as the look-up returns it."""

    id: str
    status: str
    description: str
    where: Where
    submitted_at: datetime
    resident_key: bool  # it shares the resident key with the new one
    resolved_at: datetime | None = None  # first resolution


@dataclass(frozen=True)
class Match:
    id: str
    place: Place
    similarity: float
    submitted_at: datetime


# Statuses that are not a matter of their own any more: never the target of a duplicate flag.
NOT_MATTERS = frozenset({"duplicate", "cancelled", "not_accepted"})


def duplicates(
    new_id: str,
    text: str,
    where: Where,
    submitted_at: datetime,
    others: Iterable[Seen],
    policy: DuplicatePolicy,
    tokens: Tokens,
) -> list[Match]:
    """The possible duplicates of a new request among `others`, most similar first."""
    mine = words(text, tokens)
    found: dict[str, Match] = {}
    for other in others:
        if other.id == new_id or other.status in NOT_MATTERS:
            continue
        if abs(other.submitted_at - submitted_at) > policy.window:
            continue
        place = same_place(where, other.where, policy.distance_m)
        if place is None:
            continue
        score = round(similarity(mine, words(other.description, tokens)), 3)
        if score >= policy.min_similarity:
            found[other.id] = Match(other.id, place, score, other.submitted_at)
    return sorted(found.values(), key=lambda m: (-m.similarity, m.submitted_at))


def repeat_of(
    new_id: str, text: str, submitted_at: datetime, others: Iterable[Seen], policy: DuplicatePolicy, tokens: Tokens
) -> str | None:
    """The latest earlier request of the same resident and kind, answered before this one came, about a similar
    matter (the same words), within `repeat_window_days`: this one repeats it."""
    mine = words(text, tokens)
    best: Seen | None = None
    for other in others:
        if other.id == new_id or not other.resident_key or other.resolved_at is None:
            continue
        if not (submitted_at - policy.repeat_window <= other.resolved_at <= submitted_at):
            continue
        if similarity(mine, words(other.description, tokens)) < policy.min_similarity:
            continue
        if best is None or other.submitted_at > best.submitted_at:
            best = other
    return best.id if best else None
